# shellcheck shell=bash
# Helpers of the command-line tool tests (sourced by common.sh and kaldi_parity.sh); $TOOLS is the
# folder of the ivkit-* programs.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run TOOL ARGS...: runs $TOOLS/ivkit-TOOL, echoing the command line.
run() {
  local tool=$1
  shift
  echo "+ ivkit-$tool $*" >&2
  "$TOOLS/ivkit-$tool" "$@" || fail "ivkit-$tool exited with status $?"
}

# must_exist FILE...: each file exists and is not empty.
must_exist() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || fail "'$f' was not written (or is empty)"
  done
}

# no_temporaries DIR: no temporary file of an atomic write is left behind.
no_temporaries() {
  local left
  left=$(find "$1" -name '.*.tmp*' -print)
  [[ -z $left ]] || fail "temporary files left behind: $left"
}

# same_numbers A B: two models in Kaldi's text format hold the same tokens and numbers within 2e-5
# relative (float models whose sums were grouped otherwise: MPI ranks, a queue's jobs; each block's
# EM statistics are float sums of up to 1024 frames, 1.1e-5 apart between one and two ranks in
# tools/mpi's full-covariance UBM since those sums run through ivkit's GEMM kernel).
same_numbers() {
  must_exist "$1" "$2"
  [[ $(wc -w <"$1") -eq $(wc -w <"$2") ]] || return 1
  paste <(tr -s ' []\n' '\n' <"$1") <(tr -s ' []\n' '\n' <"$2") |
    awk -F'\t' '$1 != $2 { if ($1 !~ /^[-0-9.e+]+$/) { print "token " $1 " vs " $2; exit 1 }
                           d = $1 - $2; if (d < 0) d = -d; a = $1 < 0 ? -$1 : $1; if (d > 2e-5 * (1 + a)) { print $1 " vs " $2; exit 1 } }'
}

# expect STATUS PATTERN OUTPUT -- TOOL ARGS...: the tool exits with STATUS, its stderr matches the
# grep pattern PATTERN, and OUTPUT (when not empty) does not exist afterwards.
expect() {
  local want=$1 pattern=$2 output=$3
  shift 4
  local tool=$1
  shift
  echo "+ ivkit-$tool $* (expecting status $want)" >&2
  set +e
  "$TOOLS/ivkit-$tool" -q "$@" >stdout.txt 2>stderr.txt
  local rc=$?
  set -e
  cat stderr.txt >&2
  [[ $rc -eq $want ]] || fail "ivkit-$tool $*: exit status $rc, expected $want"
  [[ $(grep -c . stderr.txt) -ge 1 ]] || fail "ivkit-$tool $*: no message on stderr"
  grep -q "^ivkit-$tool: " stderr.txt || fail "ivkit-$tool $*: the message does not start with the program name"
  grep -q -- "$pattern" stderr.txt || fail "ivkit-$tool $*: the message does not match '$pattern'"
  if [[ -n $output && -e $output ]]; then fail "ivkit-$tool $*: '$output' was written"; fi
  no_temporaries .
}
