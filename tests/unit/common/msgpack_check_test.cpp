// The MessagePack pre-scan: depth limit, lengths checked against the bytes
// that are there, and agreement with the real decoder on what is well formed.
#include "sonde/common/msgpack_check.h"

#include <gtest/gtest.h>

#include <random>

#include "sonde/common/frame.h"

namespace sonde {
namespace {

std::string header(size_t n) {
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
}

Status check(const std::string& bytes) {
  return check_msgpack(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

Status check(const std::vector<uint8_t>& bytes) {
  return check_msgpack(bytes.data(), bytes.size());
}

// What FrameDecoder::next makes of one frame holding payload.
Result<std::optional<json>> decode_frame(const std::string& payload) {
  FrameDecoder d;
  d.feed(header(payload.size()) + payload);
  return d.next();
}

// `levels` arrays, each holding the next, the innermost holding nil.
json nested_arrays(int levels) {
  json j = nullptr;
  for (int i = 0; i < levels; ++i) j = json::array({std::move(j)});
  return j;
}

json nested_maps(int levels) {
  json j = 1;
  for (int i = 0; i < levels; ++i) j = json{{"k", std::move(j)}};
  return j;
}

std::string msgpack_of(const json& j) {
  auto v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

TEST(MsgpackCheck, TwoMillionNestedArraysAreAnErrorNotACrash) {
  // fixarray of one item, two million times: 2 MB, under the frame limit.
  std::string deep(2'000'000, '\x91');
  deep += '\xc0';
  auto st = check(deep);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kProtocol);
  EXPECT_NE(st.error().message.find("nested deeper than 64"), std::string::npos)
      << st.error().message;
  // The same through the frame decoder, which would recurse without the scan.
  auto f = decode_frame(deep);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, errc::kProtocol);
  EXPECT_NE(f.error().message.find("nested deeper than 64"), std::string::npos);
  // The stream is dead after that: the caller answers and closes.
  FrameDecoder d;
  d.feed(header(deep.size()) + deep);
  ASSERT_FALSE(d.next().ok());
  EXPECT_FALSE(d.next().ok());
}

TEST(MsgpackCheck, TwoMillionNestedMapsAndWideFormsAreAnError) {
  std::string maps;
  for (int i = 0; i < 2'000'000; ++i) maps += "\x81\xa1k";  // {"k": ...
  maps += '\x01';
  auto f = decode_frame(maps);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("nested deeper than 64"), std::string::npos);
  // array 32 and map 16 headers nest the same way.
  std::string wide;
  for (int i = 0; i < 1'000'000; ++i) wide += std::string("\xdd\x00\x00\x00\x01", 5);
  wide += '\xc0';
  EXPECT_FALSE(decode_frame(wide).ok());
  std::string wide_maps;
  for (int i = 0; i < 1'000'000; ++i) wide_maps += std::string("\xde\x00\x01\xa1k", 5);
  wide_maps += '\xc0';
  EXPECT_FALSE(decode_frame(wide_maps).ok());
}

TEST(MsgpackCheck, Depth64PassesAnd65Fails) {
  for (const json& j : {nested_arrays(64), nested_maps(64)}) {
    std::string b = msgpack_of(j);
    EXPECT_TRUE(check(b).ok()) << check(b).error().message;
    auto f = decode_frame(b);
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_TRUE(f->has_value());
    EXPECT_EQ(**f, j);
  }
  for (const json& j : {nested_arrays(65), nested_maps(65)}) {
    std::string b = msgpack_of(j);
    auto st = check(b);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("nested deeper than 64"), std::string::npos);
    EXPECT_FALSE(decode_frame(b).ok());
  }
  // Empty containers count as a level too.
  json empty = json::array();
  for (int i = 0; i < 64; ++i) empty = json::array({std::move(empty)});
  EXPECT_FALSE(check(msgpack_of(empty)).ok());
}

// A message using every family of type byte the encoder produces.
json every_kind() {
  json j = {{"id", 4294967296ull},
            {"kind", "result"},
            {"data",
             {{"small", 5},
              {"neg", -3},
              {"i8", -100},
              {"i16", -30000},
              {"i32", -2000000000},
              {"i64", -5000000000ll},
              {"u8", 200},
              {"u16", 60000},
              {"u32", 4000000000u},
              {"f", 1.5},
              {"t", true},
              {"n", nullptr},
              {"s", std::string(40, 'x')},
              {"s16", std::string(300, 'y')},
              {"s32", std::string(70000, 'z')},
              {"list", json::array({1, "two", json::object(), json::array()})},
              {"big", json::array()}}}};
  for (int i = 0; i < 20; ++i) j["data"]["big"].push_back(i);
  j["data"]["bin"] = json::binary({1, 2, 3, 4, 5});
  j["data"]["bin16"] = json::binary(std::vector<uint8_t>(300, 7));
  j["data"]["ext"] = json::binary({9, 9, 9}, 3);
  j["data"]["fixext4"] = json::binary({1, 2, 3, 4}, 7);
  return j;
}

TEST(MsgpackCheck, EveryPrefixOfAMessageIsTruncatedAndTheWholePasses) {
  std::string b = msgpack_of(every_kind());
  ASSERT_TRUE(check(b).ok()) << check(b).error().message;
  auto f = decode_frame(b);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(**f, every_kind());
  for (size_t n = 0; n < b.size(); n += (n < 2000 ? 1 : 97)) {
    auto st = check(b.substr(0, n));
    ASSERT_FALSE(st.ok()) << "prefix of " << n << " bytes passed";
    EXPECT_EQ(st.error().code, errc::kProtocol);
    EXPECT_NE(st.error().message.find("truncated"), std::string::npos) << st.error().message;
  }
  auto trailing = check(b + '\x01');
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.error().message.find("after the end"), std::string::npos);
}

