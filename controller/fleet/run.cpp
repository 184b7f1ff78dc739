#include "fleet/run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "case/recorder.h"
#include "fleet/inventory.h"
#include "fleet/k8s.h"
#include "fleet/merge.h"
#include "session.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/common/log.h"
#include "sonde/common/subprocess.h"
#include "sonde/render/fleet.h"
#include "sonde/render/table.h"
#include "transport/handshake_gate.h"

namespace sonde::controller::fleet {
namespace {

// sshd's MaxStartups 10:30:100 starts refusing at 10 unauthenticated
// connections: 16 in flight across distinct hosts, 8 through one jump host.
constexpr int kMaxHandshakes = 16;
constexpr int kMaxHandshakesPerJump = 8;

// Commands that hold a terminal or a port open for a person: one host at a
// time.
bool interactive(const std::string& name) {
  static const std::set<std::string> k = {"forward", "debug", "jvm forward", "speed"};
  return k.count(name) > 0;
}

// Options that name an output file: per host, "{host}" in the name becomes
// the host, and a name without it gets ".HOST" before its extension.
const char* const kOutputOptions[] = {"output", "write"};

std::string per_host_path(const std::string& path, const std::string& host) {
  if (path.empty() || path == "-") return path;
  std::string safe = host;
  std::replace(safe.begin(), safe.end(), '/', '_');
  if (auto at = path.find("{host}"); at != std::string::npos)
    return path.substr(0, at) + safe + path.substr(at + 6);
  auto slash = path.rfind('/');
  auto dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == 0)
    return path + "." + safe;
  return path.substr(0, dot) + "." + safe + path.substr(dot);
}

std::string file_name_for(const std::string& host) {
  std::string s;
  for (char c : host)
    s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == '@' || c == ':')
             ? c
             : '_';
  return s.empty() ? "_" : s;
}

HostRecord record_of(HostRun&& h, const std::string& command, bool json_mode) {
  HostRecord r;
  r.host = h.target.name;
  r.target = h.target.connect;
  r.command = command;
  r.ok = h.ok();
  r.failure = failure_name(h.failure);
  r.exit_code = h.exit_code;
  r.error = h.error;
  r.started_ms = h.started_ms;
  r.ended_ms = h.ended_ms;
  r.clock = h.clock;
  r.errors = std::move(h.err);
  if (json_mode && h.result.has_value())
    r.result = std::move(h.result);
  else
    r.output = std::move(h.out);
  return r;
}

Status write_log_dir(const std::string& dir, const std::vector<HostRecord>& records) {
  // Like mkdir -p: a run per group writes under one parent (DIR/GROUP).
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error{errc::kIo, fmt::format("--log-dir {}: {}", dir, ec.message()),
                 "give a directory sonde can create or write"};
  std::ofstream lines(dir + "/hosts.jsonl", std::ios::trunc);
  if (!lines)
    return Error{errc::kIo, fmt::format("cannot write {}/hosts.jsonl", dir), "check --log-dir"};
  for (const auto& r : records) {
    lines << json_text(to_json(r), -1) << "\n";
    std::string base = dir + "/" + file_name_for(r.host);
    std::ofstream(base + ".out", std::ios::trunc)
        << (r.result.has_value() ? json_text(r.result.unpack(), 2) + "\n" : r.output);
    std::ofstream(base + ".err", std::ios::trunc) << r.errors;
  }
  if (!lines.flush()) return Error{errc::kIo, "write failed: " + dir + "/hosts.jsonl", {}};
  return ok_status();
}

// Groups hosts by identical text, the biggest group first.
std::vector<std::pair<std::vector<std::string>, std::string>> group_by_text(
    const std::vector<std::pair<std::string, std::string>>& host_text) {
  std::vector<std::pair<std::vector<std::string>, std::string>> groups;
  std::map<std::string, size_t> index;
  for (const auto& [host, text] : host_text) {
    auto [it, fresh] = index.emplace(text, groups.size());
    if (fresh) groups.push_back({{}, text});
    groups[it->second].first.push_back(host);
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return groups;
}

}  // namespace

