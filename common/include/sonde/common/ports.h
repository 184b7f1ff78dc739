// A free loopback TCP port, for listeners that must name their port before
// they bind it (the JMX forward, whose RMI stub names the port; test servers).
#pragma once

namespace sonde {

// A loopback port nobody listens on right now (the kernel's pick), 0 when
// none could be had. Racy by nature: bind it soon.
int free_loopback_port();

}  // namespace sonde
