// Text renderers: the table helper on fixed input, ps and inspect on live data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "sonde/proc/inspect.h"
#include "sonde/proc/ps.h"
#include "sonde/proc/text.h"
#include "sonde/render/inspect.h"
#include "sonde/render/ps.h"
#include "sonde/render/table.h"
#include "support/tracee.h"

using namespace sonde;
using namespace sonde::render;
using sonde::testing::start_tracee;
using sonde::testing::target_path;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST(Table, AlignsAndFits) {
  Table t({{"PID", Align::kRight}, {"NAME"}, {"CMD"}});
  t.add_row({"1", "init", "/sbin/init splash"});
  t.add_row({"12345", "x"});
  auto lines = lines_of(t.render());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "  PID  NAME  CMD");
  EXPECT_EQ(lines[1], "    1  init  /sbin/init splash");
  EXPECT_EQ(lines[2], "12345  x");
}

TEST(Table, TruncatesLastColumnToWidth) {
  Table t({{"A"}, {"LONG"}});
  t.add_row({"aa", std::string(100, 'z')});
  t.add_row({"b", "caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9"});
  auto lines = lines_of(t.render(20));
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_LE(display_width(l), 20u) << l;
  EXPECT_EQ(lines[1], "aa  " + std::string(16, 'z'));
  // Cut on a code point boundary, never inside the two bytes of é.
  EXPECT_EQ(lines[2], "b   caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 c");
  // A terminal narrower than the fixed columns still shows a few characters.
  EXPECT_EQ(lines_of(t.render(3))[1], "aa  zzzzzzzz");
}

TEST(Table, ControlCharactersNeverReachTheTerminal) {
  Table t({{"NAME"}});
  t.add_row({"evil\x1b]0;pwned\x07name"});
  std::string out = t.render();
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\x07'), std::string::npos);
  EXPECT_NE(out.find("evil?]0;pwned?name"), std::string::npos);
}

TEST(RenderPs, TableHasHeaderAndBurner) {
  std::string burner_ready;
  auto burner = start_tracee({target_path("cpu_burner"), "5"}, &burner_ready);
  ASSERT_EQ(burner_ready, "READY");
  CancelToken cancel;
  proc::PsOptions o;
  o.interval_ms = 50;
  auto r = proc::list_processes(o, cancel);
  ASSERT_TRUE(r.ok());
  std::string text = render_ps_text(*r, 100);
  auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 3u);
  for (const char* h : {"PID", "USER", "%CPU", "%MEM", "RSS", "START", "COMMAND"})
    EXPECT_NE(lines[0].find(h), std::string::npos) << lines[0];
  for (const auto& l : lines) EXPECT_LE(display_width(l), 100u) << l;
  bool row = false;
  // Unlimited width for the content check: a long build path would be cut.
  for (const auto& l : lines_of(render_ps_text(*r, 0))) {
    auto f = proc::split_ws(l);
    if (!f.empty() && f[0] == std::to_string(burner->pid())) {
      row = true;
      EXPECT_NE(l.find("cpu_burner"), std::string::npos) << l;
    }
  }
  EXPECT_TRUE(row) << text;
  // The summary follows the table; notes about what was cut (a host with a
  // long command line) may follow it.
  EXPECT_NE(text.find("processes; %CPU over 50 ms (schedstat)\n"), std::string::npos) << text;
  // An empty result still has its header.
  EXPECT_NE(render_ps_text(proc::PsResult{}, 80).find("PID"), std::string::npos);
}

TEST(RenderPs, NotesWrapToTheTerminalWidth) {
  proc::PsResult r;
  r.total = 90;
  r.cpu_source = "schedstat";
  r.interval_ms = 50;
  r.more = 90;
  r.cmdlines_cut = 3;
  for (int width : {40, 60, 100}) {
    std::string text = render_ps_text(r, width);
    auto lines = lines_of(text);
    // Past the header (whose fixed columns are wider than 40): the notes.
    for (size_t i = 1; i < lines.size(); ++i)
      EXPECT_LE(display_width(lines[i]), size_t(width)) << lines[i];
    EXPECT_NE(text.find("90 more processes"), std::string::npos) << text;
    EXPECT_NE(text.find("3 command lines cut"), std::string::npos) << text;
  }
  // No width: each note is one line.
  EXPECT_EQ(lines_of(render_ps_text(r, 0)).size(), 4u);
}

