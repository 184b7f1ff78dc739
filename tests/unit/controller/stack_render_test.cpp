// The `stack` text: eu-stack -s layout, from hand-built dumps.
#include <gtest/gtest.h>

#include "sonde/render/stack.h"

namespace sonde::render {
namespace {

using sonde::profiler::Frame;
using sonde::profiler::FrameKind;
using sonde::profiler::StackDump;
using sonde::profiler::ThreadStack;

Frame code(std::string fn, std::string module, uint64_t addr, uint64_t off = 0) {
  Frame f;
  f.function = std::move(fn);
  f.module = std::move(module);
  f.address = addr;
  f.sym_offset = off;
  return f;
}

StackDump sample_dump() {
  StackDump d;
  d.pid = 1234;
  d.comm = "stack_tracee";
  ThreadStack t;
  t.tid = 1234;
  t.name = "stack_tracee";
  t.state = 'S';
  t.syscall = "nanosleep";
  t.frames = {code("clock_nanosleep", "/lib/x86_64-linux-gnu/libc.so.6", 0x7f5e2c0e6b7a, 0xca),
              code("c", "/work/build/stack_tracee", 0x55d0c1a0b1c9),
              code("b", "/work/build/stack_tracee", 0x55d0c1a0b1c9, 0x19),
              code("", "/opt/lib/libfoo.so", 0x7f0000201234),
              Frame{FrameKind::kUnknown, "", "", 0x7f12deadbeef, 0, 0, "", 0, false},
              Frame{FrameKind::kTruncated, "", "", 0, 0, 0, "", 0, false}};
  t.frames[3].rel = 0x1234;  // no symbol: module+offset
  t.frames[1].inlined = true;
  t.frames[1].file = "tests/targets/stack/stack_tracee.c";
  t.frames[1].line = 42;
  t.frames[2].file = "tests/targets/stack/stack_tracee.c";
  t.frames[2].line = 50;
  ThreadStack gone;
  gone.tid = 1240;
  gone.name = "worker";
  gone.error = "thread exited";
  ThreadStack spin;
  spin.tid = 1241;
  spin.name = "spin";
  spin.state = 'R';
  spin.frames = {code("spin", "/work/build/stack_tracee", 0x55d0c1a0b000, 0x10)};
  d.threads = {t, gone, spin};
  d.notes = {"1 thread exited while we looked"};
  return d;
}

TEST(StackRender, EuStackLayout) {
  EXPECT_EQ(render_stack_dump(sample_dump()),
            "PID 1234 - stack_tracee\n"
            "TID 1234 stack_tracee (S, in nanosleep):\n"
            "#0  0x00007f5e2c0e6b7a clock_nanosleep+0xca - libc.so.6\n"
            "#1  0x000055d0c1a0b1c9 c [inlined] - stack_tracee\n"
            "      tests/targets/stack/stack_tracee.c:42\n"
            "#2  0x000055d0c1a0b1c9 b+0x19 - stack_tracee\n"
            "      tests/targets/stack/stack_tracee.c:50\n"
            "#3  0x00007f0000201234 libfoo.so+0x1234\n"
            "#4  0x00007f12deadbeef ??\n"
            "[truncated]\n"
            "TID 1240 worker: error: thread exited\n"
            "TID 1241 spin (R):\n"
            "#0  0x000055d0c1a0b000 spin+0x10 - stack_tracee\n"
            "note: 1 thread exited while we looked\n");
}

TEST(StackRender, TruncatedFlagWithoutAMarkerFrame) {
  StackDump d = sample_dump();
  d.threads.resize(1);
  d.threads[0].frames.pop_back();  // drop the kTruncated frame, keep the flag
  d.threads[0].truncated = true;
  std::string out = render_stack_dump(d);
  EXPECT_EQ(out.find("[truncated]"), out.rfind("[truncated]"));  // once
  EXPECT_NE(out.find("#4  0x00007f12deadbeef ??\n[truncated]\n"), std::string::npos) << out;
}

TEST(StackRender, WideFrameNumbersKeepAddressesAligned) {
  StackDump d;
  d.pid = 1;
  d.comm = "deep";
  ThreadStack t;
  t.tid = 1;
  t.state = 'R';
  for (int i = 0; i < 120; ++i) t.frames.push_back(code("f", "/bin/deep", 0x1000 + i));
  t.frames[0].file = "deep.c";
  d.threads = {t};
  std::string out = render_stack_dump(d);
  EXPECT_NE(out.find("TID 1 (R):\n"), std::string::npos);
  EXPECT_NE(out.find("\n#0   0x0000000000001000 f - deep\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n       deep.c\n"), std::string::npos);
  EXPECT_NE(out.find("\n#119 0x0000000000001077 f - deep\n"), std::string::npos);
}

TEST(StackRender, SyscallLeafAndEmptyThreads) {
  StackDump d;
  d.pid = 5;
  d.comm = "w";
  ThreadStack t;
  t.tid = 5;
  t.state = 'D';
  t.frames = {Frame{FrameKind::kSyscall, "read", "", 0, 0, 0, "", 0, false},
              code("main", "/bin/w", 0x401000)};
  ThreadStack empty;
  empty.tid = 6;
  empty.syscall = "futex";
  d.threads = {t, empty};
  std::string out = render_stack_dump(d);
  EXPECT_NE(out.find("#0                     [syscall read]\n"), std::string::npos) << out;
  EXPECT_NE(out.find("#1  0x0000000000401000 main - w\n"), std::string::npos);
  EXPECT_NE(out.find("TID 6 (in futex):\n  (no frames)\n"), std::string::npos) << out;

  StackDump none;
  none.pid = 9;
  none.comm = "gone";
  EXPECT_EQ(render_stack_dump(none), "PID 9 - gone\n(no threads)\n");
}

TEST(StackRender, ControlCharactersFromTheTargetAreNeutralised) {
  StackDump d = sample_dump();
  d.comm = "x\x1b[2J";
  d.threads[0].name = "n\ame";
  d.threads[0].frames[0].function = "f\x1b]0;t\x07";
  std::string out = render_stack_dump(d);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\a'), std::string::npos);
  EXPECT_NE(out.find("PID 1234 - x?[2J\n"), std::string::npos);
  EXPECT_NE(out.find("TID 1234 n?me (S, in nanosleep):"), std::string::npos);
}

}  // namespace
}  // namespace sonde::render
