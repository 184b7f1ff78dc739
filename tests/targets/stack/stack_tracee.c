// Tracee with known stacks for `sonde stack` and `sonde profile`, built in
// several variants (frame pointers or not, PIE or not, stripped). Each mode
// reaches a known state, prints "READY <pid>" and stays there until killed:
//
//   chain        main → chain_a → chain_b → chain_c (sleeps in nanosleep)
//   recurse N    main → recurse(N) … recurse(1) → recurse_leaf (sleeps)
//   threads      threads "alpha" "beta" "gamma": worker_X → hot_X (spin);
//                main waits in pthread_join
//   spin         main → spin_a → spin_b → hot_spin (spins)
//   lib          main → lib_caller → sonde_hot_loop (libsonde_hot.so, spins)
//   sleep        main → sleep_wait (poll); thread "spinner":
//                spinner_thread → hot_spin
//   many N       N threads park_thread (nanosleep); main in pthread_join
//   signal       main → chain_a → chain_b → chain_c spins until SIGALRM;
//                the handler sig_handler_spin prints READY and spins
//   work N       N units of ~1 ms CPU work (main → work_unit), then prints
//                "WORK <ns> ns" (the loop on CLOCK_MONOTONIC) and exits 0
//   jit          jit_caller spins in anonymous executable memory (no file, no CFI)
//   work-wait N  prints READY, waits for SIGUSR1 (so a profiler can attach
//                first; at most 60 s), then runs `work N`
//
// Every named function is a frame of its own: never inlined, cloned or
// folded (noipa), and never left by a tail call (-fno-optimize-sibling-calls
// and an empty asm after each call). The functions are global so that the
// stripped variant, linked with -rdynamic, still names them in .dynsym.
// Two helpers are always inlined, on purpose, so that debug info describes
// inline frames at known places: sleep_ms (in chain_c, recurse_leaf and
// park_thread, around the nanosleep call) and run_threads / run_many (in
// main, around pthread_join). The stripped variant has no debug info, so
// there these inline frames are absent.
// Whatever the mode, a timer ends the process after 10 minutes.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hot_lib.h"

#if defined(__clang__)
#define FRAME __attribute__((noinline, disable_tail_calls))
#else
#define FRAME __attribute__((noinline, noipa))
#endif
// Code after a call keeps the caller's frame live, so no call is a tail call.
#define AFTER_CALL() __asm__ volatile("" ::: "memory")
// An inline frame at a known place (see above).
#define INLINE_FRAME static inline __attribute__((always_inline))

// One ~1 ms unit of `work` on this project's VM (calibrated at -O2).
#define WORK_UNIT_ROUNDS 580000L

static const long kLifetimeSeconds = 600;

volatile unsigned long g_sink;
static atomic_int g_started;

// Prototypes for the frames (global, see above).
void chain_a(int spin);
void chain_b(int spin);
void chain_c(int spin);
int recurse(int n);
void recurse_leaf(void);
void hot_alpha(void);
void hot_beta(void);
void hot_gamma(void);
void* worker_alpha(void* arg);
void* worker_beta(void* arg);
void* worker_gamma(void* arg);
void spin_a(void);
void spin_b(void);
void hot_spin(void);
void lib_caller(void);
void sleep_wait(void);
void* spinner_thread(void* arg);
void* park_thread(void* arg);
unsigned long work_unit(unsigned long seed);
void sig_handler_spin(int sig);

static void announce_ready(void) {
  printf("READY %d\n", (int)getpid());
  fflush(stdout);
}

// A SIGTERM after kLifetimeSeconds, whatever the process is doing: a tracee a
// test forgot still goes away. (Not alarm(): `signal` mode owns SIGALRM.)
static void arm_lifetime_limit(void) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGTERM;
  timer_t t;
  if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) {
    perror("timer_create");
    exit(1);
  }
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = kLifetimeSeconds;
  if (timer_settime(t, 0, &its, NULL) != 0) {
    perror("timer_settime");
    exit(1);
  }
}

INLINE_FRAME void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Spins in the calling function's own code: only a store, no call.
#define BURN_FOREVER() \
  for (;;) g_sink = g_sink * 6364136223846793005UL + 1442695040888963407UL

