// Energy VAD on silence + tone + silence selects the tone frames; decisions against a naive
// loop (threshold from the mean C0, context windows); voiced-frame selection in both layouts and
// from a Kaldi VAD vector; the recipe pipeline equals its stages composed by hand; the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <ivkit/core/random.hpp>
#include <ivkit/features/cmvn.hpp>
#include <ivkit/features/deltas.hpp>
#include <ivkit/features/mfcc.hpp>
#include <ivkit/features/pipeline.hpp>
#include <ivkit/features/vad.hpp>

using namespace ivkit;

namespace {

// 0.5 s of faint noise, 1 s of a 440 Hz tone, 0.5 s of faint noise, at 16 kHz on the 16-bit scale.
std::vector<float> silence_tone_silence() {
  Random rng(1);
  const double pi = 3.14159265358979323846;
  std::vector<float> s(32000);
  for (int i = 0; i < 32000; ++i) {
    const bool tone = i >= 8000 && i < 24000;
    s[static_cast<size_t>(i)] = static_cast<float>((tone ? 8000 * std::sin(2 * pi * 440 * i / 16000.0) : 0.0) + 2 * rng.normal());
  }
  return s;
}

std::vector<bool> naive_vad(const Eigen::MatrixXd& f, const VadOptions& o) {
  const Index n = f.rows();
  const double thr = o.energy_threshold + o.energy_mean_scale * f.col(0).mean();
  std::vector<bool> v(static_cast<size_t>(n));
  for (Index t = 0; t < n; ++t) {
    int num = 0, den = 0;
    for (Index u = t - o.frames_context; u <= t + o.frames_context; ++u)
      if (u >= 0 && u < n) {
        ++den;
        num += f(u, 0) > thr;
      }
    v[static_cast<size_t>(t)] = num >= den * o.proportion_threshold;
  }
  return v;
}

}  // namespace

TEST_CASE_TEMPLATE("VAD on silence + tone selects the tone frames", S, float, double) {
  const Matrix<S> mfcc = compute_mfcc<S>(silence_tone_silence());
  REQUIRE(mfcc.rows() == 198);
  const std::vector<bool> v = compute_vad(mfcc);
  REQUIRE(v.size() == 198);
  // Frame t covers samples [160 t, 160 t + 400): wholly inside the tone for 50 <= t <= 147.
  for (Index t = 0; t < 198; ++t) {
    const Index first = 160 * t, last = 160 * t + 399;
    if (first >= 8000 && last < 24000) CHECK(v[static_cast<size_t>(t)]);
    if (last < 8000 || first >= 24000) CHECK_FALSE(v[static_cast<size_t>(t)]);
  }
  // 98 frames lie wholly in the tone, 102 overlap it.
  CHECK(count_voiced(v) >= 98);
  CHECK(count_voiced(v) <= 102);

  const Matrix<S> sel = select_voiced_frames(mfcc, v);
  CHECK(sel.rows() == count_voiced(v));
  const Index first = std::find(v.begin(), v.end(), true) - v.begin();
  CHECK(first >= 48);
  CHECK(first <= 50);
  CHECK(sel.row(0) == mfcc.row(first));
}

TEST_CASE_TEMPLATE("VAD decisions against the naive loop; selection in both layouts", S, float, double) {
  Random rng(5);
  Eigen::MatrixXd f(60, 3);
  for (Index i = 0; i < f.size(); ++i) f.data()[i] = 4 * rng.normal();
  for (Index t = 0; t < 60; ++t) f(t, 0) += (t / 10) % 2 ? 20 : 0;
  for (const VadOptions o : {VadOptions{}, VadOptions{3, 0.6, 2, 0.4}, VadOptions{8, 0, 1, 0.5}, VadOptions{-1, 0.2, 5, 0.9}}) {
    const std::vector<bool> ref = naive_vad(f, o);
    CHECK(compute_vad(Matrix<S>(f.cast<S>()), o) == ref);
    CHECK(compute_vad<FramesAsCols>(ColMatrix<S>(f.transpose().cast<S>()), o) == ref);
    const Matrix<S> rows = select_voiced_frames(Matrix<S>(f.cast<S>()), ref);
    const ColMatrix<S> cols = select_voiced_frames<FramesAsCols>(ColMatrix<S>(f.transpose().cast<S>()), ref);
    Index k = 0;
    for (Index t = 0; t < 60; ++t)
      if (ref[static_cast<size_t>(t)]) {
        CHECK(rows.row(k) == f.row(t).cast<S>());
        CHECK(cols.col(k) == f.row(t).transpose().cast<S>());
        ++k;
      }
    CHECK(rows.rows() == k);
    CHECK(cols.cols() == k);
    Eigen::VectorXf kaldi(60);  // vad.scp style: 1.0 / 0.0
    for (Index t = 0; t < 60; ++t) kaldi(t) = ref[static_cast<size_t>(t)] ? 1.0f : 0.0f;
    CHECK(select_voiced_frames(Matrix<S>(f.cast<S>()), kaldi) == rows);
  }
  CHECK(compute_vad(Matrix<S>(0, 13)).empty());
  CHECK(select_voiced_frames(Matrix<S>(Matrix<S>::Ones(4, 2)), std::vector<bool>(4, false)).rows() == 0);
}

