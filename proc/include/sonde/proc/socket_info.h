// A socket as /proc/PID/net/* describes it: what `inspect` shows for a
// socket fd and what `trace -y` annotates an fd argument with. Its JSON form
// is part of the `inspect` result (inspect_contract.h).
#pragma once

#include <cstdint>
#include <string>

#include "sonde/common/frame.h"

namespace sonde {
class JsonReader;
class JsonPath;
}  // namespace sonde

namespace sonde::proc {

// The proto of a socket that no table of its namespace lists (packet,
// vsock, bluetooth, ...): only its inode is known.
inline constexpr const char* kUnknownSocket = "unknown";

struct SocketInfo {
  std::string proto;  // tcp tcp6 udp udp6 raw raw6 unix netlink, or kUnknownSocket
  std::string local;  // "127.0.0.1:40002", "[::1]:22", unix path
  std::string peer;   // empty when not connected
  std::string state;  // ESTABLISHED, LISTEN, UNCONN, ...
  std::string type;   // unix: stream|dgram|seqpacket
  uint64_t inode = 0;

  // Its wire form with local made valid UTF-8 (a unix path is any bytes):
  // to_json(SocketInfo) of a copy (sockets.cpp).
  json to_json() const;
};

// {proto, local, state, inode, peer when connected, path and type for unix};
// {proto: "unknown", inode} for kUnknownSocket.
json to_json(const SocketInfo& s);
// Strict, into r (which names the field at `at` when something is wrong).
void read_socket(JsonReader& r, const json& j, const JsonPath& at, SocketInfo& out);

}  // namespace sonde::proc
