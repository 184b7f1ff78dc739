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

// A fleet run's merged view in a journal line: its first lines up to the
// cap, then how many were left out (the --log-dir files keep them all).
constexpr size_t kMaxMergedBytes = 64 * 1024;

std::string bounded_text(const std::string& text, size_t cap) {
  if (text.size() <= cap) return text;
  size_t cut = text.rfind('\n', cap);
  cut = cut == std::string::npos ? cap : cut + 1;
  size_t more = 0;
  for (size_t i = cut; i < text.size(); ++i) more += text[i] == '\n';
  return text.substr(0, cut) + "… " + std::to_string(more) + " more lines not kept\n";
}

// Everything an op carries through the masks: its args and result as
// redact_json sees any JSON, its strings as text.
void redact_op(OpRecord& o, int* count) {
  o.op = redact_text(o.op, count);
  o.args = redact_json(o.args, count);
  if (o.host) o.host = redact_text(*o.host, count);
  if (o.result) o.result = redact_json(*o.result, count);
  if (o.error)
    for (std::string* t : {&o.error->code, &o.error->message, &o.error->hint})
      *t = redact_text(*t, count);
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
OpRecord* CaseRecorder::find_op(const Session* session, uint64_t id) {
  for (auto it = ops_.rbegin(); it != ops_.rend(); ++it)
    if (it->session == session && it->id == id) return &it->rec;
  return nullptr;
}

void CaseRecorder::on_request(const Session& s, uint64_t id, const std::string& op,
                              const json& args) {
  std::lock_guard<std::mutex> lk(mu_);
  ops_.push_back({&s, id, OpRecord{op, args, std::nullopt, std::nullopt, std::nullopt}});
}

void CaseRecorder::on_clock(const Session& s, const ClockOffset& c) {
  std::lock_guard<std::mutex> lk(mu_);
  ClockRecord rec{s.host(), c.offset_ns, c.bound_ns, c.exchanges};
  for (auto& k : clocks_)
    if (k.host == rec.host) {
      k = rec;
      return;
    }
  clocks_.push_back(std::move(rec));
}

std::vector<ClockRecord> CaseRecorder::clocks() const {
  std::lock_guard<std::mutex> lk(mu_);
  return clocks_;
}

void CaseRecorder::on_result(const Session& s, uint64_t id, const json& result) {
  std::lock_guard<std::mutex> lk(mu_);
  if (OpRecord* o = find_op(&s, id); o && !o->result && !o->error) {
    o->host = s.host();
    o->result = bounded(result);
  }
}

void CaseRecorder::on_error(const Session& s, uint64_t id, const Error& e) {
  std::lock_guard<std::mutex> lk(mu_);
  if (OpRecord* o = find_op(&s, id); o && !o->result && !o->error) {
    o->host = s.host();
    o->error = OpError{e.code, e.message, e.hint};
  }
}

std::vector<OpRecord> CaseRecorder::ops() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<OpRecord> v;
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

std::optional<ArtifactRecord> copy_artifact(const std::string& case_dir, int seq,
                                            const std::string& file, std::string* note) {
  constexpr unsigned long long kMaxBytes = 512ull << 20;
  struct stat st;
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *note = file + ": not written, nothing to copy";
    return std::nullopt;
  }
  if (static_cast<unsigned long long>(st.st_size) > kMaxBytes) {
    *note = file + ": " + std::to_string(st.st_size) + " bytes, over 512 MiB: not copied";
    return std::nullopt;
  }
  std::error_code ec;
  // Artifacts (pcaps, recordings) are the case's most private part: 0700/0600.
  if (::mkdir((case_dir + "/artifacts").c_str(), 0700) != 0 && errno != EEXIST) {
    *note = "cannot create " + case_dir + "/artifacts: " + std::strerror(errno);
    return std::nullopt;
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
      return std::nullopt;
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
      return std::nullopt;
    }
    std::string from = fs::absolute(file, ec).string();
    return ArtifactRecord{rel, from.empty() ? file : from, artifact_kind(file), bytes};
  }
  *note = "no free artifact name for " + file;
  return std::nullopt;
}

void record_command(const Invocation& inv, std::vector<OpRecord> ops) {
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
  Entry e;
  e.kind = "command";
  e.ts = e.at = utc_now();
  for (const auto& o : ops)
    if (o.host && *o.host != "?") {
      e.host = *o.host;
      break;
    }
  e.argv = inv.argv;
  e.command = inv.command;
  e.target = inv.target;
  e.duration_ms = inv.duration_ms;
  e.exit = inv.exit;
  e.summary = s.line;
  e.figures = s.figures;
  e.ops = std::move(ops);
  e.clocks = inv.clocks;
  if (inv.fleet) {
    e.summary = inv.fleet->summary;
    e.figures = inv.fleet->figures;
    e.fleet = inv.fleet->hosts;
    e.merged = bounded_text(inv.fleet->merged, kMaxMergedBytes);
  }
  if (inv.redact) {
    int redacted = 0;
    // Strings in, strings out: the JSON here is our own.
    e.argv = redact_argv(json(e.argv), &redacted).get<std::vector<std::string>>();
    e.summary = redact_text(e.summary, &redacted);
    for (auto& f : e.figures) f = redact_text(f, &redacted);
    for (auto& o : e.ops) redact_op(o, &redacted);
    e.merged = redact_text(e.merged, &redacted);
    for (auto& h : e.fleet) h.error = redact_text(h.error, &redacted);
    // The target as typed can hold a password (user:pass@host, a --via command).
    e.target = redact_target(e.target, &redacted);
    e.redacted = redacted;
  }

  const auto& files = inv.outputs;
  if (!files.empty()) {
    int seq = next_seq(c->dir);
    for (const auto& f : files) {
      std::string note;
      auto a = copy_artifact(c->dir, seq, f, &note);
      if (!a) {
        if (!note.empty() && inv.exit == 0)
          std::fprintf(stderr, "sonde: warning: case `%s`: %s\n", c->name.c_str(), note.c_str());
        continue;
      }
      e.artifacts.push_back(std::move(*a));
    }
  }
  if (auto st = append_entry(*c, e); !st.ok())
    std::fprintf(stderr, "sonde: warning: not recorded in case `%s`: %s\n", c->name.c_str(),
                 st.error().message.c_str());
}

}  // namespace sonde::controller::casefile
