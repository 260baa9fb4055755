#!/usr/bin/env bash
# Speaker diarisation with the models of run.sh (examples/recipe/run.sh), laid out like Kaldi's
# egs/callhome_diarization/v1: conversations of the held-out speakers (scripts/make_conversations.py:
# 2 to 5 speakers taking turns, some turns overlapping), oracle speech regions, MFCC, i-vectors of
# 1.5 s windows every 0.75 s, PLDA scores of all window pairs after a per-recording PCA,
# average-linkage clustering, RTTM, and the DER against the reference: with the oracle number of
# speakers, and with a threshold tuned on a development half (other speakers, other conversations).
#
#   bash examples/recipe/diarize.sh [--tools DIR] [--threads N] [--num N] [--overlap P] CORPUS EXP
#     CORPUS: the corpus run.sh used (eval/: wav.scp of plain files, utt2spk); EXP: run.sh's output
#     (ubm/final.ubm, extractor/final.ie, backend/{transform.ivk,plda.ivk}, conf/mfcc.conf).
#   Writes EXP/diarization/{dev,eval}/ and prints the DERs and the times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tools= threads=2 num=8 overlap=0.15
while [[ $# -gt 2 ]]; do
  case $1 in
    --tools) tools=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --num) num=$2; shift 2 ;;
    --overlap) overlap=$2; shift 2 ;;
    *) echo "diarize.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -eq 2 ]] || { sed -n 2,13p "$0" >&2; exit 2; }
corpus=$1 exp=$2
[[ -n $tools ]] && PATH="$(cd "$tools" && pwd):$PATH"
for t in compute-features extract-ivectors diarize score-diarization; do
  command -v "ivkit-$t" >/dev/null || { echo "diarize.sh: ivkit-$t not found (give --tools DIR)" >&2; exit 1; }
done
for f in ubm/final.ubm extractor/final.ie backend/transform.ivk backend/plda.ivk conf/mfcc.conf; do
  [[ -f $exp/$f ]] || { echo "diarize.sh: $exp/$f is missing: run examples/recipe/run.sh first" >&2; exit 1; }
done
log() { echo "diarize.sh: $(date +%T) $*" >&2; }
now() { date +%s.%N; }
d=$exp/diarization

# Conversations: the development half from one half of the held-out speakers, the evaluation half
# from the other.
started=$(now)
/usr/bin/python3 "$here/../../scripts/make_conversations.py" "$corpus/eval" "$d/dev" --num "$num" --overlap "$overlap" \
  --speakers-mod 2:0 --max-speakers 5 --seed 11
/usr/bin/python3 "$here/../../scripts/make_conversations.py" "$corpus/eval" "$d/eval" --num "$num" --overlap "$overlap" \
  --speakers-mod 2:1 --max-speakers 5 --seed 12

backend_seconds=0
for set in dev eval; do
  s=$d/$set
  # MFCC of the oracle speech regions, then one i-vector per window (windows in recording time).
  chain_start=$(now)
  ivkit-compute-features --config "$exp/conf/mfcc.conf" --segments "$s/segments" --threads "$threads" "scp:$s/wav.scp" \
    "ark,scp:$s/feats.ark,$s/feats.scp"
  ivkit-extract-ivectors --delta-order 2 --delta-window 3 --cmn-window 300 --window 1.5 --period 0.75 --min-segment 0.5 \
    --utt-segments "$s/segments" --write-segments "$s/windows" --threads "$threads" "$exp/ubm/final.ubm" \
    "$exp/extractor/final.ie" "scp:$s/feats.scp" "ark,scp:$s/ivectors.ark,$s/ivectors.scp"
  chain_end=$(now)
  eval "chain_${set}=\$(awk -v a=$chain_start -v b=$chain_end 'BEGIN { print b - a }')"
done

plda=(--plda "$exp/backend/plda.ivk" --transform "$exp/backend/transform.ivk")
dev_der() {  # dev_der OPTIONS...: the development half's overall DER with these ivkit-diarize options
  ivkit-diarize -q "${plda[@]}" "$@" "$d/dev/windows" "scp:$d/dev/ivectors.scp" "$d/dev/try.rttm"
  ivkit-score-diarization -q --format tsv "$d/dev/ref.rttm" "$d/dev/try.rttm" | awk -F'\t' '$1 == "OVERALL" { print $6 }'
}
better() { [[ -z $2 ]] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# The per-recording PCA's target energy (Kaldi's 0.5, or none), chosen on the development half with
# the oracle number of speakers; then the threshold, the best of a grid there.
energy= energy_der=
for te in 0.5 1; do
  der=$(dev_der --target-energy "$te" --reco2num-spk "$d/dev/reco2num_spk")
  if better "$der" "$energy_der"; then energy=$te energy_der=$der; fi
done
plda+=(--target-energy "$energy")
best= best_der=
for th in $(seq -150 5 10); do
  der=$(dev_der --threshold "$th")
  if better "$der" "$best_der"; then best=$th best_der=$der; fi
done
# The evaluation half: the oracle number of speakers, and the tuned threshold.
t0=$(now)
ivkit-diarize -q "${plda[@]}" --threads 1 --reco2num-spk "$d/eval/reco2num_spk" "$d/eval/windows" "scp:$d/eval/ivectors.scp" "$d/eval/oracle.rttm"
t1=$(now)
ivkit-score-diarization "$d/eval/ref.rttm" "$d/eval/oracle.rttm" >"$d/eval/der_oracle.txt"
t2=$(now)
ivkit-diarize -q "${plda[@]}" --threads 1 --threshold "$best" "$d/eval/windows" "scp:$d/eval/ivectors.scp" "$d/eval/threshold.rttm"
t3=$(now)
ivkit-score-diarization "$d/eval/ref.rttm" "$d/eval/threshold.rttm" >"$d/eval/der_threshold.txt"
ivkit-score-diarization --collar 0.25 "$d/eval/ref.rttm" "$d/eval/threshold.rttm" >"$d/eval/der_threshold_collar.txt"

hours=$(awk '{ s += $4 - $3 } END { print s / 3600 }' "$d/eval/segments")
overall() { awk '$1 == "OVERALL" { print $6 "%" }' "$1"; }
{
  echo "diarisation of $num held-out conversations ($(awk '{ s += $4 - $3 } END { printf "%.1f", s / 60 }' "$d/eval/segments") minutes of speech; 2 to 5 speakers; overlap probability $overlap)"
  echo "  PCA target energy $energy (chosen on the dev half: DER $(awk -v v="$energy_der" 'BEGIN { printf "%.2f", 100 * v }')% there with oracle counts)"
  echo "  DER, oracle number of speakers:               $(overall "$d/eval/der_oracle.txt")"
  echo "  DER, threshold $best tuned on the dev half (dev DER $(awk -v v="$best_der" 'BEGIN { printf "%.2f", 100 * v }')%): $(overall "$d/eval/der_threshold.txt") (collar 0.25 s: $(overall "$d/eval/der_threshold_collar.txt"))"
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v e="$t3" -v h="$hours" -v ch="$chain_eval" 'BEGIN {
    printf "  back-end (scoring + clustering), one thread: %.2f s per hour of speech (oracle count), %.2f s (threshold)\n", (b - a) / h, (e - c) / h
    printf "  features + i-vectors of the windows: %.1f s per hour of speech\n", ch / h }'
} | tee "$d/results.txt"
log "done in $(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
