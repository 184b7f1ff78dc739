// One escaping for XML (the SVG flame graph) and HTML (the case report):
// the same UTF-8 checks, and the differences each format needs.
#include <gtest/gtest.h>

#include <string>

#include "sonde/common/markup.h"

using namespace sonde;
using namespace std::string_literals;

namespace {
std::string xml(std::string_view s) {
  std::string out;
  append_xml_escaped(out, s);
  return out;
}
}  // namespace

TEST(Markup, MarkupCharacters) {
  EXPECT_EQ(escape_html("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(xml("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
}

TEST(Markup, LinesKeptInHtmlNotInXml) {
  EXPECT_EQ(clean_text("a\nb\tc\rd\x1b[0m\x7f"), "a\nb\tc?d?[0m?");
  EXPECT_EQ(escape_html("a\nb\tc\r"), "a\nb\tc?");
  EXPECT_EQ(xml("a\nb\tc\r\x7f"), "a?b?c??");
}

TEST(Markup, InvalidUtf8ByteByByte) {
  // Lone continuation, overlong '/', a surrogate, past U+10FFFF, truncated.
  const std::string bad = "\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82"s;
  EXPECT_EQ(clean_text(bad), "?|??|???|????|??");
  EXPECT_EQ(xml(bad), "?|??|???|????|??");
  // Valid multi-byte text passes through both.
  EXPECT_EQ(clean_text("€ ü 😀"), "€ ü 😀");
  EXPECT_EQ(xml("€ ü 😀"), "€ ü 😀");
}

TEST(Markup, NonCharactersAndC1) {
  // U+FFFE: not an XML character (each byte '?'); in HTML text U+FFFD.
  EXPECT_EQ(xml("a\xef\xbf\xbez"), "a???z");
  EXPECT_EQ(clean_text("a\xef\xbf\xbez"), "a\xef\xbf\xbdz");
  EXPECT_EQ(clean_text("\xef\xb7\x90"), "\xef\xbf\xbd");  // U+FDD0
  // C1 controls (U+0085 here): '?' in report text, kept in XML.
  EXPECT_EQ(clean_text("a\xc2\x85z"), "a?z");
  EXPECT_EQ(xml("a\xc2\x85z"), "a\xc2\x85z");
}
