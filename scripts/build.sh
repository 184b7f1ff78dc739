#!/usr/bin/env bash
# Configures build/ and builds everything. Extra arguments go to the cmake
# configure step, e.g. scripts/build.sh -DSONDE_ASAN=ON. Does not run setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build build -j"$(nproc)"
