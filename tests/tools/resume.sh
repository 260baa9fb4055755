#!/usr/bin/env bash
# Checkpoints of the training tools: a run interrupted after some EM iterations (--stop-after, or
# killed) and continued with --resume writes the very bytes an uninterrupted run writes; the result
# does not depend on --threads; --resume refuses a checkpoint written with other options.
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FEATS=scp:data/train/feats.scp
mkdir -p a b c

# Lists the checkpoint files of OUT (the index and the iteration files).
checkpoints() { ls "$1".checkpoint "$1".iter* 2>/dev/null || true; }

# ---- UBM: diagonal (random init with mixing up), then full-covariance iterations -------------------
UBM=("${UBM_OPTS[@]}" --full --num-full-iters 2)
run train-ubm "${UBM[@]}" "$FEATS" a/ubm
run train-ubm "${UBM[@]}" --threads 1 "$FEATS" c/ubm
cmp a/ubm c/ubm || fail "train-ubm: --threads 1 and --threads 2 give different models"
[[ -z $(checkpoints a/ubm) ]] || fail "train-ubm left checkpoint files: $(checkpoints a/ubm)"

# Interrupted three times: during mixing up, after it, and in the full-covariance iterations.
run train-ubm "${UBM[@]}" --stop-after 2 "$FEATS" b/ubm
[[ ! -e b/ubm ]] || fail "train-ubm --stop-after wrote the final model"
[[ -s b/ubm.checkpoint && -s b/ubm.iter2 ]] || fail "train-ubm --stop-after 2 left no checkpoint (have: $(checkpoints b/ubm))"
grep -q "^iterations 2$" b/ubm.checkpoint || fail "b/ubm.checkpoint does not record 2 iterations"
run train-ubm "${UBM[@]}" --resume --stop-after 3 "$FEATS" b/ubm
[[ -s b/ubm.iter5 && ! -e b/ubm.iter2 ]] || fail "train-ubm: the checkpoint did not move on to iteration 5 (have: $(checkpoints b/ubm))"
run train-ubm "${UBM[@]}" --resume --stop-after 2 "$FEATS" b/ubm
grep -q "^iterations 7$" b/ubm.checkpoint || fail "b/ubm.checkpoint does not record 7 iterations"
# Options that change the result are refused, naming the option; the checkpoint stays.
set +e
"$TOOLS/ivkit-train-ubm" "${UBM[@]}" --seed 5 --resume "$FEATS" b/ubm 2>err.txt
rc=$?
set -e
cat err.txt >&2
[[ $rc -eq 1 ]] || fail "train-ubm --resume with another --seed: exit status $rc, expected 1"
grep -q "seed" err.txt || fail "train-ubm --resume with another --seed: the message does not name the option"
[[ ! -e b/ubm && -s b/ubm.checkpoint ]] || fail "a refused --resume changed the outputs"
run train-ubm "${UBM[@]}" --resume "$FEATS" b/ubm
cmp a/ubm b/ubm || fail "train-ubm: the resumed model differs from the uninterrupted one"
[[ -z $(checkpoints b/ubm) ]] || fail "train-ubm left checkpoint files after resuming: $(checkpoints b/ubm)"

# A real interruption: the process killed while it trains (SIGKILL, no clean-up), then resumed.
# Features are re-read at every iteration (--cache-mb 0) and the model is larger, so that it runs
# long enough to be killed; when it finishes first, resuming starts over, which must also match.
BIG=(--num-gauss 16 --num-iters 8 --threads 2 --cache-mb 0)
run train-ubm "${BIG[@]}" "$FEATS" a/big
"$TOOLS/ivkit-train-ubm" -q "${BIG[@]}" "$FEATS" c/big &
pid=$!
for _ in $(seq 1 200); do
  [[ -e c/big.checkpoint ]] && break
  sleep 0.01
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "killed after: $(grep '^iterations' c/big.checkpoint 2>/dev/null || echo 'no checkpoint')" >&2
if [[ -e c/big ]]; then rm -f c/big; fi
# A process killed inside an atomic write leaves its temporary file (never the target): remove it.
find c -name '.*.tmp*' -delete
run train-ubm "${BIG[@]}" --resume "$FEATS" c/big
cmp a/big c/big || fail "train-ubm: the model resumed after SIGKILL differs from the uninterrupted one"

# ---- i-vector extractor ---------------------------------------------------------------------------
run train-ivector-extractor "${IE_OPTS[@]}" --num-gselect 4 a/ubm "$FEATS" a/ie
run train-ivector-extractor "${IE_OPTS[@]}" --num-gselect 4 --threads 1 a/ubm "$FEATS" c/ie
cmp a/ie c/ie || fail "train-ivector-extractor: --threads 1 and --threads 2 give different models"
run train-ivector-extractor "${IE_OPTS[@]}" --num-gselect 4 --stop-after 1 a/ubm "$FEATS" b/ie
[[ ! -e b/ie && -s b/ie.checkpoint ]] || fail "train-ivector-extractor --stop-after 1 left no checkpoint"
run train-ivector-extractor "${IE_OPTS[@]}" --num-gselect 4 --resume --stop-after 2 a/ubm "$FEATS" b/ie
grep -q "^iterations 3$" b/ie.checkpoint || fail "b/ie.checkpoint does not record 3 iterations"
run train-ivector-extractor "${IE_OPTS[@]}" --num-gselect 4 --resume a/ubm "$FEATS" b/ie
cmp a/ie b/ie || fail "train-ivector-extractor: the resumed model differs from the uninterrupted one"
[[ -z $(checkpoints b/ie) ]] || fail "train-ivector-extractor left checkpoint files: $(checkpoints b/ie)"
# No checkpoint is written after the last iteration, but --keep-checkpoint still writes (and keeps) it.
run train-ivector-extractor "${IE_OPTS[@]}" --num-gselect 4 --keep-checkpoint a/ubm "$FEATS" c/ie.kept
cmp a/ie c/ie.kept || fail "train-ivector-extractor --keep-checkpoint: a different model"
grep -q "^iterations 4$" c/ie.kept.checkpoint || fail "--keep-checkpoint: the kept checkpoint does not record the last iteration"

# Kaldi's format at the end of a resumed run, and the PCA initialisation.
run train-ivector-extractor "${IE_OPTS[@]}" --init pca --kaldi-format a/ubm "$FEATS" a/ie.kaldi
run train-ivector-extractor "${IE_OPTS[@]}" --init pca --kaldi-format --stop-after 2 a/ubm "$FEATS" b/ie.kaldi
run train-ivector-extractor "${IE_OPTS[@]}" --init pca --kaldi-format --resume a/ubm "$FEATS" b/ie.kaldi
cmp a/ie.kaldi b/ie.kaldi || fail "train-ivector-extractor --kaldi-format: the resumed model differs"

no_temporaries .
echo "resume: resumed models are byte-identical to uninterrupted ones"
