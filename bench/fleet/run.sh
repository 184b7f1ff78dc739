#!/usr/bin/env bash
# Benchmark: sonde over a fleet against the tools a user would reach for,
# on the same lab of real sshd hosts (tests/fixtures/fleet_lab.sh), in one run.
#
#   bench/fleet/run.sh [--runs N] [--sizes "50 100"] [--no-thousand]
#
# For each size (hosts) and each task, every tool runs N times (default 3),
# in rotating order, with the agent already deployed (a warm-up run first):
#
#   hello  sonde hello @HOSTS            beside the peers' `uname -a`
#   ps     sonde ps @HOSTS --interval 0  beside the peers' `ps aux`
#
#   peers: parallel-ssh -p 64, clush -f 64, ansible -m command -f 64
#
# Prints the median wall time and peak memory (GNU time's maximum resident
# set) of each, and sonde's ratio to the fastest peer. Goal: <= 0.5x. Then,
# unless --no-thousand, `sonde hello` over 1000 hosts (ssh aliases h0001..h1000
# of the lab's hosts, so 1000 sessions): the controller's peak memory against
# the 300 MB goal.
#
# The sonde binary is $SONDE, default build/bin/sonde. Exit 0 when every run
# succeeded (PASS or MISS), 1 when a run failed, 77 when a tool is missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=3
sizes="50 100"
thousand=1
sonde=${SONDE:-$repo/build/bin/sonde}
goal=0.5
mem_goal_mb=300
per_run_timeout=300

usage() {
  echo "usage: bench/fleet/run.sh [--runs N] [--sizes \"50 100\"] [--no-thousand]" >&2
  exit 2
}

while (($#)); do
  case $1 in
    --runs) (($# >= 2)) || usage; runs=$2; shift 2 ;;
    --runs=*) runs=${1#--runs=}; shift ;;
    --sizes) (($# >= 2)) || usage; sizes=$2; shift 2 ;;
    --sizes=*) sizes=${1#--sizes=}; shift ;;
    --no-thousand) thousand=0; shift ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench/fleet: --runs needs a positive integer" >&2; exit 2; }
max=0
for n in $sizes; do
  [[ $n =~ ^[1-9][0-9]*$ ]] && ((n <= 200)) || { echo "bench/fleet: sizes are 1..200 hosts" >&2; exit 2; }
  ((n > max)) && max=$n
done
((max > 0)) || usage

if [[ ! -x $sonde ]]; then
  echo "bench/fleet: $sonde not found or not executable: build it first (scripts/build.sh)," >&2
  echo "             or point SONDE=/path/to/sonde at one" >&2
  exit 1
fi
for tool in ssh parallel-ssh clush ansible /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "bench/fleet: $tool not found: apt-get install openssh-client pssh clustershell ansible-core time" >&2
    exit 77
  }
done

lab=$repo/tests/fixtures/fleet_lab.sh
dir=$(mktemp -d /tmp/sonde-bench-fleet-XXXXXX)
chmod 755 "$dir"
cleanup() {
  bash "$lab" stop "$dir/lab" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
port=$(bash "$lab" start "$dir/lab" "$max") || rc=$?
if ((rc != 0)); then
  echo "bench/fleet: the lab did not start (exit $rc)" >&2
  exit "$rc"
fi

# As root, every host logs in as the lab's own user (shell /bin/sh, no rc
# files), as on a fresh host: root's shell startup here (pyenv in .bashrc)
# would otherwise be timed once per command on every host, by every tool.
if (($(id -u) == 0)); then
  bash "$lab" unprivileged "$dir/lab" all || { echo "bench/fleet: could not set up the lab user" >&2; exit 1; }
  login="the lab user sonde-lab"
else
  login="$(id -un)"
fi

# Every tool sees only the lab's keys and ssh config (OpenSSH reads the
# passwd entry's home, not $HOME: the peers are given it with -F).
export HOME=$dir/lab/home
cfg=$HOME/.ssh/config
unset SSH_AUTH_SOCK
export LC_ALL=C.UTF-8
export ANSIBLE_PYTHON_INTERPRETER=auto_silent ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0
errlog=$dir/errors.log
: >"$errlog"

name_of() { printf 'lab%02d' "$1"; }
for n in $sizes; do
  : >"$dir/hosts$n"
  { echo "[lab]"; } >"$dir/inventory$n"
  for ((i = 1; i <= n; i++)); do
    name_of "$i" >>"$dir/hosts$n"
    echo >>"$dir/hosts$n"
    name_of "$i" >>"$dir/inventory$n"
    echo >>"$dir/inventory$n"
  done
done

# The command line of TOOL doing TASK over N hosts.
command_for() {  # TOOL TASK N
  local tool=$1 task=$2 n=$3 remote
  [[ $task == hello ]] && remote="uname -a" || remote="ps aux"
  case $tool in
    sonde)
      if [[ $task == hello ]]; then
        echo "$sonde -F $cfg hello @$dir/hosts$n"
      else
        echo "$sonde -F $cfg ps @$dir/hosts$n --interval 0"
      fi
      ;;
    pssh) echo "parallel-ssh -h $dir/hosts$n -p 64 -t 120 -x '-F $cfg' -O BatchMode=yes -o $dir/pssh-out $remote" ;;
    clush) echo "clush -f 64 --hostfile=$dir/hosts$n -o '-F $cfg -oBatchMode=yes' -b $remote" ;;
    ansible) echo "ansible lab -i $dir/inventory$n -m command -a '$remote' -f 64 --ssh-common-args='-F $cfg'" ;;
  esac
}

