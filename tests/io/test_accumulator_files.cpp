// Accumulator files (ivkit/io/accumulator_files.hpp): a GMM's EM statistics and the i-vector
// trainer's accumulators written by jobs on parts of the data and summed equal the statistics of all
// the data in one process; files of another kind, of another model, or damaged are clear errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/gmm/em_update.hpp"
#include "ivkit/gmm/init.hpp"
#include "ivkit/io/accumulator_files.hpp"
#include "ivkit/ivector/init.hpp"
#include "ivkit/stats/baum_welch.hpp"
#include "ivkit/stats/stats_set.hpp"
#include "support/files.hpp"

using ivkit::Index;
using ivkit::Matrix;

namespace {

Matrix<float> frames(Index n, Index d, std::uint64_t seed) {
  ivkit::Random rng(seed);
  Matrix<float> x(n, d);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal() + (i % 3));
  return x;
}

}  // namespace

TEST_CASE("EM accumulators of parts, saved and summed, equal the whole's; both covariance types") {
  ivkit_test::TempDir dir("accs_em");
  const Matrix<float> x = frames(600, 5, 1);
  ivkit::Random rng(2);
  const ivkit::DiagGmm<float> diag = ivkit::init_from_random_frames(x, 4, rng);
  const ivkit::FullGmm<float> full = ivkit::to_full(diag);
  for (const bool is_full : {false, true}) {
    ivkit::EmAccumulator whole = is_full ? ivkit::EmAccumulator(full) : ivkit::EmAccumulator(diag);
    is_full ? ivkit::accumulate_em_stats(full, x, whole) : ivkit::accumulate_em_stats(diag, x, whole);
    std::vector<std::string> files;
    for (int part = 0; part < 3; ++part) {
      ivkit::EmAccumulator a = is_full ? ivkit::EmAccumulator(full) : ivkit::EmAccumulator(diag);
      const Matrix<float> rows = x.middleRows(200 * part, 200);
      is_full ? ivkit::accumulate_em_stats(full, rows, a) : ivkit::accumulate_em_stats(diag, rows, a);
      files.push_back(dir / ("acc." + std::to_string(part)));
      ivkit::save_em_accumulator(files.back(), a);
    }
    const ivkit::EmAccumulator sum = ivkit::load_em_accumulators(files);
    CHECK(sum.full_covariance == is_full);
    CHECK(sum.num_frames == 600);
    // The parts accumulate in float chunks of other lengths than the whole: float rounding apart.
    CHECK((sum.occupancy - whole.occupancy).cwiseAbs().maxCoeff() < 1e-6 * (1 + whole.occupancy.maxCoeff()));
    CHECK((sum.first - whole.first).cwiseAbs().maxCoeff() < 1e-6 * (1 + whole.first.cwiseAbs().maxCoeff()));
    CHECK((sum.second - whole.second).cwiseAbs().maxCoeff() < 1e-6 * (1 + whole.second.cwiseAbs().maxCoeff()));
    CHECK(sum.log_likelihood == doctest::Approx(whole.log_likelihood).epsilon(1e-12));
  }
  // A diagonal accumulator with a full one: another model.
  ivkit::save_em_accumulator(dir / "diag", ivkit::EmAccumulator(diag));
  ivkit::save_em_accumulator(dir / "full", ivkit::EmAccumulator(full));
  CHECK_THROWS_AS(ivkit::load_em_accumulators({dir / "diag", dir / "full"}), ivkit::DimensionMismatch);
}

TEST_CASE("i-vector trainer accumulators of parts, saved and summed, equal the whole's") {
  ivkit_test::TempDir dir("accs_ie");
  ivkit::Random rng(3);
  const Matrix<float> x = frames(800, 4, 4);
  const ivkit::DiagGmm<float> ubm = ivkit::init_from_random_frames(x, 3, rng);
  const auto ex = ivkit::init_extractor_random(ubm, 5, 11);
  ivkit::StatsSet<float> set(3, 4);
  for (int u = 0; u < 8; ++u) ivkit::add_to(set, "u" + std::to_string(u), ivkit::compute_stats(ubm, x.middleRows(100 * u, 100)));
  ivkit::IvectorTrainerStats whole(3, 4, 5);
  ivkit::accumulate_ivector_stats(ex, set, whole);
  std::vector<std::string> files;
  for (int part = 0; part < 2; ++part) {
    ivkit::StatsSet<float> half(3, 4);
    for (int u = 4 * part; u < 4 * part + 4; ++u) ivkit::add_to(half, "u" + std::to_string(u), ivkit::compute_stats(ubm, x.middleRows(100 * u, 100)));
    ivkit::IvectorTrainerStats a(3, 4, 5);
    ivkit::accumulate_ivector_stats(ex, half, a);
    files.push_back(dir / ("ie." + std::to_string(part)));
    ivkit::save_ivector_trainer_stats(files.back(), a);
  }
  const ivkit::IvectorTrainerStats sum = ivkit::load_ivector_trainer_stats(files);
  CHECK(sum.num_utterances == 8);  // float statistics: the sums of other groupings agree to float rounding
  CHECK((sum.Y - whole.Y).cwiseAbs().maxCoeff() < 1e-6 * (1 + whole.Y.cwiseAbs().maxCoeff()));
  CHECK((sum.R_packed - whole.R_packed).cwiseAbs().maxCoeff() < 1e-6 * (1 + whole.R_packed.cwiseAbs().maxCoeff()));
  CHECK((sum.ww_sum - whole.ww_sum).cwiseAbs().maxCoeff() < 1e-6 * (1 + whole.ww_sum.cwiseAbs().maxCoeff()));
  CHECK(sum.objective == doctest::Approx(whole.objective).epsilon(1e-10));

  // Another kind of file, accumulators of another model, a damaged file.
  ivkit::EmAccumulator em(ubm);
  ivkit::save_em_accumulator(dir / "em", em);
  CHECK_THROWS_AS(ivkit::load_ivector_trainer_stats(dir / "em"), ivkit::FormatError);
  ivkit::save_ivector_trainer_stats(dir / "r6", ivkit::IvectorTrainerStats(3, 4, 6));
  CHECK_THROWS_AS(ivkit::load_ivector_trainer_stats({files[0], dir / "r6"}), ivkit::DimensionMismatch);
  const std::string bytes = ivkit_test::slurp(files[0]);
  dir.write("cut", bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_AS(ivkit::load_ivector_trainer_stats(dir / "cut"), ivkit::FormatError);
  CHECK_THROWS_AS(ivkit::load_ivector_trainer_stats(std::vector<std::string>{}), ivkit::InvalidArgument);
}
