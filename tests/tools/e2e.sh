#!/usr/bin/env bash
# The whole recipe with the command-line tools on the small data folder of make_tool_data: UBM
# (diagonal, then full covariance in Kaldi's format), Gaussian selection, i-vector extractor,
# i-vectors with their uncertainty, back-end (ivkit's and Kaldi's formats), scoring (cosine, PLDA,
# score normalisation; Kaldi, stklia and pair trial lists) and evaluation with a DET plot.
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# --help of every tool: exit status 0, the usage and an example.
for t in train-ubm gselect train-ivector-extractor extract-ivectors train-backend score-trials evaluate compute-features compute-vad \
  calibrate adapt-plda gmm-ubm-score sum-accs; do
  [[ $t != compute-features || -x "$TOOLS/ivkit-$t" ]] || continue  # built with libsndfile only
  out=$("$TOOLS/ivkit-$t" --help) || fail "ivkit-$t --help exited with status $?"
  grep -q "Example:" <<<"$out" || fail "ivkit-$t --help shows no example"
  grep -q -- "--threads\|--quiet" <<<"$out" || fail "ivkit-$t --help lists no options"
done

mkdir -p exp
# UBM: diagonal (ivkit format), then full covariance on top of it, written in Kaldi's binary format.
run train-ubm "${UBM_OPTS[@]}" scp:data/train/feats.scp exp/final.dubm
run train-ubm --full --from exp/final.dubm --num-iters 0 --num-full-iters 2 --kaldi-format scp:data/train/feats.scp exp/final.ubm
must_exist exp/final.dubm exp/final.ubm
[[ $(head -c 2 exp/final.ubm | od -An -c | tr -d ' ') == '\0B' ]] || fail "exp/final.ubm is not a Kaldi binary object"
[[ ! -e exp/final.dubm.checkpoint && ! -e exp/final.ubm.checkpoint ]] || fail "checkpoints left after training"
# Random initialisation never mixes up after the last diagonal pass: with one pass, all the
# Gaussians start from random frames; with two, the mix-up follows the first pass only.
for iters in 1 2; do
  log=$("$TOOLS/ivkit-train-ubm" --num-gauss 8 --num-iters $iters scp:data/train/feats.scp exp/short$iters.dubm 2>&1) ||
    fail "ivkit-train-ubm --num-iters $iters exited with status $?"
  grep -q "wrote diagonal UBM, 8 components" <<<"$log" || fail "ivkit-train-ubm --num-iters $iters did not write 8 Gaussians: $log"
  grep "iteration $iters/$iters" <<<"$log" | grep -q "mixed up" && fail "ivkit-train-ubm --num-iters $iters mixed up after its last pass: $log"
done

# Gaussian selection (archive and script), read back by the extractor training through the script.
run gselect --n 4 exp/final.ubm scp:data/train/feats.scp ark,scp:exp/gselect.ark,exp/gselect.scp
must_exist exp/gselect.ark exp/gselect.scp
[[ $(wc -l <exp/gselect.scp) -eq 320 ]] || fail "exp/gselect.scp does not list the 320 training utterances"
run train-ivector-extractor "${IE_OPTS[@]}" --gselect scp:exp/gselect.scp exp/final.ubm scp:data/train/feats.scp exp/final.ie
must_exist exp/final.ie
# The covariance update with the full-covariance UBM (Kaldi's default in its recipe): full
# covariances re-estimated from the packed scatter; EM's objective must not fall.
"$TOOLS/ivkit-train-ivector-extractor" --from exp/final.ie --num-iters 3 --update-variances --gselect scp:exp/gselect.scp exp/final.ubm \
  scp:data/train/feats.scp exp/final_var.ie 2>exp/var.log || fail "--update-variances with a full UBM failed: $(cat exp/var.log)"
