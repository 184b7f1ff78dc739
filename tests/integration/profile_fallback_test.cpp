// `sonde profile`'s sampler choice when perf_event_open is refused, as in a
// container under Docker's default seccomp profile (perf_event_open fails
// with EPERM whatever the user's privileges). The agent runs under
// tests/targets/deny_perf, which installs such a filter and then execs
// `sonde-agent serve`, connected with `--via`:
//  - --sampler auto (the default) falls back to ptrace snapshots, says so and
//    why, and the profile is still right: hot_spin ← spin_b ← spin_a ← main;
//  - --sampler perf fails with an error and a hint instead;
//  - without the filter, auto picks perf_event on this machine, so the
//    fallback above is the refusal's doing.
// The target keeps running, untraced, after each. Every wait is bounded; the
// processes of each test are SIGKILLed in teardown.
#include <errno.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "support/contains.h"
#include "support/proc.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kTargetsDir = SONDE_TARGETS_DIR;
const std::string kAgent = std::string(SONDE_BIN_DIR) + "/sonde-agent";
const std::string kDenyPerf = kTargetsDir + "/deny_perf";
const std::string kSpinTracee = kTargetsDir + "/stack_tracee_fp_pie";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The --via command: the agent with perf_event_open refused by seccomp.
std::string deny_perf_via() {
  return "'" + kDenyPerf + "' '" + kAgent + "' serve";
}

// stack_tracee in `spin` mode, once it printed READY.
std::unique_ptr<Tracee> start_spin() {
  auto t = Tracee::start({kSpinTracee, "spin"});
  if (!t) {
    ADD_FAILURE() << "cannot start " << kSpinTracee;
    return nullptr;
  }
  auto ready = t->wait_line([](const std::string& l) { return l.rfind("READY ", 0) == 0; }, 5000);
  if (!ready || *ready != "READY " + std::to_string(t->pid())) {
    ADD_FAILURE() << kSpinTracee << " did not print 'READY " << t->pid() << "': '"
                  << ready.value_or("<nothing>") << "' " << t->err();
    return nullptr;
  }
  return t;
}

// Whether this process may open a perf_event on pid the way the sampler
// does (per-thread cpu-clock, user space only); *why says why not.
bool perf_event_opens(pid_t pid, std::string* why) {
  perf_event_attr a;
  std::memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  a.sample_period = 10000000;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  a.disabled = 1;
  int fd = static_cast<int>(::syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    *why = std::string("perf_event_open on another process fails here: ") + std::strerror(errno) +
           " (perf_event_paranoid " +
           proc_read("/proc/sys/kernel/perf_event_paranoid").substr(0, 1) + ")";
    return false;
  }
  ::close(fd);
  return true;
}

// Samples whose stack, leaf first, is exactly hot_spin ← spin_b ← spin_a ←
// main so far (the libc start frames beyond main may vary), and the total.
struct HotCount {
  uint64_t hot = 0, total = 0;
  std::string top;  // the heaviest stacks, for failure messages
};

HotCount count_hot_spin(const json& p) {
  HotCount c;
  const json& frames = p.at("frames");
  std::vector<std::pair<uint64_t, std::string>> shown;
  for (const auto& s : p.at("stacks")) {
    uint64_t n = s.at("count").get<uint64_t>();
    std::vector<std::string> fns;
    for (const auto& idx : s.at("frames")) {
      size_t i = idx.get<size_t>();
      fns.push_back(i < frames.size() ? frames[i].value("function", "") : "<bad index>");
    }
    c.total += n;
    static const std::vector<std::string> want{"hot_spin", "spin_b", "spin_a", "main"};
    if (fns.size() >= want.size() && std::equal(want.begin(), want.end(), fns.begin())) c.hot += n;
    std::string line = std::to_string(n);
    for (const auto& f : fns) line += " " + (f.empty() ? "?" : f);
    shown.emplace_back(n, line);
  }
  std::sort(shown.begin(), shown.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < shown.size() && i < 5; ++i) c.top += "  " + shown[i].second + "\n";
  return c;
}

class ProfileFallback : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
    ASSERT_EQ(::access(kDenyPerf.c_str(), X_OK), 0) << "no " << kDenyPerf << ": build it";
    std::string tmpl = (fs::temp_directory_path() / "sonde-fallback-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }
  // Runs sonde [--via deny_perf] profile [local] -p PID --duration 2s --json
  // EXTRA in the scratch directory (so no stray file lands elsewhere).
  sonde::testing::Run profile(pid_t pid, bool deny_perf,
                              const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{"sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh"};
    argv.push_back(tmp_.string());
    argv.push_back(std::string(SONDE_BIN_DIR) + "/sonde");
    if (deny_perf) {
      argv.push_back("--via");
      argv.push_back(deny_perf_via());
    }
    argv.push_back("profile");
    if (!deny_perf) argv.push_back("local");
    for (const char* a : {"--json", "--hz", "199", "--duration", "2s", "-p"}) argv.push_back(a);
    argv.push_back(std::to_string(pid));
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_cmd(argv, {}, 60000);
  }
  fs::path tmp_;
};

