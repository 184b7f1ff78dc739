// libsonde_hot.so: a CPU-burning leaf in a shared library, so profiles and
// stacks must name a frame in a module other than the executable.
#pragma once

// Spins forever in its own code (the tracee's lifetime timer ends it).
void sonde_hot_loop(void);
