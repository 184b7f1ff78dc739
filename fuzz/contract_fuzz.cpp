// Every op contract's reader on MessagePack from a peer: args as the agent
// reads them, results and events as the controller does. The bytes pass the
// same pre-scan a frame does; what decodes goes through every from_json,
// which must answer with a value or an Error and never throw or abort.
#include <cstdint>
#include <cstdlib>

#include "sonde/common/msgpack_check.h"
#include "sonde/jvm/jvm_contract.h"
#include "sonde/net/capture_contract.h"
#include "sonde/net/connect_contract.h"
#include "sonde/net/dns_contract.h"
#include "sonde/net/http_contract.h"
#include "sonde/net/speed_contract.h"
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
  if (auto i = proc::inspect_result_from_json(j); i.ok())
    if (proc::to_json(*proc::inspect_result_from_json(proc::to_json(*i))) != proc::to_json(*i))
      std::abort();
  if (auto d = net::dns_result_from_json(j); d.ok())
    if (!net::dns_result_from_json(net::to_json(*d)).ok()) std::abort();
  (void)profiler::profile_result_from_json(j);
  (void)profiler::profile_progress_from_json(j);
  (void)profiler::stack_result_from_json(j);
  return 0;
}
