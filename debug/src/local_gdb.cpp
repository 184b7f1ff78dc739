#include "sonde/debug/local_gdb.h"

#include <fmt/format.h>

namespace sonde::debug {

Status LocalGdb::start(int port, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"gdb", "-q", "-ex",
                                   fmt::format("target remote localhost:{}", port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  SpawnOptions o;
  o.pipe_stdin = o.pipe_stdout = false;  // gdb gets the terminal
  auto c = spawn(argv, o);
  if (!c)
    return Error{errc::kNotFound, "cannot run gdb here: " + c.error().message,
                 "install gdb on this machine (apt-get install gdb), or drop --gdb and "
                 "use the printed line with your own debugger"};
  gdb_ = std::move(*c);
  // gdb has exec'd (posix_spawn returns after the exec) with SIGINT at its
  // default; from now on Ctrl-C is gdb's alone.
  old_ = ::signal(SIGINT, SIG_IGN);
  return ok_status();
}

bool LocalGdb::exited() {
  if (!gdb_.exited() && !gdb_.wait(0)) return false;
  restore();
  return true;
}

LocalGdb::~LocalGdb() {
  if (!gdb_.exited()) {
    gdb_.kill(SIGTERM);
    gdb_.wait(-1);
  }
  restore();
}

void LocalGdb::restore() {
  if (old_ != SIG_ERR) ::signal(SIGINT, old_);
  old_ = SIG_ERR;
}

}  // namespace sonde::debug
