// libsonde_profiler without SSH or the agent: /proc/PID/maps parsing, ELF
// images (real and garbage), unwinding of real tracees' snapshots through
// dump_stacks and run_profile, and unwinding of nonsense that must not crash.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "../../../profiler/src/elf_image.h"
#include "../../../profiler/src/maps.h"
#include "../../../profiler/src/unwinder.h"
#include "sonde/profiler/session.h"
#include "sonde/profiler/stack.h"
#include "support/tracee.h"

namespace sonde::profiler {
namespace {

using sonde::testing::Tracee;

std::string target(const std::string& variant) {
  return std::string(SONDE_TARGETS_DIR) + "/stack_tracee_" + variant;
}

std::unique_ptr<Tracee> start_ready(const std::vector<std::string>& argv) {
  auto t = Tracee::start(argv);
  if (!t) return nullptr;
  auto line = t->wait_line([](const std::string& l) { return l.rfind("READY", 0) == 0; }, 10000);
  if (!line) return nullptr;
  return t;
}

std::vector<std::string> names(const ThreadStack& t) {
  std::vector<std::string> out;
  for (const auto& f : t.frames) out.push_back(f.function);
  return out;
}

TEST(Maps, ParsesFilesAnonymousSpecialAndDeleted) {
  auto maps = parse_maps(
      "55d0c1a0b000-55d0c1a0c000 r--p 00000000 fe:01 1234 /usr/bin/true\n"
      "55d0c1a0c000-55d0c1a0d000 r-xp 00001000 fe:01 1234 /usr/bin/true\n"
      "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
      "7ffd1000000-7ffd1002000 r-xp 00000000 00:00 0                          [vdso]\n"
      "7f1000000000-7f1000001000 r-xp 00002000 fe:01 99 /tmp/lib x.so (deleted)\n"
      "garbage line\n");
  ASSERT_EQ(maps.size(), 5u);
  EXPECT_EQ(maps[0].path, "/usr/bin/true");
  EXPECT_FALSE(maps[0].exec);
  EXPECT_TRUE(maps[1].exec);
  EXPECT_EQ(maps[1].offset, 0x1000u);
  EXPECT_EQ(maps[1].inode, 1234u);
  EXPECT_EQ(maps[2].path, "");
  EXPECT_EQ(maps[3].path, "[vdso]");
  EXPECT_EQ(maps[4].path, "/tmp/lib x.so");
  EXPECT_TRUE(maps[4].deleted);
}

TEST(ElfImage, RealBinaryHasBuildIdAndUnwindTable) {
  std::string err;
  auto img = ElfImage::open_file(target("nofp_pie"), &err);
  ASSERT_TRUE(img) << err;
  EXPECT_EQ(img->build_id().size(), 40u);
  ASSERT_TRUE(img->eh_frame_hdr().has_value());
  EXPECT_GT(img->eh_frame_hdr()->fde_count, 5u);
  EXPECT_LT(img->text_start(), img->text_end());
  EXPECT_EQ(img->vaddr_of_offset(0), 0u);  // PIE: offset 0 is vaddr 0
}

TEST(ElfImage, GarbageAndTruncatedFilesAreRefused) {
  std::string dir = ::testing::TempDir();
  std::string junk = dir + "/sonde-junk.bin";
  {
    std::ofstream f(junk, std::ios::binary);
    std::mt19937 rng(42);
    for (int i = 0; i < 8192; ++i) f.put(static_cast<char>(rng()));
  }
  std::string err;
  EXPECT_FALSE(ElfImage::open_file(junk, &err));
  EXPECT_NE(err.find("not a 64-bit"), std::string::npos) << err;
  // A real ELF header with everything after it cut off.
  std::ifstream in(target("nofp_pie"), std::ios::binary);
  std::vector<char> head(200);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::vector<uint8_t> bytes(head.begin(), head.end());
  EXPECT_FALSE(ElfImage::from_bytes(bytes, &err));
  EXPECT_FALSE(ElfImage::open_file(dir + "/does-not-exist", &err));
}

TEST(Unwinder, NonsenseSnapshotsEndQuietly) {
  ImageCache images;
  ProcessView view(::getpid(), images);
  ASSERT_TRUE(view.refresh().ok());
  Unwinder u(view);
  std::mt19937_64 rng(7);
  std::vector<uint8_t> stack(4096);
  UnwoundStack out;
  for (int round = 0; round < 200; ++round) {
    for (auto& b : stack) b = static_cast<uint8_t>(rng());
    Snapshot s;
    for (auto& r : s.regs) r = rng();
    // Half the rounds start at a real code address, so CFI is consulted.
    if (round % 2) s.regs[kRegIp] = reinterpret_cast<uint64_t>(&::getpid);
    s.stack_addr = s.regs[kRegSp] = 0x7ff000000000 + (rng() % 4096) * 8;
    s.stack = stack.data();
    s.stack_len = stack.size();
    u.unwind(s, out, 64);
    EXPECT_LE(out.pcs.size(), 64u);
  }
}

class StackDumpVariants : public ::testing::TestWithParam<std::string> {};

TEST_P(StackDumpVariants, ChainIsUnwoundInOrder) {
  auto t = start_ready({target(GetParam()), "chain"});
  ASSERT_TRUE(t) << "tracee did not start";
  Symbolizer sym;
  auto d = dump_stacks(t->pid(), {}, sym);
  ASSERT_TRUE(d) << d.error().describe();
  ASSERT_EQ(d->threads.size(), 1u);
  auto n = names(d->threads[0]);
  auto at = [&](const std::string& fn) { return std::find(n.begin(), n.end(), fn) - n.begin(); };
  ASSERT_LT(at("chain_c"), static_cast<long>(n.size())) << ::testing::PrintToString(n);
  EXPECT_EQ(at("chain_b"), at("chain_c") + 1);
  EXPECT_EQ(at("chain_a"), at("chain_b") + 1);
  EXPECT_EQ(at("main"), at("chain_a") + 1);
  EXPECT_FALSE(d->threads[0].truncated);
  EXPECT_EQ(d->threads[0].syscall.empty(), false);  // blocked in nanosleep
  // Released: not stopped, not traced.
  EXPECT_EQ(sonde::testing::tracer_pid(t->pid()), 0);
  EXPECT_NE(sonde::testing::proc_state(t->pid()), 't');
}

INSTANTIATE_TEST_SUITE_P(Builds, StackDumpVariants,
                         ::testing::Values("fp_pie", "nofp_pie", "fp_nopie", "nofp_nopie",
                                           "stripped", "debugframe"));

TEST(StackDump, CodeOutsideAnyFileIsUnknown) {
  auto t = start_ready({target("fp_pie"), "jit"});
  ASSERT_TRUE(t) << "tracee did not start";
  Symbolizer sym;
  auto d = dump_stacks(t->pid(), {}, sym);
  ASSERT_TRUE(d) << d.error().describe();
  ASSERT_EQ(d->threads.size(), 1u);
  const auto& frames = d->threads[0].frames;
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].kind, FrameKind::kUnknown);
  EXPECT_EQ(display_name(frames[0]).rfind("[unknown 0x", 0), 0u) << display_name(frames[0]);
  // Past the anonymous code the unwinder falls back to the frame chain and
  // finds named code again: the JIT code's caller, out to _start.
  auto n = names(d->threads[0]);
  EXPECT_NE(std::find(n.begin(), n.end(), "jit_caller"), n.end()) << ::testing::PrintToString(n);
  EXPECT_EQ(n.back(), "_start") << ::testing::PrintToString(n);
}

