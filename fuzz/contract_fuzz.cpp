// Every op contract's reader on MessagePack from a peer: args as the agent
// reads them, results and events as the controller does. The bytes pass the
// same pre-scan a frame does; what decodes goes through every from_json,
// which must answer with a value or an Error and never throw or abort.
#include <cstdint>
#include <cstdlib>

#include "sonde/common/hello_contract.h"
#include "sonde/common/msgpack_check.h"
#include "sonde/common/ping_contract.h"
#include "sonde/jvm/attach_contract.h"
#include "sonde/jvm/jfr_contract.h"
#include "sonde/jvm/jmx_contract.h"
#include "sonde/jvm/jvm_contract.h"
#include "sonde/jvm/list_contract.h"
#include "sonde/net/capture_contract.h"
#include "sonde/net/connect_contract.h"
#include "sonde/net/dns_contract.h"
#include "sonde/net/http_contract.h"
#include "sonde/net/speed_contract.h"
#include "sonde/net/tls_contract.h"
#include "sonde/proc/inspect_contract.h"
#include "sonde/proc/ps_contract.h"
#include "sonde/profiler/profile_contract.h"
#include "sonde/profiler/stack_contract.h"
#include "sonde/ptrace/debug_contract.h"
#include "sonde/ptrace/trace_contract.h"

using namespace sonde;

namespace {

// A parsed value must be one its validate() can judge, and its JSON must
// read back.
template <typename T, typename Read>
void args_round_trip(const Result<T>& r, Read read) {
  if (!r.ok()) {
    if (r.error().code != errc::kBadArgs) std::abort();
    return;
  }
  (void)validate(*r);
  if (!read(to_json(*r)).ok()) std::abort();
}

// Compared as MessagePack: a NaN the peer sent is not equal to itself as JSON.
bool same(const json& a, const json& b) {
  return json::to_msgpack(a) == json::to_msgpack(b);
}

// A reply that reads must read back from its own JSON, to the same JSON.
template <typename T, typename Read>
void reply_round_trip(const Result<T>& r, Read read) {
  if (!r.ok()) {
    if (r.error().code != errc::kProtocol) std::abort();
    return;
  }
  json j = to_json(*r);
  auto back = read(j);
  if (!back.ok() || !same(to_json(*back), j)) std::abort();
}

// An event: nullopt (a kind this controller does not know) or one that
// reads back from its own JSON as `write` makes it.
template <typename T, typename Read, typename Write>
void event_round_trip(const Result<std::optional<T>>& r, Read read, Write write) {
  if (!r.ok()) {
    if (r.error().code != errc::kProtocol) std::abort();
    return;
  }
  if (!*r) return;
  json j = write(**r);
  auto back = read(j);
  if (!back.ok() || !*back || !same(write(**back), j)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!check_msgpack(data, size).ok()) return 0;
  json j = json::from_msgpack(data, data + size, true, false);
  if (j.is_discarded()) return 0;

  args_round_trip(ptrace::trace_args_from_json(j), ptrace::trace_args_from_json);
  args_round_trip(ptrace::debug_args_from_json(j), ptrace::debug_args_from_json);
  args_round_trip(profiler::profile_args_from_json(j), profiler::profile_args_from_json);
  args_round_trip(profiler::stack_args_from_json(j), profiler::stack_args_from_json);
  args_round_trip(proc::ps_args_from_json(j), proc::ps_args_from_json);
  args_round_trip(proc::inspect_args_from_json(j), proc::inspect_args_from_json);
  args_round_trip(net::dns_args_from_json(j), net::dns_args_from_json);
  args_round_trip(net::speed_args_from_json(j), net::speed_args_from_json);
  args_round_trip(net::capture_args_from_json(j), net::capture_args_from_json);
  args_round_trip(net::tls_args_from_json(j), net::tls_args_from_json);
  args_round_trip(jvm::jvm_list_args_from_json(j), jvm::jvm_list_args_from_json);
  args_round_trip(jvm::jvm_attach_args_from_json(j), jvm::jvm_attach_args_from_json);
  args_round_trip(jvm::jfr_args_from_json(j), jvm::jfr_args_from_json);
  args_round_trip(jvm::jmx_args_from_json(j), jvm::jmx_args_from_json);
  if (auto c = net::connect_args_from_json(j); c.ok()) {
    (void)net::validate(*c);
    if (!net::connect_args_from_json(net::connect_args_json(*c)).ok()) std::abort();
  }
  if (auto h = net::http_args_from_json(j); h.ok()) {
    (void)net::validate(*h);
    if (!net::http_args_from_json(net::http_args_json(*h)).ok()) std::abort();
  }

  if (auto t = ptrace::trace_result_from_json(j); t.ok()) {
    ptrace::cap_trace_result(*t);
    if (!ptrace::trace_result_from_json(ptrace::to_json(*t)).ok()) std::abort();
  }
  if (auto p = proc::ps_result_from_json(j); p.ok())
    if (!proc::ps_result_from_json(proc::to_json(*p)).ok()) std::abort();
  reply_round_trip(proc::inspect_result_from_json(j), proc::inspect_result_from_json);
  if (auto d = net::dns_result_from_json(j); d.ok())
    if (!net::dns_result_from_json(net::to_json(*d)).ok()) std::abort();
  reply_round_trip(net::tls_result_from_json(j), net::tls_result_from_json);
  reply_round_trip(net::connect_result_from_json(j), net::connect_result_from_json);
  reply_round_trip(net::http_result_from_json(j), net::http_result_from_json);
  reply_round_trip(net::speed_result_from_json(j), net::speed_result_from_json);
  reply_round_trip(net::speed_listening_from_json(j), net::speed_listening_from_json);
  reply_round_trip(net::capture_result_from_json(j), net::capture_result_from_json);
  if (auto e = net::capture_event_from_json(j);
      e.ok() && e->phase == net::CaptureEvent::Phase::kStarted)
    if (!net::capture_event_from_json(net::started_event(e->started)).ok()) std::abort();
  if (auto p = ping_args_from_json(j); p.ok())
    if (!ping_args_from_json(to_json(*p)).ok()) std::abort();
  reply_round_trip(ping_result_from_json(j), ping_result_from_json);
  reply_round_trip(hello_from_json(j), hello_from_json);
  reply_round_trip(capabilities_from_json(j), capabilities_from_json);
  reply_round_trip(jvm::jvm_list_result_from_json(j), jvm::jvm_list_result_from_json);
  reply_round_trip(jvm::jvm_attach_result_from_json(j), jvm::jvm_attach_result_from_json);
  reply_round_trip(jvm::jfr_result_from_json(j), jvm::jfr_result_from_json);
  reply_round_trip(jvm::jmx_result_from_json(j), jvm::jmx_result_from_json);
  reply_round_trip(ptrace::debug_result_from_json(j), ptrace::debug_result_from_json);
  event_round_trip(jvm::jfr_event_from_json(j), jvm::jfr_event_from_json,
                   [](const jvm::JfrEvent& e) { return jvm::to_json(e); });
  event_round_trip(jvm::jmx_event_from_json(j), jvm::jmx_event_from_json, jvm::started_event_json);
  event_round_trip(ptrace::debug_event_from_json(j), ptrace::debug_event_from_json,
                   [](const ptrace::DebugEvent& e) { return ptrace::to_json(e); });
  (void)profiler::profile_result_from_json(j);
  (void)profiler::profile_progress_from_json(j);
  (void)profiler::stack_result_from_json(j);
  return 0;
}
