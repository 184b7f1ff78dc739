// One HTTP/1.1 request for `sonde diagnose --http PATH`: the last rung of
// the ladder, after dns, connect and tls. Plain or over TLS (the tls rung has
// already judged the certificate, so this one does not verify it again).
// Bounded in time and size, cancellable.
#pragma once

#include <string>

#include "sonde/common/cancel.h"
#include "sonde/common/frame.h"

namespace sonde::net {

struct HttpRequest {
  std::string host;  // name or address to connect to
  int port = 80;
  std::string path = "/";  // must start with '/'
  bool tls = false;
  std::string sni;          // TLS server name; empty: host when it is a name
  std::string host_header;  // empty: host (with :port when not the default)
  long timeout_ms = 5000;   // for the whole exchange
};

// {ok, stage ("resolve"|"connect"|"tls"|"send"|"response"), error, address,
//  status, reason, version, headers{server, content-type, content-length,
//  location}, ttfb_ms, total_ms, body_bytes, body_truncated, summary}.
// ok means a complete status line came back, whatever the status; the
// caller judges the status.
json http_probe(const HttpRequest& req, CancelToken* cancel = nullptr);

// The status line and headers of a response head ("HTTP/1.1 200 OK\r\n...").
// False when it is not an HTTP/1.x status line.
bool parse_http_head(const std::string& head, json& out);

}  // namespace sonde::net
