// `sonde trace` against strace as the oracle (issue 3, point 6), on this
// machine (local transport):
//  - per-syscall calls and errors of `sonde trace local -c -f -- CMD` equal
//    `strace -c -f -o FILE CMD`'s for real programs (ls -la, cat, an sh
//    pipeline) and for the deterministic syscall_loop;
//  - the decoded lines of net_client (reads /etc/hosts, connects to a refused
//    loopback port, sends known bytes) are the strace-format lines, equal to
//    what strace prints for the same calls, and -y annotates fds;
//  - -e status=failed, -e trace=%network and negated classes select what
//    strace selects.
// Skips (with the reason) when strace is missing or ptrace is not allowed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/contains.h"
#include "support/sshd_fixture.h"
#include "support/tracee.h"

namespace sonde::testing {
namespace {

namespace fs = std::filesystem;

const std::string kTargets = SONDE_TARGETS_DIR;
const std::string kSyscallLoop = kTargets + "/syscall_loop";
const std::string kNetClient = kTargets + "/net_client";
constexpr int kTimeoutMs = 20000;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// strace pads "CALL(...)" to column 40 before " = RET": the spaces before the
// last top-level " = " are alignment, not content. Collapse them to one.
std::string unalign(const std::string& line) {
  size_t eq = line.rfind(") ");
  if (eq == std::string::npos) return line;
  size_t after = line.find_first_not_of(' ', eq + 1);
  if (after == std::string::npos || line[after] != '=') return line;
  return line.substr(0, eq + 1) + " " + line.substr(after);
}

// The syscall lines (unaligned) of a trace, without exit/signal lines.
std::vector<std::string> call_lines(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(text)) {
    if (l.empty() || starts_with(l, "+++ ") || starts_with(l, "--- ")) continue;
    out.push_back(unalign(l));
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += "  " + l + "\n";
  return s;
}

// The first line starting with prefix (unaligned), or "".
std::string line_starting(const std::string& text, const std::string& prefix) {
  for (const auto& l : lines_of(text))
    if (starts_with(l, prefix)) return unalign(l);
  return "";
}

// ---------------------------------------------------------------------------
// -c tables as {syscall: calls/errors}: the rows between the first two dashed
// lines (sonde prints the total table first, then one per process; strace
// prints one). Both formats: "% time seconds usecs/call calls [errors] name".
struct Count {
  long calls = 0, errors = 0;
  bool operator==(const Count& o) const { return calls == o.calls && errors == o.errors; }
};
using Table = std::map<std::string, Count>;

bool parse_table(const std::string& text, Table* rows, Count* total) {
  std::istringstream in(text);
  int dashes = 0;
  bool have_total = false;
  for (std::string line; std::getline(in, line);) {
    if (starts_with(line, "------")) {
      if (++dashes == 2) {
        std::getline(in, line);
        std::istringstream f(line);
        std::vector<std::string> tok;
        for (std::string t; f >> t;) tok.push_back(t);
        if (tok.size() >= 5 && tok.back() == "total") {
          have_total = true;
          total->calls = std::stol(tok[3]);
          total->errors = tok.size() == 6 ? std::stol(tok[4]) : 0;
        }
        break;
      }
      continue;
    }
    if (dashes != 1) continue;
    std::istringstream f(line);
    std::vector<std::string> tok;
    for (std::string t; f >> t;) tok.push_back(t);
    if (tok.size() != 5 && tok.size() != 6) return false;
    Count c;
    c.calls = std::stol(tok[3]);
    if (tok.size() == 6) c.errors = std::stol(tok[4]);
    (*rows)[tok.back()] = c;
  }
  return have_total;
}

std::string diff_tables(const Table& ours, const Table& theirs) {
  std::set<std::string> names;
  for (const auto& [k, v] : ours) names.insert(k);
  for (const auto& [k, v] : theirs) names.insert(k);
  std::string d;
  auto show = [](const Table& t, const std::string& k) {
    auto it = t.find(k);
    if (it == t.end()) return std::string("absent");
    return std::to_string(it->second.calls) + " calls/" + std::to_string(it->second.errors) +
           " errors";
  };
  for (const auto& k : names) {
    std::string a = show(ours, k), b = show(theirs, k);
    if (a != b) d += "  " + k + ": sonde " + a + ", strace " + b + "\n";
  }
  return d;
}

// ---------------------------------------------------------------------------
class TraceOracle : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sonde-oracle-XXXXXX";
    if (::mkdtemp(tmpl)) tmp_ = tmpl;
    if (tmp_.empty()) return;
    // A directory ls lists: regular files of several sizes, a symlink, a
    // subdirectory, a fifo. Nothing changes it while both runs list it.
    fs::create_directories(tmp_ + "/dir/subdir");
    for (int i = 0; i < 5; ++i)
      std::ofstream(tmp_ + "/dir/file" + std::to_string(i)) << std::string(i * 1000, 'x');
    std::error_code ec;
    fs::create_symlink("file1", tmp_ + "/dir/link", ec);
    ::mkfifo((tmp_ + "/dir/fifo").c_str(), 0644);
    // A file for cat: a few lines, more than one read buffer would not add
    // anything (cat's read loop is deterministic either way).
    std::ofstream f(tmp_ + "/lines.txt");
    for (int i = 0; i < 200; ++i) f << "line " << i << " of the file sonde and strace both read\n";
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }

