// A protocol session with one agent over any transport: handshake, requests
// (several may be in flight), events, cancel on Ctrl-C.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>

#include "session_observer.h"
#include "sonde/common/clock.h"
#include "sonde/common/hello_contract.h"
#include "sonde/common/protocol.h"
#include "transport/transport.h"

namespace sonde::controller {

// Set by the SIGINT/SIGTERM handler, or once the run's deadline has passed;
// sessions turn it into a `cancel`.
bool interrupted();
bool interrupted_by_signal();  // Ctrl-C/SIGTERM/SIGHUP only, not the deadline
void install_interrupt_handler();
// A whole-run deadline (fleet --deadline), in monotonic_ms(); 0: none.
void set_run_deadline(long monotonic_deadline_ms);

// The op whose result or event a session handed out last, in any session of
// this thread ("" before the first). Commands read results with plain
// nlohmann accessors; when one of those throws on a field of the wrong type,
// main() names this op in the protocol error instead of crashing.
const std::string& last_read_op();

// "malformed `ps` result from the agent: <what>", errc::kProtocol, with the
// hint to run a matching agent. kind: "result" or "event".
Error malformed_reply(const std::string& op, const char* kind, const std::string& what);

// What a command does with a request's events: a plain callback, or a
// checked one that reads the event through JsonReader and returns its
// error, which ends the request with that error (the agent's fault, said
// as a protocol error naming the field).
class EventHandler {
 public:
  EventHandler() = default;
  template <typename F, typename = std::enable_if_t<std::is_invocable_v<const F&, const json&>>>
  EventHandler(F f) {  // NOLINT(google-explicit-constructor): any callable, as std::function
    if constexpr (std::is_constructible_v<bool, const F&>)
      if (!static_cast<bool>(f)) return;  // an empty std::function
    if constexpr (std::is_invocable_r_v<Status, const F&, const json&>)
      fn_ = std::move(f);
    else
      fn_ = [f = std::move(f)](const json& ev) -> Status {
        f(ev);
        return ok_status();
      };
  }
  explicit operator bool() const { return static_cast<bool>(fn_); }
  Status operator()(const json& ev) const { return fn_(ev); }

 private:
  std::function<Status(const json&)> fn_;
};

class Session {
 public:
  // observer (may be null) sees every request and how it settled.
  explicit Session(std::unique_ptr<Transport> t, SessionObserver* observer = nullptr)
      : t_(std::move(t)), observer_(observer) {}
  ~Session();

  // From now on `observer` (may be null) sees the requests.
  void set_observer(SessionObserver* observer) { observer_ = observer; }

  // Reads the agent's hello and checks the protocol version.
  Status handshake(int timeout_ms = 30000);
  std::string host() const;  // the agent's hostname
  long long agent_pid() const { return hello_.pid; }
  Transport& transport() { return *t_; }

  Result<uint64_t> send_request(const std::string& op, const json& args);
  Status cancel(uint64_t id);
  // Waits for the result or error of `id`, handing its events to on_event.
  // Ctrl-C sends a cancel and waits for the agent to wind down: up to
  // cancel_grace_ms after the last message for `id` (a request that still
  // has work to send after a cancel, like a recording fetched early, passes
  // a longer grace).
  Result<json> wait(uint64_t id, const EventHandler& on_event = {}, long timeout_ms = -1,
                    long cancel_grace_ms = 3000);
  // Without blocking: hands `id`'s queued events to on_event and returns its
  // result or error if it has ended, nullopt if it is still running. For
  // loops that do other work meanwhile (a port forward's on_tick).
  Result<std::optional<json>> poll(uint64_t id, const EventHandler& on_event = {});
  Result<json> call(const std::string& op, const json& args, const EventHandler& on_event = {});

  void close();

 private:
  // Reads until at least one message is queued; errors when the stream ends.
  Status pump(int timeout_ms, bool* got);
  Result<Message> next_for(uint64_t id, int timeout_ms, bool* timed_out);
  // One message for `id`: an event goes to on_event (nullopt), a result is
  // the value, an error the error.
  Result<std::optional<json>> settle(uint64_t id, Message m, const EventHandler& on_event);

  std::unique_ptr<Transport> t_;
  SessionObserver* observer_ = nullptr;
  FrameDecoder dec_;
  HelloFacts hello_;
  bool greeted_ = false;  // the hello was read
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::deque<Message>> queued_;
  std::map<uint64_t, std::string> ops_;  // the op of each request in flight
  std::deque<Message> conn_errors_;
  bool eof_ = false;
};

// An op's answer read into its result type by read (an op contract's
// *_from_json): the request's error as it came, otherwise the reading's (a
// protocol error naming the field).
template <typename Read>
auto read_reply(const Result<json>& r, Read read) -> decltype(read(json())) {
  if (!r) return r.error();
  return read(*r);
}

// s.call(op, args), its answer read as read_reply does.
template <typename Read>
auto call_checked(Session& s, const std::string& op, const json& args, Read read)
    -> decltype(read(json())) {
  return read_reply(s.call(op, args), read);
}

// The agent's clock against this machine's, by kClockExchanges pings
// (sonde/common/clock.h has the method).
Result<ClockOffset> measure_clock(Session& s);

}  // namespace sonde::controller
