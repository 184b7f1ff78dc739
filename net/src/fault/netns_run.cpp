#include "netns_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/common/subprocess.h"

namespace sonde::net::fault {
namespace {

constexpr size_t kMaxToolOutput = 1 << 20;

bool same_ns(const struct stat& st, const NetnsRef& ns) {
  return static_cast<uint64_t>(st.st_dev) == ns.dev && static_cast<uint64_t>(st.st_ino) == ns.ino;
}

bool path_is(const std::string& path, const NetnsRef& ns) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && same_ns(st, ns);
}

// sudo and a non-login SSH session may leave the sbin directories out of PATH.
std::optional<std::string> find_tool(const std::string& name) {
  if (auto p = find_in_path(name)) return p;
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = dir + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

const char* package_of(const std::string& tool) {
  return tool == "nft" ? "nftables" : "iproute2";
}

// Reads both pipes and feeds stdin until the child closes its ends or the
// deadline passes.
void pump(int in, int out, int err, const std::string& input, ToolRun& r, long deadline) {
  size_t fed = 0;
  ScopedFd in_fd(in);
  if (input.empty()) in_fd.reset();
  bool out_open = true, err_open = true;
  char buf[8192];
  while (out_open || err_open) {
    long left = deadline - monotonic_ms();
    if (left <= 0) return;
    pollfd fds[3] = {{out_open ? out : -1, POLLIN, 0},
                     {err_open ? err : -1, POLLIN, 0},
                     {in_fd.valid() ? in_fd.get() : -1, POLLOUT, 0}};
    int n = ::poll(fds, 3, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t w = ::write(in_fd.get(), input.data() + fed, input.size() - fed);
      if (w > 0) fed += static_cast<size_t>(w);
      if (w < 0 && errno != EINTR && errno != EAGAIN) fed = input.size();
      if (fed >= input.size()) in_fd.reset();
    }
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& s = i == 0 ? r.out : r.err;
      if (s.size() < kMaxToolOutput) s.append(buf, static_cast<size_t>(got));
    }
  }
}

}  // namespace

std::string ToolRun::why() const {
  std::string line = err.substr(0, err.find('\n'));
  if (!line.empty()) return line;
  return exit_code < 0 ? "timed out" : fmt::format("exit {}", exit_code);
}

std::optional<std::string> find_netns(const NetnsRef& ns) {
  if (!ns.path.empty() && path_is(ns.path, ns)) return ns.path;
  if (path_is("/proc/self/ns/net", ns)) return std::string("/proc/self/ns/net");
  for (const char* dir : {"/run/netns", "/proc"}) {
    DIR* d = ::opendir(dir);
    if (!d) continue;
    std::optional<std::string> found;
    bool procs = std::strcmp(dir, "/proc") == 0;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (procs && name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string p = std::string(dir) + "/" + name + (procs ? "/ns/net" : "");
      if (path_is(p, ns)) {
        found = p;
        break;
      }
    }
    ::closedir(d);
    if (found) return found;
  }
  return std::nullopt;
}

Result<ToolRun> run_tool(const NetnsRef& ns, const std::string& tool,
                         const std::vector<std::string>& args, const std::string& input,
                         int timeout_ms, int hold_fd) {
  auto path = find_tool(tool);
  if (!path)
    return Error{errc::kNotFound, fmt::format("`{}` is not installed on the target", tool),
                 fmt::format("install {} there (it has {})", package_of(tool), tool)};
  // Enter the namespace by an fd checked to be it: between the check and
  // setns nothing can swap it.
  ScopedFd nsfd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!nsfd.valid() || ::fstat(nsfd.get(), &st) != 0 || !same_ns(st, ns))
    return Error{errc::kNotFound, fmt::format("{} is gone", ns.what), {}};
  struct stat self {};
  bool enter = !(::stat("/proc/thread-self/ns/net", &self) == 0 && same_ns(self, ns));

  std::vector<std::string> argv_s{*path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string env_path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  std::string env_lang = "LC_ALL=C";
  char* envp[] = {env_path.data(), env_lang.data(), nullptr};

  int in[2], out[2], err[2], status[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd err_r(err[0]), err_w(err[1]);
  // The child reports a failed setns or exec here; a clean exec closes it.
  if (::pipe2(status, O_CLOEXEC) != 0) return errno_error("pipe");
  ScopedFd st_r(status[0]), st_w(status[1]);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    // A tool outliving a killed agent could change the host after the
    // watchdog has undone it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int step = 0;
    if (enter && ::setns(nsfd.get(), CLONE_NEWNET) != 0) step = 1;
    if (step == 0 &&
        (::dup2(in_r.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(err_w.get(), 2) < 0))
      step = 2;
    if (step == 0 && hold_fd >= 0 && ::fcntl(hold_fd, F_SETFD, 0) != 0) step = 2;
    if (step == 0) {
      int keep[] = {st_w.get(), hold_fd};
      reset_child_for_exec(keep, hold_fd >= 0 ? 2 : 1);
      ::execve(argv[0], argv.data(), envp);
      step = 3;
    }
    int report[2] = {step, errno};
    (void)!::write(st_w.get(), report, sizeof report);
    ::_exit(127);
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();
  st_w.reset();
  // Non-blocking: a tool that does not read its stdin must not stall us.
  ::fcntl(in_w.get(), F_SETFL, ::fcntl(in_w.get(), F_GETFL) | O_NONBLOCK);
  ToolRun r;
  long deadline = monotonic_ms() + timeout_ms;
  pump(in_w.release(), out_r.get(), err_r.get(), input, r, deadline);
  int st_code = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &st_code, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (monotonic_ms() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st_code, 0);
      r.exit_code = -1;
      return r;
    }
    ::usleep(2000);
  }
  int report[2] = {0, 0};
  if (::read(st_r.get(), report, sizeof report) == sizeof report) {
    if (report[0] == 1)
      return Error::sys(report[1] == EPERM ? errc::kPermission : code_for_errno(report[1]),
                        report[1],
                        fmt::format("cannot enter {}: {}", ns.what, std::strerror(report[1])),
                        "entering another network namespace needs root (CAP_SYS_ADMIN): rerun "
                        "with --sudo");
    return errno_error(fmt::format("run {}", *path), report[1]);
  }
  r.exit_code = WIFEXITED(st_code) ? WEXITSTATUS(st_code) : -1;
  return r;
}

}  // namespace sonde::net::fault
