#!/usr/bin/env bash
# Benchmark: what `sonde profile` costs the process it samples, against
# `perf record --call-graph dwarf`, in one run, alternated; then how long
# `sonde stack` takes against eu-stack and gdb.
#
#   bench/profile/run.sh [--runs N] [--work N] [--stack-runs N]
#                         (defaults 5, 3000 units of ~1 ms, 15)
#
# Part 1, profiling overhead. The workload is tests/targets/stack_tracee_nofp_pie
# `work-wait N`: it prints READY, waits for SIGUSR1, runs N fixed CPU units
# (main → work_unit) and prints "WORK <ns> ns", its own CLOCK_MONOTONIC time
# for the loop. The profiler attaches first, then the loop starts: process
# start, attach and detach are not counted. Configurations, alternated:
#   unprofiled
#   sonde profile --hz 99  --sampler perf      (goal: <= 1% slower)
#   sonde profile --hz 999 --sampler perf      (goal: <= 5% slower)
#   sonde profile --hz 99  --sampler ptrace    (informational)
#   sonde profile --hz 999 --sampler ptrace    (informational)
#   perf record -F 99 --call-graph dwarf       (the anchor)
# Beside each: samples, and the profiler's own CPU per sample in µs: the
# agent's, from the Profile's "agent_cpu_ms" when the result has it, else
# utime+stime of the sonde-agent process polled from /proc every 50 ms
# until it exits (marked ~; clock-tick resolution, 10 ms); perf record's
# polled the same way, with its sample count from its own summary line.
#
# Part 2, stack dump latency: `sonde stack local -p PID`, `eu-stack -p PID`
# and `gdb -batch -nx -p PID -ex 'thread apply all bt'` on `many 8` (9
# threads parked in nanosleep), each run timed whole (start to exit) with
# $EPOCHREALTIME, alternated, medians. debuginfod is off for eu-stack and gdb
# (no network in the timing). sonde's output has file:line and inline frames,
# which `eu-stack -p` leaves out: `eu-stack -s -i -p` (the same content) runs
# beside them for information. sonde keeps uncompressed copies of compressed
# debug files and its DWARF results per build-id (SONDE_CACHE_DIR): "sonde
# stack" is the usual case, the cache warm from an earlier run; "cold" runs
# each start from an empty cache (the first `sonde stack` on a host), timed
# apart, before the alternation.
#
# Exit status: 0 when every run produced a figure (PASS or MISS), 1 when a run
# failed, 77 when perf, eu-stack or gdb is missing (the parts that need it
# are skipped and the rest still runs).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=5
work=3000
stack_runs=15
sonde=${SONDE:-$repo/build/bin/sonde}
tracee=$repo/build/tests/targets/stack_tracee_nofp_pie

