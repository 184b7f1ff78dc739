// The case store: case.json, the append-only journal.jsonl, the active case.
#include "journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "sonde/common/io.h"
#include "sonde/common/json_read.h"
#include "sonde/common/json_text.h"

namespace sonde::controller::casefile {
namespace fs = std::filesystem;
namespace {

std::string cases_dir() {
  return sonde_home() + "/cases";
}

bool home_is_explicit() {
  const char* h = std::getenv("SONDE_HOME");
  return h && *h;
}

// The store holds what targets showed (command lines, results, captures):
// folders 0700, files 0600. A missing folder and its missing parents are
// made 0700.
Status make_private_dirs(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || fs::is_directory(dir, ec)) return ok_status();
  fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty() && parent.string() != dir)
    if (auto st = make_private_dirs(parent.string()); !st.ok()) return st;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("mkdir " + dir, errno, "set $SONDE_HOME to a writable directory");
  return ok_status();
}

// A store folder or file of ours that other users can read or write (made
// by an older sonde, or copied in) is narrowed to `want`, with a warning.
void tighten(const std::string& path, mode_t want) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) == 0)
    return;
  if (::chmod(path.c_str(), want) == 0)
    std::fprintf(stderr, "sonde: warning: %s was open to other users (mode %04o); now %04o\n",
                 path.c_str(), static_cast<unsigned>(st.st_mode & 07777),
                 static_cast<unsigned>(want));
}

