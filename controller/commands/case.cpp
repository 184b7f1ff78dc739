// sonde case new|list|use|show|close|note|timeline: the case journal
// (controller/case/journal.h). Commands record themselves into the active
// case from cli/main.cpp; these commands manage cases and add notes.
#include <algorithm>

#include "../case/journal.h"
#include "../case/recorder.h"
#include "../case/redact.h"
#include "../case/times.h"
#include "../cli/command.h"
#include "sonde/common/io.h"
#include "sonde/render/table.h"

namespace sonde::controller {
namespace {

namespace cf = casefile;

// The case a subcommand works on: its NAME argument, else --case, else the
// active case.
Result<cf::CaseInfo> pick_case(const CommandContext& ctx, const std::string& name_arg) {
  std::string name = name_arg;
  if (name.empty() && ctx.vm.count("case")) name = ctx.vm["case"].as<std::string>();
  if (name.empty()) name = cf::active_case();
  if (name.empty())
    return Error{errc::kBadArgs, "no active case",
                 "`sonde case new NAME` opens one, `sonde case use NAME` picks one, or name it"};
  return cf::open_case(name);
}

cf::Entry case_entry(const std::string& event, const std::string& summary) {
  cf::Entry e;
  e.kind = "case";
  e.ts = e.at = cf::utc_now();
  e.text = event;
  e.summary = summary;
  return e;
}

json entries_json(const std::vector<cf::Entry>& entries) {
  json a = json::array();
  for (const auto& e : entries) a.push_back(cf::to_json(e));
  return a;
}

// "2026-11-25 14:02:03Z" from "2026-11-25T14:02:03.123Z".
std::string short_time(const std::string& ts) {
  if (ts.size() < 19) return ts;
  return ts.substr(0, 10) + " " + ts.substr(11, 8) + "Z";
}

std::string duration_text(long ms) {
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  return fmt::format("{}m{:02}s", ms / 60000, (ms / 1000) % 60);
}

std::string argv_text(const std::vector<std::string>& argv) {
  std::string s;
  for (std::string w : argv) {
    if (w.find(' ') != std::string::npos || w.empty()) w = "'" + w + "'";
    s += (s.empty() ? "" : " ") + w;
  }
  return s;
}

// One timeline line: time, kind/tag, host, what, summary, exit, duration.
std::string timeline_line(const cf::Entry& e) {
  std::string at = short_time(when(e));
  if (e.kind == "note") {
    std::string tag = e.tag.empty() ? "observation" : e.tag;
    return fmt::format("{}  {:<16} {:<12} {}", at, "note/" + tag, "-", e.text);
  }
  if (e.kind == "case")
    return fmt::format("{}  {:<16} {:<12} case {}{}", at, "case", "-", e.text,
                       e.summary.empty() ? "" : ": " + e.summary);
  std::string host = !e.host.empty() ? e.host : e.target.empty() ? "-" : e.target;
  std::string what = argv_text(e.argv);
  if (what.empty()) what = "sonde " + e.command;
  std::string line =
      fmt::format("{}  {:<16} {:<12} {} — {}  [exit {}, {}]", at, e.command, host, what, e.summary,
                  e.exit.value_or(0), duration_text(e.duration_ms.value_or(0)));
  size_t n = e.artifacts.size();
  if (n) line += fmt::format(" +{} artifact{}", n, n == 1 ? "" : "s");
  return line;
}

std::vector<cf::Entry> sorted_by_at(std::vector<cf::Entry> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const cf::Entry& a, const cf::Entry& b) {
    // Times differ only in their fractions: compare up to the seconds, then
    // the fractions (a missing fraction is .000).
    auto norm = [](std::string s) {
      if (s.size() >= 20 && s[19] == 'Z') s = s.substr(0, 19) + ".000Z";
      return s;
    };
    return norm(when(a)) < norm(when(b));
  });
  return entries;
}

Result<cf::Journal> load_warn(const cf::CaseInfo& c) {
  auto j = cf::load_journal(c);
  if (j)
    for (const auto& w : j->warnings)
      std::fprintf(stderr, "sonde: warning: case `%s`: %s\n", c.name.c_str(), w.c_str());
  return j;
}

std::string positional(const CommandContext& ctx) {
  return ctx.target;
}

