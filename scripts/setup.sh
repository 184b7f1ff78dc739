#!/usr/bin/env bash
# Installs the Debian packages sonde needs. Quick and offline when all of them
# are present; otherwise apt-get update + install.
#   scripts/setup.sh          what building sonde and running the demo need
#   scripts/setup.sh --test   that plus what the tests, benchmarks and fuzzing use
set -euo pipefail

tests=0
case ${1:-} in
  --test) tests=1 ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

# Append what a new feature needs, with the reason if not obvious: to BUILD
# only what building sonde or running scripts/demo.sh needs.
BUILD=(
  cmake g++ make pkg-config
  # libraries
  libssh-dev libunwind-dev libdw-dev libelf-dev libboost-program-options-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev libpcap-dev
  zlib1g-dev libzstd-dev liblzma-dev libbz2-dev
  # the demo finds its workload with pgrep
  procps
)
TEST=(
  # tests
  libgtest-dev googletest
  # the sshd fixture (tests/fixtures/sshd.sh) and the ssh anchor in bench/
  openssh-server openssh-client
  # bench/forward measures throughput through `sonde forward` and `ssh -L`
  iperf3
  # tools tests use as oracles or helpers
  file iproute2 strace sudo ca-certificates
  # profiler oracles and readers: eu-stack and gdb for frames, perf for the bench
  # anchor, debuginfod for separate debug info, protoc/xmllint/python3 to read
  # the exporters' pprof, SVG and speedscope files
  elfutils gdb linux-perf debuginfod protobuf-compiler libxml2-utils python3
  # dwz: the symbolizer tests build debug files with .gnu_debugaltlink as Debian's -dbgsym do
  dwz
  # sonde debug starts gdbserver on the target; its tests drive it with gdb
  gdbserver
  # javac/jar build the JMX helper jar the agent embeds and the Java test programs; java, jdb,
  # jfr are the JVM tests' targets and oracles
  openjdk-17-jdk-headless
  # the dns integration test runs a real nameserver on loopback (tests/integration/dns_test.cpp)
  dnsmasq
  # the network ladder's test hosts: nftables rules in namespaces (tests/support/netlab.h),
  # tshark reads the captures back, openssl s_server is the TLS tests' server
  nftables tshark openssl
  # bench/net times `nc -z -w T` beside `sonde connect` (the classification anchor)
  netcat-openbsd
  # sonde report's HTML is checked by a strict HTML5 parser and loaded in headless Chromium
  chromium python3-html5lib
  # bench/fleet runs sonde beside parallel-ssh, clush and ansible on the same lab hosts
  # (GNU time gives each side's peak memory);
  # tests/integration/fleet_test.cpp drives ansible-playbook per group for `sonde merge`
  pssh clustershell ansible-core time
  # scripts/fuzz.sh: libFuzzer targets need clang; libclang-rt-14-dev holds libFuzzer and clang's
  # ASan/UBSan runtimes (only a Recommends of clang, so named here); llvm-14 brings llvm-symbolizer
  # for readable crash stacks
  clang libclang-rt-14-dev llvm-14
)
PACKAGES=("${BUILD[@]}")
((tests)) && PACKAGES+=("${TEST[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || { echo "setup: not root and sudo is missing; run as root" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
