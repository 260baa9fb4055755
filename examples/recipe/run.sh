#!/usr/bin/env bash
# The classic i-vector recipe of Kaldi's egs/voxceleb/v1 (and sre08/sre10 v1) as a script of ivkit
# tools, laid out like Kaldi's run.sh: from wav.scp to EER, no Kaldi needed. The same algorithm as
# examples/speaker_recipe.cpp (docs/recipe.md says what differs).
#
#   bash examples/recipe/run.sh [options] CORPUS EXP
#     CORPUS: train/ and eval/ Kaldi data folders (wav.scp, possibly piped or with segments; utt2spk)
#             and eval/trials ("utt1 utt2 target|nontarget")
#     EXP:    the working folder (features, models, i-vectors, scores, results.txt, det.svg)
#   options (name=value or name value):
#     --tools DIR      where the ivkit-* programs are (default: on PATH)
#     --stage N        start at stage N (0 features, 1 UBM, 2 extractor, 3 i-vectors, 4 back-end, 5 scoring)
#     --num-gauss N (512) --ivector-dim N (200) --lda-dim N (200) --threads N (0 = all cores)
#     --extractor-iters N (5) --mfcc-conf FILE --vad-conf FILE (defaults: the voxceleb/v1 settings below)
set -euo pipefail

tools="" stage=0 num_gauss=512 ivector_dim=200 lda_dim=200 threads=0 extractor_iters=5 mfcc_conf="" vad_conf=""
while [[ $# -gt 0 && $1 == --* ]]; do
  opt=${1%%=*}
  if [[ $1 == *=* ]]; then val=${1#*=}; shift; else val=${2:?"$opt needs a value"}; shift 2; fi
  case $opt in
    --tools) tools=$val ;;
    --stage) stage=$val ;;
    --num-gauss) num_gauss=$val ;;
    --ivector-dim) ivector_dim=$val ;;
    --lda-dim) lda_dim=$val ;;
    --threads) threads=$val ;;
    --extractor-iters) extractor_iters=$val ;;
    --mfcc-conf) mfcc_conf=$val ;;
    --vad-conf) vad_conf=$val ;;
    *) echo "run.sh: unknown option $opt" >&2; exit 2 ;;
  esac