CommandSpec case_new() {
  CommandSpec c;
  c.name = "case new";
  c.summary = "open a case: a journal every later sonde command records itself into";
  c.synopsis = "case new NAME [--title TITLE]";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("title", po::value<std::string>(), "what the case is about");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::string name = positional(ctx);
    if (name.empty())
      return ctx.fail(Error{errc::kBadArgs, "missing NAME",
                            "sonde case new incident-42 --title 'checkout 502s'"});
    std::string title = ctx.vm.count("title") ? ctx.vm["title"].as<std::string>() : "";
    auto cs = cf::create_case(name, title);
    if (!cs) return ctx.fail(cs.error());
    if (auto st = cf::append_entry(*cs, case_entry("opened", title)); !st.ok())
      return ctx.fail(st.error());
    if (auto st = cf::set_active_case(name); !st.ok()) return ctx.fail(st.error());
    if (ctx.g.json) {
      ctx.print_json({{"name", cs->name},
                      {"title", cs->title},
                      {"created", cs->created},
                      {"dir", cs->dir},
                      {"active", true}});
    } else {
      std::printf("case %s opened%s; it is the active case: sonde commands now record into\n  %s\n",
                  render::terminal_safe(name).c_str(),
                  title.empty() ? "" : (" (" + render::terminal_safe(title) + ")").c_str(),
                  render::terminal_safe(cs->dir).c_str());
    }
    return exit_code::kOk;
  };
  return c;
}

CommandSpec case_list() {
  CommandSpec c;
  c.name = "case list";
  c.summary = "the cases: name, title, entries, opened, closed; * marks the active one";
  c.synopsis = "case list";
  c.needs_target = false;
  c.run = [](CommandContext& ctx) -> int {
    std::string active = cf::active_case();
    json all = json::array();
    render::Table t(
        {{" "}, {"name"}, {"title"}, {"entries", render::Align::kRight}, {"opened"}, {"closed"}});
    for (const auto& cs : cf::list_cases()) {
      auto j = cf::load_journal(cs);
      size_t n = j ? j->entries.size() : 0;
      all.push_back({{"name", cs.name},
                     {"title", cs.title},
                     {"entries", n},
                     {"created", cs.created},
                     {"closed", cs.closed.empty() ? json(nullptr) : json(cs.closed)},
                     {"active", cs.name == active}});
      t.add_row({cs.name == active ? "*" : "", cs.name, cs.title, std::to_string(n),
                 short_time(cs.created), cs.closed.empty() ? "-" : short_time(cs.closed)});
    }
    if (ctx.g.json) {
      ctx.print_json({{"home", cf::sonde_home()}, {"active", active}, {"cases", all}});
    } else if (all.empty()) {
      std::printf("no cases in %s\n  hint: sonde case new NAME --title '...'\n",
                  render::terminal_safe(cf::sonde_home()).c_str());
    } else {
      std::fputs(t.render().c_str(), stdout);
    }
    return exit_code::kOk;
  };
  return c;
}

CommandSpec case_use() {
  CommandSpec c;
  c.name = "case use";
  c.summary = "make a case the active one (a closed case is reopened); --none for no case";
  c.synopsis = "case use NAME | case use --none";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("none", "no active case: commands record nothing");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::string name = positional(ctx);
    if (ctx.vm.count("none")) {
      if (!name.empty())
        return ctx.fail(Error{errc::kBadArgs, "give NAME or --none, not both", {}});
      if (auto st = cf::set_active_case(""); !st.ok()) return ctx.fail(st.error());
      if (!ctx.g.json) std::printf("no active case\n");
      return exit_code::kOk;
    }
    if (name.empty())
      return ctx.fail(
          Error{errc::kBadArgs, "missing NAME (or --none)", "`sonde case list` shows the cases"});
    auto cs = cf::open_case(name);
    if (!cs) return ctx.fail(cs.error());
    bool reopened = false;
    if (!cs->closed.empty()) {
      if (auto st = cf::set_case_closed(*cs, ""); !st.ok()) return ctx.fail(st.error());
      if (auto st = cf::append_entry(*cs, case_entry("reopened", "")); !st.ok())
        return ctx.fail(st.error());
      reopened = true;
    }
    if (auto st = cf::set_active_case(name); !st.ok()) return ctx.fail(st.error());
    if (ctx.g.json)
      ctx.print_json({{"active", name}, {"reopened", reopened}});
    else
      std::printf("case %s is active%s\n", render::terminal_safe(name).c_str(),
                  reopened ? " (it was closed: reopened)" : "");
    return exit_code::kOk;
  };
  return c;
}

