// inspect_process on a live fd_holder, checked against /proc and against ss.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <set>
#include <sstream>
#include <tuple>

#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"
#include "sonde/proc/inspect.h"
#include "sonde/proc/text.h"
#include "support/tracee.h"

using namespace sonde;
using namespace sonde::proc;
using sonde::testing::start_tracee;
using sonde::testing::target_path;

namespace {

// (state, local, peer, inode) as ss prints them.
using SsRow = std::tuple<std::string, std::string, std::string, unsigned long long>;

bool have_ss() {
  return ::access("/usr/bin/ss", X_OK) == 0 || ::access("/bin/ss", X_OK) == 0;
}

std::set<SsRow> ss_rows(const std::vector<std::string>& argv, int pid) {
  std::set<SsRow> rows;
  auto r = run_capture(argv, 5000);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().describe();
    return rows;
  }
  std::string needle = "pid=" + std::to_string(pid) + ",";
  std::istringstream in(r->out);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) == std::string::npos) continue;
    auto f = split_ws(line);
    if (f.size() < 5) continue;
    unsigned long long ino = 0;
    for (auto x : f)
      if (x.starts_with("ino:")) ino = to_ull(x.substr(4)).value_or(0);
    rows.emplace(std::string(f[0]), std::string(f[3]), std::string(f[4]), ino);
  }
  return rows;
}

// Our socket in ss's words: ESTAB, and "0.0.0.0:*" for no peer.
SsRow as_ss(const SocketInfo& s) {
  std::string state = s.state == "ESTABLISHED" ? "ESTAB" : s.state;
  std::string peer = s.peer.empty() ? "0.0.0.0:*" : s.peer;
  return {state, s.local, peer, s.inode};
}

std::string dump(const InspectResult& r) {
  return to_json(r).dump(2);
}

class InspectHolder : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sonde-inspect-known-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = tmpl;
    holder_ = start_tracee({target_path("fd_holder"), path_}, &ready_);
    ASSERT_TRUE(ready_.starts_with("READY ")) << ready_;
    std::istringstream in(ready_.substr(6));
    in >> listen_port_ >> client_port_;
    ASSERT_GT(listen_port_, 0);
    ASSERT_GT(client_port_, 0);
  }
  void TearDown() override { ::unlink(path_.c_str()); }

  std::vector<FdEntry> fds_of_kind(const InspectResult& r, const std::string& kind) {
    std::vector<FdEntry> out;
    for (const auto& f : r.fds)
      if (f.kind == kind) out.push_back(f);
    return out;
  }

  std::string path_;
  std::unique_ptr<sonde::testing::Tracee> holder_;
  std::string ready_;  // its READY line
  int listen_port_ = 0, client_port_ = 0;
};

}  // namespace

TEST_F(InspectHolder, IdentityThreadsMemory) {
  ASSERT_TRUE(sonde::testing::wait_all_sleeping(holder_->pid()));
  auto r = inspect_process(holder_->pid(), {});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  const InspectResult& j = *r;
  EXPECT_EQ(j.pid, holder_->pid());
  EXPECT_EQ(j.ppid, ::getpid());
  EXPECT_EQ(j.comm, "fd_holder");
  EXPECT_EQ(j.state, 'S');
  EXPECT_EQ(j.state_name, "sleeping");
  char real[PATH_MAX];
  ASSERT_NE(::realpath(target_path("fd_holder").c_str(), real), nullptr);
  EXPECT_EQ(j.exe, real);
  EXPECT_EQ(j.cmdline, (std::vector<std::string>{target_path("fd_holder"), path_}));
  char cwd[PATH_MAX];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(j.cwd, cwd);
  EXPECT_EQ(j.root, "/");
  ASSERT_TRUE(j.uid && j.gid && j.user && j.start_time);
  EXPECT_EQ(j.uid->real, ::getuid());
  EXPECT_EQ(j.uid->effective, ::geteuid());
  EXPECT_EQ(j.gid->real, ::getgid());
  EXPECT_FALSE(j.user->empty());
  EXPECT_LE(std::llabs(*j.start_time - ::time(nullptr)), 5);

  std::set<std::string> names;
  for (const auto& t : j.threads) {
    names.insert(t.name);
    EXPECT_GT(t.tid, 0);
    EXPECT_EQ(t.state, 'S');
  }
  EXPECT_EQ(names, (std::set<std::string>{"fd_holder", "sonde-worker1", "sonde-worker2"}));
  EXPECT_EQ(j.threads[0].tid, holder_->pid());
  EXPECT_EQ(j.threads_more, 0u);

  const MemoryKb& m = j.memory;
  ASSERT_TRUE(m.rss && m.pss && m.vm_peak && m.vm_size && m.vm_hwm);
  EXPECT_GT(*m.rss, 0u);
  EXPECT_GT(*m.pss, 0u);
  EXPECT_TRUE(m.pss_anon);
  EXPECT_TRUE(m.pss_file);
  EXPECT_TRUE(m.swap);
  EXPECT_GE(*m.vm_peak, *m.vm_size);
  EXPECT_GE(*m.vm_hwm, 1u);

  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  ASSERT_TRUE(j.limits);
  bool found = false;
  for (const auto& l : *j.limits)
    if (l.name == "Max open files") {
      found = true;
      EXPECT_EQ(l.soft, std::to_string(nofile.rlim_cur));
      EXPECT_EQ(l.units, "files");
    }
  EXPECT_TRUE(found) << dump(j);
  EXPECT_EQ(j.limits->size(), 16u);

  auto cg = read_file("/proc/" + std::to_string(holder_->pid()) + "/cgroup");
  ASSERT_TRUE(cg.ok());
  ASSERT_FALSE(j.cgroup.empty());
  EXPECT_EQ(j.cgroup[0] + "\n", cg->substr(0, cg->find('\n') + 1));

  bool net = false;
  for (const auto& n : j.namespaces)
    if (n.type == "net") {
      net = true;
      struct stat s {};
      ASSERT_EQ(::stat("/proc/self/ns/net", &s), 0);
      EXPECT_EQ(n.inode, s.st_ino);
      EXPECT_TRUE(n.same_as_agent);
    }
  EXPECT_TRUE(net);
  EXPECT_FALSE(j.env);
  EXPECT_TRUE(j.notes.empty()) << dump(j);
}

