// What a JVM (or whatever owns the attach socket) answers: the reply's
// status line and output, the `load` return code, and the JMX agent status
// that `jvm jmx` reads back. The JVM's command line is parsed the same way
// when its attach is checked, so it is here too (argv split on NUL).
#include <cstdint>

#include "fuzz_input.h"
#include "sonde/jvm/attach.h"
#include "sonde/jvm/jmx.h"
#include "sonde/jvm/options.h"
#include "sonde/jvm/process.h"

using namespace sonde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw = fuzz::as_text(data, size);
  if (auto r = jvm::parse_attach_reply(raw)) {
    (void)jvm::parse_load_return_code(r->output);
    auto s = jvm::parse_management_status(r->output);
    (void)s;
  }
  (void)jvm::parse_load_return_code(raw);
  auto opts = jvm::parse_java_command_line(jvm::split_cmdline(raw));
  if (opts.jdwp) (void)jvm::to_json(*opts.jdwp);
  (void)jvm::parse_jdwp_options(std::string(raw.substr(0, 256)));
  (void)jvm::parse_java_size(std::string(raw.substr(0, 32)));
  return 0;
}
