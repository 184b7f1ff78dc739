// Decoders against strace 6.1's text for the same calls, over a fake tracee
// memory: no ptrace, no child processes.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>

#include <arpa/inet.h>
#include <asm/unistd_64.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#include "sonde/ptrace/syscalls.h"
#include "sonde/ptrace/tracer.h"

namespace sonde::ptrace {
namespace {

// Tracee memory as a map of start address → bytes; reads outside fail, reads
// across a region's end are short (like process_vm_readv at a mapping end).
class FakeMem : public MemReader {
 public:
  uint64_t put(uint64_t addr, const void* data, size_t len) {
    regions_[addr] = std::string(static_cast<const char*>(data), len);
    return addr;
  }
  uint64_t put_str(uint64_t addr, const std::string& s) {
    return put(addr, s.c_str(), s.size() + 1);
  }
  template <typename T>
  uint64_t put_obj(uint64_t addr, const T& v) {
    return put(addr, &v, sizeof v);
  }
  ssize_t read(RemotePtr<void> from, void* buf, size_t len) override {
    ++reads;
    uint64_t addr = from.addr();
    auto it = regions_.upper_bound(addr);
    if (it == regions_.begin()) return -1;
    --it;
    uint64_t off = addr - it->first;
    if (off >= it->second.size()) return -1;
    size_t n = std::min(len, it->second.size() - static_cast<size_t>(off));
    std::memcpy(buf, it->second.data() + off, n);
    return static_cast<ssize_t>(n);
  }
  int reads = 0;