// The container case: auto falls back to ptrace, says why, and the stacks
// are those of the spin tracee.
TEST_F(ProfileFallback, AutoFallsBackToPtraceWhenPerfEventIsRefused) {
  auto t = start_spin();
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto r = profile(pid, true);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json p = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(p.is_object()) << "not JSON: " << r.out.substr(0, 2000);
  EXPECT_EQ(p.value("pid", 0), pid);
  EXPECT_EQ(p.value("mode", ""), "cpu");
  EXPECT_EQ(p.value("sampler", ""), "ptrace")
      << "sampler_reason: " << p.value("sampler_reason", "");
  const std::string reason = lower(p.value("sampler_reason", ""));
  EXPECT_TRUE(contains(reason, "perf_event")) << "the reason does not name perf_event: " << reason;
  EXPECT_TRUE(contains(reason, "not permitted") || contains(reason, "refused") ||
              contains(reason, "denied") || contains(reason, "eperm"))
      << "the reason does not say perf_event was refused: " << reason;
  // With --json the controller names the sampler on stderr too.
  EXPECT_TRUE(contains(r.err, "sampler ptrace")) << r.err;

  HotCount c = count_hot_spin(p);
  EXPECT_EQ(c.total, p.value("samples", uint64_t{0})) << "samples is not the sum of the stacks";
  // 2 s at 199 Hz of a thread that always runs; room for a busy machine.
  EXPECT_GE(c.total, 100u) << c.top;
  EXPECT_GE(c.hot * 10, c.total * 9)
      << c.hot << " of " << c.total << " samples in hot_spin ← spin_b ← spin_a ← main:\n"
      << c.top;
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

// Forcing perf_event where it is refused is an error with a next step, not
// a silent fallback, a hang or a crash.
TEST_F(ProfileFallback, ForcedPerfFailsWithAHintWhenPerfEventIsRefused) {
  auto t = start_spin();
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto r = profile(pid, true, {"--sampler", "perf"});
  EXPECT_FALSE(r.timed_out) << describe(r);
  EXPECT_EQ(r.signal, 0) << describe(r);
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.exit_code, 1) << "not an inspection failure: " << describe(r);
  EXPECT_TRUE(contains(r.err, "sonde profile: error:")) << r.err;
  EXPECT_TRUE(contains(r.err, "perf_event")) << r.err;
  EXPECT_TRUE(contains(r.err, "hint:")) << r.err;
  // --json: the error as JSON on stdout, with the same hint.
  json e = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(e.is_object() && e.contains("error")) << r.out;
  EXPECT_EQ(e["error"].value("code", ""), "permission") << e.dump();
  EXPECT_EQ(e["error"].value("errno", 0), EPERM) << e.dump();
  EXPECT_FALSE(e["error"].value("hint", "").empty()) << e.dump();
  EXPECT_EQ(running_untraced(pid), "") << "after the failed profile";
}

// Without the filter, on a machine where perf_event_open works, auto picks
// perf_event: the fallback above comes from the refusal alone.
TEST_F(ProfileFallback, AutoPicksPerfEventWhenPermitted) {
  auto t = start_spin();
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  std::string why;
  if (!perf_event_opens(pid, &why)) GTEST_SKIP() << why;
  const unsigned long long cpu_before = cpu_ns(pid);
  const long wall_before = tracee_now_ms();
  auto r = profile(pid, false);
  const double wall_s = static_cast<double>(tracee_now_ms() - wall_before) / 1e3;
  const double cpu_s = static_cast<double>(cpu_ns(pid) - cpu_before) / 1e9;
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json p = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(p.is_object()) << "not JSON: " << r.out.substr(0, 2000);
  EXPECT_EQ(p.value("sampler", ""), "perf_event")
      << "sampler_reason: " << p.value("sampler_reason", "");
  EXPECT_FALSE(p.value("sampler_reason", "").empty());
  HotCount c = count_hot_spin(p);
  // A cpu-clock sample per 1/199 s the spinner ran. Its CPU time is taken
  // over the whole sonde run (start, symbols, exit too), so only the
  // profiled part of it counts: the samples track what the spinner got,
  // however loaded the machine.
  const double profiled_s = p.value("duration_ms", 0) / 1e3;
  const double cpu_profiled_s = wall_s > 0 ? cpu_s * std::min(1.0, profiled_s / wall_s) : 0;
  EXPECT_GE(c.total, 20u) << c.top;
  EXPECT_GE(static_cast<double>(c.total), 0.4 * 199 * cpu_profiled_s)
      << c.total << " samples for about " << cpu_profiled_s << " s on a CPU (" << cpu_s << " s in "
      << wall_s << " s of sonde, " << profiled_s << " s profiled)\n"
      << c.top;
  EXPECT_GE(c.hot * 10, c.total * 9)
      << c.hot << " of " << c.total << " samples in hot_spin ← spin_b ← spin_a ← main:\n"
      << c.top;
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

}  // namespace
}  // namespace sonde::testing
