#!/usr/bin/env bash
# The main job, end to end on real audio: install dependencies, build the command-line tools, make a
# small multi-speaker speech corpus with espeak-ng voices and sox channels (scripts/make_corpus.sh:
# 40 speakers, 400 utterances, about 55 minutes), then run the classic i-vector recipe on it as a
# script of ivkit-* tools laid out like Kaldi's egs/*/v1/run.sh (examples/recipe/run.sh): MFCC and
# VAD from wav.scp, deltas + sliding CMN + voiced frames on the fly, a 512-Gaussian UBM, a
# 200-dimensional i-vector extractor, LDA + PLDA, scoring of the held-out speakers' trials, EER,
# minDCF, DET plot (examples/speaker_recipe.cpp is the same recipe as one C++ program); then
# diarisation of generated conversations of the held-out speakers (examples/recipe/diarize.sh).
#
#   bash scripts/demo.sh [run.sh options...]     (e.g. --num-gauss 256 --threads 1)
#   IVKIT_DEMO_DIR (build/demo) holds the build, the corpus (corpus/) and the outputs (recipe/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
demo=${IVKIT_DEMO_DIR:-build/demo}
build="$demo/build"
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIVKIT_BUILD_TESTS=OFF -DIVKIT_BUILD_EXAMPLES=ON "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target ivkit_tools
if [ ! -f "$demo/corpus/.complete" ]; then
  bash scripts/make_corpus.sh "$demo/corpus" --seed 1
fi
bash examples/recipe/run.sh --tools "$build/tools" "$@" "$demo/corpus" "$demo/recipe"
# Diarisation of conversations of the held-out speakers with the same models (DER, oracle counts
# and a threshold tuned on a development half).
bash examples/recipe/diarize.sh --tools "$build/tools" "$demo/corpus" "$demo/recipe"
