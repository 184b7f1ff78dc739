// The recorder (recorder.h): collects a command's agent requests and writes
// its journal entry after it returns.
#include "recorder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>

#include "../session.h"
#include "journal.h"
#include "redact.h"
#include "sonde/common/io.h"
#include "summaries.h"

namespace sonde::controller::casefile {
namespace fs = std::filesystem;
namespace {

// A result too big to keep whole in a journal line (a trace's events, a long
// process table) keeps its scalar fields and the first items of its arrays.
constexpr size_t kMaxResultBytes = 256 * 1024;
constexpr size_t kKeepItems = 50;

json bounded(const json& r) {
  if (r.dump(-1, ' ', false, json::error_handler_t::replace).size() <= kMaxResultBytes) return r;
  if (!r.is_object()) return json{{"truncated", true}};
  json out = json::object();
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (it->is_array() && it->size() > kKeepItems) {
      json a = json::array();
      for (size_t i = 0; i < kKeepItems; ++i) a.push_back((*it)[i]);
      out[it.key()] = std::move(a);
      out["truncated_" + it.key()] = it->size();
    } else {
      out[it.key()] = *it;
    }
  }
  if (out.dump(-1, ' ', false, json::error_handler_t::replace).size() > kMaxResultBytes) {
    json small = json::object();
    for (auto it = out.begin(); it != out.end(); ++it)
      if (!it->is_structured()) small[it.key()] = *it;
    small["truncated"] = true;
    return small;
  }
  return out;
}

// Entry sequence number: lines in the journal so far, plus one.
int next_seq(const std::string& case_dir) {
  FILE* f = std::fopen((case_dir + "/journal.jsonl").c_str(), "rbe");
  if (!f) return 1;
  int n = 0;
  char buf[65536];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < got; ++i)
      if (buf[i] == '\n') ++n;
  std::fclose(f);
  return n + 1;
}

}  // namespace

// The latest match: a new Session may reuse a freed one's address, and its
// ids start at 1 again.
json* CaseRecorder::find_op(const Session* session, uint64_t id) {
  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it)
    if (it->session == session && it->id == id) return &it->rec;
  return nullptr;
}

void CaseRecorder::on_request(const Session& s, uint64_t id, const std::string& op,
                              const json& args) {
  std::lock_guard<std::mutex> lk(mu_);
  ops_.push_back({&s, id, json{{"op", op}, {"args", args}}});
}

void CaseRecorder::on_result(const Session& s, uint64_t id, const json& result) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json* o = find_op(&s, id); o && !o->contains("result") && !o->contains("error")) {
    (*o)["host"] = s.host();
    (*o)["result"] = bounded(result);
  }
}

void CaseRecorder::on_error(const Session& s, uint64_t id, const Error& e) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json* o = find_op(&s, id); o && !o->contains("result") && !o->contains("error")) {
    (*o)["host"] = s.host();
    (*o)["error"] = {{"code", e.code}, {"message", e.message}, {"hint", e.hint}};
  }
}

std::vector<json> CaseRecorder::ops() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<json> v;
  for (const auto& o : ops_) v.push_back(o.rec);
  return v;
}

std::string case_for(const std::string& command, const std::string& case_option) {
  if (command == "report" || command == "help" || command == "case" ||
      command.rfind("case ", 0) == 0)
    return "";
  if (!case_option.empty()) return case_option;
  return active_case();
}

std::string artifact_kind(const std::string& path) {
  auto ends = [&](const char* ext) {
    std::string e = ext;
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".svg") || ends(".html")) return "svg";
  if (ends(".pcap") || ends(".pcapng")) return "pcap";
  if (ends(".jfr")) return "jfr";
  if (ends(".txt") || ends(".log") || ends(".trace") || ends(".out")) return "log";
  if (ends(".json") || ends(".ndjson") || ends(".jsonl")) return "json";
  if (ends(".pb.gz") || ends(".pprof")) return "pprof";
  if (ends(".folded")) return "folded";
  return "other";
}

