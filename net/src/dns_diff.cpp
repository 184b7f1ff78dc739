// The "differences" list of `sonde dns`: between the sides' system answers,
// between each side's nameservers, and between the sides' nameservers.
#include <set>

#include "join.h"
#include "sonde/net/dns.h"

namespace sonde::net {
namespace {

std::string listed(const std::set<std::string>& s) {
  std::string out = join(s, ", ");
  return out.empty() ? "nothing" : out;
}

std::set<std::string> system_set(const json& r) {
  std::set<std::string> s;
  if (r.contains("system") && r["system"].contains("addresses"))
    for (const auto& a : r["system"]["addresses"])
      if (a.is_string()) s.insert(a.get<std::string>());
  return s;
}

std::string system_text(const json& r) {
  const json& sys = r.value("system", json::object());
  std::string err = sys.value("error", "");
  if (!err.empty()) return "fails (" + err + ")";
  return "resolves " + listed(system_set(r));
}

// An answer in one phrase: "NOERROR 198.18.0.5", "NXDOMAIN", "no answer".
std::string ns_text(const json& ns, std::set<std::string>* data = nullptr) {
  std::string err = ns.value("error", "");
  if (!err.empty()) return "does not answer (" + err + ")";
  std::set<std::string> d;
  for (const auto& a : ns.value("answers", json::array())) d.insert(a.value("data", ""));
  if (data) *data = d;
  std::string rc = ns.value("rcode", "");
  return d.empty() ? "answers " + rc + " with no records" : "answers " + rc + " " + listed(d);
}

std::set<std::string> ns_data(const json& r) {
  std::set<std::string> d;
  for (const auto& ns : r.value("nameservers", json::array()))
    for (const auto& a : ns.value("answers", json::array())) d.insert(a.value("data", ""));
  return d;
}

}  // namespace

std::vector<std::string> dns_differences(const std::vector<json>& sides) {
  std::vector<std::string> out;
  for (const auto& side : sides) {
    std::string label = side.value("side", "?");
    const json& r = side.value("result", json::object());
    auto nss = r.value("nameservers", json::array());
    // Nameservers of one side that disagree with its first.
    if (nss.size() > 1) {
      std::string first = ns_text(nss[0]);
      for (size_t i = 1; i < nss.size(); ++i) {
        std::string t = ns_text(nss[i]);
        if (t != first)
          out.push_back(fmt::format("{}: nameserver {} ({}) {}, nameserver 1 ({}) {}", label, i + 1,
                                    nss[i].value("server", ""), t, nss[0].value("server", ""),
                                    first));
      }
    } else if (nss.size() == 1 && !nss[0].value("error", "").empty()) {
      out.push_back(fmt::format("{}: nameserver 1 ({}) {}", label, nss[0].value("server", ""),
                                ns_text(nss[0])));
    }
    // System addresses none of its nameservers gave: /etc/hosts or another
    // NSS source answered.
    auto sys = system_set(r);
    auto nsd = ns_data(r);
    std::set<std::string> extra;
    for (const auto& a : sys)
      if (!nsd.count(a)) extra.insert(a);
    if (!extra.empty() && !nss.empty())
      out.push_back(fmt::format(
          "{}: the system resolver returns {} that no nameserver gave (from /etc/hosts?)", label,
          listed(extra)));
  }
  // Between sides, each against the first.
  if (sides.size() > 1) {
    std::string l0 = sides[0].value("side", "?");
    const json& r0 = sides[0].value("result", json::object());
    for (size_t i = 1; i < sides.size(); ++i) {
      std::string li = sides[i].value("side", "?");
      const json& ri = sides[i].value("result", json::object());
      std::string t0 = system_text(r0), ti = system_text(ri);
      if (t0 != ti) out.push_back(fmt::format("{} {}, {} {}", l0, t0, li, ti));
      auto n0 = r0.value("nameservers", json::array());
      auto ni = ri.value("nameservers", json::array());
      if (!n0.empty() && !ni.empty()) {
        std::string a0 = ns_text(n0[0]), ai = ns_text(ni[0]);
        if (a0 != ai)
          out.push_back(fmt::format("{}'s nameserver {} {}, {}'s nameserver {} {}", l0,
                                    n0[0].value("server", ""), a0, li, ni[0].value("server", ""),
                                    ai));
      }
    }
  }
  return out;
}

}  // namespace sonde::net
