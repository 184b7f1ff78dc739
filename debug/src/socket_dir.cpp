#include "socket_dir.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sonde/common/untrusted.h"
#include "sonde/proc/stat.h"

namespace sonde::debug {
namespace {

// Who may connect to the socket. Under --sudo the agent is root but sshd
// opens the streamlocal channel as the login user (and `local` connects as
// the controller's user), who could sudo anyway. SUDO_UID is honoured only
// when the controller says it ran us through sudo: a root shell may carry
// a stale one.
void socket_owner(bool via_sudo, uid_t* uid, gid_t* gid) {
  *uid = ::geteuid();
  *gid = ::getegid();
  if (*uid != 0 || !via_sudo) return;
  const char* u = std::getenv("SUDO_UID");
  const char* g = std::getenv("SUDO_GID");
  if (!u || !g) return;
  char* end = nullptr;
  unsigned long uv = std::strtoul(u, &end, 10);
  if (!*u || *end) return;
  unsigned long gv = std::strtoul(g, &end, 10);
  if (!*g || *end) return;
  *uid = static_cast<uid_t>(uv);
  *gid = static_cast<gid_t>(gv);
}

// $XDG_RUNTIME_DIR when it is a directory of ours that nobody else may
// write; /tmp otherwise (mkdtemp is safe in a sticky directory).
std::string socket_base() {
  const char* x = std::getenv("XDG_RUNTIME_DIR");
  struct stat st {};
  if (x && x[0] == '/' && ::stat(x, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
      (st.st_mode & 022) == 0 && std::strlen(x) < 60)
    return x;
  return "/tmp";
}

}  // namespace

char process_state(pid_t pid) {
  auto st = proc::read_stat(fmt::format("/proc/{}/stat", pid));
  return st ? st->state : '?';
}

void remove_debug_socket_dir(const std::string& dir) {
  if (!dir.empty()) (void)remove_private_dir(dir);
}

Result<ScopedFd> SocketDir::listen(bool via_sudo) {
  std::string tmpl = socket_base() + "/sonde-gdb-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    return errno_error("mkdtemp " + tmpl, errno,
                       "the agent needs a writable /tmp (or $XDG_RUNTIME_DIR) on the target");
  d_.dir = tmpl;  // 0700 from mkdtemp, whatever the umask
  // The watchdog removes the folder and its socket if the agent dies. (Its
  // name exists only now: a death before this line leaves an empty 0700
  // folder behind.)
  auto reg = undo::register_change(undo::kFile, 0, {{"path", d_.dir}});
  if (!reg) {
    remove();
    return reg.error();
  }
  undo_ = std::move(*reg);
  d_.path = d_.dir + "/gdb.sock";
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (d_.path.size() >= sizeof a.sun_path)
    return Error{errc::kInternal, "socket path too long: " + d_.path, {}};
  std::memcpy(a.sun_path, d_.path.c_str(), d_.path.size() + 1);
  ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno_error("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return errno_error("bind " + d_.path);
  // The directory already keeps everyone else out; the socket's own mode
  // (from the umask at bind) is narrowed too.
  if (::chmod(d_.path.c_str(), 0600) != 0) return errno_error("chmod " + d_.path);
  uid_t uid;
  gid_t gid;
  socket_owner(via_sudo, &uid, &gid);
  if (uid != ::geteuid() &&
      (::chown(d_.path.c_str(), uid, gid) != 0 || ::chown(d_.dir.c_str(), uid, gid) != 0))
    return errno_error("chown " + d_.dir);
  if (::listen(fd.get(), 1) != 0) return errno_error("listen");
  return fd;
}

}  // namespace sonde::debug
