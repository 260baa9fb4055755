#!/usr/bin/env bash
# Bad inputs to the tools: usage errors exit with status 2, bad data with status 1, each with one
# message that names the file and the line (or byte offset) at fault; no output file is left
# behind, and an existing output is left as it was.
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Small models to feed the tools.
mkdir -p exp bad
FEATS=scp:data/train/feats.scp
run train-ubm -q --num-gauss 4 --num-iters 2 "$FEATS" exp/ubm
run train-ivector-extractor -q --ivector-dim 6 --num-iters 2 --num-gselect 4 exp/ubm "$FEATS" exp/ie
for set in train enrol test; do
  run extract-ivectors -q --num-gselect 4 exp/ubm exp/ie "scp:data/$set/feats.scp" "ark,scp:exp/iv_$set.ark,exp/iv_$set.scp"
done
run train-backend -q --utt2spk data/train/utt2spk --lda-dim 4 scp:exp/iv_train.scp exp/transform exp/plda
SCORE=(--plda exp/plda --transform exp/transform --enrol-spk2utt data/enrol/spk2utt)
IV=(scp:exp/iv_enrol.scp scp:exp/iv_test.scp)

# ---- usage errors: status 2 ------------------------------------------------------------------------
expect 2 "usage error" "" -- train-ubm
expect 2 "usage error.*--no-such-option" bad/ubm -- train-ubm --no-such-option "$FEATS" bad/ubm
expect 2 "usage error.*--binary" bad/ubm -- train-ubm --binary false "$FEATS" bad/ubm
expect 2 "usage error.*--num-gauss" bad/ubm -- train-ubm --num-gauss 0 "$FEATS" bad/ubm
expect 2 "usage error.*--n" bad/gs.ark -- gselect --n 0 exp/ubm "$FEATS" ark:bad/gs.ark
expect 2 "usage error.*--utt2spk" bad/t -- train-backend scp:exp/iv_train.scp bad/t bad/p
expect 2 "usage error.*--top-k" bad/scores -- score-trials "${SCORE[@]}" --score-norm as --cohort scp:exp/iv_train.scp \
  data/trials "${IV[@]}" bad/scores
expect 2 "usage error.*--cohort" bad/scores -- score-trials "${SCORE[@]}" --score-norm z data/trials "${IV[@]}" bad/scores
expect 2 "usage error.*--p-target" "" -- evaluate --p-target 1.5 data/trials data/trials
expect 2 "usage error.*--det-range" bad/det.svg -- evaluate --det-svg bad/det.svg --det-range 50,1 data/trials data/trials

# ---- bad data: status 1, naming the file and the line or offset ---------------------------------------
# A truncated archive: named with the offset and the script line; no model, no checkpoint.
head -c 1000000 data/train/feats.ark >bad/feats.ark
sed "s|[^ ]*/train/feats.ark|$PWD/bad/feats.ark|" data/train/feats.scp >bad/feats.scp
expect 1 "bad/feats.ark.*offset [0-9]*.*bad/feats.scp' line [0-9]*.*truncated" bad/ubm -- \
  train-ubm --num-gauss 4 --num-iters 2 scp:bad/feats.scp bad/ubm
[[ ! -e bad/ubm.checkpoint ]] || fail "a failed train-ubm left a checkpoint"
# ... found after half of the i-vectors were extracted: neither the archive nor the script is written.
expect 1 "bad/feats.ark.*offset" bad/iv.ark -- extract-ivectors --num-gselect 4 exp/ubm exp/ie scp:bad/feats.scp \
  ark,scp:bad/iv.ark,bad/iv.scp