static void wait_started(int n) {
  while (atomic_load(&g_started) < n) sleep_ms(1);
}

// --- chain / signal ---------------------------------------------------------

FRAME void sig_handler_spin(int sig) {
  // write(), not stdio: the handler interrupted arbitrary code.
  char buf[32] = "READY ";
  char digits[16];
  int n = 0, len = 6;
  for (int pid = (int)getpid(); pid > 0 && n < 16; pid /= 10) digits[n++] = (char)('0' + pid % 10);
  while (n > 0) buf[len++] = digits[--n];
  buf[len++] = '\n';
  (void)!write(1, buf, (size_t)len);
  (void)sig;
  BURN_FOREVER();
}

FRAME void chain_c(int spin) {
  if (spin) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sig_handler_spin;
    sigaction(SIGALRM, &sa, NULL);
    // SIGALRM lands while this very loop runs: the signal frame's interrupted
    // pc is mid-function in chain_c, not at a call.
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    BURN_FOREVER();
  }
  announce_ready();
  for (;;) {
    sleep_ms(1000);  // long: a dump must find it blocked, not woken and waiting for a CPU
    AFTER_CALL();
  }
}

FRAME void chain_b(int spin) {
  chain_c(spin);
  AFTER_CALL();
}

FRAME void chain_a(int spin) {
  chain_b(spin);
  AFTER_CALL();
}

// --- recurse ----------------------------------------------------------------

FRAME void recurse_leaf(void) {
  announce_ready();
  for (;;) {
    sleep_ms(20);
    AFTER_CALL();
  }
}

FRAME int recurse(int n) {
  if (n <= 1)
    recurse_leaf();
  else
    recurse(n - 1);
  AFTER_CALL();
  return n;
}

// --- threads ----------------------------------------------------------------

FRAME void hot_alpha(void) {
  atomic_fetch_add(&g_started, 1);
  BURN_FOREVER();
}

FRAME void hot_beta(void) {
  atomic_fetch_add(&g_started, 1);
  BURN_FOREVER();
}

FRAME void hot_gamma(void) {
  atomic_fetch_add(&g_started, 1);
  BURN_FOREVER();
}

FRAME void* worker_alpha(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "alpha");
  hot_alpha();
  AFTER_CALL();
  return NULL;
}

FRAME void* worker_beta(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "beta");
  hot_beta();
  AFTER_CALL();
  return NULL;
}

FRAME void* worker_gamma(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "gamma");
  hot_gamma();
  AFTER_CALL();
  return NULL;
}

static pthread_t start_thread_or_die(void* (*fn)(void*), void* arg) {
  pthread_t t;
  int e = pthread_create(&t, NULL, fn, arg);
  if (e != 0) {
    fprintf(stderr, "pthread_create: %s\n", strerror(e));
    exit(1);
  }
  return t;
}

INLINE_FRAME int run_threads(void) {
  pthread_t t[3];
  t[0] = start_thread_or_die(worker_alpha, NULL);
  t[1] = start_thread_or_die(worker_beta, NULL);
  t[2] = start_thread_or_die(worker_gamma, NULL);
  // Each worker counts itself from inside its hot function, so at READY
  // every thread is where the tests expect it.
  wait_started(3);
  announce_ready();
  pthread_join(t[0], NULL);
  return 0;
}

// --- spin / lib -------------------------------------------------------------

FRAME void hot_spin(void) {
  atomic_fetch_add(&g_started, 1);
  BURN_FOREVER();
}

FRAME void spin_b(void) {
  hot_spin();
  AFTER_CALL();
}

FRAME void spin_a(void) {
  announce_ready();
  spin_b();
  AFTER_CALL();
}

FRAME void lib_caller(void) {
  announce_ready();
  sonde_hot_loop();
  AFTER_CALL();
}

// --- sleep (wall mode) --------------------------------------------------------

FRAME void* spinner_thread(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "spinner");
  hot_spin();
  AFTER_CALL();
  return NULL;
}

FRAME void sleep_wait(void) {
  wait_started(1);
  announce_ready();
  for (;;) {
    poll(NULL, 0, 100);
    AFTER_CALL();
  }
}

// --- many -------------------------------------------------------------------

