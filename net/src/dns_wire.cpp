// DNS wire format (RFC 1035 section 4, AAAA from RFC 3596, SRV from RFC 2782).
// Every read is bounds-checked through Reader; garbage gives an Error.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

#include "sonde/net/dns.h"

namespace sonde::net {
namespace {

struct TypeName {
  uint16_t type;
  const char* name;
};
constexpr TypeName kTypes[] = {
    {dnstype::kA, "A"},     {dnstype::kNS, "NS"},     {dnstype::kCNAME, "CNAME"},
    {dnstype::kSOA, "SOA"}, {dnstype::kPTR, "PTR"},   {dnstype::kMX, "MX"},
    {dnstype::kTXT, "TXT"}, {dnstype::kAAAA, "AAAA"}, {dnstype::kSRV, "SRV"}};

Error dns_bad(const std::string& what) {
  return Error{errc::kProtocol, "malformed DNS message: " + what,
               "the server sent something that is not DNS; check that it is a nameserver"};
}

class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  size_t pos() const { return pos_; }
  size_t size() const { return n_; }
  bool u8(uint8_t& v) {
    if (n_ - pos_ < 1) return false;
    v = d_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (n_ - pos_ < 2) return false;
    v = static_cast<uint16_t>(d_[pos_] << 8 | d_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (n_ - pos_ < 4) return false;
    v = static_cast<uint32_t>(d_[pos_]) << 24 | static_cast<uint32_t>(d_[pos_ + 1]) << 16 |
        static_cast<uint32_t>(d_[pos_ + 2]) << 8 | d_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  bool skip(size_t k) {
    if (n_ - pos_ < k) return false;
    pos_ += k;
    return true;
  }
  const uint8_t* at(size_t p) const { return d_ + p; }

  // A possibly compressed name starting at pos_; pos_ moves past its first
  // encoding. Pointers must point backwards (so loops cannot happen) and the
  // name may not exceed 255 octets.
  Result<std::string> name() {
    std::string out;
    size_t p = pos_;
    bool jumped = false;
    size_t wire_len = 0;
    int hops = 0;
    for (;;) {
      if (p >= n_) return dns_bad("name runs past the end");
      uint8_t len = d_[p];
      if ((len & 0xC0) == 0xC0) {
        if (p + 1 >= n_) return dns_bad("compression pointer cut off");
        size_t target = static_cast<size_t>(len & 0x3F) << 8 | d_[p + 1];
        if (target >= p) return dns_bad("compression pointer does not point backwards");
        if (++hops > 64) return dns_bad("too many compression pointers");
        if (!jumped) pos_ = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      if (len & 0xC0) return dns_bad("reserved label type");
      if (len == 0) {
        if (!jumped) pos_ = p + 1;
        break;
      }
      if (p + 1 + len > n_) return dns_bad("label runs past the end");
      wire_len += 1 + len;
      if (wire_len > 255) return dns_bad("name longer than 255 octets");
      for (size_t i = 0; i < len; ++i) {
        unsigned char c = d_[p + 1 + i];
        if (c == '.' || c == '\\') {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x21 || c > 0x7E) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03u", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
      }
      out += '.';
      p += 1 + len;
    }
    if (out.empty()) out = ".";
    return out;
  }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
};

std::string quote_txt(const uint8_t* s, size_t n) {
  std::string out = "\"";
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c > 0x7E) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// RDATA in presentation form; names inside may be compressed against the
// whole message, so the reader is the message's, positioned at RDATA.
Result<std::string> rdata(Reader& r, uint16_t type, size_t rdlen) {
  size_t start = r.pos();
  size_t end = start + rdlen;
  std::string out;
  auto name_in = [&]() -> Result<std::string> {
    auto n = r.name();
    if (!n) return n.error();
    if (r.pos() > end) return dns_bad("name runs past its record");
    return n;
  };
  switch (type) {
    case dnstype::kA: {
      if (rdlen != 4) return dns_bad("A record is not 4 octets");
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, r.at(start), buf, sizeof buf);
      out = buf;
      break;
    }
    case dnstype::kAAAA: {
      if (rdlen != 16) return dns_bad("AAAA record is not 16 octets");
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, r.at(start), buf, sizeof buf);
      out = buf;
      break;
    }
    case dnstype::kCNAME:
    case dnstype::kNS:
    case dnstype::kPTR: {
      auto n = name_in();
      if (!n) return n.error();
      out = *n;
      break;
    }
    case dnstype::kMX: {
      uint16_t pref;
      if (rdlen < 3 || !r.u16(pref)) return dns_bad("MX record too short");
      auto n = name_in();
      if (!n) return n.error();
      out = std::to_string(pref) + " " + *n;
      break;
    }
    case dnstype::kSRV: {
      uint16_t prio, weight, port;
      if (rdlen < 7 || !r.u16(prio) || !r.u16(weight) || !r.u16(port))
        return dns_bad("SRV record too short");
      auto n = name_in();
      if (!n) return n.error();
      out = fmt::format("{} {} {} {}", prio, weight, port, *n);
      break;
    }
    case dnstype::kTXT: {
      size_t p = start;
      while (p < end) {
        size_t l = *r.at(p);
        if (p + 1 + l > end) return dns_bad("TXT string runs past its record");
        if (!out.empty()) out += ' ';
        out += quote_txt(r.at(p + 1), l);
        p += 1 + l;
      }
      break;
    }
    case dnstype::kSOA: {
      auto m = name_in();
      if (!m) return m.error();
      auto rn = name_in();
      if (!rn) return rn.error();
      uint32_t v[5];
      for (auto& x : v)
        if (!r.u32(x) || r.pos() > end) return dns_bad("SOA record too short");
      out = fmt::format("{} {} {} {} {} {} {}", *m, *rn, v[0], v[1], v[2], v[3], v[4]);
      break;
    }
    default: {
      out = fmt::format("\\# {}", rdlen);
      for (size_t i = 0; i < rdlen; ++i) out += fmt::format(" {:02x}", *r.at(start + i));
    }
  }
  if (r.pos() > end) return dns_bad("record data runs past its length");
  return out;
}

}  // namespace

Result<uint16_t> dns_type_from_string(const std::string& s) {
  std::string u;
  for (char c : s) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& t : kTypes)
    if (u == t.name) return t.type;
  return Error{errc::kBadArgs, fmt::format("unknown record type `{}`", s),
               "use one of A, AAAA, CNAME, MX, SRV, TXT, PTR"};
}

