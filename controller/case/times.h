// The case journal's times: how entries write them ("2026-11-25T14:02:03Z"
// in UTC) and how they are read back, from the journal and from a person
// (`case note --at`). One parser for both.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sonde/common/result.h"

namespace sonde::controller::casefile {

// What a time with no zone means: a person's local time, or (in a journal,
// which always writes UTC) UTC.
enum class BareTime { kLocal, kUtc };

// "2026-11-25T14:02:03.123Z" and the forms people type: 'T', 't' or ' '
// between date and time, seconds and their fraction optional, then 'Z'
// (UTC), "+02:00" / "-0500" (that offset) or nothing (`bare`). Epoch
// milliseconds; nullopt when the text is not such a time, or is one with
// anything after it.
std::optional<long long> parse_time_ms(std::string_view text, BareTime bare);

// "2026-11-25T14:02:03Z" for a time in seconds since the epoch.
std::string utc_text(long secs);

// A note's --at as a UTC time "2026-11-25T14:02:00Z": "14:02" or "14:02:30"
// (today in local time, yesterday if that is still ahead of now), a date and
// time as parse_time_ms reads them (without a zone: local), or "-15m" (that
// long ago; any duration). now: seconds since the epoch.
Result<std::string> parse_note_time(const std::string& text, long now);

}  // namespace sonde::controller::casefile
