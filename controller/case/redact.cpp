// Secret masking for the case journal (redact.h).
#include "redact.h"

#include <cctype>
#include <regex>

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
    // scheme://user:pass@host
    // (The scheme is kept text: matching from "://" spares every start
    // position a scan of the word before it.)
    v.push_back({std::regex(R"((://[^\s:/@]+:)([^\s@/]+)(@))", icase), 2});
    // --password=X, password=X, DB_PASSWORD=X, "token": "X", api_key: X
    v.push_back(
        {std::regex(std::string("(") + kSecretKeyTail + R"(\s*(?:=|:\s*|"\s*:\s*"?)\s*)([^\s&,;"']+))",
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
  static const char* hints[] = {"pass", "pwd",    "secret",     "token", "key",
                                "auth", "cookie", "credential", "@"};
  std::string low;
  low.reserve(s.size());
  for (char ch : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* h : hints)
    if (low.find(h) != std::string::npos) return true;
  return false;
}

std::string redact_line(const std::string& text, int* count) {
  std::string s = text;
  for (const auto& p : patterns()) {
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
      ++*count;
      any = true;
    }
    if (!any) continue;
    out.append(s, last, std::string::npos);
    s = std::move(out);
  }
  return s;
}

}  // namespace

std::string redact_text(const std::string& text, int* count) {
  if (!may_hold_secret(text)) return text;
  // Line by line, each bounded: std::regex recursion grows with the input.
  std::string out;
  size_t p = 0;
  while (p <= text.size()) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    std::string line = text.substr(p, e - p);
    if (line.size() > 4096) {
      for (size_t q = 0; q < line.size(); q += 4096)
        out += redact_line(line.substr(q, 4096), count);
    } else {
      out += redact_line(line, count);
    }
    if (e < text.size()) out += '\n';
    p = e + 1;
  }
  return out;
}

json redact_argv(const json& argv, int* count) {
  if (!argv.is_array()) return redact_json(argv, count);
  json out = json::array();
  bool mask_next = false;
  for (const auto& a : argv) {
    if (!a.is_string()) {
      out.push_back(a);
      continue;
    }
    std::string w = a.get<std::string>();
    if (mask_next) {
      mask_next = false;
      out.push_back(kMask);
      ++*count;
      continue;
    }
    if (is_secret_option(w)) {
      mask_next = true;
      out.push_back(w);
      continue;
    }
    out.push_back(redact_text(w, count));
  }
  return out;
}

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
