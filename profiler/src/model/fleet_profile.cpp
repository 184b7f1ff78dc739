// Merging per-host profiles: frames appended with their indices shifted,
// threads folded by (host, name), and for a comparison each host scaled to one
// weight.
#include "sonde/profiler/fleet_profile.h"

#include <cmath>
#include <map>

namespace sonde::profiler {
namespace {

// Appends one host's profile to `into`: its frames after those already there,
// its threads by name (host-labelled or not), each stack's count through
// `weigh`.
template <typename Weigh>
void append_host(Profile& into, std::map<std::pair<std::string, std::string>, uint32_t>& threads,
                 const std::string& host, const Profile& p, Weigh weigh) {
  const auto shift = static_cast<uint32_t>(into.frames.size());
  into.frames.insert(into.frames.end(), p.frames.begin(), p.frames.end());
  // Threads only as stacks name them; an index outside the table (a thread
  // the sampler could not name) is the process itself.
  std::vector<int64_t> thread_of(p.threads.size() + 1, -1);
  auto merged_thread = [&](size_t i) {
    if (thread_of[i] >= 0) return static_cast<uint32_t>(thread_of[i]);
    std::string name;
    if (i < p.threads.size())
      name = p.threads[i].name.empty() ? std::to_string(p.threads[i].tid) : p.threads[i].name;
    else
      name = p.comm.empty() ? "[unknown thread]" : p.comm;
    auto [it, fresh] =
        threads.try_emplace({host, name}, static_cast<uint32_t>(into.threads.size()));
    if (fresh) into.threads.push_back(ThreadInfo{0, name, host});
    thread_of[i] = it->second;
    return it->second;
  };
  for (const auto& s : p.stacks) {
    uint64_t c = weigh(s.count);
    if (c == 0 || s.frames.empty()) continue;
    StackCount m;
    m.frames.reserve(s.frames.size());
    for (uint32_t f : s.frames) m.frames.push_back(f + shift);
    m.count = c;
    m.thread = merged_thread(std::min<size_t>(s.thread, p.threads.size()));
    into.samples += c;
    into.stacks.push_back(std::move(m));
  }
}

// The samples append_host keeps: stacks with frames.
uint64_t stack_total(const Profile& p) {
  uint64_t t = 0;
  for (const auto& s : p.stacks)
    if (!s.frames.empty()) t += s.count;
  return t;
}

// What the hosts agree on, "mixed" otherwise.
void common_header(Profile& into, const HostProfiles& hosts) {
  bool first = true;
  for (const auto& [host, p] : hosts) {
    if (first) {
      into.mode = p.mode;
      into.sampler = p.sampler;
      into.hz = p.hz;
      into.comm = p.comm;
      first = false;
      continue;
    }
    if (into.mode != p.mode) into.mode = "mixed";
    if (into.sampler != p.sampler) into.sampler = "mixed";
    if (into.hz != p.hz) into.hz = 0;
    if (into.comm != p.comm) into.comm = "(several)";
    into.duration_ms = std::max(into.duration_ms, p.duration_ms);
  }
  if (!hosts.empty()) into.duration_ms = std::max(into.duration_ms, hosts[0].second.duration_ms);
}

}  // namespace

Profile merge_host_profiles(const HostProfiles& hosts) {
  Profile m;
  common_header(m, hosts);
  m.sampler_reason = "merged from " + std::to_string(hosts.size()) + " hosts";
  std::map<std::pair<std::string, std::string>, uint32_t> threads;
  for (const auto& [host, p] : hosts) {
    append_host(m, threads, host, p, [](uint64_t c) { return c; });
    m.lost += p.lost;
    for (const auto& n : p.notes) m.notes.push_back(host + ": " + n);
  }
  return m;
}

DiffSides diff_sides(const HostProfiles& hosts, const std::set<std::string>& base) {
  DiffSides d;
  std::vector<const std::pair<std::string, Profile>*> sides[2];
  for (const auto& h : hosts) {
    if (stack_total(h.second) == 0) continue;
    bool in_base = base.count(h.first) > 0;
    sides[in_base ? 0 : 1].push_back(&h);
    (in_base ? d.base_hosts : d.target_hosts).push_back(h.first);
  }
  Profile* out[2] = {&d.base, &d.target};
  for (int side = 0; side < 2; ++side) {
    common_header(*out[side], hosts);
    out[side]->sampler_reason = "normalized per host";
    std::map<std::pair<std::string, std::string>, uint32_t> threads;
    const double n = static_cast<double>(sides[side].size());
    for (const auto* h : sides[side]) {
      const double total = static_cast<double>(stack_total(h->second));
      // One host weighs kDiffScale / n samples on its side, whatever its rate.
      const double k = static_cast<double>(kDiffScale) / (total * n);
      append_host(*out[side], threads, "", h->second,
                  [k](uint64_t c) { return static_cast<uint64_t>(std::llround(c * k)); });
    }
  }
  return d;
}

}  // namespace sonde::profiler
