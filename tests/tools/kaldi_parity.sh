#!/usr/bin/env bash
# The tools against files written by Kaldi's own binaries (tests/data/kaldi_recipe, the voxceleb/v1
# recipe on a small corpus), run the way a Kaldi recipe runs them: from wav.scp (plain and piped),
# segments, conf files, the sid feature pipeline on the fly, Kaldi's models.
#   bash tests/tools/kaldi_parity.sh TOOL_DIR COMPARE_TABLES_EXE FIXTURE_DIR WORK_DIR
# Bounds (and why) are in docs/from_kaldi.md, "Measured against Kaldi".
set -euo pipefail
if [[ $# -ne 4 ]]; then
  echo "usage: $0 TOOL_DIR COMPARE_TABLES_EXE FIXTURE_DIR WORK_DIR" >&2
  exit 2
fi
TOOLS=$(cd "$1" && pwd)
COMPARE=$2
FIX=$(cd "$3" && pwd)
WORK=$4
rm -rf "$WORK"
mkdir -p "$WORK"
# The fixtures' script files hold paths relative to their folder: work in a copy of it.
cp -r "$FIX/." "$WORK/"
chmod -R u+w "$WORK"
cd "$WORK"
mkdir out
export IVKIT_PROGRESS_INTERVAL=60 LC_ALL=C

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
run() {
  local tool=$1
  shift
  echo "+ ivkit-$tool $*" >&2
  "$TOOLS/ivkit-$tool" -q "$@" || fail "ivkit-$tool exited with status $?"
}
compare() {
  echo "+ compare $*" >&2
  "$COMPARE" "$@" || fail "compare $* is beyond its bound"
}

# Features: compute-mfcc-feats with the recipe's conf (the tight, per-bin bounds are in
# tests/features/test_kaldi_recipe_fixtures.cpp; here the whole-table bound), piped wav.scp
# entries give the same bytes, segments as extract-segments cuts them, fbank, and compute-vad.
if [[ -x "$TOOLS/ivkit-compute-features" ]]; then
  run compute-features --config=conf/mfcc.conf --dither=0 scp:wav.scp ark,scp:out/mfcc.ark,out/mfcc.scp
  compare matrices ark:mfcc.ark ark:out/mfcc.ark 2.5e-2
  run compute-features --config conf/mfcc.conf --dither=0 scp:wav_piped.scp ark:out/mfcc_piped.ark
  cmp out/mfcc.ark out/mfcc_piped.ark || fail "piped wav.scp entries give other features"
  run compute-features --config=conf/mfcc.conf --dither=0 --segments=segments scp:wav.scp ark:out/mfcc_segments.ark
  compare matrices ark:mfcc_segments.ark ark:out/mfcc_segments.ark 2.5e-2
  run compute-features --feature-type=fbank --config=conf/fbank.conf --dither=0 "scp:head -n 2 wav.scp |" ark:out/fbank.ark
  compare matrices ark:fbank.ark ark:out/fbank.ark 1e-2
  # Output through a pipe, compressed as copy-feats --compress writes it (8-bit columns: the bound is
  # the format's quantisation step on these ranges, not a difference from Kaldi).
  run compute-features --config=conf/mfcc.conf --dither=0 --compress=true scp:wav.scp "ark:| cat > out/mfcc_c.ark"
  compare matrices ark:out/mfcc.ark ark:out/mfcc_c.ark 1.0
fi
run compute-vad --config=conf/vad.conf scp:mfcc.scp ark:out/vad.ark
cmp vad.ark out/vad.ark || fail "ivkit-compute-vad differs from compute-vad"

# Gaussian selection with the full UBM's diagonal (gmm-gselect on fgmm-global-to-gmm): the same
# Gaussians on every frame.
run gselect --n 20 final.ubm scp:feats_sid.scp ark:out/gselect.ark
compare gselect ark:gselect.ark ark:out/gselect.ark

# i-vectors as sid/extract_ivectors.sh: from the sid features, with Kaldi's gselect table, and from
# raw MFCCs with the sid pipeline on the fly (deltas, sliding CMN, voiced frames).
run extract-ivectors final.ubm final.ie scp:feats_sid.scp ark:out/ivectors.ark
compare cosine scp:ivectors_kept.scp ark:out/ivectors.ark 0.9999
run extract-ivectors --gselect ark:gselect.ark final.ubm final.ie scp:feats_sid.scp ark:out/ivectors_gs.ark
compare cosine scp:ivectors_kept.scp ark:out/ivectors_gs.ark 0.9999
run extract-ivectors --sid-pipeline --vad-rspecifier scp:vad.scp final.ubm final.ie scp:mfcc.scp ark:out/ivectors_fly.ark
compare cosine scp:ivectors_kept.scp ark:out/ivectors_fly.ark 0.9999
# The same from a feature pipeline given as a piped rspecifier.
run extract-ivectors final.ubm final.ie "ark,s,cs:cat feats_sid.ark |" ark:out/ivectors_piped.ark
cmp out/ivectors.ark out/ivectors_piped.ark || fail "a piped rspecifier gives other i-vectors"

# An extractor trained with --use-weights=true is refused.
if "$TOOLS/ivkit-extract-ivectors" -q final.ubm final_weights.ie scp:feats_sid.scp ark:out/w.ark 2>out/w.err; then
  fail "an extractor with --use-weights=true was accepted"
fi
grep -q "i-vector-dependent weights" out/w.err || fail "unclear message for --use-weights=true: $(cat out/w.err)"
[[ ! -e out/w.ark ]] || fail "a refused extraction left out/w.ark"

# PLDA scores with Kaldi's mean.vec, transform.mat (then length sqrt(dim), as
# ivector-normalize-length) and plda, as ivector-plda-scoring; cosine scores are Kaldi's dot products
# of length-sqrt(32) vectors divided by 32.
run score-trials --plda plda --transform transform.mat --mean mean.vec eval/trials scp:ivectors_eval.scp scp:ivectors_eval.scp out/scores_plda
compare scores scores_plda out/scores_plda 1e-3
run score-trials --mean mean.vec eval/trials scp:ivectors_eval.scp scp:ivectors_eval.scp out/scores_cosine
compare scores scores_cosine out/scores_cosine 1e-3 32

# The EER and threshold exactly as compute-eer prints them.
eer=$("$TOOLS/ivkit-evaluate" -q --eer-convention kaldi --format kaldi eval/trials scores_plda 2>out/eer.err)
[[ "$eer" == "$(cat eer_plda.txt)" ]] || fail "EER '$eer' differs from compute-eer's '$(cat eer_plda.txt)'"
grep -q "Equal error rate is 29.9107%, at threshold 1.20111" out/eer.err || fail "compute-eer's log line differs: $(cat out/eer.err)"

echo "kaldi_parity: every output equals Kaldi's within its bound" >&2