usage() {
  echo "usage: bench/profile/run.sh [--runs N] [--work N] [--stack-runs N]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --runs) (($# >= 2)) || usage; runs=$2; shift 2 ;;
    --work) (($# >= 2)) || usage; work=$2; shift 2 ;;
    --stack-runs) (($# >= 2)) || usage; stack_runs=$2; shift 2 ;;
    *) usage ;;
  esac
done
for v in "$runs" "$work" "$stack_runs"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/profile: counts must be positive integers" >&2; exit 2; }
done
for f in "$sonde" "$tracee"; do
  [[ -x $f ]] || { echo "bench/profile: $f missing: build first (scripts/build.sh)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "bench/profile: python3 missing (reads the Profile JSON)" >&2; exit 1; }
missing=0
have_perf=1 have_eu=1 have_gdb=1
command -v perf >/dev/null || { have_perf=0; missing=1; echo "bench/profile: perf missing: the perf record anchor is skipped (apt-get install linux-perf)" >&2; }
command -v eu-stack >/dev/null || { have_eu=0; missing=1; echo "bench/profile: eu-stack missing: skipped (apt-get install elfutils)" >&2; }
command -v gdb >/dev/null || { have_gdb=0; missing=1; echo "bench/profile: gdb missing: skipped (apt-get install gdb)" >&2; }

tmp=$(mktemp -d /tmp/sonde-bench-profile-XXXXXX)
cleanup() {
  local j
  for j in $(jobs -p); do kill -9 "$j" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clk_tck=$(getconf CLK_TCK)
status=0

now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# Polls "$@" (a command) every 20 ms for at most $1 seconds; 0 once it holds.
wait_for() {
  local secs=$1; shift
  local i n=$((secs * 50))
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.02
  done
  "$@"
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }
ready_in() { grep -q '^READY ' "$1" 2>/dev/null; }
traced() { [[ $(awk '/^TracerPid:/{print $2}' "/proc/$1/status" 2>/dev/null) =~ ^[1-9] ]]; }
has_perf_fd() {
  local fd
  for fd in "/proc/$1/fd/"*; do
    [[ $(readlink "$fd" 2>/dev/null) == *perf_event* ]] && return 0
  done
  return 1
}
# utime+stime of a process, in ms (the fields after the ")" of /proc/PID/stat).
cpu_ms() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  awk -v t="$clk_tck" '{print int(($12 + $13) * 1000 / t)}' <<<"$s"
}
# The first process named $2 at or below pid $1 (timeout → sonde → sonde-agent).
find_below() {
  local c
  [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] && { echo "$1"; return 0; }
  for c in $(pgrep -P "$1" 2>/dev/null); do
    find_below "$c" "$2" && return 0
  done
  return 1
}
# Waits up to $1 s for find_below $2 $3; prints the pid.
wait_below() {
  local i
  for ((i = 0; i < $1 * 50; i++)); do
    find_below "$2" "$3" && return 0
    sleep 0.02
  done
  return 1
}

# Runs one configuration; prints "WORK_NS SAMPLES CPU_MS CPU_SOURCE".
run_config() {
  local cfg=$1
  local out=$tmp/tracee.out pout=$tmp/profiler.out perr=$tmp/profiler.err
  rm -f "$out" "$pout" "$perr" "$tmp/perf.data"
  "$tracee" work-wait "$work" >"$out" 2>/dev/null &
  local pid=$!
  wait_for 5 ready_in "$out" || { echo "bench/profile: tracee not READY" >&2; kill -9 "$pid"; return 1; }

  local prof="" watch=$pid
  case $cfg in
    unprofiled) ;;
    sonde_perf_99 | sonde_perf_999 | sonde_ptrace_99 | sonde_ptrace_999)
      local sampler=${cfg#sonde_} hz=${cfg##*_}
      sampler=${sampler%_*}
      # --duration only bounds it: the profile ends when the target exits.
      timeout 300 "$sonde" profile local -p "$pid" --hz "$hz" --sampler "$sampler" \
        --duration 240s -o "$tmp/p.folded" --json >"$pout" 2>"$perr" &
      prof=$!
      local agent
      agent=$(wait_below 10 "$prof" sonde-agent) || agent=""
      if [[ -n $agent ]]; then
        watch=$agent
        if [[ $sampler == perf ]]; then
          wait_for 5 has_perf_fd "$agent" || echo "bench/profile: $cfg: no perf_event fd seen in the agent" >&2
        else
          wait_for 5 traced "$pid" || echo "bench/profile: $cfg: target not seen traced" >&2
        fi
      else
        echo "bench/profile: $cfg: no sonde-agent under sonde: $(cat "$perr")" >&2
      fi
      ;;
    perf_record)
      timeout 300 perf record -F 99 --call-graph dwarf -p "$pid" -o "$tmp/perf.data" \
        >"$pout" 2>"$perr" &
      prof=$!
      local perfpid
      perfpid=$(wait_below 10 "$prof" perf) || perfpid=""
      if [[ -n $perfpid ]]; then
        watch=$perfpid
        wait_for 10 has_perf_fd "$perfpid" || echo "bench/profile: perf record did not open its events" >&2
      else
        echo "bench/profile: perf record did not start: $(cat "$perr")" >&2
      fi
      ;;
  esac
  # Settle: the sampler's first tick is behind us before the loop starts.
  sleep 0.2
  kill -USR1 "$pid"

  # The same 50 ms polling loop in every configuration; it keeps the last
  # CPU reading of the profiler before it exits.
  local cpu="" c deadline=$((SECONDS + 600))
  while alive "$pid" || { [[ -n $prof ]] && alive "$watch"; }; do
    c=$(cpu_ms "$watch" 2>/dev/null) && [[ $watch != "$pid" ]] && cpu=$c
    ((SECONDS < deadline)) || break
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  if [[ -n $prof ]]; then
    # Should be gone with its target; if not, Ctrl-C, then give up on it.
    if ! wait_for 5 gone "$prof"; then
      kill -INT "$prof" 2>/dev/null || true
      wait_for 10 gone "$prof" || kill -9 "$prof" 2>/dev/null || true
    fi
    wait "$prof" 2>/dev/null || true
  fi

  local ns samples="-" src="polled"
  ns=$(awk '/^WORK /{print $2; exit}' "$out")
  [[ -n $ns ]] || { echo "bench/profile: $cfg: no WORK line" >&2; return 1; }
  case $cfg in
    sonde_*)
      local parsed
      parsed=$(python3 -c '
import json, sys
try:
    p = json.load(open(sys.argv[1]))
except Exception:
    print("- -"); sys.exit()
a = p.get("agent_cpu_ms")
print(p.get("samples", "-"), "-" if a is None else a)' "$pout")
      samples=${parsed% *}
      local acpu=${parsed#* }
      if [[ $acpu != "-" ]]; then cpu=$acpu src="agent_cpu_ms"; fi
      if [[ $samples == "-" ]]; then
        echo "bench/profile: $cfg: no Profile JSON: $(head -c 300 "$perr")" >&2
        return 1
      fi
      ;;
    perf_record)
      samples=$(grep -o '([0-9]* samples)' "$perr" | tr -dc '0-9')
      [[ -n $samples ]] || samples="-"
      ;;
  esac
  echo "$ns $samples ${cpu:--} $src"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
p90() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "nan"} else {i=int(NR*0.9+0.999); if (i<1) i=1; print a[i]}}'; }

