// UBM training replayed from Kaldi's own starting point (tests/data/kaldi_recipe, made by
// sid/train_diag_ubm.sh and sid/train_full_ubm.sh; the commands are in the shared fixtures'
// COMMANDS.txt) with ivkit's statistics and M-step under Kaldi's conventions
// (EmUpdateOptions::kaldi), compared with the models Kaldi wrote:
//  - diagonal: from gmm-global-init-from-feats' 0.dubm, a Gaussian selection of n = 30 made once
//    from it on every 5th voiced frame, four gmm-global-acc-stats --gselect + gmm-global-est
//    passes -> final.dubm;
//  - full: final.dubm made full (gmm-global-to-fgmm), a selection of n = 20 from it on every voiced
//    frame, two fgmm-global-acc-stats --gselect + fgmm-global-est passes -> final.ubm.
// Also ivkit's default conventions, which give other models on this data.
// The features are sid's pipeline (add-deltas, apply-cmvn-sliding, select-voiced-frames) of Kaldi's
// MFCCs of the 96 training utterances.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ivkit/features/cmvn.hpp"
#include "ivkit/features/deltas.hpp"
#include "ivkit/features/vad.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/gmm/em_update.hpp"
#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "support/files.hpp"

using ivkit::DiagGmm;
using ivkit::FullGmm;
using ivkit::Index;
using ivkit::Matrix;

namespace {

/// sid's features of each training utterance, keeping every `subsample`-th frame.
std::vector<Matrix<double>> sid_features(int subsample) {
  ivkit::KaldiRandomAccessReader<ivkit::Vector<float>> vad("ark:" + ivkit_test::recipe_fixture("train/vad.ark"));
  ivkit::DeltaOptions d;
  d.order = 2;
  d.window = 3;
  const ivkit::SlidingCmvnOptions c;  // 300 frames, centred, means only
  std::vector<Matrix<double>> out;
  for (ivkit::KaldiSequentialReader<Matrix<float>> mfcc("ark:" + ivkit_test::recipe_fixture("train/mfcc.ark")); !mfcc.done(); mfcc.next()) {
    const ivkit::Vector<float>& v = vad.value(mfcc.key());
    std::vector<bool> voiced(static_cast<std::size_t>(v.size()));
    for (Index t = 0; t < v.size(); ++t) voiced[static_cast<std::size_t>(t)] = v(t) == 1.0f;
    const Matrix<float> feats = ivkit::select_voiced_frames(ivkit::apply_cmvn_sliding(ivkit::add_deltas(mfcc.value(), d), c), voiced);
    Matrix<double> kept((feats.rows() + subsample - 1) / subsample, feats.cols());
    for (Index t = 0; t < kept.rows(); ++t) kept.row(t) = feats.row(t * subsample).cast<double>();
    out.push_back(std::move(kept));
  }
  return out;
}

/// One EM iteration with statistics restricted to the fixed selections.
/// One EM iteration with statistics restricted to the fixed selections; `log_likelihood` gets the
/// average log-likelihood of the data under `model` (what gmm-global-acc-stats logs).
template <class Model>
Model iterate(const Model& model, const std::vector<Matrix<double>>& utts, const std::vector<ivkit::GaussianSelection>& sel,
              const ivkit::EmUpdateOptions& opts, ivkit::EmUpdateReport* report = nullptr, double* log_likelihood = nullptr) {
  ivkit::EmAccumulator acc(model);
  for (std::size_t u = 0; u < utts.size(); ++u) ivkit::accumulate_em_stats(model, utts[u], sel[u], acc);
  if (log_likelihood) *log_likelihood = acc.average_log_likelihood();
  return ivkit::em_update(model, acc, opts, report);
}

/// Largest difference of the weights relative to the largest weight; of the means relative to the
/// features' scale (the largest |mean|); of the variances (covariances) relative to each
/// component's largest variance.
struct Gap {
  double weights = 0, means = 0, variances = 0;
};

Gap gap(const DiagGmm<double>& a, const DiagGmm<double>& b) {
  REQUIRE(a.num_components() == b.num_components());
  Gap g;
  g.weights = (a.weights() - b.weights()).cwiseAbs().maxCoeff() / b.weights().maxCoeff();
  g.means = (a.means() - b.means()).cwiseAbs().maxCoeff() / b.means().cwiseAbs().maxCoeff();
  for (Index c = 0; c < a.num_components(); ++c)
    g.variances = std::max(g.variances, (a.variances().row(c) - b.variances().row(c)).cwiseAbs().maxCoeff() / b.variances().row(c).maxCoeff());
  return g;
}

Gap gap(const FullGmm<double>& a, const FullGmm<double>& b) {
  REQUIRE(a.num_components() == b.num_components());
  Gap g;
  g.weights = (a.weights() - b.weights()).cwiseAbs().maxCoeff() / b.weights().maxCoeff();
  g.means = (a.means() - b.means()).cwiseAbs().maxCoeff() / b.means().cwiseAbs().maxCoeff();
  for (Index c = 0; c < a.num_components(); ++c) {
    const auto& A = a.covariances()[static_cast<std::size_t>(c)];
    const auto& B = b.covariances()[static_cast<std::size_t>(c)];
    g.variances = std::max(g.variances, (A - B).cwiseAbs().maxCoeff() / B.diagonal().maxCoeff());
  }
  return g;
}

}  // namespace

