// The verdict of `sonde diagnose`: the first rung that fails on any side,
// said across the sides (where it works, where not, and what that points
// at), with the evidence and the next steps.
#include "sonde/net/diagnose.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "join.h"

namespace sonde::net {
namespace {

const char* const kOrder[] = {"dns", "route", "connect", "tls", "http"};

const Layer* find_layer(const DiagnoseSide& side, const std::string& layer) {
  for (const auto& l : side.layers)
    if (l.layer == layer) return &l;
  return nullptr;
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
  const Layer* layer;
  const std::string& status() const { return layer->status; }
  const std::string& verdict() const { return layer->verdict; }
  const std::string& text() const { return layer->text; }
  std::string data(const char* k) const {
    auto it = layer->data.find(k);
    return it == layer->data.end() ? "" : it->second;
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

Verdict diagnose_verdict(const std::string& target, const std::vector<DiagnoseSide>& sides) {
  Verdict v;
  for (const char* layer : kOrder) {
    std::vector<Seen> seen;
    bool any_fail = false;
    for (const auto& s : sides) {
      const Layer* l = find_layer(s, layer);
      if (!l) continue;
      seen.push_back({s.label, l});
      if (l->status == "fail") any_fail = true;
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
      if (const Layer* l = find_layer(s, layer); l && l->status != "skipped") ran = true;
    if (ran) passed.push_back(layer);
  }
  v.text = "every rung passes from every side (" + join(passed, ", ") + ")";
  for (const auto& s : sides)
    if (const Layer* l = find_layer(s, "connect"))
      v.evidence.push_back(s.label + ": connect: " + l->text);
  for (const auto& s : sides)
    for (const char* layer : kOrder)
      if (const Layer* l = find_layer(s, layer); l && l->status == "warn")
        v.evidence.push_back(s.label + ": " + layer + ": " + l->text);
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

}  // namespace sonde::net