bool is_fleet_target(const std::string& target, const FleetOptions& fo) {
  if (!fo.inventory.empty() || !fo.k8s.empty()) return true;
  if (target.empty()) return false;
  if (target[0] == '@') return true;
  // A comma outside brackets, or a bracket holding a range: `web[01-40]`,
  // `db[1,3,5]`. `[::1]:22` (IPv6) is one host.
  int depth = 0;
  for (size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '[') {
      auto close = target.find(']', i);
      if (close != std::string::npos && target.find_first_not_of("0123456789-:,", i + 1) == close &&
          close > i + 1 &&
          target.substr(i + 1, close - i - 1).find_first_of("-,") != std::string::npos)
        return true;
      ++depth;
    } else if (c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      return true;
    }
  }
  return false;
}

json to_json(const HostRecord& r) {
  json j = {{"host", r.host},           {"target", r.target},
            {"command", r.command},     {"ok", r.ok},
            {"exit_code", r.exit_code}, {"started_ms", r.started_ms},
            {"ended_ms", r.ended_ms}};
  j["failure"] = r.failure.empty() ? json(nullptr) : json(r.failure);
  if (r.error) {
    j["error"] = {{"code", r.error->code}, {"message", r.error->message}};
    if (!r.error->hint.empty()) j["error"]["hint"] = r.error->hint;
  } else {
    j["error"] = nullptr;
  }
  j["clock"] = r.clock ? to_json(*r.clock) : json(nullptr);
  j["result"] = r.result.unpack();
  if (!r.output.empty()) j["output"] = r.output;
  if (!r.errors.empty()) j["stderr"] = r.errors;
  return j;
}

Result<HostRecord> host_record_from_json(const json& j) {
  if (!j.is_object()) return Error{errc::kBadArgs, "not a JSON object", {}};
  HostRecord r;
  try {
    r.host = j.at("host").get<std::string>();
    r.target = j.value("target", r.host);
    r.command = j.at("command").get<std::string>();
    r.ok = j.at("ok").get<bool>();
    if (j.contains("failure") && j["failure"].is_string()) r.failure = j["failure"];
    r.exit_code = j.value("exit_code", 0);
    r.started_ms = j.value("started_ms", 0L);
    r.ended_ms = j.value("ended_ms", 0L);
    if (j.contains("error") && j["error"].is_object())
      r.error = Error{j["error"].value("code", std::string(errc::kInternal)),
                      j["error"].value("message", std::string()),
                      j["error"].value("hint", std::string())};
    if (j.contains("clock") && j["clock"].is_object()) {
      auto c = clock_offset_from_json(j["clock"]);
      if (!c) return Error{errc::kBadArgs, "clock: " + c.error().message, {}};
      r.clock = *c;
    }
    if (j.contains("result") && !j["result"].is_null()) r.result = PackedJson::pack(j["result"]);
    r.output = j.value("output", std::string());
    r.errors = j.value("stderr", std::string());
  } catch (const json::exception& e) {
    return Error{errc::kBadArgs, std::string("not a sonde host line: ") + e.what(), {}};
  }
  if (r.host.empty()) return Error{errc::kBadArgs, "a host line with an empty host", {}};
  return r;
}

namespace {

// A fleet run as one case journal entry: every host, the summary by class,
// and the merged view as printed.
void journal_fleet(casefile::FleetJournal& j, const std::vector<HostRecord>& records,
                   const std::map<std::string, std::vector<const HostRecord*>>& by_failure,
                   size_t ok, std::string view) {
  j.hosts.clear();
  for (const auto& r : records) {
    casefile::FleetHostRecord h;
    h.host = r.host;
    h.ok = r.ok;
    h.failure = r.ok ? "" : (r.failure.empty() ? "command error" : r.failure);
    h.exit = r.exit_code;
    if (r.error) h.error = r.error->message.substr(0, r.error->message.find('\n'));
    if (r.clock) {
      h.clock_offset_ns = r.clock->offset_ns;
      h.clock_bound_ns = r.clock->bound_ns;
    }
    j.hosts.push_back(std::move(h));
  }
  j.summary = fmt::format("{} of {} host{} ok, {} failed", ok, records.size(),
                          records.size() == 1 ? "" : "s", records.size() - ok);
  j.figures.clear();
  for (const auto& [cls, hs] : by_failure) {
    std::vector<std::string> names;
    for (const auto* h : hs) names.push_back(h->host);
    j.figures.push_back(fmt::format("{}: {}", cls, compress_hosts(names)));
  }
  j.merged = std::move(view);
}

}  // namespace

