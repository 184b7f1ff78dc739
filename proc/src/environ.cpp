#include "sonde/proc/environ.h"

#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/text.h"

namespace sonde::proc {

std::optional<std::string> environ_value(std::string_view environ, std::string_view name) {
  for (auto var : split_char(environ, '\0'))
    if (var.size() > name.size() && var.substr(0, name.size()) == name && var[name.size()] == '=')
      return std::string(var.substr(name.size() + 1));
  return std::nullopt;
}

std::optional<std::string> ancestor_environ_value(pid_t pid, std::string_view name, int max_depth) {
  for (int depth = 0; depth < max_depth && pid > 1; ++depth) {
    const std::string dir = "/proc/" + std::to_string(pid);
    if (auto env = read_file(dir + "/environ", 1 << 20))
      if (auto v = environ_value(*env, name)) return v;
    auto stat = read_stat(dir + "/stat");
    if (!stat) break;
    pid = static_cast<pid_t>(stat->ppid);
  }
  return std::nullopt;
}

}  // namespace sonde::proc
