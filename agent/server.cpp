#include "server.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "capabilities.h"
#include "sonde/common/io.h"
#include "sonde/common/json_text.h"
#include "sonde/common/log.h"
#include "sonde/common/protocol.h"
#include "sonde/common/thread.h"

namespace sonde::agent {

Server::Server(int in_fd, int out_fd, int signal_fd)
    : in_fd_(in_fd), out_fd_(out_fd), signal_fd_(signal_fd) {
  register_all_handlers(registry_);
}

std::optional<Error> Server::write_message(const json& msg) {
  auto frame = encode_frame(msg);
  if (!frame) return frame.error();
  std::lock_guard<std::mutex> g(write_mu_);
  if (peer_gone_) return std::nullopt;
  if (!write_all(out_fd_, *frame).ok()) {
    // EPIPE: the controller is gone. Stop talking; the reader sees EOF soon.
    peer_gone_ = true;
  }
  return std::nullopt;
}

void Server::send(const json& msg) {
  if (auto e = write_message(msg)) spdlog::error("not sent: {}", e->message);
}

void Server::start_request(uint64_t id, const std::string& op, const json& args) {
  auto it = registry_.find(op);
  if (it == registry_.end()) {
    std::string ops;
    for (const auto& [name, h] : registry_) ops += (ops.empty() ? "" : ", ") + name;
    send(make_error(
        id, Error{errc::kUnknownOp, "unknown op `" + op + "`",
                  "this agent serves: " + ops + " (is the agent older than the controller?)"}));
    return;
  }
  auto token = std::make_shared<CancelToken>();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (in_flight_.count(id)) {
      send(make_error(
          id, Error{errc::kProtocol, fmt::format("request id {} already in flight", id), {}}));
      return;
    }
    if (in_flight_.size() >= kMaxInFlight) {
      send(make_error(
          id, Error{errc::kBusy, fmt::format("{} requests already in flight", in_flight_.size()),
                    "wait for some to finish or cancel them"}));
      return;
    }
    in_flight_[id] = token;
  }
  Handler handler = it->second;
  auto worker = start_thread(op + "'s worker thread", [this, id, op, args, handler, token] {
    // Events over the frame limit are dropped and counted: the request
    // goes on, and its result says what was lost.
    auto dropped = std::make_shared<std::atomic<size_t>>(0);
    RequestContext ctx{id, args, *token, [this, id, op, dropped](const json& d) {
                         if (auto e = write_message(make_event(id, d))) {
                           spdlog::error("{}: {}; dropped", op, e->message);
                           ++*dropped;
                         }
                       }};
    Result<json> r = [&]() -> Result<json> {
      try {
        return handler(ctx);
      } catch (const std::exception& e) {
        // Handlers return errors as values; an exception here is our bug, but
        // it must not take the agent (and the tracees it holds) down with it.
        return Error{errc::kInternal, fmt::format("{}: internal error: {}", op, e.what()),
                     "please report this with the command line"};
      }
    }();
    if (token->cancelled() && !r.ok() && r.error().code != errc::kCancelled) {
      r = Error{errc::kCancelled, op + " cancelled", {}};
    }
    if (size_t n = *dropped; n && r.ok() && r->is_object()) {
      std::string note =
          fmt::format("{} progress event{} over the frame limit dropped", n, n == 1 ? "" : "s");
      if (auto it = r->find("notes"); it != r->end() && it->is_array())
        it->push_back(note);
      else
        (*r)["events_too_large"] = n;
    }
    if (auto e = write_message(r.ok() ? make_result(id, *r) : make_error(id, r.error()))) {
      // The answer does not fit in a frame. Every op caps what grows with
      // the target, so this is our bug; the agent and the request's id
      // still get a short, true answer.
      send(make_error(
          id, Error{errc::kTooLarge, fmt::format("{}: the {}", op, e->message),
                    fmt::format("narrow the request (one pid, a --name filter, --limit) and "
                                "please report this: `{}` should have capped its result",
                                op)}));
    }
    done(id);
  });
  if (worker) {
    worker->detach();
    return;
  }
  // No thread: the request is answered here, and the agent goes on.
  done(id);
  send(make_error(id, worker.error()));
}

void Server::done(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  in_flight_.erase(id);
  workers_done_.notify_all();
}

void Server::cancel_all() {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& [id, t] : in_flight_) t->cancel();
}

void Server::wait_workers(int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  workers_done_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                         [&] { return in_flight_.empty(); });
}

int Server::run() {
  send(make_hello(to_json(hello_facts())));
  FrameDecoder dec;
  char buf[65536];
  int exit_code = 0;
  for (;;) {
    pollfd fds[2] = {{in_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    int n = ::poll(fds, signal_fd_ >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("poll: {}", strerror(errno));
      exit_code = 1;
      break;
    }
    if (signal_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo si;
      if (::read(signal_fd_, &si, sizeof si) == sizeof si)
        spdlog::info("signal {}: shutting down", si.ssi_signo);
      exit_code = 128 + static_cast<int>(si.ssi_signo);
      break;
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    auto got = read_some(in_fd_, buf, sizeof buf);
    if (!got || *got == 0) {
      if (auto fin = dec.finish(); !fin.ok()) spdlog::warn("{}", fin.error().message);
      spdlog::debug("controller closed the stream");
      break;
    }
    dec.feed(buf, *got);
    bool fatal = false;
    for (;;) {
      auto frame = dec.next();
      if (!frame.ok()) {
        spdlog::error("{}", frame.error().message);
        send(make_error(0, frame.error()));
        fatal = true;
        break;
      }
      if (!frame->has_value()) break;
      auto msg = parse_message(**frame);
      if (!msg.ok()) {
        // A well-framed message of the wrong shape: answer it, keep serving.
        uint64_t id = 0;
        if ((*frame)->is_object()) {
          auto idv = (*frame)->find("id");
          if (idv != (*frame)->end() && idv->is_number_unsigned()) id = idv->get<uint64_t>();
        }
        spdlog::warn("{}", msg.error().message);
        send(make_error(id, msg.error()));
        continue;
      }
      switch (msg->kind) {
        case Kind::kRequest:
          start_request(msg->id, msg->op, msg->args);
          break;
        case Kind::kCancel: {
          std::lock_guard<std::mutex> g(mu_);
          if (auto it = in_flight_.find(msg->id); it != in_flight_.end()) it->second->cancel();
          break;
        }
        case Kind::kHello:
          spdlog::debug("controller hello: {}", json_text(msg->data));
          break;
        default:
          send(make_error(msg->id, Error{errc::kProtocol,
                                         std::string("unexpected `") + kind_name(msg->kind) +
                                             "` from the controller",
                                         {}}));
      }
    }
    if (fatal) {
      exit_code = 2;
      break;
    }
  }
  cancel_all();
  wait_workers(kShutdownGraceMs);
  return exit_code;
}

}  // namespace sonde::agent
