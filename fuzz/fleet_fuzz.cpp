// What a fleet run reads from the user: a target list with ranges, and an
// Ansible inventory in any of its three forms. Every input gets hosts or an
// Error with a hint, within kMaxTargets, never a crash, a throw or a stack
// followed down a nesting the file makes up.
#include <algorithm>
#include <cstdint>

#include "fleet/inventory.h"
#include "fleet/targets.h"
#include "fuzz_input.h"

using namespace sonde;
namespace fleet = sonde::controller::fleet;

namespace {

void check_list(std::string_view arg) {
  std::string list(arg.substr(0, 512));
  std::replace(list.begin(), list.end(), '@', '_');  // @FILE would read the disk
  auto t = fleet::expand_target_list(list);
  if (t ? t->size() > fleet::kMaxTargets || t->empty() : t.error().hint.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  check_list(fuzz::lines(text).front());
  auto inv = fleet::Inventory::parse(text, "fuzz");
  if (!inv) {
    if (inv.error().hint.empty()) __builtin_trap();
    return 0;
  }
  if (inv->hosts().size() > fleet::kMaxTargets) __builtin_trap();
  for (std::string_view pattern : {"all", "ungrouped", "all:!ungrouped", "*:&all"}) {
    auto sel = inv->select(pattern);
    if (sel) {
      for (const auto& n : *sel)
        if (!inv->hosts().count(n)) __builtin_trap();
    } else if (sel.error().hint.empty()) {
      __builtin_trap();
    }
  }
  size_t groups = 0;
  for (const auto& g : inv->group_names()) {
    if (++groups > 16) break;
    auto r = fleet::resolve_targets(g, &*inv, {});
    if (r)
      for (const auto& t : *r)
        if (t.connect.empty()) __builtin_trap();
  }
  return 0;
}
