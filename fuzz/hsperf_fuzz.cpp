// hsperfdata files: written by the JVM's user into /tmp and read by the
// agent (often root) without attaching. parse_hsperfdata, then what `jvm
// list` takes from it: the command and VM arguments as option strings.
#include <cstdint>

#include "fuzz_input.h"
#include "sonde/jvm/hsperf.h"
#include "sonde/jvm/options.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto perf = jvm::parse_hsperfdata(fuzz::as_text(data, size));
  if (!perf) return 0;
  jvm::JvmOptions o;
  if (auto args = jvm::perf_string(*perf, "java.rt.vmArgs")) jvm::apply_jvm_option_string(o, *args);
  if (auto cmd = jvm::perf_string(*perf, "sun.rt.javaCommand"))
    jvm::apply_jvm_option_string(o, *cmd);
  (void)jvm::perf_number(*perf, "sun.gc.generation.0.capacity");
  if (o.jdwp) (void)jvm::to_json(*o.jdwp);
  (void)jvm::to_json(o.jmx);
  return 0;
}
