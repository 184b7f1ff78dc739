// `ps`: the process table with %CPU measured over a short interval.
#include "sonde/proc/ps.h"
#include "../handler.h"

namespace sonde::agent {

void register_ps(Registry& reg) {
  reg["ps"] = [](RequestContext& ctx) -> Result<json> {
    proc::PsOptions o;
    auto user = arg_string(ctx.args, "user", "");
    auto name = arg_string(ctx.args, "name", "");
    auto sort = arg_string(ctx.args, "sort", "cpu");
    auto interval = arg_int(ctx.args, "interval_ms", 100);
    auto limit = arg_int(ctx.args, "limit", 0);
    for (const Error* e :
         {user.ok() ? nullptr : &user.error(), name.ok() ? nullptr : &name.error(),
          sort.ok() ? nullptr : &sort.error(), interval.ok() ? nullptr : &interval.error(),
          limit.ok() ? nullptr : &limit.error()})
      if (e) return *e;
    if (*interval < 0 || *interval > 60000)
      return Error{errc::kBadArgs, "interval must be between 0 and 60s", {}};
    if (*limit < 0) return Error{errc::kBadArgs, "limit must not be negative", {}};
    o.user = *user;
    o.name_regex = *name;
    o.sort = *sort;
    o.interval_ms = *interval;
    o.limit = static_cast<size_t>(*limit);
    if (o.interval_ms > 0) ctx.emit({{"phase", "sampling"}, {"interval_ms", o.interval_ms}});
    return proc::list_processes(o, ctx.cancel);
  };
}

}  // namespace sonde::agent
