#!/usr/bin/env bash
# Diarisation end to end with the tools, on six generated conversations of 2 to 4 held-out
# speakers (make_tool_data's conv/): a UBM, extractor and PLDA back-end trained on the training
# speakers; i-vectors of 1.5 s windows every 0.75 s; ivkit-diarize with the oracle number of
# speakers and with a threshold; ivkit-score-diarization against the reference RTTM. The DERs are
# bounded (measured: see the messages); the errors of both tools are checked.
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p exp
run train-ubm -q "${UBM_OPTS[@]}" scp:data/train/feats.scp exp/ubm
run train-ivector-extractor -q "${IE_OPTS[@]}" exp/ubm scp:data/train/feats.scp exp/ie
run extract-ivectors -q exp/ubm exp/ie scp:data/train/feats.scp ark,scp:exp/iv_train.ark,exp/iv_train.scp
run train-backend -q --utt2spk data/train/utt2spk --lda-dim 6 scp:exp/iv_train.scp exp/transform.ivk exp/plda.ivk
run extract-ivectors -q --window 1.5 --period 0.75 --min-segment 0.5 --write-segments exp/segments exp/ubm exp/ie \
  scp:data/conv/feats.scp ark,scp:exp/iv_win.ark,exp/iv_win.scp
must_exist exp/segments

# der FILE: the overall DER (proportion) of a tsv report.
der() { awk -F'\t' '$1 == "OVERALL" { print $6 }' "$1"; }
# below VALUE BOUND NAME
below() { awk -v v="$1" -v b="$2" 'BEGIN { exit !(v <= b) }' || fail "$3: DER $1 above $2"; echo "diarize: $3 DER $1 (bound $2)" >&2; }

# Oracle number of speakers, PLDA scores.
run diarize -q --plda exp/plda.ivk --transform exp/transform.ivk --reco2num-spk data/conv/reco2num_spk exp/segments scp:exp/iv_win.scp exp/oracle.rttm
run score-diarization --format tsv data/conv/ref.rttm exp/oracle.rttm >exp/oracle.tsv
below "$(der exp/oracle.tsv)" 0.17 "PLDA (recording PCA, target energy 0.5), oracle speakers"
run diarize -q --plda exp/plda.ivk --transform exp/transform.ivk --target-energy 1 --reco2num-spk data/conv/reco2num_spk exp/segments scp:exp/iv_win.scp exp/oracle_nopca.rttm
run score-diarization --format tsv data/conv/ref.rttm exp/oracle_nopca.rttm >exp/oracle_nopca.tsv
below "$(der exp/oracle_nopca.tsv)" 0.15 "PLDA without the PCA, oracle speakers"
# A threshold tuned on a development half (conv0-2), applied to the other half (conv3-5), as Kaldi's
# callhome recipe does. (This toy PLDA's log-likelihood ratios of 1.5 s windows are far from
# calibrated: the best thresholds are far below 0.)
for half in dev:012 eval:345; do
  name=${half%%:*} set=${half#*:}
  awk -v re="^conv[$set]\$" '$2 ~ re' exp/segments >"exp/segments_$name"
  awk -v re="^conv[$set]\$" '$2 ~ re' data/conv/ref.rttm >"exp/ref_$name.rttm"
done
best=
best_der=2
for th in -400 -200 -120 -80 -60 -40 -20 0; do
  run diarize -q --plda exp/plda.ivk --transform exp/transform.ivk --threshold "$th" exp/segments_dev scp:exp/iv_win.scp exp/dev.rttm
  run score-diarization --format tsv exp/ref_dev.rttm exp/dev.rttm >exp/dev.tsv
  d=$(der exp/dev.tsv)
  if awk -v a="$d" -v b="$best_der" 'BEGIN { exit !(a < b) }'; then best=$th best_der=$d; fi
done
echo "diarize: threshold $best tuned on conv0-2 (DER $best_der)" >&2
run diarize -q --plda exp/plda.ivk --transform exp/transform.ivk --threshold "$best" exp/segments_eval scp:exp/iv_win.scp exp/eval.rttm
run score-diarization --format tsv exp/ref_eval.rttm exp/eval.rttm >exp/eval.tsv
below "$(der exp/eval.tsv)" 0.25 "PLDA, tuned threshold, conv3-5"
run score-diarization --format tsv --collar 0.25 exp/ref_eval.rttm exp/eval.rttm >exp/eval_collar.tsv
awk -v a="$(der exp/eval_collar.tsv)" -v b="$(der exp/eval.tsv)" 'BEGIN { exit !(a <= b) }' || fail "a collar raised the DER"
run diarize -q --reco2num-spk data/conv/reco2num_spk --transform exp/transform.ivk exp/segments scp:exp/iv_win.scp exp/cosine.rttm
run score-diarization data/conv/ref.rttm exp/cosine.rttm >exp/cosine.txt
grep -q '^OVERALL' exp/cosine.txt || fail "no OVERALL line in the text report"
run diarize -q --linkage centroid --reco2num-spk data/conv/reco2num_spk --transform exp/transform.ivk exp/segments scp:exp/iv_win.scp exp/centroid.rttm
run score-diarization --format tsv data/conv/ref.rttm exp/centroid.rttm >exp/centroid.tsv
below "$(der exp/centroid.tsv)" 0.25 "cosine, centroid linkage, oracle speakers"
# The reference against itself: 0.
run score-diarization --format tsv data/conv/ref.rttm data/conv/ref.rttm >exp/self.tsv
[[ $(der exp/self.tsv) == 0 ]] || fail "the reference scored against itself gives DER $(der exp/self.tsv)"

# Errors.
mkdir -p bad
sed '1s/^\(SPEAKER [^ ]* 1\) [^ ]* /\1 x /' data/conv/ref.rttm >bad/ref.rttm
expect 1 "bad/ref.rttm' line 1: bad start or duration" "" -- score-diarization bad/ref.rttm exp/oracle.rttm
sed 's/conv0/convX/' exp/oracle.rttm >bad/other.rttm
expect 1 "the recording 'convX' is not in the reference" "" -- score-diarization data/conv/ref.rttm bad/other.rttm
head -n 3 exp/segments >bad/segments
echo "nowin conv0 0 1.5" >>bad/segments
expect 1 "has no embedding for the window 'nowin'" bad/x.rttm -- diarize bad/segments scp:exp/iv_win.scp bad/x.rttm
grep -v conv5 data/conv/reco2num_spk >bad/reco2num
expect 1 "gives no number of speakers for the recording 'conv5'" bad/x.rttm -- diarize --reco2num-spk bad/reco2num exp/segments scp:exp/iv_win.scp bad/x.rttm
# One window in a recording: one speaker.
head -n 1 exp/segments >bad/one_segment
run diarize -q bad/one_segment scp:exp/iv_win.scp exp/one.rttm
[[ $(wc -l <exp/one.rttm) -eq 1 ]] || fail "one window gave $(wc -l <exp/one.rttm) turns"
echo "diarize: passed" >&2
