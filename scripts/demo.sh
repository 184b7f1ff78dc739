#!/usr/bin/env bash
# A real inspection of this machine: installs what is missing, builds, starts
# a small demo workload (a process holding a file, a pipe, TCP and UDP
# sockets and two named threads, plus a CPU burner) and looks at it with
# `sonde hello`, `sonde ps` and `sonde inspect` through the local transport.
# Every step is bounded: the workload stops by itself after 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# Only what the demo runs: the two programs and the demo workload. Without the
# tests, GoogleTest is not needed (scripts/build.sh turns them back on).
# C++ at -O1 without debug info: most of the compile is code generation for
# the templates every file instantiates, and -O1 -g0 costs a third less CPU
# than -O2 -g (bench/README.md, "First build"). The demo's C targets keep
# -O2 -g, so their stacks and profiles read as they do in the tests.
build=build
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSONDE_TESTS=OFF \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELEASE=-O2 -g -DNDEBUG" >/dev/null
# The static agent's link warns about glibc's NSS functions; the log keeps that
# and is shown only when the build fails.
echo "building sonde, sonde-agent and the demo workload (about 2 minutes on 2 cores)..."
log=$build/demo-build.log
if ! cmake --build "$build" -j"$(nproc)" --target sonde sonde-agent fd_holder cpu_burner >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "demo: the build failed; the whole log is $log" >&2
  exit 1
fi
SONDE=$build/bin/sonde
TARGETS=$build/tests/targets

workload=()
cleanup() { for p in "${workload[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The demo workload: fd_holder prints "READY <listen port> <client port>".
exec 3< <(timeout 60 "$TARGETS/fd_holder" /etc/hostname)
read -r -t 5 ready lport cport <&3
holder=$(pgrep -n -f "$TARGETS/fd_holder" || true)
timeout 60 "$TARGETS/cpu_burner" 60 >/dev/null &
workload+=("$holder" "$!")
[[ "$ready" == READY ]] || { echo "demo workload did not start" >&2; exit 1; }

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$SONDE" hello local
step "$SONDE" ps local --limit 8
step "$SONDE" ps local --name 'fd_holder|cpu_burner' --sort pid
step "$SONDE" inspect local -p "$holder"
step "$SONDE" stack local -p "$holder"
burner=$(pgrep -n -f "$TARGETS/cpu_burner")
step "$SONDE" profile local -p "$burner" --duration 3s --top 8 -o /tmp/sonde-demo-profile.svg
echo "(open /tmp/sonde-demo-profile.svg in a browser: hover, click to zoom, Ctrl-F to search)"
# The network ladder against the workload's listening port (it never accepts:
# few attempts, so its backlog of 4 is not filled).
step "$SONDE" connect "127.0.0.1:$lport" --count 1
step "$SONDE" diagnose "127.0.0.1:$lport" --count 1
echo
echo "The same commands work on any host you can ssh to: $SONDE ps user@host"
echo "(the agent is uploaded on first use to ~/.cache/sonde on the target)."
