#!/usr/bin/env bash
# Benchmark: the network ladder's own measurements against the tools people
# already trust, between two network namespaces joined by a veth pair.
#
#   bench/net/run.sh [--rounds N] [--seconds S] [--timeouts "1 3"] [--skip-speed|--skip-connect]
#                    (defaults 3 rounds, 5 s per throughput test, timeouts 1 s and 3 s)
#
# Needs root, ip, nft and iperf3 (exit 77 without them).
#
# Layout: namespace C (controller, 198.18.0.1/24) -- veth -- namespace S
# (server, 198.18.0.2/24). Names carry $$; both namespaces go on any exit.
#
# 1. Throughput, `sonde speed` direct TCP against iperf3, one stream each,
#    same duration, alternated per round (the order flips every round):
#      iperf3 -c 198.18.0.2 -t S [-R]            (iperf3 -s runs in S)
#      sonde speed --via 'ip netns exec S sonde-agent serve'
#                  --address 198.18.0.2 --duration Ss [--reverse]
#    Both figures are the receiver's bits per second (iperf3's sum_received,
#    sonde's direct path gbps). Medians over the rounds, ratio sonde / iperf3,
#    goal >= 0.9x for upload and for download (-R / --reverse).
#
# 2. Classification time of a dropped port, `sonde connect` against --timeout:
#    an nft rule in S drops TCP to one port and rejects (tcp reset) another.
#      sonde connect 198.18.0.2:DROP --count 1 --timeout Ts    for each T
#      sonde connect 198.18.0.2:REJECT --count 1 --timeout Ts  (fast: a reset)
#    anchored by `nc -vz -w T` when nc is installed, else `timeout T bash -c
#    'exec 3<>/dev/tcp/...'`. Wall time from $EPOCHREALTIME. Goal: the dropped
#    port is classified "timeout" (or "dropped") within T + 0.5 s.
#
# Exit status: 0 when every figure was measured (PASS or MISS), 1 when a run
# failed, 77 when a tool or root is missing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=3
seconds=5
timeouts="1 3"
do_speed=1
do_connect=1
sonde=${SONDE:-$repo/build/bin/sonde}

usage() {
  echo "usage: bench/net/run.sh [--rounds N] [--seconds S] [--timeouts \"1 3\"] [--skip-speed|--skip-connect]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --rounds) (($# >= 2)) || usage; rounds=$2; shift 2 ;;
    --seconds) (($# >= 2)) || usage; seconds=$2; shift 2 ;;
    --timeouts) (($# >= 2)) || usage; timeouts=$2; shift 2 ;;
    --skip-speed) do_speed=0; shift ;;
    --skip-connect) do_connect=0; shift ;;
    *) usage ;;
  esac
done
for v in "$rounds" "$seconds" $timeouts; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench/net: counts must be positive integers" >&2; exit 2; }
done
[[ -x $sonde ]] || { echo "bench/net: $sonde missing: build first (scripts/build.sh)" >&2; exit 1; }
agent=${SONDE_AGENT:-$(dirname "$sonde")/sonde-agent}
[[ -x $agent ]] || { echo "bench/net: $agent missing: build first" >&2; exit 1; }
((EUID == 0)) || { echo "bench/net: needs root (network namespaces, nft)" >&2; exit 77; }
for t in ip nft iperf3 python3; do
  command -v "$t" >/dev/null || { echo "bench/net: $t missing (apt-get install $t)" >&2; exit 77; }
done

