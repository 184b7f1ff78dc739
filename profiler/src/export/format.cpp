// Choosing the export format from --format or the output file name.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "sonde/profiler/export.h"

namespace sonde::profiler {
namespace {

constexpr const char* kAccepted = "folded, svg, pprof, speedscope or json";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

namespace {

// Each format's --format name and the extension of a default file name.
struct FormatNames {
  ExportFormat format;
  const char* name;
  const char* extension;
};
constexpr FormatNames kFormats[] = {
    {ExportFormat::kFolded, "folded", "folded"},
    {ExportFormat::kSvg, "svg", "svg"},
    {ExportFormat::kPprof, "pprof", "pb.gz"},
    {ExportFormat::kSpeedscope, "speedscope", "speedscope.json"},
    {ExportFormat::kJson, "json", "json"},
};

const FormatNames* names_of(ExportFormat f) {
  for (const auto& n : kFormats)
    if (n.format == f) return &n;
  return nullptr;
}

}  // namespace

const char* export_format_name(ExportFormat f) {
  const FormatNames* n = names_of(f);
  return n ? n->name : "?";
}

const char* export_extension(ExportFormat f) {
  const FormatNames* n = names_of(f);
  return n ? n->extension : "json";
}

Result<ExportFormat> output_format(const std::string& path, const std::string& format) {
  if (path.empty() && format.empty()) return ExportFormat::kSvg;
  return export_format_for(path, format);
}

Result<ExportFormat> export_format_for(const std::string& path, const std::string& format) {
  if (!format.empty()) {
    std::string f = lower(format);
    for (const auto& n : kFormats)
      if (f == n.name) return n.format;
    return Error{errc::kBadArgs, "unknown profile format `" + format + "`",
                 std::string("use --format ") + kAccepted};
  }
  std::string p = lower(path);
  // Longest suffixes first: a .speedscope.json is not plain JSON.
  if (ends_with(p, ".speedscope.json")) return ExportFormat::kSpeedscope;
  if (ends_with(p, ".pb.gz") || ends_with(p, ".pprof") || ends_with(p, ".pb"))
    return ExportFormat::kPprof;
  if (ends_with(p, ".folded") || ends_with(p, ".collapsed") || ends_with(p, ".txt"))
    return ExportFormat::kFolded;
  if (ends_with(p, ".svg")) return ExportFormat::kSvg;
  if (ends_with(p, ".json")) return ExportFormat::kJson;
  if (path.empty())
    return Error{errc::kBadArgs, "no profile format given",
                 std::string("pass --format (") + kAccepted + ") or an -o file name ending in " +
                     ".folded, .svg, .pb.gz, .speedscope.json or .json"};
  return Error{errc::kBadArgs, "cannot tell the profile format from `" + path + "`",
               std::string("pass --format ") + kAccepted +
                   ", or name the file .folded, .svg, .pb.gz, .speedscope.json or .json"};
}

Result<std::string> export_profile(const Profile& p, ExportFormat f, const SvgOptions& o) {
  switch (f) {
    case ExportFormat::kFolded:
      return export_folded(p);
    case ExportFormat::kSvg:
      return export_svg(p, o);
    case ExportFormat::kPprof:
      return export_pprof(p);
    case ExportFormat::kSpeedscope:
      return export_speedscope(p);
    case ExportFormat::kJson:
      // Names come from the target and need not be UTF-8; text JSON must be.
      return to_json(p).dump(2, ' ', false, json::error_handler_t::replace);
  }
  return Error{errc::kInternal, "unhandled export format", {}};
}

}  // namespace sonde::profiler
