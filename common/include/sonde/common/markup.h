// Text from a target or a person made safe for XML and HTML, in one place:
// the SVG flame graph and the HTML case report both embed names and notes
// that can hold anything. UTF-8 is checked the same way for both (overlong
// forms, surrogates and code points past U+10FFFF are invalid); each invalid
// byte becomes '?'.
#pragma once

#include <string>
#include <string_view>

namespace sonde {

// Printable text: control characters other than newline and tab (C0, DEL
// and C1) become '?', Unicode non-characters U+FFFD. For Markdown and HTML,
// where a note keeps its lines.
std::string clean_text(std::string_view s);

// For HTML content and attributes: clean_text, then & < > " ' as entities
// (' as &#39;).
std::string escape_html(std::string_view s);

// For XML 1.0 content and attributes (SVG): every control character,
// newline and tab included, becomes '?', as do U+FFFE and U+FFFF (one '?'
// per byte), which XML forbids; & < > " ' as entities (' as &apos;).
void append_xml_escaped(std::string& out, std::string_view s);

}  // namespace sonde
