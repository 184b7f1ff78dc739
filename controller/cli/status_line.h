// A progress line on stderr: rewritten in place on a terminal, one line per
// update otherwise (logs and CI keep every step).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

namespace sonde::controller {

class StatusLine {
 public:
  // to: the command's stderr (a fleet host's is its captured output, never a
  // terminal).
  explicit StatusLine(FILE* to) : to_(to), tty_(to == stderr && ::isatty(2) == 1) {}
  ~StatusLine() { end(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool tty() const { return tty_; }

  // final_line: the line stays (a terminal moves on to a new one).
  void show(const std::string& line, bool final_line = false) {
    if (tty_) {
      std::fprintf(to_, "\r%s\033[K%s", line.c_str(), final_line ? "\n" : "");
      open_ = !final_line;
    } else {
      std::fprintf(to_, "%s\n", line.c_str());
    }
    std::fflush(to_);
  }

  // Ends a line left open, before other output goes to stderr.
  void end() {
    if (open_) std::fputs("\n", to_);
    open_ = false;
  }

 private:
  FILE* to_;
  bool tty_;
  bool open_ = false;
};

}  // namespace sonde::controller
