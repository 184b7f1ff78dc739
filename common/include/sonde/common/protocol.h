// Messages carried in frames. Every message is a map with `id` (unsigned) and
// `kind`. Kinds: hello, request, event, result, error, cancel. Each request
// ends with exactly one result or error carrying its id; id 0 is the
// connection itself (hello, and errors that close the stream).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde {

inline constexpr int kProtocolVersion = 1;
inline constexpr const char* kSondeVersion = "0.1.0";

enum class Kind { kHello, kRequest, kEvent, kResult, kError, kCancel };

const char* kind_name(Kind k);

struct Message {
  uint64_t id = 0;
  Kind kind = Kind::kHello;
  std::string op;  // request
  json args;       // request: always an object
  json data;       // hello, event, result
  Error error;     // error
};

// Validates shape and field types; anything off is an errc::kProtocol error
// whose message names the field.
Result<Message> parse_message(const json& j);

json make_hello(const json& data);
json make_request(uint64_t id, const std::string& op, const json& args);
json make_event(uint64_t id, const json& data);
json make_result(uint64_t id, const json& data);
json make_error(uint64_t id, const Error& e);
json make_cancel(uint64_t id);

// Error carried in an `error` message → Error value (code, message, hint, errno).
Error error_from_message(const Message& m);

}  // namespace sonde
