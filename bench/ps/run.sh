#!/usr/bin/env bash
# Benchmark: `sonde ps HOST` (agent already deployed) against its anchor,
# OpenSSH `ssh HOST ps aux`, on the loopback sshd fixture, in the same run.
#
#   bench/ps/run.sh [--runs N]        (default 20)
#
#   A = sonde ps sonde-test              (default sampling interval)
#   B = ssh sonde-test ps aux            (the anchor)
#   C = sonde ps sonde-test --interval 0 (lifetime %CPU, like ps aux)
#
# Goal: A/B and C/B medians <= 1.5x. The sonde binary is $SONDE, default
# build/bin/sonde. Exit 0 when every run succeeded (PASS or MISS), 1 when a
# run failed, 77 when OpenSSH is missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=20
sonde=${SONDE:-$repo/build/bin/sonde}
goal=1.5
per_run_timeout=30

usage() {
  echo "usage: bench/ps/run.sh [--runs N]" >&2
  exit 2
}

while (($#)); do
  case $1 in
    --runs)
      (($# >= 2)) || usage
      runs=$2
      shift 2
      ;;
    --runs=*)
      runs=${1#--runs=}
      shift
      ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench/ps: --runs needs a positive integer" >&2; exit 2; }

if [[ ! -x $sonde ]]; then
  echo "bench/ps: $sonde not found or not executable: build it first (scripts/build.sh)," >&2
  echo "          or point SONDE=/path/to/sonde at one" >&2
  exit 1
fi
command -v ssh >/dev/null 2>&1 || { echo "bench/ps: ssh not found: apt-get install openssh-client" >&2; exit 77; }
command -v timeout >/dev/null 2>&1 || { echo "bench/ps: timeout not found: apt-get install coreutils" >&2; exit 1; }

fixture=$repo/tests/fixtures/sshd.sh
dir=$(mktemp -d /tmp/sonde-bench-ps-XXXXXX)
cleanup() {
  bash "$fixture" stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
port=$(bash "$fixture" start "$dir") || rc=$?
if ((rc != 0)); then
  echo "bench/ps: the sshd fixture did not start (exit $rc)" >&2
  exit "$rc"
fi

# Both sides see only the fixture's keys and config.
export HOME=$dir/home
unset SSH_AUTH_SOCK
cfg=$dir/home/.ssh/config
host=sonde-test
errlog=$dir/errors.log
: >"$errlog"

cmd_a=("$sonde" ps "$host")
cmd_b=(ssh -F "$cfg" -o BatchMode=yes "$host" ps aux)
cmd_c=("$sonde" ps "$host" --interval 0)

# Warm up: the first sonde run deploys the agent; the first ssh run pays for
# cold caches. Neither is measured.
warm() {  # LABEL CMD...
  local label=$1
  shift
  if ! timeout 60 "$@" >/dev/null 2>"$dir/warm.err"; then
    echo "bench/ps: warm-up '$label' failed: $*" >&2
    tail -n 20 "$dir/warm.err" >&2
    exit 1
  fi
}
warm "sonde ps (deploy)" "${cmd_a[@]}"
warm "ssh ps aux" "${cmd_b[@]}"

times_a=() times_b=() times_c=()
failures=0

# Wall time of one run in microseconds. $EPOCHREALTIME is bash's own clock
# read (no fork for date); its separator follows the locale.
time_one() {  # ARRAY_NAME CMD...
  local -n into=$1
  shift
  local t0 t1 status=0
  t0=${EPOCHREALTIME/[.,]/}
  timeout "$per_run_timeout" "$@" >/dev/null 2>>"$errlog" || status=$?
  t1=${EPOCHREALTIME/[.,]/}
  if ((status != 0)); then
    failures=$((failures + 1))
    echo "run failed (exit $status): $*" >>"$errlog"
    return 0
  fi
  into+=($((t1 - t0)))
}

echo "bench/ps: $runs runs each on 127.0.0.1:$port ($(nproc) CPUs, $(uname -r))"
for ((i = 0; i < runs; i++)); do
  # Rotate the order so no side always runs right after another.
  case $((i % 3)) in
    0) time_one times_a "${cmd_a[@]}"; time_one times_b "${cmd_b[@]}"; time_one times_c "${cmd_c[@]}" ;;
    1) time_one times_b "${cmd_b[@]}"; time_one times_c "${cmd_c[@]}"; time_one times_a "${cmd_a[@]}" ;;
    2) time_one times_c "${cmd_c[@]}"; time_one times_a "${cmd_a[@]}"; time_one times_b "${cmd_b[@]}" ;;
  esac
done

# "MEDIAN_US P90_US" of the microsecond values given (p90: nearest rank).
stats() {
  (($#)) || { echo "- -"; return; }
  printf '%s\n' "$@" | sort -n | awk '
    { v[NR] = $1 }
    END {
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
      print med, v[r]
    }'
}

ms() { [[ $1 == - ]] && echo "-" || awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

read -r med_a p90_a <<<"$(stats "${times_a[@]}")"
read -r med_b p90_b <<<"$(stats "${times_b[@]}")"
read -r med_c p90_c <<<"$(stats "${times_c[@]}")"

printf '\n%-40s %5s %10s %10s\n' "case" "runs" "median ms" "p90 ms"
printf '%-40s %5d %10s %10s\n' "A  sonde ps" "${#times_a[@]}" "$(ms "$med_a")" "$(ms "$p90_a")"
printf '%-40s %5d %10s %10s\n' "B  ssh ps aux (anchor)" "${#times_b[@]}" "$(ms "$med_b")" "$(ms "$p90_b")"
printf '%-40s %5d %10s %10s\n' "C  sonde ps --interval 0" "${#times_c[@]}" "$(ms "$med_c")" "$(ms "$p90_c")"
echo

verdict() {  # LABEL NUM DEN
  if [[ $2 == - || $3 == - ]]; then
    printf '%-8s   n/a   (goal <= %sx)  MISS (no successful runs)\n' "$1" "$goal"
    return
  fi
  awk -v l="$1" -v n="$2" -v d="$3" -v g="$goal" 'BEGIN {
    r = n / d
    printf "%-8s %6.2fx (goal <= %sx)  %s\n", l, r, g, (r <= g) ? "PASS" : "MISS"
  }'
}
verdict "A/B" "$med_a" "$med_b"
verdict "C/B" "$med_c" "$med_b"

if ((failures)); then
  echo
  echo "bench/ps: $failures run(s) failed; their stderr:" >&2
  tail -n 40 "$errlog" >&2
  exit 1
fi
