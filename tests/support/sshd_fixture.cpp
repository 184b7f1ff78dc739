#include "sshd_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>

#include <cerrno>
#include <filesystem>

namespace sonde::testing {
namespace {

const char* const kScript = SONDE_SOURCE_DIR "/tests/fixtures/sshd.sh";

}  // namespace

std::unique_ptr<Sshd> Sshd::start(std::string* why_not) {
  auto fail = [&](const std::string& why) -> std::unique_ptr<Sshd> {
    if (why_not) *why_not = why;
    return nullptr;
  };
  char tmpl[] = "/tmp/sonde-sshd-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::string why = std::string("mkdtemp: ") + strerror(errno);
    ADD_FAILURE() << why;
    return fail(why);
  }
  std::string dir = tmpl;
  Run r = run_cmd({"bash", kScript, "start", dir}, {}, 20000);
  if (r.exit_code == 0 && !r.timed_out) {
    try {
      return std::unique_ptr<Sshd>(new Sshd(dir, std::stoi(r.out)));
    } catch (const std::exception&) {
      r.err += "\nsshd.sh printed no port: '" + r.out + "'";
    }
  }
  // Leave nothing running or on disk behind a failed start.
  run_cmd({"bash", kScript, "stop", dir}, {}, 10000);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (r.exit_code == 77) return fail("sshd fixture unavailable: " + trim_end(r.err));
  std::string why = "tests/fixtures/sshd.sh start failed: " + describe(r);
  ADD_FAILURE() << why;
  return fail(why);
}

Sshd::~Sshd() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void Sshd::script(const char* verb) {
  Run r = run_cmd({"bash", kScript, verb, dir_}, {}, 10000);
  if (r.exit_code != 0 || r.timed_out) {
    ADD_FAILURE() << "tests/fixtures/sshd.sh " << verb << " " << dir_ << ": " << describe(r);
  }
}

void Sshd::untrust() {
  script("untrust");
}
void Sshd::trust_other() {
  script("trust-other");
}
void Sshd::trust() {
  script("trust");
}
void Sshd::stop() {
  script("stop");
}

}  // namespace sonde::testing
