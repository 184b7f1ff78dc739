// Socket inode → addresses and state, from /proc/PID/net/*. These files show
// the network namespace of PID, which is the one its sockets live in; the
// agent's own /proc/net would miss sockets of a process in a container.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sonde/common/frame.h"

namespace sonde::proc {

struct SocketInfo {
  std::string proto;  // tcp tcp6 udp udp6 raw raw6 unix netlink
  std::string local;  // "127.0.0.1:40002", "[::1]:22", unix path
  std::string peer;   // empty when not connected
  std::string state;  // ESTABLISHED, LISTEN, UNCONN, ...
  std::string type;   // unix: stream|dgram|seqpacket
  uint64_t inode = 0;

  json to_json() const;
};

// One data line of net/{tcp,tcp6,udp,udp6,raw,raw6}; nullopt for the header or garbage.
std::optional<SocketInfo> parse_inet_line(std::string_view proto, std::string_view line);
// One data line of net/unix.
std::optional<SocketInfo> parse_unix_line(std::string_view line);
// One data line of net/netlink.
std::optional<SocketInfo> parse_netlink_line(std::string_view line);

// "0100007F:1F90" (v4) or 32 hex digits + port (v6) → "127.0.0.1:8080" / "[::1]:22".
std::optional<std::string> decode_address(std::string_view hex_addr_port);

// TCP state number → kernel name (tcp_states.h).
const char* tcp_state_name(unsigned state);

class SocketTable {
 public:
  // Reads every net/* table of pid's namespace; unreadable tables add notes.
  static SocketTable load(int pid, std::vector<std::string>* notes);
  void add(SocketInfo s);
  const SocketInfo* find(uint64_t inode) const;
  size_t size() const { return by_inode_.size(); }

 private:
  std::unordered_map<uint64_t, SocketInfo> by_inode_;
};

}  // namespace sonde::proc
