/* A program that makes a known sequence of syscalls and writes what each
 * one returned to a file: what sonde inject and strace -e inject= must make
 * it see alike. The file is opened with creat(2) and written with write(2),
 * which the tests' rules leave alone.
 *
 *   fault_probe OUT [fork] [connect PORT]
 *
 * Per process: 8 openat of /etc/hostname (closed when they succeed), 8 read
 * of one byte from /dev/zero, 4 getppid, 4 close of a bad fd (-1: EBADF),
 * and with `connect PORT` 3 connects to 127.0.0.1:PORT and 3 to
 * 127.0.0.2:PORT. With `fork`, a child does the same after the parent
 * (per-process counting). Each line: "ROLE NAME INDEX RET ERRNO" (an
 * openat that returned an fd shows 0). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int out_fd = -1;

static void note(const char* role, const char* name, int i, long ret, int err) {
  char line[128];
  int n = snprintf(line, sizeof line, "%s %s %d %ld %d\n", role, name, i, ret, ret < 0 ? err : 0);
  if (n > 0 && write(out_fd, line, (size_t)n) < 0) _exit(3);
}

static void try_connect(const char* role, const char* addr, int port, int i) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) _exit(4);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  long r = syscall(SYS_connect, s, &sa, sizeof sa);
  note(role, addr[8] == '1' ? "connect1" : "connect2", i, r, errno);
  syscall(SYS_close, s);
}

static void run(const char* role, int port) {
  for (int i = 1; i <= 8; ++i) {
    long fd = syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
    /* Which fd it got depends on what the runner left open: only "an fd". */
    note(role, "openat", i, fd >= 0 ? 0 : fd, errno);
    if (fd >= 0) syscall(SYS_close, fd);
  }
  long zero = syscall(SYS_open, "/dev/zero", O_RDONLY);
  if (zero < 0) _exit(5);
  for (int i = 1; i <= 8; ++i) {
    char b;
    long r = syscall(SYS_read, zero, &b, 1);
    note(role, "read", i, r, errno);
  }
  for (int i = 1; i <= 4; ++i) note(role, "getppid", i, syscall(SYS_getppid) > 0 ? 1 : 0, 0);
  for (int i = 1; i <= 4; ++i) {
    long r = syscall(SYS_close, -1);
    note(role, "close", i, r, errno);
  }
  if (port > 0)
    for (int i = 1; i <= 3; ++i) {
      try_connect(role, "127.0.0.1", port, i);
      try_connect(role, "127.0.0.2", port, i);
    }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fault_probe OUT [fork] [connect PORT]\n");
    return 2;
  }
  int do_fork = 0, port = 0;
  for (int i = 2; i < argc; ++i) {
    if (strcmp(argv[i], "fork") == 0) do_fork = 1;
    if (strcmp(argv[i], "connect") == 0 && i + 1 < argc) port = atoi(argv[++i]);
  }
  out_fd = (int)syscall(SYS_creat, argv[1], 0644);
  if (out_fd < 0) return 6;
  run("parent", port);
  if (do_fork) {
    pid_t c = fork();
    if (c == 0) {
      run("child", port);
      _exit(0);
    }
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
    }
  }
  return 0;
}