id=$$
C=sonde-bn-c-$id
S=sonde-bn-s-$id
vc=sbnc$id
vs=sbns$id
addr_c=198.18.0.1
addr_s=198.18.0.2
tmp=$(mktemp -d /tmp/sonde-bench-net-XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # Whatever still runs inside the namespaces would keep them alive.
  for ns in "$C" "$S"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  done
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$S" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inC() { ip netns exec "$C" "$@"; }
inS() { ip netns exec "$S" "$@"; }

ip netns add "$C"
ip netns add "$S"
ip link add "$vc" type veth peer name "$vs"
ip link set "$vc" netns "$C"
ip link set "$vs" netns "$S"
inC ip link set lo up
inS ip link set lo up
inC ip addr add "$addr_c/24" dev "$vc"
inS ip addr add "$addr_s/24" dev "$vs"
inC ip link set "$vc" up
inS ip link set "$vs" up

# The controller must not take this shell's SSH_CONNECTION for the agent's:
# the agent would try to listen on an address namespace S lacks.
sonde_c() { inC env -u SSH_CONNECTION -u SSH_AUTH_SOCK "$sonde" "$@"; }

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

status=0
echo "machine: $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/')"
echo "namespaces $C ($addr_c) -- veth -- $S ($addr_s); sonde $(sonde_c --version 2>/dev/null || echo '?')"
echo

# ---------------------------------------------------------------- throughput
if ((do_speed)); then
  iperf_port=5201
  # Not through inS: $! must be iperf3 itself (ip netns exec execs it), not
  # a subshell running a function.
  ip netns exec "$S" iperf3 -s -p "$iperf_port" >"$tmp/iperf3-server.log" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 250; i++)); do
    inC bash -c "exec 3<>/dev/tcp/$addr_s/$iperf_port" 2>/dev/null && break
    sleep 0.02
  done

  iperf() {  # DIRECTION
    local flag=""
    [[ $1 == download ]] && flag=-R
    inC iperf3 -c "$addr_s" -p "$iperf_port" -t "$seconds" $flag -J >"$tmp/iperf.json" 2>&1 || {
      echo "bench/net: iperf3 $1 failed:" >&2
      head -c 2000 "$tmp/iperf.json" >&2
      return 1
    }
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); e=j["end"]; print("%.3f %s" % (e["sum_received"]["bits_per_second"]/1e9, e["sum_sent"].get("retransmits", "?")))' "$tmp/iperf.json"
  }
  speed() {  # DIRECTION
    local flag=""
    [[ $1 == download ]] && flag=--reverse
    sonde_c speed --via "ip netns exec $S $agent serve" --address "$addr_s" \
      --duration "${seconds}s" $flag --json >"$tmp/speed.json" 2>"$tmp/speed.err" || {
      echo "bench/net: sonde speed $1 failed:" >&2
      cat "$tmp/speed.err" >&2
      head -c 2000 "$tmp/speed.json" >&2
      return 1
    }
    python3 - "$tmp/speed.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
p = [p for p in j["paths"] if p["path"] == "direct"][0]
r = p.get("rtt", {})
print("%.3f %.1f %s" % (p["gbps"], r.get("median_us", float("nan")), p.get("retransmits")))
EOF
  }

  declare -A res
  for ((r = 1; r <= rounds; r++)); do
    order="sonde iperf3"
    ((r % 2 == 0)) && order="iperf3 sonde"
    for dir in upload download; do
      for kind in $order; do
        if [[ $kind == iperf3 ]]; then
          out=$(iperf "$dir") || { status=1; continue; }
          read -r v retr <<<"$out"
          printf 'round %d  %-8s  %-6s %8.3f Gbit/s  (retransmits %s)\n' "$r" "$dir" "$kind" "$v" "$retr"
        else
          out=$(speed "$dir") || { status=1; continue; }
          read -r v rtt retr <<<"$out"
          printf 'round %d  %-8s  %-6s %8.3f Gbit/s  (rtt median %s us, retransmits %s)\n' \
            "$r" "$dir" "$kind" "$v" "$rtt" "$retr"
          res[$kind-$dir-rtt]+="$rtt "
        fi
        res[$kind-$dir]+="$v "
      done
    done
  done

  echo
  printf '%-22s %10s %10s %8s %7s\n' "" "sonde" "iperf3" "ratio" "goal"
  for dir in upload download; do
    s=$(median <<<"${res[sonde-$dir]:-}")
    o=$(median <<<"${res[iperf3-$dir]:-}")
    python3 - "$dir (Gbit/s)" "$s" "$o" <<'EOF'
import sys
name, s, o = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ratio = s / o if o else float("nan")
print("%-22s %10.3f %10.3f %7.2fx %7s  %s" % (name, s, o, ratio, ">=0.9", "PASS" if ratio >= 0.9 else "MISS"))
EOF
  done
  echo "medians of $rounds rounds, ${seconds}s per test, one stream; sonde rtt median (100 round trips):" \
    "upload $(median <<<"${res[sonde-upload-rtt]:-}") us, download $(median <<<"${res[sonde-download-rtt]:-}") us"
  echo
fi

# ---------------------------------------------------- connect classification
if ((do_connect)); then
  drop_port=7001
  reject_port=7002
  inS nft -f - <<EOF
