// Tracee for ps/inspect tests: holds one of each kind of fd and two named
// threads, prints "READY <listen_port> <client_local_port>", then waits.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void* worker(void* arg) {
  (void)arg;
  // Blocks in the kernel so the thread shows a wchan; the process exit ends it.
  for (;;) poll(NULL, 0, 1000);
  return NULL;
}

static int tcp4_socket(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  return s;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int local_port(int s) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(s, (struct sockaddr*)&a, &len) < 0) die("getsockname");
  return ntohs(a.sin_port);
}

int main(int argc, char** argv) {
  // Never outlive the test that started us.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc < 2) {
    fprintf(stderr, "usage: fd_holder FILE\n");
    return 2;
  }
  // /proc/PID/environ shows the environment given to execve, not later
  // setenv() calls, so put the secret there by running ourselves again.
  if (!getenv("SONDE_SECRET")) {
    // Exec the real path, not /proc/self/exe: comm comes from its basename.
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) die("readlink");
    self[n] = '\0';
    setenv("SONDE_SECRET", "hunter2", 1);
    execv(self, argv);
    die("execv");
  }
  if (open(argv[1], O_RDONLY) < 0) die("open");

  int p[2];
  if (pipe(p) < 0) die("pipe");

  int lst = tcp4_socket();
  struct sockaddr_in a = loopback(0);
  if (bind(lst, (struct sockaddr*)&a, sizeof a) < 0 || listen(lst, 4) < 0) die("listen");
  int listen_port = local_port(lst);

  int cli = tcp4_socket();
  a = loopback(listen_port);
  if (connect(cli, (struct sockaddr*)&a, sizeof a) < 0) die("connect");
  if (accept(lst, NULL, NULL) < 0) die("accept");

  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  a = loopback(0);
  if (udp < 0 || bind(udp, (struct sockaddr*)&a, sizeof a) < 0) die("udp");

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) die("socketpair");

  const char* names[] = {"sonde-worker1", "sonde-worker2"};
  for (int i = 0; i < 2; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) die("pthread_create");
    pthread_setname_np(t, names[i]);
  }
  printf("READY %d %d\n", listen_port, local_port(cli));
  fflush(stdout);

  // Bounded: gone after 120 s even if nobody kills us.
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += 120;
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL);
  return 0;
}
