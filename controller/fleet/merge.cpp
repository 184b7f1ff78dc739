#include "fleet/merge.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <set>

#include "fleet/targets.h"
#include "sonde/common/clock.h"
#include "sonde/common/hello_contract.h"
#include "sonde/common/io.h"
#include "sonde/jvm/list_contract.h"
#include "sonde/net/capture_contract.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/proc/ps_contract.h"
#include "sonde/profiler/export.h"
#include "sonde/profiler/fleet_profile.h"
#include "sonde/profiler/profile_contract.h"
#include "sonde/profiler/stack_contract.h"
#include "sonde/ptrace/trace_contract.h"
#include "sonde/render/fleet.h"

namespace sonde::controller::fleet {
namespace {

using Merger = std::function<std::string(const std::vector<const HostRecord*>&, size_t,
                                         CommandContext&, std::vector<std::string>*)>;

// Each host's result read by `read`; a host whose result does not read is
// named in *skipped.
template <typename T, typename Read>
std::vector<std::pair<std::string, T>> read_all(const std::vector<const HostRecord*>& ok, Read read,
                                                std::vector<std::string>* skipped) {
  std::vector<std::pair<std::string, T>> out;
  for (const HostRecord* r : ok) {
    auto v = read(r->result.unpack());
    if (v)
      out.emplace_back(r->host, std::move(*v));
    else
      skipped->push_back(r->host + ": " + v.error().message);
  }
  return out;
}

std::string merge_ps(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                     CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<proc::PsResult>(ok, proc::ps_result_from_json, skipped);
  std::string sort = ctx.vm.count("sort") ? ctx.vm["sort"].as<std::string>() : "cpu";
  return render::render_ps_fleet(hosts, sort, ctx.terminal_width());
}

std::string merge_hello(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                        CommandContext& ctx, std::vector<std::string>* skipped) {
  std::vector<render::HelloRow> rows;
  for (const HostRecord* r : ok) {
    const json res = r->result.unpack();
    auto caps = capabilities_from_json(res);
    if (!caps) {
      skipped->push_back(r->host + ": " + caps.error().message);
      continue;
    }
    render::HelloRow row{r->host, std::move(*caps), std::nullopt};
    if (res.contains("clock") && res["clock"].is_object())
      if (auto c = clock_offset_from_json(res["clock"])) row.clock = *c;
    rows.push_back(std::move(row));
  }
  return render::render_hello_fleet(rows, ctx.terminal_width());
}

std::string merge_jvm_list(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                           CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<jvm::JvmListResult>(ok, jvm::jvm_list_result_from_json, skipped);
  return render::render_jvm_list_fleet(hosts, ctx.terminal_width());
}

std::string merge_trace(const std::vector<const HostRecord*>& ok, size_t total_hosts,
                        CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<ptrace::TraceResult>(ok, ptrace::trace_result_from_json, skipped);
  const bool by_host = ctx.vm.count("by-host") && ctx.vm["by-host"].as<bool>();
  return render::render_trace_fleet(hosts, total_hosts, by_host, ctx.terminal_width());
}

std::string merge_inspect(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                          CommandContext& ctx, std::vector<std::string>* skipped) {
  auto hosts = read_all<proc::InspectResult>(ok, proc::inspect_result_from_json, skipped);
  return render::render_inspect_fleet(hosts, ctx.terminal_width());
}

std::string merge_stack(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                        CommandContext& /*ctx*/, std::vector<std::string>* skipped) {
  auto hosts = read_all<profiler::StackDump>(ok, profiler::stack_result_from_json, skipped);
  return render::render_stack_fleet(hosts, compress_hosts);
}

// The hosts --diff-base names (a list or range, as TARGETS are typed).
Result<std::set<std::string>> diff_base_hosts(const std::string& arg,
                                              const profiler::HostProfiles& hosts) {
  auto names = expand_target_list(arg);
  if (!names) return names.error();
  std::set<std::string> want(names->begin(), names->end()), base;
  for (const auto& [host, p] : hosts)
    if (want.count(host)) base.insert(host);
  if (base.empty())
    return Error{errc::kBadArgs, "--diff-base " + arg + " names none of the hosts profiled",
                 "name hosts of the run, e.g. --diff-base web[01-05]"};
  if (base.size() == hosts.size())
    return Error{errc::kBadArgs, "--diff-base " + arg + " names every host: nothing to compare",
                 "name the hosts that behave as expected; the rest are compared against them"};
  return base;
}

// One flame graph (or pprof, folded...) for every host, written where -o
// says (sonde-profile-fleet.svg by default); --by-host puts each host under
// the root, --diff-base draws the differential graph. The text is the
// per-host lines and the merged top functions, or the biggest changes.
std::string merge_profile(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                          CommandContext& ctx, std::vector<std::string>* skipped) {
  profiler::HostProfiles hosts;
  for (auto& [host, r] :
       read_all<profiler::ProfileResult>(ok, profiler::profile_result_from_json, skipped))
    hosts.emplace_back(host, std::move(r.profile));
  if (hosts.empty()) return {};  // no host was profiled: no graph to write
  const auto& vm = ctx.vm;
  const size_t top = vm.count("top") ? static_cast<size_t>(std::max(0L, vm["top"].as<long>())) : 20;
  std::string out_path = vm.count("output") ? vm["output"].as<std::string>() : "";
  std::string format = vm.count("format") ? vm["format"].as<std::string>() : "";
  const std::string diff = vm.count("diff-base") ? vm["diff-base"].as<std::string>() : "";
  const bool write = !out_path.empty() || !format.empty() || !ctx.g.json;
  std::string view, note;
  std::string bytes;
  auto kind = profiler::output_format(out_path, format);
  if (!kind) return "sonde: " + kind.error().message + "\n";
  if (!diff.empty()) {
    auto base = diff_base_hosts(diff, hosts);
    if (!base) {
      skipped->push_back("--diff-base: " + base.error().message + " (" + base.error().hint + ")");
      return {};
    }
    auto sides = profiler::diff_sides(hosts, *base);
    if (sides.base_hosts.empty() || sides.target_hosts.empty()) {
      skipped->push_back(
          fmt::format("--diff-base: no samples on {}: nothing to compare",
                      sides.base_hosts.empty() ? "the base hosts" : "the other hosts"));
      return {};
    }
    view = render::render_profile_diff(sides, top, compress_hosts);
    profiler::SvgOptions so;
    so.title = fmt::format("{} against {} (base), each host weighed the same",
                           compress_hosts(sides.target_hosts), compress_hosts(sides.base_hosts));
    if (*kind == profiler::ExportFormat::kSvg)
      bytes = profiler::export_diff_svg(sides.base, sides.target, so);
    else if (*kind == profiler::ExportFormat::kFolded)
      bytes = profiler::export_diff_folded(sides.base, sides.target);
    else
      note = "--diff-base writes svg or folded (two counts per line); no file written";
  } else {
    auto merged = profiler::merge_host_profiles(hosts);
    view = render::render_profile_fleet(hosts, merged, top, compress_hosts);
    std::vector<std::string> names;
    for (const auto& [h, p] : hosts) names.push_back(h);
    profiler::SvgOptions so;
    so.title = fmt::format("{} profile of {} ({} hosts)", merged.mode, compress_hosts(names),
                           hosts.size());
    so.subtitle = fmt::format("{} samples{}", merged.samples,
                              merged.hz ? fmt::format(" at {} Hz", merged.hz) : std::string());
    so.host_frame = vm.count("by-host") && vm["by-host"].as<bool>();
    auto b = profiler::export_profile(merged, *kind, so);
    if (b)
      bytes = std::move(*b);
    else
      note = b.error().message;
  }
  if (write && note.empty()) {
    if (out_path.empty())
      out_path = fmt::format("sonde-profile-fleet.{}", profiler::export_extension(*kind));
    if (auto st = write_file(out_path, bytes, "check the -o path"); !st) {
      note = st.error().message;
    } else {
      std::fprintf(ctx.err, "sonde: wrote %s (%s, %zu hosts)\n", out_path.c_str(),
                   profiler::export_format_name(*kind), hosts.size());
      ctx.written.push_back(out_path);
    }
  }
  if (!note.empty()) std::fprintf(ctx.err, "sonde: %s\n", note.c_str());
  return view;
}

// Per-host pcaps (-w gives each host its own name) and one summary: each
// host's counts, then flows and DNS names merged across hosts.
std::string merge_capture(const std::vector<const HostRecord*>& ok, size_t /*total_hosts*/,
                          CommandContext& ctx, std::vector<std::string>* skipped) {
  std::vector<render::CaptureHost> hosts;
  for (const HostRecord* r : ok) {
    const json res = r->result.unpack();
    auto c = net::capture_result_from_json(res);
    if (!c) {
      skipped->push_back(r->host + ": " + c.error().message);
      continue;
    }
    std::string file;
    if (auto it = res.find("file"); it != res.end() && it->is_string()) file = *it;
    hosts.push_back({r->host, std::move(*c), std::move(file), r->clock});
  }
  long flows = ctx.vm.count("flows") ? ctx.vm["flows"].as<long>() : 20;
  return render::render_capture_fleet(hosts, static_cast<size_t>(std::max(1L, flows)));
}

// trace without -c: each host's events (the JSON lines it printed) in one
// stream on this machine's clock.
std::optional<std::string> merge_trace_events(const std::vector<const HostRecord*>& ok,
                                              CommandContext& ctx) {
  std::vector<render::HostEvents> hosts;
  for (const HostRecord* r : ok) {
    render::HostEvents h{r->host, {}, r->clock};
    if (r->result.has_value()) {  // no event, only the summary
      hosts.push_back(std::move(h));
      continue;
    }
    size_t at = 0;
    const std::string& text = r->output;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      std::string_view line(text.data() + at, nl - at);
      at = nl + 1;
      if (line.empty()) continue;
      json ev = json::parse(line, nullptr, false);
      // Text, not events: each host's output is grouped as it is.
      if (!ev.is_object()) return std::nullopt;
      // The last line is the summary (no event type): not a line of the trace.
      if (ev.contains("type")) h.events.push_back(std::move(ev));
    }
    hosts.push_back(std::move(h));
  }
  render::TraceLineOptions lo;
  const auto& vm = ctx.vm;
  if (vm.count("absolute-timestamps")) lo.timestamps = vm["absolute-timestamps"].as<int>();
  lo.durations = vm.count("syscall-times") && vm["syscall-times"].as<bool>();
  lo.always_pid = vm.count("follow-forks") && vm["follow-forks"].as<int>() > 0;
  return render::render_trace_fleet_events(hosts, lo, compress_hosts);
}

const std::map<std::string, Merger>& mergers() {
  static const std::map<std::string, Merger> m = {
      {"ps", merge_ps},           {"hello", merge_hello},     {"jvm list", merge_jvm_list},
      {"trace", merge_trace},     {"stack", merge_stack},     {"inspect", merge_inspect},
      {"profile", merge_profile}, {"capture", merge_capture},
  };
  return m;
}

}  // namespace

