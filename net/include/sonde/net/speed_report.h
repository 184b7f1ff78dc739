// What `sonde speed` reports: each path (direct, ssh) and direction it
// measured, with the figures taken from whichever end saw them, and the
// one-line summary. Built by the controller from its own run and the
// agent's SpeedResult (speed_contract.h); the same struct feeds the text,
// --json and the case journal's line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sonde/common/frame.h"
#include "sonde/common/result.h"
#include "sonde/net/speed.h"
#include "sonde/net/speed_contract.h"

namespace sonde::net {

struct SpeedPath {
  std::string path;                         // "direct" | "ssh"
  std::optional<SpeedDirection> direction;  // none for a path that does not apply
  std::string status = "failed";            // "ok" | "failed" | "n/a"
  std::string agent_listen;  // the agent's listener "addr:port"; "" before it listened
  std::string address;       // where the test connected; "" before that

  // When ok. The rate is the receiver's: bytes that arrived.
  double gbps = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  RttStats rtt;
  // The link's TCP figures, when this path knows them: the sender's socket
  // on the direct path, the controller's SSH socket on the ssh path.
  std::optional<uint32_t> retransmits;  // none: not visible from here
  TcpInfo tcp_info;                     // not valid: none
  std::string tcp_info_from;            // who saw them; "": this path does not know them
  BulkResult controller, agent;         // each end's own view
  std::vector<std::string> notes;       // the agent's

  // When failed (reason, hint, code) or n/a (reason).
  std::string reason, hint, code;
};

// {path, direction, status, agent_listen, address, and when ok: gbps, bytes,
// seconds, rtt {count, min_us, median_us, p90_us, max_us, mean_us},
// retransmits (null where unseen), tcp_info, tcp_info_from, controller and
// agent (BulkResult), notes; when failed: reason, hint, code; when n/a:
// reason}. Fields a path never reached are left out.
json to_json(const SpeedPath& p);

// A path the test could not measure: e's message, hint and code.
void set_failed(SpeedPath& p, const Error& e);
// A finished test: the rate from the receiver, the round trips from the
// controller's run, each end's view; with sender_tcp (the direct path,
// where the test's own socket is the link) the sender's retransmits and
// TCP_INFO.
void set_figures(SpeedPath& p, SpeedDirection dir, const SpeedRun& mine, const SpeedResult& agent,
                 bool sender_tcp);

struct SpeedReport {
  std::string target;     // as typed, else the transport
  std::string transport;  // how the agent was reached
  std::string agent_host;
  long duration_ms = 0;
  long rtt_count = 0;
  std::vector<SpeedPath> paths;
};

// Every path that applies was measured.
bool speed_ok(const SpeedReport& r);
// "direct upload 9.41 Gbit/s, rtt median 0.050 ms; ssh n/a (local target)".
std::string speed_summary(const SpeedReport& r);
// {target, transport, agent_host, duration_ms, rtt_count, paths, ok, summary}
json to_json(const SpeedReport& r);

}  // namespace sonde::net
