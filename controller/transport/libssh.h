// libssh, loaded on first use instead of at program start. Linked normally it
// brings libcrypto and the Kerberos libraries into every run of the
// controller; their relocation and mapping cost ~1.3 ms, paid even by
// `sonde stack local`, which never opens an SSH session. Everything in
// transport/ that talks to libssh calls it through this table.
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "sonde/common/result.h"

// Every libssh function sonde calls. Add a name here to use it.
// One name per line: the formatter reflows X-macro lists differently on every run.
// clang-format off
#define SONDE_LIBSSH_FUNCTIONS(X) \
  X(ssh_new) \
  X(ssh_free) \
  X(ssh_connect) \
  X(ssh_disconnect) \
  X(ssh_is_connected) \
  X(ssh_get_error) \
  X(ssh_options_set) \
  X(ssh_options_get) \
  X(ssh_options_get_port) \
  X(ssh_options_parse_config) \
  X(ssh_string_free_char) \
  X(ssh_get_server_publickey) \
  X(ssh_get_publickey_hash) \
  X(ssh_get_fingerprint_hash) \
  X(ssh_clean_pubkey_hash) \
  X(ssh_key_free) \
  X(ssh_key_type) \
  X(ssh_key_type_to_char) \
  X(ssh_session_is_known_server) \
  X(ssh_session_update_known_hosts) \
  X(ssh_pki_import_privkey_file) \
  X(ssh_userauth_none) \
  X(ssh_userauth_list) \
  X(ssh_userauth_agent) \
  X(ssh_userauth_publickey) \
  X(ssh_userauth_publickey_auto) \
  X(ssh_channel_new) \
  X(ssh_channel_free) \
  X(ssh_channel_open_session) \
  X(ssh_channel_request_exec) \
  X(ssh_channel_close) \
  X(ssh_channel_is_closed) \
  X(ssh_channel_is_eof) \
  X(ssh_channel_is_open) \
  X(ssh_channel_get_exit_status) \
  X(ssh_channel_poll_timeout) \
  X(ssh_channel_read_timeout) \
  X(ssh_channel_read_nonblocking) \
  X(ssh_channel_write) \
  X(ssh_channel_send_eof) \
  X(ssh_channel_window_size) \
  X(ssh_set_channel_callbacks) \
  X(ssh_version) \
  X(ssh_channel_open_forward) \
  X(ssh_channel_open_forward_unix) \
  X(ssh_channel_poll) \
  X(ssh_remove_channel_callbacks) \
  X(ssh_get_fd) \
  X(ssh_set_blocking) \
  X(ssh_is_blocking) \
  X(ssh_get_poll_flags) \
  X(ssh_event_new) \
  X(ssh_event_add_session) \
  X(ssh_event_remove_session) \
  X(ssh_event_dopoll) \
  X(ssh_event_free)
// clang-format on

namespace sonde::controller {

struct LibSsh {
#define SONDE_LIBSSH_MEMBER(name) decltype(&::name) name = nullptr;
  SONDE_LIBSSH_FUNCTIONS(SONDE_LIBSSH_MEMBER)
#undef SONDE_LIBSSH_MEMBER
};

// Loads libssh once (thread-safe) and resolves every function above. The
// error names the package to install, or says which symbol is missing.
Result<const LibSsh*> load_libssh();

// The loaded table. Only after load_libssh() succeeded: open_ssh() loads it
// before anything else in transport/ runs.
const LibSsh& libssh();

}  // namespace sonde::controller
