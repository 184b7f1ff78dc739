#include "sonde/proc/thread.h"

#include <cstdio>

#include "sonde/common/io.h"
#include "sonde/proc/stat.h"

namespace sonde::proc {
namespace {

std::string task_path(pid_t pid, pid_t tid, const char* what) {
  return fmt::format("/proc/{}/task/{}/{}", pid, tid, what);
}

}  // namespace

char thread_state(pid_t pid, pid_t tid) {
  auto st = read_stat(task_path(pid, tid, "stat"));
  return st ? st->state : '?';
}

std::string thread_name(pid_t pid, pid_t tid) {
  auto st = read_stat(task_path(pid, tid, "stat"));
  return st ? st->comm : std::string();
}

bool thread_syscall(pid_t pid, pid_t tid, long* nr, uint64_t* sp, uint64_t* pc) {
  auto s = read_file(task_path(pid, tid, "syscall"), 512);
  if (!s.ok()) return false;
  // "nr a1 a2 a3 a4 a5 a6 sp pc", or "running" / "-1 sp pc".
  long n;
  unsigned long long a[6], s_, p_;
  if (std::sscanf(s->c_str(), "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &n, &a[0], &a[1],
                  &a[2], &a[3], &a[4], &a[5], &s_, &p_) != 9)
    return false;
  *nr = n;
  *sp = s_;
  *pc = p_;
  return true;
}

}  // namespace sonde::proc
