/* The static agent links Debian's libpcap.a, whose D-Bus capture source pulls
 * in libdbus-1.a, which in turn refers to two libsystemd functions for socket
 * activation of a D-Bus *server*. No static libsystemd exists, and the agent
 * never runs a D-Bus server (pcap only opens the session bus when asked for a
 * dbus-* device), so these two answer "no sockets were passed", which is what
 * libsystemd itself answers outside systemd. */
int sd_listen_fds(int unset_environment) {
  (void)unset_environment;
  return 0;
}

int sd_is_socket(int fd, int family, int type, int listening) {
  (void)fd;
  (void)family;
  (void)type;
  (void)listening;
  return 0;
}
