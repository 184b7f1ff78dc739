// `sonde stack local -p PID --json` against the real tools: gdb (`thread
// apply all bt`) and eu-stack (`-i -m`), on stack_tracee (tests/targets/stack)
// in every build variant (frame pointers or not, PIE or not, stripped) and in
// the modes chain, recurse 5, threads and signal. Per thread, the function
// names of the frames in our own code must be the same, in the same order, in
// sonde's answer, in the oracle's, and in the list this test writes down.
//
// How frames are normalised (worked out from gdb 13 / elfutils 0.188 output
// on Debian 12, libc with and without debug info):
//  - Only frames in the tracee's own modules count: the executable and
//    libsonde_hot.so. libc / ld.so frames differ between tools and with the
//    libc debug info installed or not (clock_nanosleep@GLIBC_2.2.5 vs
//    __GI___clock_nanosleep, __futex_abstimed_wait_common64 present or not,
//    ___pthread_join skipped by eu-stack), so they are dropped on every side.
//    gdb does not print modules: a frame is ours when its source file is
//    stack_tracee.c or hot_lib.c, or it comes `from .../libsonde_hot.so`, or
//    it has neither a source file nor a `from` (a shared library always has a
//    `from`, so that is the executable without debug info: the stripped
//    variant). sonde and eu-stack name the module of each frame.
//  - Versioned names lose their @VERSION suffix; gdb's "??" frames and its
//    "<signal handler called>" line are no function and are dropped (sonde
//    and eu-stack show the signal trampoline __restore_rt, which is libc).
//  - Frames outer than main are cut: gdb stops at main (backtrace past-main
//    is off), sonde and eu-stack go on to __libc_start_call_main and _start.
//  - Inline frames are frames: gdb and `eu-stack -i` print them, sonde marks
//    them "inlined". stack_tracee inlines sleep_ms and run_threads on purpose;
//    the stripped variant has no debug info and so no inline frames.
//
// After each tool ran, the tracee must still be running: no thread stopped
// (T/t) or traced (TracerPid 0), and it keeps using CPU or waking up.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
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

const std::string kTargetsDir = SONDE_TARGETS_DIR;

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ← ") + x;
  return "[" + s + "]";
}

// clock_nanosleep@GLIBC_2.2.5, __libc_start_main@@GLIBC_2.34 → the bare name.
std::string unversioned(const std::string& name) {
  size_t at = name.find('@');
  return at == std::string::npos || at == 0 ? name : name.substr(0, at);
}

// Frames outer than main are not compared (gdb stops there).
void cut_below_main(std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "main") {
      names.resize(i + 1);
      return;
    }
  }
}

struct Variant {
  const char* name;
  bool debuginfo;  // DWARF present: inline frames are visible
};
const Variant kVariants[] = {
    {"fp_pie", true},     {"nofp_pie", true},  {"fp_nopie", true},
    {"nofp_nopie", true}, {"stripped", false},
};

// gtest prints parameters with these (else as raw bytes).
void PrintTo(const Variant& v, std::ostream* os) {
  *os << v.name;
}

std::string tracee_path(const Variant& v) {
  return kTargetsDir + "/stack_tracee_" + v.name;
}

// Per thread (keyed by tid): our frames' names, innermost first.
using ThreadFrames = std::map<int, std::vector<std::string>>;

// ---------------------------------------------------------------------------
// The expected frames of each mode, per thread name ("" = the main thread).
// A leading '*' marks an inline frame, present only with debug info.
struct Mode {
  const char* label;
  std::vector<std::string> args;
  std::map<std::string, std::vector<std::string>> threads;
};

void PrintTo(const Mode& m, std::ostream* os) {
  *os << m.label;
}

std::vector<Mode> modes() {
  std::vector<std::string> recurse{"*sleep_ms", "recurse_leaf"};
  for (int i = 0; i < 5; ++i) recurse.push_back("recurse");
  recurse.push_back("main");
  return {
      {"chain", {"chain"}, {{"", {"*sleep_ms", "chain_c", "chain_b", "chain_a", "main"}}}},
      {"recurse5", {"recurse", "5"}, {{"", recurse}}},
      {"threads",
       {"threads"},
       {{"", {"*run_threads", "main"}},
        {"alpha", {"hot_alpha", "worker_alpha"}},
        {"beta", {"hot_beta", "worker_beta"}},
        {"gamma", {"hot_gamma", "worker_gamma"}}}},
      {"signal", {"signal"}, {{"", {"sig_handler_spin", "chain_c", "chain_b", "chain_a", "main"}}}},
  };
}

