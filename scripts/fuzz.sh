#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan+UBSan) in build-fuzz and
# runs each for a bounded time on a copy of its seed corpus.
#   scripts/fuzz.sh                 every target, SONDE_FUZZ_SECONDS (30) each
#   scripts/fuzz.sh dns_fuzz        only the targets named
#   SONDE_FUZZ_SECONDS=300 scripts/fuzz.sh frame_fuzz
# Exits non-zero when a target crashes (or leaks, or times out on one input)
# and prints the input that did it; keep that file as a seed in
# fuzz/corpus/<target>/ once fixed. Extra cmake arguments: SONDE_FUZZ_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SONDE_FUZZ_SECONDS:-30}
build=build-fuzz
all=(frame_fuzz dns_fuzz proc_fuzz elf_fuzz hsperf_fuzz attach_fuzz flows_fuzz redact_fuzz target_fuzz
  contract_fuzz journal_fuzz fleet_fuzz inject_fuzz)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

for t in "${targets[@]}"; do
  [[ -f fuzz/$t.cpp ]] || { echo "fuzz: no target $t (have: ${all[*]})" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing: run ./scripts/setup.sh --test" >&2; exit 2; }

start=$SECONDS
# shellcheck disable=SC2086
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSONDE_FUZZ=ON -DSONDE_TESTS=OFF -DSONDE_STATIC_AGENT=OFF -DSONDE_UNITY=OFF \
  ${SONDE_FUZZ_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s"

symbolizer=$(command -v llvm-symbolizer || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | head -1 || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[[ -n $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
# The ELF target must not fetch debug info or write the debug cache.
unset DEBUGINFOD_URLS
export SONDE_DEBUG_CACHE=off

failed=()
summary=()
for t in "${targets[@]}"; do
  run=$build/fuzz-run/$t
  rm -rf "$run"
  mkdir -p "$run/corpus"
  # A copy: new inputs found in the run do not land in the tree.
  cp -r "fuzz/corpus/$t/." "$run/corpus/" 2>/dev/null || true
  log=$run/log.txt
  t0=$SECONDS
  rc=0
  "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$run/" "$run/corpus" >"$log" 2>&1 || rc=$?
  # The last status line: "#N DONE cov: C ft: F corp: ... exec/s: E rss: R".
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  # (A crash may come before any status line: none of these may stop the script.)
  execs=$(grep -oE 'exec/s: [0-9]+' <<<"$last" | awk '{print $2}' || true)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | awk '{print $2}' || true)
  runs=$(grep -oE '^#[0-9]+' <<<"$last" | tr -d '#' || true)
  line=$(printf '%-12s %4d s  %9s runs  %7s exec/s  cov %s' "$t" $((SECONDS - t0)) "${runs:-?}" "${execs:-?}" "${cov:-?}")
  crash=$(ls "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-* 2>/dev/null | head -1 || true)
  if ((rc != 0)) || [[ -n $crash ]]; then
    failed+=("$t")
    line+="  FAILED (exit $rc)${crash:+, input: $crash}"
    echo "---- $t: last lines of $log"
    tail -40 "$log" | cut -c1-300
  fi
  summary+=("$line")
  echo "fuzz: $line"
done

echo "---- fuzz summary ($((SECONDS - start)) s)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: FAIL: ${failed[*]} (crashing inputs under $build/fuzz-run/<target>/)"
  exit 1
fi
echo "fuzz: PASS"
