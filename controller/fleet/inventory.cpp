#include "fleet/inventory.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "fleet/parse_util.h"
#include "fleet/targets.h"
#include "sonde/common/frame.h"
#include "sonde/common/io.h"

namespace sonde::controller::fleet {
namespace {

constexpr const char* kInventoryHint =
    "--inventory takes an Ansible inventory: INI, YAML, or `ansible-inventory --list` JSON";

Error bad_inventory(std::string_view source, size_t line, std::string what) {
  std::string where = line ? fmt::format("{} line {}", source, line) : std::string(source);
  return Error{errc::kBadArgs, where + ": " + what, kInventoryHint};
}

std::string unquote(std::string_view v) {
  v = trim_ws(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  return std::string(v);
}

std::optional<int> port_number(std::string_view v) {
  int p = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
  if (ec != std::errc() || end != v.data() + v.size() || p < 1 || p > 65535) return std::nullopt;
  return p;
}

// ansible_host / ansible_port / ansible_user (and their ansible_ssh_ forms)
// onto a host; other variables are Ansible's business. False: a bad port.
bool set_var(InventoryHost& h, std::string_view key, const std::string& value, bool only_unset) {
  if (key == "ansible_host" || key == "ansible_ssh_host") {
    if (!only_unset || h.address.empty()) h.address = value;
  } else if (key == "ansible_port" || key == "ansible_ssh_port") {
    auto p = port_number(value);
    if (!p) return false;
    if (!only_unset || h.port == 0) h.port = *p;
  } else if (key == "ansible_user" || key == "ansible_ssh_user") {
    if (!only_unset || h.user.empty()) h.user = value;
  }
  return true;
}

using Vars = std::vector<std::pair<std::string, std::string>>;

// Group variables apply to every member that does not set its own.
Result<bool> apply_group_vars(Inventory& inv, const std::map<std::string, Vars>& group_vars,
                              std::string_view source) {
  for (const auto& [group, vars] : group_vars)
    for (const auto& name : inv.members(group))
      for (const auto& [k, v] : vars)
        if (!set_var(*inv.find_host(name), k, v, true))
          return bad_inventory(source, 0,
                               fmt::format("group {}: {}={} is not a port", group, k, v));
  return true;
}

// --- INI ---------------------------------------------------------------------

Result<Inventory> parse_ini(std::string_view text, std::string_view source) {
  Inventory inv;
  std::map<std::string, Vars> group_vars;
  std::string section = "ungrouped", kind = "hosts";
  std::optional<Error> failed;
  for_each_line(text, [&](std::string_view raw, size_t n) {
    if (failed) return;
    std::string_view line = trim_ws(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') return;
    if (line.front() == '[' && line.back() == ']') {
      std::string_view name = line.substr(1, line.size() - 2);
      size_t colon = name.find(':');
      section = std::string(name.substr(0, colon));
      kind = colon == std::string_view::npos ? "hosts" : std::string(name.substr(colon + 1));
      if (kind != "hosts" && kind != "children" && kind != "vars") {
        failed = bad_inventory(source, n, fmt::format("unknown section kind [{}]", name));
        return;
      }
      if (section.empty()) failed = bad_inventory(source, n, "a section without a name");
      return;
    }
    // Tokens: the first is the name, then key=value pairs (values may be quoted).
    std::vector<std::string> tokens;
    std::string cur;
    char quote = 0;
    for (char c : line) {
      if (quote) {
        if (c == quote) quote = 0;
        cur += c;
      } else if (c == '"' || c == '\'') {
        quote = c;
        cur += c;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        if (!cur.empty()) tokens.push_back(std::move(cur));
        cur.clear();
      } else if (c == '#' && cur.empty()) {
        break;  // a comment after the entry
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) tokens.push_back(std::move(cur));
    if (tokens.empty()) return;
    if (kind == "children") {
      inv.add_child(section, tokens[0]);
      return;
    }
    if (kind == "vars") {
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) {
        failed = bad_inventory(source, n, "a variable line without `=`");
        return;
      }
      group_vars[section].emplace_back(std::string(trim_ws(line.substr(0, eq))),
                                       unquote(line.substr(eq + 1)));
      return;
    }
    auto names = expand_range(tokens[0]);
    if (!names) {
      failed = bad_inventory(source, n, names.error().message);
      return;
    }
    if (inv.hosts().size() + names->size() > kMaxTargets) {
      failed = bad_inventory(source, n, fmt::format("more than {} hosts", kMaxTargets));
      return;
    }
    for (const auto& name : *names) {
      InventoryHost& h = inv.add_host(name, section);
      for (size_t i = 1; i < tokens.size(); ++i) {
        size_t eq = tokens[i].find('=');
        if (eq == std::string::npos) {
          failed = bad_inventory(source, n, fmt::format("`{}` is not key=value", tokens[i]));
          return;
        }
        std::string key = tokens[i].substr(0, eq);
        std::string value = unquote(std::string_view(tokens[i]).substr(eq + 1));
        if (!set_var(h, key, value, false)) {
          failed = bad_inventory(source, n, fmt::format("{}={} is not a port", key, value));
          return;
        }
      }
    }
  });
  if (failed) return *failed;
  auto applied = apply_group_vars(inv, group_vars, source);
  if (!applied) return applied.error();
  return inv;
}

// --- YAML (the subset inventories use: nested mappings and scalars) ----------

struct YamlNode {
  std::string scalar;
  // A mapping: values[i] is keys[i]'s (two vectors: a pair of a string and
  // the still incomplete YamlNode is not a type every library takes).
  std::vector<std::string> keys;
  std::vector<YamlNode> values;
  size_t line = 0;

  // f(key, value) for each entry, in the file's order; stops at the first
  // error f returns.
  template <typename F>
  std::optional<Error> each(F&& f) const {
    for (size_t i = 0; i < keys.size(); ++i)
      if (auto e = f(keys[i], values[i])) return e;
    return std::nullopt;
  }
};

struct YamlLine {
  size_t indent = 0, number = 0;
  std::string key, value;
  bool has_value = false;
};

Result<std::vector<YamlLine>> yaml_lines(std::string_view text, std::string_view source) {
  std::vector<YamlLine> out;
  std::optional<Error> failed;
  for_each_line(text, [&](std::string_view raw, size_t n) {
    if (failed) return;
    std::string_view s = raw;
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    std::string_view body = trim_ws(s);
    if (body.empty() || body[0] == '#' || body == "---" || body == "...") return;
    if (s.find('\t') < s.find_first_not_of(" \t")) {
      failed = bad_inventory(source, n, "a tab in the indentation (YAML indents with spaces)");
      return;
    }
    if (body[0] == '-') {
      failed =
          bad_inventory(source, n, "a YAML list: inventories map host and group names to values");
      return;
    }
    YamlLine l;
    l.number = n;
    l.indent = s.find_first_not_of(' ');
    size_t colon = body.find(": ");
    if (colon == std::string_view::npos && body.back() == ':') colon = body.size() - 1;
    if (colon == std::string_view::npos) {
      failed = bad_inventory(source, n, fmt::format("`{}` is not `key:` or `key: value`", body));
      return;
    }
    l.key = unquote(body.substr(0, colon));
    if (l.key.empty()) {
      failed = bad_inventory(source, n, "an empty key: a host or group needs a name");
      return;
    }
    std::string_view value = trim_ws(body.substr(colon + 1));
    if (size_t hash = value.find(" #"); hash != std::string_view::npos)
      value = trim_ws(value.substr(0, hash));
    if (!value.empty() && value[0] == '#') value = {};
    l.has_value = !value.empty() && value != "~" && value != "null" && value != "{}";
    if (l.has_value) l.value = unquote(value);
    out.push_back(std::move(l));
  });
  if (failed) return *failed;
  return out;
}

// Builds the node of lines[i..] indented deeper than `parent`. An inventory
// nests a handful of levels; past kMaxDepth the file is refused (line named)
// rather than followed down the stack.
constexpr int kMaxYamlDepth = 64;

std::optional<size_t> yaml_tree(const std::vector<YamlLine>& lines, size_t& i, size_t parent_indent,
                                bool top, YamlNode& node, int depth) {
  if (depth > kMaxYamlDepth) return i < lines.size() ? lines[i].number : 0;
  size_t indent = std::string::npos;
  while (i < lines.size()) {
    const YamlLine& l = lines[i];
    if (!top && l.indent <= parent_indent) return std::nullopt;
    if (indent == std::string::npos) indent = l.indent;
    if (l.indent < indent) return std::nullopt;
    YamlNode child;
    child.line = l.number;
    ++i;
    if (l.has_value) {
      child.scalar = l.value;
    } else if (auto deep = yaml_tree(lines, i, l.indent, false, child, depth + 1)) {
      return deep;
    }
    node.keys.push_back(l.key);
    node.values.push_back(std::move(child));
  }
  return std::nullopt;
}

std::optional<Error> yaml_group(Inventory& inv, std::map<std::string, Vars>& group_vars,
                                const std::string& group, const YamlNode& g,
                                std::string_view source, int depth) {
  if (depth > kMaxYamlDepth) return bad_inventory(source, g.line, "groups nested over 64 deep");
  auto host_entry = [&](const std::string& host, const YamlNode& vars) -> std::optional<Error> {
    auto names = expand_range(host);
    if (!names) return bad_inventory(source, vars.line, names.error().message);
    if (inv.hosts().size() + names->size() > kMaxTargets)
      return bad_inventory(source, vars.line, fmt::format("more than {} hosts", kMaxTargets));
    for (const auto& name : *names) {
      InventoryHost& h = inv.add_host(name, group);
      auto bad = vars.each([&](const std::string& k, const YamlNode& v) -> std::optional<Error> {
        if (set_var(h, k, v.scalar, false)) return std::nullopt;
        return bad_inventory(source, v.line, fmt::format("{}: {} is not a port", k, v.scalar));
      });
      if (bad) return bad;
    }
    return std::nullopt;
  };
  return g.each([&](const std::string& key, const YamlNode& value) -> std::optional<Error> {
    if (key == "hosts") return value.each(host_entry);
    if (key == "children")
      return value.each([&](const std::string& child, const YamlNode& body) {
        inv.add_child(group, child);
        return yaml_group(inv, group_vars, child, body, source, depth + 1);
      });
    if (key == "vars")
      return value.each([&](const std::string& k, const YamlNode& v) -> std::optional<Error> {
        group_vars[group].emplace_back(k, v.scalar);
        return std::nullopt;
      });
    return bad_inventory(source, value.line,
                         fmt::format("group {}: `{}` is not hosts, children or vars", group, key));
  });
}

Result<Inventory> parse_yaml(std::string_view text, std::string_view source) {
  auto lines = yaml_lines(text, source);
  if (!lines) return lines.error();
  YamlNode root;
  size_t i = 0;
  if (auto deep = yaml_tree(*lines, i, 0, true, root, 0))
    return bad_inventory(source, *deep, fmt::format("nested over {} levels", kMaxYamlDepth));
  Inventory inv;
  std::map<std::string, Vars> group_vars;
  auto bad = root.each([&](const std::string& group, const YamlNode& body) {
    return yaml_group(inv, group_vars, group, body, source, 0);
  });
  if (bad) return *bad;
  auto applied = apply_group_vars(inv, group_vars, source);
  if (!applied) return applied.error();
  return inv;
}

// --- JSON (ansible-inventory --list) ------------------------------------------

Result<Inventory> parse_json(std::string_view text, std::string_view source) {
  // Ordered: hosts keep the order the file gives them.
  auto doc = nlohmann::ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad_inventory(source, 0, "not a JSON object");
  Inventory inv;
  auto names_of = [&](const json& g, const char* field, const std::string& group,
                      std::vector<std::string>& out) -> std::optional<Error> {
    auto it = g.find(field);
    if (it == g.end()) return std::nullopt;
    if (!it->is_array())
      return bad_inventory(source, 0, fmt::format("{}.{}: expected a list", group, field));
    for (const auto& n : *it) {
      if (!n.is_string() || n.get_ref<const std::string&>().empty())
        return bad_inventory(source, 0, fmt::format("{}.{}: expected names", group, field));
      out.push_back(n.get_ref<const std::string&>());
    }
    return std::nullopt;
  };
  for (const auto& [group, g] : doc.items()) {
    if (group == "_meta") continue;
    if (!g.is_object()) return bad_inventory(source, 0, group + ": expected an object");
    std::vector<std::string> hosts, children;
    if (auto e = names_of(g, "hosts", group, hosts)) return *e;
    if (auto e = names_of(g, "children", group, children)) return *e;
    if (inv.hosts().size() + hosts.size() > kMaxTargets)
      return bad_inventory(source, 0, fmt::format("more than {} hosts", kMaxTargets));
    for (const auto& h : hosts) inv.add_host(h, group);
    for (const auto& c : children) inv.add_child(group, c);
  }
  if (auto meta = doc.find("_meta"); meta != doc.end() && meta->is_object())
    if (auto hv = meta->find("hostvars"); hv != meta->end() && hv->is_object())
      for (const auto& [name, vars] : hv->items()) {
        InventoryHost* h = inv.find_host(name);
        if (h == nullptr || !vars.is_object()) continue;
        for (const auto& [k, v] : vars.items()) {
          std::string value = v.is_string()           ? v.get_ref<const std::string&>()
                              : v.is_number_integer() ? std::to_string(v.get<int64_t>())
                                                      : std::string();
          if (value.empty()) continue;
          if (!set_var(*h, k, value, false))
            return bad_inventory(source, 0, fmt::format("{}: {}={} is not a port", name, k, value));
        }
      }
  return inv;
}

bool looks_like_ini(std::string_view text) {
  bool ini = false;
  for_each_line(text, [&](std::string_view l, size_t) {
    l = trim_ws(l);
    if (!l.empty() && l.front() == '[' && l.back() == ']') ini = true;
  });
  return ini;
}

}  // namespace

std::string InventoryHost::connect_spec() const {
  std::string host = address.empty() ? name : address;
  bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  std::string out = user.empty() ? "" : user + "@";
  if (port) return out + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  return out + host;
}

InventoryHost* Inventory::find_host(const std::string& name) {
  auto it = hosts_.find(name);
  return it == hosts_.end() ? nullptr : &it->second;
}

InventoryHost& Inventory::add_host(const std::string& name, const std::string& group) {
  auto [it, fresh] = hosts_.try_emplace(name);
  if (fresh) {
    it->second.name = name;
    order_.push_back(name);
  }
  groups_[group].insert(name);
  return it->second;
}

void Inventory::add_child(const std::string& group, const std::string& child) {
  children_[group].insert(child);
  groups_[group];
  groups_[child];
}

std::vector<std::string> Inventory::group_names() const {
  std::vector<std::string> out;
  for (const auto& [g, _] : groups_) out.push_back(g);
  return out;
}

void Inventory::collect(const std::string& group, std::set<std::string>& out,
                        std::set<std::string>& seen) const {
  // A stack, not recursion: a chain of child groups can be as long as the file.
  std::vector<std::string> todo{group};
  while (!todo.empty()) {
    std::string g = std::move(todo.back());
    todo.pop_back();
    if (!seen.insert(g).second) continue;
    if (auto hs = groups_.find(g); hs != groups_.end())
      out.insert(hs->second.begin(), hs->second.end());
    if (auto c = children_.find(g); c != children_.end())
      todo.insert(todo.end(), c->second.begin(), c->second.end());
  }
}

std::set<std::string> Inventory::members(const std::string& group) const {
  std::set<std::string> out;
  if (group == "all" || group == "*") {
    for (const auto& [name, _] : hosts_) out.insert(name);
    return out;
  }
  if (group == "ungrouped") {
    for (const auto& [name, _] : hosts_) {
      bool other = false;
      for (const auto& [g, hs] : groups_)
        if (g != "all" && g != "ungrouped" && hs.count(name)) other = true;
      if (!other) out.insert(name);
    }
    return out;
  }
  std::set<std::string> seen;
  collect(group, out, seen);
  return out;
}

Result<std::vector<std::string>> Inventory::select(std::string_view pattern) const {
  std::set<std::string> chosen;
  bool any_plain = false;
  std::vector<std::pair<char, std::string>> items;
  // ':' separates items, except inside brackets (an Ansible range is [01:40]).
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= pattern.size(); ++i) {
    if (i < pattern.size() && pattern[i] == '[') ++depth;
    if (i < pattern.size() && pattern[i] == ']' && depth > 0) --depth;
    if (i == pattern.size() || (depth == 0 && (pattern[i] == ':' || pattern[i] == ','))) {
      std::string_view item = trim_ws(pattern.substr(start, i - start));
      start = i + 1;
      if (item.empty()) continue;
      char op = item[0] == '&' || item[0] == '!' ? item[0] : '+';
      if (op != '+') item.remove_prefix(1);
      items.emplace_back(op, std::string(item));
    }
  }
  auto resolve = [&](const std::string& item) -> Result<std::set<std::string>> {
    if (item == "all" || item == "*" || item == "ungrouped" || groups_.count(item))
      return members(item);
    auto names = expand_range(item);
    if (!names) return names.error();
    std::set<std::string> out;
    for (const auto& n : *names)
      if (hosts_.count(n)) out.insert(n);
    if (out.empty()) {
      std::string groups;
      for (const auto& g : group_names()) groups += (groups.empty() ? "" : ", ") + g;
      return Error{errc::kBadArgs, fmt::format("`{}` is no group or host of the inventory", item),
                   "its groups: " + (groups.empty() ? std::string("(none)") : groups)};
    }
    return out;
  };
  for (const auto& [op, item] : items)
    if (op == '+') {
      auto s = resolve(item);
      if (!s) return s.error();
      chosen.insert(s->begin(), s->end());
      any_plain = true;
    }
  if (!any_plain) chosen = members("all");
  for (const auto& [op, item] : items) {
    if (op == '+') continue;
    auto s = resolve(item);
    if (!s) return s.error();
    std::set<std::string> next;
    for (const auto& n : chosen)
      if ((op == '&') == (s->count(n) > 0)) next.insert(n);
    chosen = std::move(next);
  }
  std::vector<std::string> out;
  for (const auto& n : order_)
    if (chosen.count(n)) out.push_back(n);
  if (out.empty())
    return Error{errc::kBadArgs, fmt::format("`{}` selects no host of the inventory", pattern),
                 "`all` is every host; a:b is both, a:&b those in both, a:!b a without b"};
  return out;
}

Result<Inventory> Inventory::parse(std::string_view text, std::string_view source) {
  std::string_view body = trim_ws(text);
  if (body.empty()) return bad_inventory(source, 0, "empty");
  if (body.front() == '{') return parse_json(body, source);
  if (looks_like_ini(text)) return parse_ini(text, source);
  return parse_yaml(text, source);
}

Result<Inventory> Inventory::load(const std::string& path) {
  constexpr size_t kMaxInventory = 64 << 20;
  auto text = read_file(path, kMaxInventory + 1);
  if (!text)
    return Error{errc::kBadArgs, "--inventory " + path + ": " + text.error().message,
                 kInventoryHint};
  if (text->size() > kMaxInventory) return bad_inventory(path, 0, "over 64 MiB");
  return parse(*text, path);
}

}  // namespace sonde::controller::fleet
