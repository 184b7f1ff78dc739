/* The anchor for `sonde trace -c`: the least a ptrace syscall tracer can do.
 * It launches CMD on the CPU it runs on (tracer and tracee share it, as with
 * sonde's --colocate), stops it at every syscall entry and exit
 * (PTRACE_SYSCALL, TRACESYSGOOD) and resumes it at once: no decoding, no
 * counting per syscall, no clock reads. Prints the stops it saw on stderr.
 *
 *   ptrace_loop CMD ARGS...
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ptrace_loop CMD ARGS...\n");
    return 2;
  }
  int cpu = sched_getcpu();
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (cpu < 0 || sched_setaffinity(0, sizeof one, &one) != 0) perror("sched_setaffinity");
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    raise(SIGSTOP);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int st;
  if (waitpid(child, &st, WSTOPPED) != child) return 1;
  if (ptrace(PTRACE_SEIZE, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0) {
    perror("PTRACE_SEIZE");
    return 1;
  }
  kill(child, SIGCONT);
  long stops = 0;
  int code = 1;
  for (;;) {
    pid_t w = waitpid(-1, &st, __WALL);
    if (w < 0) break;
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (w == child) {
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      continue;
    }
    int sig = WSTOPSIG(st);
    int inject = 0;
    if (sig == (SIGTRAP | 0x80))
      ++stops;
    else if ((st >> 16) == 0 && sig != SIGTRAP)
      inject = sig; /* a real signal: deliver it */
    ptrace(PTRACE_SYSCALL, w, 0, inject);
  }
  fprintf(stderr, "ptrace_loop: %ld syscall stops\n", stops);
  return code;
}