FRAME void* park_thread(void* arg) {
  (void)arg;
  atomic_fetch_add(&g_started, 1);
  for (;;) {
    sleep_ms(1000);
    AFTER_CALL();
  }
  return NULL;
}

INLINE_FRAME int run_many(int n) {
  pthread_t first = 0;
  for (int i = 0; i < n; i++) {
    pthread_t t = start_thread_or_die(park_thread, NULL);
    char name[16];
    snprintf(name, sizeof name, "park-%d", i);
    pthread_setname_np(t, name);
    if (i == 0) first = t;
  }
  wait_started(n);
  announce_ready();
  pthread_join(first, NULL);
  return 0;
}

// --- work -------------------------------------------------------------------

// A dependent xorshift chain: the same instructions every time, nothing the
// compiler can fold away.
FRAME unsigned long work_unit(unsigned long seed) {
  unsigned long x = seed | 1;
  for (long i = 0; i < WORK_UNIT_ROUNDS; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

static int run_work(long iters) {
  long long t0 = now_ns();
  unsigned long x = 1;
  for (long i = 0; i < iters; i++) {
    x = work_unit(x + (unsigned long)i);
    AFTER_CALL();
  }
  long long dt = now_ns() - t0;
  g_sink = x;
  printf("WORK %lld ns\n", dt);
  fflush(stdout);
  return 0;
}

static int wait_usr1(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  announce_ready();
  struct timespec limit = {60, 0};
  int got;
  // A ptrace attach interrupts sigtimedwait with EINTR: wait again.
  do got = sigtimedwait(&set, NULL, &limit);
  while (got < 0 && errno == EINTR);
  return got == SIGUSR1 ? 0 : -1;
}

// --- main -------------------------------------------------------------------

static void usage(void) {
  fprintf(stderr,
          "usage: stack_tracee chain | recurse N | threads | spin | lib | jit | sleep | many N |\n"
          "                    signal | work N | work-wait N\n");
}

static long count_arg(int argc, char** argv, long lo, long hi) {
  if (argc < 3) return -1;
  char* end;
  long v = strtol(argv[2], &end, 10);
  if (*end != '\0' || v < lo || v > hi) return -1;
  return v;
}

// `jit`: spins in code that no file maps, as JIT-compiled code does: the
// profiler must show it as [unknown 0x...] and still name what it can.
__attribute__((noinline)) int jit_caller(void) {
  // jmp . (EB FE): a loop with no CFI anywhere.
  unsigned char* code =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) return 3;
  code[0] = 0xeb;
  code[1] = 0xfe;
  announce_ready();
  ((void (*)(void))code)();
  AFTER_CALL();
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  arm_lifetime_limit();
  const char* mode = argv[1];
  if (strcmp(mode, "chain") == 0) {
    chain_a(0);
  } else if (strcmp(mode, "signal") == 0) {
    chain_a(1);
  } else if (strcmp(mode, "recurse") == 0) {
    long n = count_arg(argc, argv, 1, 10000);
    if (n < 0) {
      usage();
      return 2;
    }
    recurse((int)n);
  } else if (strcmp(mode, "threads") == 0) {
    return run_threads();
  } else if (strcmp(mode, "spin") == 0) {
    spin_a();
  } else if (strcmp(mode, "lib") == 0) {
    lib_caller();
  } else if (strcmp(mode, "jit") == 0) {
    return jit_caller();
  } else if (strcmp(mode, "sleep") == 0) {
    start_thread_or_die(spinner_thread, NULL);
    sleep_wait();
  } else if (strcmp(mode, "many") == 0) {
    long n = count_arg(argc, argv, 1, 1024);
    if (n < 0) {
      usage();
      return 2;
    }
    return run_many((int)n);
  } else if (strcmp(mode, "work") == 0 || strcmp(mode, "work-wait") == 0) {
    long n = count_arg(argc, argv, 0, 100000000L);
    if (n < 0) {
      usage();
      return 2;
    }
    if (strcmp(mode, "work-wait") == 0 && wait_usr1() != 0) return 3;
    return run_work(n);
  } else {
    usage();
    return 2;
  }
  AFTER_CALL();
  return 0;
}
