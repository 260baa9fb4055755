#!/usr/bin/env bash
# The main job, end to end on real audio: install dependencies, build the recipe program, make a
# small multi-speaker speech corpus with espeak-ng voices and sox channels (scripts/make_corpus.sh:
# 40 speakers, 400 utterances, about 55 minutes), then run the classic i-vector recipe on it
# (examples/speaker_recipe.cpp): MFCC + VAD + deltas + CMN, a 512-Gaussian UBM, a 200-dimensional
# i-vector extractor, LDA + PLDA, scoring of the held-out speakers' trials, EER, minDCF, DET plot.
#
#   bash scripts/demo.sh [speaker_recipe options...]     (e.g. --num-gauss 256 --threads 1)
#   IVKIT_DEMO_DIR (build/demo) holds the build, the corpus (corpus/) and the outputs (recipe/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
demo=${IVKIT_DEMO_DIR:-build/demo}
build="$demo/build"
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIVKIT_BUILD_TESTS=OFF -DIVKIT_BUILD_EXAMPLES=ON "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target speaker_recipe
if [ ! -f "$demo/corpus/.complete" ]; then
  bash scripts/make_corpus.sh "$demo/corpus" --seed 1
fi
"$build/examples/speaker_recipe" "$demo/corpus" --out "$demo/recipe" "$@"
