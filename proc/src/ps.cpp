#include "sonde/proc/ps.h"
#include "sonde/proc/ps_contract.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
// GCC 12 with -fsanitize reports std::function members inside std::regex's
// compiler as maybe-uninitialized, a false positive in the library headers;
// with -Werror it would break the ASan/UBSan build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#include <unordered_map>

#include "sonde/common/fd.h"
#include "sonde/common/io.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/system.h"
#include "sonde/proc/text.h"
#include "sonde/proc/users.h"

namespace sonde::proc {
namespace {

// std::regex recurses per character; a megabyte command line could blow the
// stack, and nobody filters on text that far in.
constexpr size_t kMaxMatchChars = 4096;

struct Proc {
  StatInfo stat;
  long long uid = -1;
  std::optional<unsigned long long> vm_rss_kb;
  std::string cmdline;
  size_t cmdline_more = 0;  // bytes of the command line not in `cmdline`
  double cpu_pct = 0;
  // First CPU sample: per-thread ns for schedstat, total ns for stat.
  std::unordered_map<int, uint64_t> tids_ns;
  uint64_t total_ns = 0;
  int64_t t0 = 0;
};

Error bad_args(std::string message, std::string hint) {
  return Error{errc::kBadArgs, std::move(message), std::move(hint)};
}

std::optional<uint64_t> read_schedstat(const std::string& path) {
  auto text = read_file(path, 256);
  if (!text) return std::nullopt;
  auto f = split_ws(trim(*text));
  if (f.empty()) return std::nullopt;
  return to_ull(f[0]);
}

// Per-thread CPU ns. /proc/PID/schedstat counts only the thread-group leader,
// so a multithreaded process needs its task/ entries summed.
bool sample_schedstat(int pid, bool threaded, std::unordered_map<int, uint64_t>& out) {
  std::string base = "/proc/" + std::to_string(pid);
  if (!threaded) {
    auto ns = read_schedstat(base + "/schedstat");
    if (!ns) return false;
    out[pid] = *ns;
    return true;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir((base + "/task").c_str()), ::closedir);
  if (!d) return false;
  while (dirent* e = ::readdir(d.get())) {
    auto tid = to_ll(e->d_name);
    if (!tid) continue;
    // A thread that exits between readdir and read is simply not counted.
    if (auto ns = read_schedstat(base + "/task/" + e->d_name + "/schedstat"))
      out[static_cast<int>(*tid)] = *ns;
  }
  return !out.empty();
}

// The first `keep` bytes of a file, its whole length and how many NULs end
// it. The rest is read and dropped only to be counted.
struct Head {
  std::string bytes;
  size_t total = 0;
  size_t trailing_nuls = 0;
};

std::optional<Head> read_head(const std::string& path, size_t keep) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  Head h;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return h.total ? std::optional<Head>(std::move(h)) : std::nullopt;
    if (n == 0) break;
    size_t got = static_cast<size_t>(n);
    if (h.bytes.size() < keep) h.bytes.append(buf, std::min(got, keep - h.bytes.size()));
    h.total += got;
    size_t z = 0;
    while (z < got && buf[got - 1 - z] == '\0') ++z;
    h.trailing_nuls = z == got ? h.trailing_nuls + z : z;
  }
  return h;
}

// Where to cut s to at most n bytes without splitting a UTF-8 sequence.
size_t utf8_cut(std::string_view s, size_t n) {
  if (n >= s.size()) return s.size();
  size_t i = n;
  // Back over continuation bytes to the start of the sequence n falls in.
  while (i > 0 && n - i < 3 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80 ? n : i;
}

double round2(double v) {
  return std::round(v * 100.0) / 100.0;
}

}  // namespace

std::string display_cmdline(std::string_view raw, const std::string& comm, char state) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  if (raw.empty()) {
    std::string s = "[" + comm + "]";
    if (state == 'Z') s += " <defunct>";
    return s;
  }
  std::string s(raw);
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

