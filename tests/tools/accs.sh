#!/usr/bin/env bash
# Kaldi's queue pattern: jobs accumulate on their share of the data (--from MODEL --write-accs FILE)
# and ivkit-sum-accs sums their files and updates; one EM iteration done that way equals the same
# iteration in one process (ivkit-train-ubm / ivkit-train-ivector-extractor --from MODEL
# --num-iters 1): UBM parameters within 1e-5, i-vectors with a cosine of at least 0.99999.
#   IVKIT_COMPARE=compare_tables bash tests/tools/accs.sh TOOL_DIR MAKE_TOOL_DATA_EXE WORK_DIR
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
: "${IVKIT_COMPARE:?}"

mkdir -p exp
# Three jobs: the training table cut in three.
n=$(wc -l <data/train/feats.scp)
head -n $((n / 3)) data/train/feats.scp >exp/part1.scp
sed -n "$((n / 3 + 1)),$((2 * n / 3))p" data/train/feats.scp >exp/part2.scp
tail -n +$((2 * n / 3 + 1)) data/train/feats.scp >exp/part3.scp

run train-ubm "${UBM_OPTS[@]}" scp:data/train/feats.scp exp/0.dubm
run train-ubm --from exp/0.dubm --num-iters 1 --kaldi-format --binary false scp:data/train/feats.scp exp/one.dubm.txt
for j in 1 2 3; do run train-ubm --from exp/0.dubm --write-accs "exp/ubm_acc.$j" "scp:exp/part$j.scp" exp/unused; done
[[ ! -e exp/unused ]] || fail "--write-accs wrote a model"
run sum-accs --kaldi-format --binary false exp/0.dubm exp/ubm_acc.1 exp/ubm_acc.2 exp/ubm_acc.3 exp/jobs.dubm.txt
same_numbers exp/one.dubm.txt exp/jobs.dubm.txt || fail "three jobs' accumulators give another UBM than one process"
# Full covariance: the same from the diagonal model converted (--full).
run train-ubm --full --from exp/0.dubm --num-iters 0 --num-full-iters 1 --kaldi-format --binary false scp:data/train/feats.scp exp/one.ubm.txt
for j in 1 2 3; do run train-ubm --full --from exp/0.dubm --write-accs "exp/fubm_acc.$j" "scp:exp/part$j.scp" exp/unused; done
run sum-accs --kaldi-format --binary false exp/0.dubm exp/fubm_acc.1 exp/fubm_acc.2 exp/fubm_acc.3 exp/jobs.ubm.txt
same_numbers exp/one.ubm.txt exp/jobs.ubm.txt || fail "three jobs' accumulators give another full UBM than one process"

# The i-vector extractor.
run train-ivector-extractor --ivector-dim 10 --num-iters 1 --init random --seed 3 exp/0.dubm scp:data/train/feats.scp exp/0.ivk
run train-ivector-extractor --from exp/0.ivk --num-iters 1 exp/0.dubm scp:data/train/feats.scp exp/one.ivk
for j in 1 2 3; do run train-ivector-extractor --from exp/0.ivk --write-accs "exp/ie_acc.$j" exp/0.dubm "scp:exp/part$j.scp" exp/unused; done
run sum-accs --ubm exp/0.dubm exp/0.ivk exp/ie_acc.1 exp/ie_acc.2 exp/ie_acc.3 exp/jobs.ivk
for m in one jobs; do run extract-ivectors exp/0.dubm "exp/$m.ivk" scp:data/test/feats.scp "ark:exp/$m.ark"; done
"$IVKIT_COMPARE" cosine ark:exp/one.ark ark:exp/jobs.ark 0.99999 || fail "three jobs' accumulators give another extractor than one process"

# Accumulators of another kind or model are clear errors.
if "$TOOLS/ivkit-sum-accs" -q exp/0.dubm exp/ubm_acc.1 exp/fubm_acc.1 exp/bad.dubm 2>exp/err.txt; then fail "mixed accumulators accepted"; fi
grep -q "holds statistics of another model" exp/err.txt || fail "unclear message: $(cat exp/err.txt)"
if "$TOOLS/ivkit-sum-accs" -q exp/0.dubm exp/0.dubm exp/bad.dubm 2>exp/err.txt; then fail "a model taken as accumulators"; fi
grep -q "not accumulators" exp/err.txt || fail "unclear message: $(cat exp/err.txt)"
[[ ! -e exp/bad.dubm ]] || fail "a failed run wrote exp/bad.dubm"
echo "accs: jobs' accumulators give the models of one process" >&2
