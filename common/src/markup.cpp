#include "sonde/common/markup.h"

#include <cstdint>

namespace sonde {
namespace {

// The code point that starts at s[i] and its length in bytes; length 0 when
// the byte there does not start a valid UTF-8 sequence.
struct CodePoint {
  uint32_t cp = 0;
  size_t len = 0;
};

CodePoint decode(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {};
  uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
  for (size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return {};
    cp = (cp << 6) | (cc & 0x3f);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {};
  return {cp, len};
}

bool append_entity(std::string& out, char c, const char* apostrophe) {
  switch (c) {
    case '&':
      out += "&amp;";
      return true;
    case '<':
      out += "&lt;";
      return true;
    case '>':
      out += "&gt;";
      return true;
    case '"':
      out += "&quot;";
      return true;
    case '\'':
      out += apostrophe;
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string clean_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    CodePoint p = decode(s, i);
    if (p.len == 0) {
      out += '?';
      ++i;
      continue;
    }
    uint32_t cp = p.cp;
    if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
      out += '?';
    else if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
      out += "\xef\xbf\xbd";
    else
      out.append(s.substr(i, p.len));
    i += p.len;
  }
  return out;
}

std::string escape_html(std::string_view s) {
  std::string text = clean_text(s), out;
  out.reserve(text.size());
  for (char c : text)
    if (!append_entity(out, c, "&#39;")) out += c;
  return out;
}

void append_xml_escaped(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    CodePoint p = decode(s, i);
    if (p.len == 0 || p.cp == 0xfffe || p.cp == 0xffff) {
      out += '?';
      ++i;
      continue;
    }
    if (p.len == 1) {
      char c = static_cast<char>(p.cp);
      if (!append_entity(out, c, "&apos;")) out += p.cp < 0x20 || p.cp == 0x7f ? '?' : c;
    } else {
      out.append(s.substr(i, p.len));
    }
    i += p.len;
  }
}

}  // namespace sonde
