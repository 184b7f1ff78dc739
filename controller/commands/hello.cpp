// sonde hello TARGET: connect, deploy if needed, and show what the agent can
// do there (versions, kernel, uid, ptrace/perf_event/capture permissions).
#include "../cli/command.h"
#include "sonde/common/json_text.h"
#include "sonde/render/table.h"

namespace sonde::controller {

namespace {
std::string yes_no(const json& v) {
  return v.is_boolean() && v.get<bool>() ? "yes" : "no";
}
std::string val(const json& v) {
  return v.is_null() ? "-" : v.is_string() ? v.get<std::string>() : json_text(v);
}
}  // namespace

CommandSpec hello_command() {
  CommandSpec c;
  c.name = "hello";
  c.summary = "connect to the target's agent and show its version and what it may do there";
  c.synopsis = "hello TARGET";
  c.run = [](CommandContext& ctx) -> int {
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    // The hello has the cheap facts; what must be tried (perf_event_open)
    // or searched for (JDK tools, gdbserver) comes from `capabilities`.
    auto caps = (*s)->call("capabilities", json::object());
    if (!caps) return ctx.fail(caps.error());
    json h = *caps;
    h["transport"] = (*s)->transport().describe();
    if (ctx.g.json) {
      ctx.print_json(h);
      return exit_code::kOk;
    }
    std::printf("host        %s (%s, %s)\n", val(h["hostname"]).c_str(), val(h["kernel"]).c_str(),
                val(h["arch"]).c_str());
    std::printf("transport   %s\n", h["transport"].get<std::string>().c_str());
    std::printf("agent       %s, protocol %s, pid %s\n", val(h["agent_version"]).c_str(),
                val(h["protocol"]).c_str(), val(h["pid"]).c_str());
    std::printf("user        uid %s euid %s gid %s egid %s\n", val(h["uid"]).c_str(),
                val(h["euid"]).c_str(), val(h["gid"]).c_str(), val(h["egid"]).c_str());
    // Copies, read with the non-const operator[]: a key the agent left out
    // reads as null (the const one would read past the end of the map).
    json p = h["ptrace"];
    std::string yama = p["yama_ptrace_scope"].is_null()
                           ? "no Yama LSM"
                           : "Yama ptrace_scope " + val(p["yama_ptrace_scope"]);
    std::printf("ptrace      %s (%s; %s)\n", yes_no(p["allowed"]).c_str(), yama.c_str(),
                val(p["why"]).c_str());
    json pe = h["perf_event"];
    std::printf("perf_event  %s (perf_event_paranoid %s%s)\n", yes_no(pe["allowed"]).c_str(),
                val(pe["paranoid"]).c_str(),
                pe.contains("why") ? ("; " + render::terminal_safe(val(pe["why"]))).c_str() : "");
    std::printf("capture     %s (CAP_NET_RAW)\n", yes_no(h["cap_net_raw"]).c_str());
    json j = h["jdk_tools"];
    std::printf("jdk tools   java %s, jcmd %s, jfr %s\n", val(j["java"]).c_str(),
                val(j["jcmd"]).c_str(), val(j["jfr"]).c_str());
    std::printf("gdbserver   %s\n", val(h["gdbserver"]).c_str());
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