std::vector<std::string> expected_for(const std::vector<std::string>& spec, bool debuginfo) {
  std::vector<std::string> out;
  for (const auto& s : spec) {
    if (s[0] == '*') {
      if (debuginfo) out.push_back(s.substr(1));
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Parsers for the three tools.

// sonde's StackDump: frames in the executable or libsonde_hot.so.
ThreadFrames sonde_frames(const json& dump, const std::string& exe_base) {
  ThreadFrames out;
  for (const auto& t : dump.at("threads")) {
    std::vector<std::string> names;
    for (const auto& f : t.at("frames")) {
      std::string module = basename_of(f.value("module", ""));
      if (module != exe_base && module != "libsonde_hot.so") continue;
      std::string fn = unversioned(f.value("function", ""));
      names.push_back(fn.empty() ? "??" : fn);
    }
    cut_below_main(names);
    out[t.at("tid").get<int>()] = names;
  }
  return out;
}

// gdb -batch ... -ex 'thread apply all bt':
//   Thread 2 (Thread 0x7f.. (LWP 1235) "alpha"):
//   #0  0x000055.. in hot_alpha () at /…/stack_tracee.c:191
//   #2  sleep_ms (ms=20) at /…/stack_tracee.c:107          (inline: no pc)
//   #1  0x00007f.. in nanosleep () from /lib/x86_64-linux-gnu/libc.so.6
//   #2  0x000055.. in chain_c ()                            (no debug info)
//   #1  <signal handler called>
ThreadFrames gdb_frames(const std::string& text) {
  static const std::regex thread_re(R"(^Thread \d+ \(.*\(LWP (\d+)\))");
  static const std::regex frame_re(R"(^#\d+\s+(?:0x[0-9a-fA-F]+ in )?(\S+) \()");
  static const std::regex from_re(R"( from (\S+)\s*$)");
  static const std::regex at_re(R"( at (\S+):\d+\s*$)");
  ThreadFrames out;
  int tid = -1;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, thread_re)) {
      tid = std::stoi(m[1]);
      out[tid];
      continue;
    }
    if (tid < 0 || line.rfind('#', 0) != 0) continue;
    if (!std::regex_search(line, m, frame_re)) continue;  // <signal handler called>
    std::string fn = unversioned(m[1]);
    if (fn == "??") continue;
    bool ours;
    if (std::regex_search(line, m, from_re)) {
      ours = basename_of(m[1]) == "libsonde_hot.so";
    } else if (std::regex_search(line, m, at_re)) {
      std::string file = basename_of(m[1]);
      ours = file == "stack_tracee.c" || file == "hot_lib.c";
    } else {
      ours = true;  // the executable, without debug info
    }
    if (ours) out[tid].push_back(fn);
  }
  for (auto& [t, names] : out) cut_below_main(names);
  return out;
}

// eu-stack -i -m -p PID:
//   TID 1234:
//   #0  0x000055.. chain_c - /…/stack_tracee_fp_pie
//   #3  0x00007f.. __clone3 - /usr/lib/x86_64-linux-gnu/libc.so.6
ThreadFrames eu_stack_frames(const std::string& text, const std::string& exe_base) {
  static const std::regex thread_re(R"(^TID (\d+):)");
  static const std::regex frame_re(R"(^#\d+\s+0x[0-9a-fA-F]+\s+(\S+)\s+-\s+(\S+)\s*$)");
  ThreadFrames out;
  int tid = -1;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, thread_re)) {
      tid = std::stoi(m[1]);
      out[tid];
      continue;
    }
    if (tid < 0 || !std::regex_search(line, m, frame_re)) continue;
    std::string module = basename_of(m[2]);
    if (module != exe_base && module != "libsonde_hot.so") continue;
    out[tid].push_back(unversioned(m[1]));
  }
  for (auto& [t, names] : out) cut_below_main(names);
  return out;
}

// ---------------------------------------------------------------------------
// The tracee (its health checks are in support/tracee.h).

// stack_tracee in a known state: started, READY printed with its own pid.
std::unique_ptr<Tracee> start_tracee(const Variant& v, const std::vector<std::string>& args) {
  std::vector<std::string> argv{tracee_path(v)};
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
  // READY is printed just before the final call or loop: let it get there.
  ::usleep(100 * 1000);
  return t;
}