TEST(MsgpackCheck, LengthsThatLieAreRefusedWithoutTrustingThem) {
  // An array 32 of four billion items in five bytes, a str 32 of 4 GiB, a
  // map 32 whose pairs are missing, a bin 32 and an ext 32 that run past the end.
  for (const std::string& lie : {std::string("\xdd\xff\xff\xff\xff\xc0", 6),
                                 std::string("\xdb\xff\xff\xff\xff"
                                             "ab",
                                             7),
                                 std::string("\xdf\x00\x00\x00\x02\xa1k\x01", 8),
                                 std::string("\xc6\x00\x01\x00\x00"
                                             "abc",
                                             8),
                                 std::string("\xc9\x00\x00\x00\x03\x01", 6),
                                 std::string("\xd8\x01"
                                             "short",
                                             7),
                                 std::string("\xcb\x00\x00", 3)}) {
    auto st = check(lie);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("truncated"), std::string::npos) << st.error().message;
  }
  auto reserved = check(std::string("\xc1", 1));
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.error().message.find("0xc1"), std::string::npos);
  EXPECT_FALSE(check(std::string()).ok());
}

TEST(MsgpackCheck, AgreesWithTheDecoderOnMutatedMessages) {
  // Whatever the real decoder accepts, the scan accepts too (it must never
  // reject a message sonde sends); the reverse need not hold (the decoder
  // also wants string keys).
  const std::vector<uint8_t> good = json::to_msgpack(every_kind());
  std::mt19937 rng(15);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> b = good;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % b.size();
      switch (rng() % 3) {
        case 0:
          b[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          b.resize(at);
          break;
        default:
          b.insert(b.begin() + static_cast<long>(at), static_cast<uint8_t>(rng()));
          break;
      }
      if (b.empty()) b.push_back(0xc0);
    }
    json j = json::from_msgpack(b, true, false);
    if (!j.is_discarded()) {
      EXPECT_TRUE(check(b).ok()) << "round " << round << ": " << check(b).error().message;
    }
  }
}

}  // namespace
}  // namespace sonde
