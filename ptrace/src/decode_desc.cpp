// Descriptor IO: read/write and their vectored and positional forms, poll,
// select, epoll, dup, pipe, fcntl, ioctl.
#include <asm/unistd_64.h>
#include <poll.h>
#include <sys/uio.h>

#include <fmt/format.h>

#include "decode_internal.h"

namespace sonde::ptrace::detail {
namespace {

constexpr Named kPollEvents[] = {
    {0x1, "POLLIN"},       {0x2, "POLLPRI"},      {0x4, "POLLOUT"},     {0x8, "POLLERR"},
    {0x10, "POLLHUP"},     {0x20, "POLLNVAL"},    {0x40, "POLLRDNORM"}, {0x80, "POLLRDBAND"},
    {0x100, "POLLWRNORM"}, {0x200, "POLLWRBAND"}, {0x400, "POLLMSG"},   {0x1000, "POLLREMOVE"},
    {0x2000, "POLLRDHUP"},
};
constexpr Named kEpollEvents[] = {
    {0x1, "EPOLLIN"},
    {0x2, "EPOLLPRI"},
    {0x4, "EPOLLOUT"},
    {0x8, "EPOLLERR"},
    {0x10, "EPOLLHUP"},
    {0x20, "EPOLLNVAL"},
    {0x40, "EPOLLRDNORM"},
    {0x80, "EPOLLRDBAND"},
    {0x100, "EPOLLWRNORM"},
    {0x200, "EPOLLWRBAND"},
    {0x400, "EPOLLMSG"},
    {0x2000, "EPOLLRDHUP"},
    {1u << 28, "EPOLLEXCLUSIVE"},
    {1u << 29, "EPOLLWAKEUP"},
    {1u << 30, "EPOLLONESHOT"},
    {1u << 31, "EPOLLET"},
};
constexpr Named kEpollOps[] = {{1, "EPOLL_CTL_ADD"}, {2, "EPOLL_CTL_DEL"}, {3, "EPOLL_CTL_MOD"}};
constexpr Named kEpollCreate[] = {{0x80000, "EPOLL_CLOEXEC"}};
constexpr Named kCloexec[] = {{02000000, "O_CLOEXEC"}};
constexpr Named kPipeFlags[] = {{0x80, "O_NOTIFICATION_PIPE"},
                                {04000, "O_NONBLOCK"},
                                {040000, "O_DIRECT"},
                                {02000000, "O_CLOEXEC"}};
constexpr Named kFdFlags[] = {{1, "FD_CLOEXEC"}};
constexpr Named kFcntlCmds[] = {
    {0, "F_DUPFD"},         {1, "F_GETFD"},         {2, "F_SETFD"},
    {3, "F_GETFL"},         {4, "F_SETFL"},         {5, "F_GETLK"},
    {6, "F_SETLK"},         {7, "F_SETLKW"},        {8, "F_SETOWN"},
    {9, "F_GETOWN"},        {10, "F_SETSIG"},       {11, "F_GETSIG"},
    {15, "F_SETOWN_EX"},    {16, "F_GETOWN_EX"},    {36, "F_OFD_GETLK"},
    {37, "F_OFD_SETLK"},    {38, "F_OFD_SETLKW"},   {1024, "F_SETLEASE"},
    {1025, "F_GETLEASE"},   {1026, "F_NOTIFY"},     {1030, "F_DUPFD_CLOEXEC"},
    {1031, "F_SETPIPE_SZ"}, {1032, "F_GETPIPE_SZ"}, {1033, "F_ADD_SEALS"},
    {1034, "F_GET_SEALS"},
};
constexpr Named kIoctls[] = {
    {0x5401, "TCGETS"},     {0x5402, "TCSETS"},    {0x5403, "TCSETSW"},   {0x5404, "TCSETSF"},
    {0x540E, "TIOCSCTTY"},  {0x540F, "TIOCGPGRP"}, {0x5410, "TIOCSPGRP"}, {0x5413, "TIOCGWINSZ"},
    {0x5414, "TIOCSWINSZ"}, {0x541B, "FIONREAD"},  {0x5421, "FIONBIO"},   {0x5422, "TIOCNOTTY"},
    {0x5450, "FIONCLEX"},   {0x5451, "FIOCLEX"},   {0x5452, "FIOASYNC"},
};

// The epoll_event of x86-64 is packed (12 bytes).
struct __attribute__((packed)) EpollEvent {
  uint32_t events;
  uint64_t data;
};

std::string epoll_event_text(const EpollEvent& e) {
  return fmt::format("{{events={}, data={{u32={}, u64={}}}}}", flags_text(e.events, kEpollEvents),
                     static_cast<uint32_t>(e.data), e.data);
}

// Buffer of a read-like call: only the ret bytes the kernel filled.
void in_buffer(Call& c, const char* name, int i) {
  if (!c.succeeded()) {
    c.ptr(name, i);
    return;
  }
  c.buffer(name, i, static_cast<uint64_t>(c.ret()));
}

void iovec_arg(Call& c, const char* name, int i, int count_arg, bool reading) {
  if (reading && !c.succeeded()) {
    c.ptr(name, i);
    return;
  }
  int64_t limit = reading ? c.ret() : -1;
  c.add(name, c.arg(i), iovec_text(c, c.arg(i), c.arg(count_arg), limit));
}

// "[{fd=3, events=POLLIN}]"; with revents_only, the entries that fired.
std::string pollfds_text(Call& c, uint64_t addr, uint64_t n, bool revents_only) {
  if (addr == 0) return "NULL";
  std::string out = "[";
  size_t shown = 0;
  size_t cap = array_limit(c);
  for (uint64_t k = 0; k < n && k < 65536; ++k) {
    struct pollfd p;
    if (!c.read_obj(addr + k * sizeof p, p)) {
      if (k == 0) return ptr_text(addr);
      break;
    }
    if (revents_only && p.revents == 0) continue;
    if (shown == cap) {
      out += ", ...";
      break;
    }
    if (shown++) out += ", ";
    if (revents_only) {
      out += fmt::format("{{fd={}, revents={}}}", p.fd,
                         flags_text(static_cast<uint16_t>(p.revents), kPollEvents));
    } else {
      out += fmt::format("{{fd={}, events={}}}", p.fd,
                         flags_text(static_cast<uint16_t>(p.events), kPollEvents));
    }
  }
  return out + "]";
}

void poll_common(Call& c) {
  c.add("fds", c.arg(0), pollfds_text(c, c.arg(0), c.arg(1), false));
  c.ulong("nfds", 1);
  if (c.succeeded() && c.ret() > 0) c.set_ret_note(pollfds_text(c, c.arg(0), c.arg(1), true));
}

std::string timeval_text(Call& c, uint64_t addr) {
  struct Tv {
    int64_t sec;
    int64_t usec;
  } tv;
  if (addr == 0) return "NULL";
  if (!c.read_obj(addr, tv)) return ptr_text(addr);
  return fmt::format("{{tv_sec={}, tv_usec={}}}", tv.sec, tv.usec);
}

std::string epoll_events_out(Call& c, uint64_t addr) {
  if (!c.succeeded()) return ptr_text(addr);
  std::string out = "[";
  size_t cap = array_limit(c);
  for (int64_t k = 0; k < c.ret(); ++k) {
    if (static_cast<size_t>(k) == cap) {
      out += ", ...";
      break;
    }
    EpollEvent e;
    if (!c.read_obj(addr + static_cast<uint64_t>(k) * sizeof e, e)) {
      if (k == 0) return ptr_text(addr);
      break;
    }
    if (k) out += ", ";
    out += epoll_event_text(e);
  }
  return out + "]";
}

// pipe's out array: "[3, 4]".
void pipefds(Call& c) {
  int32_t fds[2];
  if (c.succeeded() && c.read_obj(c.arg(0), fds)) {
    // fmt, not `"[" + string`: GCC 12 -O3's false -Wrestrict (bug 105651).
    c.add("pipefd", json::array({fds[0], fds[1]}),
          fmt::format("[{}, {}]", c.fd_text(fds[0]), c.fd_text(fds[1])));
  } else {
    c.ptr("pipefd", 0);
  }
}

void fcntl_args(Call& c) {
  c.fd("fd", 0);
  c.enumv("cmd", 1, kFcntlCmds, "F_");
  switch (c.arg(1)) {
    case 1:  // F_GETFD
      if (c.succeeded())
        c.set_ret_note("flags " + flags_text(static_cast<uint64_t>(c.ret()), kFdFlags));
      return;
    case 3:  // F_GETFL
      if (c.succeeded()) {
        c.set_ret_hex();
        c.set_ret_note("flags " + open_flags_text(static_cast<uint64_t>(c.ret())));
      }
      return;
    case 9:
    case 11:
    case 1025:
    case 1032:
    case 1034:
      return;
    case 2:  // F_SETFD
      c.flags("arg", 2, kFdFlags);
      return;
    case 4:  // F_SETFL
      c.add("arg", c.arg(2), open_flags_text(c.arg(2)));
      return;
    case 5:
    case 6:
    case 7:
    case 15:
    case 16:
    case 36:
    case 37:
    case 38:
      c.ptr("arg", 2);
      return;
    default:
      c.sint("arg", 2);
      return;
  }
}

void ioctl_args(Call& c) {
  c.fd("fd", 0);
  uint32_t req = static_cast<uint32_t>(c.arg(1));
  c.add("request", req, enum_text(req, kIoctls, nullptr));
  int32_t v = 0;
  if (req == 0x541B && c.succeeded() && c.read_obj(c.arg(2), v)) {  // FIONREAD: out int
    c.add("argp", v, fmt::format("[{}]", v));
  } else if ((req == 0x5421 || req == 0x5452) && c.read_obj(c.arg(2), v)) {  // FIONBIO: in int
    c.add("argp", v, fmt::format("[{}]", v));
  } else if (req == 0x5450 || req == 0x5451 || req == 0x5422) {
    // FIONCLEX, FIOCLEX, TIOCNOTTY take no argument: strace shows none.
  } else {
    c.ptr("argp", 2);
  }
}

}  // namespace

std::string iovec_text(Call& c, uint64_t addr, uint64_t count, int64_t data_limit) {
  if (addr == 0) return "NULL";
  std::string out = "[";
  size_t cap = array_limit(c);
  uint64_t remaining = data_limit < 0 ? UINT64_MAX : static_cast<uint64_t>(data_limit);
  for (uint64_t k = 0; k < count && k < 1024; ++k) {
    if (k == cap) {
      out += ", ...";
      break;
    }
    struct iovec v;
    if (!c.read_obj(addr + k * sizeof v, v)) {
      if (k == 0) return ptr_text(addr);
      out += ", ...";
      break;
    }
    if (k) out += ", ";
    auto base = reinterpret_cast<uint64_t>(v.iov_base);
    uint64_t show = std::min<uint64_t>(v.iov_len, remaining);
    remaining -= show;
    std::string data;
    size_t want = static_cast<size_t>(std::min<uint64_t>(show, c.opts().string_limit));
    auto bytes = c.read_bytes(base, want);
    if (base != 0 && bytes && bytes->size() == want) {
      data = quote_bytes(*bytes, want, show > want);
    } else {
      data = ptr_text(base);
    }
    out += fmt::format("{{iov_base={}, iov_len={}}}", data, v.iov_len);
  }
  return out + "]";
}

std::string fdset_text(Call& c, uint64_t addr, int nfds) {
  if (addr == 0) return "NULL";
  if (nfds <= 0) return "[]";
  // The kernel caps nfds at the fd limit; we cap what we read.
  size_t bits = static_cast<size_t>(std::min(nfds, 65536));
  auto bytes = c.read_bytes(addr, (bits + 7) / 8);
  if (!bytes || bytes->size() < (bits + 7) / 8) return ptr_text(addr);
  std::string out = "[";
  bool first = true;
  for (size_t fd = 0; fd < bits; ++fd) {
    if ((static_cast<unsigned char>((*bytes)[fd / 8]) >> (fd % 8)) & 1) {
      if (!first) out += ' ';
      first = false;
      out += std::to_string(fd);
    }
  }
  return out + "]";
}

bool decode_desc(Call& c) {
  switch (c.nr()) {
    case __NR_read:
      c.fd("fd", 0);
      in_buffer(c, "buf", 1);
      c.ulong("count", 2);
      return true;
    case __NR_write:
      c.fd("fd", 0);
      c.buffer("buf", 1, c.arg(2));
      c.ulong("count", 2);
      return true;
    case __NR_pread64:
      c.fd("fd", 0);
      in_buffer(c, "buf", 1);
      c.ulong("count", 2);
      c.slong("offset", 3);
      return true;
    case __NR_pwrite64:
      c.fd("fd", 0);
      c.buffer("buf", 1, c.arg(2));
      c.ulong("count", 2);
      c.slong("offset", 3);
      return true;
    case __NR_readv:
    case __NR_writev:
    case __NR_preadv:
    case __NR_pwritev:
    case __NR_preadv2:
    case __NR_pwritev2: {
      bool reading = c.nr() == __NR_readv || c.nr() == __NR_preadv || c.nr() == __NR_preadv2;
      c.fd("fd", 0);
      iovec_arg(c, "iov", 1, 2, reading);
      c.sint("iovcnt", 2);
      if (c.nr() != __NR_readv && c.nr() != __NR_writev) {
        // The kernel takes the offset split in two registers (low, high).
        c.add("offset", c.arg(3), std::to_string(static_cast<int64_t>(c.arg(3))));
      }
      if (c.nr() == __NR_preadv2 || c.nr() == __NR_pwritev2) c.xarg("flags", 5);
      return true;
    }
    case __NR_poll:
      poll_common(c);
      c.sint("timeout", 2);
      return true;
    case __NR_ppoll:
      poll_common(c);
      c.add("tmo_p", c.arg(2), timespec_text(c, c.arg(2)));
      c.add("sigmask", c.arg(3), sigset_text(c, c.arg(3), c.arg(4)));
      c.ulong("sigsetsize", 4);
      return true;
    case __NR_select:
    case __NR_pselect6: {
      int n = c.iarg(0);
      c.sint("nfds", 0);
      c.add("readfds", c.arg(1), fdset_text(c, c.arg(1), n));
      c.add("writefds", c.arg(2), fdset_text(c, c.arg(2), n));
      c.add("exceptfds", c.arg(3), fdset_text(c, c.arg(3), n));
      if (c.nr() == __NR_select) {
        c.add("timeout", c.arg(4), timeval_text(c, c.arg(4)));
        return true;
      }
      c.add("timeout", c.arg(4), timespec_text(c, c.arg(4)));
      // The 6th argument is {const sigset_t *ss; size_t ss_len}.
      struct {
        uint64_t ss;
        uint64_t len;
      } sm;
      if (c.arg(5) == 0) {
        c.add("sigmask", 0, "NULL");
      } else if (c.read_obj(c.arg(5), sm)) {
        c.add("sigmask", c.arg(5),
              fmt::format("{{{}, {}}}", sigset_text(c, sm.ss, sm.len), sm.len));
      } else {
        c.ptr("sigmask", 5);
      }
      return true;
    }
    case __NR_epoll_create:
      c.sint("size", 0);
      return true;
    case __NR_epoll_create1:
      c.flags("flags", 0, kEpollCreate);
      return true;
    case __NR_epoll_ctl:
      c.fd("epfd", 0);
      c.enumv("op", 1, kEpollOps, "EPOLL_CTL_");
      c.fd("fd", 2);
      c.object<EpollEvent>("event", 3, epoll_event_text);
      return true;
    case __NR_epoll_wait:
    case __NR_epoll_pwait:
    case __NR_epoll_pwait2:
      c.fd("epfd", 0);
      c.add("events", c.arg(1), epoll_events_out(c, c.arg(1)));
      c.sint("maxevents", 2);
      if (c.nr() == __NR_epoll_pwait2) {
        c.add("timeout", c.arg(3), timespec_text(c, c.arg(3)));
      } else {
        c.sint("timeout", 3);
      }
      if (c.nr() != __NR_epoll_wait) {
        c.add("sigmask", c.arg(4), sigset_text(c, c.arg(4), c.arg(5)));
        c.ulong("sigsetsize", 5);
      }
      return true;
    case __NR_dup:
      c.fd("oldfd", 0);
      return true;
    case __NR_dup2:
    case __NR_dup3:
      c.fd("oldfd", 0);
      c.fd("newfd", 1);
      if (c.nr() == __NR_dup3) c.flags("flags", 2, kCloexec);
      return true;
    case __NR_pipe:
      pipefds(c);
      return true;
    case __NR_pipe2:
      pipefds(c);
      c.flags("flags", 1, kPipeFlags);
      return true;
    case __NR_fcntl:
      fcntl_args(c);
      return true;
    case __NR_ioctl:
      ioctl_args(c);
      return true;
    default:
      return false;
  }
}

}  // namespace sonde::ptrace::detail
