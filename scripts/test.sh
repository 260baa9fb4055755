#!/usr/bin/env bash
# The whole test suite: install dependencies, configure, build (-O2), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
build=${IVKIT_TEST_BUILD_DIR:-build/test}
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DIVKIT_BUILD_TESTS=ON -DIVKIT_BUILD_EXAMPLES=ON -DIVKIT_BUILD_BENCH=OFF "${launcher[@]}"
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
