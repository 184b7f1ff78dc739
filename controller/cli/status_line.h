// A progress line on stderr: rewritten in place on a terminal, one line per
// update otherwise (logs and CI keep every step). WaitLine keeps one going
// while a command blocks on a request.
#pragma once

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

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

  // Wipes a line left open (a terminal only): what follows on the terminal,
  // stdout's result included, starts on a clean line.
  void clear() {
    if (open_) {
      std::fputs("\r\033[K", to_);
      std::fflush(to_);
    }
    open_ = false;
  }

 private:
  FILE* to_;
  bool tty_;
  bool open_ = false;
};

// For a command that blocks on requests that may take seconds each (dns,
// tls, diagnose, one side after another): it says what it waits for, and a
// thread of this object shows that with the seconds spent, redrawn each
// second on a terminal. In a log a wait gets a line once it has lasted
// kPlainEveryMs and again every kPlainEveryMs: a quick run prints nothing.
// A fleet host's captured stderr gets none (the fleet has its own line).
class WaitLine {
 public:
  static constexpr long kPlainEveryMs = 5000;

  explicit WaitLine(FILE* to) : line_(to), shown_to_(to == stderr), thread_([this] { loop(); }) {}
  ~WaitLine() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    line_.clear();
  }
  WaitLine(const WaitLine&) = delete;
  WaitLine& operator=(const WaitLine&) = delete;

  // "sonde: dns: web1: asking"; "" when nothing runs: the line is wiped,
  // and the command may write to stdout or stderr.
  void waiting_for(std::string what) {
    std::lock_guard<std::mutex> g(mu_);
    if (!shown_to_) return;
    what_ = std::move(what);
    since_ = shown_ = Clock::now();
    if (what_.empty())
      line_.clear();
    else if (line_.tty())
      line_.show(what_);
  }
  // The same wait in other words (attempts counted so far): its clock runs on.
  void update(std::string what) {
    std::lock_guard<std::mutex> g(mu_);
    if (!shown_to_) return;
    what_ = std::move(what);
    if (line_.tty() && !what_.empty()) line_.show(with_time(Clock::now()));
  }

 private:
  using Clock = std::chrono::steady_clock;

  std::string with_time(Clock::time_point now) const {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(now - since_).count();
    return s > 0 ? what_ + " (" + std::to_string(s) + " s)" : what_;
  }

  void loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      wake_.wait_for(l, std::chrono::seconds(1));
      if (stop_ || what_.empty()) continue;
      auto now = Clock::now();
      if (!line_.tty() && now - shown_ < std::chrono::milliseconds(kPlainEveryMs)) continue;
      shown_ = now;
      line_.show(with_time(now));
    }
  }

  StatusLine line_;
  const bool shown_to_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::string what_;
  Clock::time_point since_, shown_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is set
};

}  // namespace sonde::controller
