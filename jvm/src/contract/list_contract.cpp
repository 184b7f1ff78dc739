#include "sonde/jvm/list_contract.h"

#include "contract_read.h"
#include "sonde/common/json_read.h"

namespace sonde::jvm {
namespace {

void read_jdwp(JsonReader& r, const json& o, const JsonPath& at, JdwpAgent& d) {
  r.string(o, "spec", at, d.spec);
  r.string(o, "transport", at, d.transport);
  r.boolean(o, "server", at, d.server);
  r.boolean(o, "suspend", at, d.suspend);
  r.string(o, "address", at, d.address);
  r.string(o, "host", at, d.host);
  read_port(r, o, "port", at, d.port);
  r.boolean(o, "listening", at, d.listening);
}

void read_jmx(JsonReader& r, const json& o, const JsonPath& at, JmxOptions& m) {
  r.boolean(o, "enabled", at, m.enabled);
  read_port(r, o, "port", at, m.port);
  read_port(r, o, "rmi_port", at, m.rmi_port);
  r.string(o, "host", at, m.host);
  r.optional(o, "authenticate", at, m.authenticate);
  r.optional(o, "ssl", at, m.ssl);
  r.boolean(o, "listening", at, m.listening);
}

void read_heap(JsonReader& r, const json& o, const JsonPath& at, JvmHeap& h) {
  r.string(o, "max", at, h.max);
  r.string(o, "initial", at, h.initial);
  r.optional(o, "max_bytes", at, h.max_bytes);
  r.optional(o, "initial_bytes", at, h.initial_bytes);
  r.optional(o, "committed_bytes", at, h.committed_bytes);
  r.optional(o, "limit_bytes", at, h.limit_bytes);
  r.optional(o, "used_bytes", at, h.used_bytes);
}

void read_listening(JsonReader& r, const json& o, const JsonPath& at,
                    std::vector<ListeningSocket>& out) {
  const json* list = r.bounded_array(o, "listening", at, kMaxListening);
  if (!list) return;
  for (size_t i = 0; i < list->size() && !r.failed(); ++i) {
    const json& lj = (*list)[i];
    JsonPath w = (at / "listening")[i];
    if (!r.object(lj, w)) break;
    ListeningSocket l;
    r.string(lj, "address", w, l.address);
    read_port(r, lj, "port", w, l.port);
    r.string(lj, "proto", w, l.proto);
    out.push_back(std::move(l));
  }
}

void read_jvm(JsonReader& r, const json& o, const JsonPath& at, JvmInfo& j) {
  r.integer(o, "pid", at, j.pid, Need::kRequired);
  r.boolean(o, "hotspot", at, j.hotspot);
  r.optional(o, "nspid", at, j.nspid);
  r.optional(o, "uid", at, j.uid);
  r.optional(o, "user", at, j.user);
  r.string(o, "command", at, j.command);
  r.string(o, "main", at, j.main);
  r.string(o, "main_kind", at, j.main_kind);
  r.string(o, "java_version", at, j.java_version);
  r.string(o, "vm_name", at, j.vm_name);
  r.boolean(o, "hsperfdata", at, j.hsperfdata);
  r.optional(o, "uptime_s", at, j.uptime_s);
  r.optional(o, "start_epoch", at, j.start_epoch);
  if (const json* h = r.map(o, "heap", at)) read_heap(r, *h, at / "heap", j.heap);
  read_listening(r, o, at, j.listening);
  if (const json* d = r.map(o, "jdwp", at)) {
    j.jdwp.emplace();
    read_jdwp(r, *d, at / "jdwp", *j.jdwp);
  }
  if (const json* m = r.map(o, "jmx", at)) read_jmx(r, *m, at / "jmx", j.jmx);
  if (const json* c = r.map(o, "container", at)) {
    JsonPath w = at / "container";
    r.boolean(*c, "same_mnt", w, j.container.same_mnt);
    r.boolean(*c, "same_pid", w, j.container.same_pid);
    r.boolean(*c, "same_net", w, j.container.same_net);
    r.boolean(*c, "in_container", w, j.container.in_container);
  }
  r.boolean(o, "attach_socket", at, j.attach_socket);
  r.boolean(o, "attach_disabled", at, j.attach_disabled);
  r.boolean(o, "reduce_signals", at, j.reduce_signals);
}

}  // namespace

json to_json(const JdwpAgent& j) {
  return {{"spec", j.spec},       {"transport", j.transport}, {"server", j.server},
          {"suspend", j.suspend}, {"address", j.address},     {"host", j.host},
          {"port", j.port},       {"listening", j.listening}};
}

json to_json(const JmxOptions& j) {
  json out = {{"enabled", j.enabled},
              {"port", j.port},
              {"rmi_port", j.rmi_port},
              {"host", j.host},
              {"listening", j.listening}};
  if (j.authenticate) out["authenticate"] = *j.authenticate;
  if (j.ssl) out["ssl"] = *j.ssl;
  return out;
}

json to_json(const ListeningSocket& l) {
  return {{"address", l.address}, {"port", l.port}, {"proto", l.proto}};
}

json to_json(const JvmInfo& j) {
  json out = {{"pid", j.pid},
              {"hotspot", j.hotspot},
              {"command", j.command},
              {"main", j.main},
              {"main_kind", j.main_kind},
              {"java_version", j.java_version},
              {"vm_name", j.vm_name},
              {"hsperfdata", j.hsperfdata},
              {"attach_socket", j.attach_socket},
              {"attach_disabled", j.attach_disabled},
              {"reduce_signals", j.reduce_signals}};
  if (j.nspid) out["nspid"] = *j.nspid;
  if (j.uid) out["uid"] = *j.uid;
  if (j.user) out["user"] = *j.user;
  if (j.uptime_s) out["uptime_s"] = *j.uptime_s;
  if (j.start_epoch) out["start_epoch"] = *j.start_epoch;
  json heap = json::object();
  if (!j.heap.max.empty()) heap["max"] = j.heap.max;
  if (!j.heap.initial.empty()) heap["initial"] = j.heap.initial;
  if (j.heap.max_bytes) heap["max_bytes"] = *j.heap.max_bytes;
  if (j.heap.initial_bytes) heap["initial_bytes"] = *j.heap.initial_bytes;
  if (j.heap.committed_bytes) heap["committed_bytes"] = *j.heap.committed_bytes;
  if (j.heap.limit_bytes) heap["limit_bytes"] = *j.heap.limit_bytes;
  if (j.heap.used_bytes) heap["used_bytes"] = *j.heap.used_bytes;
  out["heap"] = std::move(heap);
  json listening = json::array();
  for (const auto& l : j.listening) listening.push_back(to_json(l));
  out["listening"] = std::move(listening);
  out["jdwp"] = j.jdwp ? to_json(*j.jdwp) : json(nullptr);
  out["jmx"] = to_json(j.jmx);
  out["container"] = {{"same_mnt", j.container.same_mnt},
                      {"same_pid", j.container.same_pid},
                      {"same_net", j.container.same_net},
                      {"in_container", j.container.in_container}};
  return out;
}

json to_json(const JvmListResult& r) {
  json jvms = json::array();
  for (const auto& j : r.jvms) jvms.push_back(to_json(j));
  return {{"jvms", std::move(jvms)}, {"notes", r.notes}};
}

Result<JvmListResult> jvm_list_result_from_json(const json& j) {
  JsonReader r = JsonReader::reply("jvm.list");
  JvmListResult out;
  if (!r.object(j, {})) return r.error();
  if (const json* list = r.bounded_array(j, "jvms", {}, kMaxJvms, Need::kRequired)) {
    for (size_t i = 0; i < list->size() && !r.failed(); ++i) {
      JsonPath at = (JsonPath{} / "jvms")[i];
      if (!r.object((*list)[i], at)) break;
      JvmInfo info;
      read_jvm(r, (*list)[i], at, info);
      out.jvms.push_back(std::move(info));
    }
  }
  if (r.bounded_array(j, "notes", {}, kMaxJvmNotes)) r.strings(j, "notes", {}, out.notes);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::jvm
