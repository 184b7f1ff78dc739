#!/usr/bin/env bash
# Benchmark: tracing overhead of `sonde trace` against strace, in one run,
# alternated. The workload times its own syscall loop (tests/targets/
# syscall_loop prints "DONE N <ns>"), so process start, attach and exit are
# not counted: what is measured is what the traced process suffers.
#
#   bench/trace/run.sh [--runs N] [--getppid N] [--rw N] [--sock N] [--only "MODE..."]
#
# Modes, for each workload (N getppid calls; N one-byte write+read pairs):
#   untraced
#   strace -c -f            | sonde trace -c (launch) | sonde trace -c -p (attach)
#   strace -f -o /dev/null  | sonde trace -o /dev/null (launch, every line formatted)
#   sonde trace -c -e trace=connect (launch: seccomp-bpf, nothing stops)
#   and, for information, strace under `taskset -c 0` (strace and its child on
#   one CPU: the same placement sonde's --colocate gives itself)
#   bench/trace/ptrace_loop (the anchor for -c: the least a PTRACE_SYSCALL
#   tracer does, on the tracee's CPU; built here with cc)
# A third workload, N one-byte write+read pairs over a loopback TCP
# connection (every call on a socket fd), runs `sonde trace -o /dev/null`
# with and without -y, for the cost of naming sockets.
# sonde runs with --colocate (tracer and tracee on one CPU; see the note at
# the end), and also without it for the -c launch mode, to show placement.
# Goals: sonde's overhead <= strace's in every mode (ratio <= 1.0), and live
# -o /dev/null <= taskset strace's; -c overhead <= 1.3x ptrace_loop's; the
# seccomp mode <= 1.1x untraced; -y <= 1.2x the same run without -y.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=5
n_getppid=200000
n_rw=50000
n_sock=20000
only=""
sonde=${SONDE:-$repo/build/bin/sonde}
loop=$repo/build/tests/targets/syscall_loop

while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --getppid) n_getppid=$2; shift 2 ;;
    --rw) n_rw=$2; shift 2 ;;
    --sock) n_sock=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: bench/trace/run.sh [--runs N] [--getppid N] [--rw N] [--sock N] [--only \"MODE...\"]" >&2; exit 2 ;;
  esac
done
for f in "$sonde" "$loop"; do
  [[ -x $f ]] || { echo "bench/trace: $f missing: build first (scripts/build.sh)" >&2; exit 1; }
done
command -v strace >/dev/null || { echo "bench/trace: strace missing: apt-get install strace" >&2; exit 77; }

tmp=$(mktemp -d /tmp/sonde-bench-trace-XXXXXX)
trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT

anchor=$tmp/ptrace_loop
cc -O2 -o "$anchor" "$repo/bench/trace/ptrace_loop.c" || { echo "bench/trace: cannot build ptrace_loop.c" >&2; exit 1; }

# Prints the loop ns from a "DONE N NS" line in file $1.
loop_ns() { awk '/^DONE /{print $3; exit}' "$1"; }

# Each mode prints the loop ns of one run on stdout.
run_mode() {
  local mode=$1; shift
  local out=$tmp/out err=$tmp/err
  case $mode in
    untraced) timeout 120 "$loop" "$@" >"$out" ;;
    strace_c) timeout 120 strace -c -f -o "$tmp/strace.txt" "$loop" "$@" >"$out" ;;
    strace_o) timeout 120 strace -f -o /dev/null "$loop" "$@" >"$out" ;;
    strace_c_pinned) timeout 120 taskset -c 0 strace -c -f -o "$tmp/strace.txt" "$loop" "$@" >"$out" ;;
    strace_o_pinned) timeout 120 taskset -c 0 strace -f -o /dev/null "$loop" "$@" >"$out" ;;
    sonde_c) timeout 120 "$sonde" trace local -c --colocate -- "$loop" "$@" >"$tmp/summary" 2>"$out" ;;
    sonde_c_nocolo) timeout 120 "$sonde" trace local -c -- "$loop" "$@" >"$tmp/summary" 2>"$out" ;;
    sonde_o) timeout 120 "$sonde" trace local --colocate -o /dev/null -- "$loop" "$@" 2>"$out" ;;
    sonde_o_y) timeout 120 "$sonde" trace local --colocate -y -o /dev/null -- "$loop" "$@" 2>"$out" ;;
    anchor) timeout 120 "$anchor" "$loop" "$@" >"$out" 2>/dev/null ;;
    sonde_seccomp) timeout 120 "$sonde" trace local -c -e trace=connect -- "$loop" "$@" >"$tmp/summary" 2>"$out" ;;
    sonde_attach)
      # The workload waits for SIGUSR1 so the loop starts only once attached.
      # (not under timeout: we must attach to the loop itself; it gives up
      # waiting by itself after 60 s)
      "$loop" wait "$@" >"$out" &
      local pid=$!
      for _ in $(seq 100); do grep -q READY "$out" 2>/dev/null && break; sleep 0.02; done
      timeout 120 "$sonde" trace local -c --colocate -p "$pid" >"$tmp/summary" 2>"$err" &
      local tracer=$!
      for _ in $(seq 250); do
        [[ $(awk '/TracerPid/{print $2}' /proc/$pid/status 2>/dev/null) != 0 ]] && break
        sleep 0.02
      done
      kill -USR1 "$pid"
      wait "$pid" || true
      wait "$tracer" || true
      ;;
  esac
  loop_ns "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

