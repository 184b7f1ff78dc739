#include "../cli/command.h"

namespace sonde::controller {

CommandSpec ps_command();
CommandSpec inspect_command();
CommandSpec hello_command();
CommandSpec trace_command();
CommandSpec stack_command();
CommandSpec profile_command();
CommandSpec forward_command();
CommandSpec debug_command();
CommandSpec dns_command();
CommandSpec connect_command();
CommandSpec tls_command();
CommandSpec speed_command();
CommandSpec capture_command();
CommandSpec diagnose_command();
CommandSpec inject_command();
std::vector<CommandSpec> jvm_commands();
std::vector<CommandSpec> case_commands();  // `sonde case new|list|use|show|close|note|timeline`
CommandSpec report_command();              // `sonde jvm list|threads|...`
namespace fleet {
CommandSpec merge_command();  // fleet/run.h
}

const std::vector<CommandSpec>& all_commands() {
  static const std::vector<CommandSpec> cmds = [] {
    std::vector<CommandSpec> v = {ps_command(),      inspect_command(),  trace_command(),
                                  stack_command(),   profile_command(),  forward_command(),
                                  debug_command(),   hello_command(),    dns_command(),
                                  connect_command(), tls_command(),      speed_command(),
                                  capture_command(), diagnose_command(), inject_command()};
    for (auto& c : jvm_commands()) v.push_back(std::move(c));
    for (auto& c : case_commands()) v.push_back(std::move(c));
    v.push_back(report_command());
    v.push_back(fleet::merge_command());
    return v;
  }();
  return cmds;
}

}  // namespace sonde::controller
