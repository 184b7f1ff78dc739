#include "sonde/net/dns_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::net {
namespace {

Error bad_dns(std::string msg, std::string hint = "sonde help dns") {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

// "TYPE99" as dns_type_name writes a type it has no name for.
std::optional<uint16_t> type_from_name(const std::string& s) {
  if (auto t = dns_type_from_string(s)) return *t;
  if (s.rfind("TYPE", 0) != 0 || s.size() == 4 || s.size() > 9) return std::nullopt;
  unsigned long v = 0;
  for (char c : s.substr(4)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > 0xffff) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

json to_json(const DnsArgs& a) {
  json j = {{"name", a.name}, {"timeout_ms", a.timeout_ms}};
  if (!a.type.empty()) j["type"] = a.type;
  if (a.nameservers) j["nameservers"] = *a.nameservers;
  if (a.resolv_conf != DnsArgs{}.resolv_conf) j["resolv_conf"] = a.resolv_conf;
  return j;
}

Result<DnsArgs> dns_args_from_json(const json& j) {
  auto r = JsonReader::args("net.dns");
  DnsArgs a;
  if (!r.object(j, {})) return r.error();
  r.string(j, "name", {}, a.name);
  r.string(j, "type", {}, a.type);
  r.integer(j, "timeout_ms", {}, a.timeout_ms);
  if (r.field(j, "nameservers", {})) {
    std::vector<std::string> ns;
    r.strings(j, "nameservers", {}, ns);
    a.nameservers = std::move(ns);
  }
  r.string(j, "resolv_conf", {}, a.resolv_conf);
  if (r.failed()) return r.error();
  return a;
}

Status validate(const DnsArgs& a) {
  if (a.name.empty() || a.name.size() > 255)
    return bad_dns("sonde dns needs a name of 1..255 characters",
                   "sonde dns NAME [--from TARGET]...");
  if (!a.type.empty())
    if (auto t = dns_type_from_string(a.type); !t) return t.error();
  if (a.timeout_ms < 0 || a.timeout_ms > kMaxDnsTimeoutMs)
    return bad_dns(fmt::format("--timeout must be at most {}s", kMaxDnsTimeoutMs / 1000),
                   "e.g. --timeout 2s or 500ms (a plain number is seconds); 0 takes resolv.conf's");
  if (a.nameservers && a.nameservers->size() > kMaxNameservers)
    return bad_dns(fmt::format("at most {} nameservers", kMaxNameservers));
  return ok_status();
}

json to_json(const DnsResult& r) {
  json nss = json::array();
  for (const auto& s : r.nameservers) nss.push_back(to_json(s));
  return {{"host", r.host},
          {"query", {{"name", r.query_name}, {"type", r.query_type}}},
          {"system", to_json(r.system)},
          {"nameservers", std::move(nss)},
          {"search", r.search},
          {"notes", r.notes}};
}

Result<DnsResult> dns_result_from_json(const json& j) {
  auto r = JsonReader::reply("net.dns");
  DnsResult out;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, out.host);
  if (const json* q = r.map(j, "query", {})) {
    r.string(*q, "name", JsonPath{} / "query", out.query_name);
    r.string(*q, "type", JsonPath{} / "query", out.query_type);
  }
  if (const json* s = r.map(j, "system", {})) {
    JsonPath w = JsonPath{} / "system";
    r.strings(*s, "addresses", w, out.system.addresses);
    r.string(*s, "error", w, out.system.error);
    r.integer(*s, "ms", w, out.system.ms);
  }
  if (const json* nss = r.array(j, "nameservers", {})) {
    for (size_t i = 0; i < nss->size() && !r.failed(); ++i) {
      const json& nj = (*nss)[i];
      JsonPath w = (JsonPath{} / "nameservers")[i];
      if (!r.object(nj, w)) break;
      ServerAnswer a;
      r.string(nj, "server", w, a.server);
      r.string(nj, "rcode", w, a.rcode);
      r.integer(nj, "ms", w, a.ms);
      r.string(nj, "error", w, a.error);
      r.boolean(nj, "truncated_retried", w, a.truncated_retried);
      if (const json* ans = r.array(nj, "answers", w)) {
        for (size_t k = 0; k < ans->size() && !r.failed(); ++k) {
          const json& aj = (*ans)[k];
          JsonPath aw = (w / "answers")[k];
          if (!r.object(aj, aw)) break;
          DnsRecord rec;
          std::string type;
          r.string(aj, "name", aw, rec.name);
          r.string(aj, "type", aw, type);
          r.integer(aj, "ttl", aw, rec.ttl);
          r.string(aj, "data", aw, rec.data);
          if (r.failed()) break;
          auto t = type_from_name(type);
          if (!t) r.fail(aw / "type", fmt::format("unknown record type `{}`", type));
          rec.type = t.value_or(0);
          a.answers.push_back(std::move(rec));
        }
      }
      out.nameservers.push_back(std::move(a));
    }
  }
  r.strings(j, "search", {}, out.search);
  r.strings(j, "notes", {}, out.notes);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::net
