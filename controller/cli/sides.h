// The sides of a network check (`sonde dns`, `connect`, `tls`, `diagnose`):
// the controller's own side is a local agent, then the --via agent when one
// is given, then each --from TARGET, so the same op answers "what does the
// client see" and "what does the server see".
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace sonde::controller {

struct Side {
  std::string label;   // "local", "via", or the --from target as typed
  CommandContext ctx;  // connects to that side's agent
};

// The sides in the order they are shown. from_option names the repeatable
// option holding the extra targets.
std::vector<Side> check_sides(const CommandContext& ctx, const char* from_option = "from");

// "sonde CMD: error: LABEL: ..." and its hint on stderr (report_error), for
// a side that could not be asked; an agent without the op gets the "deploy the matching one"
// hint, an error without one `sonde hello LABEL`. Returns the error as shown.
Error print_side_error(const CommandContext& ctx, const std::string& label, Error e);

// --ca-file (tls, diagnose --tls): the PEM text of the CA certificate(s),
// read here and sent to each side; errc::kBadArgs with a hint otherwise.
Result<std::string> read_ca_file(const std::string& path);

}  // namespace sonde::controller
