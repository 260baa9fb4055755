// Golden files: one committed file per ivkit model format (tests/data/golden/), each holding a small
// model built here from fixed numbers. The test reads every file back and compares the values, and
// writes the same model again and compares the bytes: a change to any format (a record renamed,
// reordered, retyped, a version bump) fails here, where round trips alone would still pass. After a
// deliberate format change, regenerate with
//     IVKIT_WRITE_GOLDEN=1 <build>/tests/io_test_golden_models
// and say in the change why old files still load (or why they no longer need to).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "ivkit/backend/calibration.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/simplified_plda.hpp"
#include "ivkit/backend/transform_pipeline.hpp"
#include "ivkit/io/accumulator_files.hpp"
#include "ivkit/io/model_files.hpp"
#include "support/files.hpp"

using ivkit::Index;
using MatD = ivkit::Matrix<double>;
using VecD = Eigen::VectorXd;

namespace {

std::string golden_path(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "golden" / name).string();
}

/// The committed bytes must equal `bytes`; with IVKIT_WRITE_GOLDEN set, writes them instead.
void check_golden(const std::string& name, const std::string& bytes) {
  CAPTURE(name);
  if (std::getenv("IVKIT_WRITE_GOLDEN")) {
    std::filesystem::create_directories(std::filesystem::path(golden_path(name)).parent_path());
    ivkit::write_file_atomically("check_golden", golden_path(name), bytes);
  }
  const std::string committed = ivkit_test::slurp(golden_path(name));
  REQUIRE(!committed.empty());
  CHECK(committed == bytes);
}

MatD mat(Index r, Index c, double start, double step) {
  MatD m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = start + step * static_cast<double>(i * c + j);
  return m;
}

ivkit::DiagGmm<double> diag_gmm() {
  VecD w(2);
  w << 0.25, 0.75;
  MatD var(2, 3);
  var << 1, 0.5, 2, 0.25, 1, 1.5;
  return ivkit::DiagGmm<double>(w, mat(2, 3, -1.0, 0.5), var);
}

std::vector<ivkit::ColMatrix<double>> full_covariances() {
  std::vector<ivkit::ColMatrix<double>> covs;
  for (Index c = 0; c < 2; ++c) {
    ivkit::ColMatrix<double> s = ivkit::ColMatrix<double>::Identity(3, 3) * (1.0 + 0.5 * static_cast<double>(c));
    s(0, 1) = s(1, 0) = 0.125 * static_cast<double>(c + 1);
    s(1, 2) = s(2, 1) = -0.25;
    covs.push_back(s);
  }
  return covs;
}

ivkit::FullGmm<double> full_gmm() { return ivkit::FullGmm<double>(diag_gmm().weights(), diag_gmm().means(), full_covariances()); }

ivkit::IvectorExtractor<double> extractor(bool full) {
  const MatD ubm = mat(2, 3, -1.0, 0.5), m = mat(2, 3, -0.75, 0.5), t = mat(6, 2, -0.5, 0.125);
  VecD prior(2);
  prior << 100.0, 0.0;
  if (full) return ivkit::IvectorExtractor<double>(ubm, m, t, full_covariances(), prior);
  MatD var(2, 3);
  var << 1, 0.5, 2, 0.25, 1, 1.5;
  return ivkit::IvectorExtractor<double>(ubm, m, t, var, prior);
}

// Every number below is stored as given (no fitting, no decomposition), and every value is exact in
// float and double, so the bytes do not depend on the compiler, its flags or the CPU.
ivkit::Plda<double> plda() {
  ivkit::ColMatrix<double> transform(3, 3);
  transform << 1, 0.5, 0, -0.25, 1, 0.125, 0, 0.75, 2;
  return ivkit::Plda<double>(VecD::LinSpaced(3, 1.0, 3.0), transform, VecD::LinSpaced(3, 0.5, 1.5));
}

ivkit::TransformPipeline<double> pipeline() {
  ivkit::TransformPipeline<double> p;
  p.affine(ivkit::AffineTransform<double>(mat(2, 4, -1.0, 0.25), VecD::LinSpaced(2, 0.5, 1.0)));
  p.length_norm();
  p.affine(ivkit::AffineTransform<double>(MatD::Identity(2, 2) * 2.0, VecD::Ones(2)));
  return p;
}

template <class A, class B>
void check_equal(const A& a, const B& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  CHECK(a.template cast<double>() == b.template cast<double>());
}

}  // namespace