int print_fleet(const std::string& command, const std::vector<HostRecord>& records, bool as_json,
                CommandContext& ctx, long wall_ms, bool interrupted) {
  size_t ok = 0;
  std::map<std::string, std::vector<const HostRecord*>> by_failure;
  std::vector<const HostRecord*> good;
  for (const auto& r : records) {
    if (r.ok) {
      ++ok;
      good.push_back(&r);
    } else {
      by_failure[r.failure.empty() ? "command error" : r.failure].push_back(&r);
    }
  }
  int code = interrupted            ? exit_code::kInterrupted
             : ok == records.size() ? exit_code::kOk
             : ok == 0              ? kExitAllFailed
                                    : kExitSomeFailed;
  if (as_json) {
    json hosts = json::array();
    for (const auto& r : records) hosts.push_back(to_json(r));
    json classes = json::object();
    for (const auto& [cls, hs] : by_failure) {
      json names = json::array();
      for (const auto* h : hs) names.push_back(h->host);
      classes[cls] = names;
    }
    ctx.print_json({{"command", command},
                    {"hosts", hosts},
                    {"summary",
                     {{"hosts", records.size()},
                      {"ok", ok},
                      {"failed", records.size() - ok},
                      {"failures", classes},
                      {"wall_ms", wall_ms},
                      {"interrupted", interrupted}}},
                    {"exit_code", code}});
    if (ctx.fleet_journal) journal_fleet(*ctx.fleet_journal, records, by_failure, ok, {});
    // -o still names the merged file (profile's flame graph).
    if (merges_output(command) && (ctx.vm.count("output") || ctx.vm.count("format"))) {
      std::vector<std::string> skipped;
      FILE* keep = ctx.out;
      ctx.out = nullptr;  // the JSON above is the output
      (void)merge_text(command, good, records.size(), ctx, &skipped);
      ctx.out = keep;
      for (const auto& s : skipped)
        std::fprintf(ctx.err, "sonde: left out of the merge: %s\n",
                     render::terminal_safe(s).c_str());
    }
    return code;
  }
  std::vector<std::string> skipped;
  std::string view;
  if (auto merged = merge_text(command, good, records.size(), ctx, &skipped)) {
    view = std::move(*merged);
  } else {
    std::vector<std::pair<std::string, std::string>> texts;
    for (const auto* r : good) texts.emplace_back(r->host, r->output);
    for (const auto& [hosts, text] : group_by_text(texts))
      view += render::render_host_group(compress_hosts(hosts), hosts.size(), text);
  }
  std::fputs(view.c_str(), ctx.out);
  std::fflush(ctx.out);
  // What the hosts that succeeded said on stderr (notes), grouped the same way.
  std::vector<std::pair<std::string, std::string>> notes;
  for (const auto* r : good)
    if (!r->errors.empty()) notes.emplace_back(r->host, r->errors);
  for (const auto& [hosts, text] : group_by_text(notes))
    std::fputs(render::render_host_group(compress_hosts(hosts), hosts.size(), text).c_str(),
               ctx.err);
  for (const auto& s : skipped)
    std::fprintf(ctx.err, "sonde: left out of the merge: %s\n", render::terminal_safe(s).c_str());
  // The summary: every failure class with its hosts and the first error.
  std::fprintf(ctx.err, "sonde: %s: %zu of %zu host%s ok, %zu failed (%.1f s)\n", command.c_str(),
               ok, records.size(), records.size() == 1 ? "" : "s", records.size() - ok,
               static_cast<double>(wall_ms) / 1000.0);
  for (const auto& [cls, hs] : by_failure) {
    std::vector<std::string> names;
    for (const auto* h : hs) names.push_back(h->host);
    std::fprintf(ctx.err, "  %-13s %3zu  %s\n", cls.c_str(), hs.size(),
                 render::terminal_safe(compress_hosts(names)).c_str());
    // The distinct errors of the class, each with how many hosts had it.
    std::vector<std::pair<std::string, std::string>> errs;
    // Their first lines: a changed host key's warning runs to five.
    for (const auto* h : hs) {
      std::string msg = h->error ? h->error->message : "failed";
      msg = msg.substr(0, msg.find('\n'));
      errs.emplace_back(h->host, std::move(msg));
    }
    size_t shown = 0;
    for (const auto& [ehosts, msg] : group_by_text(errs)) {
      if (++shown > 3) {
        std::fprintf(ctx.err, "      ... and other errors (--json or --log-dir has each)\n");
        break;
      }
      std::fprintf(ctx.err, "      %s: %s\n", render::terminal_safe(compress_hosts(ehosts)).c_str(),
                   render::terminal_safe(msg).c_str());
    }
  }
  // Hosts whose clock is far off: their times are moved onto this machine's.
  std::vector<std::string> skewed;
  for (const auto& r : records)
    if (r.clock && std::llabs(r.clock->offset_ns) > kClockWarnNs)
      skewed.push_back(r.host + " " + clock_text(*r.clock));
  if (!skewed.empty() && command != "hello") {
    std::string list;
    for (const auto& s : skewed) list += (list.empty() ? "" : ", ") + s;
    std::fprintf(ctx.err,
                 "sonde: warning: clocks more than %lld ms off this machine's: %s (their times "
                 "are shown on this machine's clock)\n",
                 static_cast<long long>(kClockWarnNs / 1'000'000),
                 render::terminal_safe(list).c_str());
  }
  if (interrupted) {
    std::vector<std::string> unfinished;
    for (const auto& r : records)
      if (r.failure == failure_name(Failure::kInterrupted)) unfinished.push_back(r.host);
    if (!unfinished.empty())
      std::fprintf(ctx.err, "sonde: interrupted; did not finish: %s\n",
                   render::terminal_safe(compress_hosts(unfinished)).c_str());
  }
  if (ctx.fleet_journal)
    journal_fleet(*ctx.fleet_journal, records, by_failure, ok, std::move(view));
  return code;
}

