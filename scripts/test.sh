#!/usr/bin/env bash
# The one test entry point, for CI (.ci/run) and laptops alike: install
# dependencies, build, run every test. Extra arguments go to cmake configure.
# Then two more stages, each on unless its variable is 0:
#   SONDE_CI_FUZZ   every fuzz target for SONDE_FUZZ_SECONDS (30) s (scripts/fuzz.sh)
#   SONDE_CI_ASAN   the whole suite again under ASan+UBSan, built in build-asan
# Both fit in SONDE_CI_BUDGET seconds from the start (5100: CI stops a run at
# 5400). A stage the budget cuts short says so and how far it got; what it
# ran still counts: a fuzz crash or any test failing under the sanitizers
# fails the run.
# Exits with ctest's status when the suite fails, else 1 when a later stage
# failed, else 0.
set -euo pipefail
cd "$(dirname "$0")/.."

# The names of the tests a ctest log says failed, timed out or crashed.
failed_names() {
  grep -oE 'Test +#[0-9]+: [^ ]+ .*\*\*\*(Failed|Exception|Timeout)' "$1" | awk '{print $3}' | head -50
}

# The output --output-on-failure printed for each failed test of a log (the
# first five, 60 lines each), so that it sits at the end of a long CI log
# that is often shown only by its tail.
failed_output() {
  awk '/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)/ { n++; on = (n <= 5); lines = 0; if (on) print "---- " $0; next }
       /^ *[0-9]+\/[0-9]+ Test +#/ || /^ +Start +[0-9]+:/ || /^[0-9]+% tests passed/ { on = 0 }
       on && lines++ < 60 { print }' "$1"
}

start=$SECONDS
./scripts/setup.sh --test
if ! ./scripts/build.sh "$@"; then
  echo "sonde tests: FAIL (build failed, $((SECONDS - start)) s)"
  exit 1
fi

rc=0
suite_log=build/ctest-suite.log
ctest --test-dir build --output-on-failure -j2 --timeout 300 2>&1 | tee "$suite_log" || rc=${PIPESTATUS[0]}
stages=("suite: $( ((rc == 0)) && echo PASS || echo "FAIL (ctest exit $rc)") ($((SECONDS - start)) s)")
if ((rc != 0)); then
  while read -r name; do stages+=("    $name"); done < <(failed_names "$suite_log")
fi
later_failed=0

budget=${SONDE_CI_BUDGET:-5100}
left() { echo $((budget - SECONDS + start)); }

if [[ ${SONDE_CI_FUZZ:-1} != 0 ]]; then
  t0=$SECONDS
  frc=0
  if (($(left) < 600)); then
    stages+=("fuzz: NOT RUN ($(left) s of the budget left)")
  else
    timeout -k 30 $(($(left) - 300)) ./scripts/fuzz.sh || frc=$?
    if ((frc == 0)); then
      stages+=("fuzz: PASS ($((SECONDS - t0)) s)")
    elif ((frc == 124)); then
      stages+=("fuzz: INCOMPLETE, the budget ran out ($((SECONDS - t0)) s)")
    else
      stages+=("fuzz: FAIL, see the crashing inputs above ($((SECONDS - t0)) s)")
      later_failed=1
    fi
  fi
fi

if [[ ${SONDE_CI_ASAN:-1} != 0 ]]; then
  t0=$SECONDS
  if (($(left) < 900)); then
    stages+=("asan+ubsan: NOT RUN ($(left) s of the budget left)")
  else
    # No -Werror here: GCC's sanitizer instrumentation brings false positives
    # (-Wmaybe-uninitialized, -Wstringop-overflow) the normal build has not.
    # -O1 -g1: the sanitizers' usual level, and about half the compile time.
    brc=0
    SONDE_BUILD_DIR=build-asan timeout -k 30 $(($(left) - 300)) ./scripts/build.sh \
      -DSONDE_ASAN=ON -DSONDE_UBSAN=ON "$@" -DSONDE_WERROR=OFF \
      "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" || brc=$?
    if ((brc == 124)); then
      stages+=("asan+ubsan: INCOMPLETE, the budget ran out while building ($((SECONDS - t0)) s)")
    elif ((brc != 0)); then
      stages+=("asan+ubsan: FAIL (build failed, $((SECONDS - t0)) s)")
      later_failed=1
    else
      # Unit tests first, then the integration tier; a failure in either
      # fails the run.
      for tier in unit integration; do
        arc=0
        log=build-asan/ctest-$tier.log
        sel=(-L unit)
        [[ $tier == integration ]] && sel=(-LE unit)
        if (($(left) < 180)); then
          stages+=("asan+ubsan $tier: NOT RUN ($(left) s of the budget left)")
          continue
        fi
        t1=$SECONDS
        # halt_on_error: a UBSan report fails its test instead of scrolling by.
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
          UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
          timeout -k 30 $(($(left) - 120)) \
          ctest --test-dir build-asan "${sel[@]}" --output-on-failure -j2 --timeout 600 2>&1 |
          tee "$log" || arc=${PIPESTATUS[0]}
        passed=$(grep -cE 'Test +#[0-9]+: .* Passed' "$log" || true)
        failed=$(grep -cE 'Test +#[0-9]+: .*\*\*\*(Failed|Exception|Timeout)' "$log" || true)
        took=$((SECONDS - t1))
        if ((arc == 0)); then
          stages+=("asan+ubsan $tier: PASS ($passed tests, $took s)")
        elif ((arc == 124 && failed == 0)); then
          stages+=("asan+ubsan $tier: INCOMPLETE, the budget ran out: $passed passed, none failed ($took s)")
        else
          stages+=("asan+ubsan $tier: FAIL ($failed failed, $passed passed, $took s):")
          while read -r name; do stages+=("    $name"); done < <(failed_names "$log")
          later_failed=1
        fi
      done
    fi
  fi
fi

if ((rc != 0)); then
  echo "What the suite's failed tests printed:"
  failed_output "$suite_log"
fi
printf '  %s\n' "${stages[@]}"
if ((rc == 0 && later_failed == 0)); then
  echo "sonde tests: PASS ($((SECONDS - start)) s)"
  exit 0
fi
echo "sonde tests: FAIL ($((SECONDS - start)) s)"
((rc != 0)) && exit "$rc"
exit 1
