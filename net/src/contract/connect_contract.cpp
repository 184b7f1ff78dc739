#include "sonde/net/connect_contract.h"

#include <sys/socket.h>

#include "sonde/common/json_read.h"

namespace sonde::net {

json connect_args_json(const ConnectOptions& o) {
  return {{"host", o.host},
          {"port", o.port},
          {"count", o.count},
          {"interval_ms", o.interval_ms},
          {"timeout_ms", o.timeout_ms},
          {"hold_ms", o.hold_ms},
          {"family", o.family == AF_INET    ? "4"
                     : o.family == AF_INET6 ? "6"
                                            : "any"},
          {"all_addresses", o.all_addresses}};
}

Result<ConnectOptions> connect_args_from_json(const json& j) {
  auto r = JsonReader::args("net.connect");
  ConnectOptions o;
  o.count = 1;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, o.host);
  r.integer(j, "port", {}, o.port);
  r.integer(j, "count", {}, o.count);
  r.integer(j, "interval_ms", {}, o.interval_ms);
  r.integer(j, "timeout_ms", {}, o.timeout_ms);
  r.integer(j, "hold_ms", {}, o.hold_ms);
  std::string family = "any";
  r.string(j, "family", {}, family);
  r.boolean(j, "all_addresses", {}, o.all_addresses);
  if (r.failed()) return r.error();
  if (family == "4")
    o.family = AF_INET;
  else if (family == "6")
    o.family = AF_INET6;
  else if (family != "any")
    r.fail(JsonPath{} / "family", fmt::format("`{}` is not \"any\", \"4\" or \"6\"", family));
  if (r.failed()) return r.error();
  return o;
}

}  // namespace sonde::net