// $SONDE_HOME as the user set it may be a folder of theirs that sonde must
// not change: it is only warned about, once. The default folder is ours and
// is narrowed like the rest of the store.
void check_home() {
  static std::string checked;
  std::string home = sonde_home();
  if (checked == home) return;
  checked = home;
  if (!home_is_explicit()) {
    tighten(home, 0700);
    return;
  }
  struct stat st;
  if (::stat(home.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    std::fprintf(stderr,
                 "sonde: warning: $SONDE_HOME %s is open to other users (mode %04o); the cases "
                 "in it are not\n  hint: chmod 700 %s\n",
                 home.c_str(), static_cast<unsigned>(st.st_mode & 07777), home.c_str());
}

// $SONDE_HOME and cases/, made or narrowed to 0700.
Status prepare_store() {
  if (auto st = make_private_dirs(cases_dir()); !st.ok()) return st;
  check_home();
  tighten(cases_dir(), 0700);
  return ok_status();
}

// One case's folder, artifacts/ and files, narrowed where wider.
void tighten_case(const std::string& dir) {
  check_home();
  tighten(cases_dir(), 0700);
  tighten(dir, 0700);
  tighten(dir + "/artifacts", 0700);
  tighten(dir + "/case.json", 0600);
  tighten(dir + "/journal.jsonl", 0600);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/artifacts", ec))
    tighten(e.path().string(), e.is_directory(ec) ? 0700 : 0600);
}

// Writes path via a temporary file and rename: case.json and `active` are
// rewritten whole, and a crash must leave the old or the new one.
Status write_replace(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create " + tmp);
  Status st = write_all(fd, data);
  if (st.ok() && ::fsync(fd) != 0) st = errno_error("fsync " + tmp);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  return ok_status();
}

Result<CaseInfo> read_meta(const std::string& name) {
  CaseInfo c;
  c.name = name;
  c.dir = cases_dir() + "/" + name;
  std::error_code ec;
  if (!fs::is_directory(c.dir, ec))
    return Error{errc::kNotFound, "no case `" + name + "` in " + cases_dir(),
                 "`sonde case list` shows the cases; `sonde case new " + name + "` creates it"};
  tighten_case(c.dir);
  auto text = read_file(c.dir + "/case.json", 1 << 20);
  if (text.ok()) {
    json m = json::parse(*text, nullptr, false);
    // A field someone edited into the wrong type is said and left out; the
    // others still count (a closed case must stay closed).
    if (m.is_object())
      for (auto [key, dst] :
           {std::pair{"title", &c.title}, {"created", &c.created}, {"closed", &c.closed}}) {
        JsonReader r(errc::kIo, c.dir + "/case.json");
        r.string(m, key, {}, *dst);
        if (r.failed())
          std::fprintf(stderr, "sonde: warning: %s; ignored\n", r.error().message.c_str());
      }
  }
  return c;
}

}  // namespace

std::string sonde_home() {
  if (const char* h = std::getenv("SONDE_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/sonde";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/sonde";
}

Status valid_case_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
            std::all_of(name.begin(), name.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
            });
  if (ok) return ok_status();
  return Error{errc::kBadArgs, "`" + name + "` is not a case name",
               "use 1 to 64 of A-Z a-z 0-9 . _ -, not starting with a dot (e.g. incident-42)"};
}

Result<CaseInfo> create_case(const std::string& name, const std::string& title) {
  if (auto st = valid_case_name(name); !st.ok()) return st.error();
  if (auto st = prepare_store(); !st.ok()) return st.error();
  std::string dir = cases_dir() + "/" + name;
  // mkdir is the atomic claim: two `case new` of one name cannot both win.
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      return Error{errc::kBadArgs, "case `" + name + "` already exists",
                   "`sonde case use " + name + "` makes it active; or pick another name"};
    return errno_error("mkdir " + dir);
  }
  if (::mkdir((dir + "/artifacts").c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("mkdir " + dir + "/artifacts");
  CaseInfo c{name, title, utc_now(), "", dir};
  if (auto st = set_case_closed(c, ""); !st.ok()) return st.error();
  // Create the journal so a fresh case loads as an empty timeline.
  int fd = ::open((dir + "/journal.jsonl").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  return c;
}

Result<CaseInfo> open_case(const std::string& name) {
  if (auto st = valid_case_name(name); !st.ok()) return st.error();
  return read_meta(name);
}

std::vector<CaseInfo> list_cases() {
  std::vector<CaseInfo> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cases_dir(), ec)) {
    std::string n = e.path().filename().string();
    if (!e.is_directory(ec) || !valid_case_name(n).ok()) continue;
    if (auto c = read_meta(n); c.ok()) out.push_back(*c);
  }
  std::sort(out.begin(), out.end(),
            [](const CaseInfo& a, const CaseInfo& b) { return a.name < b.name; });
  return out;
}

std::string active_case() {
  auto text = read_file(sonde_home() + "/active", 4096);
  if (!text.ok()) return "";
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return valid_case_name(s).ok() ? s : "";
}

Status set_active_case(const std::string& name) {
  std::string path = sonde_home() + "/active";
  if (name.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("unlink " + path);
    return ok_status();
  }
  if (auto st = valid_case_name(name); !st.ok()) return st;
  if (auto st = prepare_store(); !st.ok()) return st;
  return write_replace(path, name + "\n");
}

Status set_case_closed(const CaseInfo& c, const std::string& closed) {
  json meta = {{"name", c.name},
               {"title", c.title},
               {"created", c.created},
               {"closed", closed.empty() ? json(nullptr) : json(closed)}};
  return write_replace(c.dir + "/case.json", json_text(meta, 2) + "\n");
}

Status append_entry(const CaseInfo& c, const Entry& entry) {
  // Invalid UTF-8 from a target must not make dump() throw: replace it.
  std::string line = json_text(to_json(entry)) + "\n";
  std::string path = c.dir + "/journal.jsonl";
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("open " + path);
  // A crash mid-write left a partial last line: start on a fresh line so
  // only that one is lost, not this entry too.
  struct stat st_buf;
  char last = '\n';
  if (::fstat(fd, &st_buf) == 0 && st_buf.st_size > 0 &&
      ::pread(fd, &last, 1, st_buf.st_size - 1) == 1 && last != '\n')
    line.insert(0, "\n");
  // One write(2) with O_APPEND: the kernel places the whole line at the end
  // under the inode lock, so concurrent sonde runs never interleave lines.
  ssize_t n;
  do {
    n = ::write(fd, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  Status st = ok_status();
  if (n < 0)
    st = errno_error("write " + path, errno, "is the disk full?");
  else if (static_cast<size_t>(n) != line.size())
    st = Error{errc::kIo, "short write to " + path, "is the disk full?"};
  else if (::fsync(fd) != 0)
    st = errno_error("fsync " + path);
  ::close(fd);
  return st;
}

Result<Journal> load_journal(const CaseInfo& c) {
  Journal j;
  std::string path = c.dir + "/journal.jsonl";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return j;  // a case with no entries yet
    return errno_error("open " + path);
  }
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    bool newline = !in.eof();  // getline stopped at '\n', not at the end
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = "journal.jsonl line " + std::to_string(n);
    json e = json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object()) {
      std::string what = !newline           ? "truncated (no end of line: a write cut short?)"
                         : e.is_discarded() ? "not valid JSON"
                                            : "not a JSON object";
      std::string head = line.substr(0, 40);
      for (char& ch : head)
        if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
      j.warnings.push_back(where + ": " + what + " (\"" + head + (line.size() > 40 ? "..." : "") +
                           "\"); skipped");
      continue;
    }
    auto entry = entry_from_json(e, where);
    if (!entry) {
      j.warnings.push_back(entry.error().message + "; skipped");
      continue;
    }
    j.entries.push_back(std::move(*entry));
  }
  return j;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace sonde::controller::casefile