done
if [[ $# -ne 2 ]]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
corpus=$1
exp=$2
[[ -n $tools ]] && PATH="$(cd "$tools" && pwd):$PATH"
for t in compute-features compute-vad train-ubm train-ivector-extractor extract-ivectors train-backend score-trials evaluate; do
  command -v "ivkit-$t" >/dev/null || { echo "run.sh: ivkit-$t not found (give --tools DIR)" >&2; exit 1; }
done
mkdir -p "$exp/conf"
log() { echo "run.sh: $(date +%T) $*" >&2; }
started=$(date +%s.%N)

# The voxceleb/v1 front end (conf/mfcc.conf) and the sid recipes' VAD, as examples/speaker_recipe.cpp
# uses them; --dither=0 makes the features reproducible.
if [[ -z $mfcc_conf ]]; then
  mfcc_conf=$exp/conf/mfcc.conf
  printf '%s\n' --sample-frequency=16000 --frame-length=25 --low-freq=50 --high-freq=7500 --num-mel-bins=40 --num-ceps=20 \
    --snip-edges=false --dither=0 >"$mfcc_conf"
fi
if [[ -z $vad_conf ]]; then
  vad_conf=$exp/conf/vad.conf
  printf '%s\n' --vad-energy-threshold=5.5 --vad-energy-mean-scale=0.5 --vad-proportion-threshold=0.12 --vad-frames-context=2 >"$vad_conf"
fi
# Every tool that reads features applies sid's pipeline on the fly: deltas (window 3), sliding CMN
# (300 frames), voiced frames.
sid() { echo --sid-pipeline --vad-rspecifier "scp:$exp/mfcc/$1/vad.scp"; }

if [[ $stage -le 0 ]]; then
  for set in train eval; do
    log "features of $set"
    mkdir -p "$exp/mfcc/$set"
    seg=()
    [[ -f $corpus/$set/segments ]] && seg=(--segments "$corpus/$set/segments")
    ivkit-compute-features --config "$mfcc_conf" "${seg[@]}" --threads "$threads" "scp:$corpus/$set/wav.scp" \
      "ark,scp:$exp/mfcc/$set/raw_mfcc.ark,$exp/mfcc/$set/feats.scp"
    ivkit-compute-vad --config "$vad_conf" "scp:$exp/mfcc/$set/feats.scp" "ark,scp:$exp/mfcc/$set/vad.ark,$exp/mfcc/$set/vad.scp"
  done
fi

train_feats=scp:$exp/mfcc/train/feats.scp
if [[ $stage -le 1 ]]; then
  # sid/train_diag_ubm.sh: initialisation on up to 500,000 frames with mixing up, then EM on every
  # 5th frame; sid/train_full_ubm.sh: full covariances.
  log "UBM"
  mkdir -p "$exp/ubm"
  ivkit-train-ubm $(sid train) --num-gauss "$num_gauss" --num-iters 20 --num-frames 500000 --min-gaussian-weight 1e-4 \
    --threads "$threads" "$train_feats" "$exp/ubm/init.dubm"
  ivkit-train-ubm $(sid train) --from "$exp/ubm/init.dubm" --num-iters 4 --subsample 5 --min-gaussian-weight 1e-4 \
    --threads "$threads" "$train_feats" "$exp/ubm/final.dubm"
  ivkit-train-ubm $(sid train) --full --from "$exp/ubm/final.dubm" --num-iters 0 --num-full-iters 4 --subsample 5 \
    --min-gaussian-weight 1e-4 --threads "$threads" "$train_feats" "$exp/ubm/final.ubm"
fi

if [[ $stage -le 2 ]]; then
  # sid/train_ivector_extractor.sh: Gaussian selection with the diagonal, posteriors at 0.025.
  log "i-vector extractor"
  mkdir -p "$exp/extractor"
  ivkit-train-ivector-extractor $(sid train) --ivector-dim "$ivector_dim" --num-iters "$extractor_iters" --init pca --prior-convention zero-mean \
    --threads "$threads" "$exp/ubm/final.ubm" "$train_feats" "$exp/extractor/final.ie"
fi

if [[ $stage -le 3 ]]; then
  for set in train eval; do
    log "i-vectors of $set"
    mkdir -p "$exp/ivectors_$set"
    ivkit-extract-ivectors $(sid "$set") --threads "$threads" "$exp/ubm/final.ubm" "$exp/extractor/final.ie" \
      "scp:$exp/mfcc/$set/feats.scp" "ark,scp:$exp/ivectors_$set/ivector.ark,$exp/ivectors_$set/ivector.scp"
  done
fi

if [[ $stage -le 4 ]]; then
  # Centring, LDA (at most #speakers - 1 dimensions), length normalisation, PLDA.
  log "back-end"
  mkdir -p "$exp/backend"
  num_spk=$(cut -d' ' -f2 "$corpus/train/utt2spk" | sort -u | wc -l)
  dim=$((lda_dim < num_spk - 1 ? lda_dim : num_spk - 1))
  dim=$((dim < ivector_dim ? dim : ivector_dim))
  ivkit-train-backend --utt2spk "$corpus/train/utt2spk" --lda-dim "$dim" "scp:$exp/ivectors_train/ivector.scp" \
    "$exp/backend/transform.ivk" "$exp/backend/plda.ivk"
fi

if [[ $stage -le 5 ]]; then
  log "scoring"
  mkdir -p "$exp/scores"
  iv=scp:$exp/ivectors_eval/ivector.scp
  ivkit-score-trials --plda "$exp/backend/plda.ivk" --transform "$exp/backend/transform.ivk" --threads "$threads" \
    "$corpus/eval/trials" "$iv" "$iv" "$exp/scores/plda"
  ivkit-score-trials --transform "$exp/backend/transform.ivk" --threads "$threads" "$corpus/eval/trials" "$iv" "$iv" "$exp/scores/cosine_lda"
  ivkit-score-trials --threads "$threads" "$corpus/eval/trials" "$iv" "$iv" "$exp/scores/cosine_raw"
  ivkit-evaluate --p-target 0.01,0.05 --det-svg "$exp/det.svg" --names "PLDA,cosine LDA,cosine raw" "$corpus/eval/trials" \
    "$exp/scores/plda" "$exp/scores/cosine_lda" "$exp/scores/cosine_raw" >"$exp/results.txt"
  cat "$exp/results.txt"
fi
log "done in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }'); results in $exp/results.txt, DET plot $exp/det.svg"
