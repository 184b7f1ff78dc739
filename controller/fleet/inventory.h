// Ansible inventories, for `--inventory FILE`: the INI form, the YAML form,
// and the JSON that `ansible-inventory --list` prints. Hosts keep their
// connection variables (ansible_host, ansible_port, ansible_user); groups keep
// their hosts and child groups. A malformed file is an error naming the line.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sonde/common/result.h"

namespace sonde::controller::fleet {

struct InventoryHost {
  std::string name;
  std::string address;  // ansible_host; empty: the name
  int port = 0;         // ansible_port (ansible_ssh_port); 0: from ssh config
  std::string user;     // ansible_user (ansible_ssh_user)
  // "[user@]address[:port]" for the SSH transport (IPv6 in brackets).
  std::string connect_spec() const;
};

class Inventory {
 public:
  // The format is told by the text: JSON starts with '{', the INI form has
  // `[section]` lines, YAML has `key:` lines. `source` names it in errors.
  static Result<Inventory> parse(std::string_view text, std::string_view source);
  static Result<Inventory> load(const std::string& path);

  const std::map<std::string, InventoryHost>& hosts() const { return hosts_; }
  bool has_group(const std::string& g) const { return groups_.count(g) > 0; }
  std::vector<std::string> group_names() const;
  // Every host of the group and of its children (cycles are cut). "all" is
  // every host; "ungrouped" those in no other group.
  std::set<std::string> members(const std::string& group) const;

  // Ansible's host pattern: items joined by ':' or ',', each a group, a host
  // name or a range over names, or `*`/`all`; `&item` intersects, `!item`
  // removes. In the inventory's order of hosts; an item that names nothing is
  // an error with the groups listed.
  Result<std::vector<std::string>> select(std::string_view pattern) const;

  // Building (the parsers and tests use these).
  InventoryHost& add_host(const std::string& name, const std::string& group);
  InventoryHost* find_host(const std::string& name);
  void add_child(const std::string& group, const std::string& child);

 private:
  void collect(const std::string& group, std::set<std::string>& out,
               std::set<std::string>& seen) const;

  std::map<std::string, InventoryHost> hosts_;
  std::vector<std::string> order_;                         // hosts as first seen
  std::map<std::string, std::set<std::string>> groups_;    // group -> direct hosts
  std::map<std::string, std::set<std::string>> children_;  // group -> child groups
};

}  // namespace sonde::controller::fleet