TEST_CASE("diagonal UBM: four passes from Kaldi's 0.dubm under Kaldi's conventions follow gmm-global-est") {
  const DiagGmm<double> start = ivkit::read_kaldi_diag_gmm<double>(ivkit_test::recipe_fixture("0.dubm"));
  const DiagGmm<double> kaldi = ivkit::read_kaldi_diag_gmm<double>(ivkit_test::recipe_fixture("final.dubm"));
  const std::vector<Matrix<double>> utts = sid_features(5);
  Index frames = 0;
  std::vector<ivkit::GaussianSelection> sel;
  for (const auto& u : utts) {
    sel.push_back(ivkit::gaussian_selection(start, u, 30));
    frames += u.rows();
  }
  CHECK(frames == 6355);  // gmm-global-acc-stats: "over 6355 (weighted) frames"
  // gmm-global-acc-stats' "Overall likelihood per frame" of the four passes.
  const double kaldi_log_likelihood[4] = {-134.26, -133.791, -133.708, -133.666};
  const ivkit::EmUpdateOptions kaldi_opts = ivkit::EmUpdateOptions::kaldi(false);
  DiagGmm<double> model = start, ivkit_model = start;
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    ivkit::EmUpdateReport rep;
    double ll = 0;
    model = iterate(model, utts, sel, kaldi_opts, &rep, &ll);
    CHECK_FALSE(rep.structure_changed());  // gmm-global-est warned of no low-count Gaussian
    CHECK(rep.floored == 82);
    CHECK(std::abs(ll - kaldi_log_likelihood[k]) <= 2e-3);
    ivkit_model = iterate(ivkit_model, utts, sel, ivkit::EmUpdateOptions{});
  }
  // The same 82 variances sit at Kaldi's absolute floor of 0.001 in both models.
  Index same_floored = 0;
  for (Index c = 0; c < kaldi.num_components(); ++c)
    for (Index d = 0; d < kaldi.dim(); ++d)
      same_floored += std::abs(kaldi.variances()(c, d) - 1e-3) < 1e-9 && std::abs(model.variances()(c, d) - 1e-3) < 1e-12;
  CHECK(same_floored == 82);
  // Measured: weights 1.5e-2, means 9.1e-3, variances 3.6e-2 (relative, worst component). The cause
  // is not found: the features, the selection (exact EM gives the same models) and float storage
  // (float against double: 1e-6) are ruled out, and the full-covariance replay below agrees to 4e-6.
  const Gap g = gap(model, kaldi);
  MESSAGE("Kaldi's conventions against final.dubm: weights ", g.weights, ", means ", g.means, ", variances ", g.variances);
  CHECK(g.weights <= 3e-2);
  CHECK(g.means <= 2e-2);
  CHECK(g.variances <= 6e-2);
  // ivkit's floor (0.001 of the data's variance) leaves these variances below 0.001: much further.
  const Gap d = gap(ivkit_model, kaldi);
  MESSAGE("ivkit's conventions against final.dubm: weights ", d.weights, ", means ", d.means, ", variances ", d.variances);
  CHECK(d.variances > 3 * g.variances);
}

TEST_CASE("full UBM: two passes from final.dubm under Kaldi's conventions give Kaldi's final.ubm; ivkit's floor differs") {
  const DiagGmm<double> dubm = ivkit::read_kaldi_diag_gmm<double>(ivkit_test::recipe_fixture("final.dubm"));
  const FullGmm<double> kaldi = ivkit::read_kaldi_full_gmm<double>(ivkit_test::recipe_fixture("final.ubm"));
  const std::vector<Matrix<double>> utts = sid_features(1);
  std::vector<ivkit::GaussianSelection> sel;
  Index frames = 0;
  for (const auto& u : utts) {
    sel.push_back(ivkit::gaussian_selection(dubm, u, 20));
    frames += u.rows();
  }
  CHECK(frames == 31575);
  const ivkit::EmUpdateOptions kaldi_opts = ivkit::EmUpdateOptions::kaldi(true);
  FullGmm<double> model = ivkit::to_full(dubm), ivkit_model = model;
  Index floored[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    ivkit::EmUpdateReport rep;
    model = iterate(model, utts, sel, kaldi_opts, &rep);
    floored[k] = rep.floored;
    ivkit_model = iterate(ivkit_model, utts, sel, ivkit::EmUpdateOptions{});
  }
  // fgmm-global-est: "733 variances floored in 64 Gaussians", then 786.
  MESSAGE("eigenvalues floored: ", floored[0], ", ", floored[1], " (fgmm-global-est: 733, 786)");
  CHECK(floored[0] == 733);
  CHECK(floored[1] == 786);
  const Gap g = gap(model, kaldi);
  MESSAGE("Kaldi's conventions against final.ubm: weights ", g.weights, ", means ", g.means, ", covariances ", g.variances);
  CHECK(g.weights <= 1e-5);  // measured 8e-7, 3.6e-6, 1.2e-6: Kaldi's float storage
  CHECK(g.means <= 1e-5);
  CHECK(g.variances <= 1e-5);
  const Gap d = gap(ivkit_model, kaldi);
  MESSAGE("ivkit's conventions against final.ubm: weights ", d.weights, ", means ", d.means, ", covariances ", d.variances);
  CHECK(d.variances > 10 * g.variances);
}
