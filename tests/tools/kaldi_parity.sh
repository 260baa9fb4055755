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

# shellcheck source=tests/tools/helpers.sh
source "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
# The kernel path in use (core/isa.hpp): --version names it, and IVKIT_ISA forces it.
version=$("$TOOLS/ivkit-gselect" --version)
echo "$version" >&2
if [[ -n "${IVKIT_ISA:-}" ]]; then
  grep -q "^kernels: $IVKIT_ISA " <<<"$version" || fail "--version does not name the path IVKIT_ISA=$IVKIT_ISA forces"
fi
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
  # A wave archive written by Kaldi's extract-segments, from a file and through a pipe.
  run compute-features --config=conf/mfcc.conf --dither=0 ark:segments_wav.ark ark:out/mfcc_wave_ark.ark
  compare matrices ark:mfcc_segments.ark ark:out/mfcc_wave_ark.ark 2.5e-2
  run compute-features --config=conf/mfcc.conf --dither=0 "ark:cat segments_wav.ark |" ark:out/mfcc_wave_pipe.ark
  cmp out/mfcc_wave_ark.ark out/mfcc_wave_pipe.ark || fail "a piped wave archive gives other features"
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

# sid/train_full_ubm.sh replayed: final.dubm made full, a selection of n = 20 from it on the 96
# training utterances (sid features on the fly), two full-covariance passes under Kaldi's estimation
# conventions with that fixed selection: Kaldi's final.ubm (measured 3.6e-6; float storage).
run gselect --n 20 --sid-pipeline --vad-rspecifier ark:train/vad.ark final.dubm ark:train/mfcc.ark ark:out/train_gselect.ark
run train-ubm --full --from final.dubm --num-iters 0 --num-full-iters 2 --kaldi-estimation --gselect ark:out/train_gselect.ark \
  --sid-pipeline --vad-rspecifier ark:train/vad.ark --kaldi-format ark:train/mfcc.ark out/final.ubm
compare ubm final.ubm out/final.ubm 1e-5
# ivkit's own conventions (a floor relative to the data) give another model on these data.
run train-ubm --full --from final.dubm --num-iters 0 --num-full-iters 2 --gselect ark:out/train_gselect.ark \
  --sid-pipeline --vad-rspecifier ark:train/vad.ark --kaldi-format ark:train/mfcc.ark out/ivkit.ubm
if "$COMPARE" ubm final.ubm out/ivkit.ubm 1e-2 >/dev/null; then fail "ivkit's estimation conventions gave Kaldi's model: the check above proves nothing"; fi

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

# Models from commands, as Kaldi's recipes pass them ("fgmm-global-to-gmm final.ubm - |").
run extract-ivectors "cat final.ubm |" "cat final.ie |" scp:feats_sid.scp ark:out/ivectors_piped_models.ark
cmp out/ivectors.ark out/ivectors_piped_models.ark || fail "models read from commands give other i-vectors"

# Training continues from Kaldi's final.ie (--from); with no iteration it is written back as it was.
run train-ivector-extractor --from final.ie --num-iters 0 --kaldi-format final.ubm scp:feats_sid.scp out/copy.ie
run extract-ivectors final.ubm out/copy.ie scp:feats_sid.scp ark:out/ivectors_copy.ark
compare cosine scp:ivectors_kept.scp ark:out/ivectors_copy.ark 0.9999
run train-ivector-extractor --from final.ie --num-iters 1 --kaldi-format final.ubm scp:feats_sid.scp out/plus1.ie

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

