// `sonde stack local -p PID` gets the tracee's debug info from debuginfod,
// end to end: the controller starts the real agent, whose symbolizer runs
// `debuginfod-find` as a child (profiler/src/debuginfod.h) because the static
// agent cannot load libdw's own client.
//
// The tracee is stack_tracee_debuginfod (tests/targets/stack): stripped of
// its DWARF, which lives only in SONDE_DEBUGINFOD_DIR, with no
// .gnu_debuglink and a build-id no other binary has. So its frames can only
// get file:line from a server that has that build-id. Each test brings:
//  - a real debuginfod (-F on SONDE_DEBUGINFOD_DIR) on a free port, or a
//    port where nothing listens, or no DEBUGINFOD_URLS at all;
//  - its own DEBUGINFOD_CACHE_PATH (debuginfod-find's cache, which also
//    remembers misses) and SONDE_CACHE_DIR (the agent's cache of debug
//    files and symbolization results, keyed by build-id), so nothing one
//    run learnt reaches another.
// The expected lines come from stack_tracee.c itself (the call in each frame
// of `chain` mode). After every run the tracee must still run untraced.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sonde/common/ports.h"
#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kTargetsDir = SONDE_TARGETS_DIR;
const std::string kDebugDir = SONDE_DEBUGINFOD_DIR;
const std::string kTraceeName = "stack_tracee_debuginfod";
const std::string kTraceeSource =
    std::string(SONDE_SOURCE_DIR) + "/tests/targets/stack/stack_tracee.c";
// One bound for every sonde run: the agent gives debuginfod-find 30 s.
constexpr int kRunTimeoutMs = 90000;

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sonde-debuginfod-XXXXXX";
    if (const char* p = ::mkdtemp(tmpl)) path = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// unsetenv for one test (run_cmd can add variables, not remove them); the
// old value comes back at scope exit.
class ScopedUnsetEnv {
 public:
  explicit ScopedUnsetEnv(const char* name) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::unsetenv(name);
  }
  ~ScopedUnsetEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
  }
  ScopedUnsetEnv(const ScopedUnsetEnv&) = delete;
  ScopedUnsetEnv& operator=(const ScopedUnsetEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// The GNU build-id note of an ELF file as readelf prints it; "" without one.
std::string build_id_of(const std::string& path) {
  auto r = run_cmd({"readelf", "-n", path}, {{"LC_ALL", "C"}}, 10000);
  static const std::regex id_re(R"(Build ID: ([0-9a-f]+))");
  std::smatch m;
  return std::regex_search(r.out, m, id_re) ? m[1].str() : "";
}

// Section names of an ELF file (readelf -S -W).
std::vector<std::string> sections_of(const std::string& path) {
  auto r = run_cmd({"readelf", "-S", "-W", path}, {{"LC_ALL", "C"}}, 10000);
  static const std::regex sec_re(R"(^\s*\[\s*\d+\]\s+(\S+))");
  std::vector<std::string> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, sec_re)) out.push_back(m[1]);
  }
  return out;
}

// The 1-based number of the first line of the tracee's source that contains
// needle, at or after the first line containing after; 0 when there is none.
int source_line(const std::string& after, const std::string& needle) {
  std::istringstream in(proc_read(kTraceeSource));
  bool seen = false;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    seen = seen || contains(line, after);
    if (seen && contains(line, needle)) return n;
  }
  return 0;
}

// A loopback port that refuses connections for as long as this lives: bound
// (so nothing else takes it) but never listening, so a SYN gets a RST.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
  }
  ~ClosedPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A real debuginfod scanning one directory of ELF/DWARF files. It has no
