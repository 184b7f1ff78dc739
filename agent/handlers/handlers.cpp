#include "../capabilities.h"
#include "../handler.h"

namespace sonde::agent {

void register_ping(Registry& reg);
void register_ps(Registry& reg);
void register_inspect(Registry& reg);
void register_trace(Registry& reg);
void register_stack(Registry& reg);
void register_profile(Registry& reg);
void register_gdbserver(Registry& reg);
void register_jvm(Registry& reg);
void register_net_dns(Registry& reg);
void register_net_connect(Registry& reg);
void register_net_tls(Registry& reg);
void register_net_speed(Registry& reg);
void register_net_capture(Registry& reg);
void register_net_http(Registry& reg);
void register_inject_net(Registry& reg);

void register_all_handlers(Registry& reg) {
  register_ping(reg);
  register_capabilities(reg);
  register_ps(reg);
  register_inspect(reg);
  register_trace(reg);
  register_stack(reg);
  register_profile(reg);
  register_gdbserver(reg);
  register_jvm(reg);
  register_net_dns(reg);
  register_net_connect(reg);
  register_net_tls(reg);
  register_net_speed(reg);
  register_net_capture(reg);
  register_net_http(reg);
  register_inject_net(reg);
}

namespace {
Error wrong_type(const char* name, const char* want, const json& v) {
  return Error{errc::kBadArgs,
               fmt::format("argument `{}` must be {}, got {}", name, want, v.type_name()),
               {}};
}
}  // namespace

Result<std::string> arg_string(const json& args, const char* name, const std::string& dflt) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return dflt;
  if (!it->is_string()) return wrong_type(name, "a string", *it);
  return it->get<std::string>();
}

Result<long> arg_int(const json& args, const char* name, long dflt) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return dflt;
  if (!it->is_number_integer()) return wrong_type(name, "an integer", *it);
  return it->get<long>();
}

Result<bool> arg_bool(const json& args, const char* name, bool dflt) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) return wrong_type(name, "a boolean", *it);
  return it->get<bool>();
}

}  // namespace sonde::agent