 protected:
  void SetUp() override {
    if (tmp_.empty()) GTEST_SKIP() << "mkdtemp failed";
    if (!have_program("strace")) GTEST_SKIP() << "strace is not installed (it is the oracle)";
    if (!is_root()) {
      std::string scope = proc_read("/proc/sys/kernel/yama/ptrace_scope");
      if (!scope.empty() && scope[0] >= '2')
        GTEST_SKIP() << "kernel.yama.ptrace_scope >= 2 and not root: ptrace not allowed";
    }
  }

  // Runs CMD under `sonde trace local -c -f` and under `strace -c -f -o FILE`
  // and compares every syscall's calls and errors.
  // same_output: the command prints the same bytes each run (syscall_loop
  // prints its loop time, so only its first line's words before it are kept).
  // timing: syscalls whose count depends on timing inside the traced program
  // itself (never on the tracer): each must be there in both tables with
  // 1..max_timing calls and the same errors; the totals are compared without
  // them. Every other row must be equal.
  void compare_counts(const std::vector<std::string>& cmd, Table* ours_out = nullptr,
                      Table* theirs_out = nullptr, bool same_output = true,
                      const std::set<std::string>& timing = {}, long max_timing = 0) {
    std::vector<std::string> s{"trace", "local", "-c", "-f", "--"};
    s.insert(s.end(), cmd.begin(), cmd.end());
    // sonde: the table on stdout; the command's own stdout comes back on
    // sonde's stderr, which run_sonde reads from a pipe.
    auto ours = run_sonde(s, {}, kTimeoutMs);
    ASSERT_EQ(ours.exit_code, 0) << describe(ours);
    // strace: the table in FILE; the command's stdout is a pipe as well, so
    // programs that look at their stdout (ls) take the same path in both runs.
    const std::string file = tmp_ + "/strace-c.txt";
    std::vector<std::string> t{"strace", "-c", "-f", "-o", file};
    t.insert(t.end(), cmd.begin(), cmd.end());
    auto theirs = run_cmd(t, {}, kTimeoutMs);
    ASSERT_EQ(theirs.exit_code, 0) << describe(theirs);
    std::string table = proc_read(file);

    Table a, b;
    Count ta, tb;
    ASSERT_TRUE(parse_table(ours.out, &a, &ta)) << "no -c table from sonde:\n" << ours.out;
    ASSERT_TRUE(parse_table(table, &b, &tb)) << "no -c table from strace:\n" << table;
    ASSERT_FALSE(b.empty()) << table;
    // Nothing else is ignored: strace -c -f attributes no syscall of its own
    // to the tracee (its fork/exec happen before the traced execve, which both
    // count once), so every row must be equal.
    for (const auto& name : timing) {
      for (auto* t : {&a, &b}) {
        const char* who = t == &a ? "sonde" : "strace";
        auto it = t->find(name);
        EXPECT_TRUE(it != t->end()) << who << " has no " << name << " row";
        if (it == t->end()) continue;
        EXPECT_GE(it->second.calls, 1) << who << " " << name;
        EXPECT_LE(it->second.calls, max_timing) << who << " " << name;
        if (t == &a) ta.calls -= it->second.calls, ta.errors -= it->second.errors;
        if (t == &b) tb.calls -= it->second.calls, tb.errors -= it->second.errors;
      }
      if (a.count(name) && b.count(name)) {
        EXPECT_EQ(a[name].errors, b[name].errors) << name;
      }
      a.erase(name);
      b.erase(name);
    }
    EXPECT_EQ(diff_tables(a, b), "") << "sonde:\n" << ours.out << "\nstrace:\n" << table;
    EXPECT_EQ(ta, tb) << "totals differ: sonde " << ta.calls << "/" << ta.errors << ", strace "
                      << tb.calls << "/" << tb.errors;
    // Both commands produced the same output (same program, same input).
    std::string expect_out = theirs.out;
    if (!same_output) expect_out = expect_out.substr(0, expect_out.rfind(' ') + 1);
    EXPECT_FALSE(expect_out.empty()) << "no output under strace";
    EXPECT_TRUE(contains(ours.err, expect_out))
        << "the command's output under sonde (on its stderr):\n"
        << ours.err << "\nunder strace:\n"
        << theirs.out;
    if (ours_out) *ours_out = a;
    if (theirs_out) *theirs_out = b;
  }