CommandSpec case_show() {
  CommandSpec c;
  c.name = "case show";
  c.summary = "a case: title, times, entry counts, artifacts and the last entries";
  c.synopsis = "case show [NAME] [--last N]";
  c.needs_target = false;
  c.options = [](po::options_description& o) {
    o.add_options()("last,n", po::value<int>()->default_value(10), "how many last entries");
  };
  c.run = [](CommandContext& ctx) -> int {
    auto cs = pick_case(ctx, positional(ctx));
    if (!cs) return ctx.fail(cs.error());
    auto j = load_warn(*cs);
    if (!j) return ctx.fail(j.error());
    std::map<std::string, int> counts;
    int failed = 0;
    std::vector<cf::ArtifactRecord> artifacts;
    for (const auto& e : j->entries) {
      ++counts[e.kind];
      if (e.kind == "command" && e.exit.value_or(0) != 0) ++failed;
      artifacts.insert(artifacts.end(), e.artifacts.begin(), e.artifacts.end());
    }
    auto entries = sorted_by_at(j->entries);
    int last = std::max(0, ctx.vm["last"].as<int>());
    size_t from = entries.size() > static_cast<size_t>(last) ? entries.size() - last : 0;
    if (ctx.g.json) {
      json tail = json::array();
      for (size_t i = from; i < entries.size(); ++i) tail.push_back(cf::to_json(entries[i]));
      json artifacts_j = json::array();
      for (const auto& a : artifacts) artifacts_j.push_back(cf::to_json(a));
      ctx.print_json({{"name", cs->name},
                      {"title", cs->title},
                      {"created", cs->created},
                      {"closed", cs->closed.empty() ? json(nullptr) : json(cs->closed)},
                      {"dir", cs->dir},
                      {"active", cf::active_case() == cs->name},
                      {"entries", j->entries.size()},
                      {"counts", counts},
                      {"failed_commands", failed},
                      {"artifacts", artifacts_j},
                      {"last", tail},
                      {"warnings", j->warnings}});
      return exit_code::kOk;
    }
    std::printf("case %s%s%s\n", render::terminal_safe(cs->name).c_str(),
                cs->title.empty() ? "" : (": " + render::terminal_safe(cs->title)).c_str(),
                cf::active_case() == cs->name ? "  (active)" : "");
    std::printf("  opened  %s\n  closed  %s\n  folder  %s\n", short_time(cs->created).c_str(),
                cs->closed.empty() ? "-" : short_time(cs->closed).c_str(),
                render::terminal_safe(cs->dir).c_str());
    std::printf("  entries %zu: %d commands (%d failed), %d notes\n", j->entries.size(),
                counts["command"], failed, counts["note"]);
    if (!artifacts.empty()) {
      std::printf("artifacts:\n");
      for (const auto& a : artifacts)
        std::printf("  %s  (%s, %s, from %s)\n", render::terminal_safe(a.path).c_str(),
                    render::terminal_safe(a.kind).c_str(), human_bytes(a.bytes.value_or(0)).c_str(),
                    render::terminal_safe(a.from).c_str());
    }
    if (from < entries.size()) {
      std::printf("last entries:\n");
      for (size_t i = from; i < entries.size(); ++i)
        std::printf("  %s\n", render::terminal_safe(timeline_line(entries[i])).c_str());
    }
    return exit_code::kOk;
  };
  return c;
}

CommandSpec case_close() {
  CommandSpec c;
  c.name = "case close";
  c.summary = "close the active case (or NAME): no more entries; `case use` reopens it";
  c.synopsis = "case close [NAME]";
  c.needs_target = false;
  c.run = [](CommandContext& ctx) -> int {
    auto cs = pick_case(ctx, positional(ctx));
    if (!cs) return ctx.fail(cs.error());
    if (!cs->closed.empty())
      return ctx.fail(Error{errc::kBadArgs, "case `" + cs->name + "` is already closed",
                            "`sonde case use " + cs->name + "` reopens it"});
    cf::Entry e = case_entry("closed", "");
    if (auto st = cf::append_entry(*cs, e); !st.ok()) return ctx.fail(st.error());
    if (auto st = cf::set_case_closed(*cs, e.ts); !st.ok()) return ctx.fail(st.error());
    if (cf::active_case() == cs->name)
      if (auto st = cf::set_active_case(""); !st.ok()) return ctx.fail(st.error());
    if (ctx.g.json)
      ctx.print_json({{"name", cs->name}, {"closed", e.ts}});
    else
      std::printf("case %s closed; no active case\n  hint: sonde report %s\n",
                  render::terminal_safe(cs->name).c_str(), render::terminal_safe(cs->name).c_str());
    return exit_code::kOk;
  };
  return c;
}

