#include "sonde/proc/inspect_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::proc {
namespace {

json id_json(const IdSet& v) {
  return {{"real", v.real}, {"effective", v.effective}, {"saved", v.saved}, {"fs", v.fs}};
}

void read_ids(JsonReader& r, const json& o, const char* key, std::optional<IdSet>& out) {
  const json* m = r.map(o, key, {});
  if (!m) return;
  JsonPath at = JsonPath{} / key;
  IdSet v;
  r.integer(*m, "real", at, v.real, Need::kRequired);
  r.integer(*m, "effective", at, v.effective, Need::kRequired);
  r.integer(*m, "saved", at, v.saved, Need::kRequired);
  r.integer(*m, "fs", at, v.fs, Need::kRequired);
  if (!r.failed()) out = v;
}

// The list under key, or nullptr; longer than `max` is an error: no agent
// sends more, and a peer that does must not make us hold it.
const json* bounded_list(JsonReader& r, const json& o, const char* key, size_t max) {
  const json* a = r.array(o, key, {});
  if (a && a->size() > max)
    r.fail(JsonPath{} / key,
           fmt::format("{} entries, more than the {} an agent sends", a->size(), max));
  return r.failed() ? nullptr : a;
}

// Each map of the list under key through read_one(map, path).
template <typename T, typename ReadOne>
void read_list(JsonReader& r, const json& o, const char* key, size_t max, std::vector<T>& out,
               ReadOne read_one) {
  const json* a = bounded_list(r, o, key, max);
  if (!a) return;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size() && !r.failed(); ++i) {
    JsonPath at = (JsonPath{} / key)[i];
    if (!r.object((*a)[i], at)) return;
    out.push_back(read_one((*a)[i], at));
  }
}

// Bounds for the lists the agent does not cap by count: they are bounded by
// the frame, and these only keep a hostile peer's list from being held.
constexpr size_t kMaxLimits = 64;
constexpr size_t kMaxNamespaces = 64;

}  // namespace

json to_json(const InspectArgs& a) {
  return {{"pid", a.pid}, {"env", a.env}};
}

Result<InspectArgs> inspect_args_from_json(const json& j) {
  auto r = JsonReader::args("inspect");
  InspectArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid, Need::kRequired);
  r.boolean(j, "env", {}, a.env);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const InspectArgs& a) {
  if (a.pid <= 0)
    return Error{errc::kBadArgs, fmt::format("-p {} is not a process id", a.pid),
                 "sonde inspect TARGET -p PID"};
  return ok_status();
}

json to_json(const SocketInfo& s) {
  if (s.proto == kUnknownSocket) return {{"proto", s.proto}, {"inode", s.inode}};
  json j = {{"proto", s.proto}, {"local", s.local}, {"state", s.state}, {"inode", s.inode}};
  if (!s.peer.empty()) j["peer"] = s.peer;
  if (s.proto == "unix") {
    j["path"] = s.local;
    j["type"] = s.type;
  }
  return j;
}

void read_socket(JsonReader& r, const json& j, const JsonPath& at, SocketInfo& out) {
  if (!r.object(j, at)) return;
  r.string(j, "proto", at, out.proto);
  r.string(j, "local", at, out.local);
  r.string(j, "peer", at, out.peer);
  r.string(j, "state", at, out.state);
  r.string(j, "type", at, out.type);
  r.integer(j, "inode", at, out.inode);
}

json to_json(const FdEntry& f) {
  json j = {{"fd", f.fd}, {"kind", f.kind}, {"target", f.target}};
  if (f.flags) j["flags"] = *f.flags;
  if (f.pos) j["pos"] = *f.pos;
  if (f.socket) j["socket"] = to_json(*f.socket);
  return j;
}

json to_json(const InspectResult& r) {
  json j = {{"pid", r.pid}, {"comm", r.comm}, {"cmdline", r.cmdline}};
  if (r.ppid) j["ppid"] = *r.ppid;
  if (r.state) j["state"] = std::string(1, *r.state);
  if (r.state_name) j["state_name"] = *r.state_name;
  if (r.start_time) j["start_time"] = *r.start_time;
  if (r.exe) j["exe"] = *r.exe;
  if (r.cwd) j["cwd"] = *r.cwd;
  if (r.root) j["root"] = *r.root;
  if (r.user) j["user"] = *r.user;
  if (r.uid) j["uid"] = id_json(*r.uid);
  if (r.group) j["group"] = *r.group;
  if (r.gid) j["gid"] = id_json(*r.gid);
  json threads = json::array();
  for (const auto& t : r.threads)
    threads.push_back(
        {{"tid", t.tid}, {"name", t.name}, {"state", std::string(1, t.state)}, {"wchan", t.wchan}});
  j["threads"] = std::move(threads);
  if (r.threads_more) j["threads_more"] = *r.threads_more;
  if (r.limits) {
    json limits = json::array();
    for (const auto& l : *r.limits)
      limits.push_back({{"name", l.name}, {"soft", l.soft}, {"hard", l.hard}, {"units", l.units}});
    j["limits"] = std::move(limits);
  }
  json memory = json::object();
  for (const auto& m : kMemoryFields)
    if (const auto& v = r.memory.*m.field) memory[m.key] = *v;
  j["memory"] = std::move(memory);
  j["cgroup"] = r.cgroup;
  json namespaces = json::array();
  for (const auto& n : r.namespaces) {
    json nj = {{"type", n.type}, {"same_as_agent", n.same_as_agent}};
    if (n.inode) nj["inode"] = *n.inode;
    namespaces.push_back(std::move(nj));
  }
  j["namespaces"] = std::move(namespaces);
  // An fd list that could not be read is no list: "fds_error" says why.
  if (r.fds_error) {
    j["fds_error"] = *r.fds_error;
  } else {
    json fds = json::array();
    for (const auto& f : r.fds) fds.push_back(to_json(f));
    j["fds"] = std::move(fds);
    j["fds_more"] = r.fds_more;
  }
  if (r.env) j["env"] = *r.env;
  j["notes"] = r.notes;
  if (r.denied)
    j["denied"] = {
        {"message", r.denied->message}, {"hint", r.denied->hint}, {"parts", r.denied->parts}};
  return j;
}

