// The TLS probe for `sonde tls` (OpenSSL; library sonde_net_tls, linked only
// into the static agent and tests). It connects to HOST:PORT, listens first
// (a server that talks first is not TLS: SSH, SMTP, FTP banners), then does a
// handshake with SNI and ALPN and reports what was negotiated, the chain the
// peer sent, the verification against a trust store found at run time (the
// agent travels to any distribution) and the hostname check. Everything the
// network says is a finding in the report; only bad options are Errors.
#pragma once

#include <string>

#include "sonde/common/cancel.h"
#include "sonde/common/result.h"
#include "sonde/net/tls_contract.h"

namespace sonde::net {

// kBadArgs for what cannot work whatever the network does: validate(a)
// (tls_contract.h), then the CA given, which only OpenSSL on the agent's
// host can read (PEM text that holds no certificate, a CA file that is
// missing there or holds none).
Status tls_validate(const TlsArgs& a);

// Never throws and never blocks past the timeouts; cancel is polled at least
// every 100 ms. Call tls_validate first: invalid options give a result whose
// error says so. agent_host is left for the handler.
TlsResult tls_probe(const TlsArgs& a, CancelToken* cancel);

// Helpers, exposed for tests.
// Printable ASCII of the first line (at most max_chars), other bytes as '.'.
std::string tls_banner_line(const std::string& bytes, size_t max_chars = 200);
// "ssh", "http", "smtp", "ftp", "pop3", "imap", "mysql", "" when unknown.
std::string tls_guess_protocol(const std::string& bytes);

}  // namespace sonde::net
