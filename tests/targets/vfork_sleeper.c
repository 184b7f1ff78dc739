// A process whose only thread sits in uninterruptible sleep for a known
// time: it vforks, and a vfork parent waits (state D, TASK_KILLABLE) until
// the child execs or exits, which PTRACE_INTERRUPT cannot cut short. The
// child prints READY, sleeps MS milliseconds (default 1500) and exits; the
// parent then waits in pause() (state S) until killed.
// Usage: vfork_sleeper [MS]
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  long ms = argc > 1 ? atol(argv[1]) : 1500;
  pid_t pid = vfork();
  if (pid == 0) {
    // Only raw system calls in a vfork child: it runs on the parent's stack.
    static const char ready[] = "READY\n";
    syscall(SYS_write, 1, ready, sizeof ready - 1);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    syscall(SYS_nanosleep, &ts, NULL);
    syscall(SYS_exit, 0);
  }
  for (;;) pause();
}
