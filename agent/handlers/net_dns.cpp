// `net.dns`: what this host's system resolver and each of its nameservers
// (resolv.conf, or the `nameservers` arg) answer for one name.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "../handler.h"
#include "sonde/net/address.h"
#include "sonde/net/dns.h"
#include "sonde/net/dns_contract.h"

namespace sonde::agent {

void register_net_dns(Registry& reg) {
  reg["net.dns"] = [](RequestContext& ctx) -> Result<json> {
    auto a = net::dns_args_from_json(ctx.args);
    if (!a) return a.error();
    if (auto st = net::validate(*a); !st) return st.error();
    std::string ptr = net::dns_ptr_name(a->name);
    auto type = net::dns_type_from_string(a->type.empty() ? (ptr.empty() ? "A" : "PTR") : a->type);
    if (!type) return type.error();
    const std::string& path = a->resolv_conf;

    std::vector<std::string> notes;
    std::ifstream f(path);
    std::stringstream text;
    if (f) {
      text << f.rdbuf();
    } else {
      notes.push_back(fmt::format("cannot read {}: the nameserver list is empty", path));
    }
    net::ResolvConf rc = net::parse_resolv_conf(text.str());
    for (const auto& n : rc.notes) notes.push_back(n);
    std::vector<std::string> servers = a->nameservers.value_or(rc.nameservers);
    if (servers.size() > net::kMaxNameservers)
      return Error{errc::kBadArgs, fmt::format("at most {} nameservers", net::kMaxNameservers),
                   "this host's resolv.conf lists more; pick some with --nameserver"};
    long tmo = a->timeout_ms > 0 ? a->timeout_ms : std::min(rc.timeout_s * 1000L, 5000L);

    std::string qname = ptr.empty() ? a->name : ptr;
    if (*type == net::dnstype::kPTR && ptr.empty() && qname.find("arpa") == std::string::npos)
      notes.push_back("a PTR query for a name that is not an address");

    net::DnsResult result;
    result.host = net::local_hostname();
    result.query_name = qname;
    result.query_type = net::dns_type_name(*type);
    result.system = net::dns_system_resolve(a->name);
    if (!result.system.error.empty())
      notes.push_back(
          "the agent is a static binary: its system resolver uses only the `files` and `dns` NSS "
          "sources (no systemd-resolved, mdns, LDAP or sss), so it can differ from other programs");
    for (const auto& s : servers) {
      if (ctx.cancel.cancelled()) return Error{errc::kCancelled, "cancelled", {}};
      result.nameservers.push_back(net::dns_query_server(s, qname, *type, tmo, &ctx.cancel));
    }
    result.search = rc.search;
    result.notes = std::move(notes);
    return net::to_json(result);
  };
}

}  // namespace sonde::agent
