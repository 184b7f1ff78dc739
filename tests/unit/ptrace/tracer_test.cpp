// The tracer engine against real tracees: counts, launch and attach, detach
// on every path with the target left running, signals and job control
// behaving as if untraced, and the errors for bad targets.
#include "sonde/ptrace/tracer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"

namespace sonde::ptrace {
namespace {

// trace() with a ring whose events a reader thread collects, as JSON (the
// wire form), the way the agent's sender does.
Result<json> trace_collecting(const TraceOptions& o, CancelToken& cancel, std::vector<json>& out) {
  EventRing ring;
  std::thread reader([&] {
    while (ring.take([&](TraceEvent& e) { out.push_back(to_json(e)); })) {
    }
  });
  auto r = trace(o, cancel, &ring);
  ring.close();
  reader.join();
  return r;
}

const std::string kLoop = std::string(SONDE_TARGETS_DIR) + "/syscall_loop";

// A child test program with its first line read.
struct Tracee {
  Child child;
  std::string line;
  pid_t pid() const { return child.pid(); }
  std::string next_line(int timeout_ms = 5000) {
    std::string l;
    char ch;
    long waited = 0;
    while (waited < timeout_ms) {
      auto r = wait_readable(child.out().get(), 50);
      if (!r.ok()) break;
      if (!*r) {
        waited += 50;
        continue;
      }
      if (::read(child.out().get(), &ch, 1) != 1 || ch == '\n') break;
      l += ch;
    }
    return l;
  }
};

Tracee start(const std::vector<std::string>& argv) {
  SpawnOptions o;
  o.pipe_stdin = false;
  auto c = spawn(argv, o);
  EXPECT_TRUE(c.ok());
  Tracee t{std::move(*c), ""};
  t.line = t.next_line();
  return t;
}

std::string proc_status_field(pid_t pid, const char* field) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!s.ok()) return "";
  auto p = s->find(field);
  if (p == std::string::npos) return "";
  auto e = s->find('\n', p);
  std::string v = s->substr(p + std::strlen(field), e - p - std::strlen(field));
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

uint64_t calls_of(const json& summary, const std::string& name) {
  for (const auto& s : summary["syscalls"])
    if (s["name"] == name) return s["calls"].get<uint64_t>();
  return 0;
}

TEST(Tracer, LaunchCountsExactlyWhatTheProgramDid) {
  TraceOptions o;
  o.launch_argv = {kLoop, "getppid", "5000"};
  o.summary_only = true;
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(calls_of(*r, "getppid"), 5000u);
  EXPECT_EQ((*r)["exit_code"], 0);
  EXPECT_EQ((*r)["mode"], "launch");
  // The first syscall shown is the command's execve, not our setup.
  EXPECT_EQ(calls_of(*r, "execve"), 1u);
}

TEST(Tracer, LaunchWithAFilterUsesSeccompAndStillCountsExactly) {
  TraceOptions o;
  o.launch_argv = {kLoop, "rw", "2000"};
  auto f = parse_trace_filter("write");
  ASSERT_TRUE(f.ok());
  o.syscalls = *f;
  o.summary_only = true;
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE((*r)["seccomp"].get<bool>());
  // 2000 one-byte writes plus the final "DONE" line.
  EXPECT_EQ(calls_of(*r, "write"), 2001u);
  EXPECT_EQ(calls_of(*r, "read"), 0u);
}

TEST(Tracer, LiveEventsCarryDecodedSyscalls) {
  TraceOptions o;
  o.launch_argv = {"cat", "/etc/hostname"};
  auto f = parse_trace_filter("openat,read");
  ASSERT_TRUE(f.ok());
  o.syscalls = *f;
  std::vector<json> events;
  CancelToken cancel;
  auto r = trace_collecting(o, cancel, events);
  ASSERT_TRUE(r.ok()) << r.error().message;
  bool saw_open = false;
  for (const auto& e : events) {
    if (e["type"] != "syscall") continue;
    EXPECT_TRUE(e["name"] == "openat" || e["name"] == "read") << e.dump();
    if (e["name"] == "openat" &&
        e["args_text"].get<std::string>().find("\"/etc/hostname\"") != std::string::npos) {
      saw_open = true;
      EXPECT_GE(e["ret"].get<long>(), 0);
    }
  }
  EXPECT_TRUE(saw_open);
}

TEST(Tracer, MissingCommandIsAClearError) {
  TraceOptions o;
  o.launch_argv = {"/nonexistent/sonde-no-such-program"};
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kNotFound);
}

TEST(Tracer, AttachForADurationThenDetachLeavesTheTargetRunning) {
  Tracee t = start({kLoop, "sleeper", "30"});
  ASSERT_EQ(t.line, "READY");
  TraceOptions o;
  o.attach_pids = {t.pid()};
  o.duration_ms = 500;
  o.summary_only = true;
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["stopped"], "duration");
  EXPECT_GE(calls_of(*r, "clock_nanosleep") + calls_of(*r, "nanosleep"), 2u) << r->dump();
  EXPECT_EQ(proc_status_field(t.pid(), "TracerPid:"), "0");
  // Still ticking after we left.
  std::string a = t.next_line(), b = t.next_line();
  EXPECT_EQ(a.rfind("TICK", 0), 0u) << a;
  EXPECT_EQ(b.rfind("TICK", 0), 0u) << b;
  t.child.kill(SIGKILL);
}

