// `sonde profile` end to end on this machine, against stack_tracee
// (tests/targets/stack), whose hot functions and their callers are known:
//  - cpu mode, both samplers (perf_event and ptrace), every build variant:
//    `spin` spends its samples in hot_spin ← spin_b ← spin_a ← main;
//  - `threads`: each named thread in its own hot function;
//  - `lib`: the leaf is sonde_hot_loop in libsonde_hot.so;
//  - wall mode on `sleep`: the main thread's stacks end in a syscall frame
//    (poll) under sleep_wait while "spinner" shows hot_spin;
//  - launching a command (`-- CMD`);
//  - every output format, checked by the tool that reads it (xmllint,
//    protoc --decode_raw, python3's json), and the default file name;
//  - the target keeps running after every profile, and when the agent is
//    SIGKILLed mid-session; the controller then fails instead of hanging;
//  - errors: a pid that does not exist, bad arguments (exit 2).
// Every wait is bounded; the processes of each test are SIGKILLed in teardown.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSonde = std::string(SONDE_BIN_DIR) + "/sonde";
const std::string kTargetsDir = SONDE_TARGETS_DIR;

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string tracee_path(const std::string& variant) {
  return kTargetsDir + "/stack_tracee_" + variant;
}

// ---------------------------------------------------------------------------
// The tracee (its health checks are in support/tracee.h).

