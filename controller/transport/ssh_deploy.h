// The remote shell snippets that deploy and start our agent on a target
// (POSIX sh, run by the login shell of the SSH user). They run only a file
// whose name is its SHA-256, hashed on the target by a tool the target has
// (sha256sum, shasum or openssl: the agent's own word about itself counts
// for nothing), in a folder that no other user can write to or swap:
//   - the folder and the agent belong to the connecting user and are not
//     writable by group or others;
//   - every parent folder belongs to that user or to root and is writable by
//     others only when sticky (so /tmp/x of another user is refused);
//   - uploads go to a mktemp file in that folder, are hashed there, then
//     renamed into place: two controllers deploying at once both succeed.
// With sudo, root copies the agent into its own 0700 folder (kRootAgentDir),
// hashes that copy and runs it: never the user's file.
#pragma once

#include <string>

namespace sonde::controller {

// Exit codes of the snippets (chosen to be unlike a shell's own).
inline constexpr int kExitAgentStale = 94;    // a cached agent did not match its name: removed
inline constexpr int kExitRefused = 95;       // unsafe folder or file: stderr says why + "hint: "
inline constexpr int kExitUploadFailed = 96;  // mkdir, mktemp, write or a test run failed
inline constexpr int kExitAgentMissing = 97;  // this build is not there yet
inline constexpr int kExitHashMismatch = 98;  // the upload arrived damaged

// Where root keeps the copies it runs under --sudo.
inline constexpr const char* kRootAgentDir = "/var/cache/sonde";

// The remote dir as a shell word: "" is "$HOME"/.cache/sonde; ~ and ~/x are
// expanded by the remote shell; anything else is quoted as is.
std::string remote_dir_word(const std::string& dir);

// Checks and execs `agent-<hash> serve`; exits kExitAgentMissing when it is
// not there (the controller then uploads and tries once more).
std::string deploy_start_script(const std::string& dir_word, const std::string& hash, bool sudo,
                                bool verbose);

// Reads the agent on stdin into the folder (created 0700 when missing).
std::string deploy_upload_script(const std::string& dir_word, const std::string& hash);

}  // namespace sonde::controller
