// Secret masking for the case journal (redact.h).
#include "redact.h"

#include <cctype>
#include <regex>
#include <string_view>
#include <vector>

namespace sonde::controller::casefile {
namespace {

// Names that hold secrets, as a whole word part: "db_password", "API-KEY",
// "auth" and "x-auth-token" match; "tokenizer", "author", "keyboard" do not.
// (No nested quantifiers: std::regex backtracks recursively. Runs are
// bounded: with `*` a 4 KB word cost std::regex seconds, as each start
// position scanned to the word's end and back.)
#define SONDE_SECRET_WORD \
  R"((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credentials?|private[_-]?key)(?:[_-][A-Za-z0-9_-]{0,48})?)"
const char* kSecretKey = R"([A-Za-z0-9_-]{0,48})" SONDE_SECRET_WORD;
// For searches: the key's prefix is kept text either way, and leaving it out
// spares every start position a scan of the word it is in.
const char* kSecretKeyTail = SONDE_SECRET_WORD;

struct Pattern {
  std::regex re;
  // The submatch that is the secret; the rest of the match is kept.
  int secret;
};

const std::vector<Pattern>& patterns() {
  static const std::vector<Pattern> p = [] {
    auto icase = std::regex::ECMAScript | std::regex::icase;
    std::vector<Pattern> v;
    // Authorization: Bearer abc / Proxy-Authorization: Basic xyz: keep the scheme.
    v.push_back(
        {std::regex(R"(((?:proxy-)?authorization\s*[:=]\s*(?:[A-Za-z]+\s+)?)([^\s,;"']+))", icase),
         2});
    // Cookie: a=b; c=d / Set-Cookie: ...: the whole value up to end of line or quote.
    v.push_back({std::regex(R"(((?:set-)?cookie\s*:\s*)([^\r\n"]+))", icase), 2});
    // scheme://user:pass@host; the password may hold '/' (people write it
    // unencoded), but host:8080/path@x is a port and a path, not a password.
    // (The scheme is kept text: matching from "://" spares every start
    // position a scan of the word before it.)
    v.push_back({std::regex(R"((://[^\s:/@]+:)((?!\d+(?:/|$))[^\s@?#]+)(@))", icase), 2});
    // A URL query's secrets: ?token=, &key=, &sig=, &X-Amz-Signature=,
    // access_token, api_key, session... (in a query any such name counts;
    // runs bounded for the reason kSecretKey gives).
    v.push_back(
        {std::regex(
             R"(([?&;][A-Za-z0-9_.-]{0,48}(?:token|key|sig|signature|secret|pass|passwd|pwd|auth|credential|session)[A-Za-z0-9_.-]{0,48}=)([^&#\s"']+))",
             icase),
         2});
    // --password=X, password=X, DB_PASSWORD=X, "token": "X", api_key: X
    v.push_back({std::regex(std::string("(") + kSecretKeyTail +
                                R"(\s*(?:=|:\s*|"\s*:\s*"?)\s*)([^\s&,;"']+))",
                            icase),
                 2});
    // `--password hunter2` inside a command line shown as one string (ps).
    v.push_back(
        {std::regex(std::string("((?:^|\\s)-{1,2}") + kSecretKey + R"(\s+)([^\s-][^\s]*))", icase),
         2});
    return v;
  }();
  return p;
}

bool is_secret_option(const std::string& word) {
  static const std::regex re(std::string("-{1,2}") + kSecretKey,
                             std::regex::ECMAScript | std::regex::icase);
  return std::regex_match(word, re);
}

bool is_secret_name(const std::string& key) {
  static const std::regex re(kSecretKey, std::regex::ECMAScript | std::regex::icase);
  return key.size() < 128 && std::regex_match(key, re);
}

bool is_env_key(const std::string& k) {
  return k == "env" || k == "environ" || k == "environment";
}

// Cheap test first: most strings (paths, syscall names) hold no hint of a
// secret, and the regexes are the expensive part.
bool may_hold_secret(const std::string& s) {
  static const char* hints[] = {"pass",   "pwd",        "secret", "token", "key",     "auth",
                                "cookie", "credential", "@",      "sig",   "session", "mysql",
                                "maria",  "redis",      "valkey", "keydb", "curl"};
  std::string low;
  low.reserve(s.size());
  for (char ch : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* h : hints)
    if (low.find(h) != std::string::npos) return true;
  return false;
}

constexpr int kCookiePattern = 1;

// *open is set to the pattern whose secret runs to the very end of text (a
// long line's chunk may cut a secret in two), else -1.
std::string redact_line(const std::string& text, int* count, int* open) {
  std::string s = text;
  *open = -1;
  const auto& pats = patterns();
  for (size_t pi = 0; pi < pats.size(); ++pi) {
    const auto& p = pats[pi];
    std::string out;
    auto begin = std::sregex_iterator(s.begin(), s.end(), p.re);
    size_t last = 0;
    bool any = false;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      const auto& m = *it;
      size_t pos = static_cast<size_t>(m.position(p.secret));
      if (m.str(p.secret) == kMask) continue;  // already masked
      out.append(s, last, pos - last);
      out += kMask;
      last = pos + static_cast<size_t>(m.length(p.secret));
      if (last == s.size()) *open = static_cast<int>(pi);
      ++*count;
      any = true;
    }
    if (!any) continue;
    out.append(s, last, std::string::npos);
    s = std::move(out);
  }
  return s;
}

// Clients that take a password in an option of their own, which no
// key=value pattern sees: mysql/mariadb -pX, redis-cli -a X, curl -u user:X.
enum class Client { kNone, kMysql, kRedis, kCurl };

Client client_of(std::string_view w) {
  while (!w.empty() && (w.front() == '\'' || w.front() == '"' || w.front() == '('))
    w.remove_prefix(1);
  if (size_t slash = w.rfind('/'); slash != std::string_view::npos) w.remove_prefix(slash + 1);
  if (w.rfind("mysql", 0) == 0 || w.rfind("mariadb", 0) == 0) return Client::kMysql;
  if (w == "redis-cli" || w == "valkey-cli" || w == "keydb-cli") return Client::kRedis;
  if (w == "curl") return Client::kCurl;
  return Client::kNone;
}

bool starts(std::string_view w, std::string_view p) {
  return w.substr(0, p.size()) == p;
}

// For each word of one command line, the offset where a secret starts in it
// (npos: none). A client's options count until a shell separator.
std::vector<size_t> client_secret_offsets(const std::vector<std::string_view>& words) {
  constexpr size_t npos = std::string_view::npos;
  std::vector<size_t> off(words.size(), npos);
  Client c = Client::kNone;
  enum { kNothing, kWhole, kAfterColon } next = kNothing;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view w = words[i];
    if (next == kWhole) {
      off[i] = 0;
    } else if (next == kAfterColon) {
      // curl -u user:password; a bare `-u user` makes curl prompt.
      if (size_t colon = w.find(':'); colon != npos && colon + 1 < w.size()) off[i] = colon + 1;
    } else if (Client k = client_of(w); k != Client::kNone) {
      c = k;
    } else if (c == Client::kMysql) {
      if (w.size() > 2 && starts(w, "-p"))
        off[i] = 2;
      else if (starts(w, "--password="))
        off[i] = 11;
    } else if (c == Client::kRedis) {
      if (w == "-a" || w == "--pass")
        next = kWhole;
      else if (w.size() > 2 && starts(w, "-a"))
        off[i] = 2;
      if (next == kWhole) continue;
    } else if (c == Client::kCurl) {
      if (w == "-u" || w == "--user" || w == "-U" || w == "--proxy-user") {
        next = kAfterColon;
        continue;
      }
      if (w == "--oauth2-bearer") {
        next = kWhole;
        continue;
      }
      size_t from = npos;
      if (starts(w, "--user=") || starts(w, "--proxy-user="))
        from = w.find('=') + 1;
      else if (w.size() > 2 && (starts(w, "-u") || starts(w, "-U")))
        from = 2;
      if (from != npos)
        if (size_t colon = w.find(':', from); colon != npos && colon + 1 < w.size())
          off[i] = colon + 1;
    }
    next = kNothing;
    if (w == "|" || w == "||" || w == "&&" || w == "&" || (!w.empty() && w.back() == ';'))
      c = Client::kNone;
  }
  return off;
}

// The secret of word w from offset off: a trailing ';' ends the shell
// command, it is not part of the password.
std::string_view secret_span(std::string_view w, size_t off) {
  size_t end = w.size();
  while (end > off && w[end - 1] == ';') --end;
  return w.substr(off, end - off);
}

// Masks the client options of one line of text, word by word (linear: no
// regex, so a line of any length is covered whole).
std::string mask_client_options(const std::string& line, int* count) {
  std::vector<std::string_view> words;
  std::string_view v(line);
  size_t p = 0;
  while (p < v.size()) {
    while (p < v.size() && std::isspace(static_cast<unsigned char>(v[p]))) ++p;
    size_t e = p;
    while (e < v.size() && !std::isspace(static_cast<unsigned char>(v[e]))) ++e;
    if (e > p) words.push_back(v.substr(p, e - p));
    p = e;
  }
  auto off = client_secret_offsets(words);
  std::string out;
  size_t last = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    if (off[i] == std::string_view::npos) continue;
    std::string_view secret = secret_span(words[i], off[i]);
    if (secret.empty() || secret == kMask) continue;
    size_t pos = static_cast<size_t>(secret.data() - line.data());
    out.append(line, last, pos - last);
    out += kMask;
    last = pos + secret.size();
    ++*count;
  }
  if (last == 0) return line;
  out.append(line, last, std::string::npos);
  return out;
}