TEST_CASE("VAD and selection: errors") {
  const Matrix<float> f = Matrix<float>::Ones(10, 13);
  CHECK_THROWS_WITH_AS(compute_vad(f, VadOptions{5, 0.5, 0, 1.0}), "compute_vad: proportion_threshold must be in (0, 1), got 1",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(compute_vad(f, VadOptions{5, 0.5, -1, 0.6}), "compute_vad: frames_context must be >= 0, got -1", InvalidArgument);
  CHECK_THROWS_WITH_AS(compute_vad(f, VadOptions{5, -0.5, 0, 0.6}), "compute_vad: energy_mean_scale must be >= 0, got -0.5",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(compute_vad(Matrix<float>(10, 0)),
                       "compute_vad: the features have no column (FramesAsRows, matrix 10 x 0); the log energy C0 is expected first",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(select_voiced_frames(f, std::vector<bool>(9, true)),
                       "select_voiced_frames: 9 VAD decisions for 10 frames (FramesAsRows, matrix 10 x 13)", DimensionMismatch);
  Matrix<float> bad = f;
  bad(6, 0) = std::nanf("");
  CHECK_THROWS_WITH_AS(compute_vad(bad), "compute_vad: frame 6 holds NaN or Inf", NonFiniteInput);
}

TEST_CASE_TEMPLATE("the recipe pipeline is its stages composed", S, float, double) {
  const std::vector<float> s = silence_tone_silence();
  FeaturePipelineReport report;
  const FeaturePipeline<S> pipe;
  const Matrix<S> got = pipe.compute(s, 16000.0, &report);
  const Matrix<S> raw = compute_mfcc<S>(s);
  const std::vector<bool> v = compute_vad(raw);
  const Matrix<S> want = select_voiced_frames(apply_cmvn_sliding(add_deltas(raw)), v);
  CHECK(got == want);
  CHECK(pipe.dim() == 39);
  CHECK(got.cols() == 39);
  CHECK(report.num_frames == 198);
  CHECK(report.num_voiced == count_voiced(v));
  CHECK(report.voiced == v);

  FeaturePipelineOptions plain;
  plain.use_deltas = plain.use_cmvn = plain.use_vad = false;
  CHECK(extract_features<S>(s, 16000.0, plain) == raw);
  FeaturePipelineOptions nodelta;
  nodelta.use_deltas = false;
  CHECK(extract_features<S>(s, 16000.0, nodelta) == select_voiced_frames(apply_cmvn_sliding(raw), v));

  FeaturePipelineOptions bad;
  bad.mfcc.use_energy = false;
  CHECK_THROWS_WITH_AS(FeaturePipeline<S>{bad},
                       "FeaturePipeline: VAD needs the log energy in the first column (mfcc.use_energy = true, htk_compat = false)",
                       InvalidArgument);
  bad = FeaturePipelineOptions{};
  bad.cmvn.cmn_window = -3;
  CHECK_THROWS_WITH_AS(FeaturePipeline<S>{bad}, "cmvn_window: cmn_window must be positive, got -3", InvalidArgument);
  CHECK_THROWS_WITH_AS(pipe.compute(s, 8000.0),
                       "Mfcc::compute: the signal's sample rate is 8000 Hz but the options expect 16000 Hz "
                       "(FrameOptions::sample_frequency; ivkit does not resample)",
                       InvalidArgument);
}