  static inline std::string tmp_;
};

TEST_F(TraceOracle, CountsOfLsLaMatchStrace) {
  Table ours;
  compare_counts({"ls", "-la", tmp_ + "/dir"}, &ours);
  // ls -la of the directory stats every entry: the table is not trivially small.
  EXPECT_TRUE(ours.count("getdents64")) << "ls read no directory?";
}

TEST_F(TraceOracle, CountsOfCatMatchStrace) {
  Table ours;
  compare_counts({"cat", tmp_ + "/lines.txt"}, &ours);
  EXPECT_TRUE(ours.count("openat"));
}

TEST_F(TraceOracle, CountsOfAShPipelineMatchStrace) {
  // Three processes (sh, cat, wc), a pipe, fork/clone and wait4 under -f.
  // rt_sigreturn: sh catches SIGCHLD; when cat and wc exit close together the
  // two SIGCHLDs merge into one delivery, so the handler returns once or twice
  // from run to run under strace alone as well. Its count is checked to be 1..2
  // in both; every other row (wait4 included) is exact.
  Table ours;
  compare_counts({"sh", "-c", "cat " + tmp_ + "/lines.txt | wc -l"}, &ours, nullptr, true,
                 {"rt_sigreturn"}, 2);
  EXPECT_EQ(ours["execve"].calls, 3) << "sh, cat and wc each exec once under -f";
}

TEST_F(TraceOracle, CountsOfGetppidLoopMatchStrace) {
  Table ours, theirs;
  compare_counts({kSyscallLoop, "getppid", "3000"}, &ours, &theirs, false);
  EXPECT_EQ(ours["getppid"].calls, 3000);
  EXPECT_EQ(theirs["getppid"].calls, 3000);
}

TEST_F(TraceOracle, CountsOfReadWriteLoopMatchStrace) {
  Table ours;
  compare_counts({kSyscallLoop, "rw", "500"}, &ours, nullptr, false);
  // 500 one-byte writes through the pipe plus the DONE line; 500 reads.
  EXPECT_EQ(ours["write"].calls, 501);
  EXPECT_EQ(ours["read"].calls, 500 + 1) << "500 from the pipe + the loader's read of libc";
}

// -y keeps which socket an fd is between calls (launch mode): one fd number
// that is a UDP socket, then /dev/null by dup2, then another UDP socket, then
// /dev/null again must be annotated afresh each time, with the port each
// socket really has (the one its own sendto goes to).
TEST_F(TraceOracle, DashYFollowsAnFdNumberThroughDup2CloseAndReuse) {
  // Every call, no filter: with a seccomp filter nothing is kept (close and
  // dup2 would not stop), and keeping is what this checks.
  auto r = run_sonde({"trace", "local", "-y", "--", kSyscallLoop, "fdswap"}, {}, kTimeoutMs);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  ASSERT_TRUE(contains(r.err, "DONE")) << r.err;
  const std::regex send(
      R"re(^sendto\(3<UDP:\[127\.0\.0\.1:(\d+)\]>, "(.)", 1, 0, \{sa_family=AF_INET, sin_port=htons\((\d+)\).*= 1$)re");
  std::vector<std::string> order;
  for (const auto& l : lines_of(r.out)) {
    std::string u = unalign(l);
    std::smatch m;
    if (std::regex_match(u, m, send)) {
      EXPECT_EQ(m[1].str(), m[3].str()) << "the socket's text is another socket's:\n" << r.out;
      order.push_back("udp " + m[2].str());
    } else if (starts_with(u, "write(3")) {
      EXPECT_TRUE(starts_with(u, "write(3</dev/null>, ")) << u << "\n" << r.out;
      order.push_back("null " + u.substr(u.find('"') + 1, 1));
    }
  }
  EXPECT_EQ(joined(order), joined({"udp a", "null b", "udp c", "null d"})) << r.out;
}

