#include "sonde/net/http_contract.h"

#include "sonde/common/json_read.h"

namespace sonde::net {

json http_args_json(const HttpRequest& r) {
  json j = {{"host", r.host},
            {"port", r.port},
            {"path", r.path},
            {"tls", r.tls},
            {"timeout_ms", r.timeout_ms}};
  if (!r.sni.empty()) j["sni"] = r.sni;
  if (!r.host_header.empty()) j["host_header"] = r.host_header;
  return j;
}

Result<HttpRequest> http_args_from_json(const json& j) {
  auto r = JsonReader::args("net.http");
  HttpRequest req;
  req.port = 0;
  if (!r.object(j, {})) return r.error();
  r.string(j, "host", {}, req.host);
  r.integer(j, "port", {}, req.port);
  r.boolean(j, "tls", {}, req.tls);
  r.string(j, "path", {}, req.path);
  r.string(j, "sni", {}, req.sni);
  r.string(j, "host_header", {}, req.host_header);
  r.integer(j, "timeout_ms", {}, req.timeout_ms);
  if (r.failed()) return r.error();
  if (req.port <= 0) req.port = req.tls ? 443 : 80;
  return req;
}

Status validate(const HttpRequest& r) {
  const char* usage = "sonde diagnose HOST:PORT --http /health";
  if (r.host.empty() || r.host.size() > 255)
    return Error{errc::kBadArgs, "net.http needs a host of 1..255 characters", usage};
  if (r.port < 1 || r.port > 65535)
    return Error{errc::kBadArgs, fmt::format("port {} is out of range (1..65535)", r.port), usage};
  if (r.path.empty() || r.path[0] != '/' || r.path.size() > kMaxHttpPath)
    return Error{errc::kBadArgs,
                 fmt::format("the HTTP path must start with '/' (at most {} bytes)", kMaxHttpPath),
                 usage};
  if (r.timeout_ms < 1 || r.timeout_ms > kMaxHttpTimeoutMs)
    return Error{errc::kBadArgs, fmt::format("the timeout must be 1..{} ms", kMaxHttpTimeoutMs),
                 "e.g. --timeout 5000"};
  return ok_status();
}

json to_json(const HttpResult& r) {
  json j = {{"ok", r.ok},       {"tls", r.tls},           {"path", r.path},
            {"stage", r.stage}, {"total_ms", r.total_ms}, {"summary", r.summary}};
  if (!r.address.empty()) j["address"] = r.address;
  if (!r.ok) {
    j["error"] = r.error;
    return j;
  }
  j["version"] = r.version;
  j["status"] = r.status;
  j["reason"] = r.reason;
  j["headers"] = r.headers;
  j["ttfb_ms"] = r.ttfb_ms;
  j["body_bytes"] = r.body_bytes;
  j["body_truncated"] = r.body_truncated;
  return j;
}

Result<HttpResult> http_result_from_json(const json& j) {
  auto r = JsonReader::reply("net.http");
  HttpResult out;
  if (!r.object(j, {})) return r.error();
  r.boolean(j, "ok", {}, out.ok, Need::kRequired);
  r.boolean(j, "tls", {}, out.tls);
  r.string(j, "path", {}, out.path);
  r.string(j, "stage", {}, out.stage);
  r.integer(j, "total_ms", {}, out.total_ms);
  r.string(j, "summary", {}, out.summary);
  r.string(j, "address", {}, out.address);
  r.string(j, "error", {}, out.error);
  r.string(j, "version", {}, out.version);
  r.integer(j, "status", {}, out.status);
  r.string(j, "reason", {}, out.reason);
  if (const json* h = r.map(j, "headers", {})) {
    if (h->size() > kMaxHttpHeaders)
      r.fail(JsonPath{} / "headers",
             fmt::format("{} headers, at most {} expected", h->size(), kMaxHttpHeaders));
    for (auto it = h->begin(); it != h->end() && !r.failed(); ++it) {
      if (!it->is_string()) {
        r.fail(JsonPath{} / "headers",
               fmt::format("expected string values, got {}", it->type_name()));
        break;
      }
      out.headers[it.key()] = it->get<std::string>();
    }
  }
  r.integer(j, "ttfb_ms", {}, out.ttfb_ms);
  r.integer(j, "body_bytes", {}, out.body_bytes);
  r.boolean(j, "body_truncated", {}, out.body_truncated);
  if (r.failed()) return r.error();
  return out;
}

}  // namespace sonde::net
