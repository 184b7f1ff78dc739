#include "fleet/targets.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <unordered_set>

#include <fmt/format.h>

#include "fleet/inventory.h"
#include "fleet/parse_util.h"
#include "sonde/common/io.h"

namespace sonde::controller::fleet {
namespace {

constexpr const char* kRangeHint =
    "ranges are web[01-40] or db[1,3,5]; a list is a,b,c; @FILE reads one target per line";

Error bad_targets(std::string msg, std::string hint = kRangeHint) {
  return Error{errc::kBadArgs, std::move(msg), std::move(hint)};
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

uint64_t number(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// One comma item of a bracket: N, N-M, N:M or N:M:STEP. False: not a range
// item (the bracket is then literal, as an IPv6 address is).
bool range_item(std::string_view item, std::string_view* from, std::string_view* to,
                std::string_view* step) {
  size_t sep = item.find_first_of("-:");
  if (sep == std::string_view::npos) {
    *from = *to = item;
    *step = {};
    return all_digits(item);
  }
  *from = item.substr(0, sep);
  std::string_view rest = item.substr(sep + 1);
  size_t sep2 = item[sep] == ':' ? rest.find(':') : std::string_view::npos;
  *to = rest.substr(0, sep2);
  *step = sep2 == std::string_view::npos ? std::string_view{} : rest.substr(sep2 + 1);
  return all_digits(*from) && all_digits(*to) && (step->empty() || all_digits(*step));
}

// The comma items of a bracket's body.
std::vector<std::string_view> comma_items(std::string_view body) {
  std::vector<std::string_view> items;
  size_t at = 0;
  while (true) {
    size_t comma = body.find(',', at);
    items.push_back(
        body.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    if (comma == std::string_view::npos) return items;
    at = comma + 1;
  }
}

bool is_range_body(std::string_view body) {
  if (body.empty()) return false;
  for (std::string_view item : comma_items(body)) {
    std::string_view f, t, s;
    if (!range_item(item, &f, &t, &s)) return false;
  }
  return true;
}

Result<std::vector<std::string>> range_values(std::string_view body, std::string_view pattern) {
  std::vector<std::string> out;
  for (std::string_view item : comma_items(body)) {
    std::string_view f, t, s;
    range_item(item, &f, &t, &s);
    uint64_t lo = number(f), hi = number(t), step = s.empty() ? 1 : number(s);
    if (hi < lo)
      return bad_targets(fmt::format("`{}`: the range [{}] runs backwards", pattern, item));
    if (step == 0) return bad_targets(fmt::format("`{}`: a step of 0 in [{}]", pattern, item));
    if ((hi - lo) / step + 1 + out.size() > kMaxTargets)
      return bad_targets(fmt::format("`{}` names more than {} hosts", pattern, kMaxTargets),
                         "split the run, or check the range for a typo");
    // A leading zero pads every value to the first bound's width, as Ansible does.
    size_t width = f.size() > 1 && f[0] == '0' ? f.size() : 0;
    for (uint64_t v = lo; v <= hi; v += step) out.push_back(fmt::format("{:0{}}", v, width));
  }
  return out;
}

void append_all(std::vector<std::string>& to, std::string_view literal) {
  for (auto& s : to) s += literal;
}

Result<std::vector<std::string>> read_target_file(std::string_view path) {
  constexpr size_t kMaxFile = 16 << 20;
  auto text = read_file(std::string(path), kMaxFile + 1);
  if (!text)
    return Error{errc::kBadArgs, fmt::format("@{}: {}", path, text.error().message),
                 "@FILE reads one target per line; # starts a comment"};
  if (text->size() > kMaxFile)
    return bad_targets(fmt::format("@{} is over 16 MiB", path), "one target per line");
  std::vector<std::string> out;
  Error failed;
  bool ok = true;
  for_each_line(*text, [&](std::string_view line, size_t) {
    if (!ok) return;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim_ws(line);
    if (line.empty()) return;
    auto names = expand_range(line);
    if (!names) {
      failed = names.error();
      ok = false;
    } else if (out.size() + names->size() > kMaxTargets) {
      failed = bad_targets(fmt::format("@{} names more than {} hosts", path, kMaxTargets),
                           "split the run");
      ok = false;
    } else {
      out.insert(out.end(), names->begin(), names->end());
    }
  });
  if (!ok) return failed;
  return out;
}

// Splits at commas outside brackets.
std::vector<std::string_view> top_level_items(std::string_view arg) {
  std::vector<std::string_view> items;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < arg.size(); ++i) {
    if (arg[i] == '[') ++depth;
    if (arg[i] == ']' && depth > 0) --depth;
    if (arg[i] == ',' && depth == 0) {
      items.push_back(arg.substr(start, i - start));
      start = i + 1;
    }
  }
  items.push_back(arg.substr(start));
  return items;
}

}  // namespace

Result<std::vector<std::string>> expand_range(std::string_view pattern) {
  std::vector<std::string> out{std::string()};
  size_t i = 0;
  while (i < pattern.size()) {
    size_t open = pattern.find('[', i);
    if (open == std::string_view::npos) {
      append_all(out, pattern.substr(i));
      break;
    }
    size_t close = pattern.find(']', open);
    if (close == std::string_view::npos)
      return bad_targets(fmt::format("`{}`: a [ without its ]", pattern));
    append_all(out, pattern.substr(i, open - i));
    std::string_view body = pattern.substr(open + 1, close - open - 1);
    i = close + 1;
    if (!is_range_body(body)) {
      append_all(out, pattern.substr(open, close - open + 1));
      continue;
    }
    auto values = range_values(body, pattern);
    if (!values) return values.error();
    if (out.size() * values->size() > kMaxTargets)
      return bad_targets(fmt::format("`{}` names more than {} hosts", pattern, kMaxTargets),
                         "split the run, or check the range for a typo");
    std::vector<std::string> next;
    next.reserve(out.size() * values->size());
    for (const auto& prefix : out)
      for (const auto& v : *values) next.push_back(prefix + v);
    out = std::move(next);
  }
  return out;
}

Result<std::vector<std::string>> expand_target_list(std::string_view arg) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (std::string_view item : top_level_items(arg)) {
    item = trim_ws(item);
    if (item.empty()) continue;
    auto names = item[0] == '@' ? read_target_file(item.substr(1)) : expand_range(item);
    if (!names) return names.error();
    for (auto& n : *names) {
      if (!seen.insert(n).second) continue;
      if (out.size() >= kMaxTargets)
        return bad_targets(fmt::format("more than {} targets", kMaxTargets), "split the run");
      out.push_back(std::move(n));
    }
  }
  if (out.empty()) return bad_targets(fmt::format("no target in `{}`", arg));
  return out;
}

Result<std::vector<FleetTarget>> resolve_targets(std::string_view arg, const Inventory* inventory,
                                                 const std::vector<std::string>& exclude) {
  std::vector<std::string> names;
  if (inventory) {
    auto sel = inventory->select(arg);
    if (!sel) return sel.error();
    names = std::move(*sel);
  } else {
    auto list = expand_target_list(arg);
    if (!list) return list.error();
    names = std::move(*list);
  }
  std::unordered_set<std::string> dropped;
  for (const auto& x : exclude) {
    auto gone = inventory ? inventory->select(x) : expand_target_list(x);
    if (!gone) return gone.error();
    dropped.insert(gone->begin(), gone->end());
  }
  std::vector<FleetTarget> out;
  for (auto& n : names) {
    if (dropped.count(n)) continue;
    std::string connect = n;
    if (inventory)
      if (auto h = inventory->hosts().find(n); h != inventory->hosts().end())
        connect = h->second.connect_spec();
    out.push_back(FleetTarget{std::move(n), std::move(connect), {}});
  }
  if (out.empty())
    return bad_targets(fmt::format("-x excluded every target of `{}`", arg),
                       "check the -x list against the targets");
  return out;
}

std::string apply_via_template(std::string_view tpl, std::string_view host) {
  std::string out;
  constexpr std::string_view kKey = "{host}";
  size_t at = 0;
  while (true) {
    size_t k = tpl.find(kKey, at);
    out += tpl.substr(at, k == std::string_view::npos ? std::string_view::npos : k - at);
    if (k == std::string_view::npos) break;
    out += host;
    at = k + kKey.size();
  }
  return out;
}

std::string compress_hosts(const std::vector<std::string>& names) {
  // Key: the prefix and the number's width; value: the numbers, in order.
  struct Run {
    std::string prefix;
    size_t width;
    std::vector<unsigned long long> numbers;
  };
  std::vector<Run> runs;
  std::vector<std::string> plain;
  std::vector<std::pair<bool, size_t>> order;  // (is a run, index)
  for (const auto& n : names) {
    size_t d = n.size();
    while (d > 0 && n[d - 1] >= '0' && n[d - 1] <= '9') --d;
    size_t width = n.size() - d;
    if (width == 0 || width > 18) {
      order.emplace_back(false, plain.size());
      plain.push_back(n);
      continue;
    }
    std::string prefix = n.substr(0, d);
    unsigned long long v = std::stoull(n.substr(d));
    // A width counts only with a leading zero: host9 and host10 share one run.
    bool padded = n[d] == '0' && width > 1;
    size_t key_width = padded ? width : 0;
    auto it = std::find_if(runs.begin(), runs.end(), [&](const Run& r) {
      // web10 joins web[01-09]: the same width, no padding needed.
      return r.prefix == prefix && (r.width == key_width || (!padded && r.width == width));
    });
    if (it == runs.end()) {
      order.emplace_back(true, runs.size());
      runs.push_back({prefix, key_width, {}});
      it = runs.end() - 1;
    }
    it->numbers.push_back(v);
  }
  auto number = [](unsigned long long v, size_t width) {
    std::string s = std::to_string(v);
    if (s.size() < width) s.insert(0, width - s.size(), '0');
    return s;
  };
  std::string out;
  for (auto [is_run, idx] : order) {
    if (!out.empty()) out += ',';
    if (!is_run) {
      out += plain[idx];
      continue;
    }
    Run& r = runs[idx];
    std::sort(r.numbers.begin(), r.numbers.end());
    r.numbers.erase(std::unique(r.numbers.begin(), r.numbers.end()), r.numbers.end());
    if (r.numbers.size() == 1) {
      out += r.prefix + number(r.numbers[0], r.width);
      continue;
    }
    std::string items;
    for (size_t k = 0; k < r.numbers.size();) {
      size_t e = k;
      while (e + 1 < r.numbers.size() && r.numbers[e + 1] == r.numbers[e] + 1) ++e;
      if (!items.empty()) items += ',';
      items += number(r.numbers[k], r.width);
      if (e > k) items += "-" + number(r.numbers[e], r.width);
      k = e + 1;
    }
    out += r.prefix + "[" + items + "]";
  }
  return out;
}

}  // namespace sonde::controller::fleet
