#include "sonde/common/protocol.h"

#include <gtest/gtest.h>

namespace sonde {
namespace {

void expect_protocol_error(const json& j, const char* needle) {
  auto m = parse_message(j);
  ASSERT_FALSE(m.ok()) << j.dump();
  EXPECT_EQ(m.error().code, errc::kProtocol);
  EXPECT_NE(m.error().message.find(needle), std::string::npos) << m.error().message;
}

TEST(Protocol, BuildersParseBack) {
  auto r = parse_message(make_request(7, "ps", {{"limit", 2}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, 7u);
  EXPECT_EQ(r->kind, Kind::kRequest);
  EXPECT_EQ(r->op, "ps");
  EXPECT_EQ(r->args["limit"], 2);

  Error e{errc::kNotFound, "no process 42", "list processes with `sonde ps`", 3};
  auto er = parse_message(make_error(9, e));
  ASSERT_TRUE(er.ok());
  EXPECT_EQ(er->error.code, "not_found");
  EXPECT_EQ(er->error.hint, e.hint);
  EXPECT_EQ(er->error.sys_errno, 3);

  auto h = parse_message(make_hello({{"protocol", kProtocolVersion}}));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->kind, Kind::kHello);

  auto ev = parse_message(make_event(3, {{"phase", "x"}}));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->data["phase"], "x");
  auto c = parse_message(make_cancel(3));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, Kind::kCancel);
}

TEST(Protocol, RequestWithoutArgsGetsAnEmptyMap) {
  auto r = parse_message({{"id", 1u}, {"kind", "request"}, {"op", "ping"}});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->args.is_object());
}

TEST(Protocol, WrongFieldTypesAreProtocolErrors) {
  expect_protocol_error(json::array({1, 2}), "expected a map");
  expect_protocol_error({{"kind", "request"}}, "no `id`");
  expect_protocol_error({{"id", "1"}, {"kind", "request"}}, "`id` is string");
  expect_protocol_error({{"id", -1}, {"kind", "request"}}, "not unsigned");
  expect_protocol_error({{"id", 1u}}, "no `kind`");
  expect_protocol_error({{"id", 1u}, {"kind", 5}}, "`kind` is number");
  expect_protocol_error({{"id", 1u}, {"kind", "launch"}}, "unknown kind");
  expect_protocol_error({{"id", 1u}, {"kind", "request"}, {"op", 3}}, "string `op`");
  expect_protocol_error({{"id", 1u}, {"kind", "request"}, {"op", "ps"}, {"args", json::array()}},
                        "not a map");
  expect_protocol_error({{"id", 0u}, {"kind", "request"}, {"op", "ps"}}, "reserved");
  expect_protocol_error({{"id", 1u}, {"kind", "error"}, {"message", "x"}}, "`code`");
  expect_protocol_error(
      {{"id", 1u}, {"kind", "error"}, {"code", "x"}, {"message", "m"}, {"hint", 1}}, "hint");
  expect_protocol_error({{"id", 0u}, {"kind", "hello"}, {"data", {{"protocol", "1"}}}}, "protocol");
  expect_protocol_error({{"id", 0u}, {"kind", "hello"}}, "data");
}

}  // namespace
}  // namespace sonde
