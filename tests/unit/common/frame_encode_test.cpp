// encode_frame over the limit is an error value, never an abort, and
// wire_size_bound never underestimates what to_msgpack writes.
#include <gtest/gtest.h>

#include "sonde/common/frame.h"

namespace sonde {
namespace {

TEST(FrameEncode, OverTheLimitIsAnErrorNamingTheSize) {
  json big = {{"id", 7u}, {"kind", "result"}, {"data", {{"blob", std::string(17u << 20, 'x')}}}};
  size_t size = json::to_msgpack(big).size();
  auto f = encode_frame(big);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, errc::kTooLarge);
  EXPECT_NE(f.error().message.find("result of " + std::to_string(size) + " bytes"),
            std::string::npos)
      << f.error().message;
  EXPECT_NE(f.error().message.find(std::to_string(kMaxFrameBytes)), std::string::npos);
}

TEST(FrameEncode, NotAnObjectIsNamedAsAMessage) {
  auto f = encode_frame(json(std::string(kMaxFrameBytes + 1, 'y')));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message.rfind("message of ", 0), 0u) << f.error().message;
}

TEST(FrameEncode, ExactlyTheLimitEncodesAndDecodes) {
  json m = {{"id", 1u}, {"kind", "event"}, {"data", ""}};
  size_t base = json::to_msgpack(m).size();
  // A str32 header is 5 bytes where the empty string's was 1.
  m["data"] = std::string(kMaxFrameBytes - base - 4, 'z');
  ASSERT_EQ(json::to_msgpack(m).size(), kMaxFrameBytes);
  auto f = encode_frame(m);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->size(), kFrameHeaderBytes + kMaxFrameBytes);
  FrameDecoder d;
  d.feed(*f);
  auto got = d.next();
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, m);
}

TEST(FrameEncode, WireSizeBoundIsAnUpperBound) {
  std::vector<json> values = {
      json(nullptr),
      json(true),
      json(0),
      json(-1),
      json(1ull << 63),
      json(3.25),
      json(std::string(31, 'a')),
      json(std::string(32, 'a')),
      json(std::string(300, 'a')),
      json(std::string(70000, 'a')),
      json::binary({1, 2, 3}),
      json::binary(std::vector<uint8_t>(70000, 7), 5),
      json::array(),
      json(std::vector<int>(20, 1)),
      json(std::vector<int>(70000, 100000)),
      {{"pid", 42}, {"cmdline", std::string(5000, 'c')}, {"nested", {{"a", {1, 2, {{"b", "c"}}}}}}},
  };
  json many = json::object();
  for (int i = 0; i < 40; ++i) many["key" + std::to_string(i)] = i;
  values.push_back(many);
  for (const auto& v : values) {
    size_t real = json::to_msgpack(v).size();
    size_t bound = wire_size_bound(v);
    EXPECT_GE(bound, real) << v.dump().substr(0, 80);
    // Close enough to budget with: strings dominate and are exact.
    EXPECT_LE(bound, real * 9 + 16) << v.dump().substr(0, 80);
  }
}

}  // namespace
}  // namespace sonde
