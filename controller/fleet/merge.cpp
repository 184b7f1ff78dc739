#include "fleet/merge.h"

#include <functional>
#include <map>

#include "fleet/targets.h"
#include "sonde/common/clock.h"
#include "sonde/common/hello_contract.h"
#include "sonde/jvm/list_contract.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/proc/ps_contract.h"
#include "sonde/profiler/stack_contract.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/render/fleet.h"

namespace sonde::controller::fleet {
namespace {

using Merger = std::function<std::string(const std::vector<const HostRecord*>&, size_t,
                                         const CommandContext&, std::vector<std::string>*)>;

// Each host's result read by `read`; a host whose result does not read is
// named in *skipped.
template <typename T, typename Read>
std::vector<std::pair<std::string, T>> read_all(const std::vector<const HostRecord*>& ok, Read read,
                                                std::vector<std::string>* skipped) {
  std::vector<std::pair<std::string, T>> out;
  for (const HostRecord* r : ok) {
    auto v = read(r->result);
    if (v)
      out.emplace_back(r->host, std::move(*v));
    else
      skipped->push_back(r->host + ": " + v.error().message);
  }
  return out;
}

std::string merge_ps(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                     const CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<proc::PsResult>(ok, proc::ps_result_from_json, skipped);
  std::string sort = ctx.vm.count("sort") ? ctx.vm["sort"].as<std::string>() : "cpu";
  return render::render_ps_fleet(hosts, sort, ctx.terminal_width());
}

std::string merge_hello(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                        const CommandContext& ctx, std::vector<std::string>* skipped) {
  std::vector<render::HelloRow> rows;
  for (const HostRecord* r : ok) {
    auto caps = capabilities_from_json(r->result);
    if (!caps) {
      skipped->push_back(r->host + ": " + caps.error().message);
      continue;
    }
    render::HelloRow row{r->host, std::move(*caps), std::nullopt};
    if (r->result.contains("clock") && r->result["clock"].is_object())
      if (auto c = clock_offset_from_json(r->result["clock"])) row.clock = *c;
    rows.push_back(std::move(row));
  }
  return render::render_hello_fleet(rows, ctx.terminal_width());
}

std::string merge_jvm_list(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                           const CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<jvm::JvmListResult>(ok, jvm::jvm_list_result_from_json, skipped);
  return render::render_jvm_list_fleet(hosts, ctx.terminal_width());
}

std::string merge_trace(const std::vector<const HostRecord*>& ok, size_t total_hosts,
                        const CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<ptrace::TraceResult>(ok, ptrace::trace_result_from_json, skipped);
  const bool by_host = ctx.vm.count("by-host") && ctx.vm["by-host"].as<bool>();
  return render::render_trace_fleet(hosts, total_hosts, by_host, ctx.terminal_width());
}

std::string merge_inspect(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                          const CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<proc::InspectResult>(ok, proc::inspect_result_from_json, skipped);
  return render::render_inspect_fleet(hosts, ctx.terminal_width());
}

std::string merge_stack(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                        const CommandContext& /*ctx*/, std::vector<std::string>* skipped) {
  auto hosts = read_all<profiler::StackDump>(ok, profiler::stack_result_from_json, skipped);
  return render::render_stack_fleet(hosts, compress_hosts);
}

const std::map<std::string, Merger>& mergers() {
  static const std::map<std::string, Merger> m = {
      {"ps", merge_ps},       {"hello", merge_hello}, {"jvm list", merge_jvm_list},
      {"trace", merge_trace}, {"stack", merge_stack}, {"inspect", merge_inspect},
  };
  return m;
}

}  // namespace

bool has_merger(const std::string& command, const po::variables_map& vm) {
  if (command == "trace") return vm.count("summary-only") && vm["summary-only"].as<bool>();
  // --env is per host: each host's text, grouped, rather than a table without it.
  if (command == "inspect") return !(vm.count("env") && vm["env"].as<bool>());
  return mergers().count(command) > 0;
}

std::optional<std::string> merge_text(const std::string& command,
                                      const std::vector<const HostRecord*>& ok, size_t total_hosts,
                                      const CommandContext& ctx,
                                      std::vector<std::string>* skipped) {
  auto it = mergers().find(command);
  if (it == mergers().end()) return std::nullopt;
  // Results that are not one JSON object each (a trace's events) stay text.
  for (const HostRecord* r : ok)
    if (!r->result.is_object()) return std::nullopt;
  return it->second(ok, total_hosts, ctx, skipped);
}

}  // namespace sonde::controller::fleet
