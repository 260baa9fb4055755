# shellcheck shell=bash disable=SC2034
# Shared set-up of the command-line tool tests (sourced by e2e.sh, resume.sh, errors.sh):
#   bash tests/tools/<name>.sh TOOL_DIR MAKE_TOOL_DATA_EXE WORK_DIR
# Makes a fresh WORK_DIR with the small data folder of make_tool_data in WORK_DIR/data, and defines
# helpers. Every command's stderr goes to the CTest log; a failure prints what went wrong and exits 1.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 TOOL_DIR MAKE_TOOL_DATA_EXE WORK_DIR" >&2
  exit 2
fi
TOOLS=$(cd "$1" && pwd)
MAKE_DATA=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
# Plain progress lines only at the end of each loop (stderr is not a terminal under CTest).
export IVKIT_PROGRESS_INTERVAL=60
export LC_ALL=C

"$MAKE_DATA" data >/dev/null

# shellcheck source=tests/tools/helpers.sh
source "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"

# A small, quick configuration of every training step (the data: 12-dimensional features drawn
# from an 8-component mixture, 40 training speakers).
UBM_OPTS=(--num-gauss 8 --num-iters 6 --threads 2)
IE_OPTS=(--ivector-dim 10 --num-iters 4 --threads 2)
