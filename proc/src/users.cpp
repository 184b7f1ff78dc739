#include "sonde/proc/users.h"

#include "sonde/common/io.h"
#include "sonde/proc/text.h"

namespace sonde::proc {
namespace {

// name:passwd:id:... — the same shape for passwd and group.
template <typename F>
void for_each_entry(std::string_view text, F&& f) {
  for (auto line : split_char(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto parts = split_char(line, ':');
    if (parts.size() < 3 || parts[0].empty()) continue;
    if (auto id = to_ll(parts[2]); id && *id >= 0) f(std::string(parts[0]), *id);
  }
}

}  // namespace

UserDb UserDb::load(const std::string& passwd, const std::string& group) {
  auto p = read_file(passwd, 8 << 20);
  auto g = read_file(group, 8 << 20);
  return parse(p ? *p : std::string(), g ? *g : std::string());
}

UserDb UserDb::parse(std::string_view passwd_text, std::string_view group_text) {
  UserDb db;
  for_each_entry(passwd_text, [&](std::string name, long long id) {
    // First entry wins, like getpwuid on a file with duplicate uids.
    db.users_.emplace(id, name);
    db.user_ids_.emplace(std::move(name), id);
  });
  for_each_entry(group_text,
                 [&](std::string name, long long id) { db.groups_.emplace(id, std::move(name)); });
  return db;
}

std::string UserDb::user_name(long long uid) const {
  auto it = users_.find(uid);
  return it != users_.end() ? it->second : std::to_string(uid);
}

std::string UserDb::group_name(long long gid) const {
  auto it = groups_.find(gid);
  return it != groups_.end() ? it->second : std::to_string(gid);
}

std::optional<long long> UserDb::resolve_user(std::string_view name_or_uid) const {
  if (auto it = user_ids_.find(std::string(name_or_uid)); it != user_ids_.end()) return it->second;
  if (auto n = to_ll(name_or_uid); n && *n >= 0) return *n;
  return std::nullopt;
}

}  // namespace sonde::proc