namespace {

// The pods `--k8s` names, listed by kubectl; those not running are noted.
Result<std::vector<FleetTarget>> k8s_targets(const FleetOptions& fo, FILE* err) {
  auto sel = parse_k8s_selector(fo.k8s);
  if (!sel) return sel.error();
  auto argv = k8s_list_argv(*sel);
  auto listed = run_capture(argv, 60000);
  if (!listed)
    return Error{errc::kConnect, "--k8s: cannot run kubectl: " + listed.error().message,
                 "install kubectl and point it at the cluster (KUBECONFIG), or reach pods with "
                 "--via 'kubectl exec -i POD -- /usr/local/bin/sonde-agent serve'"};
  if (listed->exit_code != 0)
    return Error{errc::kConnect,
                 fmt::format("--k8s: kubectl get pods exited with {}", listed->exit_code),
                 "run it by hand to see why: kubectl get pods " +
                     (sel->ns.empty() ? "" : "-n " + sel->ns + " ") + "-l " + sel->selector};
  auto pods = k8s_pods_from_json(
      listed->out, *sel, fo.k8s_agent.empty() ? kK8sAgentPath : fo.k8s_agent, fo.k8s_container);
  if (!pods) return pods.error();
  if (!pods->not_running.empty()) {
    std::string names;
    for (const auto& n : pods->not_running) names += (names.empty() ? "" : ", ") + n;
    std::fprintf(err, "sonde: note: %zu pod%s not running, left out: %s\n",
                 pods->not_running.size(), pods->not_running.size() == 1 ? "" : "s",
                 render::terminal_safe(names).c_str());
  }
  return std::move(pods->targets);
}

}  // namespace

