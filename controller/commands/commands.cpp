#include "../cli/command.h"

namespace sonde::controller {

CommandSpec ps_command();
CommandSpec inspect_command();
CommandSpec hello_command();
CommandSpec trace_command();
CommandSpec stack_command();
CommandSpec profile_command();

const std::vector<CommandSpec>& all_commands() {
  static const std::vector<CommandSpec> cmds = {ps_command(),      inspect_command(),
                                                trace_command(),   stack_command(),
                                                profile_command(), hello_command()};
  return cmds;
}

}  // namespace sonde::controller