// The tracee's thread names by tid, from /proc (comm).
std::map<int, std::string> thread_names(pid_t pid) {
  std::map<int, std::string> out;
  for (int tid : task_ids(pid)) {
    std::string comm =
        proc_read("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out[tid] = comm;
  }
  return out;
}

// What the mode expects, per tid of the running tracee.
ThreadFrames expected_frames(const Mode& mode, const Variant& v, pid_t pid) {
  ThreadFrames out;
  for (const auto& [tid, name] : thread_names(pid)) {
    std::string key = tid == pid ? "" : name;
    auto it = mode.threads.find(key);
    if (it != mode.threads.end()) out[tid] = expected_for(it->second, v.debuginfo);
  }
  return out;
}

// Compares per tid; every expected thread must be there with exactly those
// frames. Threads the expectation does not name are not compared.
void expect_same(const ThreadFrames& want, const ThreadFrames& got, const std::string& who,
                 const std::string& raw) {
  for (const auto& [tid, names] : want) {
    auto it = got.find(tid);
    if (it == got.end()) {
      ADD_FAILURE() << who << " has no thread " << tid << "\n" << raw;
      continue;
    }
    EXPECT_EQ(join(it->second), join(names)) << who << ", thread " << tid << "\n" << raw;
  }
}

std::vector<std::string> gdb_argv(pid_t pid) {
  return {"gdb",
          "-batch",
          "-nx",
          "-iex",
          "set debuginfod enabled off",
          "-p",
          std::to_string(pid),
          "-ex",
          "set pagination off",
          "-ex",
          "thread apply all bt"};
}

// ---------------------------------------------------------------------------

class StackOracle : public ::testing::TestWithParam<std::tuple<Variant, Mode>> {
 protected:
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  }
  const Variant& variant() const { return std::get<0>(GetParam()); }
  const Mode& mode() const { return std::get<1>(GetParam()); }
  std::string exe_base() const { return basename_of(tracee_path(variant())); }

  // sonde stack --json on the tracee; the parsed dump (null on failure).
  json sonde_dump(pid_t pid, std::string* raw) {
    auto r = run_sonde({"stack", "local", "-p", std::to_string(pid), "--json"}, {}, 30000);
    *raw = r.out + r.err;
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    if (r.exit_code != 0) return nullptr;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    if (j.is_discarded()) return nullptr;
    return j;
  }
};

TEST_P(StackOracle, SondeMatchesGdb) {
  if (!have_program("gdb")) GTEST_SKIP() << "gdb is not installed";
  auto t = start_tracee(variant(), mode().args);
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  const ThreadFrames want = expected_frames(mode(), variant(), pid);
  ASSERT_EQ(want.size(), mode().threads.size()) << "the tracee's threads are not all there";

  std::string raw;
  json dump = sonde_dump(pid, &raw);
  ASSERT_FALSE(dump.is_null());
  EXPECT_EQ(running_untraced(pid), "") << "after sonde stack";

  // The dump itself: pid, comm, one entry per thread with its name, our
  // frames as code frames in the right module, inline frames marked.
  EXPECT_EQ(dump.value("pid", 0), pid);
  EXPECT_EQ(dump.value("comm", ""), exe_base().substr(0, 15));
  auto names = thread_names(pid);
  ASSERT_TRUE(dump.contains("threads") && dump["threads"].is_array()) << raw;
  EXPECT_EQ(dump["threads"].size(), names.size()) << raw;
  for (const auto& th : dump["threads"]) {
    int tid = th.value("tid", 0);
    EXPECT_TRUE(names.count(tid)) << "thread " << tid << " is not the tracee's";
    if (names.count(tid)) {
      EXPECT_EQ(th.value("name", ""), names[tid]);
    }
    EXPECT_FALSE(th.value("truncated", false)) << "thread " << tid << " truncated\n" << raw;
    EXPECT_FALSE(th.contains("error")) << th.dump();
    // Sleepers sleep and spinners run (R: on a CPU or waiting for one).
    std::string state = th.value("state", "");
    const std::string label = mode().label;
    // A sleeper wakes between its nanosleeps, so "R" is a fair reading at
    // that instant; its frames (checked against gdb) still show the sleep.
    if (tid == pid && (label == "chain" || label == "recurse5")) {
      EXPECT_TRUE(state == "S" || state == "R") << th.dump();
    }
    if (tid != pid && label == "threads") {
      EXPECT_EQ(state, "R") << th.dump();
    }
    for (const auto& f : th.value("frames", json::array())) {
      std::string fn = f.value("function", "");
      if (fn == "sleep_ms" || fn == "run_threads") {
        EXPECT_TRUE(f.value("inlined", false)) << fn << " is an inline frame: " << f.dump();
      }
      if (basename_of(f.value("module", "")) == exe_base()) {
        EXPECT_EQ(f.value("kind", ""), "code") << f.dump();
        EXPECT_EQ(f.value("module", ""), fs::canonical(tracee_path(variant())).string());
      }
    }
  }
  ThreadFrames from_sonde = sonde_frames(dump, exe_base());
  expect_same(want, from_sonde, "sonde", raw);

  auto g = run_cmd(gdb_argv(pid), {{"DEBUGINFOD_URLS", ""}}, 60000);
  ASSERT_EQ(g.exit_code, 0) << describe(g);
  ThreadFrames from_gdb = gdb_frames(g.out);
  // The oracle must see what the tracee was built to show, or the
  // normalisation above is wrong.
  expect_same(want, from_gdb, "gdb", g.out);
  // And sonde must agree with gdb thread by thread, also for threads the
  // expectation does not name.
  expect_same(from_gdb, from_sonde, "sonde vs gdb", raw + "\n--- gdb:\n" + g.out);
  EXPECT_EQ(running_untraced(pid), "") << "after gdb";
}