int run_fleet(const CommandSpec& spec, CommandContext& ctx, const FleetOptions& fo) {
  if (interactive(spec.name))
    return ctx.fail(Error{errc::kBadArgs,
                          fmt::format("`sonde {}` runs on one host at a time", spec.name),
                          fmt::format("give one host: sonde {} HOST ...", spec.name)});
  std::optional<Inventory> inventory;
  if (!fo.inventory.empty()) {
    auto inv = Inventory::load(fo.inventory);
    if (!inv) return ctx.fail(inv.error());
    inventory = std::move(*inv);
  }
  Result<std::vector<FleetTarget>> targets = std::vector<FleetTarget>{};
  if (!fo.k8s.empty()) {
    if (!ctx.target.empty() || inventory)
      return ctx.fail(Error{errc::kBadArgs,
                            "--k8s names the targets: give no TARGET or --inventory",
                            fmt::format("sonde --k8s {} {} ...", fo.k8s, spec.name)});
    targets = k8s_targets(fo, ctx.err);
  } else {
    targets = resolve_targets(ctx.target.empty() && inventory ? "all" : ctx.target,
                              inventory ? &*inventory : nullptr, fo.exclude);
  }
  if (!targets) return ctx.fail(targets.error());
  if (fo.fanout < 1)
    return ctx.fail(Error{errc::kBadArgs, "--fanout must be at least 1", "e.g. --fanout 64"});
  raise_fd_limit();

  HandshakeGate gate(kMaxHandshakes, kMaxHandshakesPerJump);
  const bool json_mode = ctx.g.json || has_merger(spec.name, ctx.vm);
  EngineOptions eo;
  eo.fanout = fo.fanout;
  eo.deadline_ms = fo.deadline_ms;
  eo.progress = (!ctx.g.json && ::isatty(2)) ? stderr : nullptr;
  eo.json_output = json_mode;

  // Each host's clock offset where it is kept (a case entry, --log-dir) or
  // its times are merged (capture's resets, trace's events).
  const bool measure_clock = ctx.fleet_journal || !fo.log_dir.empty() ||
                             std::string_view(spec.name) == "capture" ||
                             std::string_view(spec.name) == "trace";
  std::mutex written_mu;
  std::vector<std::string> written;
  auto body = [&](const FleetTarget& t, FILE* out, FILE* err) {
    CommandContext c = ctx;
    c.target = t.connect;
    c.out = out;
    c.err = err;
    c.g.json = json_mode;
    c.g.handshake_gate = &gate;
    c.observer = nullptr;
    c.fleet_journal = nullptr;
    c.written.clear();
    c.failed.reset();
    c.reached_agent = false;
    c.clock.reset();
    c.g.measure_clock = measure_clock;
    if (!ctx.g.via.empty()) c.g.via = apply_via_template(ctx.g.via, t.name);
    if (!t.via.empty()) c.g.via = t.via;
    std::vector<std::string> host_paths;  // this host's -o/-w files
    for (const char* name : kOutputOptions) {
      if (!c.vm.count(name) || merges_output(spec.name)) continue;
      try {
        auto& v = c.vm.at(name).value();
        v = per_host_path(boost::any_cast<std::string>(v), t.name);
        host_paths.push_back(boost::any_cast<std::string>(v));
      } catch (const boost::bad_any_cast&) {
      }
    }
    HostReport rep;
    if (json_mode) c.json_sink = &rep.result;
    try {
      rep.exit_code = spec.run(c);
    } catch (const json::exception& e) {
      if (last_read_op().empty()) throw;
      rep.exit_code = c.fail(malformed_reply(last_read_op(), "result", e.what()));
    }
    rep.error = c.failed;
    rep.reached_agent = c.reached_agent;
    rep.clock = c.clock;
    // The files this host's run wrote, for the case journal's artifacts.
    std::vector<std::string> files = std::move(c.written);
    for (const auto& p : host_paths)
      if (!p.empty() && p != "-" && ::access(p.c_str(), F_OK) == 0) files.push_back(p);
    std::lock_guard<std::mutex> lock(written_mu);
    written.insert(written.end(), files.begin(), files.end());
    return rep;
  };
  RunOutcome outcome = run_hosts(*targets, eo, body);
  ctx.written.insert(ctx.written.end(), written.begin(), written.end());
  spdlog::info("fleet: at most {} SSH handshakes were in flight (cap {}, {} per jump host)",
               gate.peak(), kMaxHandshakes, kMaxHandshakesPerJump);

  std::vector<HostRecord> records;
  records.reserve(outcome.hosts.size());
  for (auto& h : outcome.hosts) records.push_back(record_of(std::move(h), spec.name, json_mode));
  outcome.hosts.clear();
  if (!fo.log_dir.empty())
    if (auto st = write_log_dir(fo.log_dir, records); !st.ok())
      std::fprintf(ctx.err, "sonde: warning: %s\n", st.error().message.c_str());
  return print_fleet(spec.name, records, ctx.g.json, ctx, outcome.wall_ms, outcome.interrupted);
}