std::unique_ptr<Tracee> start_tracee(const std::string& variant,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv{tracee_path(variant)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto t = Tracee::start(argv);
  if (!t) {
    ADD_FAILURE() << "cannot start " << argv[0];
    return nullptr;
  }
  auto ready = t->wait_line([](const std::string& l) { return l.rfind("READY ", 0) == 0; }, 5000);
  if (!ready || *ready != "READY " + std::to_string(t->pid())) {
    ADD_FAILURE() << argv[0] << " did not print 'READY " << t->pid() << "': '"
                  << ready.value_or("<nothing>") << "' " << t->err();
    return nullptr;
  }
  return t;
}

// The sonde-agent started by the local transport of controller `sonde`.
pid_t local_agent_of(pid_t sonde) {
  auto found = find_procs([&](pid_t p, const std::string& cmd) {
    return contains(cmd, "sonde-agent") && proc_descends_from(p, sonde);
  });
  return found.size() == 1 ? found[0] : 0;
}

// perf_event_open on another process of ours needs perf_event_paranoid <= 2
// (or root).
bool perf_allowed(std::string* why) {
  if (is_root()) return true;
  std::string p = proc_read("/proc/sys/kernel/perf_event_paranoid");
  if (p.empty()) {
    *why = "no perf_event support (/proc/sys/kernel/perf_event_paranoid missing)";
    return false;
  }
  if (std::stoi(p) > 2) {
    *why = "perf_event_paranoid is " + p.substr(0, p.find('\n')) + " (needs <= 2 or root)";
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// A Profile as the tests read it: each stack as frames leaf first.

struct ViewFrame {
  std::string kind, function, module;
};

struct ViewStack {
  std::vector<ViewFrame> frames;  // leaf first
  uint64_t count = 0;
  int tid = 0;
  std::string thread;
};

struct ProfileView {
  json j;
  std::vector<ViewStack> stacks;
  uint64_t samples = 0;

  // Samples (of one thread when tid != 0) whose stack satisfies pred.
  uint64_t count(const std::function<bool(const ViewStack&)>& pred, int tid = 0) const {
    uint64_t n = 0;
    for (const auto& s : stacks)
      if ((tid == 0 || s.tid == tid) && pred(s)) n += s.count;
    return n;
  }
  uint64_t thread_samples(int tid) const {
    return count([](const ViewStack&) { return true; }, tid);
  }
  // The heaviest stacks, for failure messages.
  std::string top(size_t n = 5) const {
    std::vector<const ViewStack*> v;
    for (const auto& s : stacks) v.push_back(&s);
    std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->count > b->count; });
    std::string out;
    for (size_t i = 0; i < v.size() && i < n; ++i) {
      out += "  " + std::to_string(v[i]->count) + " [" + v[i]->thread + "]";
      for (const auto& f : v[i]->frames)
        out += " " + (f.function.empty() ? "?" + f.kind : f.function);
      out += "\n";
    }
    return out;
  }
};

// Parses and checks the Profile's shape; failures are recorded.
std::optional<ProfileView> parse_profile(const std::string& text) {
  ProfileView v;
  v.j = json::parse(text, nullptr, false);
  if (v.j.is_discarded() || !v.j.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text.substr(0, 2000);
    return std::nullopt;
  }
  for (const char* k : {"pid", "comm", "mode", "sampler", "hz", "duration_ms", "samples", "lost",
                        "frames", "stacks", "threads"}) {
    if (!v.j.contains(k)) {
      ADD_FAILURE() << "the profile has no \"" << k << "\": " << text.substr(0, 2000);
      return std::nullopt;
    }
  }
  const json& frames = v.j["frames"];
  const json& threads = v.j["threads"];
  uint64_t sum = 0;
  for (const auto& s : v.j["stacks"]) {
    ViewStack st;
    st.count = s.at("count").get<uint64_t>();
    size_t ti = s.at("thread").get<size_t>();
    if (ti >= threads.size()) {
      ADD_FAILURE() << "thread index " << ti << " out of range";
      return std::nullopt;
    }
    st.tid = threads[ti].at("tid").get<int>();
    st.thread = threads[ti].value("name", "");
    for (const auto& idx : s.at("frames")) {
      size_t i = idx.get<size_t>();
      if (i >= frames.size()) {
        ADD_FAILURE() << "frame index " << i << " out of range";
        return std::nullopt;
      }
      const json& f = frames[i];
      st.frames.push_back({f.value("kind", ""), f.value("function", ""), f.value("module", "")});
    }
    sum += st.count;
    v.stacks.push_back(std::move(st));
  }
  v.samples = v.j["samples"].get<uint64_t>();
  EXPECT_EQ(sum, v.samples) << "samples is not the sum of the stacks' counts";
  return v;
}

// True when the stack starts (leaf first) with exactly these functions.
bool starts_with(const ViewStack& s, const std::vector<std::string>& fns) {
  if (s.frames.size() < fns.size()) return false;
  for (size_t i = 0; i < fns.size(); ++i)
    if (s.frames[i].function != fns[i]) return false;
  return true;
}

// Runs `sonde profile local --json ARGS`; the view, or nullopt after
// recording a failure.
std::optional<ProfileView> profile(const std::vector<std::string>& args, int timeout_ms = 60000) {
  std::vector<std::string> a{"profile", "local", "--json"};
  a.insert(a.end(), args.begin(), args.end());
  auto r = run_sonde(a, {}, timeout_ms);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "sonde profile failed: " << describe(r);
    return std::nullopt;
  }
  return parse_profile(r.out);
}

// ===========================================================================
// Each test has a scratch directory for the files sonde writes (a profile
// always writes one: without -o, sonde-profile-PID.svg in the working
// directory).
class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
    std::string tmpl = (fs::temp_directory_path() / "sonde-profile-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }
  std::string out_file(const std::string& name) const { return (tmp_ / name).string(); }
  fs::path tmp_;
};

// ===========================================================================
// cpu mode on `spin`, every variant, both samplers.

class ProfileSpin : public ProfileTest,
                    public ::testing::WithParamInterface<std::tuple<std::string, std::string>> {
 protected:
  void SetUp() override {
    ProfileTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string why;
    if (sampler() == "perf" && !perf_allowed(&why)) GTEST_SKIP() << why;
  }
  const std::string& variant() const { return std::get<0>(GetParam()); }
  const std::string& sampler() const { return std::get<1>(GetParam()); }
};

