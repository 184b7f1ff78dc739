// The caps on what grows with the target: ps command lines and rows, and
// inspect's fd list, against a real process holding many fds and a long
// command line (tests/targets/many_holder).
#include <dirent.h>
#include <gtest/gtest.h>

#include "sonde/proc/fds.h"
#include "sonde/proc/inspect.h"
#include "sonde/proc/ps.h"
#include "sonde/render/inspect.h"
#include "sonde/render/ps.h"
#include "support/tracee.h"

namespace sonde::proc {
namespace {

using sonde::testing::start_tracee;
using sonde::testing::target_path;

size_t count_fds(int pid) {
  size_t n = 0;
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

const PsRow* row_of(const PsResult& r, int pid) {
  for (const auto& p : r.processes)
    if (p.pid == pid) return &p;
  return nullptr;
}

json fds_json(const std::vector<FdEntry>& fds) {
  json a = json::array();
  for (const auto& f : fds) a.push_back(to_json(f));
  return a;
}

TEST(PsLimits, LongCommandLineIsCutAtAUtf8BoundaryWithTheRestCounted) {
  // "é" is two bytes. The padding before them puts byte 4096 inside one,
  // where a byte-wise cut would leave half a character.
  std::string path = target_path("many_holder");
  std::string x = (path.size() + 7) % 2 == 1 ? "x" : "xx";
  std::vector<std::string> argv = {path, "0", "0", x};
  std::string e2;
  for (int i = 0; i < 30000; ++i) e2 += "\xc3\xa9";
  argv.push_back(e2);
  size_t full = 0;
  for (const auto& s : argv) full += s.size() + 1;
  full -= 1;
  std::string ready;
  auto t = start_tracee(argv, &ready);
  ASSERT_EQ(ready, "READY");
  CancelToken cancel;
  PsOptions o;
  o.interval_ms = 0;
  o.name_regex = "many_holder";
  auto r = list_processes(o, cancel);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  const PsRow* p = row_of(*r, t->pid());
  ASSERT_NE(p, nullptr);
  std::string cl = p->cmdline;
  size_t more = p->cmdline_more_bytes;
  ASSERT_GT(more, 0u);
  std::string marker = " … (" + std::to_string(more) + " more bytes)";
  ASSERT_TRUE(cl.ends_with(marker)) << cl.substr(cl.size() - 60);
  std::string shown = cl.substr(0, cl.size() - marker.size());
  // Whole characters only (utf8_safe would have turned half of one into '?').
  EXPECT_EQ(shown.find('?'), std::string::npos);
  EXPECT_LE(shown.size(), kCmdlineShownBytes);
  EXPECT_GE(shown.size(), kCmdlineShownBytes - 3);
  EXPECT_EQ(shown.size() + more, full);
  EXPECT_GE(r->cmdlines_cut, 1u);
}

TEST(PsLimits, ShortCommandLineIsWholeAndNotCounted) {
  std::string ready;
  auto t = start_tracee({target_path("many_holder"), "0", "0", "short"}, &ready);
  ASSERT_EQ(ready, "READY");
  CancelToken cancel;
  PsOptions o;
  o.interval_ms = 0;
  o.name_regex = "many_holder";
  auto r = list_processes(o, cancel);
  ASSERT_TRUE(r.ok());
  const PsRow* p = row_of(*r, t->pid());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->cmdline, target_path("many_holder") + " 0 0 short");
  EXPECT_EQ(p->cmdline_more_bytes, 0u);
  EXPECT_FALSE(to_json(*p).contains("cmdline_more_bytes"));
}

TEST(PsLimits, RowsPastTheBudgetAreCountedAndRendered) {
  CancelToken cancel;
  PsOptions o;
  o.interval_ms = 0;
  o.sort = "pid";
  o.budget_bytes = 2000;
  auto r = list_processes(o, cancel);
  ASSERT_TRUE(r.ok());
  size_t shown = r->shown, more = r->more;
  ASSERT_GT(more, 0u) << "fewer processes than a 2000-byte budget holds?";
  EXPECT_EQ(r->processes.size(), shown);
  EXPECT_LE(wire_size_bound(to_json(*r)["processes"]), 2000u);
  std::string text = render::render_ps_text(*r, 0);
  EXPECT_NE(text.find("… " + std::to_string(more) + " more process"), std::string::npos) << text;
}

TEST(FdLimits, FdsOverTheCountCapAreCounted) {
  std::string ready;
  auto t = start_tracee({target_path("many_holder"), std::to_string(kMaxFds + 600), "0"}, &ready);
  ASSERT_EQ(ready, "READY");
  size_t total = count_fds(t->pid());
  ASSERT_GT(total, kMaxFds);
  std::vector<std::string> notes;
  size_t more = 0;
  auto fds = list_fds(t->pid(), notes, &more);
  ASSERT_TRUE(fds.ok()) << fds.error().describe();
  EXPECT_EQ(fds->size(), kMaxFds);
  EXPECT_EQ(more, total - kMaxFds);
  EXPECT_EQ((*fds)[0].fd, 0);
  EXPECT_LT(wire_size_bound(fds_json(*fds)), kFdsBudgetBytes);
  bool noted = false;
  for (const auto& n : notes)
    noted |= n.find(std::to_string(more) + " more fds") != std::string::npos;
  EXPECT_TRUE(noted);

  // inspect carries the count and its text says it.
  auto r = inspect_process(t->pid(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fds_more, more);
  EXPECT_LT(wire_size_bound(to_json(*r)), kResultBudgetBytes);
  std::string text = render::render_inspect_text(*r);
  EXPECT_NE(text.find("… " + std::to_string(more) + " more fds not listed"), std::string::npos);
}

TEST(FdLimits, FdsPastTheByteBudgetAreCounted) {
  std::string ready;
  auto t = start_tracee({target_path("many_holder"), "3000", "0"}, &ready);
  ASSERT_EQ(ready, "READY");
  size_t total = count_fds(t->pid());
  std::vector<std::string> notes;
  size_t more = 0;
  auto fds = list_fds(t->pid(), notes, &more, 20000);
  ASSERT_TRUE(fds.ok());
  EXPECT_GT(fds->size(), 10u);
  EXPECT_LE(wire_size_bound(fds_json(*fds)), 20000u);
  EXPECT_EQ(fds->size() + more, total);
}

}  // namespace
}  // namespace sonde::proc
