#!/usr/bin/env bash
# The tools start themselves once more with glibc's tunable glibc.malloc.hugetlb=1 where the kernel
# gives transparent huge pages only on request (tools/common/cli.cpp): the restarted process runs
# with the tunable, the commands of its piped specifiers see the caller's environment, output is the
# same, and IVKIT_HUGE_PAGES=0 or a caller's own choice of the tunable leaves the process alone.
# Skipped (status 77) where the kernel or glibc has nothing to offer.
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! grep -q '\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
  echo "SKIP: transparent huge pages are not in 'madvise' mode here" >&2
  exit 77
fi
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
if [[ -z $glibc ]] || ! awk -v v="$glibc" 'BEGIN { split(v, p, "."); exit !(p[1] > 2 || (p[1] == 2 && p[2] >= 35)) }'; then
  echo "SKIP: glibc '$glibc' has no glibc.malloc.hugetlb tunable (2.35 or later)" >&2
  exit 77
fi

# The piped command runs under /bin/sh -c, a child of the tool: $PPID is the tool's process, whose
# /proc/PID/environ is the environment it was started (or restarted) with, as glibc left it (it cuts
# GLIBC_TUNABLES at each ':' while reading it: one line per tunable here).
probe() {
  local name=$1
  echo "ark:tr '\\0' '\\n' </proc/\$PPID/environ | grep -E '^(GLIBC_TUNABLES=|IVKIT_HUGE_PAGES_RESTARTED=|glibc[.])' >$name.tool || true;" \
    "env | grep -E '^(GLIBC_TUNABLES|IVKIT_HUGE_PAGES_RESTARTED)=' >$name.child || true; cat data/train/feats.ark |"
}
unset GLIBC_TUNABLES

# Default: restarted with the tunable; the piped command sees no GLIBC_TUNABLES at all.
run compute-vad -q "$(probe default)" ark:default.ark
[[ $(sort default.tool | tr '\n' ' ') == "GLIBC_TUNABLES=glibc.malloc.hugetlb=1 IVKIT_HUGE_PAGES_RESTARTED= " ]] ||
  fail "the tool ran with '$(cat default.tool)'"
[[ ! -s default.child ]] || fail "the piped command saw '$(cat default.child)'"

# A caller's own tunables are kept, and given back to the piped command unchanged.
GLIBC_TUNABLES=glibc.malloc.arena_max=4 run compute-vad -q "$(probe kept)" ark:kept.ark
[[ $(sort kept.tool | tr '\n' ' ') == "GLIBC_TUNABLES=glibc.malloc.arena_max=4 IVKIT_HUGE_PAGES_RESTARTED=:glibc.malloc.arena_max=4 glibc.malloc.hugetlb=1 " ]] ||
  fail "the tool ran with '$(cat kept.tool)'"
[[ $(cat kept.child) == "GLIBC_TUNABLES=glibc.malloc.arena_max=4" ]] || fail "the piped command saw '$(cat kept.child)'"

# IVKIT_HUGE_PAGES=0, or the caller setting the tunable: no restart.
IVKIT_HUGE_PAGES=0 run compute-vad -q "$(probe off)" ark:off.ark
[[ ! -s off.tool ]] || fail "with IVKIT_HUGE_PAGES=0 the tool ran with '$(cat off.tool)'"
GLIBC_TUNABLES=glibc.malloc.hugetlb=0 run compute-vad -q "$(probe chosen)" ark:chosen.ark
[[ $(cat chosen.tool) == "GLIBC_TUNABLES=glibc.malloc.hugetlb=0" ]] || fail "the caller's choice became '$(cat chosen.tool)'"

# The same output every way, and a failing run still says what failed.
for f in kept off chosen; do cmp default.ark $f.ark || fail "$f.ark differs from default.ark"; done
must_exist default.ark
expect 1 "no-such-file" bad.ark -- compute-vad "ark:no-such-file" ark:bad.ark
echo "huge pages: ok"
