#include "sonde/net/capture_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::net {
namespace {

Error bad(std::string msg, std::string hint = "sonde help capture") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

}  // namespace

json to_json(const CaptureArgs& a) {
  return {{"interface", a.interface}, {"filter", a.filter},           {"snaplen", a.snaplen},
          {"count", a.count},         {"duration_ms", a.duration_ms}, {"promisc", a.promisc},
          {"stream", a.stream},       {"exclude_ssh", a.exclude_ssh}, {"buffer_kib", a.buffer_kib},
          {"flows", a.flows}};
}

Result<CaptureArgs> capture_args_from_json(const json& j) {
  auto r = JsonReader::args("net.capture");
  CaptureArgs a;
  if (!r.object(j, {})) return r.error();
  r.string(j, "interface", {}, a.interface);
  r.string(j, "filter", {}, a.filter);
  r.integer(j, "snaplen", {}, a.snaplen);
  r.integer(j, "count", {}, a.count);
  r.integer(j, "duration_ms", {}, a.duration_ms);
  r.boolean(j, "promisc", {}, a.promisc);
  r.boolean(j, "stream", {}, a.stream);
  r.boolean(j, "exclude_ssh", {}, a.exclude_ssh);
  r.integer(j, "buffer_kib", {}, a.buffer_kib);
  r.integer(j, "flows", {}, a.flows);
  if (r.failed()) return r.error();
  if (a.interface.empty()) a.interface = "any";
  return a;
}

Status validate(const CaptureArgs& a) {
  if (a.interface.size() > 64 || a.interface.find('\0') != std::string::npos)
    return bad("interface name too long", "ip link lists them");
  if (a.filter.size() > kMaxCaptureFilter) return bad("the filter is over 8 KiB");
  if (a.snaplen < 0 || a.snaplen > kMaxSnaplen)
    return bad("--snaplen must be 0..262144", "0 keeps the whole packet");
  if (a.count < 0) return bad("--count must not be negative");
  if (a.duration_ms < 0 || a.duration_ms > kMaxCaptureDurationMs)
    return bad("--duration must be 0 (no limit) .. 7d", "e.g. --duration 30s, 500ms, 5m");
  if (a.buffer_kib < 64 || a.buffer_kib > 1024 * 1024)
    return bad("--buffer-size must be 64..1048576 KiB");
  if (a.flows < 0 || a.flows > 10000) return bad("--flows must be 0..10000");
  return ok_status();
}

}  // namespace sonde::net
