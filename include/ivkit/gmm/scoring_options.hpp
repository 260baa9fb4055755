/// @file
/// Options shared by every batched GMM evaluation.
#pragma once

#include "ivkit/core/types.hpp"

namespace ivkit {

/// How a batched evaluation is cut and run. Block boundaries depend on `block_frames` and the
/// model size only, never on `num_threads`, so results are identical for any thread count.
struct ScoringOptions {
  int num_threads = 1;      ///< worker threads; 0 = all hardware threads
  Index block_frames = 0;   ///< frames per block; 0 = chosen from the model size (about 512 KiB of log-likelihoods)
};

/// Options of top-N posteriors (Kaldi's `gmm-global-get-post --n --min-post`).
struct TopNOptions {
  Index n = 20;             ///< keep at most this many components per frame
  double min_post = 0.0;    ///< then drop entries below this posterior (the best one is always kept) and renormalise
};

}  // namespace ivkit
