// One HTTP/1.1 request for `sonde diagnose --http PATH`: the last rung of
// the ladder, after dns, connect and tls. Plain or over TLS (the tls rung has
// already judged the certificate, so this one does not verify it again).
// Bounded in time and size, cancellable.
#pragma once

#include <map>
#include <string>

#include "sonde/common/cancel.h"

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

// What one GET saw. ok means a complete status line came back, whatever
// the status; the caller judges the status. Its JSON form is in
// http_contract.h.
struct HttpResult {
  bool ok = false;
  bool tls = false;
  std::string path;
  std::string stage;    // where it ended: "resolve", "connect", "tls", "send", "response"
  std::string error;    // what failed there, when not ok
  std::string address;  // the address connected to; "" when it did not get that far
  // The response, when ok.
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  // The few headers worth showing (server, content-type, content-length,
  // location, www-authenticate, via, retry-after), names in lower case.
  std::map<std::string, std::string> headers;
  long ttfb_ms = 0;
  size_t body_bytes = 0;
  bool body_truncated = false;  // the body was cut at the timeout or at 1 MiB
  long total_ms = 0;
  std::string summary;
};

// Bounded in time (timeout_ms) and size; cancel polled while it waits.
HttpResult http_probe(const HttpRequest& req, CancelToken* cancel = nullptr);

// The status line and headers of a response head ("HTTP/1.1 200 OK\r\n...")
// into out's version, status, reason and headers. False, and out untouched,
// when it is not an HTTP/1.x status line.
bool parse_http_head(const std::string& head, HttpResult& out);

}  // namespace sonde::net
