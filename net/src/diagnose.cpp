#include "sonde/net/diagnose.h"
#include "ms_text.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace sonde::net {
namespace {

const char* const kOrder[] = {"dns", "route", "connect", "tls", "http"};

std::string str(const json& j, const char* key, const std::string& dflt = "") {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return dflt;
  return it->get<std::string>();
}

const json* find_layer(const json& side, const std::string& layer) {
  auto it = side.find("layers");
  if (it == side.end() || !it->is_array()) return nullptr;
  for (const auto& l : *it)
    if (str(l, "layer") == layer) return &l;
  return nullptr;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// "PORT" of "HOST:PORT" / "[v6]:PORT".
std::string port_of(const std::string& target) {
  size_t c = target.rfind(':');
  return c == std::string::npos ? target : target.substr(c + 1);
}

std::string host_of(const std::string& target) {
  size_t c = target.rfind(':');
  std::string h = c == std::string::npos ? target : target.substr(0, c);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

struct Seen {
  std::string side;
  const json* layer;
  std::string status() const { return str(*layer, "status"); }
  std::string verdict() const { return str(*layer, "verdict"); }
  std::string text() const { return str(*layer, "text"); }
  std::string data(const char* k) const {
    auto it = layer->find("data");
    return it == layer->end() ? "" : str(*it, k);
  }
};

// A connect verdict code in words, as a sentence fragment.
std::string connect_words(const std::string& code) {
  if (code == "refused") return "refused";
  if (code == "timeout") return "dropped";
  if (code == "admin-prohibited") return "rejected by a firewall (ICMP admin-prohibited)";
  if (code == "host-unreachable") return "unreachable (ICMP host unreachable)";
  if (code == "net-unreachable") return "unreachable (ICMP network unreachable)";
  if (code == "port-unreachable") return "rejected (ICMP port unreachable)";
  if (code == "no-route") return "not routable (no route on that side)";
  if (code == "unreachable") return "unreachable";
  if (code == "unresolved") return "not resolved";
  return code.empty() ? "failed" : code;
}

void connect_verdict(const std::string& target, const std::vector<Seen>& all, Verdict& v) {
  std::string port = port_of(target);
  std::vector<const Seen*> open, bad;
  std::set<std::string> codes;
  for (const auto& s : all) {
    if (s.status() == "ok") {
      open.push_back(&s);
    } else if (s.status() == "fail") {
      bad.push_back(&s);
      codes.insert(s.verdict());
    }
  }
  auto names = [](const std::vector<const Seen*>& v) {
    std::vector<std::string> n;
    for (auto* s : v) n.push_back(s->side);
    return join(n, ", ");
  };
  std::string capture = "`sonde capture SERVER 'tcp port " + port +
                        "'` on the server shows whether the SYNs arrive and what answers them";
  if (open.empty() && codes.size() == 1) {
    std::string code = *codes.begin();
    std::string addr = bad.front()->data("address");
    std::string where = addr.empty() ? target : addr + ":" + port;
    if (code == "refused") {
      v.text = "port " + port + " is refused from every side: nothing listens on " + where +
               ", or a firewall answers for it with a TCP reset";
      v.next = {"on the server: `ss -ltnp 'sport = :" + port +
                    "'`: is the service running, and bound to this address rather than 127.0.0.1?",
                capture};
    } else if (code == "timeout") {
      v.text = "port " + port +
               " is dropped from every side: a firewall on the server or in front "
               "of it drops the SYNs, or the host is down";
      v.next = {
          "on the server: `nft list ruleset` / `iptables -S`; in between: security groups, "
          "network ACLs",
          capture};
    } else if (code == "admin-prohibited") {
      std::string by = bad.front()->data("offender");
      v.text = "port " + port + " is rejected by a firewall" + (by.empty() ? "" : " at " + by) +
               " (ICMP admin-prohibited) from every side";
      v.next = {"the firewall's rules name this port: `nft list ruleset` on " +
                (by.empty() ? std::string("the rejecting host") : by)};
    } else if (code == "host-unreachable" || code == "net-unreachable" || code == "unreachable") {
      std::string by = bad.front()->data("offender");
      v.text = where + " is unreachable from every side (" + bad.front()->text() + ")" +
               (by.empty() ? "" : "; the ICMP came from " + by);
      v.next = {"is the host up, and is its address right? `ip neigh` / `ip route get " +
                (addr.empty() ? host_of(target) : addr) + "` on a side"};
    } else if (code == "no-route") {
      v.text = "no side has a route to " + where;
      v.next = {"`ip route get " + (addr.empty() ? host_of(target) : addr) + "` on each side"};
    } else {
      v.text = "connecting to " + where + " fails from every side: " + bad.front()->text();
      v.next = {capture};
    }
    return;
  }
  if (!open.empty()) {
    const Seen& good = *open.front();
    std::vector<std::string> parts;
    for (const std::string& code : codes) {
      std::vector<const Seen*> these;
      for (auto* b : bad)
        if (b->verdict() == code) these.push_back(b);
      parts.push_back(connect_words(code) + " from " + names(these));
    }
    v.text = "port " + port + " is open from " + names(open) + " but " + join(parts, ", ");
    const Seen& b = *bad.front();
    std::string ga = good.data("address"), ba = b.data("address");
    if (!ga.empty() && !ba.empty() && ga != ba) {
      v.text += ": the sides connect to different addresses (" + good.side + ": " + ga + ", " +
                b.side + ": " + ba + ")";
      v.next.push_back("`sonde dns " + host_of(target) + " --from " + b.side +
                       "`: why the name resolves differently");
    } else if (codes.count("timeout")) {
      v.text += ": a firewall on " + b.side +
                "'s path drops it, or the server admits only some "
                "sources";
      std::string gs = good.data("source"), bs = b.data("source");
      if (!gs.empty() && !bs.empty())
        v.next.push_back("the server's rules for " + bs + " (" + b.side + ") against " + gs + " (" +
                         good.side + ")");
    } else if (codes.count("refused")) {
      v.text += ": something on " + b.side + "'s path answers with a reset for the server";
    } else {
      std::string by = b.data("offender");
      v.text += by.empty() ? "" : ": " + by + " rejects " + b.side + "'s traffic";
    }
    v.next.push_back(capture);
    return;
  }
  // Every side fails, in different ways: the difference says where.
  std::map<std::string, std::vector<const Seen*>> by_code;
  for (auto* b : bad) by_code[b->verdict()].push_back(b);
  // Drops first: they are what the engineer is chasing.
  std::vector<std::string> parts;
  if (by_code.count("timeout"))
    parts.push_back(connect_words("timeout") + " from " + names(by_code["timeout"]));
  for (const auto& [code, these] : by_code)
    if (code != "timeout") parts.push_back(connect_words(code) + " from " + names(these));
  v.text = "port " + port + " is " + join(parts, ", ");
  if (by_code.count("timeout") && by_code.count("refused")) {
    v.text += ": a firewall on " + names(by_code["timeout"]) +
              "'s path drops it (the server's host is up: it answers " + names(by_code["refused"]) +
              " with a reset)";
    v.next = {"on the server: `ss -ltnp 'sport = :" + port + "'`", capture};
  } else {
    v.next = {capture};
  }
}

void tls_verdict(const std::string& target, const std::vector<Seen>& all, Verdict& v) {
  std::vector<const Seen*> good, bad;
  for (const auto& s : all) (s.status() == "fail" ? bad : good).push_back(&s);
  const Seen& b = *bad.front();
  std::string code = b.verdict();
  std::string host = host_of(target);
  if (code == "not-tls") {
    v.text = "port " + port_of(target) + " does not speak TLS: " + b.text();
    v.next = {
        "a wrong port, or TLS ends in front of this service (a load balancer): ask the "
        "service's owner which port serves TLS"};
  } else if (code == "cert-expired") {
    v.text = "the certificate has expired: " + b.text();
    v.next = {"renew the certificate on the server and reload the service"};
  } else if (code == "hostname-mismatch") {
    v.text = "the certificate does not name " + host + ": " + b.text();
    v.next = {"connect with the name the certificate has, or issue one with " + host +
              " in its subjectAltName"};
  } else if (code == "untrusted") {
    v.text = "the certificate is not trusted: " + b.text();
    v.next = {
        "a self-signed certificate or a missing intermediate: serve the full chain "
        "(leaf + intermediates), or add the CA to the client's store"};
  } else {
    v.text = "the TLS handshake fails: " + b.text();
    v.next = {"`sonde tls " + target + "` for the whole exchange"};
  }
  if (!good.empty()) {
    std::vector<std::string> n;
    for (auto* g : good) n.push_back(g->side);
    v.text += " (from " + b.side + "; it works from " + join(n, ", ") + ")";
    v.next.push_back("the sides see different servers or certificates: a proxy on " + b.side +
                     "'s path?");
  }
}

void http_verdict(const std::string& target, const std::vector<Seen>& all, Verdict& v) {
  const Seen* b = nullptr;
  for (const auto& s : all)
    if (s.status() == "fail") {
      b = &s;
      break;
    }
  std::string code = b->verdict();
  if (code == "http-5xx") {
    v.text = "the server answers " + b->text() + ": the service behind " + target + " is unhealthy";
    v.next = {
        "the service's own logs, and from the inside: `sonde trace SERVER -p PID`, "
        "`sonde stack SERVER -p PID`"};
  } else if (code == "http-4xx") {
    v.text = "the server answers " + b->text() +
             ": the path or the virtual host is wrong, or "
             "the request is not authorized";
    v.next = {"check the path and the Host header the client sends"};
  } else if (code == "no-response") {
    v.text = "the server accepts the connection but does not answer: " + b->text();
    v.next = {
        "the service is stuck or overloaded: `sonde stack SERVER -p PID`, "
        "`sonde profile SERVER -p PID`"};
  } else {
    v.text = "the HTTP request fails: " + b->text();
    v.next = {"`sonde capture SERVER 'tcp port " + port_of(target) + "'` while repeating it"};
  }
}

}  // namespace

Layer skipped_layer(const std::string& layer, const std::string& why) {
  return {{"layer", layer},
          {"status", "skipped"},
          {"verdict", ""},
          {"text", why},
          {"data", json::object()}};
}

Layer error_layer(const std::string& layer, const std::string& message) {
  return {{"layer", layer},
          {"status", "fail"},
          {"verdict", "check-failed"},
          {"text", "the check could not run: " + message},
          {"data", json::object()}};
}

Verdict diagnose_verdict(const std::string& target, const std::vector<json>& sides) {
  Verdict v;
  for (const char* layer : kOrder) {
    std::vector<Seen> seen;
    bool any_fail = false;
    for (const auto& s : sides) {
      const json* l = find_layer(s, layer);
      if (!l) continue;
      seen.push_back({str(s, "side"), l});
      if (str(*l, "status") == "fail") any_fail = true;
    }
    if (!any_fail) continue;
    v.failing_layer = layer;
    for (const auto& s : seen)
      if (s.status() != "skipped") v.evidence.push_back(s.side + ": " + layer + ": " + s.text());
    // A check that could not run says nothing about the network.
    for (const auto& s : seen)
      if (s.verdict() == "check-failed") {
        v.text =
            "the " + std::string(layer) + " check could not run on " + s.side + ": " + s.text();
        v.next = {"`sonde hello " + s.side + "` to check the agent there"};
        return v;
      }
    std::string l = layer;
    if (l == "dns") {
      std::vector<std::string> ok, bad;
      for (const auto& s : seen) (s.status() == "fail" ? bad : ok).push_back(s.side);
      std::string host = host_of(target);
      bool nx = std::all_of(seen.begin(), seen.end(), [](const Seen& s) {
        return s.status() != "fail" || s.verdict() == "nxdomain";
      });
      if (ok.empty())
        v.text = host + (nx ? " does not exist in DNS (NXDOMAIN) from any side"
                            : " does not resolve from any side");
      else
        v.text = host + " resolves from " + join(ok, ", ") + " but not from " + join(bad, ", ");
      v.next = {"`sonde dns " + host +
                "` with --from each side: the nameservers' answers, "
                "/etc/hosts and resolv.conf side by side"};
    } else if (l == "route") {
      std::vector<std::string> bad;
      for (const auto& s : seen)
        if (s.status() == "fail") bad.push_back(s.side);
      v.text = "no route to " + host_of(target) + " from " + join(bad, ", ");
      v.next = {"`ip route get ADDRESS` and the default route on " + join(bad, ", ")};
    } else if (l == "connect") {
      connect_verdict(target, seen, v);
    } else if (l == "tls") {
      tls_verdict(target, seen, v);
    } else {
      http_verdict(target, seen, v);
    }
    return v;
  }
  v.ok = true;
  std::vector<std::string> passed;
  for (const char* layer : kOrder) {
    bool ran = false;
    for (const auto& s : sides)
      if (const json* l = find_layer(s, layer); l && str(*l, "status") != "skipped") ran = true;
    if (ran) passed.push_back(layer);
  }
  v.text = "every rung passes from every side (" + join(passed, ", ") + ")";
  for (const auto& s : sides)
    if (const json* l = find_layer(s, "connect"))
      v.evidence.push_back(str(s, "side") + ": connect: " + str(*l, "text"));
  for (const auto& s : sides)
    for (const char* layer : kOrder)
      if (const json* l = find_layer(s, layer); l && str(*l, "status") == "warn")
        v.evidence.push_back(str(s, "side") + ": " + layer + ": " + str(*l, "text"));
  v.next = {
      "the network path is fine: look at the application, from the inside (`sonde trace`, "
      "`sonde profile`, `sonde stack`)"};
  return v;
}

json to_json(const Verdict& v) {
  return {{"ok", v.ok},
          {"failing_layer", v.failing_layer},
          {"verdict", v.text},
          {"evidence", v.evidence},
          {"next", v.next}};
}

Layer dns_layer(const std::string& host, const json& r) {
  Layer l = {{"layer", "dns"}, {"status", "ok"}, {"verdict", ""}, {"data", json::object()}};
  static const json kNone = json::object();
  const json& sys =
      r.is_object() && r.contains("system") && r["system"].is_object() ? r["system"] : kNone;
  std::string err = str(sys, "error");
  std::vector<std::string> addrs;
  if (sys.contains("addresses") && sys["addresses"].is_array())
    for (const auto& a : sys["addresses"])
      if (a.is_string()) addrs.push_back(a.get<std::string>());
  long ms = sys.contains("ms") && sys["ms"].is_number_integer() ? sys["ms"].get<long>() : 0;
  // What the nameservers said, for the evidence and for NXDOMAIN.
  std::vector<std::string> ns_notes;
  bool nx = false;
  json servers = r.is_object() && r.contains("nameservers") && r["nameservers"].is_array()
                     ? r["nameservers"]
                     : json::array();
  for (const auto& ns : servers) {
    std::string rc = str(ns, "rcode"), e = str(ns, "error"), srv = str(ns, "server");
    if (rc == "NXDOMAIN") nx = true;
    if (!e.empty())
      ns_notes.push_back("nameserver " + srv + ": " + e);
    else if (rc != "NOERROR")
      ns_notes.push_back("nameserver " + srv + ": " + rc);
  }
  if (!err.empty() || addrs.empty()) {
    l["status"] = "fail";
    l["verdict"] = nx ? "nxdomain" : "unresolved";
    l["text"] = host + " does not resolve: " + (err.empty() ? "no addresses" : err) +
                (ns_notes.empty() ? "" : " (" + join(ns_notes, "; ") + ")");
    return l;
  }
  l["text"] =
      host + " → " + join(addrs, ", ") + " (system resolver, " + std::to_string(ms) + " ms)";
  l["data"]["address"] = addrs.front();
  if (!ns_notes.empty()) {
    l["status"] = "warn";
    l["text"] = l["text"].get<std::string>() + "; " + join(ns_notes, "; ");
  }
  return l;
}

}  // namespace sonde::net

namespace sonde::net {

Layer http_layer(const json& r) {
  Layer l = {{"layer", "http"}, {"status", "ok"}, {"verdict", ""}, {"data", json::object()}};
  if (!r.is_object()) return error_layer("http", "the agent's answer is not an object");
  std::string path = str(r, "path", "/");
  if (!r.value("ok", false)) {
    std::string err = str(r, "error", "failed");
    std::string stage = str(r, "stage");
    l["status"] = "fail";
    bool silent = stage == "response" && (err.find("no response") != std::string::npos ||
                                          err.find("did not end") != std::string::npos);
    l["verdict"] = silent ? "no-response" : "failed";
    l["text"] = "GET " + path + ": " + err;
    return l;
  }
  int status = r.value("status", 0);
  std::string line = "HTTP " + std::to_string(status) + " " + str(r, "reason");
  l["data"]["status"] = std::to_string(status);
  l["text"] = "GET " + path + ": " + line + " in " + std::to_string(r.value("ttfb_ms", 0L)) + " ms";
  if (status >= 500) {
    l["status"] = "fail";
    l["verdict"] = "http-5xx";
    l["text"] = line + " for GET " + path;
  } else if (status >= 400) {
    l["status"] = "fail";
    l["verdict"] = "http-4xx";
    l["text"] = line + " for GET " + path;
  } else if (status >= 300) {
    l["status"] = "warn";
    const json& h = r.value("headers", json::object());
    l["text"] = l["text"].get<std::string>() + " → " + str(h, "location", "(no Location)");
  }
  return l;
}

}  // namespace sonde::net

namespace sonde::net {
namespace {

std::string strip_port(const std::string& addr_port) {
  if (addr_port.empty()) return "";
  if (addr_port.front() == '[') {
    size_t e = addr_port.find(']');
    return e == std::string::npos ? addr_port : addr_port.substr(1, e - 1);
  }
  size_t c = addr_port.rfind(':');
  return c == std::string::npos || addr_port.find(':') != c ? addr_port : addr_port.substr(0, c);
}

}  // namespace

std::vector<Layer> connect_layers(const json& r) {
  Layer route = {{"layer", "route"}, {"status", "ok"}, {"verdict", ""}, {"data", json::object()}};
  Layer conn = {{"layer", "connect"}, {"status", "ok"}, {"verdict", ""}, {"data", json::object()}};
  if (!r.is_object()) return {error_layer("connect", "the agent's answer is not an object")};
  const json& routes = r.contains("routes") && r["routes"].is_array() ? r["routes"] : json::array();
  const json& attempts =
      r.contains("attempts") && r["attempts"].is_array() ? r["attempts"] : json::array();
  std::string port;
  if (r.contains("target") && r["target"].is_object() && r["target"].contains("port"))
    port = r["target"]["port"].dump();

  if (!routes.empty() && routes[0].is_object()) {
    const json& rt = routes[0];
    std::string err = str(rt, "error"), type = str(rt, "type");
    if (!err.empty() || type == "unreachable" || type == "prohibit" || type == "blackhole") {
      route["status"] = "fail";
      route["verdict"] = "no-route";
      route["text"] = "no route to " + str(rt, "destination") + ": " +
                      (err.empty() ? "the route is " + type : err);
    } else {
      std::string text = str(rt, "destination") + " via " + str(rt, "via", "direct") + " on " +
                         str(rt, "dev", "?") + ", source " + str(rt, "source", "?");
      if (rt.contains("mtu") && rt["mtu"].is_number_unsigned() && rt["mtu"].get<unsigned>() > 0)
        text += ", mtu " + std::to_string(rt["mtu"].get<unsigned>());
      route["text"] = text;
      route["data"] = {{"dev", str(rt, "dev")}, {"source", str(rt, "source")}};
    }
  } else {
    route = skipped_layer("route", "no address to route to");
  }

  std::string overall = str(r, "verdict");
  // The attempt the verdict is about: the last failing one, else the last.
  const json* pick = nullptr;
  int opened = 0, total = 0;
  for (const auto& a : attempts) {
    if (!a.is_object()) continue;
    ++total;
    if (str(a, "verdict") == "open")
      ++opened;
    else
      pick = &a;
  }
  if (!pick && !attempts.empty() && attempts.back().is_object()) pick = &attempts.back();
  if (!pick) {
    conn["status"] = "fail";
    conn["verdict"] = overall.empty() ? "error" : overall;
    std::string err =
        r.contains("resolve") && r["resolve"].is_object() ? str(r["resolve"], "error") : "";
    conn["text"] = err.empty() ? "no attempt was made" : "not resolved: " + err;
    return {route, conn};
  }
  const json& a = *pick;
  std::string v = str(a, "verdict");
  std::string addr = str(a, "address");
  std::string where =
      addr.find(':') != std::string::npos ? "[" + addr + "]:" + port : addr + ":" + port;
  double ms = a.contains("ms") && a["ms"].is_number() ? a["ms"].get<double>() : 0;
  conn["data"] = {{"address", addr}, {"source", strip_port(str(a, "source"))}};
  if (overall == "open" || (v == "open" && opened == total)) {
    conn["text"] = where + " open in " + ms_text(ms) + " (" + std::to_string(opened) + "/" +
                   std::to_string(total) + " attempts) from " + str(a, "source", "?");
    return {route, conn};
  }
  conn["status"] = "fail";
  std::string code = v;
  if (v == "unreachable" && a.contains("icmp") && a["icmp"].is_object()) {
    std::string kind = str(a["icmp"], "kind");
    if (!kind.empty()) code = kind;
    conn["data"]["offender"] = str(a["icmp"], "from");
  }
  conn["verdict"] = code;
  std::string detail = str(a, "detail");
  conn["text"] =
      where + " " + (detail.empty() ? v : detail) + " (" + ms_text(ms) +
      (opened ? ", " + std::to_string(opened) + "/" + std::to_string(total) + " opened" : "") + ")";
  if (v == "no-route") {
    route["status"] = "fail";
    route["verdict"] = "no-route";
    if (str(route, "text").empty() || str(route, "status") == "skipped")
      route["text"] = "no route to " + addr + ": " + detail;
    return {route};
  }
  return {route, conn};
}

Layer tls_layer(const json& r) {
  Layer l = {{"layer", "tls"}, {"status", "ok"}, {"verdict", ""}, {"data", json::object()}};
  if (!r.is_object()) return error_layer("tls", "the agent's answer is not an object");
  static const json kNone = json::object();
  auto obj = [&](const char* k) -> const json& {
    return r.contains(k) && r[k].is_object() ? r[k] : kNone;
  };
  std::string outcome = str(r, "outcome");
  const json& chain = r.contains("chain") && r["chain"].is_array() ? r["chain"] : json::array();
  const json* leaf = !chain.empty() && chain[0].is_object() ? &chain[0] : nullptr;
  long days = leaf && (*leaf).contains("days_left") && (*leaf)["days_left"].is_number_integer()
                  ? (*leaf)["days_left"].get<long>()
                  : 0;
  if (leaf) l["data"]["sha256"] = str(*leaf, "sha256");
  const json& hs = obj("handshake");
  if (outcome == "ok") {
    l["text"] = str(hs, "version") + " " + str(hs, "cipher") +
                (str(hs, "alpn").empty() ? "" : ", ALPN " + str(hs, "alpn")) +
                (leaf ? ", certificate for " + str(*leaf, "subject_cn") + " valid " +
                            std::to_string(days) + " more days"
                      : "") +
                ", verified";
    if (leaf && days < 14) l["status"] = "warn";
    return l;
  }
  l["status"] = "fail";
  if (outcome == "not_tls") {
    l["verdict"] = "not-tls";
    const json& b = obj("banner");
    std::string banner = str(b, "text");
    std::string proto = str(b, "protocol");
    if (!banner.empty())
      l["text"] =
          std::string(b.value("server_first", false) ? "it speaks first: \""
                                                     : "it answers the ClientHello with \"") +
          banner + "\"" + (proto.empty() ? "" : " (" + proto + ")");
    else
      l["text"] = str(r, "error", "no TLS handshake");
    return l;
  }
  if (outcome == "verify_failed") {
    const json& v = obj("verify");
    const json& errs = v.contains("errors") && v["errors"].is_array() ? v["errors"] : json::array();
    const json& store = v.contains("store") && v["store"].is_object() ? v["store"] : kNone;
    if (!errs.empty() && errs[0].is_object()) {
      int code = errs[0].value("code", 0);
      std::string reason = str(errs[0], "reason");
      // X509_V_ERR_CERT_HAS_EXPIRED
      if (code == 10) {
        l["verdict"] = "cert-expired";
        l["text"] = "certificate " + (leaf ? str(*leaf, "subject_cn") + " " : std::string()) +
                    "expired on " + (leaf ? str(*leaf, "not_after") : std::string("?")) + " (" +
                    std::to_string(-days) + " days ago)";
      } else {
        l["verdict"] = "untrusted";
        l["text"] = reason + " (store: " + str(store, "path", str(store, "kind", "?")) + ")";
      }
      return l;
    }
    const json& h = obj("hostname");
    if (!h.value("ok", true)) {
      l["verdict"] = "hostname-mismatch";
      std::vector<std::string> names;
      for (const char* k : {"dns_names", "ip_addresses"})
        if (leaf && (*leaf).contains(k) && (*leaf)[k].is_array())
          for (const auto& n : (*leaf)[k])
            if (n.is_string()) names.push_back(n.get<std::string>());
      l["text"] =
          "asked for " + str(h, "checked") + ", the certificate names " +
          (names.empty() ? (leaf ? "CN " + str(*leaf, "subject_cn") : std::string("nothing"))
                         : join(names, ", "));
      return l;
    }
    l["verdict"] = "untrusted";
    l["text"] = str(r, "error", "verification failed");
    return l;
  }
  l["verdict"] = outcome == "handshake_failed" ? "handshake" : outcome;
  std::string alert = str(obj("failure"), "alert");
  l["text"] = str(r, "error", outcome) + (alert.empty() ? "" : " (alert: " + alert + ")");
  return l;
}

}  // namespace sonde::net
