#include "sonde/net/connect_contract.h"

#include <sys/socket.h>

#include "read.h"
#include "sonde/common/json_read.h"

namespace sonde::net {
namespace {

using contract::bounded_strings;
using contract::read_list;

constexpr size_t kMaxNotes = 256;

const char* family_text(int family) {
  return family == AF_INET ? "4" : family == AF_INET6 ? "6" : "any";
}

// "any", "4" or "6" into an address family; anything else fails naming `at`.
void read_family(JsonReader& r, const json& o, const JsonPath& at, int& family) {
  std::string text = "any";
  r.string(o, "family", at, text);
  if (r.failed()) return;
  if (text == "4")
    family = AF_INET;
  else if (text == "6")
    family = AF_INET6;
  else if (text == "any")
    family = AF_UNSPEC;
  else
    r.fail(at / "family", fmt::format("`{}` is not \"any\", \"4\" or \"6\"", text));
}

void read_attempt(JsonReader& r, const json& aj, const JsonPath& w, Attempt& a) {
  r.integer(aj, "attempt", w, a.attempt);
  r.string(aj, "address", w, a.address);
  r.string(aj, "family", w, a.family);
  r.string(aj, "verdict", w, a.verdict, Need::kRequired);
  r.number(aj, "ms", w, a.ms);
  r.string(aj, "evidence", w, a.evidence);
  r.string(aj, "detail", w, a.detail);
  r.integer(aj, "errno", w, a.sys_errno);
  r.string(aj, "errno_name", w, a.errno_name);
  r.string(aj, "source", w, a.source);
  if (const json* ij = r.map(aj, "icmp", w)) {
    const JsonPath iw = w / "icmp";
    IcmpInfo i;
    r.integer(*ij, "type", iw, i.type);
    r.integer(*ij, "code", iw, i.code);
    r.boolean(*ij, "v6", iw, i.v6);
    r.string(*ij, "kind", iw, i.kind);
    r.string(*ij, "from", iw, i.from);
    r.boolean(*ij, "from_self", iw, i.from_self);
    a.icmp = std::move(i);
  }
  if (const json* hj = r.map(aj, "hold", w)) {
    const JsonPath hw = w / "hold";
    HoldResult h;
    r.integer(*hj, "requested_ms", hw, h.requested_ms);
    r.string(*hj, "outcome", hw, h.outcome);
    r.integer(*hj, "after_ms", hw, h.after_ms);
    r.integer(*hj, "bytes_received", hw, h.bytes_received);
    r.string(*hj, "banner", hw, h.banner);
    r.string(*hj, "tcp_state", hw, h.tcp_state);
    r.integer(*hj, "rtt_us", hw, h.rtt_us);
    r.string(*hj, "error", hw, h.error);
    a.hold = std::move(h);
  }
  r.string(aj, "neighbour", w, a.neighbour);
  r.string(aj, "neighbour_state", w, a.neighbour_state);
}

void read_route(JsonReader& r, const json& rj, const JsonPath& w, RouteInfo& rt) {
  r.string(rj, "destination", w, rt.destination);
  r.string(rj, "type", w, rt.type);
  r.string(rj, "dev", w, rt.dev);
  r.integer(rj, "oif", w, rt.oif);
  r.string(rj, "gateway", w, rt.gateway);
  r.string(rj, "source", w, rt.prefsrc);
  r.integer(rj, "table", w, rt.table);
  r.integer(rj, "mtu", w, rt.mtu);
  r.string(rj, "error", w, rt.error);
}

}  // namespace

json connect_args_json(const ConnectOptions& o) {
  return {{"host", o.host},
          {"port", o.port},
          {"count", o.count},
          {"interval_ms", o.interval_ms},
          {"timeout_ms", o.timeout_ms},
          {"hold_ms", o.hold_ms},
          {"family", family_text(o.family)},
          {"all_addresses", o.all_addresses}};
}

Result<ConnectOptions> connect_args_from_json(const json& j) {
  auto r = JsonReader::args("net.connect");
  ConnectOptions o;
  o.count = 1;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, o.host);
  r.integer(j, "port", {}, o.port);
  r.integer(j, "count", {}, o.count);
  r.integer(j, "interval_ms", {}, o.interval_ms);
  r.integer(j, "timeout_ms", {}, o.timeout_ms);
  r.integer(j, "hold_ms", {}, o.hold_ms);
  r.boolean(j, "all_addresses", {}, o.all_addresses);
  read_family(r, j, {}, o.family);
  if (r.failed()) return r.error();
  return o;
}