TEST_P(ProfileSpin, HotSpinUnderItsCallers) {
  auto t = start_tracee(variant(), {"spin"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto p = profile({"-p", std::to_string(pid), "--hz", "199", "--duration", "2s", "--sampler",
                    sampler(), "-o", out_file("x.folded")});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->j.value("pid", 0), pid);
  EXPECT_EQ(p->j.value("comm", ""), basename_of(tracee_path(variant())).substr(0, 15));
  EXPECT_EQ(p->j.value("mode", ""), "cpu");
  EXPECT_EQ(p->j.value("sampler", ""), sampler() == "perf" ? "perf_event" : "ptrace");
  EXPECT_EQ(p->j.value("hz", 0), 199);
  EXPECT_GE(p->j.value("duration_ms", 0), 1500);
  EXPECT_LE(p->j.value("duration_ms", 0), 5000);
  // 2 s at 199 Hz is ~398 samples of a thread that is always on a CPU; cpu
  // mode counts only the time it gets, so the floor leaves room for a busy
  // machine.
  EXPECT_GE(p->samples, 100u) << p->top();
  EXPECT_LE(p->samples, 600u) << p->top();
  uint64_t hot = p->count([](const ViewStack& s) {
    return starts_with(s, {"hot_spin", "spin_b", "spin_a", "main"});
  });
  EXPECT_GE(hot * 10, p->samples * 9)
      << hot << " of " << p->samples << " samples in hot_spin ← spin_b ← spin_a ← main:\n"
      << p->top();
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

std::string spin_name(const ::testing::TestParamInfo<ProfileSpin::ParamType>& info) {
  return std::get<0>(info.param) + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, ProfileSpin,
                         ::testing::Combine(::testing::Values("fp_pie", "nofp_pie", "fp_nopie",
                                                              "nofp_nopie", "stripped"),
                                            ::testing::Values("perf", "ptrace")),
                         spin_name);

// ===========================================================================
// threads and lib, both samplers.

class ProfileSampler : public ProfileTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    ProfileTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string why;
    if (sampler() == "perf" && !perf_allowed(&why)) GTEST_SKIP() << why;
  }
  const std::string& sampler() const { return GetParam(); }
};