TEST_P(StackOracle, SondeMatchesEuStack) {
  if (!have_program("eu-stack")) GTEST_SKIP() << "eu-stack (elfutils) is not installed";
  auto t = start_tracee(variant(), mode().args);
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  const ThreadFrames want = expected_frames(mode(), variant(), pid);

  std::string raw;
  json dump = sonde_dump(pid, &raw);
  ASSERT_FALSE(dump.is_null());
  EXPECT_EQ(running_untraced(pid), "") << "after sonde stack";
  ThreadFrames from_sonde = sonde_frames(dump, exe_base());

  auto e = run_cmd({"eu-stack", "-i", "-m", "-p", std::to_string(pid)}, {{"DEBUGINFOD_URLS", ""}},
                   60000);
  ASSERT_EQ(e.exit_code, 0) << describe(e);
  ThreadFrames from_eu = eu_stack_frames(e.out, exe_base());
  expect_same(want, from_eu, "eu-stack", e.out);
  expect_same(from_eu, from_sonde, "sonde vs eu-stack", raw + "\n--- eu-stack:\n" + e.out);
  EXPECT_EQ(running_untraced(pid), "") << "after eu-stack";
}

std::string param_name(const ::testing::TestParamInfo<StackOracle::ParamType>& info) {
  return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).label;
}

INSTANTIATE_TEST_SUITE_P(AllVariants, StackOracle,
                         ::testing::Combine(::testing::ValuesIn(kVariants),
                                            ::testing::ValuesIn(modes())),
                         param_name);

// ---------------------------------------------------------------------------

class StackText : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
  }
};

// The human output, like eu-stack's: a line per thread with its tid, then its
// frames innermost first.
TEST_F(StackText, PrintsEachThreadInnermostFirst) {
  auto t = start_tracee(kVariants[0], {"threads"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  auto r = run_sonde({"stack", "local", "-p", std::to_string(pid)}, {}, 30000);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (int tid : task_ids(pid)) EXPECT_TRUE(contains(r.out, std::to_string(tid))) << r.out;
  for (const char* name : {"alpha", "beta", "gamma"}) {
    std::string hot = std::string("hot_") + name, worker = std::string("worker_") + name;
    size_t h = r.out.find(hot), w = r.out.find(worker);
    ASSERT_NE(h, std::string::npos) << r.out;
    ASSERT_NE(w, std::string::npos) << r.out;
    EXPECT_LT(h, w) << "innermost first: " << hot << " before " << worker << "\n" << r.out;
  }
  EXPECT_EQ(running_untraced(pid), "");
}

// Eight parked threads, dumped five times in a row: every thread is found in
// park_thread each time, and the tracee is unharmed.
TEST_F(StackText, ManyThreadsRepeatedly) {
  auto t = start_tracee(kVariants[1], {"many", "8"});
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();
  for (int i = 0; i < 5; ++i) {
    auto r = run_sonde({"stack", "local", "-p", std::to_string(pid), "--json"}, {}, 30000);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    ASSERT_EQ(j["threads"].size(), 9u) << r.out;
    int parked = 0;
    for (const auto& th : j["threads"]) {
      std::vector<std::string> names;
      for (const auto& f : th["frames"]) names.push_back(f.value("function", ""));
      if (std::find(names.begin(), names.end(), "park_thread") != names.end()) ++parked;
    }
    EXPECT_EQ(parked, 8) << r.out;
  }
  EXPECT_EQ(running_untraced(pid), "");
}

}  // namespace
}  // namespace sonde::testing