# Wall time (microseconds) and peak RSS (KB) of one run: "US KB", or "" when it failed.
time_one() {  # CMDLINE
  local t0 t1 status=0
  t0=${EPOCHREALTIME/[.,]/}
  timeout "$per_run_timeout" /usr/bin/time -f %M -o "$dir/rss" bash -c "$1" >/dev/null 2>>"$errlog" ||
    status=$?
  t1=${EPOCHREALTIME/[.,]/}
  if ((status != 0)); then
    echo "run failed (exit $status): $1" >>"$errlog"
    return 0
  fi
  echo "$((t1 - t0)) $(tail -n 1 "$dir/rss")"
}

# Ansible leaves an SSH master per host for 60 s (ControlPersist) and its
# session on the host: on this lab every "host" is this machine, so those
# would be in the next tool's `ps` on every host. Closed after each run,
# outside the timing.
settle() {
  local s
  for s in "$HOME"/.ansible/cp/*; do
    [[ -S $s ]] && { ssh -F "$cfg" -o ControlPath="$s" -O exit lab01 >/dev/null 2>&1 || true; }
  done
  return 0
}

median() {
  (($#)) || { echo "-"; return; }
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

tools=(sonde pssh clush ansible)
failures=0
echo "bench/fleet: lab of $max sshd hosts on 127.0.0.x:$port, logging in as $login ($(nproc) CPUs, $(uname -r)); $runs runs each"

# Warm up: sonde deploys its agent (once: the lab's hosts share this
# machine's disk), ansible fills its caches, ssh its page cache.
for tool in "${tools[@]}"; do
  if ! timeout "$per_run_timeout" bash -c "$(command_for "$tool" hello "$max")" >/dev/null 2>"$dir/warm.err"; then
    echo "bench/fleet: warm-up of $tool failed: $(command_for "$tool" hello "$max")" >&2
    tail -n 20 "$dir/warm.err" >&2
    exit 1
  fi
done

declare -A wall rss
for n in $sizes; do
  for task in hello ps; do
    for ((i = 0; i < runs; i++)); do
      # Rotate the order so no tool always runs right after another.
      for ((k = 0; k < ${#tools[@]}; k++)); do
        tool=${tools[$(((k + i) % ${#tools[@]}))]}
        got=$(time_one "$(command_for "$tool" "$task" "$n")")
        settle
        if [[ -z $got ]]; then
          failures=$((failures + 1))
          continue
        fi
        wall[$tool.$task.$n]+="${got% *} "
        rss[$tool.$task.$n]+="${got#* } "
      done
    done
  done
done

ms() { [[ $1 == - ]] && echo "-" || awk -v u="$1" 'BEGIN { printf "%.0f", u / 1000 }'; }
mb() { [[ $1 == - ]] && echo "-" || awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

printf '\n%-6s %-6s %-9s %5s %10s %9s\n' "hosts" "task" "tool" "runs" "median ms" "peak MB"
misses=0
for n in $sizes; do
  for task in hello ps; do
    best_peer=- best_name=-
    for tool in "${tools[@]}"; do
      # shellcheck disable=SC2086
      w=$(median ${wall[$tool.$task.$n]:-})
      # shellcheck disable=SC2086
      m=$(median ${rss[$tool.$task.$n]:-})
      # shellcheck disable=SC2086
      count=$(set -- ${wall[$tool.$task.$n]:-}; echo $#)
      printf '%-6s %-6s %-9s %5s %10s %9s\n' "$n" "$task" "$tool" "$count" "$(ms "$w")" "$(mb "$m")"
      if [[ $tool != sonde && $w != - ]] && { [[ $best_peer == - ]] || ((w < best_peer)); }; then
        best_peer=$w
        best_name=$tool
      fi
    done
    # shellcheck disable=SC2086
    s=$(median ${wall[sonde.$task.$n]:-})
    if [[ $s == - || $best_peer == - ]]; then
      printf '%-6s %-6s sonde / fastest peer: n/a  MISS (no successful runs)\n' "$n" "$task"
      misses=$((misses + 1))
      continue
    fi
    awk -v n="$n" -v t="$task" -v s="$s" -v b="$best_peer" -v p="$best_name" -v g="$goal" 'BEGIN {
      r = s / b
      printf "%-6s %-6s sonde / fastest peer (%s): %.2fx (goal <= %sx)  %s\n", n, t, p, r, g, (r <= g) ? "PASS" : "MISS"
    }'
  done
done

if ((thousand)); then
  # 1000 names for the lab's hosts, round robin: 1000 sessions, each with its
  # own handshake and agent, as 1000 machines would have.
  cfg1000=$dir/thousand.config
  user=$( (($(id -u) == 0)) && echo sonde-lab || id -un)
  : >"$cfg1000"
  : >"$dir/hosts1000"
  for ((i = 1; i <= 1000; i++)); do
    h=$(printf 'h%04d' "$i")
    nn=$(((i - 1) % max + 1))
    printf 'Host %s\n  HostName 127.0.0.%d\n  Port %s\n  User %s\n' "$h" $((10 + nn)) "$port" "$user" >>"$cfg1000"
    echo "$h" >>"$dir/hosts1000"
  done
  printf 'Host h*\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n' \
    "$HOME/.ssh/id_ed25519" "$HOME/.ssh/known_hosts" >>"$cfg1000"
  got=$(time_one "$sonde -F $cfg1000 hello @$dir/hosts1000")
  echo
  if [[ -z $got ]]; then
    failures=$((failures + 1))
    echo "1000 hosts: sonde hello failed (see below)"
  else
    awk -v us="${got% *}" -v kb="${got#* }" -v g="$mem_goal_mb" 'BEGIN {
      m = kb / 1024
      printf "1000 hosts: sonde hello %.1f s, controller peak %.1f MB (goal <= %d MB)  %s\n", us / 1e6, m, g, (m <= g) ? "PASS" : "MISS"
    }'
  fi
fi

if ((failures)); then
  echo
  echo "bench/fleet: $failures run(s) failed; their stderr:" >&2
  tail -n 40 "$errlog" >&2
  exit 1
fi
