// The `profile` and `stack` ops' contracts: args and results survive the
// wire, validate() judges a request, malformed peer data names the field.
#include <gtest/gtest.h>

#include "sonde/common/json_read.h"
#include "sonde/profiler/profile_contract.h"
#include "sonde/profiler/stack_contract.h"
#include "support/contains.h"
#include "support/wire.h"

namespace sonde::profiler {
namespace {

using sonde::testing::contains;
using sonde::testing::over_the_wire;

TEST(ProfileContract, ArgsRoundTripForAttachAndLaunch) {
  ProfileArgs a;
  a.pid = 4242;
  a.hz = 250;
  a.duration_ms = 5000;
  a.mode = "wall";
  a.sampler = "ptrace";
  auto back = profile_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pid, 4242);
  EXPECT_TRUE(back->argv.empty());
  EXPECT_EQ(back->hz, 250);
  EXPECT_EQ(back->duration_ms, 5000);
  EXPECT_EQ(back->mode, "wall");
  EXPECT_EQ(back->sampler, "ptrace");

  ProfileArgs l;
  l.argv = {"/bin/sleep", "1"};
  json j = to_json(l);
  EXPECT_FALSE(j.contains("pid"));
  EXPECT_FALSE(j.contains("duration_ms"));
  auto lb = profile_args_from_json(j);
  ASSERT_TRUE(lb);
  EXPECT_EQ(lb->argv, l.argv);
  // Unset: until the command exits for a launch, 30 s for an attach.
  EXPECT_EQ(lb->effective_duration_ms(), 0);
  EXPECT_EQ(ProfileArgs{}.effective_duration_ms(), 30000);
}

TEST(ProfileContract, ValidateRefusesWhatTheSamplerCannotDo) {
  ProfileArgs a;
  EXPECT_TRUE(contains(validate(a).error().message, "nothing to profile"));
  a.pid = 1;
  EXPECT_TRUE(validate(a));
  a.argv = {"x"};
  EXPECT_TRUE(contains(validate(a).error().message, "not both"));
  a.argv.clear();
  a.hz = 0;
  auto hz = validate(a);
  ASSERT_FALSE(hz);
  EXPECT_EQ(hz.error().code, errc::kBadArgs);
  EXPECT_TRUE(contains(hz.error().message, "--hz 0"));
  EXPECT_TRUE(contains(hz.error().hint, "1..10000"));
  a.hz = 99;
  a.mode = "gpu";
  EXPECT_TRUE(contains(validate(a).error().message, "--mode"));
  a.mode = "cpu";
  a.sampler = "ebpf";
  EXPECT_TRUE(contains(validate(a).error().message, "--sampler"));
  a.sampler = "auto";
  a.duration_ms = -1;
  EXPECT_TRUE(contains(validate(a).error().message, "--duration"));
}

TEST(ProfileContract, MalformedArgsNameTheField) {
  auto r = profile_args_from_json({{"pid", 1}, {"hz", "fast"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_EQ(r.error().message, "bad `profile` arguments: hz: expected an integer, got string");
  EXPECT_TRUE(contains(profile_args_from_json({{"argv", {"a", 1}}}).error().message, "argv[1]"));
  EXPECT_TRUE(contains(profile_args_from_json({{"pid", 1ULL << 33}}).error().message,
                       "pid: 8589934592 is out of range"));
}

TEST(ProfileContract, ResultCarriesTheCostBesideTheProfile) {
  ProfileResult r;
  r.profile.pid = 7;
  r.profile.samples = 10;
  r.profile.frames = {Frame{FrameKind::kCode, "main", "/bin/x", 0x1000, 0x10, 0, "", 0, false}};
  r.profile.stacks = {StackCount{{0}, 10, 0}};
  r.sampling_cpu_us = 2000;
  r.symbolize_cpu_us = 500;
  json j = over_the_wire(to_json(r));
  EXPECT_DOUBLE_EQ(j["agent_cpu_ms"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j["cpu_us_per_sample"].get<double>(), 200.0);
  auto back = profile_result_from_json(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->profile.pid, 7);
  EXPECT_EQ(back->profile.stacks.size(), 1u);
  EXPECT_EQ(back->sampling_cpu_us, 2000u);
  EXPECT_EQ(back->symbolize_cpu_us, 500u);

  j["sampling_cpu_us"] = "a lot";
  auto bad = profile_result_from_json(j);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::kProtocol);
  EXPECT_TRUE(contains(bad.error().message, "sampling_cpu_us: expected an integer"));
  j["sampling_cpu_us"] = 1;
  j["stacks"][0]["frames"][0] = 5;
  auto idx = profile_result_from_json(j);
  ASSERT_FALSE(idx);
  EXPECT_TRUE(contains(idx.error().message, "stacks[0].frames[0]"));
  EXPECT_EQ(idx.error().hint, kPeerMismatchHint);
}

TEST(ProfileContract, ProgressEventsReadCheckedAndOtherPhasesPass) {
  ProfileProgressEvent e{1000, 30000, 99, 4};
  auto back = profile_progress_from_json(over_the_wire(to_json(e)));
  ASSERT_TRUE(back);
  ASSERT_TRUE(*back);
  EXPECT_EQ((*back)->elapsed_ms, 1000u);
  EXPECT_EQ((*back)->threads, 4u);
  auto other = profile_progress_from_json({{"phase", "symbolizing"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(*other);
  auto bad = profile_progress_from_json({{"phase", "sampling"}, {"samples", -3}});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().message, "malformed `profile` event from the agent: samples"));
  EXPECT_FALSE(profile_progress_from_json({{"phase", 5}}));
  EXPECT_FALSE(profile_progress_from_json(json::array()));
}

TEST(StackContract, ArgsRoundTripAndValidate) {
  StackArgs a{31337, 64};
  auto back = stack_args_from_json(over_the_wire(to_json(a)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 31337);
  EXPECT_EQ(back->max_frames, 64);
  EXPECT_TRUE(validate(a));
  EXPECT_TRUE(contains(validate(StackArgs{0, 64}).error().message, "-p 0"));
  EXPECT_TRUE(contains(validate(StackArgs{1, 0}).error().message, "--max-frames"));
  EXPECT_TRUE(contains(validate(StackArgs{1, kMaxStackFrames + 1}).error().message, "1..4096"));
}

TEST(StackContract, MalformedArgsAndResultsNameTheField) {
  auto missing = stack_args_from_json(json::object());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::kBadArgs);
  EXPECT_EQ(missing.error().message, "bad `stack` arguments: pid: missing");
  EXPECT_TRUE(contains(stack_args_from_json({{"pid", 1}, {"max_frames", true}}).error().message,
                       "max_frames: expected an integer, got boolean"));

  StackDump d;
  d.pid = 3;
  d.threads = {ThreadStack{3, "main", 'S', "", {}, false, ""}};
  json j = to_json(d);
  ASSERT_TRUE(stack_result_from_json(j));
  j["threads"][0]["tid"] = "three";
  auto bad = stack_result_from_json(j);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::kProtocol);
  EXPECT_TRUE(contains(bad.error().message, "threads[0].tid: expected an integer"));
  EXPECT_EQ(bad.error().hint, kPeerMismatchHint);
}

}  // namespace
}  // namespace sonde::profiler