// option to bind one address: it listens on every interface, on a random
// port, for the few seconds of a test. SIGTERM at scope exit, then the
// Tracee's SIGKILL of its process group.
class DebuginfodServer {
 public:
  // Returns once the server hands out the debug file of build_id (bounded);
  // nullptr with a test failure otherwise. work is for its database and log.
  static std::unique_ptr<DebuginfodServer> start(const std::string& served,
                                                 const std::string& build_id, const TempDir& work) {
    int port = sonde::free_loopback_port();
    if (port == 0) {
      ADD_FAILURE() << "no free loopback port";
      return nullptr;
    }
    std::string log = work / "debuginfod.log";
    auto t = Tracee::start({"sh", "-c",
                            "exec debuginfod -v -p " + std::to_string(port) + " -d " +
                                (work / "debuginfod.sqlite") + " -t 0 -g 0 -F " + served + " >" +
                                log + " 2>&1"});
    if (!t) {
      ADD_FAILURE() << "cannot start debuginfod";
      return nullptr;
    }
    std::unique_ptr<DebuginfodServer> s(new DebuginfodServer(std::move(t), port));
    // Until its first scan has indexed the directory. Each try gets an empty
    // cache: debuginfod-find remembers a miss for ten minutes.
    std::string cache = work / "poll-cache";
    bool served_it = wait_until(
        [&] {
          if (s->tracee_->wait(0)) return true;  // died: reported below
          std::error_code ec;
          fs::remove_all(cache, ec);
          auto r =
              run_cmd({"debuginfod-find", "debuginfo", build_id},
                      {{"DEBUGINFOD_URLS", s->url()}, {"DEBUGINFOD_CACHE_PATH", cache}}, 10000);
          return r.exit_code == 0;
        },
        30000);
    if (served_it && !s->tracee_->reaped()) return s;
    ADD_FAILURE() << "debuginfod on port " << port << " never served " << build_id << " ("
                  << wait_status_text(s->tracee_->wait(0)) << "):\n"
                  << proc_read(log);
    return nullptr;
  }

  ~DebuginfodServer() {
    tracee_->signal(SIGTERM);
    tracee_->wait(3000);
  }
  DebuginfodServer(const DebuginfodServer&) = delete;
  DebuginfodServer& operator=(const DebuginfodServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  DebuginfodServer(std::unique_ptr<Tracee> t, int port) : tracee_(std::move(t)), port_(port) {}
  std::unique_ptr<Tracee> tracee_;
  int port_;
};

// One frame of `sonde stack`'s text output:
//   #3  0x0000563a12ba8a97 chain_c+0xc7 - stack_tracee_debuginfod
//         /…/tests/targets/stack/stack_tracee.c:162
struct TextFrame {
  std::string function;
  std::string module;  // basename, as printed
  bool inlined = false;
  std::string file;  // "" when the frame has no source line
  int line = 0;
};

std::vector<TextFrame> parse_frames(const std::string& text) {
  static const std::regex frame_re(R"(^#\d+\s+0x[0-9a-f]+ (.+) - (\S+)$)");
  static const std::regex src_re(R"(^\s+(\S+):(\d+)$)");
  std::vector<TextFrame> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, frame_re)) {
      TextFrame f;
      std::string what = m[1];
      f.module = m[2];
      f.inlined = contains(what, " [inlined]");
      f.function = what.substr(0, what.find_first_of("+ "));
      out.push_back(f);
    } else if (!out.empty() && out.back().file.empty() && std::regex_match(line, m, src_re)) {
      out.back().file = m[1];
      out.back().line = std::stoi(m[2]);
    }
  }
  return out;
}

// The tracee's own frames, innermost first, down to main (the executable
// also has _start below it).
std::vector<TextFrame> tracee_frames(const std::string& text) {
  std::vector<TextFrame> out;
  for (auto& f : parse_frames(text)) {
    if (f.module != kTraceeName) continue;
    out.push_back(f);
    if (f.function == "main") break;
  }
  return out;
}

std::string describe_frames(const std::vector<TextFrame>& frames) {
  std::string s;
  for (const auto& f : frames) {
    s += (s.empty() ? "" : " ← ") + f.function + (f.inlined ? " [inlined]" : "");
    if (!f.file.empty()) s += " (" + basename_of(f.file) + ":" + std::to_string(f.line) + ")";
  }
  return "[" + s + "]";
}

std::vector<std::string> notes_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("note: ", 0) == 0) out.push_back(line.substr(6));
  return out;
}

bool has_note(const std::vector<std::string>& notes, const std::string& note) {
  return std::find(notes.begin(), notes.end(), note) != notes.end();
}

std::string join_notes(const std::vector<std::string>& notes) {
  std::string s;
  for (const auto& n : notes) s += "\n  " + n;
  return s.empty() ? " (none)" : s;
}