// std::regex recurses per character, so lines are matched in chunks of at
// most kChunk, cut after a delimiter where one is near. A secret that a cut
// still splits (one token longer than a chunk) is masked on both sides.
constexpr size_t kChunk = 4096;

std::string redact_long_line(const std::string& line, int* count) {
  std::string out;
  size_t p = 0;
  int open = -1;
  while (p < line.size()) {
    size_t end = std::min(line.size(), p + kChunk);
    if (end < line.size()) {
      size_t cut = line.find_last_of(" \t&;,", end - 1);
      if (cut != std::string::npos && cut >= p + kChunk / 2) end = cut + 1;
    }
    std::string chunk = line.substr(p, end - p);
    p = end;
    if (open >= 0) {
      // The previous chunk ended inside a secret: its rest is secret too.
      size_t stop = chunk.find_first_of(open == kCookiePattern ? "\"\r" : " \t&,;\"'");
      if (stop == std::string::npos) stop = chunk.size();
      if (stop > 0 && (out.size() < 3 || out.compare(out.size() - 3, 3, kMask) != 0)) out += kMask;
      chunk.erase(0, stop);
      if (chunk.empty()) continue;  // still inside it
    }
    out += redact_line(chunk, count, &open);
  }
  return out;
}

// user:password@host with no scheme (an SSH target as typed).
std::string mask_bare_userinfo(const std::string& w, int* count) {
  static const std::regex re(R"(^([^\s:/@]+:)([^\s@]+)(@[^\s@]+)$)");
  std::smatch m;
  if (w.size() > kChunk || w.find("://") != std::string::npos || !std::regex_match(w, m, re) ||
      m.str(2) == kMask)
    return w;
  ++*count;
  return m.str(1) + kMask + m.str(3);
}

}  // namespace

