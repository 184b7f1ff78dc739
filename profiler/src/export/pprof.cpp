// pprof output: a perftools.profiles.Profile protobuf, gzipped. The message
// is small and fixed, so it is written field by field with a tiny encoder
// instead of pulling a protobuf runtime into the controller.
#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <zlib.h>

#include "sonde/profiler/export.h"

namespace sonde::profiler {
namespace {

// Protobuf wire encoding: varints and length-delimited fields are all a
// profile needs (ints are int64/uint64, never zigzag).
class PbWriter {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      buf_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf_ += static_cast<char>(v);
  }
  // Zero is the default, and proto3 leaves defaults out.
  void uint(uint32_t field, uint64_t v) {
    if (v == 0) return;
    tag(field, 0);
    varint(v);
  }
  void bytes(uint32_t field, std::string_view s) {
    tag(field, 2);
    varint(s.size());
    buf_.append(s);
  }
  void message(uint32_t field, const PbWriter& m) { bytes(field, m.buf_); }
  void packed(uint32_t field, const std::vector<uint64_t>& vs) {
    if (vs.empty()) return;
    PbWriter body;
    for (uint64_t v : vs) body.varint(v);
    bytes(field, body.buf_);
  }
  const std::string& data() const { return buf_; }

 private:
  void tag(uint32_t field, uint32_t wire_type) { varint((uint64_t{field} << 3) | wire_type); }
  std::string buf_;
};

// perftools.profiles field numbers (profile.proto).
namespace field {
constexpr uint32_t kSampleType = 1, kSample = 2, kMapping = 3, kLocation = 4, kFunction = 5,
                   kStringTable = 6, kDurationNanos = 10, kPeriodType = 11, kPeriod = 12,
                   kComment = 13, kDefaultSampleType = 14;
constexpr uint32_t kValueTypeType = 1, kValueTypeUnit = 2;
constexpr uint32_t kSampleLocation = 1, kSampleValue = 2, kSampleLabel = 3;
constexpr uint32_t kLabelKey = 1, kLabelStr = 2, kLabelNum = 3;
constexpr uint32_t kMappingId = 1, kMappingStart = 2, kMappingLimit = 3, kMappingFile = 5,
                   kMappingHasFunctions = 7, kMappingHasFilenames = 8, kMappingHasLines = 9,
                   kMappingHasInline = 10;
constexpr uint32_t kLocationId = 1, kLocationMapping = 2, kLocationAddress = 3, kLocationLine = 4;
constexpr uint32_t kLineFunction = 1, kLineLine = 2;
constexpr uint32_t kFunctionId = 1, kFunctionName = 2, kFunctionSystemName = 3,
                   kFunctionFilename = 4;
}  // namespace field

class Strings {
 public:
  Strings() { id(""); }  // index 0 must be the empty string
  uint64_t id(const std::string& s) {
    auto [it, fresh] = ids_.try_emplace(s, table_.size());
    if (fresh) table_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& table() const { return table_; }

 private:
  std::unordered_map<std::string, uint64_t> ids_;
  std::vector<std::string> table_;
};

struct MappingInfo {
  uint64_t id = 0;
  uint64_t start = UINT64_MAX, limit = 0;
  bool functions = false, filenames = false, lines = false, inlines = false;
};

Result<std::string> gzip(const std::string& in) {
  z_stream zs{};
  // 16 + window bits asks zlib for a gzip header and trailer.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return Error{errc::kInternal, "zlib: deflateInit2 failed", {}};
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 64);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = in.size() > UINT32_MAX ? Z_BUF_ERROR : deflate(&zs, Z_FINISH);
  size_t written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return Error{errc::kInternal, fmt::format("zlib: deflate failed ({})", rc), {}};
  out.resize(written);
  return out;
}

}  // namespace