TEST(StackDump, UnknownPidIsNotFound) {
  Symbolizer sym;
  auto d = dump_stacks(999999999, {}, sym);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, errc::kNotFound);
  EXPECT_FALSE(d.error().hint.empty());
}

class ProfileSamplers : public ::testing::TestWithParam<std::string> {};

TEST_P(ProfileSamplers, HotFunctionDominatesWithItsCallers) {
  auto t = start_ready({target("nofp_pie"), "spin"});
  ASSERT_TRUE(t) << "tracee did not start";
  ProfileOptions o;
  o.pid = t->pid();
  o.hz = 199;
  o.duration_ms = 1500;
  o.sampler = GetParam();
  Symbolizer sym;
  CancelToken cancel;
  auto p = run_profile(o, sym, nullptr, cancel, {});
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->sampler, GetParam() == "perf" ? "perf_event" : "ptrace");
  ASSERT_GT(p->samples, 100u);
  uint64_t hot = 0;
  for (const auto& s : p->stacks) {
    std::vector<std::string> fns;
    for (uint32_t i : s.frames) fns.push_back(p->frames[i].function);
    if (fns.size() >= 4 && fns[0] == "hot_spin" && fns[1] == "spin_b" && fns[2] == "spin_a" &&
        fns[3] == "main")
      hot += s.count;
  }
  EXPECT_GE(hot * 100, p->samples * 90) << hot << " of " << p->samples;
  EXPECT_EQ(sonde::testing::tracer_pid(t->pid()), 0);
  EXPECT_NE(sonde::testing::proc_state(t->pid()), 't');
}

INSTANTIATE_TEST_SUITE_P(Both, ProfileSamplers, ::testing::Values("perf", "ptrace"));

}  // namespace
}  // namespace sonde::profiler
