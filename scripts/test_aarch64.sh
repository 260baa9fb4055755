#!/usr/bin/env bash
# The numerical tests on aarch64: cross-compiled with Debian's g++-aarch64-linux-gnu and run under
# qemu-user. On aarch64 ivkit has no x86 kernel path: the code under test is the portable one
# (Eigen's products and xsimd's row kernels on NEON, ivkit's plain loops), held to the same naive
# double references and tolerances as on x86-64. Part of scripts/test.sh (IVKIT_AARCH64=0 skips it).
#
#   bash scripts/test_aarch64.sh [BUILD_DIR (build/aarch64)]
#
# IVKIT_AARCH64_TESTS overrides the list of test sources (<module>/test_<x>). -O1: the compile
# dominates (each source is its own program here), and qemu runs the tests 10-30x slower than
# the host would.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
out=${1:-build/aarch64}
# (Not the x86 kernel tests, core/test_gemm_kernel and core/test_spd_kernel: they have nothing to
# run here and would report themselves skipped.)
tests=(${IVKIT_AARCH64_TESTS:-core/test_parallel core/test_assignment
  simd/test_softmax gmm/test_scoring gmm/test_em gmm/test_top_n stats/test_baum_welch ivector/test_extractor
  ivector/test_covariance_floor fa/test_factor_analysis backend/test_plda backend/test_cosine backend/test_transforms})
cxx=(aarch64-linux-gnu-g++)
if command -v ccache >/dev/null 2>&1; then cxx=(ccache aarch64-linux-gnu-g++); fi
sysroot=/usr/aarch64-linux-gnu
mkdir -p "$out/include"
# The header-only dependencies are architecture-independent; only these folders of the host's
# /usr/include are used (the whole of it would bring the host's C library headers).
for d in xsimd doctest; do ln -sfn "/usr/include/$d" "$out/include/$d"; done
flags=(-std=c++17 -O1 -DNDEBUG -DIVKIT_ENABLE_ASSERTS -Wall -Wextra -Wno-maybe-uninitialized -Wno-psabi
  -Iinclude -Itests -isystem /usr/include/eigen3 -isystem "$out/include" -pthread)
echo "aarch64: $("${cxx[@]}" --version | head -1); qemu: $(qemu-aarch64 --version | head -1)"

"${cxx[@]}" "${flags[@]}" -c tests/support/test_main.cpp -o "$out/test_main.o"
compile() {
  local t=$1
  local exe=$out/${t//\//_}
  "${cxx[@]}" "${flags[@]}" "tests/$t.cpp" "$out/test_main.o" -o "$exe" || { echo "aarch64: $t does not compile" >&2; return 1; }
}
failed=0
# Two compiles at a time per core would thrash the 2-core CI machine: one per core.
jobs=$(nproc)
for t in "${tests[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
  compile "$t" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
[ "$failed" = 0 ] || { echo "aarch64: compilation failed" >&2; exit 1; }

passed=0
for t in "${tests[@]}"; do
  exe=$out/${t//\//_}
  start=$(date +%s)
  rc=0
  qemu-aarch64 -L "$sysroot" "$exe" >"$exe.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    status=passed
    passed=$((passed + 1))
  elif [ "$rc" = 77 ]; then
    status="SKIPPED (support/skip.hpp: nothing to run on aarch64)"
    failed=1
    tail -5 "$exe.log" >&2
  else
    status="FAILED (exit $rc)"
    failed=1
    tail -30 "$exe.log" >&2
  fi
  printf 'aarch64 %-32s %s in %ss (%s)\n' "$t" "$status" "$(( $(date +%s) - start ))" "$(grep -h 'test cases:' "$exe.log" | tr -s ' ')"
done
echo "aarch64: $passed of ${#tests[@]} test programs passed under qemu"
exit "$failed"
