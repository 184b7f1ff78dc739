#include "sonde/jvm/jvm_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::jvm {
namespace {

Error bad(std::string msg, std::string hint = {}) {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

Status check_pid(int pid) {
  if (pid <= 0) return bad("this op needs a pid", "pass -p PID (see `sonde jvm list`)");
  return ok_status();
}

Status check_timeout(long ms) {
  if (ms < kMinAttachTimeoutMs || ms > kMaxAttachTimeoutMs)
    return bad("--attach-timeout must be 100ms..10m", "e.g. --attach-timeout 5s");
  return ok_status();
}

}  // namespace

json to_json(const JvmListArgs& a) {
  json j = json::object();
  if (a.pid) j["pid"] = a.pid;
  return j;
}

json to_json(const JvmAttachArgs& a) {
  return {{"pid", a.pid}, {"what", a.what}, {"all", a.all}, {"timeout_ms", a.timeout_ms}};
}

json to_json(const JfrArgs& a) {
  return {{"pid", a.pid},
          {"duration_ms", a.duration_ms},
          {"settings", a.settings},
          {"timeout_ms", a.timeout_ms}};
}

json to_json(const JmxArgs& a) {
  if (a.stop) return {{"pid", a.pid}, {"stop", true}};
  return {{"pid", a.pid},
          {"port", a.port},
          {"bind", a.bind},
          {"timeout_ms", a.timeout_ms},
          {"keep", a.keep}};
}

Result<JvmListArgs> jvm_list_args_from_json(const json& j) {
  auto r = JsonReader::args("jvm.list");
  JvmListArgs a;
  if (r.object(j, {})) r.integer(j, "pid", {}, a.pid);
  if (r.failed()) return r.error();
  return a;
}

Result<JvmAttachArgs> jvm_attach_args_from_json(const json& j) {
  auto r = JsonReader::args("jvm.attach");
  JvmAttachArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid);
  r.string(j, "what", {}, a.what);
  r.boolean(j, "all", {}, a.all);
  r.integer(j, "timeout_ms", {}, a.timeout_ms);
  if (r.failed()) return r.error();
  return a;
}

Result<JfrArgs> jfr_args_from_json(const json& j) {
  auto r = JsonReader::args("jvm.jfr");
  JfrArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid);
  r.integer(j, "duration_ms", {}, a.duration_ms);
  r.string(j, "settings", {}, a.settings);
  r.integer(j, "timeout_ms", {}, a.timeout_ms);
  if (r.failed()) return r.error();
  return a;
}

Result<JmxArgs> jmx_args_from_json(const json& j) {
  auto r = JsonReader::args("jvm.jmx");
  JmxArgs a;
  if (!r.object(j, {})) return r.error();
  r.integer(j, "pid", {}, a.pid);
  r.boolean(j, "stop", {}, a.stop);
  r.integer(j, "port", {}, a.port);
  r.string(j, "bind", {}, a.bind);
  r.integer(j, "timeout_ms", {}, a.timeout_ms);
  r.boolean(j, "keep", {}, a.keep);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const JvmListArgs& a) {
  if (a.pid < 0) return bad(fmt::format("-p {} is not a process id", a.pid));
  return ok_status();
}

Status validate(const JvmAttachArgs& a) {
  if (auto st = check_pid(a.pid); !st) return st;
  if (a.what != "threads" && a.what != "flags" && a.what != "props" && a.what != "version")
    return bad("argument `what` must be threads, flags, props or version");
  return check_timeout(a.timeout_ms);
}

Status validate(const JfrArgs& a) {
  if (auto st = check_pid(a.pid); !st) return st;
  if (a.duration_ms < kMinJfrDurationMs || a.duration_ms > kMaxJfrDurationMs)
    return bad("--duration must be 1s..24h", "e.g. --duration 60s");
  if (a.settings != "default" && a.settings != "profile")
    return bad("--settings must be default or profile");
  return check_timeout(a.timeout_ms);
}

Status validate(const JmxArgs& a) {
  if (auto st = check_pid(a.pid); !st) return st;
  if (a.stop) return ok_status();
  if (a.port < 1 || a.port > 65535) return bad("port must be 1..65535");
  if (a.bind.rfind("127.", 0) != 0)
    return bad("the JMX agent binds a loopback address only (127.x.y.z)");
  return check_timeout(a.timeout_ms);
}

}  // namespace sonde::jvm
