#!/usr/bin/env bash
# ivkit-train-ivector-extractor and ivkit-train-ubm across 2 MPI processes (each reading every other
# utterance, the accumulators summed after every pass) give the models one process gives: i-vectors
# with a cosine of at least 0.99999, UBM parameters within 1e-5 (only the order of the sums differs).
#   IVKIT_MPIEXEC=mpiexec IVKIT_COMPARE=compare_tables bash tests/tools/mpi.sh TOOL_DIR MAKE_TOOL_DATA_EXE WORK_DIR
# shellcheck source=tests/tools/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
: "${IVKIT_MPIEXEC:?}" "${IVKIT_COMPARE:?}"
# Open MPI refuses to run as root unless told; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

mkdir -p exp
run train-ubm "${UBM_OPTS[@]}" scp:data/train/feats.scp exp/final.dubm
opts=(--ivector-dim 10 --num-iters 3 --init random --seed 5)
run train-ivector-extractor "${opts[@]}" exp/final.dubm scp:data/train/feats.scp exp/one.ivk
echo "+ $IVKIT_MPIEXEC -np 2 ivkit-train-ivector-extractor ${opts[*]} ..." >&2
"$IVKIT_MPIEXEC" -np 2 --oversubscribe "$TOOLS/ivkit-train-ivector-extractor" -q "${opts[@]}" exp/final.dubm scp:data/train/feats.scp \
  exp/two.ivk || fail "the 2-process run failed"
must_exist exp/two.ivk
for m in one two; do run extract-ivectors exp/final.dubm "exp/$m.ivk" scp:data/test/feats.scp "ark:exp/$m.ark"; done
"$IVKIT_COMPARE" cosine ark:exp/one.ark ark:exp/two.ark 0.99999 || fail "2 processes give another model than 1"
# The UBM's EM iterations from a given model: 1 process against 2, compared number by number in
# Kaldi's text format (relative 1e-5: float models, sums in another order).
run train-ubm --from exp/final.dubm --num-iters 2 --full --num-full-iters 1 --kaldi-format --binary false scp:data/train/feats.scp \
  exp/ubm_one.txt
"$IVKIT_MPIEXEC" -np 2 --oversubscribe "$TOOLS/ivkit-train-ubm" -q --from exp/final.dubm --num-iters 2 --full --num-full-iters 1 \
  --kaldi-format --binary false scp:data/train/feats.scp exp/ubm_two.txt || fail "the 2-process UBM run failed"
same_numbers exp/ubm_one.txt exp/ubm_two.txt || fail "2 processes give another UBM than 1"
if "$IVKIT_MPIEXEC" -np 2 --oversubscribe "$TOOLS/ivkit-train-ubm" -q --num-gauss 4 scp:data/train/feats.scp exp/no.dubm 2>exp/no.err; then
  fail "a UBM initialisation under MPI was accepted"
fi
grep -q "under MPI, give --from" exp/no.err || fail "unclear message: $(cat exp/no.err)"

# Options that need every utterance in one process are refused, on every rank, without a hang.
if "$IVKIT_MPIEXEC" -np 2 --oversubscribe "$TOOLS/ivkit-train-ivector-extractor" -q --init pca --ivector-dim 10 exp/final.dubm \
  scp:data/train/feats.scp exp/pca.ivk 2>exp/pca.err; then
  fail "--init pca under MPI was accepted"
fi
grep -q "under MPI use --init random or --from" exp/pca.err || fail "unclear message: $(cat exp/pca.err)"
echo "mpi: 2 processes give the models of 1" >&2
