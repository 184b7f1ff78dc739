// sonde jvm list|threads|flags|props TARGET: the JVMs on a host, and what
// their attach mechanism tells (thread dump, VM flags, system properties).
// jvm jfr is in jvm_jfr.cpp, jvm debug and jvm jmx in jvm_forward.cpp.
#include <sys/ioctl.h>
#include <unistd.h>

#include "../cli/command.h"
#include "jvm_common.h"
#include "sonde/common/io.h"
#include "sonde/jvm/attach_contract.h"
#include "sonde/jvm/jvm_contract.h"
#include "sonde/jvm/list_contract.h"
#include "sonde/render/jvm.h"
#include "sonde/render/table.h"

namespace sonde::controller {

CommandSpec jvm_jfr_command();
CommandSpec jvm_debug_command();
CommandSpec jvm_jmx_command();

namespace {

CommandSpec jvm_list_command() {
  CommandSpec c;
  c.name = "jvm list";
  c.summary = "JVMs on the target: user, Java version, uptime, heap, JDWP, JMX, container";
  c.synopsis = "jvm list TARGET [-p PID]";
  c.options = [](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>(), "describe only this JVM");
  };
  c.run = [](CommandContext& ctx) -> int {
    long pid = ctx.vm.count("pid") ? ctx.vm["pid"].as<long>() : 0;
    if (pid < 0 || pid > INT32_MAX)
      return ctx.fail(Error{errc::kBadArgs, fmt::format("-p {} is not a process id", pid), {}});
    jvm::JvmListArgs args{static_cast<int>(pid)};
    if (auto st = jvm::validate(args); !st) return ctx.fail(st.error());
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto r = (*s)->call("jvm.list", jvm::to_json(args));
    if (!r) return ctx.fail(jvm_hint(r.error(), ctx));
    auto list = jvm::jvm_list_result_from_json(*r);
    if (!list) return ctx.fail(list.error());
    if (ctx.g.json) {
      json out = jvm::to_json(*list);
      out["host"] = (*s)->host();
      ctx.print_json(out);
    } else {
      std::fputs(render::render_jvm_list(*list, ctx.terminal_width()).c_str(), ctx.out);
    }
    return exit_code::kOk;
  };
  return c;
}

// threads, flags, props: one attach command each, its text printed as is.
CommandSpec jvm_attach_command(const char* name, const char* what, const char* summary,
                               const char* synopsis, const char* all_help) {
  CommandSpec c;
  c.name = name;
  c.summary = summary;
  c.synopsis = synopsis;
  c.options = [all_help](po::options_description& o) {
    o.add_options()("pid,p", po::value<long>()->required(), "the JVM (see `sonde jvm list`)")(
        "attach-timeout", po::value<std::string>()->default_value("10s"),
        "how long to wait for the JVM to answer the attach request");
    if (all_help) o.add_options()("all", po::bool_switch(), all_help);
  };
  c.run = [what](CommandContext& ctx) -> int {
    auto pid = jvm_pid(ctx);
    if (!pid) return ctx.fail(pid.error());
    auto timeout = attach_timeout(ctx);
    if (!timeout) return ctx.fail(timeout.error());
    jvm::JvmAttachArgs args{static_cast<int>(*pid), what,
                            ctx.vm.count("all") && ctx.vm["all"].as<bool>(), *timeout};
    if (auto st = jvm::validate(args); !st) return ctx.fail(st.error());
    auto s = ctx.connect();
    if (!s) return ctx.fail(s.error());
    auto r = (*s)->call("jvm.attach", jvm::to_json(args));
    if (!r) return ctx.fail(jvm_hint(r.error(), ctx));
    auto res = jvm::jvm_attach_result_from_json(*r);
    if (!res) return ctx.fail(res.error());
    if (ctx.g.json) {
      json out = jvm::to_json(*res);
      out["host"] = (*s)->host();
      ctx.print_json(out);
    } else {
      std::fputs(render::render_jvm_attach(*res).c_str(), ctx.out);
    }
    return exit_code::kOk;
  };
  return c;
}

}  // namespace

Result<long> jvm_pid(const CommandContext& ctx) {
  long pid = ctx.vm["pid"].as<long>();
  if (pid <= 0 || pid > INT32_MAX)
    return Error{errc::kBadArgs, fmt::format("-p {} is not a process id", pid),
                 "find JVMs with `sonde jvm list TARGET`"};
  return pid;
}

Result<long> attach_timeout(const CommandContext& ctx) {
  auto ms = parse_duration_ms(ctx.vm["attach-timeout"].as<std::string>());
  if (!ms)
    return Error{errc::kBadArgs, "--attach-timeout is not a duration", "e.g. --attach-timeout 5s"};
  // The range is the op's: jvm::validate checks it with the rest.
  return *ms;
}

Error jvm_hint(Error e, const CommandContext& ctx) {
  std::string target = ctx.target.empty() ? "TARGET" : ctx.target;
  if (e.code == errc::kNotFound && e.hint.empty())
    e.hint = "list JVMs with `sonde jvm list " + target + "`";
  if (e.code == errc::kUnknownOp)
    e.hint = "the agent on the target is older than this sonde: redeploy it (--agent)";
  return e;
}

std::vector<CommandSpec> jvm_commands() {
  std::vector<CommandSpec> v;
  v.push_back(jvm_list_command());
  v.push_back(jvm_attach_command("jvm threads", "threads",
                                 "thread dump of a JVM through attach (like jcmd Thread.print)",
                                 "jvm threads TARGET -p PID [--all] [--attach-timeout 10s]",
                                 "also the extended thread info (-e)"));
  v.push_back(jvm_attach_command(
      "jvm flags", "flags", "a JVM's VM flags through attach (like jcmd VM.flags)",
      "jvm flags TARGET -p PID [--all] [--attach-timeout 10s]", "every flag, not just those set"));
  v.push_back(jvm_attach_command(
      "jvm props", "props", "a JVM's system properties through attach (jcmd VM.system_properties)",
      "jvm props TARGET -p PID [--attach-timeout 10s]", nullptr));
  v.push_back(jvm_jfr_command());
  v.push_back(jvm_jmx_command());
  v.push_back(jvm_debug_command());
  return v;
}

}  // namespace sonde::controller