CommandSpec merge_command() {
  CommandSpec c;
  c.name = "merge";
  c.summary = "merge the per-host results of fleet runs (--log-dir DIRs) into one view";
  c.synopsis = "merge DIR... (each holding the hosts.jsonl a --log-dir run wrote)";
  c.needs_target = false;
  c.rest_positional = "dirs";
  c.options = [](po::options_description& o) {
    o.add_options()("dirs", po::value<std::vector<std::string>>(), "directories");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::vector<std::string> dirs;
    if (!ctx.target.empty()) dirs.push_back(ctx.target);
    if (ctx.vm.count("dirs"))
      for (const auto& d : ctx.vm["dirs"].as<std::vector<std::string>>()) dirs.push_back(d);
    if (dirs.empty())
      return ctx.fail(Error{errc::kBadArgs, "no directory to merge",
                            "sonde merge DIR... (directories a `--log-dir DIR` run wrote)"});
    std::vector<HostRecord> records;
    std::string command;
    std::set<std::string> seen;
    for (const auto& d : dirs) {
      std::string path = d + "/hosts.jsonl";
      std::ifstream in(path);
      if (!in)
        return ctx.fail(Error{errc::kNotFound, "cannot read " + path,
                              "give directories that a `sonde ... --log-dir DIR` run wrote"});
      std::string line;
      size_t n = 0;
      while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        auto j = json::parse(line, nullptr, false);
        auto r = host_record_from_json(j);
        if (!r)
          return ctx.fail(Error{errc::kBadArgs,
                                fmt::format("{}:{}: {}", path, n, r.error().message),
                                "the file must be the hosts.jsonl that --log-dir wrote"});
        if (command.empty()) command = r->command;
        if (r->command != command)
          return ctx.fail(Error{
              errc::kBadArgs,
              fmt::format("{}:{}: a `{}` run cannot merge with `{}`", path, n, r->command, command),
              "merge directories of the same command"});
        // The same host in two directories: the later run wins.
        if (!seen.insert(r->host).second)
          records.erase(std::remove_if(records.begin(), records.end(),
                                       [&](const HostRecord& x) { return x.host == r->host; }),
                        records.end());
        records.push_back(std::move(*r));
      }
    }
    if (records.empty())
      return ctx.fail(Error{errc::kNotFound, "no hosts in " + dirs[0] + "/hosts.jsonl", {}});
    long wall = 0;
    for (const auto& r : records) wall = std::max(wall, r.ended_ms);
    return print_fleet(command, records, ctx.g.json, ctx, wall, false);
  };
  return c;
}

}  // namespace sonde::controller::fleet
