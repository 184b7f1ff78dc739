// The `net.tls` op's contract: TlsArgs (where to connect, what to offer,
// what to verify against) and TlsResult (how far the probe got and what the
// peer showed), one JSON form each, used by `sonde tls`, `sonde diagnose`,
// the handler and the probe (tls.h). validate() is the one judge of a
// request; what only the agent can see (the CA's contents, a CA file on its
// host) tls_validate checks there on top of it. No OpenSSL here: the
// controller reads results without loading it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/side.h"

namespace sonde::net {

inline constexpr size_t kMaxCaPem = 1 << 20;
inline constexpr long kMaxTlsTimeoutMs = 120000;
inline constexpr long kMaxBannerWaitMs = 10000;
inline constexpr size_t kMaxAlpn = 16;
// What the probe keeps: the chain as sent (16 certificates), the resolved
// addresses (8).
inline constexpr size_t kMaxTlsChain = 16;
inline constexpr size_t kMaxTlsAddresses = 8;

struct TlsArgs {
  std::string host;  // a name, an IPv4 or an IPv6 address (no brackets)
  int port = 443;
  std::string sni;  // empty: host when it is a name, none for an address
  bool no_sni = false;
  std::vector<std::string> alpn = {"h2", "http/1.1"};  // empty: offer none
  std::string ca_pem;         // PEM text to verify against instead of the system store
  std::string ca_file;        // a file on the agent's host to verify against instead
  long timeout_ms = 5000;     // connect (all addresses together) and, again, the handshake
  long banner_wait_ms = 300;  // how long to listen for a server that talks first; 0: don't
  std::string min_version;    // "1.0" "1.1" "1.2" "1.3" or empty
  std::string max_version;
};

// Fields at their default stay off the wire, as before the contract.
json to_json(const TlsArgs& a);
// Wrong types are errc::kBadArgs naming the field; an absent alpn is the
// default offer, an empty one offers none.
Result<TlsArgs> tls_args_from_json(const json& j);
// Host, port, SNI, ALPN, versions, timeouts, the CA's size, one CA only:
// errc::kBadArgs with a hint.
Status validate(const TlsArgs& a);

struct TlsCert {
  int depth = 0;  // position in the chain as sent, 0 = the leaf
  std::string subject, issuer, subject_cn;
  std::vector<std::string> dns_names, ip_addresses;
  std::string serial;                 // hex
  std::string not_before, not_after;  // "2025-01-31T12:00:00Z"
  int64_t not_before_epoch = 0, not_after_epoch = 0;
  long days_left = 0;  // whole days to not_after; negative (at least -1) once expired
  bool not_yet_valid = false;
  std::string key_type;  // "RSA", "EC", "ED25519", ...
  int key_bits = 0;
  std::string key_curve;  // EC only: "prime256v1"
  std::string signature_algorithm;
  std::string sha256;  // "AB:CD:..."
  bool self_signed = false, is_ca = false;
};

struct TlsVerifyError {
  int depth = 0;
  int code = 0;        // X509_V_ERR_*
  std::string reason;  // "certificate has expired"
};

// On the wire: {host (the agent's), target {host, port, sni, alpn_offered},
// stage, outcome, tls, ok, error, hint, failure {kind, alert}, addresses,
// address, attempts [{address, error}], banner null | {server_first, text,
// hex, bytes, protocol}, handshake null | {version, cipher, cipher_iana,
// cipher_bits, alpn, key_exchange, ocsp_stapled, client_cert_requested},
// chain [cert], verify null | {ok, store {kind, path, certs}, reason,
// errors [{depth, code, reason}], trusted_chain}, hostname null | {checked,
// is_ip, ok, matched}, ms {connect, handshake, total}, notes, summary};
// handshake, verify and hostname are null unless tls.
struct TlsResult {
  std::string agent_host;  // "host": where the probe ran

  // What was asked.
  std::string host;
  int port = 0;
  std::string sni;  // sent; empty when none
  std::vector<std::string> alpn_offered;

  // How far it got. outcome: "ok", "verify_failed" (TLS works, the chain or
  // the name does not check out), "not_tls", "handshake_failed",
  // "connect_failed", "resolve_failed".
  std::string stage;  // "resolve", "connect", "banner", "handshake", "done"
  std::string outcome;
  bool tls = false;   // a handshake completed
  bool ok = false;    // tls, chain verified and hostname matched
  std::string error;  // one sentence on what failed (empty when ok or only verify failed)
  std::string hint;   // the next step, when there is one

  // A failure's class: "refused", "unreachable", "timeout", "reset", "closed",
  // "alert", "plaintext", "version", "resolve", "cancelled", "other"; and for
  // "alert" the alert's name ("handshake failure", "unrecognized name").
  std::string failure_kind;
  std::string alert;

  std::vector<std::string> addresses;                         // what host resolved to
  std::string address;                                        // the one connected to
  std::vector<std::pair<std::string, std::string>> attempts;  // failed: address, why

  // What the peer said in plaintext: unprompted (server_first) or as its
  // answer to our ClientHello. text is the first line, printable ASCII only.
  bool banner_seen = false;
  bool server_first = false;
  std::string banner_text, banner_hex, banner_protocol;  // "ssh" "http" "smtp" ...
  size_t banner_bytes = 0;

  // The handshake.
  std::string version, cipher, cipher_iana, alpn, key_exchange;
  int cipher_bits = 0;
  bool ocsp_stapled = false;
  bool client_cert_requested = false;

  std::vector<TlsCert> chain;  // as sent by the peer

  // Verification against the store.
  std::string store_kind;  // "ca_pem", "ca_file", "file", "dir", "none"
  std::string store_path;
  int store_certs = 0;  // certificates loaded (0 for a hashed dir)
  bool verified = false;
  std::vector<TlsVerifyError> verify_errors;  // first is the reason
  std::vector<std::string> trusted_chain;     // subjects, leaf to anchor, when verified

  // The hostname check, against the SNI name, else host.
  std::string hostname_checked;
  bool hostname_is_ip = false;
  bool hostname_ok = false;
  std::string hostname_matched;  // the certificate name that matched

  long connect_ms = 0, handshake_ms = 0, total_ms = 0;
  std::vector<std::string> notes;
  std::string summary;  // one line for the case journal
};

json to_json(const TlsResult& r);
// Strict: errc::kProtocol naming the field, with the agent mismatch hint.
Result<TlsResult> tls_result_from_json(const json& j);

// Bytes as valid UTF-8: invalid sequences and control characters become '?'.
std::string tls_utf8_safe(const std::string& s);

// One sentence per difference between the first side and each other one:
// addresses, TLS or not, certificates, what was negotiated, verification and
// the name.
std::vector<std::string> tls_differences(const std::vector<Side<TlsResult>>& sides);

}  // namespace sonde::net