TEST_F(InspectHolder, FilesAndPipes) {
  auto r = inspect_process(holder_->pid(), {});
  ASSERT_TRUE(r.ok());
  auto files = fds_of_kind(*r, "file");
  bool known = false;
  for (const auto& f : files)
    if (f.target == path_) {
      known = true;
      EXPECT_GE(f.fd, 3);  // ctest may hand us an extra inherited fd
      EXPECT_EQ(f.flags, "O_RDONLY");
      EXPECT_EQ(f.pos, 0);
    }
  EXPECT_TRUE(known) << dump(*r);
  auto pipes = fds_of_kind(*r, "pipe");
  // Our own stdout pipe is there too; fd_holder's pipe() pair shares one inode.
  std::map<std::string, std::set<std::string>> by_target;
  for (const auto& p : pipes) by_target[p.target].insert(p.flags.value_or("?"));
  bool pair = false;
  for (const auto& [t, flags] : by_target)
    if (flags == std::set<std::string>{"O_RDONLY", "O_WRONLY"}) pair = true;
  EXPECT_TRUE(pair) << dump(*r);
  // Every fd agrees with readlink.
  for (const auto& f : r->fds) {
    auto l = read_link("/proc/" + std::to_string(holder_->pid()) + "/fd/" + std::to_string(f.fd));
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(f.target, *l);
  }
}

TEST_F(InspectHolder, TcpSocketsMatchSs) {
  if (!have_ss()) GTEST_SKIP() << "ss (iproute2) not installed";
  auto r = inspect_process(holder_->pid(), {});
  ASSERT_TRUE(r.ok());
  std::set<SsRow> ours;
  for (const auto& f : fds_of_kind(*r, "socket")) {
    ASSERT_TRUE(f.socket) << to_json(f).dump();
    const SocketInfo& s = *f.socket;
    EXPECT_EQ(f.target, "socket:[" + std::to_string(s.inode) + "]");
    if (s.proto == "tcp") ours.insert(as_ss(s));
  }
  auto theirs = ss_rows({"ss", "-tanpe"}, holder_->pid());
  EXPECT_EQ(ours, theirs);
  std::string lp = "127.0.0.1:" + std::to_string(listen_port_),
              cp = "127.0.0.1:" + std::to_string(client_port_);
  std::set<std::tuple<std::string, std::string, std::string>> want = {
      {"LISTEN", lp, "0.0.0.0:*"}, {"ESTAB", cp, lp}, {"ESTAB", lp, cp}};
  std::set<std::tuple<std::string, std::string, std::string>> got;
  for (const auto& [st, l, p, ino] : ours) got.emplace(st, l, p);
  EXPECT_EQ(got, want);
}

