// A host's clock against the controller's: the lowest-delay exchange wins,
// its offset is the agent's time minus the exchange's midpoint, ±delay/2.
#include <gtest/gtest.h>

#include <vector>

#include "sonde/common/clock.h"

using namespace sonde;

TEST(Clock, LowestDelayExchangeGivesOffsetAndBound) {
  // The agent's clock is 1 s ahead. The second exchange is the quick one
  // (delay 200 ns); the others had a slow leg, which skews their midpoints.
  std::vector<ClockExchange> ex{
      {1'000'000, 1'001'001'000, 1'010'000},  // delay 10 us, the answer slow
      {2'000'000, 1'002'000'100, 2'000'200},  // delay 200 ns
      {3'000'000, 1'003'049'000, 3'050'000},  // delay 50 us, the request slow
  };
  auto c = estimate_clock(ex);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->offset_ns, 1'000'000'000);
  EXPECT_EQ(c->bound_ns, 100);
  EXPECT_EQ(c->exchanges, 3);
  EXPECT_EQ(to_controller_clock(1'002'000'100, *c), 2'000'100);
}

TEST(Clock, BehindAndBackwardExchanges) {
  // 250 ms behind; an exchange where the controller's clock stepped back is skipped.
  std::vector<ClockExchange> ex{{10'000'000'000, 9'750'000'500, 10'000'001'000},
                                {20'000'000'000, 0, 19'000'000'000}};
  auto c = estimate_clock(ex);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->offset_ns, -250'000'000);
  EXPECT_EQ(c->bound_ns, 500);
  EXPECT_FALSE(estimate_clock(std::vector<ClockExchange>{{5, 5, 4}}).has_value());
  EXPECT_FALSE(estimate_clock({}).has_value());
}

TEST(Clock, JsonRoundTripAndStrictReading) {
  ClockOffset c{-42, 7, 8};
  auto back = clock_offset_from_json(to_json(c));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->offset_ns, -42);
  EXPECT_EQ(back->bound_ns, 7);
  EXPECT_EQ(back->exchanges, 8);
  auto wrong = clock_offset_from_json(json{{"offset_ns", "soon"}, {"bound_ns", 1}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("offset_ns"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(clock_offset_from_json(json{{"offset_ns", 1}, {"bound_ns", -1}}).ok());
  EXPECT_FALSE(clock_offset_from_json(json::array()).ok());
}

TEST(Clock, EventsOfTwoHostsAreOrderedOnlyWhenTheirIntervalsDoNotOverlap) {
  // Host a is 10 ms ahead (+/- 1 ms), host b exact (+/- 0.5 ms).
  ClockOffset a{10'000'000, 1'000'000, 8}, b{0, 500'000, 8};
  ClockInterval ea = on_controller_clock(1'000'000'000 + 10'000'000, a);  // 1 s on ours
  EXPECT_EQ(ea.lo_ns, 999'000'000);
  EXPECT_EQ(ea.hi_ns, 1'001'000'000);
  EXPECT_EQ(ea.mid_ns(), 1'000'000'000);
  // 3 ms later on b: clearly after.
  ClockInterval late = on_controller_clock(1'003'000'000, b);
  EXPECT_EQ(order_events(ea, late), -1);
  EXPECT_EQ(order_events(late, ea), 1);
  // 1 ms later on b: within the bounds, the order is not known.
  ClockInterval close = on_controller_clock(1'001'000'000, b);
  EXPECT_EQ(order_events(ea, close), 0);
  EXPECT_EQ(order_events(close, ea), 0);
  EXPECT_EQ(clock_text(a), "+10.000 ms +/- 1.000 ms");
  EXPECT_EQ(clock_text({-250'000'000, 41'000, 8}), "-250.000 ms +/- 0.041 ms");
}
