// speedscope's own file format: a shared frame table and one "sampled"
// profile per thread, so its thread picker shows what the folded output
// flattens into a first frame.
#include <map>

#include <fmt/format.h>

#include "sonde/common/protocol.h"
#include "sonde/profiler/export.h"

namespace sonde::profiler {

std::string export_speedscope(const Profile& p) {
  // Frames by function (display name and file), not by address: speedscope
  // merges by frame index, and one function should be one block.
  json frames = json::array();
  std::map<std::pair<std::string, std::string>, uint64_t> frame_index;
  std::vector<uint64_t> index_of(p.frames.size());
  for (size_t i = 0; i < p.frames.size(); ++i) {
    const Frame& f = p.frames[i];
    auto key = std::make_pair(display_name(f), f.file);
    auto [it, fresh] = frame_index.try_emplace(key, frames.size());
    if (fresh) {
      json fj = {{"name", key.first}};
      if (!f.file.empty()) fj["file"] = f.file;
      frames.push_back(std::move(fj));
    }
    index_of[i] = it->second;
  }

  const uint64_t period = p.hz ? 1'000'000'000ull / p.hz : 0;
  struct Track {
    json samples = json::array();
    json weights = json::array();
    uint64_t total = 0;
  };
  std::map<uint32_t, Track> tracks;  // by thread index, so profiles keep the thread order
  for (const auto& s : p.stacks) {
    if (s.count == 0 || s.frames.empty()) continue;
    json stack = json::array();
    for (auto it = s.frames.rbegin(); it != s.frames.rend(); ++it)
      if (*it < index_of.size()) stack.push_back(index_of[*it]);
    if (stack.empty()) continue;
    // Out-of-range thread indices share one track, named as such.
    uint32_t thread = std::min<uint32_t>(s.thread, static_cast<uint32_t>(p.threads.size()));
    Track& t = tracks[thread];
    uint64_t w = period ? s.count * period : s.count;
    t.samples.push_back(std::move(stack));
    t.weights.push_back(w);
    t.total += w;
  }
  if (tracks.empty()) tracks[0];

  json profiles = json::array();
  for (auto& [thread, t] : tracks) {
    std::string name = thread_label(p, thread);
    if (std::string host = thread_host(p, thread); !host.empty()) name = host + ": " + name;
    if (name.empty()) name = fmt::format("{} ({})", p.comm, p.pid);
    profiles.push_back({{"type", "sampled"},
                        {"name", name},
                        {"unit", period ? "nanoseconds" : "none"},
                        {"startValue", 0},
                        {"endValue", t.total},
                        {"samples", std::move(t.samples)},
                        {"weights", std::move(t.weights)}});
  }

  json doc = {{"$schema", "https://www.speedscope.app/file-format-schema.json"},
              {"shared", {{"frames", std::move(frames)}}},
              {"profiles", std::move(profiles)},
              {"name", fmt::format("{} ({}) {} profile", p.comm, p.pid, p.mode)},
              {"activeProfileIndex", 0},
              {"exporter", fmt::format("sonde {}", kSondeVersion)}};
  // Names come from the target and need not be UTF-8; text JSON must be.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sonde::profiler