[[ ! -e bad/iv.scp ]] || fail "a failed extract-ivectors left bad/iv.scp"
# Features holding NaN (a text archive).
printf 'u1  [\n 1 2 3\n 4 nan 6 ]\n' >bad/nan.txt
expect 1 "u1.*NaN" bad/ubm -- train-ubm --num-gauss 1 --num-iters 1 ark,t:bad/nan.txt bad/ubm
# Model files: empty, of the wrong kind, of another UBM.
: >bad/empty
expect 1 "bad/empty' is empty" bad/gs.ark -- gselect bad/empty "$FEATS" ark:bad/gs.ark
expect 1 "exp/plda' holds an ivkit Plda model, not an i-vector extractor" bad/iv.ark -- \
  extract-ivectors exp/ubm exp/plda "$FEATS" ark:bad/iv.ark
# Text tables: utt2spk with a bad line, spk2utt naming an utterance without an i-vector.
sed '4s/$/ extra/' data/train/utt2spk >bad/utt2spk
expect 1 "bad/utt2spk' line 4: expected 2 fields" bad/t -- train-backend --utt2spk bad/utt2spk scp:exp/iv_train.scp bad/t bad/p
[[ ! -e bad/p ]] || fail "a failed train-backend left bad/p"
sed '3s/$/ spk999-utt0/' data/enrol/spk2utt >bad/spk2utt
expect 1 "bad/spk2utt' line 3: utterance 'spk999-utt0'" bad/scores -- \
  score-trials --plda exp/plda --transform exp/transform --enrol-spk2utt bad/spk2utt data/trials "${IV[@]}" bad/scores
# Trial lists: a malformed line, an unknown test segment.
sed '7s/nontarget$/maybe/' data/trials >bad/trials
expect 1 "bad/trials' line 7: the third field must be 'target' or 'nontarget'" bad/scores -- score-trials "${SCORE[@]}" bad/trials "${IV[@]}" bad/scores
sed '9s/ [^ ]* / nobody-utt9 /' data/trials >bad/trials_id
expect 1 "test id 'nobody-utt9'.*bad/trials_id:9" bad/scores -- score-trials "${SCORE[@]}" bad/trials_id "${IV[@]}" bad/scores
# PLDA of the wrong dimension for the embeddings (no transform).
expect 1 "exp/plda' has dimension 4 but the embeddings have dimension 6" bad/scores -- \
  score-trials --plda exp/plda --enrol-spk2utt data/enrol/spk2utt data/trials "${IV[@]}" bad/scores
# A failed run leaves an existing output as it was.
echo "previous content" >bad/kept
expect 1 "bad/trials' line 7: the third field" "" -- score-trials "${SCORE[@]}" bad/trials "${IV[@]}" bad/kept
[[ $(cat bad/kept) == "previous content" ]] || fail "a failed ivkit-score-trials changed its existing output"

# Score files: a score that is not a number, a pair scored twice, a trial without a score.
run score-trials -q "${SCORE[@]}" data/trials "${IV[@]}" exp/scores
sed '3s/[^ ]*$/abc/' exp/scores >bad/scores_nan
expect 1 "bad/scores_nan' line 3: the score 'abc' is not a number" bad/det.svg -- \
  evaluate --det-svg bad/det.svg data/trials bad/scores_nan
{ cat exp/scores; sed -n 5p exp/scores; } >bad/scores_twice
expect 1 "bad/scores_twice' line 1729: the pair .* already has a score (line 5)" bad/det.svg -- \
  evaluate --det-svg bad/det.svg data/trials bad/scores_twice
sed 11d exp/scores >bad/scores_missing
expect 1 "bad/scores_missing' has no score for the trial .*data/trials' line 11" bad/det.svg -- \
  evaluate --det-svg bad/det.svg data/trials bad/scores_missing
# ... which --missing skip accepts, with a warning.
run evaluate -q --missing skip data/trials bad/scores_missing >/dev/null
# A trial list without labels cannot be evaluated.
awk '{ print $1, $2 }' data/trials >bad/pairs
expect 1 "bad/pairs' line 1: not a trial in either format" "" -- evaluate bad/pairs exp/scores

no_temporaries .
echo "errors: every bad input was reported with its place and status"
