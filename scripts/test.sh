#!/usr/bin/env bash
# The one test entry point, for CI (.ci/run) and laptops alike: install
# dependencies, build, run every test. Extra arguments go to cmake configure.
# Then two more stages, each on unless its variable is 0:
#   SONDE_CI_FUZZ   every fuzz target for SONDE_FUZZ_SECONDS (30) s (scripts/fuzz.sh)
#   SONDE_CI_ASAN   the whole suite again under ASan+UBSan, built in build-asan
# Exits with ctest's status when the suite fails, else 1 when a later stage
# failed, else 0.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
./scripts/setup.sh
if ! ./scripts/build.sh "$@"; then
  echo "sonde tests: FAIL (build failed, $((SECONDS - start)) s)"
  exit 1
fi

rc=0
ctest --test-dir build --output-on-failure -j2 --timeout 300 || rc=$?
stages=("suite: $( ((rc == 0)) && echo PASS || echo "FAIL (ctest exit $rc)") ($((SECONDS - start)) s)")
later_failed=0

if [[ ${SONDE_CI_FUZZ:-1} != 0 ]]; then
  t0=$SECONDS
  if ./scripts/fuzz.sh; then
    stages+=("fuzz: PASS ($((SECONDS - t0)) s)")
  else
    stages+=("fuzz: FAIL, see the crashing inputs above ($((SECONDS - t0)) s)")
    later_failed=1
  fi
fi

if [[ ${SONDE_CI_ASAN:-1} != 0 ]]; then
  t0=$SECONDS
  # No -Werror here: GCC's sanitizer instrumentation brings false positives
  # (-Wmaybe-uninitialized, -Wstringop-overflow) the normal build has not.
  if ! SONDE_BUILD_DIR=build-asan ./scripts/build.sh -DSONDE_ASAN=ON -DSONDE_UBSAN=ON "$@" \
      -DSONDE_WERROR=OFF; then
    stages+=("asan+ubsan: FAIL (build failed, $((SECONDS - t0)) s)")
    later_failed=1
  else
    arc=0
    # halt_on_error: a UBSan report fails its test instead of scrolling by.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      ctest --test-dir build-asan --output-on-failure -j2 --timeout 600 || arc=$?
    if ((arc == 0)); then
      stages+=("asan+ubsan: PASS ($((SECONDS - t0)) s)")
    else
      stages+=("asan+ubsan: FAIL (ctest exit $arc, $((SECONDS - t0)) s)")
      later_failed=1
    fi
  fi
fi

printf '  %s\n' "${stages[@]}"
if ((rc == 0 && later_failed == 0)); then
  echo "sonde tests: PASS ($((SECONDS - start)) s)"
  exit 0
fi
echo "sonde tests: FAIL ($((SECONDS - start)) s)"
((rc != 0)) && exit "$rc"
exit 1
