#!/usr/bin/env bash
# Benchmark: `sonde forward` against OpenSSH `ssh -L`, both through the same
# throwaway loopback sshd (tests/fixtures/sshd.sh), in one run, alternated.
#
#   bench/forward/run.sh [--runs N] [--seconds S] [--pings N]
#                        (defaults 5 runs, 5 s per iperf3 test, 2000 pings)
#
# Per run and per forwarder (the order flips every run):
#   upload     iperf3 -c through the forward (client → server), one stream
#   download   the same with -R (server → client)
#   latency    a 64-byte request and its echo, one at a time, TCP_NODELAY on
#              both ends, median round trip of --pings (a Python client and
#              echo server: their own cost is in both columns alike)
# The forwarders stay up for the whole run; each test opens fresh
# connections through them, so channel opening is part of no figure except
# the first ping (medians hide it).
#
# Medians over the runs, then the ratios sonde / OpenSSH.
# Goals: throughput >= 0.8x OpenSSH's, latency <= 1.2x.
#
# Exit status: 0 when every figure was measured (PASS or MISS), 1 when a run
# failed, 77 when iperf3, ssh or sshd is missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=5
seconds=5
pings=2000
sonde=${SONDE:-$repo/build/bin/sonde}

usage() {
  echo "usage: bench/forward/run.sh [--runs N] [--seconds S] [--pings N]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --runs) (($# >= 2)) || usage; runs=$2; shift 2 ;;
    --seconds) (($# >= 2)) || usage; seconds=$2; shift 2 ;;
    --pings) (($# >= 2)) || usage; pings=$2; shift 2 ;;
    *) usage ;;
  esac
done
for v in "$runs" "$seconds" "$pings"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/forward: counts must be positive integers" >&2; exit 2; }
done
[[ -x $sonde ]] || { echo "bench/forward: $sonde missing: build first (scripts/build.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench/forward: python3 missing" >&2; exit 1; }
for t in iperf3 ssh; do
  command -v "$t" >/dev/null || { echo "bench/forward: $t missing (apt-get install $t)" >&2; exit 77; }
done

tmp=$(mktemp -d /tmp/sonde-bench-forward-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$repo/tests/fixtures/sshd.sh" stop "$tmp/sshd" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rc=0
"$repo/tests/fixtures/sshd.sh" start "$tmp/sshd" >"$tmp/sshd.port" || rc=$?
if ((rc == 77)); then exit 77; fi
((rc == 0)) || { echo "bench/forward: sshd did not start" >&2; exit 1; }
export HOME=$tmp/sshd/home
unset SSH_AUTH_SOCK

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local i
  for ((i = 0; i < 250; i++)); do accepts "$1" && return 0; sleep 0.02; done
  return 1
}

# The far end: iperf3 and a small echo server, on the target (this machine).
iperf_port=$(free_port)
iperf3 -s -p "$iperf_port" >"$tmp/iperf3-server.log" 2>&1 &
pids+=($!)
echo_port=$(free_port)
cat >"$tmp/echo.py" <<'EOF'
import socket, sys, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
def serve(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
python3 "$tmp/echo.py" "$echo_port" &
pids+=($!)
wait_port "$iperf_port" || { echo "bench/forward: iperf3 -s did not come up" >&2; exit 1; }
wait_port "$echo_port" || { echo "bench/forward: echo server did not come up" >&2; exit 1; }

# One forwarder of each kind per far-end port.
start_sonde() {  # REMOTE_PORT LOCAL_PORT
  "$sonde" forward sonde-test "$1" --local "$2" >"$tmp/sonde-$1.out" 2>"$tmp/sonde-$1.err" &
  pids+=($!)
  wait_port "$2" || { echo "bench/forward: sonde forward did not come up:" >&2; cat "$tmp/sonde-$1.err" >&2; exit 1; }
}
start_ssh() {  # REMOTE_PORT LOCAL_PORT
  ssh -v -F "$HOME/.ssh/config" -N -o ExitOnForwardFailure=yes -L "127.0.0.1:$2:127.0.0.1:$1" \
    sonde-test 2>"$tmp/ssh-$1.err" &
  pids+=($!)
  wait_port "$2" || { echo "bench/forward: ssh -L did not come up:" >&2; cat "$tmp/ssh-$1.err" >&2; exit 1; }
}
declare -A port
for kind in sonde ssh; do
  port[$kind-iperf]=$(free_port); "start_$kind" "$iperf_port" "${port[$kind-iperf]}"
  port[$kind-echo]=$(free_port); "start_$kind" "$echo_port" "${port[$kind-echo]}"
done

cat >"$tmp/ping.py" <<'EOF'
import socket, sys, time, statistics
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg = b"x" * 64
rtts = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter_ns()
    s.sendall(msg)
    got = 0
    while got < len(msg):
        d = s.recv(65536)
        if not d:
            sys.exit("echo closed early")
        got += len(d)
    rtts.append(time.perf_counter_ns() - t0)
s.close()
print(statistics.median(rtts) / 1000.0)
EOF

# "upload" or "download" Gbit/s through local port $2.
iperf() {  # DIRECTION PORT
  local flag=""
  [[ $1 == download ]] && flag=-R
  iperf3 -c 127.0.0.1 -p "$2" -t "$seconds" $flag -J >"$tmp/iperf.json" 2>&1 || {
    echo "bench/forward: iperf3 through port $2 failed:" >&2
    head -c 2000 "$tmp/iperf.json" >&2
    return 1
  }
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.3f" % (j["end"]["sum_received"]["bits_per_second"]/1e9))' "$tmp/iperf.json"
}

declare -A results
status=0
for ((r = 1; r <= runs; r++)); do
  order="sonde ssh"
  ((r % 2 == 0)) && order="ssh sonde"
  for kind in $order; do
    up=$(iperf upload "${port[$kind-iperf]}") || { status=1; continue; }
    down=$(iperf download "${port[$kind-iperf]}") || { status=1; continue; }
    lat=$(python3 "$tmp/ping.py" "${port[$kind-echo]}" "$pings") || { status=1; continue; }
    results[$kind-up]+="$up "
    results[$kind-down]+="$down "
    results[$kind-lat]+="$lat "
    printf 'run %d  %-5s  upload %7.3f Gbit/s  download %7.3f Gbit/s  rtt %8.1f us\n' \
      "$r" "$kind" "$up" "$down" "$lat"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
printf '%-20s %10s %10s %8s %7s\n' "" "sonde" "ssh -L" "ratio" "goal"
verdict() {  # NAME SONDE SSH GOAL(>=x|<=x)
  python3 - "$@" <<'EOF'
import sys
name, s, o, goal = sys.argv[1:5]
s, o = float(s), float(o)
ratio = s / o if o else float("nan")
op, g = goal[:2], float(goal[2:])
ok = ratio >= g if op == ">=" else ratio <= g
print("%-20s %10.3f %10.3f %7.2fx %7s  %s" % (name, s, o, ratio, goal, "PASS" if ok else "MISS"))
EOF
}
su=$(median <<<"${results[sonde-up]:-}") ou=$(median <<<"${results[ssh-up]:-}")
sd=$(median <<<"${results[sonde-down]:-}") od=$(median <<<"${results[ssh-down]:-}")
sl=$(median <<<"${results[sonde-lat]:-}") ol=$(median <<<"${results[ssh-lat]:-}")
verdict "upload (Gbit/s)" "$su" "$ou" ">=0.8"
verdict "download (Gbit/s)" "$sd" "$od" ">=0.8"
verdict "rtt 64 B (us)" "$sl" "$ol" "<=1.2"
echo
echo "medians of $runs runs; iperf3 ${seconds}s per direction, one stream; $pings pings"
echo "ssh -L $(grep -ho 'kex: server->client cipher: [^ ]*' "$tmp"/ssh-*.err 2>/dev/null | sort -u | head -1)"
exit "$status"