all_modes=(untraced anchor strace_c strace_c_pinned sonde_c sonde_c_nocolo sonde_attach strace_o strace_o_pinned sonde_o sonde_seccomp)
sock_modes=(untraced sonde_o sonde_o_y)
# --only: the modes to run (untraced always runs: every figure is against it).
pick() {
  local m
  for m in "$@"; do
    if [[ -z $only || $m == untraced || " $only " == *" $m "* ]]; then printf '%s ' "$m"; fi
  done
}
declare -A label=(
  [untraced]="untraced"
  [strace_c]="strace -c -f"
  [strace_c_pinned]="taskset -c 0 strace -c -f (both on 1 CPU)"
  [strace_o_pinned]="taskset -c 0 strace -f -o /dev/null"
  [sonde_c]="sonde trace -c (launch)"
  [sonde_c_nocolo]="sonde trace -c (launch, no colocate)"
  [sonde_attach]="sonde trace -c -p (attach)"
  [strace_o]="strace -f -o /dev/null"
  [sonde_o]="sonde trace -o /dev/null"
  [sonde_seccomp]="sonde trace -c -e trace=connect"
  [anchor]="ptrace_loop (minimal PTRACE_SYSCALL, 1 CPU)"
  [sonde_o_y]="sonde trace -y -o /dev/null"
)

echo "bench/trace: $runs runs per mode, alternated ($(nproc) CPUs, $(uname -r), $(strace -V | head -1))"
status=0
for workload in "getppid $n_getppid" "rw $n_rw" "sock $n_sock"; do
  if [[ $workload == sock* ]]; then read -ra modes <<<"$(pick "${sock_modes[@]}")"; else read -ra modes <<<"$(pick "${all_modes[@]}")"; fi
  ((${#modes[@]} > 1)) || continue
  declare -A samples=()
  for ((i = 0; i < runs; i++)); do
    for m in "${modes[@]}"; do
      # shellcheck disable=SC2086
      ns=$(run_mode "$m" $workload || true)
      [[ -n $ns ]] && samples[$m]+="$ns "
    done
  done
  declare -A med=() spread=()
  for m in "${modes[@]}"; do
    med[$m]=$(tr ' ' '\n' <<<"${samples[$m]:-}" | awk 'NF' | median)
    spread[$m]=$(tr ' ' '\n' <<<"${samples[$m]:-}" | awk 'NF' | sort -n | awk 'NR==1{lo=$1} {hi=$1} END {if (NR) printf "%.1f-%.1f", lo/1e6, hi/1e6}')
  done
  base=${med[untraced]}
  echo
  echo "workload: $workload"
  printf '  %-44s %12s %12s  %s\n' mode "median ms" "overhead" "range ms"
  for m in "${modes[@]}"; do
    awk -v l="${label[$m]}" -v t="${med[$m]}" -v b="$base" -v r="${spread[$m]}" \
      'BEGIN {printf "  %-44s %12.1f %11.1fx  %s\n", l, t/1e6, (t-b)/b, r}'
  done
  ratio() {  # sonde mode, anchor mode, label [, goal]
    awk -v s="${med[$1]:-nan}" -v a="${med[$2]:-nan}" -v b="$base" -v l="$3" -v g="${4:-1.0}" 'BEGIN {
      if (s == "nan" || a == "nan") { printf "  %-56s %6s  %s\n", l, "n/a", "not run"; exit }
      r = (s-b)/(a-b); printf "  %-56s %6.2f  %s\n", l, r, (r <= g ? "PASS" : "MISS") }'
  }
  if [[ $workload == sock* ]]; then
    awk -v y="${med[sonde_o_y]:-nan}" -v o="${med[sonde_o]:-nan}" 'BEGIN {
      if (y == "nan" || o == "nan") exit
      r = y/o; printf "  %-56s %6.2fx %s\n", "-y / without -y, same workload (goal <= 1.2)", r, (r <= 1.2 ? "PASS" : "MISS") }'
    unset samples med spread
    continue
  fi
  echo "  overhead ratio to strace (goal <= 1.0):"
  ratio sonde_c strace_c "sonde -c launch / strace -c"
  ratio sonde_c_nocolo strace_c "sonde -c launch, no colocate / strace -c"
  ratio sonde_attach strace_c "sonde -c attach / strace -c"
  ratio sonde_o strace_o "sonde -o /dev/null / strace -o /dev/null"
  echo "  against strace pinned to one CPU too (placement equal; the -o line is a goal):"
  ratio sonde_c strace_c_pinned "sonde -c launch / taskset strace -c"
  ratio sonde_o strace_o_pinned "sonde -o /dev/null / taskset strace -o /dev/null (goal)"
  echo "  against the minimal PTRACE_SYSCALL loop on one CPU (goal <= 1.3):"
  ratio sonde_c anchor "sonde -c launch / ptrace_loop" 1.3
  awk -v s="${med[sonde_seccomp]:-nan}" -v b="$base" 'BEGIN {
    if (s == "nan") exit
    r = s/b; printf "  %-52s %6.2fx %s\n", "seccomp launch -e trace=connect / untraced (goal <= 1.1)", r, (r <= 1.1 ? "PASS" : "MISS") }'
  unset samples med spread
done
echo
echo "note: a ptrace stop costs ~2 us when tracer and tracee share a CPU and ~35 us when"
echo "they do not; --colocate pins both to one CPU while tracing (opt-in, restored after)."
exit $status
