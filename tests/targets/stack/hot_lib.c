// Built without frame pointers: unwinding out of this leaf needs the
// library's CFI (.eh_frame), whatever variant of the tracee loads it.
#include "hot_lib.h"

volatile unsigned long sonde_hot_sink;

#if defined(__clang__)
__attribute__((noinline))
#else
__attribute__((noinline, noipa))
#endif
void sonde_hot_loop(void) {
  for (;;) sonde_hot_sink = sonde_hot_sink * 2862933555777941757UL + 3037000493UL;
}