grep -o 'objective [-0-9.e+]*' exp/var.log | awk '{ if (NR > 1 && $2 < last - 1e-6 * (last < 0 ? -last : last)) { print "objective fell: " last " -> " $2; exit 1 }
                                                  last = $2 } END { if (NR != 3) { print NR " objectives"; exit 1 } }' ||
  fail "the covariance update with a full UBM is not monotone: $(cat exp/var.log)"

# i-vectors of every set, with their posterior variances (in text, to check them here).
for set in train enrol test; do
  run extract-ivectors --num-gselect 4 --threads 2 --uncertainty-wspecifier "ark,t:exp/ivector_var_$set.txt" \
    exp/final.ubm exp/final.ie "scp:data/$set/feats.scp" "ark,scp:exp/ivector_$set.ark,exp/ivector_$set.scp"
  must_exist "exp/ivector_$set.ark" "exp/ivector_$set.scp" "exp/ivector_var_$set.txt"
  n=$(wc -l <"data/$set/utt2spk")
  [[ $(wc -l <"exp/ivector_$set.scp") -eq $n ]] || fail "exp/ivector_$set.scp does not list the $n utterances"
  # Kaldi text vectors: "key  [ v1 v2 ... ]"; every variance positive and finite, 10 per utterance.
  awk -v n="$n" '{ if ($2 != "[" || $NF != "]" || NF != 13) bad = "line " NR ": expected 10 values in brackets"
                   for (i = 3; i < NF; i++) if (!($i > 0 && $i < 1e30)) bad = "line " NR ": variance " $i }
                 END { if (NR != n) bad = NR " lines, expected " n; if (bad) { print bad; exit 1 } }' \
    "exp/ivector_var_$set.txt" || fail "bad uncertainty output exp/ivector_var_$set.txt"
done

# Back-end: centring, LDA, length norm and PLDA, in ivkit's format and in Kaldi's.
run train-backend --utt2spk data/train/utt2spk --lda-dim 6 scp:exp/ivector_train.scp exp/transform.ivk exp/plda.ivk
run train-backend --spk2utt data/train/spk2utt --lda-dim 6 --kaldi-format scp:exp/ivector_train.scp exp/transform.mat exp/plda
# Kaldi's convention (length sqrt(dim), ivector-normalize-length) in ivkit's format, to compare with Kaldi's files.
run train-backend --utt2spk data/train/utt2spk --lda-dim 6 --length-norm-scale sqrt-dim scp:exp/ivector_train.scp exp/transform_sqrt.ivk \
  exp/plda_sqrt.ivk
must_exist exp/transform.ivk exp/plda.ivk exp/transform.mat exp/plda

# Scoring: PLDA with multi-utterance enrolment, the same with Kaldi's model files, cosine, and
# normalised variants; a stklia list and bare pairs give the same scores.
ENROL=(--enrol-spk2utt data/enrol/spk2utt)
IV=(scp:exp/ivector_enrol.scp scp:exp/ivector_test.scp)
mkdir -p scores
run score-trials --plda exp/plda.ivk --transform exp/transform.ivk "${ENROL[@]}" data/trials "${IV[@]}" scores/plda
run score-trials --plda exp/plda --transform exp/transform.mat "${ENROL[@]}" data/trials "${IV[@]}" scores/plda_kaldi
run score-trials --plda exp/plda_sqrt.ivk --transform exp/transform_sqrt.ivk "${ENROL[@]}" data/trials "${IV[@]}" scores/plda_sqrt
run score-trials --transform exp/transform.ivk "${ENROL[@]}" data/trials "${IV[@]}" scores/cosine
run score-trials --transform exp/transform.ivk "${ENROL[@]}" --score-norm as --top-k 50 --cohort scp:exp/ivector_train.scp \
  data/trials "${IV[@]}" scores/cosine_asnorm
run score-trials --plda exp/plda.ivk --transform exp/transform.ivk "${ENROL[@]}" --score-norm s --cohort scp:exp/ivector_train.scp \
  --threads 2 data/trials "${IV[@]}" scores/plda_snorm