Result<InspectResult> inspect_result_from_json(const json& j) {
  auto r = JsonReader::reply("inspect");
  InspectResult out;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, out.pid, Need::kRequired);
  r.string(j, "comm", {}, out.comm, Need::kRequired);
  r.integer(j, "ppid", {}, out.ppid);
  state_letter(r, j, "state", {}, out.state);
  r.string(j, "state_name", {}, out.state_name);
  r.integer(j, "start_time", {}, out.start_time);
  r.string(j, "exe", {}, out.exe);
  r.string(j, "cwd", {}, out.cwd);
  r.string(j, "root", {}, out.root);
  r.strings(j, "cmdline", {}, out.cmdline);
  r.string(j, "user", {}, out.user);
  r.string(j, "group", {}, out.group);
  read_ids(r, j, "uid", out.uid);
  read_ids(r, j, "gid", out.gid);
  read_list(r, j, "threads", kMaxThreads, out.threads, [&](const json& t, const JsonPath& at) {
    InspectThread th;
    std::optional<char> state;
    r.integer(t, "tid", at, th.tid);
    r.string(t, "name", at, th.name);
    state_letter(r, t, "state", at, state);
    th.state = state.value_or('?');
    r.string(t, "wchan", at, th.wchan);
    return th;
  });
  r.integer(j, "threads_more", {}, out.threads_more);
  if (!r.failed() && r.field(j, "limits", {})) {
    std::vector<Limit> limits;
    read_list(r, j, "limits", kMaxLimits, limits, [&](const json& l, const JsonPath& at) {
      Limit lim;
      r.string(l, "name", at, lim.name);
      r.string(l, "soft", at, lim.soft);
      r.string(l, "hard", at, lim.hard);
      r.string(l, "units", at, lim.units);
      return lim;
    });
    out.limits = std::move(limits);
  }
  if (const json* m = r.map(j, "memory", {}))
    for (const auto& f : kMemoryFields)
      r.integer(*m, f.key, JsonPath{} / "memory", out.memory.*f.field);
  r.strings(j, "cgroup", {}, out.cgroup);
  read_list(r, j, "namespaces", kMaxNamespaces, out.namespaces,
            [&](const json& n, const JsonPath& at) {
              Namespace ns;
              r.string(n, "type", at, ns.type);
              r.integer(n, "inode", at, ns.inode);
              r.boolean(n, "same_as_agent", at, ns.same_as_agent);
              return ns;
            });
  read_list(r, j, "fds", kMaxFds, out.fds, [&](const json& f, const JsonPath& at) {
    FdEntry fd;
    r.integer(f, "fd", at, fd.fd);
    r.string(f, "kind", at, fd.kind);
    r.string(f, "target", at, fd.target);
    r.string(f, "flags", at, fd.flags);
    r.integer(f, "pos", at, fd.pos);
    if (const json* s = r.failed() ? nullptr : r.field(f, "socket", at)) {
      fd.socket.emplace();
      read_socket(r, *s, at / "socket", *fd.socket);
    }
    return fd;
  });
  r.integer(j, "fds_more", {}, out.fds_more);
  r.string(j, "fds_error", {}, out.fds_error);
  if (!r.failed() && r.field(j, "env", {})) {
    out.env.emplace();
    r.strings(j, "env", {}, *out.env);
  }
  r.strings(j, "notes", {}, out.notes);
  if (const json* d = r.failed() ? nullptr : r.map(j, "denied", {})) {
    AccessDenied denied;
    JsonPath at = JsonPath{} / "denied";
    r.string(*d, "message", at, denied.message, Need::kRequired);
    r.string(*d, "hint", at, denied.hint);
    r.strings(*d, "parts", at, denied.parts);
    out.denied = std::move(denied);
  }
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::proc
