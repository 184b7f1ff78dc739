#!/usr/bin/env bash
# Configures build/ and builds everything, warnings as errors. Extra arguments
# go to the cmake configure step, e.g. scripts/build.sh -DSONDE_ASAN=ON.
# SONDE_BUILD_DIR picks another build folder (test.sh's sanitizer pass uses
# build-asan). Does not run setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${SONDE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONDE_WERROR=ON -DSONDE_TESTS=ON "$@"
cmake --build "$build_dir" -j"$(nproc)"