# Tools whose Kaldi counterparts left no output in the fixtures: checked for the properties that must hold.
# Calibration: a monotone map (the EER stays), Cllr falls to no less than minCllr; fusion of two systems.
run calibrate train eval/trials scores_plda out/cal.ivk
run calibrate apply out/cal.ivk scores_plda out/llr
run calibrate train --l2 0.01 eval/trials scores_plda scores_cosine out/fusion.ivk
run calibrate apply out/fusion.ivk scores_plda scores_cosine out/fused
"$TOOLS/ivkit-evaluate" -q --format tsv eval/trials scores_plda out/llr out/fused >out/cal.tsv
metric() { awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' out/cal.tsv; }
awk -v a="$(metric scores_plda eer_kaldi)" -v b="$(metric out/llr eer_kaldi)" 'BEGIN { exit !(a == b) }' || fail "calibration changed the EER"
awk -v raw="$(metric scores_plda cllr)" -v cal="$(metric out/llr cllr)" -v min="$(metric out/llr min_cllr)" \
  'BEGIN { exit !(cal < raw && cal >= min) }' || fail "calibration did not bring Cllr down towards minCllr: $(cat out/cal.tsv)"
awk -v f="$(metric out/fused cllr)" -v c="$(metric out/llr cllr)" 'BEGIN { exit !(f <= c + 1e-9) }' || fail "the fusion is worse than its first system"
# PLDA adaptation to the evaluation i-vectors, in Kaldi's format, then scoring with it.
run adapt-plda --mean mean.vec --transform transform.mat --kaldi-format plda scp:ivectors_eval.scp out/plda_adapt
run score-trials --plda out/plda_adapt --transform transform.mat --mean mean.vec eval/trials scp:ivectors_eval.scp scp:ivectors_eval.scp \
  out/scores_adapt
[[ $(wc -l <out/scores_adapt) -eq 672 ]] || fail "adapted PLDA: not one score per trial"
# GMM-UBM: enrol on one utterance per speaker, test on the other.
printf 'de01 de01-001\nengb04 engb04-002\nenus02 enus02-004\nfrfr04 frfr04-005\n' >out/enrol
for m in de01 engb04 enus02 frfr04; do
  for u in de01-002 engb04-003 enus02-006 frfr04-006; do [[ $u == $m-* ]] && echo "$m $u target" || echo "$m $u nontarget"; done
done >out/trials16
run gmm-ubm-score --enrol-spk2utt out/enrol final.dubm out/trials16 scp:feats_sid.scp scp:feats_sid.scp out/gmm_ubm
awk '$3 == "target" { getline s < "out/gmm_ubm"; split(s, f, " "); t += f[3]; nt++; next } { getline s < "out/gmm_ubm"; split(s, f, " "); n += f[3]; nn++ }
     END { exit !(t / nt > n / nn) }' out/trials16 || fail "GMM-UBM target scores are not above non-target scores on average"
# Windowed i-vectors: Kaldi's uniform windows, keys and segments; a window longer than every
# utterance gives each utterance's own i-vector.
run extract-ivectors --window 1.0 --period 0.5 --write-segments out/win_segments final.ubm final.ie scp:feats_sid.scp ark:out/win.ark
grep -q "^de01-001-00000150-00000231 de01-001 1.50 2.31$" out/win_segments || fail "windows differ from Kaldi's uniform subsegments"
[[ $(wc -l <out/win_segments) -eq 34 ]] || fail "expected 34 windows, got $(wc -l <out/win_segments)"
run extract-ivectors --window 5.0 final.ubm final.ie scp:feats_sid.scp ark,t:out/win_long.txt
run extract-ivectors final.ubm final.ie scp:feats_sid.scp ark,t:out/whole.txt
diff <(sed 's/-00000000-[0-9]* / /' out/win_long.txt) out/whole.txt >/dev/null || fail "a window over the whole utterance gives another i-vector"

# Bad input: each a clear error naming the file and line (or the command), exit status 1 (2 for a
# usage error), and no output file left behind.
expect_error() {  # expect_error STATUS PATTERN OUTPUT TOOL ARGS...
  local status=$1 pattern=$2 output=$3 tool=$4 rc=0
  shift 4
  echo "+ (must fail) ivkit-$tool $*" >&2
  "$TOOLS/ivkit-$tool" -q "$@" 2>out/err.txt || rc=$?
  [[ $rc -eq $status ]] || fail "ivkit-$tool $*: exit status $rc, expected $status ($(cat out/err.txt))"
  grep -qF -- "$pattern" out/err.txt || fail "ivkit-$tool $*: the message does not say '$pattern': $(cat out/err.txt)"
  [[ ! -e "$output" ]] || fail "ivkit-$tool $*: left '$output' behind"
  compgen -G "out/.*tmp*" >/dev/null && fail "ivkit-$tool $*: left a temporary file in out/"
  return 0
}
if [[ -x "$TOOLS/ivkit-compute-features" ]]; then
  printf 'a wav/de01-001.wav\nb wav/missing.wav\n' >out/missing.scp
  expect_error 1 "cannot open 'wav/missing.wav'" out/bad.ark compute-features --config=conf/mfcc.conf scp:out/missing.scp ark:out/bad.ark
  grep -qF "'out/missing.scp' line 2" out/err.txt || fail "the missing WAV's message does not name the line: $(cat out/err.txt)"
  printf 'a sox wav/de01-001.wav -t wav - |\nb sox wav/nothere.wav -t wav - |\n' >out/piped_bad.scp
  expect_error 1 "the command 'sox wav/nothere.wav -t wav -' failed" out/bad.ark compute-features scp:out/piped_bad.scp ark:out/bad.ark
  printf 'u1 de01-001 0.5 1.0\nu2 de01-001 2.0 4.0\n' >out/segments_beyond
  expect_error 1 "'out/segments_beyond' line 2: segment 'u2' of recording 'de01-001' ends at 4 s, more than --max-overshoot 0.5 s beyond" \
    out/bad.ark compute-features --segments=out/segments_beyond scp:wav.scp ark:out/bad.ark
  printf -- '--num-ceps=13\n# a comment\n--sample-frequency=16000\n--no-such-option=3\n' >out/bad.conf
  expect_error 2 "'out/bad.conf' line 4: unknown option '--no-such-option'" out/bad.ark compute-features --config=out/bad.conf scp:wav.scp ark:out/bad.ark
fi
expect_error 1 "the command 'cat feats_sid.ark; exit 3' failed (exit status 3)" out/bad_iv.ark \
  extract-ivectors final.ubm final.ie "ark:cat feats_sid.ark; exit 3 |" ark:out/bad_iv.ark
expect_error 1 "the command 'exit 5' failed (exit status 5)" out/bad_iv.ark extract-ivectors final.ubm final.ie scp:feats_sid.scp "ark:| exit 5"
expect_error 1 "has no VAD in" out/bad_iv.ark extract-ivectors --sid-pipeline --vad-rspecifier "scp:head -n 3 vad.scp |" final.ubm final.ie \
  scp:mfcc.scp ark:out/bad_iv.ark

# A value too large for float's log-likelihoods in one utterance of a batch: the batch's single
# posterior call fails, and the tool goes back utterance by utterance so that the message names the
# utterance and the frame.
awk 'BEGIN { for (u = 1; u <= 3; ++u) { printf "u%d  [\n", u
  for (t = 0; t < 4; ++t) { for (d = 0; d < 72; ++d) printf " %s", (u == 2 && t == 2 && d == 7) ? "1e30" : sprintf("%.3f", sin(7 * u + 3 * t + d))
    printf (t == 3 ? " ]\n" : "\n") } } }' >out/huge_feats.txt
sed 's/1e30/0.5/' out/huge_feats.txt >out/ok_feats.txt
run gselect -q --n 20 final.ubm ark,t:out/ok_feats.txt ark:out/ok_gs.ark
run extract-ivectors -q --gselect ark:out/ok_gs.ark final.ubm final.ie ark,t:out/ok_feats.txt ark:out/ok_iv.ark
expect_error 1 "utterance 'u2': selected_posteriors: frame 2 has a non-finite log-likelihood" out/huge_iv.ark \
  extract-ivectors --gselect ark:out/ok_gs.ark final.ubm final.ie ark,t:out/huge_feats.txt ark:out/huge_iv.ark

echo "kaldi_parity: every output equals Kaldi's within its bound; bad input gives clear errors" >&2