awk '{ print ($3 == "target" ? 1 : 0), $1, $2 }' data/trials >trials_stklia
awk '{ print $1, $2 }' data/trials >trials_pairs
run score-trials --transform exp/transform.ivk "${ENROL[@]}" trials_stklia "${IV[@]}" scores/cosine_stklia
"$TOOLS/ivkit-score-trials" -q --transform exp/transform.ivk "${ENROL[@]}" trials_pairs "${IV[@]}" - >scores/cosine_pairs ||
  fail "ivkit-score-trials to stdout failed"
for s in plda plda_kaldi cosine cosine_asnorm plda_snorm; do
  [[ $(wc -l <"scores/$s") -eq $(wc -l <data/trials) ]] || fail "scores/$s does not hold one score per trial"
done
cmp -s scores/cosine scores/cosine_stklia || fail "a stklia trial list gives other scores"
cmp -s scores/cosine scores/cosine_pairs || fail "a list of pairs gives other scores"
# The first two fields are the trial's, in trial order.
diff <(awk '{ print $1, $2 }' scores/plda) trials_pairs >/dev/null || fail "scores/plda is not in trial order"
# Kaldi's model files give the same PLDA scores as ivkit's in the same convention (up to float rounding).
paste scores/plda_sqrt scores/plda_kaldi | awk '{ d = $3 - $6; if (d < 0) d = -d; a = $3 < 0 ? -$3 : $3
                                             if (d > 1e-3 * (1 + a)) { print "line " NR ": " $3 " vs " $6; exit 1 } }' ||
  fail "Kaldi-format back-end files give other PLDA scores"

# Evaluation: every system, with a DET plot; the EER must be that of a working system.
run evaluate --det-svg scores/det.svg data/trials scores/plda scores/cosine scores/cosine_asnorm scores/plda_snorm >report.txt
must_exist scores/det.svg report.txt
cat report.txt >&2
{ grep -q "<svg" scores/det.svg && grep -q "<polyline" scores/det.svg; } || fail "scores/det.svg is not a DET plot"
[[ $(grep -c "<polyline" scores/det.svg) -eq 4 ]] || fail "scores/det.svg does not hold 4 curves"
for what in "EER = " "minDCF = " "actDCF = " "Cllr = " "minCllr = "; do
  grep -q "$what" report.txt || fail "the report has no '$what'"
done
run evaluate --format tsv --p-target 0.01,0.05 data/trials scores/plda scores/cosine scores/cosine_asnorm scores/plda_snorm >report.tsv
cat report.tsv >&2
[[ $(grep -c $'\tmin_dcf\t' report.tsv) -eq 8 ]] || fail "report.tsv: expected minDCF for 2 priors x 4 systems"
awk -F'\t' '$2 ~ /^eer_/ { n++; if (!($3 >= 0 && $3 < 0.15)) { print $1 ": " $2 " = " $3; bad = 1 } }
            END { if (n != 12) { print n " EER lines, expected 12"; bad = 1 } exit bad }' report.tsv ||
  fail "an EER is not that of a working system"
# Kaldi's compute-eer convention alone, and a stklia list, give the same figure.
e1=$("$TOOLS/ivkit-evaluate" -q --format tsv --eer-convention kaldi data/trials scores/plda | awk -F'\t' '$2 == "eer_kaldi" { print $3 }')
e2=$("$TOOLS/ivkit-evaluate" -q --format tsv --eer-convention kaldi trials_stklia scores/plda | awk -F'\t' '$2 == "eer_kaldi" { print $3 }')
[[ -n $e1 && $e1 == "$e2" ]] || fail "the Kaldi EER differs between trial formats ('$e1' vs '$e2')"

no_temporaries .
echo "e2e: all tools ran; PLDA EER (kaldi) = $e1"
