// sonde-agent: runs on the target host, speaks the framed protocol on
// stdin/stdout. Logs go to stderr only.
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "server.h"
#include "sonde/common/io.h"
#include "sonde/common/log.h"
#include "sonde/common/protocol.h"
#include "sonde/common/sha256.h"
#include "sonde/common/undo.h"
#include "sonde/net/fault_host.h"
#include "watchdog.h"

namespace {

void usage(FILE* f) {
  std::fprintf(f,
               "usage: sonde-agent serve [-v]   speak the sonde protocol on stdin/stdout\n"
               "       sonde-agent self-hash    print the sha256 of this binary\n"
               "       sonde-agent --version\n"
               "The controller (`sonde`) starts this program; you rarely run it by hand.\n");
}

int serve(int verbosity) {
  // First, while this is the only thread: the watchdog is a fork of us, and
  // it must not hold the protocol fd below or any thread's state.
  sonde::agent::start_watchdog();
  sonde::setup_logging("sonde-agent", verbosity);
  if (!sonde::undo::connected())
    spdlog::warn("no undo watchdog: sonde will refuse to change any process on this host");
  // Network faults whose agent and watchdog both died (a reboot clears
  // /run, so only a kill of both) are still in place: take them out now.
  for (const auto& line : sonde::net::replay_fault_records())
    spdlog::warn("undo record replayed: {}", line);
  // Frames go through stdout; a stray printf from anywhere would corrupt the
  // stream, so move the protocol to a private fd and point stdout at stderr.
  int out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);  // CLOEXEC: commands we launch must not inherit it
  if (out < 0 || ::dup2(2, 1) < 0) {
    spdlog::error("dup stdout: {}", std::strerror(errno));
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  // Block before any worker thread exists so every thread inherits the mask
  // and the signals arrive only through the signalfd.
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  sonde::agent::Server server(0, out, sfd);
  int code = server.run();
  // Detached workers may still be unwinding: do not run static destructors
  // under them.
  ::_exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "serve") {
    int verbosity = 0;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "-v") == 0)
        ++verbosity;
      else if (std::strcmp(argv[i], "-vv") == 0)
        verbosity += 2;
      else {
        std::fprintf(stderr, "sonde-agent: unknown option %s\n", argv[i]);
        return 2;
      }
    }
    return serve(verbosity);
  }
  if (cmd == "self-hash") {
    auto h = sonde::sha256_file_hex("/proc/self/exe");
    if (!h) {
      std::fprintf(stderr, "sonde-agent: %s\n", h.error().message.c_str());
      return 1;
    }
    std::printf("%s\n", h->c_str());
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("sonde-agent %s (protocol %d)\n", sonde::kSondeVersion, sonde::kProtocolVersion);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "sonde-agent: unknown command `%s`\n", cmd.c_str());
  usage(stderr);
  return 2;
}
