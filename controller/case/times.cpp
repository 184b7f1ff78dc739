// Journal times (times.h).
#include "times.h"

#include <ctime>

#include "sonde/common/io.h"

namespace sonde::controller::casefile {
namespace {

// Reads text left to right: each step takes what it matches, or nothing.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  // min..max digits.
  bool number(size_t min, size_t max, int& out) {
    size_t n = 0;
    int v = 0;
    while (n < max && i_ + n < s_.size() && s_[i_ + n] >= '0' && s_[i_ + n] <= '9')
      v = v * 10 + (s_[i_ + n++] - '0');
    if (n < min) return false;
    i_ += n;
    out = v;
    return true;
  }
  bool skip(char c) { return skip_any(std::string_view(&c, 1)); }
  bool skip_any(std::string_view set) {
    if (i_ == s_.size() || set.find(s_[i_]) == std::string_view::npos) return false;
    ++i_;
    return true;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// ".123" (any number of digits; milliseconds kept) after the seconds.
bool fraction_ms(Scanner& sc, long long& ms) {
  if (!sc.skip('.')) return true;
  int digit = 0;
  if (!sc.number(1, 1, digit)) return false;
  long long scale = 100;
  ms = digit * scale;
  while (sc.number(1, 1, digit)) {
    scale /= 10;
    ms += digit * scale;
  }
  return true;
}

}  // namespace

std::optional<long long> parse_time_ms(std::string_view text, BareTime bare) {
  Scanner sc(text);
  int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0;
  long long ms = 0;
  if (!sc.number(4, 4, Y) || !sc.skip('-') || !sc.number(1, 2, M) || !sc.skip('-') ||
      !sc.number(1, 2, D) || !sc.skip_any("Tt ") || !sc.number(1, 2, h) || !sc.skip(':') ||
      !sc.number(1, 2, m))
    return std::nullopt;
  if (sc.skip(':') && (!sc.number(1, 2, sec) || !fraction_ms(sc, ms))) return std::nullopt;
  std::optional<long long> offset_s;  // east of UTC
  if (sc.skip_any("Zz")) {
    offset_s = 0;
  } else if (char sign = sc.peek(); sc.skip_any("+-")) {
    int oh = 0, om = 0;
    if (!sc.number(2, 2, oh)) return std::nullopt;
    sc.skip(':');
    if (!sc.done() && !sc.number(2, 2, om)) return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    offset_s = (sign == '+' ? 1 : -1) * (oh * 3600LL + om * 60LL);
  } else if (bare == BareTime::kUtc) {
    offset_s = 0;
  }
  if (!sc.done()) return std::nullopt;
  if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  time_t t = offset_s ? timegm(&tm) - *offset_s : std::mktime(&tm);
  return static_cast<long long>(t) * 1000 + ms;
}

std::string utc_text(long secs) {
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> parse_note_time(const std::string& text, long now) {
  Error bad{errc::kBadArgs, "--at `" + text + "` is not a time",
            "use 14:02 or 14:02:30 (local, today), 2026-11-25T14:02Z (UTC), or -15m (ago)"};
  if (text.size() > 1 && text[0] == '-') {
    auto ms = parse_duration_ms(text.substr(1));
    if (!ms || *ms < 0) return bad;
    return utc_text(now - *ms / 1000);
  }
  // HH:MM[:SS], local time today.
  Scanner sc(text);
  int h = 0, m = 0, sec = 0;
  if (sc.number(1, 2, h) && sc.skip(':') && sc.number(1, 2, m) &&
      (!sc.skip(':') || sc.number(1, 2, sec)) && sc.done()) {
    if (h > 23 || m > 59 || sec > 60) return bad;
    time_t t = static_cast<time_t>(now);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    time_t at = std::mktime(&tm);
    if (at > t) {
      // "14:02" said at 00:10 means yesterday's 14:02.
      localtime_r(&t, &tm);
      tm.tm_mday -= 1;
      tm.tm_hour = h;
      tm.tm_min = m;
      tm.tm_sec = sec;
      tm.tm_isdst = -1;
      at = std::mktime(&tm);
    }
    return utc_text(static_cast<long>(at));
  }
  auto ms = parse_time_ms(text, BareTime::kLocal);
  if (!ms) return bad;
  return utc_text(static_cast<long>(*ms / 1000));
}

}  // namespace sonde::controller::casefile
