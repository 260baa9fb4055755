/// @file
/// Umbrella header: everything ivkit offers.
#pragma once

#include "ivkit/core/error.hpp"
#include "ivkit/core/layout.hpp"
#include "ivkit/core/parallel.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/gmm/diag_gmm.hpp"
#include "ivkit/gmm/full_gmm.hpp"
#include "ivkit/gmm/scoring.hpp"
#include "ivkit/gmm/sparse_posteriors.hpp"
#include "ivkit/simd/softmax.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/em_update.hpp"
#include "ivkit/gmm/init.hpp"
#include "ivkit/gmm/train.hpp"
#include "ivkit/core/assignment.hpp"
#include "ivkit/gmm/compare.hpp"
#include "ivkit/gmm/gmm_ubm_score.hpp"
#include "ivkit/gmm/map.hpp"
#include "ivkit/stats/baum_welch.hpp"
#include "ivkit/stats/stats_set.hpp"
