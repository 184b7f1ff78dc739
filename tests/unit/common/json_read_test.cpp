// JsonReader: peer JSON read field by field, every problem an Error naming
// the field, never an exception.
#include <gtest/gtest.h>

#include "sonde/common/json_read.h"
#include "support/contains.h"

namespace sonde {
namespace {

using sonde::testing::contains;

TEST(JsonPath, FormatsKeysAndIndices) {
  JsonPath p = ((JsonPath{} / "per_process")[3] / "total") / "calls";
  EXPECT_EQ(p.str(), "per_process[3].total.calls");
  EXPECT_EQ(JsonPath{}.str(), "");
  JsonPath deep;
  for (int i = 0; i < 8; ++i) deep = deep / "a";
  EXPECT_EQ(deep.str(), "a.a.a.a.a.a…");
}

TEST(JsonReader, ReadsPresentFieldsAndKeepsDefaultsForMissingOrNull) {
  json j = {{"n", 7}, {"s", "x"}, {"b", true}, {"d", 1.5}, {"z", nullptr}, {"l", {"a", "b"}}};
  JsonReader r(errc::kProtocol, "malformed thing");
  int n = 0, z = 42;
  std::string s;
  bool b = false;
  double d = 0;
  std::vector<std::string> l;
  r.integer(j, "n", {}, n);
  r.integer(j, "z", {}, z);
  r.string(j, "s", {}, s);
  r.boolean(j, "b", {}, b);
  r.number(j, "d", {}, d);
  r.strings(j, "l", {}, l);
  ASSERT_FALSE(r.failed()) << r.error().message;
  EXPECT_EQ(n, 7);
  EXPECT_EQ(z, 42);
  EXPECT_EQ(s, "x");
  EXPECT_TRUE(b);
  EXPECT_EQ(d, 1.5);
  EXPECT_EQ(l, (std::vector<std::string>{"a", "b"}));
}

TEST(JsonReader, WrongTypeNamesTheFieldAndKeepsTheFirstError) {
  json j = {{"outer", {{"list", {1, "two"}}}}, {"s", 5}};
  JsonReader r(errc::kProtocol, "malformed thing", "the hint");
  std::vector<int> list;
  const json* outer = r.map(j, "outer", {});
  ASSERT_NE(outer, nullptr);
  r.integers(*outer, "list", JsonPath{} / "outer", list);
  std::string s;
  r.string(j, "s", {}, s);
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error().code, errc::kProtocol);
  EXPECT_EQ(r.error().message, "malformed thing: outer.list[1]: expected an integer, got string");
  EXPECT_EQ(r.error().hint, "the hint");
}

TEST(JsonReader, RequiredFieldThatIsMissingIsAnError) {
  JsonReader r = JsonReader::args("ps");
  long pid = 0;
  r.integer(json{{"other", 1}}, "pid", {}, pid, Need::kRequired);
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error().code, errc::kBadArgs);
  EXPECT_EQ(r.error().message, "bad `ps` arguments: pid: missing");
}

TEST(JsonReader, NumbersOutOfRangeOrNegativeForUnsignedAreErrors) {
  json j = {{"huge", 1ULL << 40}, {"neg", -1}, {"max", UINT64_MAX}};
  {
    JsonReader r(errc::kProtocol, "m");
    int v = 0;
    r.integer(j, "huge", {}, v);
    ASSERT_TRUE(r.failed());
    EXPECT_TRUE(contains(r.error().message, "huge: 1099511627776 is out of range"));
  }
  {
    JsonReader r(errc::kProtocol, "m");
    uint32_t v = 0;
    r.integer(j, "neg", {}, v);
    ASSERT_TRUE(r.failed());
    EXPECT_TRUE(contains(r.error().message, "neg: -1 is negative"));
  }
  {
    JsonReader r(errc::kProtocol, "m");
    int64_t v = 0;
    r.integer(j, "max", {}, v);
    ASSERT_TRUE(r.failed());
    EXPECT_TRUE(contains(r.error().message, "out of range"));
  }
  {
    JsonReader r(errc::kProtocol, "m");
    uint64_t v = 0;
    r.integer(j, "max", {}, v);
    EXPECT_FALSE(r.failed());
    EXPECT_EQ(v, UINT64_MAX);
  }
}

TEST(JsonReader, ReplyErrorsNameTheOpAndCarryTheMismatchHint) {
  JsonReader r = JsonReader::reply("trace", "event");
  EXPECT_FALSE(r.object(json::array(), {}));
  EXPECT_EQ(r.error().message, "malformed `trace` event from the agent: expected a map, got array");
  EXPECT_EQ(r.error().hint, kPeerMismatchHint);
  EXPECT_FALSE(r.status().ok());
}

TEST(JsonReader, FieldOfSomethingThatIsNotAMapIsAnErrorNotAThrow) {
  JsonReader r(errc::kProtocol, "m");
  std::string s;
  EXPECT_NO_THROW(r.string(json(5), "s", JsonPath{} / "x", s));
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error().message, "m: x: expected a map, got number");
}

TEST(JsonReader, OptionalFieldsStayEmptyWhenMissingOrNull) {
  JsonReader r(errc::kProtocol, "m");
  json j = {{"n", 7}, {"s", "x"}, {"null", nullptr}};
  std::optional<int> n, missing_n, null_n;
  std::optional<std::string> s, missing_s;
  r.integer(j, "n", {}, n);
  r.integer(j, "missing", {}, missing_n);
  r.integer(j, "null", {}, null_n);
  r.string(j, "s", {}, s);
  r.string(j, "missing", {}, missing_s);
  ASSERT_FALSE(r.failed()) << r.error().message;
  EXPECT_EQ(n, 7);
  EXPECT_FALSE(missing_n);
  EXPECT_FALSE(null_n);
  EXPECT_EQ(s, "x");
  EXPECT_FALSE(missing_s);
  std::optional<uint8_t> big;
  r.integer(json{{"b", 300}}, "b", JsonPath{} / "o", big);
  EXPECT_FALSE(big);
  EXPECT_EQ(r.error().message, "m: o.b: 300 is out of range");
  JsonReader t(errc::kProtocol, "m");
  std::optional<std::string> wrong;
  t.string(json{{"w", 1}}, "w", {}, wrong);
  EXPECT_FALSE(wrong);
  EXPECT_EQ(t.error().message, "m: w: expected a string, got number");
}

}  // namespace
}  // namespace sonde