Result<std::string> export_pprof(const Profile& p) {
  Strings str;
  PbWriter prof;
  const std::string kind = p.mode == "wall" ? "wall" : "cpu";
  const uint64_t period = p.hz ? 1'000'000'000ull / p.hz : 0;

  auto value_type = [&](uint32_t f, const char* type, const char* unit) {
    PbWriter vt;
    vt.uint(field::kValueTypeType, str.id(type));
    vt.uint(field::kValueTypeUnit, str.id(unit));
    prof.message(f, vt);
  };
  value_type(field::kSampleType, "samples", "count");
  value_type(field::kSampleType, kind.c_str(), "nanoseconds");

  // One mapping per module; pprof wants an address range, and the frames'
  // addresses are the part of it we saw.
  std::map<std::string, MappingInfo> mappings;
  for (const auto& f : p.frames) {
    if (f.module.empty()) continue;
    auto& m = mappings[f.module];
    m.start = std::min(m.start, f.address);
    m.limit = std::max(m.limit, f.address + 1);
    m.functions |= !f.function.empty();
    m.filenames |= !f.file.empty();
    m.lines |= f.line != 0;
    m.inlines |= f.inlined;
  }
  uint64_t next_mapping = 1;
  for (auto& [path, m] : mappings) m.id = next_mapping++;

  // Functions by (name, file): the display name, so frames without a symbol
  // still read "libfoo.so+0x1234" in pprof's views.
  std::map<std::pair<std::string, std::string>, uint64_t> functions;
  std::vector<uint64_t> function_of(p.frames.size());
  for (size_t i = 0; i < p.frames.size(); ++i) {
    auto key = std::make_pair(display_name(p.frames[i]), p.frames[i].file);
    auto [it, fresh] = functions.try_emplace(key, functions.size() + 1);
    function_of[i] = it->second;
  }

  // pprof has no inline frames: a location is one address with several
  // lines, innermost first. Group each real frame with the inlined frames
  // just before it (leaf first, they are inlined into it).
  std::map<std::vector<uint32_t>, uint64_t> locations;
  std::vector<const std::vector<uint32_t>*> location_order;
  auto location = [&](std::vector<uint32_t> group) {
    auto [it, fresh] = locations.try_emplace(std::move(group), locations.size() + 1);
    if (fresh) location_order.push_back(&it->first);
    return it->second;
  };

  uint64_t total = 0;
  for (const auto& s : p.stacks) {
    if (s.count == 0 || s.frames.empty()) continue;
    std::vector<uint64_t> locs;
    std::vector<uint32_t> group;
    for (size_t k = 0; k < s.frames.size(); ++k) {
      uint32_t f = s.frames[k];
      if (f >= p.frames.size()) continue;
      group.push_back(f);
      bool last = k + 1 == s.frames.size();
      if (!p.frames[f].inlined || last) {
        locs.push_back(location(group));
        group.clear();
      }
    }
    if (!group.empty()) locs.push_back(location(group));
    if (locs.empty()) continue;

    PbWriter sample;
    sample.packed(field::kSampleLocation, locs);
    sample.packed(field::kSampleValue, {s.count, s.count * period});
    if (!p.threads.empty()) {
      PbWriter label;
      label.uint(field::kLabelKey, str.id("thread"));
      label.uint(field::kLabelStr, str.id(thread_label(p, s.thread)));
      sample.message(field::kSampleLabel, label);
      // A fleet's merged profile: `pprof -tagfocus host=web07`, `-tags`.
      if (std::string host = thread_host(p, s.thread); !host.empty()) {
        PbWriter hl;
        hl.uint(field::kLabelKey, str.id("host"));
        hl.uint(field::kLabelStr, str.id(host));
        sample.message(field::kSampleLabel, hl);
      }
      if (s.thread < p.threads.size() && p.threads[s.thread].tid != 0) {
        PbWriter tid;
        tid.uint(field::kLabelKey, str.id("thread_id"));
        tid.uint(field::kLabelNum, static_cast<uint64_t>(p.threads[s.thread].tid));
        sample.message(field::kSampleLabel, tid);
      }
    }
    prof.message(field::kSample, sample);
    total += s.count;
  }

  for (const auto& [path, m] : mappings) {
    PbWriter mw;
    mw.uint(field::kMappingId, m.id);
    mw.uint(field::kMappingStart, m.start);
    mw.uint(field::kMappingLimit, m.limit);
    mw.uint(field::kMappingFile, str.id(path));
    mw.uint(field::kMappingHasFunctions, m.functions);
    mw.uint(field::kMappingHasFilenames, m.filenames);
    mw.uint(field::kMappingHasLines, m.lines);
    mw.uint(field::kMappingHasInline, m.inlines);
    prof.message(field::kMapping, mw);
  }

  for (size_t i = 0; i < location_order.size(); ++i) {
    const auto& group = *location_order[i];
    const Frame& outer = p.frames[group.back()];
    PbWriter lw;
    lw.uint(field::kLocationId, i + 1);
    if (auto m = mappings.find(outer.module); m != mappings.end())
      lw.uint(field::kLocationMapping, m->second.id);
    lw.uint(field::kLocationAddress, outer.address);
    for (uint32_t f : group) {
      PbWriter line;
      line.uint(field::kLineFunction, function_of[f]);
      line.uint(field::kLineLine, p.frames[f].line);
      lw.message(field::kLocationLine, line);
    }
    prof.message(field::kLocation, lw);
  }

  std::vector<const std::pair<const std::pair<std::string, std::string>, uint64_t>*> by_id(
      functions.size());
  for (const auto& entry : functions) by_id[entry.second - 1] = &entry;
  for (const auto* entry : by_id) {
    PbWriter fw;
    fw.uint(field::kFunctionId, entry->second);
    fw.uint(field::kFunctionName, str.id(entry->first.first));
    fw.uint(field::kFunctionSystemName, str.id(entry->first.first));
    fw.uint(field::kFunctionFilename, str.id(entry->first.second));
    prof.message(field::kFunction, fw);
  }

  prof.uint(field::kDurationNanos, p.duration_ms * 1'000'000);
  value_type(field::kPeriodType, kind.c_str(), "nanoseconds");
  prof.uint(field::kPeriod, period);
  std::vector<uint64_t> comments;
  comments.push_back(str.id(
      fmt::format("sonde profile of pid {} ({}), {} Hz, {} samples", p.pid, p.comm, p.hz, total)));
  if (!p.sampler.empty())
    comments.push_back(str.id(p.sampler_reason.empty()
                                  ? "sampler: " + p.sampler
                                  : fmt::format("sampler: {} ({})", p.sampler, p.sampler_reason)));
  if (p.lost) comments.push_back(str.id(fmt::format("lost samples: {}", p.lost)));
  for (const auto& n : p.notes) comments.push_back(str.id(n));
  prof.packed(field::kComment, comments);
  prof.uint(field::kDefaultSampleType, str.id(kind));

  // The string table goes last: every id above must be interned first.
  for (const auto& s : str.table()) prof.bytes(field::kStringTable, s);
  return gzip(prof.data());
}

}  // namespace sonde::profiler
