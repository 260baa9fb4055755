#!/usr/bin/env bash
# The main job: install dependencies, build the examples, run the end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
build=${IVKIT_DEMO_BUILD_DIR:-build/demo}
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIVKIT_BUILD_TESTS=OFF -DIVKIT_BUILD_EXAMPLES=ON "${launcher[@]}"
cmake --build "$build" -j "$(nproc)" --target ubm_demo
"$build/examples/ubm_demo" "$@"