TEST_F(InspectHolder, UdpAndUnixSockets) {
  if (!have_ss()) GTEST_SKIP() << "ss (iproute2) not installed";
  auto r = inspect_process(holder_->pid(), {});
  ASSERT_TRUE(r.ok());
  std::set<SsRow> udp;
  std::set<std::string> unix_inodes;
  for (const auto& f : fds_of_kind(*r, "socket")) {
    ASSERT_TRUE(f.socket) << to_json(f).dump();
    const SocketInfo& s = *f.socket;
    if (s.proto == "udp") udp.insert(as_ss(s));
    if (s.proto == "unix") {
      EXPECT_EQ(s.state, "ESTABLISHED");
      EXPECT_EQ(s.type, "stream");
      unix_inodes.insert(std::to_string(s.inode));
    }
  }
  ASSERT_EQ(udp.size(), 1u);
  EXPECT_EQ(std::get<0>(*udp.begin()), "UNCONN");
  EXPECT_TRUE(std::get<1>(*udp.begin()).starts_with("127.0.0.1:"));
  EXPECT_EQ(udp, ss_rows({"ss", "-uanpe"}, holder_->pid()));

  // ss -x prints "u_str ESTAB 0 0 * <inode> * <peer inode>".
  std::set<std::string> ss_unix;
  auto out = run_capture({"ss", "-xanp"}, 5000);
  ASSERT_TRUE(out.ok());
  std::istringstream in(out->out);
  for (std::string line; std::getline(in, line);) {
    if (line.find("pid=" + std::to_string(holder_->pid()) + ",") == std::string::npos) continue;
    auto f = split_ws(line);
    ASSERT_GE(f.size(), 6u);
    EXPECT_EQ(f[1], "ESTAB");
    ss_unix.insert(std::string(f[5]));
  }
  EXPECT_EQ(unix_inodes, ss_unix);
  EXPECT_EQ(unix_inodes.size(), 2u);
}

TEST_F(InspectHolder, EnvOnlyWhenAsked) {
  InspectOptions o;
  o.env = true;
  auto r = inspect_process(holder_->pid(), o);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->env);
  bool secret = false;
  for (const auto& e : *r->env) secret |= e == "SONDE_SECRET=hunter2";
  EXPECT_TRUE(secret);
  auto plain = inspect_process(holder_->pid(), {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->env);
  EXPECT_EQ(to_json(*plain).dump().find("hunter2"), std::string::npos);
}

TEST(Inspect, UnknownPidIsNotFound) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  auto r = inspect_process(child, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kNotFound);
  EXPECT_EQ(r.error().message, "no process " + std::to_string(child));
  EXPECT_EQ(r.error().hint, "list processes with `sonde ps TARGET`");

  auto neg = inspect_process(-1, {});
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.error().code, errc::kNotFound);
}

TEST(Inspect, UnreadablePartsBecomeNotes) {
  if (::geteuid() != 0) {
    // Already unprivileged: pid 1 belongs to root.
    auto r = inspect_process(1, {});
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->notes.empty());
    return;
  }
  // Drop to nobody in a child and inspect ourselves (root) from there.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(p[0]);
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(2);
    auto r = inspect_process(parent, {});
    std::string out = r.ok() ? to_json(*r).dump() : "ERROR " + r.error().message;
    (void)write_all(p[1], out);
    ::_exit(0);
  }
  ::close(p[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    auto ready = wait_readable(p[0], 5000);
    ASSERT_TRUE(ready.ok() && *ready) << "child did not answer";
    auto n = read_some(p[0], buf, sizeof buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    text.append(buf, *n);
  }
  ::close(p[0]);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  ASSERT_FALSE(text.starts_with("ERROR")) << text;
  auto j = inspect_result_from_json(json::parse(text));
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ(j->pid, parent);
  EXPECT_FALSE(j->threads.empty());
  std::string notes = json(j->notes).dump();
  EXPECT_NE(notes.find("exe"), std::string::npos) << notes;
  // No fd list at all, and why: not an empty one.
  EXPECT_TRUE(j->fds.empty());
  ASSERT_TRUE(j->fds_error.has_value()) << text;
  const std::string why = "permission denied on pid " + std::to_string(parent) +
                          ": it runs as root (uid 0), the agent as nobody (uid 65534)";
  EXPECT_EQ(*j->fds_error, why) << text;
  ASSERT_TRUE(j->denied.has_value()) << text;
  EXPECT_EQ(j->denied->message, why);
  EXPECT_NE(j->denied->hint.find("--sudo"), std::string::npos) << j->denied->hint;
  EXPECT_NE(std::find(j->denied->parts.begin(), j->denied->parts.end(), "open files"),
            j->denied->parts.end())
      << text;
  EXPECT_NE(std::find(j->denied->parts.begin(), j->denied->parts.end(), "exe"),
            j->denied->parts.end())
      << text;
  EXPECT_FALSE(json::parse(text).contains("fds")) << text;
}

TEST(Inspect, KernelThread) {
  auto r = inspect_process(2, {});
  if (!r.ok() || r->comm != "kthreadd") GTEST_SKIP() << "pid 2 is not kthreadd here";
  EXPECT_FALSE(r->exe);
  EXPECT_TRUE(r->cmdline.empty());
  EXPECT_EQ(r->ppid, 0);
}