configs=(unprofiled sonde_perf_99 sonde_perf_999 sonde_ptrace_99 sonde_ptrace_999)
((have_perf)) && configs+=(perf_record)
declare -A label=(
  [unprofiled]="unprofiled"
  [sonde_perf_99]="sonde profile --hz 99 --sampler perf"
  [sonde_perf_999]="sonde profile --hz 999 --sampler perf"
  [sonde_ptrace_99]="sonde profile --hz 99 --sampler ptrace"
  [sonde_ptrace_999]="sonde profile --hz 999 --sampler ptrace"
  [perf_record]="perf record -F 99 --call-graph dwarf"
)
declare -A goal=([sonde_perf_99]=1 [sonde_perf_999]=5)

perf_v=$( ((have_perf)) && perf --version 2>/dev/null || echo "no perf")
echo "bench/profile: $runs rounds, work $work units, alternated ($(nproc) CPUs, $(uname -r), $perf_v)"
# Other load skews every figure here: say how busy the machine was.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A t_ns=() n_samp=() c_ms=() c_src=()
n=${#configs[@]}
for ((r = 0; r < runs; r++)); do
  for ((k = 0; k < n; k++)); do
    cfg=${configs[(k + r) % n]}
    if line=$(run_config "$cfg"); then
      read -r ns s c src <<<"$line"
      t_ns[$cfg]+="$ns "
      [[ $s != "-" ]] && n_samp[$cfg]+="$s "
      [[ $c != "-" && $s != "-" && $s -gt 0 ]] && c_ms[$cfg]+="$(awk -v c="$c" -v s="$s" 'BEGIN{print c*1000/s}') "
      c_src[$cfg]=$src
    else
      status=1
    fi
  done
done

base=$(tr ' ' '\n' <<<"${t_ns[unprofiled]:-}" | awk 'NF' | median)
echo
printf '  %-42s %10s %9s %8s %11s  %s\n' configuration "median ms" slowdown samples "µs/sample" goal
for cfg in "${configs[@]}"; do
  med=$(tr ' ' '\n' <<<"${t_ns[$cfg]:-}" | awk 'NF' | median)
  samp=$(tr ' ' '\n' <<<"${n_samp[$cfg]:-}" | awk 'NF' | median)
  us=$(tr ' ' '\n' <<<"${c_ms[$cfg]:-}" | awk 'NF' | median)
  mark=""
  [[ ${c_src[$cfg]:-} == polled && $cfg != unprofiled ]] && mark="~"
  awk -v l="${label[$cfg]}" -v t="$med" -v b="$base" -v s="$samp" -v u="$us" -v m="$mark" \
    -v g="${goal[$cfg]:-}" -v cfg="$cfg" 'BEGIN {
      if (t == "nan") { printf "  %-42s %10s\n", l, "n/a"; exit }
      slow = (cfg == "unprofiled" || b == "nan") ? "-" : sprintf("%+.2f%%", (t - b) / b * 100)
      su = (u == "nan" || cfg == "unprofiled") ? "-" : sprintf("%s%.1f", m, u)
      ss = (s == "nan" || cfg == "unprofiled") ? "-" : s
      gs = ""
      if (g != "" && b != "nan") gs = sprintf("<= %d%%  %s", g, ((t - b) / b * 100 <= g) ? "PASS" : "MISS")
      printf "  %-42s %10.1f %9s %8s %11s  %s\n", l, t / 1e6, slow, ss, su, gs }'
done
echo "  (µs/sample: the profiler's CPU time per sample; ~ = polled utime+stime, 10 ms ticks)"

