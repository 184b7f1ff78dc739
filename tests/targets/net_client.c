/* A tracee with known, deterministic IO and network syscalls, for decoded-line
 * tests against strace:
 *   net_client PORT
 *     openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 3, read(3, buf, 4096), close(3)
 *     socket(AF_INET, SOCK_STREAM, 0) = 3; connect(3, 127.0.0.1:PORT) = -1
 *       ECONNREFUSED when nothing listens on PORT (the socket stays open)
 *     socket(AF_INET, SOCK_DGRAM, 0) = 4; sendto(4, "ping sonde", 10, 0,
 *       127.0.0.1:PORT, 16) = 10
 *     write(1, "done\n", 5) = 5; exit 0
 * It first closes whatever fds >= 3 it inherited (close_range), and uses no
 * stdio before these calls, so the fd numbers are fixed whoever starts it.
 * Exits 1 (with a message on stderr) if any step does not go as described.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char* what) {
  int e = errno;
  const char* msg = strerror(e);
  (void)!write(2, "net_client: ", 12);
  (void)!write(2, what, strlen(what));
  (void)!write(2, ": ", 2);
  (void)!write(2, msg, strlen(msg));
  (void)!write(2, "\n", 1);
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    static const char usage[] = "usage: net_client PORT\n";
    (void)!write(2, usage, sizeof usage - 1);
    return 2;
  }
  int port = atoi(argv[1]);
  /* A test runner may leak fds into us (ctest does): start from 0, 1, 2. */
  syscall(SYS_close_range, 3U, ~0U, 0U);

  int fd = open("/etc/hosts", O_RDONLY);
  if (fd != 3) return fail("open /etc/hosts (expected fd 3)");
  char buf[4096];
  if (read(fd, buf, sizeof buf) < 0) return fail("read /etc/hosts");
  close(fd);

  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  if (tcp != 3) return fail("socket SOCK_STREAM (expected fd 3)");
  if (connect(tcp, (struct sockaddr*)&sa, sizeof sa) == 0 || errno != ECONNREFUSED)
    return fail("connect (expected ECONNREFUSED)");

  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  if (udp != 4) return fail("socket SOCK_DGRAM (expected fd 4)");
  if (sendto(udp, "ping sonde", 10, 0, (struct sockaddr*)&sa, sizeof sa) != 10)
    return fail("sendto");

  if (write(1, "done\n", 5) != 5) return fail("write");
  return 0;
}
