#!/usr/bin/env bash
# Benchmark: the cost of injecting a fault into one syscall of a mixed
# workload, `sonde inject` (launch mode, seccomp filter) beside
# `strace -f --seccomp-bpf -e trace=openat -e inject=openat:...` (the same
# kernel filter, the same rule), alternated in one run. The workload times
# its own loop (tests/targets/syscall_loop mixed N: per round a getppid, a
# pipe write+read and an openat+close), so start and exit are not counted.
# The rule fails every 100th openat of /dev/null (-P /dev/null: the dynamic
# loader's own openat do not count) with ENOENT; both tools must make the
# loop see the same number of failures.
#
#   bench/inject/run.sh [--runs N] [--rounds N]
#
# Overhead = (traced - untraced) / untraced. Goal: sonde's overhead <= 0.5x
# strace's. Also shown, for information: every openat failing (each one a
# fault), and sonde with --colocate (tracer and tracee on one CPU).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=5
rounds=100000
sonde=${SONDE:-$repo/build/bin/sonde}
loop=$repo/build/tests/targets/syscall_loop

while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: bench/inject/run.sh [--runs N] [--rounds N]" >&2; exit 2 ;;
  esac
done
for f in "$sonde" "$loop"; do
  [[ -x $f ]] || { echo "bench/inject: $f missing: build first (scripts/build.sh)" >&2; exit 1; }
done
command -v strace >/dev/null || { echo "bench/inject: strace missing: apt-get install strace" >&2; exit 77; }

tmp=$(mktemp -d /tmp/sonde-bench-inject-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

rare="openat:error=ENOENT:when=100+100"
every="openat:error=ENOENT"
expect_rare=$((rounds / 100))

# Prints "NS FAILED" of one run of a mode.
run_mode() {
  local out=$tmp/out
  case $1 in
    untraced) timeout 300 "$loop" mixed "$rounds" >"$out" ;;
    strace_rare) timeout 300 strace -f --seccomp-bpf -qq -o /dev/null -P /dev/null -e trace=openat -e inject="$rare" "$loop" mixed "$rounds" >"$out" ;;
    sonde_rare) timeout 300 "$sonde" inject local -P /dev/null -e inject="$rare" -- "$loop" mixed "$rounds" 2>"$out" >/dev/null ;;
    sonde_rare_colo) timeout 300 "$sonde" inject local -P /dev/null --colocate -e inject="$rare" -- "$loop" mixed "$rounds" 2>"$out" >/dev/null ;;
    strace_every) timeout 300 strace -f --seccomp-bpf -qq -o /dev/null -P /dev/null -e trace=openat -e inject="$every" "$loop" mixed "$rounds" >"$out" ;;
    sonde_every) timeout 300 "$sonde" inject local -P /dev/null -e inject="$every" -- "$loop" mixed "$rounds" 2>"$out" >/dev/null ;;
  esac
  awk '/^DONE /{print $3, $5; exit}' "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

modes=(untraced strace_rare sonde_rare sonde_rare_colo strace_every sonde_every)
declare -A label=(
  [untraced]="untraced"
  [strace_rare]="strace --seccomp-bpf -P /dev/null -e inject=$rare"
  [sonde_rare]="sonde inject -P /dev/null -e inject=$rare"
  [sonde_rare_colo]="sonde inject --colocate (same rule)"
  [strace_every]="strace --seccomp-bpf -P /dev/null -e inject=$every"
  [sonde_every]="sonde inject -P /dev/null -e inject=$every"
)
declare -A samples=() failed=()
echo "bench/inject: $runs runs per mode, alternated, $rounds rounds ($(nproc) CPUs, $(uname -r), $(strace -V | head -1))"
status=0
for ((i = 0; i < runs; i++)); do
  for m in "${modes[@]}"; do
    read -r ns f <<<"$(run_mode "$m" || true)"
    [[ -n ${ns:-} ]] || { echo "bench/inject: $m printed no DONE line" >&2; status=1; continue; }
    samples[$m]+="$ns "
    failed[$m]=$f
  done
done
declare -A med=()
for m in "${modes[@]}"; do med[$m]=$(tr ' ' '\n' <<<"${samples[$m]:-}" | awk 'NF' | median); done
base=${med[untraced]}
printf '  %-60s %10s %10s %8s\n' mode "median ms" overhead "failed"
for m in "${modes[@]}"; do
  awk -v l="${label[$m]}" -v t="${med[$m]}" -v b="$base" -v f="${failed[$m]:-?}" \
    'BEGIN {printf "  %-60s %10.1f %9.2fx %8s\n", l, t/1e6, (t-b)/b, f}'
done
for m in strace_rare sonde_rare sonde_rare_colo strace_every sonde_every; do
  want=$expect_rare
  [[ $m == *every ]] && want=$rounds
  if [[ ${failed[$m]:-} != "$want" ]]; then
    echo "  $m: the loop saw ${failed[$m]:-?} failed openat, not $want" >&2
    status=1
  fi
done
ratio() {
  awk -v s="${med[$1]}" -v a="${med[$2]}" -v b="$base" -v l="$3" -v g="$4" 'BEGIN {
    r = (s-b)/(a-b); printf "  %-60s %6.2f  %s\n", l, r, (g == "" ? "(info)" : (r <= g ? "PASS" : "MISS")) }'
}
echo "  overhead ratio to strace:"
ratio sonde_rare strace_rare "sonde / strace, one openat in 100 failed (goal <= 0.5)" 0.5
ratio sonde_rare_colo strace_rare "sonde --colocate / strace, same rule" ""
ratio sonde_every strace_every "sonde / strace, every openat failed" ""
exit $status
