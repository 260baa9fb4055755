/// @file
/// Factor analysis: x = m + V z + e with z ~ N(0, I_R), e ~ N(0, Psi), Psi diagonal, so that
/// x ~ N(m, V V^T + Psi). Batched posteriors and log-likelihoods, EM statistics accumulated in double
/// with a deterministic block reduction, the M-step, and training from a PCA or a random start.
///
/// Notation: N samples of dimension D, R factors (the rank), y = x - m.
///   L = I + V^T Psi^-1 V (R x R, the same for every sample)
///   <z_i> = L^-1 V^T Psi^-1 y_i = P^T y_i with P = Psi^-1 V L^-1 (D x R),  Cov[z_i | x_i] = L^-1
/// so the posterior means of a block of samples are one matrix product Y P (B x D by D x R).
/// EM as derived in docs/factor_analysis.md (Bishop, PRML 12.2.4), where the stable
/// log-likelihood and the API are described too.
///
/// One concept per header, all included here: fa/model.hpp (the model and its posteriors),
/// fa/statistics.hpp (E-step), fa/em_update.hpp (M-step), fa/train.hpp (training).
#pragma once

#include "ivkit/fa/em_update.hpp"
#include "ivkit/fa/model.hpp"
#include "ivkit/fa/statistics.hpp"
#include "ivkit/fa/train.hpp"
