/* Runs a command with perf_event_open refused, the way Docker's default
 * seccomp profile refuses it in a container:
 *   deny_perf CMD ARGS...
 * sets no_new_privs, installs a seccomp filter that makes perf_event_open
 * fail with EPERM (every other syscall is allowed), then execs CMD (searched
 * in PATH). The filter is inherited by CMD and all its children. Prints why
 * and exits 127 when anything fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __x86_64__
/* The filter checks for AUDIT_ARCH_X86_64 and x86_64 syscall numbers. */
#error "deny_perf is written for x86_64"
#endif

/* x32 programs run with arch AUDIT_ARCH_X86_64 too and set this bit in the
 * syscall number; refuse their perf_event_open as well. */
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static int install_filter(void) {
  struct sock_filter insns[] = {
      /* A syscall of another ABI (i386 via int 0x80) has other numbers:
       * refuse to guess, and kill. */
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_perf_event_open, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __X32_SYSCALL_BIT | __NR_perf_event_open, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  struct sock_fprog prog = {
      .len = (unsigned short)(sizeof insns / sizeof insns[0]),
      .filter = insns,
  };
  /* Without CAP_SYS_ADMIN the kernel accepts a filter only under
   * no_new_privs; set it always so root and non-root behave the same. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "deny_perf: prctl(PR_SET_NO_NEW_PRIVS): %s\n", strerror(errno));
    return -1;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
    fprintf(stderr, "deny_perf: installing the seccomp filter: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: deny_perf CMD ARGS...  (runs CMD with perf_event_open refused)\n");
    return 127;
  }
  if (install_filter() != 0) return 127;
  execvp(argv[1], argv + 1);
  fprintf(stderr, "deny_perf: cannot run %s: %s\n", argv[1], strerror(errno));
  return 127;
}
