// sonde report [NAME] [-o FILE]: the case's post-mortem, Markdown on stdout or
// into FILE (.md, .html by its name). The layout is case/report.h's; this
// file finds the case, loads its journal and writes the result.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../cli/command.h"
#include "case/journal.h"
#include "case/report.h"
#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

namespace cf = casefile;
namespace fs = std::filesystem;

// Written next to FILE and renamed over it: a reader never sees half a report.
// 0600 like the case store: a report holds what the targets showed (all of
// it with --no-redact); chmod it to share it.
Status write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crashed run, possibly with wider modes
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno_error("open " + tmp, errno, "check that the directory exists and is writable");
  Status st = write_all(fd, text);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return ok_status();
}

}  // namespace

CommandSpec report_command() {
  CommandSpec c;
  c.name = "report";
  c.summary =
      "the case's post-mortem: summary, timeline, what we saw, why, impact, how we found out, "
      "mitigation and fix, prevention (Markdown or one self-contained HTML file)";
  c.synopsis = "report [NAME] [-o FILE.md|FILE.html]";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("output,o", po::value<std::string>(),
                    "write the report to FILE; .md/.markdown for Markdown, .html/.htm for HTML "
                    "(default: Markdown on stdout)");
  };
  c.run = [](CommandContext& ctx) -> int {
    // main.cpp parses the first positional as TARGET: here it is the case name.
    std::string name = ctx.target.empty() ? cf::active_case() : ctx.target;
    if (name.empty())
      return ctx.fail(Error{errc::kNotFound, "no case named and no active case",
                            "name one (`sonde report NAME`), or pick the active case with "
                            "`sonde case use NAME` (`sonde case list` shows them)"});
    auto info = cf::open_case(name);
    if (!info) {
      Error e = info.error();
      if (e.hint.empty()) e.hint = "`sonde case list` shows the cases";
      return ctx.fail(e);
    }
    auto journal = cf::load_journal(*info);
    if (!journal) return ctx.fail(journal.error());

    cf::ReportInput in;
    in.info = *info;
    std::error_code ec;
    in.info.dir = fs::weakly_canonical(fs::absolute(info->dir), ec).string();
    if (ec) in.info.dir = fs::absolute(info->dir).string();
    in.entries = std::move(journal->entries);
    in.warnings = std::move(journal->warnings);
    in.generated = cf::utc_now().substr(0, 19) + "Z";

    std::string out = ctx.vm.count("output") ? ctx.vm["output"].as<std::string>() : "";
    cf::ReportFormat format = cf::ReportFormat::kMarkdown;
    if (!out.empty()) {
      auto f = cf::report_format_for(out);
      if (!f) return ctx.fail(f.error());
      format = *f;
      fs::path dir = fs::absolute(out).parent_path();
      fs::path canon = fs::weakly_canonical(dir, ec);
      in.artifact_base = cf::artifact_base(in.info.dir, ec ? dir.string() : canon.string());
      in.report_elsewhere = !in.artifact_base.empty();
    } else {
      // On stdout the report's place is unknown: links are relative to the case.
      in.report_elsewhere = true;
    }

    for (const auto& w : in.warnings)
      std::fprintf(stderr, "sonde: warning: %s\n", render::terminal_safe(w).c_str());
    if (ctx.g.json && out.empty()) {
      ctx.print_json(cf::render_json(in));
      return exit_code::kOk;
    }
    std::string text =
        format == cf::ReportFormat::kHtml ? cf::render_html(in) : cf::render_markdown(in);
    if (out.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return exit_code::kOk;
    }
    if (auto st = write_file(out, text); !st) return ctx.fail(st.error());
    if (ctx.g.json) {
      json j = cf::render_json(in);
      j["written"] = out;
      ctx.print_json(j);
    } else {
      std::fprintf(stderr, "sonde: wrote the report of case %s to %s\n",
                   render::terminal_safe(name).c_str(), render::terminal_safe(out).c_str());
    }
    return exit_code::kOk;
  };
  return c;
}

}  // namespace sonde::controller
