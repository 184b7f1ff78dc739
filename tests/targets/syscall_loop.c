/* A tracee that makes a known number of known syscalls.
 *   syscall_loop getppid N     N getppid() calls, then "DONE N <loop ns>"
 *   syscall_loop rw N          N one-byte write()+read() pairs through a pipe
 *   syscall_loop sock N        N one-byte write()+read() pairs over a TCP
 *                              connection on 127.0.0.1 (every call on a socket)
 *   syscall_loop mixed N       N rounds of getppid, a pipe write+read, and an
 *                              openat+close of /dev/null; "DONE N <ns> FAILED F"
 *   syscall_loop fdswap        one fd number that is a UDP socket, then /dev/null
 *                              (dup2 over it), then another UDP socket (close,
 *                              socket), then /dev/null again (close, open): a
 *                              one-byte send or write on it each time
 *   syscall_loop wait MODE N   prints READY, waits for SIGUSR1 (so a tracer
 *                              can attach first), then runs MODE N
 *   syscall_loop signals       counts SIGUSR1 in a handler; prints READY; on
 *                              SIGUSR2 prints "USR1 <count>" and exits 0
 *   syscall_loop sleeper S     prints READY, then a ticking nanosleep loop for
 *                              at most S seconds, printing "TICK n" each 100 ms
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count = 0;
static volatile sig_atomic_t usr2_seen = 0;

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
}
static void on_usr2(int sig) {
  (void)sig;
  usr2_seen = 1;
}

/* A socket of this type bound to 127.0.0.1 on a port the kernel picks; *a
 * gets its address. -1 on failure. */
static int loopback_socket(int type, struct sockaddr_in* a) {
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *a;
  int s = socket(AF_INET, type, 0);
  if (s < 0 || bind(s, (struct sockaddr*)a, sizeof *a) != 0 ||
      getsockname(s, (struct sockaddr*)a, &len) != 0)
    return -1;
  return s;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: syscall_loop getppid N | rw N | signals | sleeper S\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(argv[1], "wait") == 0 && argc > 3) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("READY\n");
    struct timespec limit = {60, 0};
    int got;
    /* A tracer attaching interrupts sigtimedwait with EINTR: wait again. */
    do got = sigtimedwait(&set, NULL, &limit);
    while (got < 0 && errno == EINTR);
    if (got != SIGUSR1) return 3;
    argv += 1;
    argc -= 1;
  }
  if (strcmp(argv[1], "getppid") == 0 && argc > 2) {
    long n = atol(argv[2]);
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    printf("DONE %ld %lld\n", n, now_ns() - t0);
    return 0;
  }
  if (strcmp(argv[1], "rw") == 0 && argc > 2) {
    long n = atol(argv[2]);
    int p[2];
    if (pipe(p) != 0) return 1;
    char c = 'x';
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
      if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) return 1;
    }
    printf("DONE %ld %lld\n", n, now_ns() - t0);
    return 0;
  }
  if (strcmp(argv[1], "sock") == 0 && argc > 2) {
    long n = atol(argv[2]);
    struct sockaddr_in a;
    int l = loopback_socket(SOCK_STREAM, &a);
    if (l < 0 || listen(l, 1) != 0) return 1;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr*)&a, sizeof a) != 0) return 1;
    int s = accept(l, NULL, NULL);
    if (s < 0) return 1;
    char b = 'x';
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
      if (write(c, &b, 1) != 1 || read(s, &b, 1) != 1) return 1;
    }
    printf("DONE %ld %lld\n", n, now_ns() - t0);
    return 0;
  }
  if (strcmp(argv[1], "mixed") == 0 && argc > 2) {
    /* A mixed workload: per round a getppid, a one-byte write+read through
     * a pipe, and an openat+close of /dev/null (an openat may fail: a fault
     * injected into it is counted, not fatal). */
    long n = atol(argv[2]), failed = 0;
    int p[2];
    if (pipe(p) != 0) return 1;
    char c = 'x';
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
      syscall(SYS_getppid);
      if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1) return 1;
      int f = openat(AT_FDCWD, "/dev/null", O_RDONLY);
      if (f < 0)
        failed++;
      else
        close(f);
    }
    printf("DONE %ld %lld FAILED %ld\n", n, now_ns() - t0, failed);
    return 0;
  }
  if (strcmp(argv[1], "fdswap") == 0) {
    struct sockaddr_in a;
    int s = loopback_socket(SOCK_DGRAM, &a);
    if (s < 0) return 1;
    /* To itself: the datagram is queued on its own socket. */
    if (sendto(s, "a", 1, 0, (struct sockaddr*)&a, sizeof a) != 1) return 1;
    int f = open("/dev/null", O_WRONLY);
    if (f < 0 || dup2(f, s) != s || write(s, "b", 1) != 1) return 1;
    close(f);
    close(s);
    int u = loopback_socket(SOCK_DGRAM, &a); /* the lowest free number: s's */
    if (u != s || sendto(u, "c", 1, 0, (struct sockaddr*)&a, sizeof a) != 1) return 1;
    close(u);
    int g = open("/dev/null", O_WRONLY);
    if (g != s || write(g, "d", 1) != 1) return 1;
    printf("DONE\n");
    return 0;
  }
  if (strcmp(argv[1], "signals") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    printf("READY\n");
    time_t end = time(NULL) + 60;
    while (!usr2_seen && time(NULL) < end) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    printf("USR1 %d\n", (int)usr1_count);
    return 0;
  }
  if (strcmp(argv[1], "sleeper") == 0) {
    long s = argc > 2 ? atol(argv[2]) : 60;
    printf("READY\n");
    for (long i = 0; i < s * 10; i++) {
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
      printf("TICK %ld\n", i);
    }
    return 0;
  }
  fprintf(stderr, "syscall_loop: unknown mode %s\n", argv[1]);
  return 2;
}
