#include "sonde/common/frame.h"

#include <gtest/gtest.h>

namespace sonde {
namespace {

std::string header(uint32_t n) {
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
}

TEST(Frame, RoundTripsWhenFedByteByByte) {
  json a = {{"id", 1u}, {"kind", "request"}, {"op", "ps"}, {"args", {{"limit", 3}}}};
  json b = {{"id", 0u}, {"kind", "hello"}, {"data", {{"protocol", 1}}}};
  std::string wire = encode_frame(a).value() + encode_frame(b).value();
  FrameDecoder d;
  std::vector<json> got;
  for (char c : wire) {
    d.feed(&c, 1);
    for (;;) {
      auto f = d.next();
      ASSERT_TRUE(f.ok());
      if (!f->has_value()) break;
      got.push_back(**f);
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_TRUE(d.finish().ok());
}

TEST(Frame, TruncatedFrameIsAnErrorAtEndOfStream) {
  std::string wire = encode_frame({{"id", 1u}, {"kind", "cancel"}}).value();
  FrameDecoder d;
  d.feed(wire.substr(0, wire.size() - 3));
  auto f = d.next();
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->has_value());
  auto fin = d.finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().code, errc::kProtocol);
  EXPECT_NE(fin.error().message.find("truncated frame"), std::string::npos);
}

TEST(Frame, TruncatedHeaderIsAnError) {
  FrameDecoder d;
  d.feed(std::string("\x00\x00", 2));
  auto fin = d.finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_NE(fin.error().message.find("header"), std::string::npos);
}

TEST(Frame, LengthOverTheLimitFailsWithoutWaitingOrAllocating) {
  FrameDecoder d;
  d.feed(header(0xfffffff0u) + "abc");
  auto f = d.next();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, errc::kProtocol);
  EXPECT_NE(f.error().message.find("over the"), std::string::npos);
  // Only what arrived is held, not the claimed 4 GiB.
  EXPECT_LE(d.buffered(), 16u);
  // The stream stays failed.
  EXPECT_FALSE(d.next().ok());
}

TEST(Frame, JustOverSixteenMebibytesIsRefused) {
  FrameDecoder d;
  d.feed(header(static_cast<uint32_t>(kMaxFrameBytes + 1)));
  EXPECT_FALSE(d.next().ok());
  FrameDecoder ok;
  ok.feed(header(static_cast<uint32_t>(kMaxFrameBytes)));
  auto f = ok.next();
  ASSERT_TRUE(f.ok());  // at the limit: waits for the payload
  EXPECT_FALSE(f->has_value());
}

TEST(Frame, BytesThatAreNotMsgpackAreAProtocolError) {
  // 0xc1 is the one byte MessagePack never uses.
  FrameDecoder d;
  d.feed(header(3) + std::string("\xc1\xc1\xc1", 3));
  auto f = d.next();
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("not valid MessagePack"), std::string::npos);
}

TEST(Frame, MsgpackWithTrailingGarbageIsRefused) {
  std::vector<uint8_t> p = json::to_msgpack(json{{"id", 1u}});
  p.push_back(0x01);
  FrameDecoder d;
  d.feed(header(static_cast<uint32_t>(p.size())) + std::string(p.begin(), p.end()));
  EXPECT_FALSE(d.next().ok());
}

TEST(Frame, ClaimedHugeStringInsideAFrameDoesNotAllocate) {
  // str32 claiming 4 GiB, with 2 bytes behind it.
  std::string payload = std::string("\xdb\xff\xff\xff\xf0", 5) + "ab";
  FrameDecoder d;
  d.feed(header(static_cast<uint32_t>(payload.size())) + payload);
  EXPECT_FALSE(d.next().ok());
}

TEST(Frame, ZeroLengthFrameIsRefused) {
  FrameDecoder d;
  d.feed(header(0));
  EXPECT_FALSE(d.next().ok());
}

}  // namespace
}  // namespace sonde