TEST_P(ProfileSampler, EachThreadInItsOwnHotFunction) {
  auto t = start_tracee("nofp_pie", {"threads"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto p = profile({"-p", std::to_string(pid), "--hz", "199", "--duration", "2s", "--sampler",
                    sampler(), "-o", out_file("x.folded")});
  ASSERT_TRUE(p);
  std::map<std::string, int> tid_of;
  for (const auto& th : p->j["threads"]) tid_of[th.value("name", "")] = th.value("tid", 0);
  for (std::string name : {"alpha", "beta", "gamma"}) {
    ASSERT_TRUE(tid_of.count(name)) << "no thread named " << name << ": " << p->j["threads"];
    int tid = tid_of[name];
    uint64_t all = p->thread_samples(tid);
    uint64_t own = p->count(
        [&](const ViewStack& s) {
          return starts_with(s, {"hot_" + name, "worker_" + name});
        },
        tid);
    // Three spinning threads share the CPUs: each gets a good part of them.
    EXPECT_GE(all, 40u) << name << ":\n" << p->top(10);
    EXPECT_GE(own * 10, all * 9) << name << ": " << own << " of " << all << " in hot_" << name
                                 << " ← worker_" << name << "\n"
                                 << p->top(10);
  }
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

TEST_P(ProfileSampler, LeafInTheSharedLibrary) {
  auto t = start_tracee("fp_pie", {"lib"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto p = profile({"-p", std::to_string(pid), "--hz", "199", "--duration", "2s", "--sampler",
                    sampler(), "-o", out_file("x.folded")});
  ASSERT_TRUE(p);
  uint64_t in_lib = p->count([](const ViewStack& s) {
    return starts_with(s, {"sonde_hot_loop", "lib_caller", "main"}) &&
           basename_of(s.frames[0].module) == "libsonde_hot.so" &&
           basename_of(s.frames[1].module) == "stack_tracee_fp_pie";
  });
  EXPECT_GE(p->samples, 100u) << p->top();
  EXPECT_GE(in_lib * 10, p->samples * 9)
      << in_lib << " of " << p->samples
      << " in sonde_hot_loop (libsonde_hot.so) ← lib_caller ← main:\n"
      << p->top();
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

// Killing the agent (the kernel then detaches whatever it traced) leaves the
// target running, untraced; the controller reports an error and exits.
TEST_P(ProfileSampler, AgentKilledMidSessionLeavesTheTargetRunning) {
  auto t = start_tracee("nofp_pie", {"sleep"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto sonde = Tracee::start({kSonde, "profile", "local", "-p", std::to_string(pid), "--duration",
                              "30s", "--sampler", sampler(), "-o", out_file("x.folded")});
  ASSERT_TRUE(sonde);
  pid_t agent = 0;
  ASSERT_TRUE(wait_until([&] { return (agent = local_agent_of(sonde->pid())) > 0; }, 10000))
      << "no sonde-agent under the controller: " << sonde->err();
  // Let the session get going: samples are being taken when the agent dies.
  sonde->pump(1000);
  ASSERT_FALSE(sonde->reaped()) << "sonde ended early: " << sonde->err();
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  EXPECT_EQ(running_untraced(pid), "") << "after the agent was killed";
  auto st = sonde->wait(10000);
  ASSERT_TRUE(st) << "the controller hangs after its agent died";
  EXPECT_FALSE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << "the controller reports success although its agent was killed";
  EXPECT_FALSE(sonde->err().empty()) << "no error message";
  EXPECT_EQ(running_untraced(pid), "") << "a moment later";
}

INSTANTIATE_TEST_SUITE_P(BothSamplers, ProfileSampler, ::testing::Values("perf", "ptrace"),
                         [](const auto& info) { return info.param; });

// ===========================================================================
// wall mode, launch, outputs, errors.

using ProfileCli = ProfileTest;

// Wall-clock: the main thread, blocked in poll, is sampled too, with the
// syscall it waits in as its leaf; the spinner shows its hot function.
TEST_F(ProfileCli, WallModeShowsTheBlockedThreadInItsSyscall) {
  auto t = start_tracee("fp_pie", {"sleep"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto p = profile({"-p", std::to_string(pid), "--mode", "wall", "--hz", "99", "--duration", "2s",
                    "-o", out_file("x.folded")});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->j.value("mode", ""), "wall");
  int spinner = 0;
  for (const auto& th : p->j["threads"])
    if (th.value("name", "") == "spinner") spinner = th.value("tid", 0);
  ASSERT_GT(spinner, 0) << "no thread named spinner: " << p->j["threads"];

  uint64_t main_all = p->thread_samples(pid);
  uint64_t main_poll = p->count(
      [](const ViewStack& s) {
        if (s.frames.empty() || s.frames[0].kind != "syscall") return false;
        const std::string& sc = s.frames[0].function;
        if (sc != "poll" && sc != "ppoll") return false;
        // sleep_wait ← main further out, past the libc wrapper.
        for (size_t i = 1; i + 1 < s.frames.size(); ++i)
          if (s.frames[i].function == "sleep_wait" && s.frames[i + 1].function == "main")
            return true;
        return false;
      },
      pid);
  // Sampled at 99 Hz whether on a CPU or not: ~198 samples in 2 s.
  EXPECT_GE(main_all, 80u) << p->top(10);
  EXPECT_GE(main_poll * 10, main_all * 9)
      << main_poll << " of " << main_all
      << " main-thread samples in [syscall poll] … sleep_wait ← main:\n"
      << p->top(10);

  uint64_t spin_all = p->thread_samples(spinner);
  uint64_t spin_hot = p->count(
      [](const ViewStack& s) {
        return starts_with(s, {"hot_spin", "spinner_thread"});
      },
      spinner);
  EXPECT_GE(spin_all, 80u) << p->top(10);
  EXPECT_GE(spin_hot * 10, spin_all * 9)
      << spin_hot << " of " << spin_all << " spinner samples in hot_spin ← spinner_thread\n"
      << p->top(10);
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

// Launched: the stacks are in work_unit under main, symbolized although the
// command is gone by the time the profile is rendered.
void expect_work_profile(const std::optional<ProfileView>& p) {
  ASSERT_TRUE(p);
  EXPECT_GT(p->j.value("pid", 0), 0);
  EXPECT_EQ(p->j.value("comm", ""), std::string("stack_tracee_fp_pie").substr(0, 15));
  EXPECT_GE(p->samples, 50u) << p->top();
  uint64_t work = p->count([](const ViewStack& s) {
    if (s.frames.empty() || s.frames[0].function != "work_unit") return false;
    for (const auto& f : s.frames)
      if (f.function == "main") return true;
    return false;
  });
  EXPECT_GE(work * 10, p->samples * 8) << work << " of " << p->samples << " in work_unit … main:\n"
                                       << p->top();
}

TEST_F(ProfileCli, LaunchesACommandForADuration) {
  // 3000 units of ~1 ms: still working when the 2 s are over.
  expect_work_profile(profile({"--duration", "2s", "-o", out_file("x.folded"), "--",
                               tracee_path("fp_pie"), "work", "3000"}));
}

TEST_F(ProfileCli, LaunchesACommandUntilItExits) {
  // Without --duration the profile ends with the command (~1 s).
  long t0 = tracee_now_ms();
  expect_work_profile(
      profile({"-o", out_file("x.folded"), "--", tracee_path("fp_pie"), "work", "1000"}));
  EXPECT_LT(tracee_now_ms() - t0, 20000) << "the profile did not end with its command";
}

// The text result: the top-functions table, and the flame graph written to
// sonde-profile-PID.svg in the working directory.
TEST_F(ProfileCli, TextTableAndDefaultSvgFile) {
  auto t = start_tracee("fp_pie", {"spin"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto r =
      run_cmd({"sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", tmp_.string(), kSonde,
               "profile", "local", "-p", std::to_string(pid), "--duration", "1s", "--top", "3"},
              {}, 60000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  auto header = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return contains(l, "SELF%") && contains(l, "TOTAL%") && contains(l, "FUNCTION");
  });
  ASSERT_NE(header, lines.end()) << "no table header:\n" << r.out;
  ASSERT_NE(header + 1, lines.end()) << r.out;
  EXPECT_TRUE(contains(*(header + 1), "hot_spin")) << "hot_spin is not first:\n" << r.out;
  // Its module, as a column or beside the name.
  EXPECT_TRUE(contains(*(header + 1), "stack_tracee_fp_pie")) << r.out;
  // --top 3: three rows, each with its percentages.
  int rows = 0;
  for (auto it = header + 1; it != lines.end() && contains(*it, "%"); ++it) ++rows;
  EXPECT_EQ(rows, 3) << r.out;
  fs::path svg = tmp_ / ("sonde-profile-" + std::to_string(pid) + ".svg");
  EXPECT_TRUE(fs::exists(svg)) << "no " << svg << " (" << r.out << ")";
  if (fs::exists(svg)) {
    EXPECT_TRUE(contains(proc_read(svg.string()), "hot_spin"));
  }
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

// Each format as chosen by -o's extension, read by the tool that knows it.
class ProfileOutput : public ProfileTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ProfileOutput, WritesAFileItsReaderAccepts) {
  const std::string ext = GetParam();
  auto t = start_tracee("nofp_nopie", {"spin"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  const std::string file = (tmp_ / ("x" + ext)).string();
  auto r = run_sonde({"profile", "local", "-p", std::to_string(pid), "--duration", "1s", "--hz",
                      "199", "-o", file},
                     {}, 60000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(fs::exists(file)) << r.out << r.err;
  ASSERT_GT(fs::file_size(file), 0u);
  const std::string content = proc_read(file);

  if (ext == ".svg") {
    if (!have_program("xmllint")) GTEST_SKIP() << "xmllint (libxml2-utils) is not installed";
    auto x = run_cmd({"xmllint", "--noout", file});
    EXPECT_EQ(x.exit_code, 0) << describe(x);
    EXPECT_TRUE(contains(content, "<svg")) << content.substr(0, 500);
    EXPECT_TRUE(contains(content, "hot_spin"));
  } else if (ext == ".folded") {
    // One stack per line, root first: "main;spin_a;spin_b;hot_spin 397".
    static const std::regex line_re(R"(^[^ ;][^;]*(;[^;]+)* [0-9]+$)");
    std::istringstream in(content);
    int lines = 0;
    uint64_t total = 0, hot = 0;
    for (std::string l; std::getline(in, l);) {
      if (l.empty()) continue;
      ++lines;
      EXPECT_TRUE(std::regex_match(l, line_re)) << "not `a;b;c N`: '" << l << "'";
      uint64_t n = std::stoull(l.substr(l.rfind(' ') + 1));
      total += n;
      if (contains(l, "main;spin_a;spin_b;hot_spin ")) hot += n;
    }
    EXPECT_GT(lines, 0);
    EXPECT_GE(hot * 10, total * 9) << content;
  } else if (ext == ".pb.gz") {
    if (!have_program("protoc")) GTEST_SKIP() << "protoc (protobuf-compiler) is not installed";
    auto d = run_cmd({"sh", "-c", "gzip -dc \"$1\" | protoc --decode_raw", "sh", file});
    EXPECT_EQ(d.exit_code, 0) << describe(d);
    // The string table holds the function names.
    EXPECT_TRUE(contains(d.out, "\"hot_spin\"")) << d.out.substr(0, 2000);
  } else if (ext == ".speedscope.json") {
    if (!have_program("python3")) GTEST_SKIP() << "python3 is not installed";
    auto py = run_cmd({"python3", "-c",
                       "import json,sys; d=json.load(open(sys.argv[1])); "
                       "print(d['$schema']); "
                       "print(' '.join(f['name'] for f in d['shared']['frames']))",
                       file});
    EXPECT_EQ(py.exit_code, 0) << describe(py);
    EXPECT_TRUE(contains(py.out, "https://www.speedscope.app/file-format-schema.json")) << py.out;
    EXPECT_TRUE(contains(py.out, "hot_spin")) << py.out;
  } else if (ext == ".json") {
    auto p = parse_profile(content);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->j.value("pid", 0), pid);
    EXPECT_GT(p->samples, 0u);
  }
  EXPECT_EQ(running_untraced(pid), "") << "after the profile";
}

INSTANTIATE_TEST_SUITE_P(Formats, ProfileOutput,
                         ::testing::Values(".svg", ".folded", ".pb.gz", ".speedscope.json",
                                           ".json"),
                         [](const auto& info) {
                           std::string n = info.param.substr(1);
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

// A pid that is gone, for the error tests: 999999 unless that one exists.
pid_t gone_pid() {
  if (::kill(999999, 0) != 0 && errno == ESRCH) return 999999;
  pid_t p = ::fork();
  if (p == 0) ::_exit(0);
  ::waitpid(p, nullptr, 0);
  return p;
}

TEST_F(ProfileCli, NoSuchProcessFailsWithAHint) {
  const std::string gone = std::to_string(gone_pid());
  for (const char* cmd : {"stack", "profile"}) {
    std::vector<std::string> args{cmd, "local", "-p", gone};
    if (std::string(cmd) == "profile") {
      for (const char* a : {"--duration", "1s", "-o"}) args.push_back(a);
      args.push_back(out_file("x.folded"));
    }
    auto r = run_sonde(args, {}, 20000);
    EXPECT_NE(r.exit_code, 0) << cmd << ": " << describe(r);
    EXPECT_FALSE(r.timed_out) << cmd;
    EXPECT_TRUE(contains(r.err, gone)) << cmd << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "hint:")) << cmd << ": " << r.err;
  }
}

TEST_F(ProfileCli, BadArgumentsExitTwo) {
  auto t = start_tracee("fp_pie", {"chain"});
  ASSERT_TRUE(t);
  const std::string pid = std::to_string(t->pid());
  const std::vector<std::vector<std::string>> bad = {
      {"--hz", "0"},
      {"--mode", "foo"},
  };
  for (const auto& extra : bad) {
    std::vector<std::string> args{"profile", "local", "-p", pid, "--duration", "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_sonde(args, {}, 20000);
    EXPECT_EQ(r.exit_code, 2) << extra[0] << " " << extra[1] << ": " << describe(r);
    EXPECT_FALSE(r.err.empty());
  }
  // Nothing was attached for a command line that was refused.
  EXPECT_EQ(running_untraced(t->pid()), "");
}

}  // namespace
}  // namespace sonde::testing
