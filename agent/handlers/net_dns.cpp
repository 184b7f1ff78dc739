// `net.dns`: what this host's system resolver and each of its nameservers
// (resolv.conf, or the `nameservers` arg) answer for one name.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "../handler.h"
#include "sonde/net/dns.h"

namespace sonde::agent {

void register_net_dns(Registry& reg) {
  reg["net.dns"] = [](RequestContext& ctx) -> Result<json> {
    auto name = arg_string(ctx.args, "name", "");
    if (!name) return name.error();
    if (name->empty() || name->size() > 255)
      return Error{errc::kBadArgs, "net.dns needs a name of 1..255 characters", "sonde dns NAME"};
    std::string ptr = net::dns_ptr_name(*name);
    auto type_s = arg_string(ctx.args, "type", ptr.empty() ? "A" : "PTR");
    if (!type_s) return type_s.error();
    auto type = net::dns_type_from_string(*type_s);
    if (!type) return type.error();
    auto timeout = arg_int(ctx.args, "timeout_ms", 0);
    if (!timeout) return timeout.error();
    if (*timeout < 0 || *timeout > 60000)
      return Error{errc::kBadArgs, "timeout_ms must be 0..60000", {}};
    auto path = arg_string(ctx.args, "resolv_conf", "/etc/resolv.conf");
    if (!path) return path.error();

    json notes = json::array();
    std::ifstream f(*path);
    std::stringstream text;
    if (f) {
      text << f.rdbuf();
    } else {
      notes.push_back(fmt::format("cannot read {}: the nameserver list is empty", *path));
    }
    net::ResolvConf rc = net::parse_resolv_conf(text.str());
    for (const auto& n : rc.notes) notes.push_back(n);
    std::vector<std::string> servers = rc.nameservers;
    if (auto it = ctx.args.find("nameservers"); it != ctx.args.end() && !it->is_null()) {
      if (!it->is_array())
        return Error{errc::kBadArgs, "argument `nameservers` must be an array of strings", {}};
      servers.clear();
      for (const auto& s : *it) {
        if (!s.is_string())
          return Error{errc::kBadArgs, "argument `nameservers` must be an array of strings", {}};
        servers.push_back(s.get<std::string>());
      }
    }
    if (servers.size() > 16) return Error{errc::kBadArgs, "at most 16 nameservers", {}};
    long tmo = *timeout > 0 ? *timeout : std::min(rc.timeout_s * 1000L, 5000L);

    std::string qname = ptr.empty() ? *name : ptr;
    if (*type == net::dnstype::kPTR && ptr.empty() && qname.find("arpa") == std::string::npos)
      notes.push_back("a PTR query for a name that is not an address");

    json result;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    result["host"] = host;
    result["query"] = {{"name", qname}, {"type", net::dns_type_name(*type)}};
    net::SystemAnswer sys = net::dns_system_resolve(*name);
    if (!sys.error.empty())
      notes.push_back(
          "the agent is a static binary: its system resolver uses only the `files` and `dns` NSS "
          "sources (no systemd-resolved, mdns, LDAP or sss), so it can differ from other programs");
    result["system"] = net::to_json(sys);
    json nss = json::array();
    for (const auto& s : servers) {
      if (ctx.cancel.cancelled()) return Error{errc::kCancelled, "cancelled", {}};
      nss.push_back(net::to_json(net::dns_query_server(s, qname, *type, tmo, &ctx.cancel)));
    }
    result["nameservers"] = nss;
    result["search"] = rc.search;
    result["notes"] = notes;
    return result;
  };
}

}  // namespace sonde::agent