const char* kTags[] = {"impact", "cause", "mitigation", "fix", "prevention", "observation"};

CommandSpec case_note() {
  CommandSpec c;
  c.name = "case note";
  c.summary = "add your own observation to the case timeline (--at for earlier events)";
  c.synopsis =
      "case note TEXT [--at 14:02|14:02:30|2026-11-25T14:02Z|-15m] "
      "[--tag impact|cause|mitigation|fix|prevention|observation]";
  c.needs_target = false;
  c.rest_positional = "words";
  c.options = [](po::options_description& o) {
    o.add_options()("at", po::value<std::string>(),
                    "when it happened: 14:02 (local, today), 2026-11-25T14:02Z, -15m")(
        "tag", po::value<std::string>()->default_value("observation"),
        "impact, cause, mitigation, fix, prevention or observation")(
        "words", po::value<std::vector<std::string>>(), "more words of TEXT");
  };
  c.run = [](CommandContext& ctx) -> int {
    std::string text = positional(ctx);
    if (ctx.vm.count("words"))
      for (const auto& w : ctx.vm["words"].as<std::vector<std::string>>()) text += " " + w;
    if (text.empty())
      return ctx.fail(Error{errc::kBadArgs, "missing TEXT",
                            "sonde case note 'alerts fired' --at 14:02 --tag impact"});
    std::string tag = ctx.vm["tag"].as<std::string>();
    if (std::find_if(std::begin(kTags), std::end(kTags), [&](const char* t) { return tag == t; }) ==
        std::end(kTags))
      return ctx.fail(Error{errc::kBadArgs, "--tag `" + tag + "` is not a tag",
                            "one of impact, cause, mitigation, fix, prevention, observation"});
    auto cs = pick_case(ctx, "");
    if (!cs) return ctx.fail(cs.error());
    if (!cs->closed.empty())
      return ctx.fail(Error{errc::kBadArgs, "case `" + cs->name + "` is closed",
                            "`sonde case use " + cs->name + "` reopens it"});
    std::string now = cf::utc_now();
    std::string at = now;
    if (ctx.vm.count("at")) {
      auto t =
          cf::parse_note_time(ctx.vm["at"].as<std::string>(), static_cast<long>(::time(nullptr)));
      if (!t) return ctx.fail(t.error());
      at = *t;
    }
    int redacted = 0;
    if (!ctx.vm.count("no-redact")) text = cf::redact_text(text, &redacted);
    cf::Entry e;
    e.kind = "note";
    e.ts = now;
    e.at = at;
    e.text = text;
    e.tag = tag;
    e.redacted = redacted;
    if (auto st = cf::append_entry(*cs, e); !st.ok()) return ctx.fail(st.error());
    if (ctx.g.json)
      ctx.print_json(cf::to_json(e));
    else
      std::printf("noted in %s at %s (%s)\n", render::terminal_safe(cs->name).c_str(),
                  short_time(at).c_str(), tag.c_str());
    return exit_code::kOk;
  };
  return c;
}

CommandSpec case_timeline() {
  CommandSpec c;
  c.name = "case timeline";
  c.summary = "the case's commands, notes and events in time order, one line each";
  c.synopsis = "case timeline [NAME] [--json]";
  c.needs_target = false;
  c.run = [](CommandContext& ctx) -> int {
    auto cs = pick_case(ctx, positional(ctx));
    if (!cs) return ctx.fail(cs.error());
    auto j = load_warn(*cs);
    if (!j) return ctx.fail(j.error());
    auto entries = sorted_by_at(j->entries);
    if (ctx.g.json) {
      ctx.print_json({{"name", cs->name},
                      {"title", cs->title},
                      {"entries", entries_json(entries)},
                      {"warnings", j->warnings}});
      return exit_code::kOk;
    }
    for (const auto& e : entries)
      std::printf("%s\n", render::terminal_safe(timeline_line(e)).c_str());
    return exit_code::kOk;
  };
  return c;
}

}  // namespace

std::vector<CommandSpec> case_commands() {
  return {case_new(),   case_list(), case_use(),     case_show(),
          case_close(), case_note(), case_timeline()};
}

}  // namespace sonde::controller