class StackDebuginfod : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ptrace_allowed(&why)) GTEST_SKIP() << why;
    ASSERT_FALSE(work_.path.empty()) << "mkdtemp failed";
    exe_ = fs::canonical(kTargetsDir + "/" + kTraceeName).string();
    debug_file_ = kDebugDir + "/" + kTraceeName + ".debug";
    // What makes this test mean something: the executable has no DWARF and
    // no debuglink, its debug file sits nowhere the symbolizer looks by
    // itself, and the two share one build-id.
    id_ = build_id_of(exe_);
    ASSERT_FALSE(id_.empty()) << exe_ << " has no build-id";
    ASSERT_EQ(build_id_of(debug_file_), id_) << debug_file_;
    for (const auto& s : sections_of(exe_))
      ASSERT_TRUE(s.rfind(".debug_", 0) != 0 && s != ".gnu_debuglink" && s != ".zdebug_info")
          << exe_ << " still has " << s;
    std::string system_copy =
        "/usr/lib/debug/.build-id/" + id_.substr(0, 2) + "/" + id_.substr(2) + ".debug";
    ASSERT_FALSE(fs::exists(system_copy)) << system_copy << " would supply the debug info";
  }

  // stack_tracee_debuginfod in `chain` mode, READY.
  std::unique_ptr<Tracee> start_tracee() {
    auto t = Tracee::start({exe_, "chain"});
    if (!t) {
      ADD_FAILURE() << "cannot start " << exe_;
      return nullptr;
    }
    auto ready = t->wait_line([](const std::string& l) { return l.rfind("READY ", 0) == 0; }, 5000);
    if (!ready || *ready != "READY " + std::to_string(t->pid())) {
      ADD_FAILURE() << exe_ << " did not print 'READY " << t->pid() << "': '"
                    << ready.value_or("<nothing>") << "' " << t->err();
      return nullptr;
    }
    // READY is printed just before the sleep loop: let it get there.
    ::usleep(100 * 1000);
    return t;
  }

  // sonde stack on pid with the agent's own cache in a fresh directory.
  sonde::testing::Run sonde_stack(pid_t pid, std::map<std::string, std::string> env) {
    env["SONDE_CACHE_DIR"] = work_ / "sonde-cache";
    auto r = run_sonde({"stack", "local", "-p", std::to_string(pid)}, env, kRunTimeoutMs);
    EXPECT_FALSE(r.timed_out) << "sonde stack did not finish in " << kRunTimeoutMs / 1000 << " s";
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r;
  }

  // Without debug info the tracee's frames are still named (.symtab), but
  // none has a source line and there are no inline frames.
  void expect_named_without_lines(const std::string& out) {
    auto frames = tracee_frames(out);
    std::vector<std::string> names;
    for (const auto& f : frames) {
      names.push_back(f.function);
      EXPECT_EQ(f.file, "") << f.function << " has a source line without debug info\n" << out;
      EXPECT_FALSE(f.inlined) << out;
    }
    EXPECT_EQ(names, (std::vector<std::string>{"chain_c", "chain_b", "chain_a", "main"})) << out;
    EXPECT_FALSE(contains(out, "stack_tracee.c")) << out;
  }

  std::string no_debug_info_note() const {
    return "no debug info for " + exe_ + " (build-id " + id_ + ")";
  }

  TempDir work_;
  std::string exe_, debug_file_, id_;
};

