// `stack` on a process with thousands of threads: every thread is either in
// the dump or counted in threads_more, and the dump stays within its caps.
#include <gtest/gtest.h>

#include "sonde/profiler/stack.h"
#include "sonde/render/stack.h"
#include "support/tracee.h"

namespace sonde::profiler {
namespace {

using sonde::testing::Tracee;

constexpr int kThreads = 2000;

std::unique_ptr<Tracee> start_holder(int threads) {
  auto t = Tracee::start(
      {std::string(SONDE_TARGETS_DIR) + "/many_holder", "0", std::to_string(threads)});
  if (!t) return nullptr;
  auto line = t->wait_line([](const std::string& l) { return l.rfind("READY", 0) == 0; }, 20000);
  if (!line) return nullptr;
  return t;
}

TEST(StackLimits, TwoThousandThreadsAreAllAccountedForWithinTheBudget) {
  auto t = start_holder(kThreads);
  ASSERT_TRUE(t) << "many_holder did not start";
  Symbolizer sym;
  auto d = dump_stacks(t->pid(), {}, sym);
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_EQ(d->threads.size() + d->threads_more, static_cast<size_t>(kThreads + 1));
  json j = to_json(*d);
  EXPECT_LE(wire_size_bound(j), kResultBudgetBytes + (1u << 20));
  auto back = stack_dump_from_json(j);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->threads_more, d->threads_more);
}

TEST(StackLimits, ThreadsPastMaxThreadsAreCountedAndShown) {
  auto t = start_holder(kThreads);
  ASSERT_TRUE(t) << "many_holder did not start";
  Symbolizer sym;
  StackOptions o;
  o.max_threads = 300;
  auto d = dump_stacks(t->pid(), o, sym);
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_EQ(d->threads.size(), 300u);
  EXPECT_EQ(d->threads_more, static_cast<uint64_t>(kThreads + 1 - 300));
  // The main thread first, even when pids have wrapped and its threads'
  // tids are lower than its own.
  EXPECT_EQ(d->threads[0].tid, t->pid());
  std::string text = render::render_stack_dump(*d);
  EXPECT_NE(text.find("… " + std::to_string(kThreads + 1 - 300) + " more threads not shown"),
            std::string::npos);
}

TEST(StackLimits, ThreadsPastTheByteBudgetAreCounted) {
  auto t = start_holder(200);
  ASSERT_TRUE(t) << "many_holder did not start";
  Symbolizer sym;
  StackOptions o;
  o.budget_bytes = 20000;
  auto d = dump_stacks(t->pid(), o, sym);
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_GT(d->threads.size(), 0u);
  EXPECT_GT(d->threads_more, 0u);
  EXPECT_EQ(d->threads.size() + d->threads_more, 201u);
  EXPECT_LE(wire_size_bound(to_json(*d)["threads"]), 20000u);
  bool noted = false;
  for (const auto& n : d->notes)
    noted |=
        n.find(std::to_string(d->threads_more) + " more threads not shown") != std::string::npos;
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace sonde::profiler
