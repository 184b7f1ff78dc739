// Remote deploy snippets (ssh_deploy.h). Written for POSIX sh and kept to
// builtins on the already-deployed path: one `id`, one `ls` for the whole
// folder chain, one for the agent's stamp (the hash of the agent only when
// the stamp changed since its last check), then exec.
#include "ssh_deploy.h"

#include <string_view>

#include "ssh_connection.h"

namespace sonde::controller {
namespace {

// Shared functions. s_chk UID DIR [FILE] refuses (exit 95, two lines on
// stderr: what and "hint: " the next step) unless DIR (a physical path, no
// symlinks) and FILE belong to UID and are not writable by group or others,
// and every parent of DIR belongs to UID or root and is writable by others
// only when sticky: then no other user can change or swap what we run.
// `ls -ldn` in the C locale lists the chain in depth order (each path is a
// prefix of the next), so its lines pair with the arguments. Modes with
// ACLs show the ACL mask in the group bits, which the test covers.
// s_h FILE sets s_v to the file's SHA-256 from a tool of the target's own:
// openssl first (it uses the CPU's SHA instructions: ~3x faster than
// coreutils on a 3 MB agent), then sha256sum, then shasum.
// s_st FILE sets s_s to the file's stamp: its inode, mode, owner, size and
// change time to the nanosecond (GNU ls; "" where ls cannot say). Any write,
// chmod or replacement of the file changes it, and no user can set a change
// time: a stamp saved beside the agent when its hash was checked
// (.verified-HASH, ours and not a symlink, in the same private folder that
// s_chk vouches for) lets
// the next start skip hashing 10 MB again. A fleet of 100 hosts pays that
// hash on every one of them.
constexpr std::string_view kPrelude = R"SH(set -f
s_no() { printf 'sonde: %s\nhint: %s\n' "$1" "$2" >&2; exit @REFUSED@; }
s_chk() {
  s_u=$1; s_p=$2; s_q=$3; s_a=$2
  if [ -n "$s_q" ]; then set -- "$s_p" "$s_q"; else set -- "$s_p"; fi
  while [ "$s_a" != / ]; do s_a=${s_a%/*}; s_a=${s_a:-/}; set -- "$s_a" "$@"; done
  s_l=$(LC_ALL=C ls -ldn -- "$@") || s_no "cannot list $s_p and its parents" "check that $s_p exists and is readable"
  while read -r s_m s_k s_o s_z; do
    [ $# -gt 0 ] || break
    s_x=$1; shift
    if [ "$s_x" = "$s_q" ]; then
      case $s_m in -*) ;; *) s_no "$s_x is not a regular file ($s_m)" "remove it: sonde then uploads a fresh copy";; esac
    else
      case $s_m in d*) ;; *) s_no "$s_x is not a folder ($s_m)" "pass --remote-dir to a private folder";; esac
    fi
    if [ "$s_x" = "$s_p" ] || [ "$s_x" = "$s_q" ]; then
      [ "$s_o" = "$s_u" ] || s_no "$s_x belongs to uid $s_o, not to uid $s_u: another user could have planted the agent" "pass --remote-dir to a folder of your own (the default is ~/.cache/sonde)"
      case $s_m in ?????w*|????????w*) s_no "$s_x is writable by group or others ($s_m)" "chmod 700 $s_x, or pass --remote-dir to a private folder";; esac
    else
      [ "$s_o" = "$s_u" ] || [ "$s_o" = 0 ] || s_no "$s_x belongs to uid $s_o, who could swap $s_p" "pass --remote-dir to a folder whose parents belong to you or root"
      case $s_m in ?????????[tT]*) ;; ?????w*|????????w*) s_no "$s_x is writable by group or others and not sticky ($s_m): another user could swap $s_p" "chmod go-w $s_x, or pass --remote-dir to a private folder";; esac
    fi
  done <<S_EOF
$s_l
S_EOF
  [ $# -eq 0 ] || s_no "cannot check $1" "check that $s_p is readable"
}
s_h() {
  s_v=; s_n=0
  if command -v openssl >/dev/null 2>&1; then s_n=1; s_v=$(openssl dgst -sha256 -r < "$1" 2>/dev/null); s_v=${s_v%%[!0-9a-f]*}; fi
  if [ ${#s_v} -ne 64 ] && command -v sha256sum >/dev/null 2>&1; then s_n=1; s_v=$(sha256sum < "$1"); s_v=${s_v%%[!0-9a-f]*}; fi
  if [ ${#s_v} -ne 64 ] && command -v shasum >/dev/null 2>&1; then s_n=1; s_v=$(shasum -a 256 < "$1"); s_v=${s_v%%[!0-9a-f]*}; fi
  [ "$s_n" = 1 ] || s_no "no openssl, sha256sum or shasum on the target to check the agent with" "install coreutils (sha256sum) on the target"
}
s_st() {
  s_s=$(LC_ALL=C ls -ldni --time=ctime --full-time -- "$1" 2>/dev/null) || s_s=
}
)SH";

// As the SSH user: the cached agent, checked, hashed, exec'd. The login
// shell's cwd (the home) is restored: launched commands inherit it.
constexpr std::string_view kStartUser = R"SH(s_d=@DIR@; s_c=$PWD
cd -P -- "$s_d" 2>/dev/null || exit @MISSING@
s_p=$PWD; cd -- "$s_c" 2>/dev/null
s_e=$s_p/agent-@H@
[ -e "$s_e" ] || [ -h "$s_e" ] || exit @MISSING@
s_chk "$(id -u)" "$s_p" "$s_e"
s_st "$s_e"; s_k=
s_f=$s_p/.verified-@H@
[ -z "$s_s" ] || { [ -O "$s_f" ] && [ ! -h "$s_f" ] && read -r s_k < "$s_f"; } 2>/dev/null
if [ -z "$s_s" ] || [ "$s_k" != "$s_s" ]; then
  s_h "$s_e"
  [ "$s_v" = @H@ ] || { rm -f -- "$s_e" "$s_f"; exit @STALE@; }
  [ -z "$s_s" ] || (umask 077; rm -f -- "$s_f"; printf '%s\n' "$s_s" > "$s_f") 2>/dev/null
fi
exec "$s_e" serve@V@
)SH";

// As root (sudo -n /bin/sh -c ... "$user_copy"): root makes its own copy in
// a root-only folder from the user's file, hashes that copy (what the user
// does to their file afterwards no longer matters) and runs only it.
constexpr std::string_view kStartRoot = R"SH(umask 077; s_s=$1; s_r=@ROOTDIR@; s_e=$s_r/agent-@H@
[ -d "$s_r" ] || mkdir -m 700 -- "$s_r" 2>/dev/null || [ -d "$s_r" ] || s_no "cannot create $s_r as root" "check that ${s_r%/*} exists and root can write to it"
if [ ! -e "$s_e" ] && [ ! -h "$s_e" ]; then
  s_chk 0 "$s_r" ""
  [ -f "$s_s" ] || exit @MISSING@
  s_t=$(mktemp "$s_r/.agent-@H@.XXXXXX") || exit @FAIL@
  trap 'rm -f -- "$s_t"' 0
  cat < "$s_s" > "$s_t" || exit @FAIL@
  s_h "$s_t"
  [ "$s_v" = @H@ ] || exit @STALE@
  chmod 700 -- "$s_t" && mv -f -- "$s_t" "$s_e" || exit @FAIL@
  trap - 0
fi
s_chk 0 "$s_r" "$s_e"
s_h "$s_e"
[ "$s_v" = @H@ ] || { rm -f -- "$s_e"; exit @STALE@; }
exec "$s_e" serve@V@
)SH";

// As the SSH user, before sudo: only resolves the user's copy for root.
constexpr std::string_view kStartSudo = R"SH(s_d=@DIR@; s_c=$PWD; s_s=$s_d
if cd -P -- "$s_d" 2>/dev/null; then s_s=$PWD; cd -- "$s_c" 2>/dev/null; fi
exec sudo -n -- /bin/sh -c @ROOTSCRIPT@ sonde-deploy "$s_s/agent-@H@"
)SH";

// The agent arrives on stdin into a mktemp file of the checked folder, is
// hashed there and test-run (noexec mounts, wrong architecture), then
// renamed over agent-HASH: rename is atomic, so concurrent deploys of the
// same build all end with a whole, verified file.
constexpr std::string_view kUpload = R"SH(umask 077; s_d=@DIR@
[ -d "$s_d" ] || mkdir -p -- "$s_d" || exit @FAIL@
cd -P -- "$s_d" || exit @FAIL@
s_p=$PWD
s_chk "$(id -u)" "$s_p" ""
s_t=$(mktemp "$s_p/.agent-@H@.XXXXXX" 2>/dev/null) || { s_t=$s_p/.agent-@H@.$$; (set -C; : > "$s_t") || exit @FAIL@; }
trap 'rm -f -- "$s_t"' 0
cat > "$s_t" || exit @FAIL@
chmod 700 -- "$s_t" || exit @FAIL@
s_h "$s_t"
[ "$s_v" = @H@ ] || { echo "uploaded agent hash ${s_v:-(none)} != @H@" >&2; exit @MISMATCH@; }
"$s_t" self-hash >/dev/null 2>&1 || { echo "cannot run the uploaded agent in $s_p (noexec mount, or not x86-64 Linux: $(uname -sm))" >&2; exit @FAIL@; }
mv -f -- "$s_t" "$s_p/agent-@H@" || exit @FAIL@
trap - 0
)SH";

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

std::string fill(std::string_view body, const std::string& dir_word, const std::string& hash,
                 bool verbose) {
  std::string s(kPrelude);
  s += body;
  // The hash is 64 hex digits (agent_hash checks), safe unquoted.
  replace_all(s, "@H@", hash);
  replace_all(s, "@V@", verbose ? " -v" : "");
  replace_all(s, "@REFUSED@", std::to_string(kExitRefused));
  replace_all(s, "@FAIL@", std::to_string(kExitUploadFailed));
  replace_all(s, "@MISSING@", std::to_string(kExitAgentMissing));
  replace_all(s, "@STALE@", std::to_string(kExitAgentStale));
  replace_all(s, "@MISMATCH@", std::to_string(kExitHashMismatch));
  replace_all(s, "@ROOTDIR@", shell_quote(kRootAgentDir));
  replace_all(s, "@DIR@", dir_word);  // last: a dir word holds no @...@ of ours
  return s;
}

}  // namespace

std::string remote_dir_word(const std::string& dir) {
  if (dir.empty()) return "\"$HOME\"/.cache/sonde";
  if (dir == "~") return "\"$HOME\"";
  if (dir.rfind("~/", 0) == 0) return "\"$HOME\"/" + shell_quote(dir.substr(2));
  return shell_quote(dir);
}

std::string deploy_start_script(const std::string& dir_word, const std::string& hash, bool sudo,
                                bool verbose) {
  if (!sudo) return fill(kStartUser, dir_word, hash, verbose);
  std::string root = fill(kStartRoot, "", hash, verbose);
  std::string outer(kStartSudo);
  replace_all(outer, "@ROOTSCRIPT@", shell_quote(root));
  // fill() adds the prelude to the outer script too: harmless, and it keeps
  // one substitution path. The root script is already filled and quoted.
  return fill(outer, dir_word, hash, verbose);
}

std::string deploy_upload_script(const std::string& dir_word, const std::string& hash) {
  return fill(kUpload, dir_word, hash, false);
}

}  // namespace sonde::controller
