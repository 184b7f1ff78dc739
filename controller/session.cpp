#include "session.h"

#include "sonde/common/ping_contract.h"

#include <signal.h>

#include <atomic>
#include <chrono>

#include "sonde/common/io.h"
#include "sonde/common/json_read.h"
#include "sonde/common/json_text.h"
#include "sonde/common/log.h"

namespace sonde::controller {
namespace {

std::atomic<int> g_interrupts{0};
std::atomic<long> g_deadline_ms{0};  // monotonic ms; 0: none
// Per thread: a fleet run reads many sessions at once, one per worker.
thread_local std::string g_last_read_op;

void on_signal(int) {
  g_interrupts.fetch_add(1);
}

}  // namespace

bool interrupted() {
  if (g_interrupts.load() > 0) return true;
  long d = g_deadline_ms.load(std::memory_order_relaxed);
  return d > 0 && monotonic_ms() >= d;
}

bool interrupted_by_signal() {
  return g_interrupts.load() > 0;
}

void set_run_deadline(long monotonic_deadline_ms) {
  g_deadline_ms.store(monotonic_deadline_ms);
}

void install_interrupt_handler() {
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

const std::string& last_read_op() {
  return g_last_read_op;
}

Error malformed_reply(const std::string& op, const char* kind, const std::string& what) {
  return Error{errc::kProtocol, fmt::format("malformed `{}` {} from the agent: {}", op, kind, what),
               "the agent does not answer as this controller expects (another sonde version, or "
               "not a sonde agent): run the sonde-agent built with this sonde (--agent PATH)"};
}

Session::~Session() {
  close();
}

void Session::close() {
  if (t_) t_->close();
}

std::string Session::host() const {
  return hello_.hostname.value_or("?");
}

Status Session::pump(int timeout_ms, bool* got) {
  *got = false;
  if (eof_) return t_->explain_eof();
  char buf[65536];
  auto r = t_->read(buf, sizeof buf, timeout_ms);
  if (!r) return r.error();
  if (r->eof) {
    eof_ = true;
    Error e = t_->explain_eof();
    if (auto fin = dec_.finish(); !fin.ok()) e.message += " (" + fin.error().message + ")";
    return e;
  }
  if (r->n == 0) return ok_status();
  dec_.feed(buf, r->n);
  for (;;) {
    auto f = dec_.next();
    if (!f.ok()) {
      Error e = f.error();
      e.code = errc::kAgent;
      if (e.hint.empty() || !greeted_)
        e.hint =
            "the target printed something that is not the sonde protocol: check that shell "
            "startup files (~/.bashrc) print nothing for non-interactive sessions";
      return e;
    }
    if (!f->has_value()) break;
    auto m = parse_message(**f);
    if (!m.ok()) {
      Error e = m.error();
      e.code = errc::kAgent;
      return e;
    }
    if (m->id == 0 && m->kind == Kind::kError)
      conn_errors_.push_back(std::move(*m));
    else
      queued_[m->id].push_back(std::move(*m));
    *got = true;
  }
  return ok_status();
}

Status Session::handshake(int timeout_ms) {
  long deadline = monotonic_ms() + timeout_ms;
  while (queued_[0].empty()) {
    if (!conn_errors_.empty()) return error_from_message(conn_errors_.front());
    long left = deadline - monotonic_ms();
    if (left <= 0)
      return Error{
          errc::kAgent,
          fmt::format("{}: the agent did not say hello within {} ms", t_->describe(), timeout_ms),
          "rerun with -v; the agent may be blocked or the command wrong"};
    if (interrupted()) return Error{errc::kCancelled, "interrupted", {}};
    bool got;
    if (auto st = pump(static_cast<int>(std::min<long>(left, 200)), &got); !st.ok()) {
      Error e = st.error();
      if (e.code == errc::kAgent && e.message.find("status 127") != std::string::npos)
        e.hint = "the agent could not be started (command not found)";
      return e;
    }
  }
  Message m = std::move(queued_[0].front());
  queued_[0].pop_front();
  if (m.kind != Kind::kHello)
    return Error{
        errc::kAgent, std::string("expected hello from the agent, got ") + kind_name(m.kind), {}};
  g_last_read_op = "hello";
  // The version first: an agent of another protocol may say hello in
  // another shape, and then its agent_version is the one thing worth a look.
  long long proto = 0;
  JsonReader version = JsonReader::reply("hello", "message");
  version.integer(m.data, "protocol", {}, proto, Need::kRequired);
  if (version.failed()) return version.error();
  if (proto != kProtocolVersion) {
    std::string ver = "?";
    JsonReader::reply("hello", "message").string(m.data, "agent_version", {}, ver);
    return Error{errc::kAgent,
                 fmt::format("agent {} speaks protocol {}, this controller speaks {}", ver, proto,
                             kProtocolVersion),
                 "use the sonde-agent built with this controller (--agent PATH), or upgrade sonde"};
  }
  auto facts = hello_from_json(m.data);
  if (!facts) return facts.error();
  hello_ = std::move(*facts);
  greeted_ = true;
  spdlog::debug("hello: {}", json_text(m.data));
  return ok_status();
}

Result<uint64_t> Session::send_request(const std::string& op, const json& args) {
  uint64_t id = next_id_++;
  auto frame = encode_frame(make_request(id, op, args));
  if (!frame) {
    Error e = frame.error();
    e.message = op + ": the " + e.message;
    e.hint = "the arguments are too big to send: shorten them (a command line, a filter)";
    return e;
  }
  auto st = t_->write(*frame);
  if (!st.ok()) return st.error();
  ops_[id] = op;
  if (observer_) observer_->on_request(*this, id, op, args);
  return id;
}

Status Session::cancel(uint64_t id) {
  auto frame = encode_frame(make_cancel(id));
  if (!frame) return frame.error();
  return t_->write(*frame);
}

Result<Message> Session::next_for(uint64_t id, int timeout_ms, bool* timed_out) {
  *timed_out = false;
  auto& q = queued_[id];
  if (q.empty()) {
    if (!conn_errors_.empty()) return error_from_message(conn_errors_.front());
    bool got;
    if (auto st = pump(timeout_ms, &got); !st.ok()) return st.error();
    if (q.empty()) {
      if (!conn_errors_.empty()) return error_from_message(conn_errors_.front());
      *timed_out = true;
      return Message{};
    }
  }
  Message m = std::move(q.front());
  q.pop_front();
  return m;
}

Result<json> Session::wait(uint64_t id, const EventHandler& on_event, long timeout_ms,
                           long cancel_grace_ms) {
  long deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
  long cancel_deadline = -1;
  for (;;) {
    if (interrupted() && cancel_deadline < 0) {
      spdlog::info("interrupted: cancelling request {}", id);
      if (auto st = cancel(id); !st.ok()) return st.error();
      cancel_deadline = monotonic_ms() + cancel_grace_ms;
    }
    if (cancel_deadline >= 0 && monotonic_ms() > cancel_deadline)
      return Error{
          errc::kCancelled, "interrupted (the agent did not confirm the cancel in time)", {}};
    if (deadline >= 0 && monotonic_ms() > deadline)
      return Error{errc::kTimeout, "no answer from the agent in time", {}};
    bool timed_out;
    auto m = next_for(id, 100, &timed_out);
    if (!m) return m.error();
    if (timed_out) continue;
    if (cancel_deadline >= 0) cancel_deadline = monotonic_ms() + cancel_grace_ms;
    auto done = settle(id, std::move(*m), on_event);
    if (!done) return done.error();
    if (*done) return std::move(**done);
  }
}

Result<std::optional<json>> Session::poll(uint64_t id, const EventHandler& on_event) {
  for (;;) {
    bool timed_out;
    auto m = next_for(id, 0, &timed_out);
    if (!m) return m.error();
    if (timed_out) return std::optional<json>{};
    auto done = settle(id, std::move(*m), on_event);
    if (!done) return done.error();
    if (*done) return std::optional<json>{std::move(**done)};
  }
}

Result<std::optional<json>> Session::settle(uint64_t id, Message m, const EventHandler& on_event) {
  auto op_it = ops_.find(id);
  const std::string op = op_it == ops_.end() ? fmt::format("request {}", id) : op_it->second;
  switch (m.kind) {
    case Kind::kEvent:
      g_last_read_op = op;
      // Events are peer data read by the command's callback: a field of the
      // wrong type there is the agent's fault, said as such.
      try {
        if (on_event)
          if (auto st = on_event(m.data); !st) return st.error();
      } catch (const json::exception& e) {
        return malformed_reply(op, "event", e.what());
      }
      return std::optional<json>{};
    case Kind::kResult: {
      queued_.erase(id);
      ops_.erase(id);
      g_last_read_op = op;
      // Every op answers with a map; commands index into it without asking.
      if (!m.data.is_object()) {
        Error e = malformed_reply(op, "result",
                                  fmt::format("{} where a map belongs", m.data.type_name()));
        if (observer_) observer_->on_error(*this, id, e);
        return e;
      }
      if (observer_) observer_->on_result(*this, id, m.data);
      return std::optional<json>{std::move(m.data)};
    }
    case Kind::kError:
      queued_.erase(id);
      ops_.erase(id);
      if (observer_) observer_->on_error(*this, id, m.error);
      return m.error;
    default:
      return Error{
          errc::kAgent, fmt::format("unexpected `{}` for request {}", kind_name(m.kind), id), {}};
  }
}

Result<json> Session::call(const std::string& op, const json& args, const EventHandler& on_event) {
  auto id = send_request(op, args);
  if (!id) return id.error();
  return wait(*id, on_event);
}

Result<ClockOffset> measure_clock(Session& s) {
  std::vector<ClockExchange> exchanges;
  for (int i = 0; i < kClockExchanges; ++i) {
    ClockExchange e;
    e.sent_ns = realtime_ns();
    auto r = call_checked(s, "ping", to_json(PingArgs{}), ping_result_from_json);
    e.received_ns = realtime_ns();
    if (!r) return r.error();
    e.agent_ns = r->agent_time_ns;
    exchanges.push_back(e);
  }
  auto c = estimate_clock(exchanges);
  if (!c)
    return Error{errc::kInternal, "this machine's clock went backwards during every clock exchange",
                 "run it again once the clock has settled (NTP stepping it?)"};
  return *c;
}

}  // namespace sonde::controller