TEST(Tracer, CancelDetachesPromptly) {
  Tracee t = start({kLoop, "sleeper", "30"});
  ASSERT_EQ(t.line, "READY");
  TraceOptions o;
  o.attach_pids = {t.pid()};
  CancelToken cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.cancel();
  });
  std::vector<json> ignored;
  auto r = trace_collecting(o, cancel, ignored);
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["stopped"], "cancelled");
  EXPECT_EQ(proc_status_field(t.pid(), "TracerPid:"), "0");
  EXPECT_EQ(t.next_line().rfind("TICK", 0), 0u);
  t.child.kill(SIGKILL);
}

TEST(Tracer, SignalsAreDeliveredUnchanged) {
  Tracee t = start({kLoop, "signals"});
  ASSERT_EQ(t.line, "READY");
  TraceOptions o;
  o.attach_pids = {t.pid()};
  std::vector<json> events;
  CancelToken cancel;
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (int i = 0; i < 5; ++i) {
      ::kill(t.pid(), SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    ::kill(t.pid(), SIGUSR2);
  });
  auto r = trace_collecting(o, cancel, events);
  sender.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(t.next_line(), "USR1 5");
  int usr1 = 0;
  for (const auto& e : events)
    if (e["type"] == "signal" && e["sig"] == "SIGUSR1") ++usr1;
  EXPECT_EQ(usr1, 5);
  EXPECT_EQ(r->value("stopped", ""), "exited");
}

TEST(Tracer, JobControlStopsAndContinuesAsUntraced) {
  Tracee t = start({kLoop, "sleeper", "30"});
  ASSERT_EQ(t.line, "READY");
  TraceOptions o;
  o.attach_pids = {t.pid()};
  o.summary_only = true;
  CancelToken cancel;
  std::string state_stopped, state_after;
  std::thread ctl([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(t.pid(), SIGSTOP);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    state_stopped = proc_status_field(t.pid(), "State:");
    ::kill(t.pid(), SIGCONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.cancel();
  });
  auto r = trace(o, cancel, nullptr);
  ctl.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Stopped by its own SIGSTOP (under ptrace, group-stop shows as t).
  EXPECT_TRUE(state_stopped.rfind("T", 0) == 0 || state_stopped.rfind("t", 0) == 0)
      << "state while stopped: " << state_stopped;
  // And running again after SIGCONT, and after we left.
  EXPECT_EQ(t.next_line().rfind("TICK", 0), 0u);
  EXPECT_EQ(proc_status_field(t.pid(), "TracerPid:"), "0");
  t.child.kill(SIGKILL);
}

TEST(Tracer, UnknownPidIsNotFound) {
  TraceOptions o;
  o.attach_pids = {999999999};
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kNotFound);
  EXPECT_FALSE(r.error().hint.empty());
}

TEST(Tracer, AlreadyTracedProcessIsRefusedNamingTheTracer) {
  Tracee t = start({kLoop, "sleeper", "30"});
  ASSERT_EQ(t.line, "READY");
  TraceOptions o;
  o.attach_pids = {t.pid()};
  o.summary_only = true;
  CancelToken first_cancel;
  std::atomic<bool> attached{false};
  std::thread first([&] {
    auto r = trace(o, first_cancel, {});
    (void)r;
  });
  // Wait for the first tracer to hold it.
  for (int i = 0; i < 200 && proc_status_field(t.pid(), "TracerPid:") == "0"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  first_cancel.cancel();
  first.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kPermission);
  EXPECT_NE(r.error().message.find("already traced"), std::string::npos) << r.error().message;
  EXPECT_EQ(proc_status_field(t.pid(), "TracerPid:"), "0");
  t.child.kill(SIGKILL);
}

}  // namespace
}  // namespace sonde::ptrace

namespace sonde::ptrace {
namespace {

std::string allowed_cpus(pid_t pid) {
  return proc_status_field(pid, "Cpus_allowed_list:");
}

TEST(TracerColocate, PinsWhileTracingAndRestoresAffinityAfter) {
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs 2 CPUs to see a pin";
  Tracee t = start({kLoop, "sleeper", "30"});
  ASSERT_EQ(t.line, "READY");
  std::string before = allowed_cpus(t.pid());
  TraceOptions o;
  o.attach_pids = {t.pid()};
  o.summary_only = true;
  o.colocate = true;
  CancelToken cancel;
  std::string during;
  std::thread ctl([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    during = allowed_cpus(t.pid());
    cancel.cancel();
  });
  auto r = trace(o, cancel, nullptr);
  ctl.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(during, before);
  EXPECT_EQ(during.find_first_of(",-"), std::string::npos) << "pinned to one CPU: " << during;
  EXPECT_EQ(allowed_cpus(t.pid()), before);
  EXPECT_GT(calls_of(*r, "clock_nanosleep") + calls_of(*r, "nanosleep"), 0u);
  t.child.kill(SIGKILL);
}

TEST(TracerColocate, LaunchModeCountsStayExact) {
  TraceOptions o;
  o.launch_argv = {kLoop, "getppid", "20000"};
  o.summary_only = true;
  o.colocate = true;
  CancelToken cancel;
  auto r = trace(o, cancel, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(calls_of(*r, "getppid"), 20000u);
}

}  // namespace
}  // namespace sonde::ptrace
