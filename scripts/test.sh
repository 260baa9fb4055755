#!/usr/bin/env bash
# The whole test suite: install dependencies, configure, build (-O2, with the Python package), run
# ctest (the C++ suites, the tools end to end, pytest and the pip install of python/); the
# numerical tests cross-compiled for aarch64 and run under qemu-user (IVKIT_AARCH64=0 skips them);
# then the hardening pass (docs/reliability.md): every library module's tests once more under
# AddressSanitizer + UndefinedBehaviorSanitizer (clang, -O0), and every libFuzzer harness on the
# committed corpus, then for 20,000 inputs or IVKIT_FUZZ_SECONDS (default 15).
#   IVKIT_HARDENING=0 skips the hardening pass; IVKIT_TEST_BUILD_DIR moves the main build (build/test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

build=${IVKIT_TEST_BUILD_DIR:-build/test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DIVKIT_BUILD_TESTS=ON -DIVKIT_BUILD_EXAMPLES=ON -DIVKIT_BUILD_BENCH=OFF -DIVKIT_BUILD_PYTHON=ON "${launcher[@]}"
cmake --build "$build" -j "$jobs"
(cd "$build" && ctest --output-on-failure -j "$jobs")

# The numerical tests cross-compiled for aarch64 and run under qemu-user (scripts/test_aarch64.sh).
if [ "${IVKIT_AARCH64:-1}" != "0" ]; then
  bash scripts/test_aarch64.sh "${IVKIT_AARCH64_BUILD_DIR:-build/aarch64}"
fi

if [ "${IVKIT_HARDENING:-1}" = "0" ]; then exit 0; fi
hardening=${IVKIT_HARDENING_BUILD_DIR:-build/hardening}
# -O1: sanitizers need no more, and it compiles faster. IVKIT_SANITIZE instruments every test and
# harness; IVKIT_FUZZ adds the libFuzzer binaries.
cmake -S . -B "$hardening" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" -DIVKIT_BUILD_TESTS=ON -DIVKIT_BUILD_EXAMPLES=OFF \
  -DIVKIT_BUILD_BENCH=OFF -DIVKIT_WITH_MPI=OFF -DIVKIT_SANITIZE=ON -DIVKIT_FUZZ=ON \
  -DIVKIT_FUZZ_SECONDS="${IVKIT_FUZZ_SECONDS:-15}" "${launcher[@]}"
cmake --build "$hardening" -j "$jobs" --target ivkit_sanitizer_tests ivkit_fuzzers
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
regex=$(cat "$hardening/sanitizer_tests.regex")
excluded=$(cat "$hardening/sanitizer_tests_excluded.regex")
(cd "$hardening" && ctest --output-on-failure -j "$jobs" -R "$regex" -E "$excluded")