json copy_artifact(const std::string& case_dir, int seq, const std::string& file,
                   std::string* note) {
  constexpr unsigned long long kMaxBytes = 512ull << 20;
  struct stat st;
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *note = file + ": not written, nothing to copy";
    return nullptr;
  }
  if (static_cast<unsigned long long>(st.st_size) > kMaxBytes) {
    *note = file + ": " + std::to_string(st.st_size) + " bytes, over 512 MiB: not copied";
    return nullptr;
  }
  std::error_code ec;
  // Artifacts (pcaps, recordings) are the case's most private part: 0700/0600.
  if (::mkdir((case_dir + "/artifacts").c_str(), 0700) != 0 && errno != EEXIST) {
    *note = "cannot create " + case_dir + "/artifacts: " + std::strerror(errno);
    return nullptr;
  }
  std::string base = fs::path(file).filename().string();
  char prefix[16];
  // O_EXCL: a concurrent run that got the same sequence number picks the next.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::snprintf(prefix, sizeof prefix, "%04d", seq + attempt);
    std::string rel = "artifacts/" + std::string(prefix) + "-" + base;
    std::string dst = case_dir + "/" + rel;
    int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0 && errno == EEXIST) continue;
    if (out < 0) {
      *note = "cannot create " + dst + ": " + std::strerror(errno);
      return nullptr;
    }
    int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    unsigned long long bytes = 0;
    bool ok = in >= 0;
    char buf[1 << 16];
    while (ok) {
      ssize_t n = ::read(in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = n == 0;
        break;
      }
      if (!write_all(out, std::string_view(buf, static_cast<size_t>(n))).ok()) ok = false;
      bytes += static_cast<unsigned long long>(n);
    }
    if (in >= 0) ::close(in);
    ::close(out);
    if (!ok) {
      ::unlink(dst.c_str());
      *note = "copying " + file + " failed";
      return nullptr;
    }
    std::string from = fs::absolute(file, ec).string();
    return json{{"path", rel},
                {"from", from.empty() ? file : from},
                {"kind", artifact_kind(file)},
                {"bytes", bytes}};
  }
  *note = "no free artifact name for " + file;
  return nullptr;
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
  int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0;
  char rest[8] = {0};
  auto all_used = [](int consumed, const std::string& t) {
    return consumed == static_cast<int>(t.size());
  };
  int used = 0;
  // HH:MM[:SS], local time today.
  if ((std::sscanf(text.c_str(), "%2d:%2d:%2d%n", &h, &m, &sec, &used) == 3 &&
       all_used(used, text)) ||
      (sec = 0, used = 0,
       std::sscanf(text.c_str(), "%2d:%2d%n", &h, &m, &used) == 2 && all_used(used, text))) {
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) return bad;
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
  // YYYY-MM-DD[T ]HH:MM[:SS][Z]
  std::string t = text;
  bool utc = !t.empty() && (t.back() == 'Z' || t.back() == 'z');
  if (utc) t.pop_back();
  if (t.size() > 10 && (t[10] == 'T' || t[10] == 't' || t[10] == ' ')) t[10] = 'T';
  used = 0;
  int n = std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used);
  if (!(n == 6 && all_used(used, t))) {
    sec = 0;
    used = 0;
    n = std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d%n", &Y, &M, &D, &h, &m, &used);
    if (!(n == 5 && all_used(used, t))) return bad;
  }
  (void)rest;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970) return bad;
  struct tm tm = {};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  time_t at = utc ? timegm(&tm) : std::mktime(&tm);
  return utc_text(static_cast<long>(at));
}

void record_command(const Invocation& inv, const std::vector<json>& ops) {
  auto c = open_case(inv.case_name);
  if (!c) {
    std::fprintf(stderr, "sonde: warning: not recorded in case `%s`: %s\n", inv.case_name.c_str(),
                 c.error().message.c_str());
    return;
  }
  if (!c->closed.empty()) {
    std::fprintf(stderr,
                 "sonde: warning: case `%s` was closed at %s: this run is not recorded\n"
                 "  hint: `sonde case use %s` reopens it\n",
                 c->name.c_str(), c->closed.c_str(), c->name.c_str());
    return;
  }
  Summary s = summarize_command(inv.command, ops, inv.exit);
  std::string host;
  for (const auto& o : ops)
    if (o.contains("host") && o["host"].is_string() && o["host"] != "?") {
      host = o["host"];
      break;
    }

  std::string now = utc_now();
  json entry = {{"v", 1}, {"kind", "command"}, {"ts", now}, {"at", now}};
  int redacted = 0;
  json argv = inv.argv;
  json figures = s.figures;
  json ops_j = ops;
  std::string summary = s.line;
  if (inv.redact) {
    argv = redact_argv(argv, &redacted);
    summary = redact_text(summary, &redacted);
    figures = redact_json(figures, &redacted);
    ops_j = redact_json(ops_j, &redacted);
  }
  entry["argv"] = argv;
  entry["command"] = inv.command;
  // The target as typed can hold a password (user:pass@host, a --via command).
  entry["target"] = inv.redact ? redact_target(inv.target, &redacted) : inv.target;
  entry["host"] = host;
  entry["duration_ms"] = inv.duration_ms;
  entry["exit"] = inv.exit;
  entry["summary"] = summary;
  entry["figures"] = figures;
  entry["ops"] = ops_j;

  json artifacts = json::array();
  const auto& files = inv.outputs;
  if (!files.empty()) {
    int seq = next_seq(c->dir);
    for (const auto& f : files) {
      std::string note;
      json a = copy_artifact(c->dir, seq, f, &note);
      if (a.is_null()) {
        if (!note.empty() && inv.exit == 0)
          std::fprintf(stderr, "sonde: warning: case `%s`: %s\n", c->name.c_str(), note.c_str());
        continue;
      }
      artifacts.push_back(std::move(a));
    }
  }
  entry["artifacts"] = artifacts;
  entry["redacted"] = redacted;
  if (auto st = append_entry(*c, entry); !st.ok())
    std::fprintf(stderr, "sonde: warning: not recorded in case `%s`: %s\n", c->name.c_str(),
                 st.error().message.c_str());
}

}  // namespace sonde::controller::casefile
