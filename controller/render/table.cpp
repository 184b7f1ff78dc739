#include "sonde/render/table.h"

#include <time.h>

#include <algorithm>

#include <fmt/format.h>

#include "sonde/common/json_text.h"
#include "sonde/render/json_access.h"

namespace sonde::render {
namespace {

constexpr size_t kGap = 2;         // spaces between columns
constexpr size_t kMinLastCol = 8;  // never squeeze the last column below this

bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

}  // namespace

std::string terminal_safe(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

size_t display_width(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return !continuation(c); }));
}

std::string truncate_display(std::string_view s, size_t width) {
  size_t cells = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (continuation(s[i])) continue;
    if (cells == width) return std::string(s.substr(0, i));
    ++cells;
  }
  return std::string(s);
}

std::string wrap_note(std::string_view text, int width) {
  if (width <= 0 || display_width(text) <= static_cast<size_t>(width))
    return std::string(text) + "\n";
  const size_t max = static_cast<size_t>(std::max(width, 8));
  std::string out;
  std::string line;
  auto flush = [&] {
    out += line;
    out += '\n';
    line = "  ";
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t sp = text.find(' ', pos);
    std::string_view word = text.substr(pos, sp == std::string_view::npos ? sp : sp - pos);
    pos = sp == std::string_view::npos ? text.size() : sp + 1;
    if (word.empty()) continue;
    bool fresh = line.empty() || line == "  ";
    size_t need = display_width(line) + (fresh ? 0 : 1) + display_width(word);
    if (!fresh && need > max) flush();
    if (line != "  " && !line.empty()) line += ' ';
    // A word wider than a whole line is cut into pieces that fit.
    while (display_width(line) + display_width(word) > max) {
      std::string head = truncate_display(word, max - display_width(line));
      line += head;
      word.remove_prefix(head.size());
      flush();
    }
    line += word;
  }
  if (!line.empty() && line != "  ") flush();
  return out;
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (auto& c : cells) c = terminal_safe(std::move(c));
  rows_.push_back(std::move(cells));
}

std::string Table::render(int term_width) const {
  if (columns_.empty()) return {};
  std::vector<size_t> w(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    w[i] = display_width(columns_[i].header);
    for (const auto& r : rows_) w[i] = std::max(w[i], display_width(r[i]));
  }
  size_t last = columns_.size() - 1;
  // The last column gets what the others leave; it is the one that can be long
  // (a command line, a path).
  size_t max_last = SIZE_MAX;
  if (term_width > 0) {
    size_t used = 0;
    for (size_t i = 0; i < last; ++i) used += w[i] + kGap;
    size_t tw = static_cast<size_t>(term_width);
    max_last = tw > used + kMinLastCol ? tw - used : kMinLastCol;
  }

  std::string out;
  auto line = [&](auto cell_of) {
    std::string l;
    for (size_t i = 0; i < columns_.size(); ++i) {
      std::string cell = cell_of(i);
      if (i == last) {
        if (display_width(cell) > max_last) cell = truncate_display(cell, max_last);
        size_t width = std::min(w[i], max_last);
        if (columns_[i].align == Align::kRight)
          l += std::string(width > display_width(cell) ? width - display_width(cell) : 0, ' ');
        l += cell;
        break;
      }
      size_t pad = w[i] - display_width(cell);
      if (columns_[i].align == Align::kRight)
        l += std::string(pad, ' ') + cell;
      else
        l += cell + std::string(pad, ' ');
      l += std::string(kGap, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + '\n';
  };
  line([&](size_t i) { return columns_[i].header; });
  for (const auto& r : rows_) line([&](size_t i) { return r[i]; });
  return out;
}

std::string indented(const Table& table) {
  std::string text = table.render(), out;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    out += "  " + text.substr(pos, nl - pos + 1);
    pos = nl + 1;
  }
  return out;
}

std::string field_text(const sonde::json& obj, const char* key, const std::string& fallback) {
  const sonde::json* v = json_field(obj, key);
  if (!v) return fallback;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_float()) return fmt::format("{:.1f}", v->get<double>());
  return json_text(*v);
}

std::string format_start(long long epoch, long long now) {
  if (epoch <= 0) return "?";
  time_t t = static_cast<time_t>(epoch);
  tm when{}, today{};
  time_t n = static_cast<time_t>(now);
  if (!localtime_r(&t, &when) || !localtime_r(&n, &today)) return "?";
  char buf[32];
  const char* f = now - epoch < 24 * 3600 ? "%H:%M" : when.tm_year == today.tm_year ? "%b%d" : "%Y";
  strftime(buf, sizeof buf, f, &when);
  return buf;
}

std::string format_datetime(long long epoch) {
  time_t t = static_cast<time_t>(epoch);
  tm when{};
  if (epoch <= 0 || !localtime_r(&t, &when)) return "?";
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &when);
  return buf;
}

}  // namespace sonde::render