// ---------------------------------------------------------------------------
// net_client against a TCP port that is bound but not listening: connect is
// refused, deterministically, for as long as the socket is held.
class NetClientOracle : public TraceOracle {
 protected:
  void SetUp() override {
    TraceOracle::SetUp();
    if (IsSkipped()) return;
    held_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(held_, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(held_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    ASSERT_EQ(::getsockname(held_, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    port_ = std::to_string(ntohs(sa.sin_port));
    hosts_size_ = std::min<size_t>(proc_read("/etc/hosts").size(), 4096);
  }
  void TearDown() override {
    if (held_ >= 0) ::close(held_);
  }

  // sonde's live trace (stdout) of net_client with these options.
  std::string sonde_trace(std::vector<std::string> opts) {
    std::vector<std::string> a{"trace", "local"};
    a.insert(a.end(), opts.begin(), opts.end());
    a.insert(a.end(), {"--", kNetClient, port_});
    auto r = run_sonde(a, {}, kTimeoutMs);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "done\n")) << "net_client did not finish:\n" << r.err;
    EXPECT_TRUE(contains(r.out, "+++ exited with 0 +++")) << r.out;
    return r.out;
  }
  // strace's trace (its stderr) of net_client with these options, started
  // with fds 0-2 only, as sonde starts the commands it launches: strace's
  // tracee inherits whatever strace has (an -o FILE, a test runner's pipe),
  // and the loader's fds would then be above sonde's.
  std::string strace_trace(std::vector<std::string> opts) {
    std::vector<std::string> a{
        "python3", "-c",
        "import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])", "strace"};
    a.insert(a.end(), opts.begin(), opts.end());
    a.insert(a.end(), {kNetClient, port_});
    auto r = run_cmd(a, {}, kTimeoutMs);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "done\n");
    return r.err;
  }

  int held_ = -1;
  std::string port_;
  size_t hosts_size_ = 0;
};

TEST_F(NetClientOracle, DecodedLinesAreStraceLines) {
  const std::vector<std::string> e{"-e", "trace=openat,read,connect,sendto,write"};
  const std::string ours = sonde_trace(e);
  const std::string theirs = strace_trace(e);
  const std::string addr =
      "{sa_family=AF_INET, sin_port=htons(" + port_ + "), sin_addr=inet_addr(\"127.0.0.1\")}";
  struct Want {
    std::string prefix, line;
  };
  const std::vector<Want> wants = {
      {"openat(AT_FDCWD, \"/etc/hosts\"", "openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3"},
      {"connect(", "connect(3, " + addr + ", 16) = -1 ECONNREFUSED (Connection refused)"},
      {"sendto(", "sendto(4, \"ping sonde\", 10, 0, " + addr + ", 16) = 10"},
      {"write(1, ", "write(1, \"done\\n\", 5) = 5"},
  };
  for (const auto& w : wants) {
    EXPECT_EQ(line_starting(ours, w.prefix), w.line) << "sonde:\n" << ours;
    EXPECT_EQ(line_starting(theirs, w.prefix), w.line) << "strace (the oracle) disagrees:\n"
                                                       << theirs;
  }

  // The read of /etc/hosts: the read(3, ...) right after its openat (the
  // loader's read of libc.so.6 comes before). First 40 characters as strace,
  // and the whole file (up to the 4096 buffer) was read.
  auto hosts_read = [](const std::string& text) {
    bool opened = false;
    for (const auto& l : lines_of(text)) {
      if (starts_with(l, "openat(AT_FDCWD, \"/etc/hosts\"")) opened = true;
      if (opened && starts_with(l, "read(3, \"")) return unalign(l);
    }
    return std::string();
  };
  const std::string our_read = hosts_read(ours), their_read = hosts_read(theirs);
  ASSERT_FALSE(our_read.empty()) << ours;
  ASSERT_FALSE(their_read.empty()) << theirs;
  EXPECT_EQ(our_read.substr(0, 40), their_read.substr(0, 40));
  const std::string tail = ", 4096) = " + std::to_string(hosts_size_);
  EXPECT_TRUE(our_read.size() > tail.size() &&
              our_read.compare(our_read.size() - tail.size(), tail.size(), tail) == 0)
      << our_read << " should end with " << tail;
  EXPECT_EQ(our_read, their_read) << "same -s 32 escaping as strace";

  // And the whole filtered trace is strace's, line for line (the loader's
  // openat/read of ld.so.cache and libc included).
  EXPECT_EQ(joined(call_lines(ours)), joined(call_lines(theirs)));
}

TEST_F(NetClientOracle, DashYAnnotatesTheFd) {
  const std::string ours = sonde_trace({"-y", "-e", "trace=openat,read,connect"});
  // Either the returned fd is annotated or the fd when it is used; strace 6
  // does both. (What sonde does must be at least one of them.)
  bool ret_annotated = contains(ours, "= 3</etc/hosts>");
  bool use_annotated = contains(ours, "read(3</etc/hosts>, \"");
  EXPECT_TRUE(ret_annotated || use_annotated) << ours;
  EXPECT_TRUE(contains(ours, "connect(3<socket:[") || contains(ours, "connect(3<TCP:")) << ours;
  // Without -y, no annotation.
  const std::string plain = sonde_trace({"-e", "trace=read"});
  EXPECT_FALSE(contains(plain, "</etc/hosts>")) << plain;
  EXPECT_TRUE(contains(plain, "read(3, \"")) << plain;
}

TEST_F(NetClientOracle, DashYAnnotatesTheFdThatCloseCloses) {
  // strace -y prints close(3</etc/hosts>): which file a close drops is what
  // one looks for when chasing an fd leak or a use-after-close.
  const std::string theirs = strace_trace({"-y", "-e", "trace=openat,close"});
  bool strace_did = false;
  bool opened = false;
  for (const auto& l : lines_of(theirs)) {
    if (contains(l, "\"/etc/hosts\"")) opened = true;
    if (opened && starts_with(l, "close(")) {
      strace_did = unalign(l) == "close(3</etc/hosts>) = 0";
      break;
    }
  }
  ASSERT_TRUE(strace_did) << "strace (the oracle) does not annotate close here:\n" << theirs;
  const std::string ours = sonde_trace({"-y", "-e", "trace=openat,close"});
  EXPECT_TRUE(contains(ours, "close(3</etc/hosts>)"))
      << "BUG: -y does not annotate close's fd (the fd is gone at the syscall-exit stop, where "
         "sonde decodes; strace decodes it at entry). `sonde trace local -y -e trace=openat,close "
         "-- "
      << kNetClient << " " << port_ << "` printed:\n"
      << ours << "strace -y printed:\n"
      << theirs;
}

TEST_F(NetClientOracle, DashYAnnotatesReturnedFdsLikeStrace) {
  // strace 6.1 -y: openat(...) = 3</etc/hosts>, socket(...) = 3<socket:[N]>.
  const std::string ours = sonde_trace({"-y", "-e", "trace=openat,socket"});
  const std::string theirs = strace_trace({"-y", "-e", "trace=openat,socket"});
  EXPECT_TRUE(contains(ours, "openat(AT_FDCWD, \"/etc/hosts\", O_RDONLY) = 3</etc/hosts>")) << ours;
  EXPECT_TRUE(contains(theirs, "= 3</etc/hosts>")) << theirs;
  size_t ours_sockets = 0, theirs_sockets = 0;
  for (const auto& l : lines_of(ours))
    if (starts_with(l, "socket(") && contains(l, "<socket:[")) ++ours_sockets;
  for (const auto& l : lines_of(theirs))
    if (starts_with(l, "socket(") && contains(l, "<socket:[")) ++theirs_sockets;
  EXPECT_EQ(ours_sockets, 2u) << ours;
  EXPECT_EQ(ours_sockets, theirs_sockets) << theirs;
}

TEST_F(NetClientOracle, StatusFailedShowsOnlyFailedCalls) {
  const std::string ours = sonde_trace({"-e", "status=failed"});
  const std::string theirs = strace_trace({"-e", "status=failed"});
  auto calls = call_lines(ours);
  bool connect_seen = false;
  for (const auto& l : calls) {
    EXPECT_TRUE(contains(l, ") = -1 E")) << "not a failed call: " << l;
    connect_seen |= starts_with(l, "connect(3, ");
  }
  EXPECT_TRUE(connect_seen) << ours;
  EXPECT_FALSE(contains(ours, "sendto(")) << ours;
  // The failures net_client itself makes are just the refused connect; the
  // rest (the loader's access("/etc/ld.so.preload")) strace shows too.
  EXPECT_EQ(joined(calls), joined(call_lines(theirs)));
}

TEST_F(NetClientOracle, NetworkClassShowsSocketsAndNoFiles) {
  const std::string ours = sonde_trace({"-e", "trace=%network"});
  const std::string theirs = strace_trace({"-e", "trace=%network"});
  EXPECT_TRUE(contains(ours, "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3")) << ours;
  EXPECT_TRUE(contains(ours, "socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 4")) << ours;
  EXPECT_TRUE(contains(ours, "connect(3, ")) << ours;
  EXPECT_TRUE(contains(ours, "sendto(4, \"ping sonde\"")) << ours;
  EXPECT_FALSE(contains(ours, "openat(")) << ours;
  EXPECT_FALSE(contains(ours, "read(")) << ours;
  EXPECT_FALSE(contains(ours, "write(")) << ours;
  EXPECT_EQ(joined(call_lines(ours)), joined(call_lines(theirs)));
}

TEST_F(NetClientOracle, NegatedClassesLeaveTheRest) {
  // Everything but file and fd syscalls: connect/sendto/socket stay (network,
  // not %desc in strace's classes), openat/read/write/close go.
  const std::string ours = sonde_trace({"-e", "trace=!%file,%desc"});
  const std::string theirs = strace_trace({"-e", "trace=!%file,%desc"});
  for (const char* present : {"socket(AF_INET, SOCK_STREAM", "connect(3, ", "sendto(4, ", "brk("}) {
    EXPECT_TRUE(contains(ours, present)) << present << " missing:\n" << ours;
    EXPECT_TRUE(contains(theirs, present)) << "strace: " << present << " missing:\n" << theirs;
  }
  for (const char* absent : {"openat(", "read(", "write(", "close(", "newfstatat("}) {
    EXPECT_FALSE(contains(ours, absent)) << absent << " present:\n" << ours;
    EXPECT_FALSE(contains(theirs, absent)) << "strace: " << absent << " present:\n" << theirs;
  }
  // The same set of syscall names as strace (arguments such as pointers differ
  // from run to run under ASLR; exit_group is checked on its own below).
  auto names = [](const std::string& text) {
    std::vector<std::string> out;
    for (const auto& l : call_lines(text))
      if (!starts_with(l, "exit_group(")) out.push_back(l.substr(0, l.find('(')));
    return out;
  };
  EXPECT_EQ(names(ours), names(theirs)) << "sonde:\n" << ours << "strace:\n" << theirs;
}

TEST_F(NetClientOracle, ExitGroupLineIsShownLikeStrace) {
  // exit_group never returns: strace prints its line with "= ?" from the
  // entry stop, before "+++ exited with 0 +++". The issue lists exit_group
  // among the decoded syscalls.
  const std::string theirs = strace_trace({"-e", "trace=exit_group"});
  ASSERT_EQ(line_starting(theirs, "exit_group("), "exit_group(0) = ?") << theirs;
  const std::string ours = sonde_trace({"-e", "trace=exit_group"});
  EXPECT_EQ(line_starting(ours, "exit_group("), "exit_group(0) = ?")
      << "BUG: sonde never prints the exit_group line (strace prints `exit_group(0) = ?` "
         "before `+++ exited with 0 +++`); `sonde trace local -e trace=exit_group -- "
      << kNetClient << " " << port_ << "` printed:\n"
      << ours;
  const std::string all = sonde_trace({});
  EXPECT_TRUE(contains(all, "exit_group(0)"))
      << "BUG: the unfiltered trace lacks the exit_group line too:\n"
      << all;
}

}  // namespace
}  // namespace sonde::testing