table inet sonde_bench {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport $drop_port drop
    tcp dport $reject_port reject with tcp reset
  }
}
EOF
  # The verdict from `sonde connect --json`, whatever its exact shape: the
  # first of the known words found under a verdict-like key, else in the text.
  cat >"$tmp/verdict.py" <<'EOF'
import json, re, sys
words = ["timeout", "dropped", "refused", "unreachable", "open", "no-route"]
text = open(sys.argv[1]).read()
def walk(v):
    if isinstance(v, dict):
        for k in ("verdict", "classification", "class", "outcome", "result", "status"):
            x = v.get(k)
            if isinstance(x, str) and x.lower() in words:
                return x.lower()
        for x in v.values():
            r = walk(x)
            if r: return r
    elif isinstance(v, list):
        for x in v:
            r = walk(x)
            if r: return r
    return None
try:
    r = walk(json.loads(text))
except Exception:
    r = None
if not r:
    m = re.search(r"\b(timeout|timed out|dropped|refused|unreachable|open)\b", text)
    r = m.group(1).replace("timed out", "timeout") if m else "?"
print(r)
EOF
  have_connect=1
  if ! sonde_c help connect >/dev/null 2>&1 || sonde_c connect 2>&1 | grep -q "not built yet"; then
    have_connect=0
    echo "sonde connect is not built in this sonde: its rows below are skipped"
  fi
  nc_kind=bash
  command -v nc >/dev/null && nc_kind=nc

  elapsed() {  # CMD... → "SECONDS EXIT" (stdout of CMD in $tmp/out)
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    t1=$EPOCHREALTIME
    python3 -c 'import sys; print("%.3f %s" % (float(sys.argv[2]) - float(sys.argv[1]), sys.argv[3]))' "$t0" "$t1" "$rc"
  }
  anchor() {  # PORT TIMEOUT
    if [[ $nc_kind == nc ]]; then
      elapsed inC nc -vz -w "$2" "$addr_s" "$1"
    else
      elapsed inC timeout "$2" bash -c "exec 3<>/dev/tcp/$addr_s/$1"
    fi
  }

  printf '%-38s %9s %9s %-12s %s\n' "case" "timeout" "elapsed" "verdict" "goal"
  for T in $timeouts; do
    for port in $drop_port $reject_port; do
      kind=drop
      ((port == reject_port)) && kind=reject
      if ((have_connect)); then
        read -r e rc <<<"$(elapsed sonde_c connect "$addr_s:$port" --count 1 --timeout "${T}s" --json)"
        v=$(python3 "$tmp/verdict.py" "$tmp/out")
        if [[ $kind == drop ]]; then
          g=$(python3 -c 'import sys; e,t,v=float(sys.argv[1]),float(sys.argv[2]),sys.argv[3]; print("<= %.1f s  %s" % (t+0.5, "PASS" if e <= t+0.5 and v in ("timeout","dropped") else "MISS"))' "$e" "$T" "$v")
        else
          g=$([[ $v == refused ]] && echo "refused  PASS" || echo "refused  MISS")
        fi
        [[ $v == "?" ]] && { echo "bench/net: sonde connect $kind: no verdict (exit $rc):" >&2; head -c 1000 "$tmp/err" >&2; status=1; }
        printf '%-38s %8ss %8.3fs %-12s %s\n' "sonde connect ($kind :$port)" "$T" "$e" "$v" "$g"
      fi
      read -r e rc <<<"$(anchor "$port" "$T")"
      # The anchor's own verdict: its exit status and what it said on stderr.
      if [[ $rc == 0 ]]; then
        v=open
      elif [[ $rc == 124 ]] || grep -qi "timed out" "$tmp/err"; then
        v=timeout
      elif grep -qi "refused" "$tmp/err"; then
        v=refused
      else
        v="failed($rc)"
      fi
      label="nc -vz -w $T ($kind :$port)"
      [[ $nc_kind == bash ]] && label="timeout $T bash /dev/tcp ($kind :$port)"
      printf '%-38s %8ss %8.3fs %-12s %s\n' "$label" "$T" "$e" "$v" "(anchor)"
    done
  done
  echo "goal: a dropped port is classified timeout within --timeout + 0.5 s; a rejected one is refused"
fi
exit "$status"