TEST(WrapNote, BreaksAtSpacesAndCutsLongWords) {
  EXPECT_EQ(wrap_note("short", 20), "short\n");
  EXPECT_EQ(wrap_note("one two three four", 9), "one two\n  three\n  four\n");
  std::string w = wrap_note("x " + std::string(30, 'y'), 10);
  for (const auto& l : lines_of(w)) EXPECT_LE(display_width(l), 10u) << l;
  EXPECT_NE(w.find("yyyyyyyy"), std::string::npos) << w;
  // Cut on a code point boundary.
  const std::string cafe = "caf\xc3\xa9";
  EXPECT_EQ(wrap_note(cafe + cafe + cafe + cafe, 8),
            cafe + cafe + "\n  " + cafe + "ca\n  f\xc3\xa9\n");
}

TEST(RenderInspect, ShowsFileListenAndThreads) {
  char tmpl[] = "/tmp/sonde-render-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::string holder_ready;
  auto holder = start_tracee({target_path("fd_holder"), tmpl}, &holder_ready);
  ASSERT_TRUE(holder_ready.starts_with("READY ")) << holder_ready;
  auto r = proc::inspect_process(holder->pid(), {});
  ::unlink(tmpl);
  ASSERT_TRUE(r.ok());
  std::string text = render_inspect_text(*r);
  EXPECT_NE(text.find(tmpl), std::string::npos) << text;
  EXPECT_NE(text.find("LISTEN"), std::string::npos) << text;
  EXPECT_NE(text.find("ESTABLISHED"), std::string::npos) << text;
  EXPECT_NE(text.find("sonde-worker1"), std::string::npos) << text;
  EXPECT_NE(text.find("sonde-worker2"), std::string::npos) << text;
  EXPECT_NE(text.find("Max open files"), std::string::npos) << text;
  EXPECT_NE(text.find("pid " + std::to_string(holder->pid()) + "  fd_holder"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_FALSE(render_inspect_text(proc::InspectResult{}).empty());
}

// An fd list the agent could not read is said so, with why and the next
// step: never an empty table, which would read as a process without files.
TEST(RenderInspect, UnreadableFdsAreSaidNotAnEmptyTable) {
  proc::InspectResult r;
  r.pid = 7;
  r.comm = "sleep";
  const std::string why =
      "permission denied on pid 7: it runs as root (uid 0), the agent as nobody";
  r.fds_error = why;
  r.denied = proc::AccessDenied{why, "rerun with --sudo", {"exe", "open files"}};
  std::string text = render_inspect_text(r);
  EXPECT_NE(text.find("open files: could not be read: " + why + "\n  hint: rerun with --sudo\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("open files ("), std::string::npos) << text;
  EXPECT_EQ(text.find("FD  KIND"), std::string::npos) << text;
  EXPECT_NE(text.find(why + "; not read: exe, open files"), std::string::npos) << text;
  // A process with no fds at all is an empty table.
  proc::InspectResult none;
  none.pid = 8;
  none.comm = "x";
  EXPECT_NE(render_inspect_text(none).find("open files (0)"), std::string::npos);
}

// What ps --name left out of sonde's own is said, with the option that keeps it.
TEST(RenderPs, SaysWhatOfSondesOwnItLeftOut) {
  proc::PsResult r;
  r.total = 10;
  r.sonde_hidden = 2;
  std::string text = render_ps_text(r, 0);
  EXPECT_NE(text.find("2 of sonde's own processes left out (--include-sonde keeps them)"),
            std::string::npos)
      << text;
  r.sonde_hidden = 0;
  EXPECT_EQ(render_ps_text(r, 0).find("sonde's own"), std::string::npos);
}