# ---------------------------------------------------------------------------
# Part 2: stack dump latency on 9 threads.
echo
"$tracee" many 8 >"$tmp/many.out" 2>/dev/null &
many=$!
wait_for 5 ready_in "$tmp/many.out" || { echo "bench/profile: many 8 not READY" >&2; exit 1; }
tools=(sonde)
((have_eu)) && tools+=(eu-stack eu-stack-si)
((have_gdb)) && tools+=(gdb)
declare -A st_ms=()
# Cold: an empty cache each time (3 runs), then one more run to warm the
# cache the alternated runs use.
cold_runs=3
for ((r = 0; r < cold_runs; r++)); do
  t0=$(now_us)
  SONDE_CACHE_DIR="$tmp/cold-$r" timeout 60 "$sonde" stack local -p "$many" >"$tmp/stack.out" 2>"$tmp/stack.err" && rc=0 || rc=$?
  t1=$(now_us)
  if ((rc != 0)) || ! grep -q park_thread "$tmp/stack.out"; then
    echo "bench/profile: cold sonde stack failed (exit $rc): $(head -c 300 "$tmp/stack.err")" >&2
    status=1
    continue
  fi
  st_ms[sonde-cold]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)/1000}') "
  rm -rf "$tmp/cold-$r"
done
export SONDE_CACHE_DIR="$tmp/warm"
timeout 60 "$sonde" stack local -p "$many" >/dev/null 2>&1 || true
m=${#tools[@]}
for ((r = 0; r < stack_runs; r++)); do
  for ((k = 0; k < m; k++)); do
    tool=${tools[(k + r) % m]}
    t0=$(now_us)
    case $tool in
      sonde) timeout 60 "$sonde" stack local -p "$many" >"$tmp/stack.out" 2>"$tmp/stack.err" ;;
      eu-stack) DEBUGINFOD_URLS='' timeout 60 eu-stack -p "$many" >"$tmp/stack.out" 2>"$tmp/stack.err" ;;
      eu-stack-si) DEBUGINFOD_URLS='' timeout 60 eu-stack -s -i -p "$many" >"$tmp/stack.out" 2>"$tmp/stack.err" ;;
      gdb) timeout 60 gdb -batch -nx -iex 'set debuginfod enabled off' -p "$many" \
        -ex 'thread apply all bt' >"$tmp/stack.out" 2>"$tmp/stack.err" ;;
    esac && rc=0 || rc=$?
    t1=$(now_us)
    if ((rc != 0)) || ! grep -q park_thread "$tmp/stack.out"; then
      echo "bench/profile: $tool failed (exit $rc): $(head -c 300 "$tmp/stack.err")" >&2
      status=1
      continue
    fi
    alive "$many" || { echo "bench/profile: the target died under $tool" >&2; exit 1; }
    st_ms[$tool]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)/1000}') "
  done
done
kill "$many" 2>/dev/null || true
echo "stack dump of 9 threads (many 8), $stack_runs runs each, alternated:"
printf '  %-50s %10s %10s\n' tool "median ms" "p90 ms"
declare -A st_med=()
for tool in "${tools[@]}" sonde-cold; do
  st_med[$tool]=$(tr ' ' '\n' <<<"${st_ms[$tool]:-}" | awk 'NF' | median)
  pp=$(tr ' ' '\n' <<<"${st_ms[$tool]:-}" | awk 'NF' | p90)
  case $tool in
    sonde) l="sonde stack local -p PID" ;;
    sonde-cold) l="sonde stack, cold cache ($cold_runs runs)" ;;
    eu-stack) l="eu-stack -p PID" ;;
    eu-stack-si) l="eu-stack -s -i -p PID (lines+inlines)" ;;
    gdb) l="gdb -batch -nx -p PID -ex 'thread apply all bt'" ;;
  esac
  awk -v l="$l" -v a="${st_med[$tool]}" -v b="$pp" 'BEGIN {printf "  %-50s %10.1f %10.1f\n", l, a, b}'
done
for tool in eu-stack eu-stack-si gdb; do
  [[ -n ${st_med[$tool]:-} ]] || continue
  awk -v s="${st_med[sonde]}" -v c="${st_med[sonde-cold]}" -v o="${st_med[$tool]}" -v t="$tool" 'BEGIN {
    if (s == "nan" || o == "nan") { printf "  sonde / %-41s %10s\n", t, "n/a"; exit }
    g = (t == "eu-stack") ? sprintf("  (goal <= 1.0x: %s)", s <= o ? "PASS" : "MISS") : ""
    printf "  sonde / %-41s %9.2fx%s\n", t, s / o, g
    if (c != "nan") printf "  sonde cold / %-36s %9.2fx\n", t, c / o }'
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
((status == 0 && missing)) && status=77
exit $status