std::string dns_type_name(uint16_t t) {
  for (const auto& k : kTypes)
    if (k.type == t) return k.name;
  return "TYPE" + std::to_string(t);
}

std::string dns_rcode_name(int rcode) {
  static const char* names[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  if (rcode >= 0 && rcode < 11) return names[rcode];
  return "RCODE" + std::to_string(rcode);
}

Result<std::vector<uint8_t>> dns_encode_query(uint16_t id, const std::string& name, uint16_t type) {
  std::vector<uint8_t> m = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  std::string n = name;
  if (!n.empty() && n.back() == '.') n.pop_back();
  if (n.empty()) return Error{errc::kBadArgs, "empty DNS name", "give a host name"};
  size_t wire = 1;
  size_t p = 0;
  while (p <= n.size()) {
    size_t dot = n.find('.', p);
    if (dot == std::string::npos) dot = n.size();
    size_t len = dot - p;
    if (len == 0 || len > 63)
      return Error{errc::kBadArgs,
                   fmt::format("`{}` is not a valid DNS name (labels must be 1..63 octets)", name),
                   "check the name for empty labels (`..`) or very long parts"};
    m.push_back(static_cast<uint8_t>(len));
    m.insert(m.end(), n.begin() + p, n.begin() + dot);
    wire += 1 + len;
    p = dot + 1;
  }
  if (wire > 255)
    return Error{errc::kBadArgs, fmt::format("DNS name `{}` is longer than 255 octets", name), {}};
  m.push_back(0);
  m.push_back(static_cast<uint8_t>(type >> 8));
  m.push_back(static_cast<uint8_t>(type));
  m.push_back(0);
  m.push_back(1);
  return m;
}

Result<DnsMessage> dns_decode(const uint8_t* data, size_t len) {
  Reader r(data, len);
  DnsMessage m;
  uint16_t flags, qd, an, ns, ar;
  if (!r.u16(m.id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
    return dns_bad(fmt::format("{} octets is shorter than a header", len));
  m.response = flags & 0x8000;
  m.truncated = flags & 0x0200;
  m.rcode = flags & 0x000F;
  for (unsigned i = 0; i < qd; ++i) {
    DnsQuestion q;
    auto n = r.name();
    if (!n) return n.error();
    q.name = *n;
    if (!r.u16(q.type) || !r.u16(q.cls)) return dns_bad("question cut off");
    m.questions.push_back(std::move(q));
  }
  auto section = [&](unsigned count, std::vector<DnsRecord>& out) -> Result<bool> {
    for (unsigned i = 0; i < count; ++i) {
      DnsRecord rec;
      auto n = r.name();
      if (!n) return n.error();
      rec.name = *n;
      uint16_t rdlen;
      if (!r.u16(rec.type) || !r.u16(rec.cls) || !r.u32(rec.ttl) || !r.u16(rdlen))
        return dns_bad("record header cut off");
      if (r.size() - r.pos() < rdlen) return dns_bad("record data runs past the end");
      size_t end = r.pos() + rdlen;
      auto d = rdata(r, rec.type, rdlen);
      if (!d) return d.error();
      rec.data = std::move(*d);
      r = Reader(data, len);
      if (!r.skip(end)) return dns_bad("record data runs past the end");
      out.push_back(std::move(rec));
    }
    return true;
  };
  if (auto s = section(an, m.answers); !s) return s.error();
  // A truncated reply may stop anywhere after the answers we could read.
  if (auto s = section(ns, m.authority); !s) {
    if (!m.truncated) return s.error();
    return m;
  }
  if (auto s = section(ar, m.additional); !s) {
    if (!m.truncated) return s.error();
  }
  return m;
}

std::string dns_ptr_name(const std::string& ip) {
  unsigned char b[16];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1)
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    std::string out;
    static const char* hex = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out += hex[b[i] & 0xF];
      out += '.';
      out += hex[b[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return {};
}

ResolvConf parse_resolv_conf(const std::string& text) {
  ResolvConf rc;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find_first_of("#;");
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string key;
    if (!(ls >> key)) continue;
    std::vector<std::string> vals;
    for (std::string v; ls >> v;) vals.push_back(v);
    if (key == "nameserver") {
      if (vals.size() == 1)
        rc.nameservers.push_back(vals[0]);
      else
        rc.notes.push_back("resolv.conf: ignored `" + line + "`");
    } else if (key == "search" || key == "domain") {
      rc.search = vals;
    } else if (key == "options") {
      for (const auto& o : vals) {
        auto num = [&](const char* pfx, int& dst, int lo, int hi) {
          size_t l = std::strlen(pfx);
          if (o.compare(0, l, pfx) != 0) return false;
          char* e = nullptr;
          long v = std::strtol(o.c_str() + l, &e, 10);
          if (e && *e == '\0' && o.size() > l) dst = static_cast<int>(std::clamp<long>(v, lo, hi));
          return true;
        };
        if (!num("timeout:", rc.timeout_s, 1, 30)) num("attempts:", rc.attempts, 1, 5);
      }
    }
  }
  return rc;
}

}  // namespace sonde::net
