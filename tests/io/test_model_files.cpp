// ivkit's own GMM and i-vector extractor files: exact round trips in both scalar types, and clear
// errors for truncated, corrupt or wrong-kind files.
#include <doctest/doctest.h>

#include <filesystem>

#include "ivkit/io/model_files.hpp"
#include "ivkit/ivector/init.hpp"
#include "support/reference.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using ivkit::Index;

namespace {

using ivkit_test::TempDir;

ivkit::DiagGmm<double> small_diag(ivkit::Random& rng) {
  return ivkit_test::make_diag<double>(ivkit_test::random_diag_params(3, 4, rng));
}

}  // namespace

TEST_CASE("GMM files round-trip exactly and convert between float and double") {
  TempDir dir("model_files");
  ivkit::Random rng(3);
  const auto diag = small_diag(rng);
  ivkit::save_diag_gmm((dir / "ubm.ivk"), diag);
  const auto back = ivkit::load_diag_gmm<double>((dir / "ubm.ivk"));
  CHECK((back.means().array() == diag.means().array()).all());
  CHECK((back.variances().array() == diag.variances().array()).all());
  CHECK((back.weights().array() == diag.weights().array()).all());
  const auto as_float = ivkit::load_diag_gmm<float>((dir / "ubm.ivk"));
  CHECK(as_float.means()(2, 3) == static_cast<float>(diag.means()(2, 3)));

  const auto full = ivkit_test::make_full<float>(ivkit_test::random_full_params(3, 4, rng));
  ivkit::save_full_gmm((dir / "full.ivk"), full);
  const auto fback = ivkit::load_full_gmm<float>((dir / "full.ivk"));
  for (Index c = 0; c < 3; ++c) CHECK((fback.covariances()[static_cast<std::size_t>(c)].array() == full.covariances()[static_cast<std::size_t>(c)].array()).all());

  // Wrong kind, truncation, and a model the constructor refuses.
  CHECK_THROWS_WITH_AS(ivkit::load_full_gmm<double>((dir / "ubm.ivk")), doctest::Contains("holds a 'DiagGmm', not a 'FullGmm'"),
                       ivkit::FormatError);
  const std::string bytes = ivkit::read_file("t", (dir / "ubm.ivk"));
  for (std::size_t n = 0; n < bytes.size(); n += 13) {
    ivkit::write_file_atomically("t", (dir / "cut.ivk"), bytes.substr(0, n));
    CHECK_THROWS_AS(ivkit::load_diag_gmm<double>((dir / "cut.ivk")), ivkit::FormatError);
  }
  ivkit::ModelWriter bad("DiagGmm", 1);
  Eigen::VectorXd w(2);
  w << 0.5, 0.5;
  Eigen::MatrixXd mu = Eigen::MatrixXd::Zero(2, 1), var(2, 1);
  var << 1.0, -1.0;
  bad.integer("num_components", 2).integer("dim", 1).matrix("weights", w).matrix("means", mu).matrix("variances", var);
  bad.save((dir / "bad.ivk"));
  CHECK_THROWS_WITH_AS(ivkit::load_diag_gmm<double>((dir / "bad.ivk")), doctest::Contains("holds an invalid diagonal GMM: DiagGmm"),
                       ivkit::FormatError);
}

TEST_CASE("i-vector extractor files round-trip to the same i-vectors") {
  TempDir dir("model_files");
  ivkit::Random rng(5);
  const auto ubm = small_diag(rng);
  const auto e = ivkit::init_extractor_random(ubm, 3, 11, 0.5);
  ivkit::save_ivector_extractor((dir / "ie.ivk"), e);
  const auto back = ivkit::load_ivector_extractor<double>((dir / "ie.ivk"));
  CHECK((back.T().array() == e.T().array()).all());
  CHECK((back.prior_mean().array() == e.prior_mean().array()).all());
  Eigen::MatrixXd n = Eigen::MatrixXd::Constant(2, 3, 4.0), f(2, 12);
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 12; ++j) f(i, j) = rng.normal();
  CHECK((back.extract_matrices(n, f).means.array() == e.extract_matrices(n, f).means.array()).all());
  const auto as_float = ivkit::load_ivector_extractor<float>((dir / "ie.ivk"));
  CHECK(ivkit_test::max_abs_diff(as_float.extract_matrices(n, f).means.cast<double>(), e.extract_matrices(n, f).means) < 1e-4);
  CHECK_THROWS_WITH_AS(ivkit::load_ivector_extractor<double>((dir / "missing.ivk")), doctest::Contains("cannot open"), ivkit::IoError);
}
