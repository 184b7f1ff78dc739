#include <gtest/gtest.h>

#include "sonde/common/io.h"
#include "sonde/common/sha256.h"
#include "sonde/common/signals.h"
#include "sonde/common/subprocess.h"

namespace sonde {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, MatchesSha256sumOnAFile) {
  auto self = read_link("/proc/self/exe");  // sha256sum's own /proc/self is itself
  ASSERT_TRUE(self.ok());
  auto ours = sha256_file_hex(*self);
  ASSERT_TRUE(ours.ok());
  auto theirs = run_capture({"sha256sum", *self});
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->out.substr(0, 64), *ours);
}

TEST(Duration, Parses) {
  EXPECT_EQ(parse_duration_ms("10"), 10000);
  EXPECT_EQ(parse_duration_ms("10s"), 10000);
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
  EXPECT_EQ(parse_duration_ms("2m"), 120000);
  EXPECT_EQ(parse_duration_ms("0"), 0);
  EXPECT_FALSE(parse_duration_ms(""));
  EXPECT_FALSE(parse_duration_ms("fast"));
  EXPECT_FALSE(parse_duration_ms("10 parsecs"));
  EXPECT_FALSE(parse_duration_ms("-1s"));
}

TEST(Subprocess, MissingProgramIsAClearError) {
  auto c = spawn({"/nonexistent/sonde-test-binary"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("No such file"), std::string::npos);
}

TEST(Subprocess, CapturesOutputAndStatus) {
  auto r = run_capture({"sh", "-c", "echo hi; exit 3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "hi\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(HumanBytes, Formats) {
  EXPECT_EQ(human_bytes(512), "512B");
  EXPECT_EQ(human_bytes(1536), "1.5K");
  EXPECT_EQ(human_bytes(300ull << 20), "300M");
}

TEST(Signals, NamesBothWays) {
  EXPECT_STREQ(signal_name(11), "SIGSEGV");
  EXPECT_STREQ(signal_name(32), "SIGRTMIN");
  EXPECT_STREQ(signal_name(34), "SIGRT_2");  // strace's numbering
  EXPECT_EQ(signal_name(0), nullptr);
  EXPECT_EQ(signal_name(65), nullptr);
  EXPECT_EQ(signal_text(9), "SIGKILL");
  EXPECT_EQ(signal_text(99), "SIG99");
  for (const char* n : {"SIGSEGV", "SEGV", "11"}) EXPECT_EQ(signal_number(n), 11) << n;
  EXPECT_EQ(signal_number("SIGRT_1"), 33);
  for (int s = 1; s <= 64; ++s) EXPECT_EQ(signal_number(signal_text(s)), s) << s;
  for (const char* bad : {"", "0", "65", "SIG", "FOO", "11x", "-9"})
    EXPECT_FALSE(signal_number(bad)) << bad;
}

}  // namespace
}  // namespace sonde
