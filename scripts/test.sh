#!/usr/bin/env bash
# The one test entry point, for CI (.ci/run) and laptops alike: install
# dependencies, build, run every test. Extra arguments go to cmake configure.
# Exits with ctest's status.
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

if ((rc == 0)); then
  echo "sonde tests: PASS ($((SECONDS - start)) s)"
else
  echo "sonde tests: FAIL (ctest exit $rc, $((SECONDS - start)) s)"
fi
exit "$rc"
