#!/usr/bin/env bash
# Builds and runs the Google Benchmark suite (-O3 -march=native); extra arguments go to each binary,
# e.g. scripts/bench.sh --benchmark_filter=posteriors
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
build=${IVKIT_BENCH_BUILD_DIR:-build/bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIVKIT_BUILD_TESTS=OFF -DIVKIT_BUILD_EXAMPLES=OFF -DIVKIT_BUILD_BENCH=ON
cmake --build "$build" -j "$(nproc)"
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] && "$b" "$@"
done