 private:
  std::map<uint64_t, std::string> regions_;
};

class FailingMem : public MemReader {
 public:
  ssize_t read(RemotePtr<void>, void*, size_t) override { return -1; }
};

struct Line {
  std::string text;
  DecodedCall call;
};

Line decode(long nr, std::initializer_list<uint64_t> a, int64_t ret, MemReader& mem,
            DecodeOptions opts = {}) {
  uint64_t args[6] = {};
  size_t i = 0;
  for (uint64_t v : a) args[i++] = v;
  DecodedCall c = decode_args(1234, nr, args, ret, mem, nullptr, opts);
  std::string name = syscall_name(nr) ? syscall_name(nr) : "syscall_" + std::to_string(nr);
  std::string text = name + "(" + c.args_text + ") = " + format_return(nr, ret, c);
  return {text, std::move(c)};
}

uint64_t u(int64_t v) {
  return static_cast<uint64_t>(v);
}

// --- tables ---

TEST(SyscallTable, NumbersAndNames) {
  EXPECT_EQ(syscall_number("openat"), 257);
  EXPECT_EQ(syscall_number("connect"), 42);
  EXPECT_EQ(syscall_number("getppid"), 110);
  EXPECT_EQ(syscall_number("exit_group"), 231);
  EXPECT_EQ(syscall_number("frob"), std::nullopt);
  EXPECT_STREQ(syscall_name(0), "read");
  EXPECT_STREQ(syscall_name(59), "execve");
  EXPECT_STREQ(syscall_name(435), "clone3");
  EXPECT_EQ(syscall_name(335), nullptr);  // hole between rseq and pidfd_send_signal
  EXPECT_EQ(syscall_name(-1), nullptr);
  EXPECT_EQ(syscall_name(100000), nullptr);
  EXPECT_GE(syscall_table_size(), 451);
  int named = 0;
  for (long nr = 0; nr < syscall_table_size(); ++nr) {
    const char* n = syscall_name(nr);
    if (n == nullptr) continue;
    ++named;
    EXPECT_EQ(syscall_number(n), nr) << n;
  }
  EXPECT_GT(named, 360);
}

TEST(SyscallTable, ClassesLikeStrace) {
  EXPECT_EQ(syscall_classes(__NR_open), kClassFile | kClassDesc);
  EXPECT_EQ(syscall_classes(__NR_openat), kClassFile | kClassDesc);
  EXPECT_EQ(syscall_classes(__NR_connect), kClassNetwork);
  EXPECT_EQ(syscall_classes(__NR_clone), kClassProcess);
  EXPECT_EQ(syscall_classes(__NR_mmap), kClassMemory | kClassDesc);
  EXPECT_EQ(syscall_classes(__NR_kill), kClassSignal | kClassProcess);
  EXPECT_EQ(syscall_classes(__NR_read), kClassDesc);
  EXPECT_EQ(syscall_classes(__NR_execve), kClassFile | kClassProcess);
  EXPECT_EQ(syscall_classes(__NR_getpid), 0u);
  EXPECT_TRUE(syscall_classes(__NR_shmget) & kClassIpc);
  EXPECT_EQ(class_from_name("net"), kClassNetwork);
  EXPECT_EQ(class_from_name("network"), kClassNetwork);
  EXPECT_EQ(class_from_name("bogus"), std::nullopt);
}

TEST(SyscallTable, ArgCounts) {
  EXPECT_EQ(syscall_nargs(__NR_getpid), 0);
  EXPECT_EQ(syscall_nargs(__NR_read), 3);
  EXPECT_EQ(syscall_nargs(__NR_mmap), 6);
  EXPECT_EQ(syscall_nargs(__NR_clone), 5);
  EXPECT_EQ(syscall_nargs(__NR_futex), 6);
}

TEST(ErrnoNames, AllAndRestartCodes) {
  EXPECT_STREQ(errno_name(ENOENT), "ENOENT");
  EXPECT_STREQ(errno_name(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_STREQ(errno_name(EAGAIN), "EAGAIN");
  EXPECT_STREQ(errno_name(EHWPOISON), "EHWPOISON");
  EXPECT_EQ(errno_name(41), nullptr);
  EXPECT_EQ(errno_name(0), nullptr);
  EXPECT_STREQ(errno_name(512), "ERESTARTSYS");
  EXPECT_EQ(format_return(__NR_read, -512), "? ERESTARTSYS (To be restarted if SA_RESTART is set)");
  EXPECT_EQ(format_return(__NR_nanosleep, -516), "? ERESTART_RESTARTBLOCK (Interrupted by signal)");
  EXPECT_EQ(format_return(__NR_read, -ENOENT), "-1 ENOENT (No such file or directory)");
  EXPECT_EQ(format_return(__NR_read, 5), "5");
  EXPECT_EQ(format_return(__NR_mmap, 0x7f12c4a2b000), "0x7f12c4a2b000");
  EXPECT_EQ(format_return(__NR_brk, 0x5555000), "0x5555000");
  EXPECT_EQ(format_return(__NR_mmap, -ENOMEM), "-1 ENOMEM (Cannot allocate memory)");
  EXPECT_EQ(format_return(__NR_exit_group, 0), "?");
  EXPECT_EQ(format_return(__NR_read, kNoReturn), "?");
}

TEST(SignalNames, Names) {
  EXPECT_STREQ(signal_name(SIGCHLD), "SIGCHLD");
  EXPECT_STREQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(signal_name(32), "SIGRTMIN");
  EXPECT_STREQ(signal_name(35), "SIGRT_3");
  EXPECT_EQ(signal_name(0), nullptr);
  EXPECT_EQ(signal_name(65), nullptr);
}

// --- filter ---

TEST(TraceFilter, NamesClassesNegation) {
  auto f = parse_trace_filter("openat,connect");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)[257]);
  EXPECT_TRUE((*f)[42]);
  EXPECT_FALSE((*f)[0]);

  auto net = parse_trace_filter("%net");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE((*net)[__NR_connect]);
  EXPECT_TRUE((*net)[__NR_sendto]);
  EXPECT_FALSE((*net)[__NR_read]);

  auto mixed = parse_trace_filter("%file,read");
  ASSERT_TRUE(mixed.ok());
  EXPECT_TRUE((*mixed)[__NR_openat]);
  EXPECT_TRUE((*mixed)[__NR_read]);
  EXPECT_FALSE((*mixed)[__NR_write]);

  auto neg = parse_trace_filter("!%memory");
  ASSERT_TRUE(neg.ok());
  EXPECT_FALSE((*neg)[__NR_mmap]);
  EXPECT_TRUE((*neg)[__NR_read]);

  // strace's older spelling: a class without the %, the same set.
  for (const char* cls : {"file", "network", "process", "memory", "signal", "desc", "ipc"}) {
    auto bare = parse_trace_filter(cls);
    auto pct = parse_trace_filter(std::string("%") + cls);
    ASSERT_TRUE(bare.ok()) << cls;
    ASSERT_TRUE(pct.ok()) << cls;
    EXPECT_EQ(*bare, *pct) << cls;
    EXPECT_GT(std::count(bare->begin(), bare->end(), true), 0) << cls;
  }
  auto file = parse_trace_filter("file,read");
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE((*file)[__NR_openat]);
  EXPECT_TRUE((*file)[__NR_read]);
  EXPECT_FALSE((*file)[__NR_write]);

  auto all = parse_trace_filter("all");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(std::count(all->begin(), all->end(), true), syscall_table_size());
  auto none = parse_trace_filter("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(std::count(none->begin(), none->end(), true), 0);
}

TEST(TraceFilter, Errors) {
  auto bad = parse_trace_filter("openat,frob");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, errc::kBadArgs);
  EXPECT_NE(bad.error().message.find("unknown syscall `frob`"), std::string::npos);
  EXPECT_NE(bad.error().hint.find("%network"), std::string::npos);
  EXPECT_FALSE(parse_trace_filter("%bogus").ok());
  EXPECT_FALSE(parse_trace_filter("").ok());
  EXPECT_FALSE(parse_trace_filter("open,,close").ok());
}

// --- quoting ---

TEST(Quote, EscapesLikeStrace) {
  // strace 6.1: write(3, "hello\n\t\"\\\0\33\177\377ab", 15)
  std::string s("hello\n\t\"\\\0\033\177\377ab", 15);
  EXPECT_EQ(quote_bytes(s, 32, false), R"("hello\n\t\"\\\0\33\177\377ab")");
  // An octal escape before an octal digit is padded to three digits.
  EXPECT_EQ(quote_bytes(std::string("\0"
                                    "1\r\v\f\a\b\x01"
                                    "8\x1f"
                                    "7",
                                    11),
                        32, false),
            R"("\0001\r\v\f\7\10\18\0377")");
  EXPECT_EQ(quote_bytes("abcdef", 3, false), R"("abc"...)");
  EXPECT_EQ(quote_bytes("abc", 3, true), R"("abc"...)");
}

// --- file ---

TEST(DecodeFile, OpenatCloexec) {
  FakeMem mem;
  uint64_t p = mem.put_str(0x1000, "/etc/hosts");
  auto l = decode(__NR_openat, {u(-100), p, O_RDONLY | O_CLOEXEC}, 3, mem);
  EXPECT_EQ(l.text, R"(openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3)");
  ASSERT_EQ(l.call.args.size(), 3u);
  EXPECT_EQ(l.call.args[0]["name"], "dirfd");
  EXPECT_EQ(l.call.args[0]["value"], -100);
  EXPECT_EQ(l.call.args[0]["text"], "AT_FDCWD");
  EXPECT_EQ(l.call.args[1]["name"], "pathname");
  EXPECT_EQ(l.call.args[1]["value"], "/etc/hosts");
  EXPECT_FALSE(l.call.args[1].contains("text"));
  EXPECT_EQ(l.call.args[2]["text"], "O_RDONLY|O_CLOEXEC");
}

TEST(DecodeFile, OpenatCreateMode) {
  FakeMem mem;
  uint64_t p = mem.put_str(0x1000, "/tmp/sgen/x.txt");
  auto l = decode(__NR_openat, {u(-100), p, O_CREAT | O_WRONLY | O_TRUNC, 0644}, 3, mem);
  EXPECT_EQ(l.text, R"(openat(AT_FDCWD, "/tmp/sgen/x.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3)");
  auto miss = decode(__NR_openat, {u(-100), p, O_RDONLY}, -ENOENT, mem);
  EXPECT_EQ(
      miss.text,
      R"(openat(AT_FDCWD, "/tmp/sgen/x.txt", O_RDONLY) = -1 ENOENT (No such file or directory))");
}

TEST(DecodeFile, StatFamily) {
  FakeMem mem;
  uint64_t p = mem.put_str(0x1000, "/tmp/sgen/x.txt");
  struct stat st {};
  st.st_mode = S_IFREG | 0644;
  st.st_size = 120;
  uint64_t sp = mem.put_obj(0x2000, st);
  EXPECT_EQ(
      decode(__NR_newfstatat, {u(-100), p, sp, 0}, 0, mem).text,
      R"(newfstatat(AT_FDCWD, "/tmp/sgen/x.txt", {st_mode=S_IFREG|0644, st_size=120, ...}, 0) = 0)");
  uint64_t empty = mem.put_str(0x3000, "");
  EXPECT_EQ(decode(__NR_newfstatat, {3, empty, sp, 0x1000}, 0, mem).text,
            R"(newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=120, ...}, AT_EMPTY_PATH) = 0)");
  EXPECT_EQ(
      decode(__NR_newfstatat, {u(-100), p, 0x7fff3f4159e0, 0x100}, -ENOENT, mem).text,
      R"(newfstatat(AT_FDCWD, "/tmp/sgen/x.txt", 0x7fff3f4159e0, AT_SYMLINK_NOFOLLOW) = -1 ENOENT (No such file or directory))");
}

TEST(DecodeFile, AccessLseekMkdirReadlink) {
  FakeMem mem;
  uint64_t p = mem.put_str(0x1000, "/etc/hosts");
  EXPECT_EQ(decode(__NR_access, {p, R_OK | W_OK}, 0, mem).text,
            R"(access("/etc/hosts", R_OK|W_OK) = 0)");
  EXPECT_EQ(decode(__NR_faccessat2, {u(-100), p, X_OK, 0x200}, 0, mem).text,
            R"(faccessat2(AT_FDCWD, "/etc/hosts", X_OK, AT_EACCESS) = 0)");
  EXPECT_EQ(decode(__NR_lseek, {3, 0, SEEK_END}, 120, mem).text, "lseek(3, 0, SEEK_END) = 120");
  uint64_t d = mem.put_str(0x2000, "/tmp/sgen/dd");
  EXPECT_EQ(decode(__NR_mkdir, {d, 0755}, 0, mem).text, R"(mkdir("/tmp/sgen/dd", 0755) = 0)");
  uint64_t link = mem.put_str(0x3000, "/proc/self/exe");
  uint64_t buf = mem.put(0x4000, "/tmp/sgen/tXXXXXX", 17);
  EXPECT_EQ(decode(__NR_readlink, {link, buf, 64}, 11, mem).text,
            R"(readlink("/proc/self/exe", "/tmp/sgen/t", 64) = 11)");
  EXPECT_EQ(decode(__NR_close, {3}, 0, mem).text, "close(3) = 0");
}

// --- net ---

TEST(DecodeNet, ConnectInetRefused) {
  FakeMem mem;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(5432);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint64_t p = mem.put_obj(0x1000, a);
  auto l = decode(__NR_connect, {3, p, 16}, -ECONNREFUSED, mem);
  EXPECT_EQ(
      l.text,
      R"(connect(3, {sa_family=AF_INET, sin_port=htons(5432), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused))");
  EXPECT_EQ(l.call.args[1]["value"]["port"], 5432);
  EXPECT_EQ(l.call.args[1]["value"]["addr"], "127.0.0.1");
}

TEST(DecodeNet, ConnectInet6AndUnix) {
  FakeMem mem;
  sockaddr_in6 a6{};
  a6.sin6_family = AF_INET6;
  a6.sin6_port = htons(53);
  a6.sin6_addr.s6_addr[15] = 1;
  uint64_t p6 = mem.put_obj(0x1000, a6);
  EXPECT_EQ(
      decode(__NR_connect, {5, p6, 28}, 0, mem).text,
      R"(connect(5, {sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0)");
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/run/x.sock");
  uint64_t pu = mem.put_obj(0x2000, un);
  EXPECT_EQ(
      decode(__NR_connect, {6, pu, 110}, -ENOENT, mem).text,
      R"(connect(6, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = -1 ENOENT (No such file or directory))");
}

TEST(DecodeNet, SocketAndOptions) {
  FakeMem mem;
  EXPECT_EQ(decode(__NR_socket, {AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP}, 4, mem).text,
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 4");
  EXPECT_EQ(decode(__NR_socket, {AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0}, 5, mem).text,
            "socket(AF_INET6, SOCK_DGRAM|SOCK_NONBLOCK, IPPROTO_IP) = 5");
  EXPECT_EQ(decode(__NR_socket, {AF_UNIX, SOCK_STREAM, 0}, 6, mem).text,
            "socket(AF_UNIX, SOCK_STREAM, 0) = 6");
  int one = 1;
  uint64_t p = mem.put_obj(0x1000, one);
  EXPECT_EQ(decode(__NR_setsockopt, {3, SOL_SOCKET, SO_REUSEADDR, p, 4}, 0, mem).text,
            "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0");
  EXPECT_EQ(decode(__NR_setsockopt, {4, IPPROTO_TCP, TCP_NODELAY, p, 4}, 0, mem).text,
            "setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0");
  int zero = 0;
  uint32_t four = 4;
  uint64_t pz = mem.put_obj(0x2000, zero);
  uint64_t pl = mem.put_obj(0x3000, four);
  EXPECT_EQ(decode(__NR_getsockopt, {4, SOL_SOCKET, SO_ERROR, pz, pl}, 0, mem).text,
            "getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0");
  EXPECT_EQ(decode(__NR_listen, {4, 128}, 0, mem).text, "listen(4, 128) = 0");
  EXPECT_EQ(decode(__NR_shutdown, {4, SHUT_RDWR}, 0, mem).text, "shutdown(4, SHUT_RDWR) = 0");
  EXPECT_EQ(decode(__NR_accept4, {4, 0, 0, SOCK_CLOEXEC}, -EINVAL, mem).text,
            "accept4(4, NULL, NULL, SOCK_CLOEXEC) = -1 EINVAL (Invalid argument)");
}

TEST(DecodeNet, SendRecv) {
  FakeMem mem;
  uint64_t buf = mem.put(0x1000, "q", 1);
  EXPECT_EQ(decode(__NR_sendto, {5, buf, 1, MSG_NOSIGNAL, 0, 0}, 1, mem).text,
            R"(sendto(5, "q", 1, MSG_NOSIGNAL, NULL, 0) = 1)");
  EXPECT_EQ(
      decode(__NR_recvfrom, {5, 0x7fff3f415a70, 64, MSG_DONTWAIT, 0, 0}, -ECONNREFUSED, mem).text,
      "recvfrom(5, 0x7fff3f415a70, 64, MSG_DONTWAIT, NULL, NULL) = -1 ECONNREFUSED (Connection "
      "refused)");
  mem.put(0x2000, "ab", 2);
  mem.put(0x2100, "cde", 3);
  struct iovec iov[2] = {{reinterpret_cast<void*>(0x2000), 2},
                         {reinterpret_cast<void*>(0x2100), 3}};
  uint64_t piov = mem.put_obj(0x3000, iov);
  struct msghdr mh {};
  mh.msg_iov = reinterpret_cast<struct iovec*>(piov);
  mh.msg_iovlen = 2;
  uint64_t pmh = mem.put_obj(0x4000, mh);
  EXPECT_EQ(
      decode(__NR_sendmsg, {7, pmh, 0}, 5, mem).text,
      R"(sendmsg(7, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="ab", iov_len=2}, {iov_base="cde", iov_len=3}], msg_iovlen=2, msg_controllen=0, msg_flags=0}, 0) = 5)");
}

// --- desc ---

TEST(DecodeDesc, WriteAndRead) {
  FakeMem mem;
  uint64_t p = mem.put(0x1000, "hello\n", 6);
  EXPECT_EQ(decode(__NR_write, {1, p, 6}, 6, mem).text, R"(write(1, "hello\n", 6) = 6)");
  std::string big(100, 'a');
  uint64_t pb = mem.put(0x2000, big.data(), big.size());
  EXPECT_EQ(decode(__NR_write, {3, pb, 100}, 100, mem).text,
            R"(write(3, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"..., 100) = 100)");
  DecodeOptions s8;
  s8.string_limit = 8;
  EXPECT_EQ(decode(__NR_write, {3, pb, 100}, 100, mem, s8).text,
            R"(write(3, "aaaaaaaa"..., 100) = 100)");
  // A read shows what the kernel filled: ret bytes, not count.
  uint64_t pr = mem.put(0x3000, "127.0.0.1 localhost\nGARBAGE", 27);
  EXPECT_EQ(decode(__NR_read, {3, pr, 4096}, 20, mem).text,
            R"(read(3, "127.0.0.1 localhost\n", 4096) = 20)");
  EXPECT_EQ(decode(__NR_read, {3, pr, 4096}, 0, mem).text, R"(read(3, "", 4096) = 0)");
  EXPECT_EQ(decode(__NR_read, {3, pr, 4096}, -EAGAIN, mem).text,
            "read(3, 0x3000, 4096) = -1 EAGAIN (Resource temporarily unavailable)");
  EXPECT_EQ(decode(__NR_write, {1, 0, 5}, 5, mem).text, "write(1, NULL, 5) = 5");
}

TEST(DecodeDesc, VectorsPollEpollPipes) {
  FakeMem mem;
  mem.put(0x2000, "ab", 2);
  mem.put(0x2100, "cde", 3);
  struct iovec iov[2] = {{reinterpret_cast<void*>(0x2000), 2},
                         {reinterpret_cast<void*>(0x2100), 3}};
  uint64_t piov = mem.put_obj(0x3000, iov);
  EXPECT_EQ(decode(__NR_writev, {3, piov, 2}, 5, mem).text,
            R"(writev(3, [{iov_base="ab", iov_len=2}, {iov_base="cde", iov_len=3}], 2) = 5)");
  struct pollfd pf = {7, POLLIN | POLLOUT, POLLOUT};
  uint64_t pp = mem.put_obj(0x4000, pf);
  EXPECT_EQ(decode(__NR_poll, {pp, 1, 0}, 1, mem).text,
            "poll([{fd=7, events=POLLIN|POLLOUT}], 1, 0) = 1 ([{fd=7, revents=POLLOUT}])");
  EXPECT_EQ(decode(__NR_poll, {pp, 1, 0}, 0, mem).text,
            "poll([{fd=7, events=POLLIN|POLLOUT}], 1, 0) = 0 (Timeout)");
  struct __attribute__((packed)) {
    uint32_t events;
    uint64_t data;
  } ev = {EPOLLIN | EPOLLET, 7};
  uint64_t pe = mem.put_obj(0x5000, ev);
  EXPECT_EQ(decode(__NR_epoll_ctl, {9, EPOLL_CTL_ADD, 7, pe}, 0, mem).text,
            "epoll_ctl(9, EPOLL_CTL_ADD, 7, {events=EPOLLIN|EPOLLET, data={u32=7, u64=7}}) = 0");
  EXPECT_EQ(decode(__NR_epoll_create1, {EPOLL_CLOEXEC}, 9, mem).text,
            "epoll_create1(EPOLL_CLOEXEC) = 9");
  int fds[2] = {12, 13};
  uint64_t pfd = mem.put_obj(0x6000, fds);
  EXPECT_EQ(decode(__NR_pipe2, {pfd, O_NONBLOCK | O_CLOEXEC}, 0, mem).text,
            "pipe2([12, 13], O_NONBLOCK|O_CLOEXEC) = 0");
  EXPECT_EQ(decode(__NR_dup3, {0, 21, O_CLOEXEC}, 21, mem).text, "dup3(0, 21, O_CLOEXEC) = 21");
  auto getfl = decode(__NR_fcntl, {12, F_GETFL}, 0x800, mem);
  EXPECT_EQ(getfl.text, "fcntl(12, F_GETFL) = 0x800 (flags O_RDONLY|O_NONBLOCK)");
  EXPECT_EQ(decode(__NR_fcntl, {12, F_SETFD, FD_CLOEXEC}, 0, mem).text,
            "fcntl(12, F_SETFD, FD_CLOEXEC) = 0");
  int zero = 0;
  uint64_t pz = mem.put_obj(0x7000, zero);
  EXPECT_EQ(decode(__NR_ioctl, {12, 0x541B, pz}, 0, mem).text, "ioctl(12, FIONREAD, [0]) = 0");
  EXPECT_EQ(decode(__NR_ioctl, {0, 0x5401, 0x7fff3f415a70}, -ENOTTY, mem).text,
            "ioctl(0, TCGETS, 0x7fff3f415a70) = -1 ENOTTY (Inappropriate ioctl for device)");
  uint8_t set[128] = {};
  set[0] = 0x80;
  set[1] = 0x01;
  uint64_t ps = mem.put_obj(0x8000, set);
  struct {
    int64_t s, ns;
  } ts = {0, 0};
  uint64_t pt = mem.put_obj(0x9000, ts);
  EXPECT_EQ(decode(__NR_pselect6, {9, ps, 0, 0, pt, 0}, kNoReturn, mem).call.args_text,
            "9, [7 8], NULL, NULL, {tv_sec=0, tv_nsec=0}, NULL");
}

// --- process ---

TEST(DecodeProcess, ExecveArgv) {
  FakeMem mem;
  uint64_t path = mem.put_str(0x1000, "/bin/true");
  uint64_t a0 = mem.put_str(0x1100, "/bin/true");
  uint64_t a1 = mem.put_str(0x1200, "-la");
  uint64_t a2 = mem.put_str(0x1300, "x y");
  uint64_t argv[] = {a0, a1, a2, 0};
  uint64_t pargv = mem.put_obj(0x2000, argv);
  uint64_t envp[] = {a1, 0};
  uint64_t penv = mem.put_obj(0x7fff3f415640, envp);
  ASSERT_TRUE(decode_at_entry(__NR_execve));
  auto l = decode(__NR_execve, {path, pargv, penv}, 0, mem);
  EXPECT_EQ(l.text,
            R"(execve("/bin/true", ["/bin/true", "-la", "x y"], 0x7fff3f415640 /* 1 var */) = 0)");
  EXPECT_EQ(l.call.args[1]["value"], json::array({"/bin/true", "-la", "x y"}));
  // More than -s arguments are cut with "...".
  std::vector<uint64_t> many(40, a1);
  many.push_back(0);
  uint64_t pmany = mem.put(0x3000, many.data(), many.size() * 8);
  DecodeOptions s2;
  s2.string_limit = 2;
  EXPECT_EQ(decode(__NR_execve, {path, pmany, 0}, 0, mem, s2).call.args_text,
            R"("/bin/true", ["-l"..., "-l"..., ...], NULL)");
}

TEST(DecodeProcess, CloneWaitKillFutex) {
  FakeMem mem;
  EXPECT_EQ(decode(__NR_clone, {0x01200011, 0, 0, 0x7f5bcc465a10, 0}, 25533, mem).text,
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
            "child_tidptr=0x7f5bcc465a10) = 25533");
  int st = 3 << 8;
  uint64_t ps = mem.put_obj(0x1000, st);
  EXPECT_EQ(decode(__NR_wait4, {25533, ps, 0, 0}, 25533, mem).text,
            "wait4(25533, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 25533");
  int killed = SIGKILL;
  uint64_t pk = mem.put_obj(0x1100, killed);
  EXPECT_EQ(decode(__NR_wait4, {u(-1), pk, WNOHANG, 0}, 99, mem).text,
            "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], WNOHANG, NULL) = 99");
  EXPECT_EQ(decode(__NR_kill, {123, SIGTERM}, 0, mem).text, "kill(123, SIGTERM) = 0");
  EXPECT_EQ(decode(__NR_tgkill, {25532, 999999, SIGUSR1}, -ESRCH, mem).text,
            "tgkill(25532, 999999, SIGUSR1) = -1 ESRCH (No such process)");
  EXPECT_EQ(decode(__NR_getpid, {}, 42, mem).text, "getpid() = 42");
  EXPECT_EQ(decode(__NR_exit_group, {0}, kNoReturn, mem).text, "exit_group(0) = ?");
  EXPECT_EQ(decode(__NR_futex, {0x7fff3f415660, FUTEX_WAKE_PRIVATE, 1}, 0, mem).text,
            "futex(0x7fff3f415660, FUTEX_WAKE_PRIVATE, 1) = 0");
  struct {
    int64_t s, ns;
  } ts = {0, 1000};
  uint64_t pt = mem.put_obj(0x2000, ts);
  EXPECT_EQ(decode(__NR_futex, {0x7fff3f415660, FUTEX_WAIT_PRIVATE, 1, pt}, -EAGAIN, mem).text,
            "futex(0x7fff3f415660, FUTEX_WAIT_PRIVATE, 1, {tv_sec=0, tv_nsec=1000}) = -1 EAGAIN "
            "(Resource temporarily unavailable)");
  EXPECT_EQ(
      decode(__NR_futex,
             {0x7000, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, 0, 0, 0xffffffff}, 0,
             mem)
          .call.args_text,
      "0x7000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, FUTEX_BITSET_MATCH_ANY");
  uint64_t name = mem.put_str(0x3000, "abc");
  EXPECT_EQ(decode(__NR_prctl, {PR_SET_NAME, name}, 0, mem).text,
            R"(prctl(PR_SET_NAME, "abc") = 0)");
}

// --- memory ---

TEST(DecodeMemory, MmapFamily) {
  FakeMem mem;
  EXPECT_EQ(
      decode(__NR_mmap, {0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, u(-1), 0},
             0x7f5bcc653000, mem)
          .text,
      "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f5bcc653000");
  EXPECT_EQ(
      decode(__NR_mmap,
             {0x7fba55924000, 1400832, PROT_READ | PROT_EXEC,
              MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE, 3, 0x26000},
             0x7fba55924000, mem)
          .text,
      "mmap(0x7fba55924000, 1400832, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, "
      "0x26000) = 0x7fba55924000");
  EXPECT_EQ(decode(__NR_mprotect, {0x7f5bcc653000, 4096, PROT_NONE}, 0, mem).text,
            "mprotect(0x7f5bcc653000, 4096, PROT_NONE) = 0");
  EXPECT_EQ(decode(__NR_madvise, {0x7f5bcc653000, 4096, MADV_DONTNEED}, 0, mem).text,
            "madvise(0x7f5bcc653000, 4096, MADV_DONTNEED) = 0");
  EXPECT_EQ(decode(__NR_munmap, {0x7fba55ae0000, 42339}, 0, mem).text,
            "munmap(0x7fba55ae0000, 42339) = 0");
  EXPECT_EQ(decode(__NR_brk, {0}, 0x562c40964000, mem).text, "brk(NULL) = 0x562c40964000");
  EXPECT_EQ(decode(__NR_mremap, {0x7000, 8192, 16384, MREMAP_MAYMOVE}, 0x9000, mem).text,
            "mremap(0x7000, 8192, 16384, MREMAP_MAYMOVE) = 0x9000");
}

// --- signal ---

TEST(DecodeSignal, SigactionMaskSleep) {
  FakeMem mem;
  struct {
    uint64_t handler, flags, restorer, mask;
  } act = {1, 0x14000000, 0x7f5bcc4a4050, 1u << (SIGPIPE - 1)}, old = {0, 0, 0, 0};
  uint64_t pa = mem.put_obj(0x1000, act);
  uint64_t po = mem.put_obj(0x2000, old);
  EXPECT_EQ(
      decode(__NR_rt_sigaction, {SIGPIPE, pa, po, 8}, 0, mem).text,
      "rt_sigaction(SIGPIPE, {sa_handler=SIG_IGN, sa_mask=[PIPE], sa_flags=SA_RESTORER|SA_RESTART, "
      "sa_restorer=0x7f5bcc4a4050}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0");
  uint64_t set = (1u << (SIGINT - 1)) | (1u << (SIGTERM - 1));
  uint64_t ps = mem.put_obj(0x3000, set);
  EXPECT_EQ(decode(__NR_rt_sigprocmask, {SIG_BLOCK, ps, 0, 8}, 0, mem).text,
            "rt_sigprocmask(SIG_BLOCK, [INT TERM], NULL, 8) = 0");
  uint64_t full = ~uint64_t{0} & ~(uint64_t{3} << 31);
  uint64_t pf = mem.put_obj(0x3100, full);
  EXPECT_EQ(decode(__NR_rt_sigprocmask, {SIG_SETMASK, pf, 0, 8}, 0, mem).call.args_text,
            "SIG_SETMASK, ~[RTMIN RT_1], NULL, 8");
  struct {
    int64_t s, ns;
  } ts = {1, 0};
  uint64_t pt = mem.put_obj(0x4000, ts);
  EXPECT_EQ(decode(__NR_nanosleep, {pt, 0}, 0, mem).text,
            "nanosleep({tv_sec=1, tv_nsec=0}, NULL) = 0");
  EXPECT_EQ(decode(__NR_clock_nanosleep, {CLOCK_MONOTONIC, TIMER_ABSTIME, pt, 0}, 0, mem).text,
            "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec=1, tv_nsec=0}, NULL) = 0");
}

// --- hostile memory ---

TEST(DecodeHostile, FailingReaderShowsPointers) {
  FailingMem mem;
  EXPECT_EQ(decode(__NR_openat, {u(-100), 0x7ffd1000, O_RDONLY}, -EFAULT, mem).text,
            "openat(AT_FDCWD, 0x7ffd1000, O_RDONLY) = -1 EFAULT (Bad address)");
  EXPECT_EQ(decode(__NR_connect, {3, 0x1000, 16}, -EFAULT, mem).call.args_text, "3, 0x1000, 16");
  EXPECT_EQ(decode(__NR_write, {1, 0x10, 5}, 5, mem).call.args_text, "1, 0x10, 5");
  EXPECT_EQ(decode(__NR_execve, {0x1000, 0x2000, 0x3000}, 0, mem).call.args_text,
            "0x1000, 0x2000, 0x3000");
  EXPECT_EQ(decode(__NR_writev, {3, 0x1000, 1000000}, 5, mem).call.args_text, "3, 0x1000, 1000000");
  EXPECT_EQ(decode(__NR_poll, {0x1000, 1u << 30, 0}, 0, mem).call.args_text,
            "0x1000, 1073741824, 0");
}

TEST(DecodeHostile, UnterminatedAndHugeCounts) {
  FakeMem mem;
  std::string junk(10000, 'x');  // no NUL anywhere
  uint64_t p = mem.put(0x10000, junk.data(), junk.size());
  auto l = decode(__NR_openat, {u(-100), p, O_RDONLY}, -ENAMETOOLONG, mem);
  EXPECT_EQ(l.call.args_text.substr(0, 12), R"(AT_FDCWD, "x)");
  EXPECT_NE(l.call.args_text.find(R"(x"..., O_RDONLY)"), std::string::npos);
  EXPECT_LT(l.call.args_text.size(), 4200u);
  // A path ending at the edge of readable memory is shown, cut.
  uint64_t edge = mem.put(0x40000, "abc", 3);
  EXPECT_EQ(decode(__NR_unlink, {edge}, 0, mem).call.args_text, R"("abc"...)");
  // A write claiming gigabytes reads at most -s bytes.
  EXPECT_EQ(decode(__NR_write, {1, p, 1ull << 40}, 5, mem).call.args_text,
            R"(1, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"..., 1099511627776)");
  // Short read of the buffer: the pointer.
  uint64_t small = mem.put(0x50000, "ab", 2);
  EXPECT_EQ(decode(__NR_write, {1, small, 10}, 10, mem).call.args_text, "1, 0x50000, 10");
  // Arrays and env counts stay bounded even without a terminator.
  std::vector<uint64_t> ptrs(3000, p);
  uint64_t pa = mem.put(0x100000, ptrs.data(), ptrs.size() * 8);
  auto e = decode(__NR_execve, {p, pa, pa}, 0, mem);
  EXPECT_NE(e.call.args_text.find("/* 3000 vars */"), std::string::npos);
  json dumped = e.call.args;
  EXPECT_NO_THROW((void)dumped.dump());
}

TEST(DecodeHostile, BinaryDataStaysValidJson) {
  FakeMem mem;
  uint64_t p = mem.put(0x1000, "\xff\xfe\x00\x01", 4);
  auto l = decode(__NR_write, {1, p, 4}, 4, mem);
  EXPECT_EQ(l.call.args_text, R"(1, "\377\376\0\1", 4)");
  EXPECT_NO_THROW((void)l.call.args.dump());
}

TEST(DecodeGeneric, UnknownAndUndecoded) {
  FakeMem mem;
  EXPECT_EQ(decode(451 + 100, {1, 0x20, 0, 0, 0, 0}, -ENOSYS, mem).call.args_text,
            "0x1, 0x20, 0, 0, 0, 0");
  // set_robust_list is not decoded specially: its two arguments still show.
  EXPECT_EQ(decode(__NR_set_robust_list, {0x7f5bcc465a20, 24}, 0, mem).text,
            "set_robust_list(0x7f5bcc465a20, 24) = 0");
}

}  // namespace
}  // namespace sonde::ptrace
