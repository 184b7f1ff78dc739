#include "ssh_connection.h"

#include <unistd.h>

#include <cstdlib>

#include "sonde/proc/environ.h"

namespace sonde::agent {

std::string ssh_connection() {
  if (const char* v = std::getenv("SSH_CONNECTION"); v && *v) return v;
  return proc::ancestor_environ_value(::getppid(), "SSH_CONNECTION", 6).value_or("");
}

}  // namespace sonde::agent