TEST_CASE("golden files: GMMs and i-vector extractors (io/model_files.hpp)") {
  check_golden("diag_gmm.ivk", ivkit::write_diag_gmm(diag_gmm()).bytes());
  check_golden("full_gmm_f4.ivk", ivkit::write_full_gmm(full_gmm().cast<float>()).bytes());
  check_golden("ivector_extractor_diag.ivk", ivkit::write_ivector_extractor(extractor(false)).bytes());
  check_golden("ivector_extractor_full.ivk", ivkit::write_ivector_extractor(extractor(true)).bytes());

  const auto d = ivkit::load_diag_gmm<double>(golden_path("diag_gmm.ivk"));
  check_equal(d.weights(), diag_gmm().weights());
  check_equal(d.means(), diag_gmm().means());
  check_equal(d.variances(), diag_gmm().variances());
  const auto f = ivkit::load_full_gmm<float>(golden_path("full_gmm_f4.ivk"));
  check_equal(f.means(), full_gmm().means().cast<float>());
  for (std::size_t c = 0; c < 2; ++c) check_equal(f.covariances()[c], full_covariances()[c].cast<float>());
  for (bool full : {false, true}) {
    const auto e = ivkit::load_ivector_extractor<double>(golden_path(full ? "ivector_extractor_full.ivk" : "ivector_extractor_diag.ivk"));
    const auto ref = extractor(full);
    CHECK(e.full_covariance() == full);
    check_equal(e.T(), ref.T());
    check_equal(e.m(), ref.m());
    check_equal(e.prior_mean(), ref.prior_mean());
  }
}

TEST_CASE("golden files: back-end models") {
  check_golden("plda.ivk", plda().to_bytes());
  MatD f(3, 2);
  f << 1, 0, 0.5, 1, -0.25, 0.5;
  MatD within = MatD::Identity(3, 3);
  within(1, 2) = within(2, 1) = -0.25;
  const ivkit::SimplifiedPlda<double> splda(VecD::LinSpaced(3, 1.0, 3.0), f, within);
  check_golden("simplified_plda.ivk", splda.to_bytes());
  ivkit::ModelWriter pw(ivkit::TransformPipeline<double>::kFileKind, ivkit::TransformPipeline<double>::kFileVersion);
  pipeline().write(pw);
  check_golden("transform_pipeline.ivk", pw.bytes());
  VecD w(2);
  w << 0.5, 1.25;
  check_golden("linear_calibration.ivk", ivkit::LinearCalibration(w, -2.0, 0.01).to_bytes());

  const auto p = ivkit::Plda<double>::load(golden_path("plda.ivk"));
  check_equal(p.transform(), plda().transform());
  check_equal(p.psi(), plda().psi());
  const auto s = ivkit::SimplifiedPlda<double>::load(golden_path("simplified_plda.ivk"));
  CHECK(s.to_bytes() == splda.to_bytes());
  using P = ivkit::TransformPipeline<double>;
  const P q = P::read(ivkit::ModelReader(golden_path("transform_pipeline.ivk"), P::kFileKind, P::kFileVersion));
  const MatD x = mat(3, 4, -1.0, 0.25);
  CHECK(q.apply(x) == pipeline().apply(x));
  const auto c = ivkit::LinearCalibration::load(golden_path("linear_calibration.ivk"));
  CHECK(c.to_bytes() == ivkit::LinearCalibration(w, -2.0, 0.01).to_bytes());
}

TEST_CASE("golden files: accumulators (io/accumulator_files.hpp)") {
  ivkit::EmAccumulator acc(full_gmm());
  acc.centre = VecD::LinSpaced(3, -0.5, 0.5);
  acc.occupancy << 3, 4;
  acc.first = mat(2, 3, 0.5, 0.25);
  acc.second = mat(2, 6, 2.0, 0.5);
  acc.num_frames = 7;
  acc.log_likelihood = -12.5;
  check_golden("em_accumulator.ivk", ivkit::write_em_accumulator(acc).bytes());
  ivkit::IvectorTrainerStats st;
  st.gamma = VecD::Constant(2, 3.0);
  st.w_sum = VecD::Constant(2, 0.5);
  st.f_sum = VecD::LinSpaced(6, 1.0, 6.0);
  st.Y = mat(6, 2, 0.25, 0.5);
  st.R_packed = mat(2, 3, 1.0, 0.125);
  st.ww_sum = VecD::Constant(3, 2.0);
  st.num_utterances = 3;
  st.objective = -4.0;
  check_golden("ivector_trainer_stats.ivk", ivkit::write_ivector_trainer_stats(st).bytes());

  const ivkit::EmAccumulator a = ivkit::load_em_accumulator(golden_path("em_accumulator.ivk"));
  check_equal(a.centre, acc.centre);
  check_equal(a.second, acc.second);
  CHECK(a.full_covariance);
  CHECK(a.num_frames == 7);
  const ivkit::IvectorTrainerStats b = ivkit::load_ivector_trainer_stats(golden_path("ivector_trainer_stats.ivk"));
  check_equal(b.Y, st.Y);
  check_equal(b.R_packed, st.R_packed);
  CHECK(b.objective == -4.0);
}
