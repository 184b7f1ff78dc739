#include "sonde/common/hello_contract.h"

#include "sonde/common/json_read.h"

namespace sonde {
namespace {

// The hello's fields; `need` is what the core ones (version, ids, ptrace,
// perf_event) must be: optional in the handshake, required in capabilities.
void read_facts(JsonReader& r, const json& j, HelloFacts& h, Need need) {
  if (!r.object(j, {})) return;
  r.string(j, "agent_version", {}, h.agent_version, need);
  r.integer(j, "protocol", {}, h.protocol, Need::kRequired);
  r.optional(j, "kernel", {}, h.kernel);
  r.optional(j, "arch", {}, h.arch);
  r.optional(j, "hostname", {}, h.hostname);
  r.integer(j, "pid", {}, h.pid, need);
  r.integer(j, "uid", {}, h.uid, need);
  r.integer(j, "euid", {}, h.euid, need);
  r.integer(j, "gid", {}, h.gid, need);
  r.integer(j, "egid", {}, h.egid, need);
  r.integer(j, "undo_watchdog", {}, h.undo_watchdog);
  if (const json* p = r.map(j, "ptrace", {}, need)) {
    JsonPath at = JsonPath{} / "ptrace";
    r.boolean(*p, "allowed", at, h.ptrace.allowed, need);
    r.optional(*p, "yama_ptrace_scope", at, h.ptrace.yama_ptrace_scope);
    r.boolean(*p, "cap_sys_ptrace", at, h.ptrace.cap_sys_ptrace);
    r.string(*p, "why", at, h.ptrace.why);
  }
  if (const json* p = r.map(j, "perf_event", {}, need)) {
    JsonPath at = JsonPath{} / "perf_event";
    r.optional(*p, "paranoid", at, h.perf_event.paranoid);
    r.boolean(*p, "cap_perfmon", at, h.perf_event.cap_perfmon);
    r.boolean(*p, "present", at, h.perf_event.present);
    r.optional(*p, "allowed", at, h.perf_event.allowed);
    r.optional(*p, "why", at, h.perf_event.why);
  }
  r.boolean(j, "cap_net_raw", {}, h.cap_net_raw);
  r.boolean(j, "cap_sys_admin", {}, h.cap_sys_admin);
}

}  // namespace

json to_json(const HelloFacts& h) {
  json j = {{"agent_version", h.agent_version},
            {"protocol", h.protocol},
            {"pid", h.pid},
            {"uid", h.uid},
            {"euid", h.euid},
            {"gid", h.gid},
            {"egid", h.egid},
            {"undo_watchdog", h.undo_watchdog},
            {"ptrace",
             {{"allowed", h.ptrace.allowed},
              {"yama_ptrace_scope", or_null(h.ptrace.yama_ptrace_scope)},
              {"cap_sys_ptrace", h.ptrace.cap_sys_ptrace},
              {"why", h.ptrace.why}}},
            {"perf_event",
             {{"paranoid", or_null(h.perf_event.paranoid)},
              {"cap_perfmon", h.perf_event.cap_perfmon},
              {"present", h.perf_event.present}}},
            {"cap_net_raw", h.cap_net_raw},
            {"cap_sys_admin", h.cap_sys_admin}};
  if (h.kernel) j["kernel"] = *h.kernel;
  if (h.arch) j["arch"] = *h.arch;
  if (h.hostname) j["hostname"] = *h.hostname;
  if (h.perf_event.allowed) j["perf_event"]["allowed"] = *h.perf_event.allowed;
  if (h.perf_event.why) j["perf_event"]["why"] = *h.perf_event.why;
  return j;
}

json to_json(const Capabilities& c) {
  json j = to_json(c.facts);
  j["jdk_tools"] = {{"java", or_null(c.jdk_tools.java)},
                    {"jcmd", or_null(c.jdk_tools.jcmd)},
                    {"jfr", or_null(c.jdk_tools.jfr)}};
  j["gdbserver"] = or_null(c.gdbserver);
  return j;
}

Result<HelloFacts> hello_from_json(const json& j) {
  JsonReader r = JsonReader::reply("hello", "message");
  HelloFacts h;
  read_facts(r, j, h, Need::kOptional);
  if (r.failed()) return r.error();
  return h;
}

Result<Capabilities> capabilities_from_json(const json& j) {
  JsonReader r = JsonReader::reply("capabilities");
  Capabilities c;
  read_facts(r, j, c.facts, Need::kRequired);
  if (const json* t = r.map(j, "jdk_tools", {})) {
    JsonPath at = JsonPath{} / "jdk_tools";
    r.optional(*t, "java", at, c.jdk_tools.java);
    r.optional(*t, "jcmd", at, c.jdk_tools.jcmd);
    r.optional(*t, "jfr", at, c.jdk_tools.jfr);
  }
  r.optional(j, "gdbserver", {}, c.gdbserver);
  if (r.failed()) return r.error();
  return c;
}

}  // namespace sonde
