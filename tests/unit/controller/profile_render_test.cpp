// The `profile` text summary: the header says how the samples were taken,
// the table ranks functions by self samples.
#include <gtest/gtest.h>

#include <sstream>

#include "../profiler/sample_profile.h"
#include "sonde/render/profile.h"

namespace sonde::render {
namespace {

using sonde::profiler::Frame;
using sonde::profiler::FrameKind;
using sonde::profiler::Profile;

using sonde::profiler::testdata::code;

//   0 main  1 work  2 recurse  3 helper (inlined into compute)  4 compute
//   5 [syscall read]  6 read (libc)  7 libfoo.so without a symbol
Profile sample_profile() {
  Profile p;
  p.pid = 4242;
  p.comm = "app";
  p.mode = "cpu";
  p.sampler = "ptrace";
  p.sampler_reason = "perf_event_paranoid=3 forbids perf_event_open";
  p.hz = 99;
  p.duration_ms = 2500;
  p.frames = {
      code("main", "/usr/bin/app", 0x401000),
      code("work", "/usr/bin/app", 0x401100),
      code("recurse", "/usr/bin/app", 0x401200),
      code("helper", "/usr/bin/app", 0x401300, true),
      code("compute", "/usr/bin/app", 0x401300),
      Frame{FrameKind::kSyscall, "read", "", 0, 0, 0, "", 0, false},
      code("read", "/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000001000),
      Frame{FrameKind::kCode, "", "/opt/lib/libfoo.so", 0x7f0000201234, 0x1234, 0, "", 0, false}};
  p.threads = {{4242, "app"}, {4243, "worker"}};
  p.stacks = {{{3, 4, 1, 0}, 50, 0},
              {{2, 2, 1, 0}, 30, 1},
              {{5, 6, 1, 0}, 15, 1},
              {{4, 1, 0}, 4, 0},
              {{7, 0}, 1, 0}};
  p.samples = 100;
  p.lost = 5;
  p.notes = {"no symbols for /opt/lib/libfoo.so"};
  return p;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(ProfileRender, HeaderSaysHowAndHowMuch) {
  auto lines = lines_of(render_profile_summary(sample_profile(), 10));
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "PID 4242 (app): cpu profile, 99 Hz for 2.5 s");
  EXPECT_EQ(lines[1], "sampler: ptrace (perf_event_paranoid=3 forbids perf_event_open)");
  EXPECT_EQ(lines[2], "samples: 100, lost: 5 (4.8%), threads: 2");
  EXPECT_EQ(lines[3], "note: no symbols for /opt/lib/libfoo.so");
}

TEST(ProfileRender, TableRanksBySelfWithModules) {
  std::string out = render_profile_summary(sample_profile(), 10);
  auto lines = lines_of(out);
  auto header = std::find_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return l.starts_with("SELF%"); });
  ASSERT_NE(header, lines.end()) << out;
  EXPECT_EQ(*header, "SELF%  SELF  TOTAL%  TOTAL  FUNCTION");
  std::vector<std::string> rows(header + 1, lines.end());
  const std::vector<std::string> want = {
      "50.0%    50   50.0%     50  helper (app)",
      "30.0%    30   30.0%     30  recurse (app)",
      "15.0%    15   15.0%     15  [syscall read]",
      " 4.0%     4   54.0%     54  compute (app)",
      " 1.0%     1    1.0%      1  libfoo.so+0x1234",
      " 0.0%     0  100.0%    100  main (app)",
      " 0.0%     0   99.0%     99  work (app)",
      " 0.0%     0   15.0%     15  read (libc.so.6)",
  };
  EXPECT_EQ(rows, want) << out;
}

TEST(ProfileRender, TopNCutsTheTableAndSaysSo) {
  std::string out = render_profile_summary(sample_profile(), 2);
  EXPECT_NE(out.find("helper (app)"), std::string::npos);
  EXPECT_NE(out.find("recurse (app)"), std::string::npos);
  EXPECT_EQ(out.find("[syscall read]"), std::string::npos);
  EXPECT_NE(out.find("(top 2 of 8 functions)"), std::string::npos);
}

TEST(ProfileRender, NoSamples) {
  Profile p;
  p.pid = 7;
  p.comm = "idle";
  p.mode = "wall";
  p.hz = 10;
  p.duration_ms = 300;
  std::string out = render_profile_summary(p, 10);
  EXPECT_NE(out.find("PID 7 (idle): wall profile, 10 Hz for 300 ms"), std::string::npos);
  EXPECT_NE(out.find("no stacks were sampled"), std::string::npos);
  EXPECT_EQ(out.find("SELF%"), std::string::npos);
}

TEST(ProfileRender, ControlCharactersFromTheTargetAreNeutralised) {
  Profile p = sample_profile();
  p.comm = "evil\x1b[2J";
  p.frames[0].function = "main\x1b]0;pwned\x07";
  p.notes = {"line\nbreak"};
  std::string out = render_profile_summary(p, 10);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\x07'), std::string::npos);
  EXPECT_NE(out.find("PID 4242 (evil?[2J)"), std::string::npos);
  EXPECT_NE(out.find("note: line?break"), std::string::npos);
}

}  // namespace
}  // namespace sonde::render
