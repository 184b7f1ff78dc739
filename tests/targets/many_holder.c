// Tracee for the size-cap tests: holds NFDS open fds (dups of /dev/null) and
// NTHREADS sleeping threads, prints "READY", then waits. Further arguments
// are ignored: they only make a long command line, as a JVM's classpath does.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static void* sleeper(void* arg) {
  (void)arg;
  for (;;) poll(NULL, 0, 100000);
  return NULL;
}

int main(int argc, char** argv) {
  // Never outlive the test that started us.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc < 3) {
    fprintf(stderr, "usage: many_holder NFDS NTHREADS [PADDING...]\n");
    return 2;
  }
  long nfds = strtol(argv[1], NULL, 10);
  long nthreads = strtol(argv[2], NULL, 10);
  if (nfds < 0 || nfds > 1000000 || nthreads < 0 || nthreads > 100000) {
    fprintf(stderr, "many_holder: counts out of range\n");
    return 2;
  }
  if (nfds > 0) {
    // Room for the fds: raising the hard limit needs root, the soft one not.
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)nfds + 64;
    if (rl.rlim_cur < want) {
      rl.rlim_cur = want;
      if (rl.rlim_max < want) rl.rlim_max = want;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("setrlimit");
        return 1;
      }
    }
    int base = open("/dev/null", O_RDONLY);
    if (base < 0) {
      perror("open /dev/null");
      return 1;
    }
    for (long i = 1; i < nfds; ++i)
      if (dup(base) < 0) {
        perror("dup");
        return 1;
      }
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // Small stacks: thousands of threads must not need gigabytes.
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (long i = 0; i < nthreads; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, sleeper, NULL) != 0) {
      fprintf(stderr, "many_holder: pthread_create failed after %ld threads\n", i);
      return 1;
    }
  }
  printf("READY\n");
  fflush(stdout);
  for (;;) pause();
}
