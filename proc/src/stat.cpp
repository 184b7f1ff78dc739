#include "sonde/proc/stat.h"

#include <dirent.h>

#include <algorithm>
#include <memory>

#include "sonde/common/io.h"
#include "sonde/proc/text.h"

namespace sonde::proc {
namespace {

Error bad_stat(const std::string& why) {
  return Error{errc::kIo, "unparsable /proc stat line: " + why, {}};
}

}  // namespace

Result<StatInfo> parse_stat(std::string_view line) {
  StatInfo s;
  auto open = line.find('(');
  // comm is whatever the process called itself and may contain ')' and spaces;
  // the kernel prints it raw, so only the last ')' ends it.
  auto close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return bad_stat("no (comm)");
  auto pid = to_ll(trim(line.substr(0, open)));
  if (!pid || *pid <= 0 || *pid > 0x7fffffff) return bad_stat("bad pid");
  s.pid = static_cast<int>(*pid);
  s.comm = std::string(line.substr(open + 1, close - open - 1));

  auto f = split_ws(trim(line.substr(close + 1)));
  // f[0] is field 3 (state) of proc(5); we need up to field 24 (rss).
  if (f.size() < 22)
    return bad_stat("truncated (" + std::to_string(f.size()) + " fields after comm)");
  if (f[0].size() != 1) return bad_stat("bad state");
  s.state = f[0][0];
  auto ppid = to_ll(f[1]);
  auto flags = to_ull(f[6]);
  auto ut = to_ull(f[11]);
  auto st = to_ull(f[12]);
  auto nt = to_ll(f[17]);
  auto start = to_ull(f[19]);
  auto vsize = to_ull(f[20]);
  auto rss = to_ll(f[21]);
  if (!ppid || !flags || !ut || !st || !nt || !start || !vsize || !rss)
    return bad_stat("bad number");
  if (*ppid < 0 || *ppid > 0x7fffffff) return bad_stat("bad ppid");
  s.ppid = static_cast<int>(*ppid);
  s.flags = static_cast<unsigned long>(*flags);
  s.utime = *ut;
  s.stime = *st;
  s.num_threads = *nt;
  s.starttime = *start;
  s.vsize = *vsize;
  s.rss_pages = *rss;
  return s;
}

Result<StatInfo> read_stat(const std::string& path) {
  auto text = read_file(path, 4096);
  if (!text) return text.error();
  return parse_stat(*text);
}

Result<StatusInfo> parse_status(std::string_view text) {
  StatusInfo s;
  bool any = false;
  if (auto v = field_value(text, "Name")) {
    s.name = std::string(*v);
    any = true;
  }
  if (auto v = field_value(text, "Tgid"))
    if (auto n = to_ll(*v)) {
      s.tgid = static_cast<int>(*n);
      any = true;
    }
  if (auto v = field_value(text, "TracerPid"))
    if (auto n = to_ll(*v)) {
      s.tracer_pid = static_cast<int>(*n);
      any = true;
    }
  auto quad = [&](std::string_view key, std::array<long long, 4>& out) {
    auto v = field_value(text, key);
    if (!v) return;
    auto parts = split_ws(*v);
    for (size_t i = 0; i < parts.size() && i < 4; ++i)
      if (auto n = to_ll(parts[i])) {
        out[i] = *n;
        any = true;
      }
  };
  quad("Uid", s.uid);
  quad("Gid", s.gid);
  if (auto v = field_value(text, "NSpid"))
    for (auto part : split_ws(*v))
      if (auto n = to_ll(part)) s.nspid.push_back(*n);
  if (auto v = field_value(text, "SigCgt")) s.sig_caught = to_ull(trim(*v), 16).value_or(0);
  if (auto v = field_value(text, "SigBlk")) s.sig_blocked = to_ull(trim(*v), 16).value_or(0);
  if (auto v = field_value(text, "Seccomp"))
    if (auto n = to_ll(trim(*v))) s.seccomp = static_cast<int>(*n);
  if (!any) return Error{errc::kIo, "unparsable /proc status", {}};
  return s;
}

Result<StatusInfo> read_status(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!text) return text.error();
  return parse_status(*text);
}

const char* state_name(char state) {
  switch (state) {
    case 'R':
      return "running";
    case 'S':
      return "sleeping";
    case 'D':
      return "disk sleep";
    case 'T':
      return "stopped";
    case 't':
      return "tracing stop";
    case 'Z':
      return "zombie";
    case 'X':
      return "dead";
    case 'x':
      return "dead";
    case 'I':
      return "idle";
    case 'P':
      return "parked";
    case 'K':
      return "wakekill";
    case 'W':
      return "waking";
    default:
      return "unknown";
  }
}

std::vector<pid_t> list_tids(pid_t pid) {
  std::vector<pid_t> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(fmt::format("/proc/{}/task", pid).c_str()),
                                        ::closedir);
  if (!d) return out;
  while (dirent* e = ::readdir(d.get()))
    if (auto t = to_ll(e->d_name); t && *t > 0 && *t <= 0x7fffffff)
      out.push_back(static_cast<pid_t>(*t));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sonde::proc
