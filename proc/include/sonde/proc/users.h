// uid/gid ↔ name from /etc/passwd and /etc/group text. No getpwuid(3): the
// agent is a static binary (glibc NSS does not work there) and may run in a
// chroot or container without /etc at all; then names fall back to numbers.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sonde::proc {

class UserDb {
 public:
  // Reads /etc/passwd and /etc/group; missing files give an empty db.
  static UserDb load(const std::string& passwd = "/etc/passwd",
                     const std::string& group = "/etc/group");
  static UserDb parse(std::string_view passwd_text, std::string_view group_text);

  // Name, or the number as a string when unknown.
  std::string user_name(long long uid) const;
  std::string group_name(long long gid) const;

  // A name or a numeric string → uid; nullopt if neither.
  std::optional<long long> resolve_user(std::string_view name_or_uid) const;

 private:
  std::unordered_map<long long, std::string> users_, groups_;
  std::unordered_map<std::string, long long> user_ids_;
};

}  // namespace sonde::proc