bool has_merger(const std::string& command, const po::variables_map& vm) {
  // trace: the -c tables, or the events in one stream (not when -o sends
  // each host's trace to its own file).
  if (command == "trace")
    return (vm.count("summary-only") && vm["summary-only"].as<bool>()) || !vm.count("output");
  // --env is per host: each host's text, grouped, rather than a table without it.
  if (command == "inspect") return !(vm.count("env") && vm["env"].as<bool>());
  return mergers().count(command) > 0;
}

bool merges_output(const std::string& command) {
  return command == "profile";
}

std::optional<std::string> merge_text(const std::string& command,
                                      const std::vector<const HostRecord*>& ok, size_t total_hosts,
                                      CommandContext& ctx, std::vector<std::string>* skipped) {
  auto it = mergers().find(command);
  if (it == mergers().end()) return std::nullopt;
  bool objects = true;
  for (const HostRecord* r : ok) objects = objects && r->result.is_object();
  // A trace's events are JSON lines, not one object: one stream, unless
  // they are not JSON at all (each host's own -o file, its text). A run
  // without -c whose hosts saw no event printed only the summary object:
  // still a stream (an empty one), not -c's tables. (`sonde merge` has no
  // -c to go by: the shape tells.)
  const bool counts_asked = ctx.vm.count("summary-only") && ctx.vm["summary-only"].as<bool>();
  if (command == "trace" && (!objects || (ctx.vm.count("summary-only") && !counts_asked)))
    return merge_trace_events(ok, ctx);
  // Results that are not one JSON object each stay text.
  if (!objects) return std::nullopt;
  return it->second(ok, total_hosts, ctx, skipped);
}

}  // namespace sonde::controller::fleet