std::string redact_text(const std::string& text, int* count) {
  if (!may_hold_secret(text)) return text;
  std::string out;
  size_t p = 0;
  while (p <= text.size()) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    std::string line = mask_client_options(text.substr(p, e - p), count);
    int open = -1;
    out += line.size() > kChunk ? redact_long_line(line, count) : redact_line(line, count, &open);
    if (e < text.size()) out += '\n';
    p = e + 1;
  }
  return out;
}

std::string redact_target(const std::string& target, int* count) {
  return mask_bare_userinfo(redact_text(target, count), count);
}

json redact_argv(const json& argv, int* count) {
  if (!argv.is_array()) return redact_json(argv, count);
  // Client options first, over the words together (-pX needs to know it
  // follows mysql).
  std::vector<std::string> strings;
  for (const auto& a : argv) strings.push_back(a.is_string() ? a.get<std::string>() : "");
  std::vector<std::string_view> views(strings.begin(), strings.end());
  auto off = client_secret_offsets(views);
  json out = json::array();
  bool mask_next = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const json& a = argv[i];
    if (!a.is_string()) {
      out.push_back(a);
      continue;
    }
    const std::string& w = strings[i];
    if (mask_next) {
      out.push_back(kMask);
      mask_next = false;
      ++*count;
      continue;
    }
    if (off[i] != std::string::npos) {
      std::string_view secret = secret_span(w, off[i]);
      if (!secret.empty() && secret != kMask) {
        size_t pos = static_cast<size_t>(secret.data() - w.data());
        out.push_back(w.substr(0, pos) + kMask + w.substr(pos + secret.size()));
        ++*count;
        continue;
      }
    }
    if (is_secret_option(w)) {
      mask_next = true;
      out.push_back(w);
      continue;
    }
    out.push_back(mask_bare_userinfo(redact_text(w, count), count));
  }
  return out;
}

// Walks JSON of any shape before it is written: every get<> here follows the
// type check that makes it safe.
json redact_json(const json& j, int* count) {
  if (j.is_string()) return redact_text(j.get<std::string>(), count);
  if (j.is_array()) {
    json out = json::array();
    for (const auto& v : j) out.push_back(redact_json(v, count));
    return out;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    if (is_env_key(it.key()) && v.is_array()) {
      // ["K=V", ...]: keep the names (they help), mask every value.
      json env = json::array();
      for (const auto& kv : v) {
        if (!kv.is_string()) {
          env.push_back(redact_json(kv, count));
          continue;
        }
        std::string s = kv.get<std::string>();
        size_t eq = s.find('=');
        env.push_back(eq == std::string::npos ? std::string(kMask) : s.substr(0, eq + 1) + kMask);
        ++*count;
      }
      out[it.key()] = std::move(env);
    } else if (is_env_key(it.key()) && v.is_object()) {
      json env = json::object();
      for (auto e = v.begin(); e != v.end(); ++e) {
        env[e.key()] = kMask;
        ++*count;
      }
      out[it.key()] = std::move(env);
    } else if (v.is_string() && is_secret_name(it.key())) {
      out[it.key()] = kMask;
      ++*count;
    } else if (it.key() == "argv" || it.key() == "cmdline") {
      out[it.key()] = redact_argv(v, count);
    } else {
      out[it.key()] = redact_json(v, count);
    }
  }
  return out;
}

}  // namespace sonde::controller::casefile