// DEBUGINFOD_URLS names a real server that has the debug file: every frame
// of the tracee gets its source line, fetched by debuginfod-find.
TEST_F(StackDebuginfod, FetchesDebugInfoFromServer) {
  if (!have_program("debuginfod") || !have_program("debuginfod-find"))
    GTEST_SKIP() << "needs debuginfod and debuginfod-find (apt-get install debuginfod)";
  auto server = DebuginfodServer::start(kDebugDir, id_, work_);
  ASSERT_TRUE(server);
  auto t = start_tracee();
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();

  std::string cache = work_ / "debuginfod-cache";
  auto r = sonde_stack(pid, {{"DEBUGINFOD_URLS", server->url()}, {"DEBUGINFOD_CACHE_PATH", cache}});
  EXPECT_EQ(running_untraced(pid), "") << "after sonde stack";

  // Innermost first: the nanosleep call in the inlined sleep_ms, then the
  // call each frame is in (stack_tracee.c is the oracle).
  struct Want {
    std::string function;
    bool inlined;
    int line;
  };
  const std::vector<Want> want = {
      {"sleep_ms", true, source_line("void sleep_ms(long ms)", "nanosleep(")},
      {"chain_c", false, source_line("FRAME void chain_c(int spin)", "sleep_ms(1000);")},
      {"chain_b", false, source_line("FRAME void chain_b(int spin)", "chain_c(spin);")},
      {"chain_a", false, source_line("FRAME void chain_a(int spin)", "chain_b(spin);")},
      {"main", false, source_line("int main(int argc", "chain_a(0);")},
  };
  for (const auto& w : want) ASSERT_GT(w.line, 0) << "no line for " << w.function << " in source";
  auto frames = tracee_frames(r.out);
  ASSERT_EQ(frames.size(), want.size()) << describe_frames(frames) << "\n" << r.out << r.err;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(frames[i].function, want[i].function) << r.out;
    EXPECT_EQ(frames[i].inlined, want[i].inlined) << r.out;
    EXPECT_EQ(basename_of(frames[i].file), "stack_tracee.c") << r.out;
    EXPECT_EQ(frames[i].line, want[i].line) << frames[i].function << "\n" << r.out;
  }
  auto notes = notes_of(r.out);
  for (const auto& n : notes)
    EXPECT_FALSE(contains(n, exe_) || contains(n, "DEBUGINFOD_URLS not used")) << n;

  // The agent asked debuginfod-find, which fetched the file over HTTP into
  // the cache we gave it.
  std::string fetched = cache + "/" + id_ + "/debuginfo";
  EXPECT_TRUE(fs::exists(fetched)) << fetched << " is missing: debuginfod-find was not used";
  EXPECT_EQ(build_id_of(fetched), id_);
}

// No DEBUGINFOD_URLS: names from .symtab, no source lines, and a note on
// how to get them.
TEST_F(StackDebuginfod, WithoutUrlsSuggestsIt) {
  ScopedUnsetEnv urls("DEBUGINFOD_URLS");
  auto t = start_tracee();
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();

  std::string cache = work_ / "debuginfod-cache";
  auto r = sonde_stack(pid, {{"DEBUGINFOD_CACHE_PATH", cache}});
  EXPECT_EQ(running_untraced(pid), "") << "after sonde stack";
  expect_named_without_lines(r.out);
  auto notes = notes_of(r.out);
  EXPECT_TRUE(has_note(
      notes, no_debug_info_note() + ": install its -dbgsym package or set DEBUGINFOD_URLS"))
      << join_notes(notes);
  EXPECT_FALSE(fs::exists(cache)) << "debuginfod-find ran without DEBUGINFOD_URLS";
}

// DEBUGINFOD_URLS names a port that refuses connections: the command still
// answers (bounded), with names, and says why nothing was fetched.
TEST_F(StackDebuginfod, UnreachableServerIsANote) {
  if (!have_program("debuginfod-find"))
    GTEST_SKIP() << "needs debuginfod-find (apt-get install debuginfod)";
  ClosedPort closed;
  ASSERT_NE(closed.port(), 0) << "no free loopback port";
  auto t = start_tracee();
  ASSERT_TRUE(t);
  const pid_t pid = t->pid();

  auto r =
      sonde_stack(pid, {{"DEBUGINFOD_URLS", "http://127.0.0.1:" + std::to_string(closed.port())},
                        {"DEBUGINFOD_CACHE_PATH", work_ / "debuginfod-cache"}});
  EXPECT_EQ(running_untraced(pid), "") << "after sonde stack";
  expect_named_without_lines(r.out);
  auto notes = notes_of(r.out);
  EXPECT_TRUE(has_note(notes,
                       "DEBUGINFOD_URLS not used: Server query failed: Connection refused; check "
                       "DEBUGINFOD_URLS and that the server is reachable"))
      << join_notes(notes);
  EXPECT_TRUE(has_note(notes, no_debug_info_note() + ": install its -dbgsym package"))
      << join_notes(notes);
}

}  // namespace
}  // namespace sonde::testing
