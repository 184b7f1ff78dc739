// The /proc text the agent reads about other processes, which they partly
// control (comm, cmdline, socket paths, mapped file names): the first input
// byte picks the parser, the rest is the file's content.
#include <cstdint>

#include "../profiler/src/maps.h"
#include "fuzz_input.h"
#include "sonde/jvm/process.h"
#include "sonde/proc/limits.h"
#include "sonde/proc/ps.h"
#include "sonde/proc/sockets.h"
#include "sonde/proc/stat.h"
#include "sonde/proc/text.h"
#include "sonde/proc/users.h"

using namespace sonde;

namespace {

// Every string that reaches JSON goes through utf8_safe first; check it
// really makes text nlohmann will serialise.
void check_text(std::string_view s) {
  (void)json(proc::utf8_safe(s)).dump();
  (void)proc::printable(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0];
  std::string_view text = fuzz::as_text(data + 1, size - 1);
  switch (which % 12) {
    case 0:  // /proc/PID/stat
      if (auto st = proc::parse_stat(text)) {
        check_text(st->comm);
        (void)proc::state_name(st->state);
      }
      break;
    case 1:  // /proc/PID/status
      if (auto st = proc::parse_status(text)) check_text(st->name);
      (void)jvm::parse_proc_ids(1, text);
      (void)proc::field_kb(text, "VmRSS");
      break;
    case 2:  // /proc/PID/maps, as the profiler and JVM discovery read it
      for (const auto& m : profiler::parse_maps(std::string(text))) check_text(m.path);
      (void)jvm::maps_have_libjvm(text);
      check_text(jvm::libjvm_path(text));
      break;
    case 3:  // /proc/PID/net/{tcp,tcp6,udp,udp6,raw,raw6}
    case 4: {
      static const char* const kProtos[] = {"tcp", "tcp6", "udp", "udp6", "raw", "raw6"};
      const char* proto = kProtos[(which / 12) % 6];
      for (auto line : fuzz::lines(text))
        if (auto s = proc::parse_inet_line(proto, line)) (void)s->to_json().dump();
      break;
    }
    case 5:  // /proc/PID/net/unix: paths are any bytes a process chose
      for (auto line : fuzz::lines(text))
        if (auto s = proc::parse_unix_line(line)) (void)s->to_json().dump();
      break;
    case 6:  // /proc/PID/net/netlink
      for (auto line : fuzz::lines(text))
        if (auto s = proc::parse_netlink_line(line)) (void)s->to_json().dump();
      break;
    case 7:  // /proc/PID/limits
      if (auto l = proc::parse_limits(text))
        for (const auto& row : *l) (void)json({row.name, row.soft, row.hard, row.units}).dump();
      break;
    case 8: {  // /proc/PID/cmdline
      check_text(proc::display_cmdline(text, "comm", 'S'));
      for (const auto& a : jvm::split_cmdline(text)) (void)a;
      break;
    }
    case 9: {  // /etc/passwd and /etc/group (a container's own)
      size_t half = text.find('\0');
      std::string_view passwd = text.substr(0, half);
      std::string_view group = half == std::string_view::npos ? "" : text.substr(half + 1);
      auto db = proc::UserDb::parse(passwd, group);
      (void)db.user_name(0);
      (void)db.group_name(0);
      (void)db.resolve_user("root");
      break;
    }
    case 10:  // one address:port field of a net table
      (void)proc::decode_address(text);
      break;
    default:  // free text helpers
      check_text(text);
      (void)proc::split_ws(text);
      (void)proc::to_ll(text);
      (void)proc::to_ull(text, 16);
      break;
  }
  return 0;
}
