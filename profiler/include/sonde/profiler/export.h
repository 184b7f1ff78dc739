// Profile exporters: the formats people already feed to their tools.
#pragma once

#include <string>

#include "sonde/common/result.h"
#include "sonde/profiler/profile.h"

namespace sonde::profiler {

enum class ExportFormat { kFolded, kSvg, kPprof, kSpeedscope, kJson };

// From --format (folded|svg|pprof|speedscope|json), else from the -o name:
// .folded/.txt/.collapsed, .svg, .pb.gz/.pprof/.pb, .speedscope.json, .json.
// Neither given or not recognised: kBadArgs naming the accepted ones.
Result<ExportFormat> export_format_for(const std::string& path, const std::string& format);
const char* export_format_name(ExportFormat f);
// As export_format_for, with the flame graph when neither is given (what
// `profile` writes by default).
Result<ExportFormat> output_format(const std::string& path, const std::string& format);
// The file extension a default output name takes: svg, folded, pb.gz, ...
const char* export_extension(ExportFormat f);

// The thread a stack belongs to, as exporters name it: "name-tid" (just the
// tid when the name is empty), "[unknown thread]" for an index outside the
// table, "" when the profile has no thread table (stacks not split by thread).
std::string thread_label(const Profile& p, uint32_t thread);
// The host a stack's thread ran on (a fleet's merged profile), else "".
std::string thread_host(const Profile& p, uint32_t thread);

// flamegraph.pl input: "thread;root;...;leaf count" per line, root first;
// "host;thread;..." for a fleet's merged profile.
std::string export_folded(const Profile& p);

struct SvgOptions {
  std::string title = "sonde profile";
  int width = 1200;
  std::string subtitle;  // "": the profile's comm, pid, mode, rate and samples
  // A fleet's merged profile: each host a frame under the root, above its
  // threads; false folds every host's threads of one name together.
  bool host_frame = false;
};
// A self-contained interactive flame graph: hover titles, click to zoom,
// Ctrl-F / button search with the matched share, no external resources.
std::string export_svg(const Profile& p, const SvgOptions& o = {});

// A differential flame graph (a fleet's --diff-base): boxes as wide as their
// share of `target`, red where that share grew against `base`, blue where it
// shrank, the change in the hover title. Both are expected normalized to the
// same total (fleet_profile.h's diff_sides).
std::string export_diff_svg(const Profile& base, const Profile& target, const SvgOptions& o = {});

// The same comparison as folded stacks with two counts, "stack BASE TARGET"
// (difffolded's format, which flamegraph.pl draws).
std::string export_diff_folded(const Profile& base, const Profile& target);

// pprof: gzipped perftools.profiles.Profile protobuf (`go tool pprof`,
// Pyroscope). Sample types samples/count and cpu|wall/nanoseconds.
Result<std::string> export_pprof(const Profile& p);

// speedscope file format (https://www.speedscope.app/file-format-schema.json):
// one sampled profile per thread, shared frame table.
std::string export_speedscope(const Profile& p);

// Dispatches on the format (kJson is to_json(p).dump(2)).
Result<std::string> export_profile(const Profile& p, ExportFormat f, const SvgOptions& o = {});

}  // namespace sonde::profiler
