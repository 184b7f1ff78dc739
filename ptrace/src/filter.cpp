// -e trace= expressions, spelled as strace spells them: names and %classes
// (or classes without the %, strace's older spelling), comma-separated, a leading `!` negating the
// whole set, `all`, `none`.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "sonde/ptrace/tracer.h"

namespace sonde::ptrace {

Result<std::vector<bool>> parse_trace_filter(std::string_view expr) {
  const size_t n = static_cast<size_t>(syscall_table_size());
  bool negate = false;
  if (!expr.empty() && expr[0] == '!') {
    negate = true;
    expr.remove_prefix(1);
  }
  std::vector<bool> set(n, false);
  if (expr.empty()) {
    return Error{
        errc::kBadArgs, "empty -e trace= expression",
        "give syscall names or classes, e.g. -e trace=openat,connect or -e trace=%network"};
  }
  size_t pos = 0;
  while (pos <= expr.size()) {
    size_t comma = expr.find(',', pos);
    if (comma == std::string_view::npos) comma = expr.size();
    std::string_view tok = expr.substr(pos, comma - pos);
    pos = comma + 1;
    if (tok.empty()) {
      return Error{errc::kBadArgs, fmt::format("empty name in -e trace={}", expr),
                   "separate names with single commas: -e trace=open,openat"};
    }
    if (tok == "all") {
      set.assign(n, true);
    } else if (tok == "none") {
      // Contributes nothing: "none" alone traces nothing.
    } else if (tok[0] == '%' || (!syscall_number(tok) && class_from_name(tok))) {
      // strace's older spelling names a class without the %: trace=file.
      auto cls = class_from_name(tok[0] == '%' ? tok.substr(1) : tok);
      if (!cls) {
        return Error{errc::kBadArgs, fmt::format("unknown syscall class `{}` in -e trace=", tok),
                     "classes are %file %network (%net) %process %memory %signal %desc %ipc"};
      }
      for (size_t nr = 0; nr < n; ++nr)
        if (syscall_classes(static_cast<long>(nr)) & *cls) set[nr] = true;
    } else {
      auto nr = syscall_number(tok);
      if (!nr) {
        return Error{errc::kBadArgs, fmt::format("unknown syscall `{}` in -e trace=", tok),
                     "use syscall names as in `strace -e trace=`, e.g. openat,connect, or a class: "
                     "%file %network (%net) %process %memory %signal %desc %ipc"};
      }
      set[static_cast<size_t>(*nr)] = true;
    }
    if (comma == expr.size()) break;
  }
  if (negate) set.flip();
  return set;
}

}  // namespace sonde::ptrace
