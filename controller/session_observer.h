// What a Session tells whoever watches it (the case recorder): each request
// as it is sent, and how it settled. Called on the thread that drives the
// session, before the result reaches the command.
#pragma once

#include <cstdint>
#include <string>

#include "sonde/common/clock.h"
#include "sonde/common/frame.h"
#include "sonde/common/result.h"

namespace sonde::controller {

class Session;

class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  virtual void on_request(const Session& s, uint64_t id, const std::string& op,
                          const json& args) = 0;
  virtual void on_result(const Session& s, uint64_t id, const json& result) = 0;
  virtual void on_error(const Session& s, uint64_t id, const Error& error) = 0;
  // The host's clock against this machine's, measured once the session is up
  // (the exchanges themselves are not requests the observer sees).
  virtual void on_clock(const Session& /*s*/, const ClockOffset& /*c*/) {}
};

}  // namespace sonde::controller
