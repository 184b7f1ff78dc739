#include "sides.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "fleet/targets.h"
#include "sonde/render/table.h"

namespace sonde::controller {

std::vector<Side> check_sides(const CommandContext& ctx, const char* from_option) {
  std::vector<Side> sides;
  CommandContext local = ctx;
  local.g.via.clear();
  local.target = "local";
  sides.push_back({"local", local});
  if (!ctx.g.via.empty()) {
    CommandContext v = ctx;
    v.target.clear();
    sides.push_back({"via", v});
  }
  if (ctx.vm.count(from_option))
    for (const auto& arg : ctx.vm[from_option].as<std::vector<std::string>>()) {
      // --from takes fleet targets too: web[01-40], a,b,c, @FILE.
      auto many = fleet::expand_target_list(arg);
      for (const auto& f : many ? *many : std::vector<std::string>{arg}) {
        CommandContext t = ctx;
        t.g.via.clear();
        t.target = f;
        sides.push_back({f, t});
      }
    }
  return sides;
}

Error print_side_error(const CommandContext& ctx, const std::string& label, Error e) {
  if (e.code == errc::kUnknownOp)
    e.hint = "the agent on " + label + " is older than this sonde; deploy the matching one";
  if (e.hint.empty()) e.hint = "check the target with `sonde hello " + label + "`";
  // The other sides still answer: the JSON document holds this side's error.
  Error shown = e;
  shown.message = render::terminal_safe(label) + ": " + render::terminal_safe(e.message);
  shown.hint = render::terminal_safe(e.hint);
  report_error(shown, ctx.command, false, ctx.out, ctx.err);
  return e;
}

Result<std::string> read_ca_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Error{errc::kBadArgs, "cannot read --ca-file " + path + ": " + std::strerror(errno),
                 "give a PEM file with the CA certificate(s) on this machine"};
  std::string text;
  text.resize(1u << 20);
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (f.gcount() == (1 << 20) && f.peek() != EOF)
    return Error{errc::kBadArgs, "--ca-file " + path + " is over 1 MiB",
                 "give just the CA certificate(s)"};
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return Error{errc::kBadArgs, "--ca-file " + path + " holds no PEM certificate",
                 "a DER file converts with: openssl x509 -inform DER -in FILE -out FILE.pem"};
  return text;
}

}  // namespace sonde::controller
