// A plain text table: columns sized to their widest cell, left or right
// aligned, the last column cut to the terminal width when one is given.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::render {

// Strings the target controls (process and thread names, paths, notes) with
// control characters shown as '?', so they cannot drive the terminal.
std::string terminal_safe(std::string s);

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;
};

class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Missing cells are blank, extra cells are dropped. Control characters are
  // shown as '?' so hostile process names cannot drive the terminal.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // term_width <= 0: no limit. Every line ends with '\n'.
  std::string render(int term_width = 0) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// The table with no width limit, each line indented by two spaces, for a
// table inside a section of a report.
std::string indented(const Table& table);

// Display width in terminal cells, counting UTF-8 code points as one each.
size_t display_width(std::string_view s);

// Cut to at most width cells on a code point boundary.
std::string truncate_display(std::string_view s, size_t width);

// A note as lines of at most width cells, broken at spaces (a word longer
// than the width is cut at a code point boundary); continuation lines are
// indented by two spaces. width <= 0: one line. Every line ends with '\n'.
std::string wrap_note(std::string_view text, int width);

// Helpers shared by the text renderers: lenient field access for results
// that are still JSON (json_access.h; results may come from agents of other
// versions) and time formatting.

// The field as display text: strings as-is, numbers printed, missing → fallback.
std::string field_text(const sonde::json& obj, const char* key, const std::string& fallback = "");

// Epoch seconds → "14:03" today, "Mar04" this year, "2023" before, like ps START.
std::string format_start(long long epoch, long long now);

// Epoch seconds → "2024-03-04 14:03:05" local time.
std::string format_datetime(long long epoch);

}  // namespace sonde::render
