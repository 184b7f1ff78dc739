// Tracee for ps tests: prints READY, then spins on the CPU for argv[1]
// seconds (default 60).
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  double secs = argc > 1 ? atof(argv[1]) : 60.0;
  if (secs <= 0 || secs > 3600) secs = 60.0;
  printf("READY\n");
  fflush(stdout);
  volatile unsigned long sink = 0;
  double end = now() + secs;
  while (now() < end)
    for (int i = 0; i < 100000; ++i) sink += (unsigned long)i;
  return 0;
}
