// What a handler sees of its request, and the table of ops. A handler runs on
// its own worker thread; it streams progress with emit() and returns one
// result or Error. It must poll `cancel` in anything that waits or loops.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::agent {

struct RequestContext {
  uint64_t id = 0;
  const json& args;
  CancelToken& cancel;
  std::function<void(const json&)> emit;  // sends an `event` for this request
};

using Handler = std::function<Result<json>(RequestContext&)>;
using Registry = std::map<std::string, Handler>;

// Registers every op the agent serves (agent/handlers/handlers.cpp).
void register_all_handlers(Registry& reg);

// Argument helpers: a value of the wrong type is errc::kBadArgs naming the field.
Result<std::string> arg_string(const json& args, const char* name, const std::string& dflt);
Result<long> arg_int(const json& args, const char* name, long dflt);
Result<bool> arg_bool(const json& args, const char* name, bool dflt);

}  // namespace sonde::agent
