// /proc parsing for the attach safety checks, on the status of the JVM in
// data/ and on a container-style NSpid line.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "data.h"
#include "sonde/common/io.h"
#include "sonde/jvm/process.h"

namespace sonde::jvm {
namespace {

TEST(ProcIds, RealJvmStatus) {
  auto ids = parse_proc_ids(8154, testing::data_file("status_jvm.txt"));
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(ids->nspid, 8154);
  EXPECT_EQ(ids->euid, 0u);
  // HotSpot catches SIGQUIT for its thread dumps and the attach trigger.
  EXPECT_TRUE(ids->sig_caught & (1ull << (SIGQUIT - 1)));
}

TEST(ProcIds, ContainerNspidAndIds) {
  std::string status =
      "Name:\tjava\nTgid:\t31337\nPid:\t31337\nUid:\t1000\t1001\t1001\t1001\n"
      "Gid:\t2000\t2001\t2001\t2001\nNSpid:\t31337\t1\nSigCgt:\t0000000000000004\n";
  auto ids = parse_proc_ids(31337, status);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->pid, 31337);
  EXPECT_EQ(ids->nspid, 1);
  EXPECT_EQ(ids->euid, 1001u);
  EXPECT_EQ(ids->egid, 2001u);
  EXPECT_EQ(ids->sig_caught, 4u);
  EXPECT_FALSE(parse_proc_ids(1, "Name:\tx\n").ok());
}

TEST(Maps, Libjvm) {
  std::string maps =
      "7f0000000000-7f0000001000 r--p 00000000 08:01 123 /usr/lib/jvm/java-17-openjdk-amd64/lib/"
      "server/libjvm.so\n"
      "7f0000100000-7f0000101000 r-xp 00000000 08:01 124 /usr/lib/x86_64-linux-gnu/libc.so.6\n";
  EXPECT_TRUE(maps_have_libjvm(maps));
  EXPECT_EQ(libjvm_path(maps), "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so");
  EXPECT_FALSE(maps_have_libjvm(
      "7f0000000000-7f0000001000 r--p 00000000 08:01 123 /opt/libjvm.so.bak\n"
      "7f0000000000-7f0000001000 r--p 00000000 08:01 123 /opt/notlibjvm.so\n[heap]\n"));
}

TEST(Cmdline, SplitsOnNul) {
  EXPECT_EQ(split_cmdline(std::string("java\0-cp\0x\0Main\0", 16)),
            (std::vector<std::string>{"java", "-cp", "x", "Main"}));
  EXPECT_TRUE(split_cmdline("").empty());
}

TEST(CheckHotspot, RefusesANonJvm) {
  // This test program is no JVM: never a SIGQUIT for it.
  auto st = check_hotspot(::getpid());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not a HotSpot JVM"), std::string::npos);
  EXPECT_FALSE(st.error().hint.empty());
  auto gone = check_hotspot(999999999);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, errc::kNotFound);
}

}  // namespace
}  // namespace sonde::jvm
