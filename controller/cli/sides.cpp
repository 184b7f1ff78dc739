#include "sides.h"

#include <cstdio>

#include "fleet/targets.h"
#include "sonde/render/table.h"

namespace sonde::controller {

std::vector<Side> check_sides(const CommandContext& ctx, const char* from_option) {
  std::vector<Side> sides;
  CommandContext local = ctx;
  local.g.via.clear();
  local.target = "local";
  sides.push_back({"local", local});
  if (!ctx.g.via.empty()) {
    CommandContext v = ctx;
    v.target.clear();
    sides.push_back({"via", v});
  }
  if (ctx.vm.count(from_option))
    for (const auto& arg : ctx.vm[from_option].as<std::vector<std::string>>()) {
      // --from takes fleet targets too: web[01-40], a,b,c, @FILE.
      auto many = fleet::expand_target_list(arg);
      for (const auto& f : many ? *many : std::vector<std::string>{arg}) {
        CommandContext t = ctx;
        t.g.via.clear();
        t.target = f;
        sides.push_back({f, t});
      }
    }
  return sides;
}

Error print_side_error(FILE* err, const std::string& label, Error e) {
  if (e.code == errc::kUnknownOp)
    e.hint = "the agent on " + label + " is older than this sonde; deploy the matching one";
  if (e.hint.empty()) e.hint = "check the target with `sonde hello " + label + "`";
  std::fprintf(err, "sonde: error: %s: %s\n  hint: %s\n", render::terminal_safe(label).c_str(),
               render::terminal_safe(e.message).c_str(), render::terminal_safe(e.hint).c_str());
  return e;
}

}  // namespace sonde::controller
