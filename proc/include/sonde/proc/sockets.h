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
#include "sonde/proc/socket_info.h"

namespace sonde::proc {

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
  void erase(uint64_t inode) { by_inode_.erase(inode); }
  size_t size() const { return by_inode_.size(); }

 private:
  std::unordered_map<uint64_t, SocketInfo> by_inode_;
};

// The inode of pid's network namespace (/proc/PID/ns/net): equal inodes, one
// namespace. nullopt when pid is gone or its ns link is unreadable.
std::optional<uint64_t> netns_inode(int pid);

// trace -y looks up a socket for every fd argument: the tables (all eight
// files of /proc/PID/net) are kept per network namespace and read again only
// when a socket is not in them, i.e. it was made after they were read.
class SocketCache {
 public:
  // The socket with this inode, in pid's namespace; nullptr when no table
  // has it (a packet or vsock socket, one not bound yet, or closed). A miss
  // reads the tables again, but one inode at most once a second: a busy
  // netlink or packet socket must not cost a read of every table per call.
  const SocketInfo* find(int pid, uint64_t inode);
  // The socket's addresses may have changed (bind, connect): its next
  // find() reads the tables again.
  void forget(uint64_t inode);
  // It may be in a table now (listen, or a send that bound it): a miss
  // remembered for it is dropped.
  void retry(uint64_t inode) { missed_.erase(inode); }
  bool has_misses() const { return !missed_.empty(); }
  // How many times the tables were read, in all namespaces.
  size_t loads() const { return loads_; }
  size_t namespaces() const { return by_ns_.size(); }

 private:
  // The negative cache is short: a fresh TCP socket is in no table until it
  // is bound or connected, and must be found once it is (forget and retry).
  std::unordered_map<uint64_t, SocketTable> by_ns_;  // by netns inode
  std::unordered_map<int, uint64_t> ns_of_;          // pid -> its netns inode, as last read
  std::unordered_map<uint64_t, long> missed_;        // inode -> when a read did not have it (ms)
  size_t loads_ = 0;
};

}  // namespace sonde::proc