json to_json(const Attempt& a) {
  json j = {{"attempt", a.attempt}, {"address", a.address}, {"family", a.family},
            {"verdict", a.verdict}, {"ms", a.ms},           {"evidence", a.evidence},
            {"detail", a.detail},   {"errno", a.sys_errno}, {"errno_name", a.errno_name},
            {"source", a.source},   {"icmp", nullptr},      {"hold", nullptr}};
  if (a.icmp)
    j["icmp"] = {{"type", a.icmp->type}, {"code", a.icmp->code}, {"v6", a.icmp->v6},
                 {"kind", a.icmp->kind}, {"from", a.icmp->from}, {"from_self", a.icmp->from_self}};
  j["neighbour"] = a.neighbour;
  j["neighbour_state"] = a.neighbour_state;
  if (a.hold)
    j["hold"] = {{"requested_ms", a.hold->requested_ms},
                 {"outcome", a.hold->outcome},
                 {"after_ms", a.hold->after_ms},
                 {"bytes_received", a.hold->bytes_received},
                 {"banner", a.hold->banner},
                 {"tcp_state", a.hold->tcp_state},
                 {"rtt_us", a.hold->rtt_us},
                 {"error", a.hold->error}};
  return j;
}

json to_json(const RouteInfo& r) {
  return {{"destination", r.destination},
          {"type", r.type},
          {"dev", r.dev},
          {"oif", r.oif},
          {"gateway", r.gateway},
          {"via", r.gateway.empty() ? "direct" : r.gateway},
          {"source", r.prefsrc},
          {"table", r.table},
          {"mtu", r.mtu},
          {"error", r.error}};
}

json to_json(const ConnectResult& r) {
  json attempts = json::array();
  for (const auto& a : r.attempts) attempts.push_back(to_json(a));
  json routes = json::array();
  for (const auto& x : r.routes) routes.push_back(to_json(x));
  auto [opened, total] = attempts_opened(r);
  std::string v = overall_verdict(r);
  return {
      {"host", r.agent_host},
      {"target", {{"host", r.options.host}, {"port", r.options.port}}},
      {"options",
       {{"count", r.options.count},
        {"interval_ms", r.options.interval_ms},
        {"timeout_ms", r.options.timeout_ms},
        {"hold_ms", r.options.hold_ms},
        {"family", family_text(r.options.family)},
        {"all_addresses", r.options.all_addresses}}},
      {"resolve", {{"addresses", r.addresses}, {"error", r.resolve_error}, {"ms", r.resolve_ms}}},
      {"attempts", std::move(attempts)},
      {"routes", std::move(routes)},
      {"notes", r.notes},
      {"cancelled", r.cancelled},
      {"elapsed_ms", r.elapsed_ms},
      {"attempts_opened", opened},
      {"attempts_total", total},
      {"verdict", v},
      {"connected", v == verdict::kOpen},
      {"summary", connect_summary(r)}};
}

Result<ConnectResult> connect_result_from_json(const json& j) {
  auto r = JsonReader::reply("net.connect");
  ConnectResult out;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, out.agent_host);
  const JsonPath t = JsonPath{} / "target";
  if (const json* tj = r.map(j, "target", {}, Need::kRequired)) {
    r.string(*tj, "host", t, out.options.host);
    r.integer(*tj, "port", t, out.options.port);
  }
  const JsonPath o = JsonPath{} / "options";
  if (const json* oj = r.map(j, "options", {})) {
    r.integer(*oj, "count", o, out.options.count);
    r.integer(*oj, "interval_ms", o, out.options.interval_ms);
    r.integer(*oj, "timeout_ms", o, out.options.timeout_ms);
    r.integer(*oj, "hold_ms", o, out.options.hold_ms);
    read_family(r, *oj, o, out.options.family);
    r.boolean(*oj, "all_addresses", o, out.options.all_addresses);
  }
  const JsonPath res = JsonPath{} / "resolve";
  if (const json* rj = r.map(j, "resolve", {})) {
    bounded_strings(r, *rj, "addresses", res, out.addresses, kMaxAddresses);
    r.string(*rj, "error", res, out.resolve_error);
    r.integer(*rj, "ms", res, out.resolve_ms);
  }
  read_list(r, j, "attempts", {}, kMaxAttemptRows, out.attempts, read_attempt, Need::kRequired);
  read_list(r, j, "routes", {}, kMaxAddresses, out.routes, read_route);
  bounded_strings(r, j, "notes", {}, out.notes, kMaxNotes);
  r.boolean(j, "cancelled", {}, out.cancelled);
  r.integer(j, "elapsed_ms", {}, out.elapsed_ms);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::net