Result<PsResult> list_processes(const PsOptions& opts, CancelToken& cancel) {
  if (opts.sort != "cpu" && opts.sort != "mem" && opts.sort != "pid")
    return bad_args("unknown sort key '" + opts.sort + "'", "sort by one of: cpu, mem, pid");
  if (opts.interval_ms < 0 || opts.interval_ms > 60000)
    return bad_args("interval " + std::to_string(opts.interval_ms) + " ms out of range",
                    "use 0 (lifetime average) up to 60000 ms");
  std::optional<std::regex> re;
  if (!opts.name_regex.empty()) {
    try {
      re.emplace(opts.name_regex, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return bad_args("bad name regex '" + opts.name_regex + "': " + e.what(),
                      "the filter is an ECMAScript regex, e.g. 'nginx|java'");
    }
  }
  UserDb users = UserDb::load();
  std::optional<long long> want_uid;
  if (!opts.user.empty()) {
    want_uid = users.resolve_user(opts.user);
    if (!want_uid)
      return bad_args("unknown user '" + opts.user + "'",
                      "give a user name from the target's /etc/passwd or a numeric uid");
  }

  SystemInfo sys = read_system_info();
  bool lifetime = opts.interval_ms == 0;
  // schedstat needs CONFIG_SCHED_INFO; without it fall back to stat ticks.
  bool use_schedstat = !lifetime && read_schedstat("/proc/self/schedstat").has_value();
  const uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(sys.clk_tck);

  size_t total = 0;
  uint64_t sonde_hidden = 0;
  const int self = static_cast<int>(::getpid());
  std::vector<Proc> procs;
  for (int pid : list_pids()) {
    std::string base = "/proc/" + std::to_string(pid);
    auto st = read_stat(base + "/stat");
    if (!st) continue;  // gone since readdir
    ++total;
    Proc p;
    p.stat = std::move(*st);
    // The effective uid: /proc/PID belongs to it while the process is
    // dumpable, which one stat() tells without the kernel formatting all of
    // /proc/PID/status (its signal masks and cpu lists dominate a 100-host
    // fleet's ps). A root-owned entry may be a non-dumpable process of
    // another uid: status says which. RSS then comes from stat's rss, the
    // same counter as status's VmRSS that inspect shows.
    struct stat owner {};
    if (::stat(base.c_str(), &owner) == 0 && owner.st_uid != 0) {
      p.uid = owner.st_uid;
    } else if (auto status = read_file(base + "/status", 64 << 10)) {
      if (auto s = parse_status(*status)) p.uid = s->uid[1];
      p.vm_rss_kb = field_kb(*status, "VmRSS");
    }
    auto head = read_head(base + "/cmdline", kCmdlineShownBytes + 1);
    std::string_view raw = head ? std::string_view(head->bytes) : std::string_view();
    if (head && head->total - head->trailing_nuls > kCmdlineShownBytes) {
      raw = raw.substr(0, utf8_cut(raw, kCmdlineShownBytes));
      p.cmdline_more = head->total - head->trailing_nuls - raw.size();
    }
    p.cmdline = display_cmdline(raw, p.stat.comm, p.stat.state);
    if (want_uid && p.uid != *want_uid) continue;
    if (re) {
      std::string_view cl(p.cmdline);
      if (cl.size() > kMaxMatchChars) cl = cl.substr(0, kMaxMatchChars);
      if (!std::regex_search(p.stat.comm, *re) && !std::regex_search(cl.begin(), cl.end(), *re))
        continue;
    }
    if (opts.hide_sonde &&
        (pid == self || p.stat.comm == "sonde" || p.stat.comm == "sonde-agent")) {
      ++sonde_hidden;
      continue;
    }
    // After the match: --name never matches our own marker.
    if (p.cmdline_more) p.cmdline += fmt::format(" … ({} more bytes)", p.cmdline_more);
    if (!lifetime) {
      if (use_schedstat) {
        if (!sample_schedstat(pid, p.stat.num_threads > 1, p.tids_ns)) continue;
      } else {
        p.total_ns = (p.stat.utime + p.stat.stime) * ns_per_tick;
      }
      p.t0 = monotonic_ns();
    }
    procs.push_back(std::move(p));
  }

  if (lifetime) {
    for (auto& p : procs) {
      double cpu_s =
          static_cast<double>(p.stat.utime + p.stat.stime) / static_cast<double>(sys.clk_tck);
      double age =
          sys.uptime_s - static_cast<double>(p.stat.starttime) / static_cast<double>(sys.clk_tck);
      p.cpu_pct = age > 0 ? cpu_s / age * 100.0 : 0.0;
    }
  } else {
    if (!cancel.sleep_for(opts.interval_ms))
      return Error{errc::kCancelled, "ps cancelled during the CPU sampling interval", {}};
    std::vector<Proc> kept;
    kept.reserve(procs.size());
    for (auto& p : procs) {
      std::string base = "/proc/" + std::to_string(p.stat.pid);
      uint64_t delta = 0;
      if (use_schedstat) {
        std::unordered_map<int, uint64_t> now;
        // ESRCH/ENOENT here means the process ended during the interval: drop it.
        if (!sample_schedstat(p.stat.pid, p.stat.num_threads > 1, now)) continue;
        for (auto [tid, ns] : now) {
          auto it = p.tids_ns.find(tid);
          // A thread born during the interval spent all its time inside it.
          if (it == p.tids_ns.end())
            delta += ns;
          else if (ns > it->second)
            delta += ns - it->second;
        }
      } else {
        auto st = read_stat(base + "/stat");
        // Same pid, different start time: the pid was reused, not our process.
        if (!st || st->starttime != p.stat.starttime) continue;
        uint64_t ns = (st->utime + st->stime) * ns_per_tick;
        delta = ns > p.total_ns ? ns - p.total_ns : 0;
      }
      int64_t elapsed = monotonic_ns() - p.t0;
      p.cpu_pct =
          elapsed > 0 ? static_cast<double>(delta) / static_cast<double>(elapsed) * 100.0 : 0.0;
      // sum_exec_runtime of a running thread is brought up to date only at
      // ticks and switches, so a busy thread can read a few % over 100.
      // One thread cannot run more than all of the interval.
      double cap = 100.0 * static_cast<double>(std::max<long long>(1, p.stat.num_threads));
      if (p.cpu_pct > cap) p.cpu_pct = cap;
      kept.push_back(std::move(p));
    }
    procs = std::move(kept);
  }

  auto rss_kb = [&](const Proc& p) {
    if (p.vm_rss_kb) return *p.vm_rss_kb;
    return p.stat.rss_pages > 0 ? static_cast<unsigned long long>(p.stat.rss_pages) *
                                      static_cast<unsigned long long>(sys.page_size) / 1024
                                : 0ULL;
  };
  std::sort(procs.begin(), procs.end(), [&](const Proc& a, const Proc& b) {
    if (opts.sort == "cpu" && a.cpu_pct != b.cpu_pct) return a.cpu_pct > b.cpu_pct;
    if (opts.sort == "mem" && rss_kb(a) != rss_kb(b)) return rss_kb(a) > rss_kb(b);
    return a.stat.pid < b.stat.pid;
  });
  if (opts.limit > 0 && procs.size() > opts.limit) procs.resize(opts.limit);

  PsResult res;
  res.interval_ms = opts.interval_ms;
  res.cpu_source = lifetime ? "lifetime" : use_schedstat ? "schedstat" : "stat";
  res.total = total;
  res.mem_total_kb = sys.mem_total_kb;
  res.sonde_hidden = sonde_hidden;
  ListBudget budget(opts.budget_bytes);
  for (size_t i = 0; i < procs.size(); ++i) {
    const Proc& p = procs[i];
    PsRow row;
    row.pid = p.stat.pid;
    row.ppid = p.stat.ppid;
    row.user = p.uid >= 0 ? users.user_name(p.uid) : std::string("?");
    row.uid = p.uid;
    row.state = p.stat.state;
    row.cpu_pct = round2(p.cpu_pct);
    row.rss_kb = rss_kb(p);
    row.mem_pct = round2(sys.mem_total_kb ? static_cast<double>(row.rss_kb) /
                                                static_cast<double>(sys.mem_total_kb) * 100.0
                                          : 0.0);
    row.threads = p.stat.num_threads;
    row.start_time = start_epoch(sys, p.stat.starttime);
    row.comm = utf8_safe(p.stat.comm);
    row.cmdline = utf8_safe(p.cmdline);
    row.cmdline_more_bytes = p.cmdline_more;
    if (!budget.take(wire_size_bound(to_json(row)))) {
      res.more = procs.size() - i;
      break;
    }
    res.cmdlines_cut += p.cmdline_more != 0;
    res.processes.push_back(std::move(row));
  }
  res.shown = res.processes.size();
  return res;
}

}  // namespace sonde::proc
