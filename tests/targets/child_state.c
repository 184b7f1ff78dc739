// Reports the state it was started in, for the launch tests: its blocked and
// ignored signal masks (SigBlk, SigIgn from /proc/self/status) and its open
// fds. Usage: child_state OUTFILE. Writes one line to OUTFILE (created with
// O_TRUNC, opened after the listing so it is not in it):
//   SigBlk=<hex> SigIgn=<hex> fds=0,1,2
// then prints READY on stdout when it can. A launched command's stdout is
// not always the test's, hence the file.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void field(const char* status, const char* name, char* out, size_t n) {
  const char* p = strstr(status, name);
  snprintf(out, n, "?");
  if (!p) return;
  p += strlen(name);
  while (*p == ' ' || *p == '\t') ++p;
  size_t i = 0;
  while (p[i] && p[i] != '\n' && i + 1 < n) {
    out[i] = p[i];
    ++i;
  }
  out[i] = '\0';
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: child_state OUTFILE\n");
    return 2;
  }
  // The fd listing first: nothing of ours is open yet but the directory.
  char fds[4096] = "";
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 3;
  int own = dirfd(d);
  int list[512], count = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = atoi(e->d_name);
    if (fd != own && count < 512) list[count++] = fd;
  }
  closedir(d);
  for (int i = 1; i < count; ++i)
    for (int j = i; j > 0 && list[j - 1] > list[j]; --j) {
      int t = list[j];
      list[j] = list[j - 1];
      list[j - 1] = t;
    }
  for (int i = 0; i < count; ++i) {
    char one[16];
    snprintf(one, sizeof one, "%s%d", i ? "," : "", list[i]);
    strncat(fds, one, sizeof fds - strlen(fds) - 1);
  }

  char status[16384];
  int sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (sfd < 0) return 4;
  ssize_t n = read(sfd, status, sizeof status - 1);
  close(sfd);
  if (n <= 0) return 4;
  status[n] = '\0';
  char blk[64], ign[64];
  field(status, "SigBlk:", blk, sizeof blk);
  field(status, "SigIgn:", ign, sizeof ign);

  FILE* out = fopen(argv[1], "we");
  if (!out) return 5;
  fprintf(out, "SigBlk=%s SigIgn=%s fds=%s\n", blk, ign, fds);
  fclose(out);
  printf("READY\n");
  return 0;
}
