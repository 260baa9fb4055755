// Linear calibration and fusion by prior-weighted logistic regression, against data drawn from known
// models: two Gaussians with equal variance have a true LLR linear in the score, which must be
// recovered within its sampling error (a sandwich standard error computed here in plain loops);
// zero gradient of an independently written objective at the optimum (finite differences); Cllr and
// minCllr from eval/metrics.hpp; fusion of conditionally independent systems; save/load; errors.
#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include <ivkit/backend/calibration.hpp>
#include <ivkit/core/random.hpp>
#include <ivkit/eval/metrics.hpp>

using namespace ivkit;

namespace {

using MatD = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

// Trials x systems scores: system k draws N(mu_t[k], sd[k]^2) for targets, N(mu_n[k], sd[k]^2) for
// non-targets, independently given the class. Its LLR is a_k s + c_k with
//   a_k = (mu_t - mu_n) / sd^2,  c_k = -(mu_t^2 - mu_n^2) / (2 sd^2),
// and the fused LLR of independent systems is the sum.
struct Gaussians {
  std::vector<double> mu_t, mu_n, sd;
  double a(std::size_t k) const { return (mu_t[k] - mu_n[k]) / (sd[k] * sd[k]); }
  double c(std::size_t k) const { return -(mu_t[k] * mu_t[k] - mu_n[k] * mu_n[k]) / (2 * sd[k] * sd[k]); }
  MatD draw(Index n, bool target, Random& rng) const {
    MatD x(n, static_cast<Index>(sd.size()));
    for (Index i = 0; i < n; ++i)
      for (std::size_t k = 0; k < sd.size(); ++k) x(i, Index(k)) = (target ? mu_t[k] : mu_n[k]) + sd[k] * rng.normal();
    return x;
  }
};

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// The objective written out independently: normalised prior-weighted cross-entropy of llr = w.s + b.
double naive_objective(const MatD& tar, const MatD& non, const VecD& w, double b, double p) {
  const double lp = std::log(p / (1 - p));
  const double h = -p * std::log(p) - (1 - p) * std::log(1 - p);
  double st = 0, sn = 0;
  for (Index i = 0; i < tar.rows(); ++i) st += softplus(-(tar.row(i).dot(w) + b + lp));
  for (Index i = 0; i < non.rows(); ++i) sn += softplus(non.row(i).dot(w) + b + lp);
  return (p * st / double(tar.rows()) + (1 - p) * sn / double(non.rows())) / h;
}

// Sandwich covariance A^-1 B A^-1 of the weighted estimating equations at the true parameters theta =
// (w, b): A = sum a_i l''_i u u^T, B = sum a_i^2 (l'_i)^2 u u^T, u = (s, 1). B uses the raw second
// moment of the per-trial scores (an upper bound on their variance), so the result is conservative.
MatD sandwich(const MatD& tar, const MatD& non, const VecD& w, double b, double p) {
  const Index m = tar.cols();
  const double lp = std::log(p / (1 - p));
  MatD A = MatD::Zero(m + 1, m + 1), B = MatD::Zero(m + 1, m + 1);
  auto add = [&](const MatD& x, bool target, double alpha) {
    for (Index i = 0; i < x.rows(); ++i) {
      VecD u(m + 1);
      u << x.row(i).transpose(), 1.0;
      const double z = u.head(m).dot(w) + b + lp;
      const double d1 = target ? -sigmoid(-z) : sigmoid(z);
      const double d2 = sigmoid(z) * sigmoid(-z);
      A += alpha * d2 * u * u.transpose();
      B += alpha * alpha * d1 * d1 * u * u.transpose();
    }
  };
  add(tar, true, p / double(tar.rows()));
  add(non, false, (1 - p) / double(non.rows()));
  const MatD Ai = A.inverse();
  return Ai * B * Ai;
}

std::vector<double> column(const MatD& x, Index k) { return std::vector<double>(x.col(k).data(), x.col(k).data() + x.rows()); }

}  // namespace

TEST_CASE("equal-variance Gaussian scores: the true LLR a s + b is recovered within sampling error, at any prior") {
  const Gaussians g{{2.0}, {-0.5}, {1.5}};
  Random rng(7);
  const MatD tar = g.draw(3000, true, rng), non = g.draw(30000, false, rng);
  const auto tv = column(tar, 0), nv = column(non, 0);
  const double a = g.a(0), b = g.c(0);
  for (const double p : {0.5, 0.01, 0.9}) {
    CAPTURE(p);
    CalibrationOptions o;
    o.prior = p;
    CalibrationReport rep;
    const LinearCalibration cal = train_linear_calibration(tv, nv, o, &rep);
    const MatD cov = sandwich(tar, non, VecD::Constant(1, a), b, p);
    const double se_a = std::sqrt(cov(0, 0)), se_b = std::sqrt(cov(1, 1));
    CAPTURE(cal.scale());
    CAPTURE(cal.offset());
    CAPTURE(se_a);
    CAPTURE(se_b);
    CHECK(std::abs(cal.scale() - a) < 4 * se_a);
    CHECK(std::abs(cal.offset() - b) < 4 * se_b);
    CHECK(se_a < 0.05);  // the check above is tight enough to mean something
    CHECK(rep.iterations >= 3);
    CHECK(rep.iterations < 30);
    CHECK(rep.decrement <= o.tolerance);
    CHECK(rep.penalty == 0);
    CHECK(cal.prior() == p);
    // The reported objective is the independent objective at the solution.
    CHECK(rep.objective == doctest::Approx(naive_objective(tar, non, VecD::Constant(1, cal.scale()), cal.offset(), p)).epsilon(1e-12));
  }
}

TEST_CASE("at the optimum the objective has zero gradient (finite differences of an independent objective)") {
  const Gaussians g{{1.0}, {0.0}, {1.0}};
  Random rng(3);
  const MatD tar = g.draw(400, true, rng), non = g.draw(1500, false, rng);
  for (const double p : {0.5, 0.05}) {
    CalibrationOptions o;
    o.prior = p;
    const LinearCalibration cal = train_linear_calibration(column(tar, 0), column(non, 0), o);
    auto f = [&](double a, double b) { return naive_objective(tar, non, VecD::Constant(1, a), b, p); };
    const double a = cal.scale(), b = cal.offset(), h = 1e-5;
    const double ga = (f(a + h, b) - f(a - h, b)) / (2 * h), gb = (f(a, b + h) - f(a, b - h)) / (2 * h);
    CAPTURE(ga);
    CAPTURE(gb);
    CHECK(std::abs(ga) < 1e-8);
    CHECK(std::abs(gb) < 1e-8);
    // Elsewhere the same finite differences are far from zero (the check can fail), and the optimum
    // is lower than its neighbours.
    CHECK(std::abs((f(a + 0.05 + h, b) - f(a + 0.05 - h, b)) / (2 * h)) > 1e-4);
    CHECK(f(a, b) < f(a + 1e-3, b));
    CHECK(f(a, b) < f(a, b - 1e-3));
  }
}

TEST_CASE("after calibration Cllr is close to minCllr; the objective at P = 0.5 is Cllr") {
  const Gaussians g{{3.0}, {0.0}, {1.0}};
  Random rng(11);
  const MatD tar = g.draw(2000, true, rng), non = g.draw(20000, false, rng);
  // Badly scaled and shifted raw scores: 5 s + 40.
  std::vector<double> tv = column(tar, 0), nv = column(non, 0);
  for (auto& v : tv) v = 5 * v + 40;
  for (auto& v : nv) v = 5 * v + 40;
  CalibrationReport rep;
  const LinearCalibration cal = train_linear_calibration(tv, nv, {}, &rep);
  const auto lt = cal.apply(ScoreView(tv)), ln = cal.apply(ScoreView(nv));
  const double c = cllr(lt, ln), cmin = min_cllr(tv, nv), craw = cllr(tv, nv);
  CAPTURE(c);
  CAPTURE(cmin);
  CHECK(cmin <= c);
  CHECK(c - cmin < 0.01);
  CHECK(craw > 10);
  CHECK(rep.objective == doctest::Approx(c).epsilon(1e-12));
  CHECK(prior_weighted_cross_entropy(lt, ln, 0.5) == doctest::Approx(c).epsilon(1e-13));
  // The true LLR, 3 s' - 4.5 with s' = (s - 40) / 5, is recovered in these units too.
  CHECK(cal.scale() == doctest::Approx(3.0 / 5).epsilon(0.03));
  CHECK(cal.offset() == doctest::Approx(-4.5 - 40 * 3.0 / 5).epsilon(0.03));
}

TEST_CASE("fusion: one system equals linear calibration; independent systems add; a useless system gets weight 0") {
  Random rng(5);
  {
    const Gaussians g{{1.5}, {0.0}, {1.2}};
    const MatD tar = g.draw(500, true, rng), non = g.draw(3000, false, rng);
    for (const double p : {0.5, 0.2}) {
      CalibrationOptions o;
      o.prior = p;
      const LinearCalibration cal = train_linear_calibration(column(tar, 0), column(non, 0), o);
      const LinearCalibration fus = train_linear_fusion(tar, non, o);
      REQUIRE(fus.num_systems() == 1);
      CHECK(fus.weights()(0) == doctest::Approx(cal.scale()).epsilon(1e-12));
      CHECK(fus.offset() == doctest::Approx(cal.offset()).epsilon(1e-12));
      // Labelled forms agree with the split forms.
      MatD all(tar.rows() + non.rows(), 1);
      all << tar, non;
      TrialLabels labels(static_cast<std::size_t>(all.rows()), false);
      for (Index i = 0; i < tar.rows(); ++i) labels[static_cast<std::size_t>(i)] = true;
      const LinearCalibration lab = train_linear_fusion(all, labels, o);
      CHECK(lab.weights()(0) == doctest::Approx(cal.scale()).epsilon(1e-12));
      const LinearCalibration lab1 = train_linear_calibration(column(all, 0), labels, o);
      CHECK(lab1.offset() == doctest::Approx(cal.offset()).epsilon(1e-12));
    }
  }
  // Three systems independent given the class; the third carries no information (equal means).
  const Gaussians g{{1.0, 2.0, 0.3}, {0.0, 0.5, 0.3}, {1.0, 2.0, 0.7}};
  const MatD tar = g.draw(4000, true, rng), non = g.draw(20000, false, rng);
  VecD w_true(3);
  w_true << g.a(0), g.a(1), g.a(2);
  const double b_true = g.c(0) + g.c(1) + g.c(2);
  for (const double p : {0.5, 0.05}) {
    CAPTURE(p);
    CalibrationOptions o;
    o.prior = p;
    CalibrationReport rep;
    const LinearCalibration fus = train_linear_fusion(tar, non, o, &rep);
    const MatD cov = sandwich(tar, non, w_true, b_true, p);
    for (Index k = 0; k < 3; ++k) {
      CAPTURE(k);
      CAPTURE(fus.weights()(k));
      CHECK(std::abs(fus.weights()(k) - w_true(k)) < 4 * std::sqrt(cov(k, k)));
    }
    CHECK(std::abs(fus.offset() - b_true) < 4 * std::sqrt(cov(3, 3)));
    CHECK(rep.decrement <= o.tolerance);
    // fuse() is w.s + b row by row, in the scores' scalar.
    const VecD llr = fus.fuse(tar);
    CHECK(llr(7) == doctest::Approx(tar.row(7).dot(fus.weights()) + fus.offset()).epsilon(1e-14));
    const Eigen::VectorXf llr_f = fus.fuse(tar.cast<float>());
    CHECK(std::abs(llr_f(7) - llr(7)) < 1e-5 * (1 + std::abs(llr(7))));
  }
  // The sums over trials run in ordered blocks: the same result for any thread count.
  CalibrationOptions o1, o4;
  o1.num_threads = 1;
  o4.num_threads = 4;
  const LinearCalibration f1 = train_linear_fusion(tar, non, o1), f4 = train_linear_fusion(tar, non, o4);
  CHECK(f1.weights() == f4.weights());
  CHECK(f1.offset() == f4.offset());
}

TEST_CASE("separable scores: an error without regularisation, a finite shrinking solution with l2 > 0") {
  const std::vector<double> tar{2.0, 3.0, 2.5, 4.0}, non{0.0, 1.0, -1.0, 0.5, 1.5};
  CHECK_THROWS_WITH_AS(train_linear_calibration(tar, non),
                       "train_linear_calibration: the scores are separable (lowest target score 2 >= highest non-target score 1.5); the "
                       "maximum-likelihood scale is infinite; set CalibrationOptions::l2 > 0",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(train_linear_calibration(non, tar),
                       "train_linear_calibration: the scores are separable (highest target score 1.5 <= lowest non-target score 2); the "
                       "maximum-likelihood scale is infinite; set CalibrationOptions::l2 > 0",
                       InvalidArgument);
  // Touching at one value is still separable (the infimum is approached as the scale grows).
  CHECK_THROWS_AS(train_linear_calibration(std::vector<double>{1.5, 3.0}, non), InvalidArgument);
  double previous = std::numeric_limits<double>::infinity();
  for (const double l2 : {1e-4, 1e-2, 1.0}) {
    CalibrationOptions o;
    o.l2 = l2;
    CalibrationReport rep;
    const LinearCalibration cal = train_linear_calibration(tar, non, o, &rep);
    CHECK(std::isfinite(cal.scale()));
    CHECK(cal.scale() > 0);
    CHECK(cal.scale() < previous);
    CHECK(rep.penalty > 0);
    CHECK(rep.decrement <= o.tolerance);
    previous = cal.scale();
    // The penalised optimum has zero gradient of objective + penalty (finite differences).
    const MatD mt = Eigen::Map<const VecD>(tar.data(), 4), mn = Eigen::Map<const VecD>(non.data(), 5);
    double mean = 0, ss = 0;
    for (double v : tar) mean += v;
    for (double v : non) mean += v;
    mean /= 9;
    for (double v : tar) ss += (v - mean) * (v - mean);
    for (double v : non) ss += (v - mean) * (v - mean);
    const double var = ss / 9;
    auto f = [&](double a) { return naive_objective(mt, mn, VecD::Constant(1, a), cal.offset(), 0.5) + 0.5 * l2 * a * a * var; };
    const double h = 1e-6 * std::max(1.0, cal.scale());
    CHECK(std::abs((f(cal.scale() + h) - f(cal.scale() - h)) / (2 * h)) < 1e-6);
  }
  // Two systems: each overlaps on its own, together they separate the trials.
  MatD t2(4, 2), n2(4, 2);
  t2 << 1, 1, 2, 0, 0, 2, 1.5, 1.5;
  n2 << 0, 0, 1, -0.5, -0.5, 1, 0.3, 0.3;
  CHECK_THROWS_WITH_AS(train_linear_fusion(t2, n2),
                       "train_linear_fusion: the training scores are linearly separable (the fusion at iteration 1 puts every trial on its "
                       "side); the maximum-likelihood weights are infinite; set CalibrationOptions::l2 > 0",
                       InvalidArgument);
  CalibrationOptions o;
  o.l2 = 1e-3;
  CHECK(train_linear_fusion(t2, n2, o).weights().allFinite());
  // Weakly separable: one point of each class exactly on the separating line s1 + s2 = 1; no
  // hyperplane separates strictly, the weights grow without bound and Newton's method fails.
  MatD t3(4, 2), n3(4, 2);
  t3 << 1, 1, 2, 0, 0, 2, 0.5, 0.5;
  n3 << 0, 0, 1, -0.5, -0.5, 1, 0.5, 0.5;
  CHECK_THROWS_AS(train_linear_fusion(t3, n3), NumericalError);
  CHECK_THROWS_WITH(train_linear_fusion(t3, n3), doctest::Contains("; set CalibrationOptions::l2 > 0"));
  const LinearCalibration weak = train_linear_fusion(t3, n3, o);
  CHECK(weak.weights().allFinite());
  CHECK(weak.weights()(0) == doctest::Approx(weak.weights()(1)).epsilon(1e-6));  // symmetric data
}

TEST_CASE("apply is element-wise on any score matrix, float or double; save and load") {
  const LinearCalibration cal(VecD::Constant(1, 0.75), -1.25, 0.01);
  Eigen::MatrixXf s(2, 3);
  s << 0, 1, 2, -4, 8, 0.5;
  const Eigen::MatrixXf l = cal.apply(s);
  for (Index i = 0; i < 2; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(l(i, j) == static_cast<float>(0.75 * double(s(i, j)) - 1.25));
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> sd = s.cast<double>();
  CHECK(cal.apply(sd)(1, 1) == 0.75 * 8 - 1.25);
  CHECK(cal(2.0) == 0.25);
  CHECK(cal.apply(std::vector<double>{1.0})[0] == -0.5);
  CHECK(cal.apply(Eigen::VectorXd::Constant(1, std::numeric_limits<double>::infinity()))(0) == std::numeric_limits<double>::infinity());

  const std::string path = (std::filesystem::temp_directory_path() / ("ivkit_calibration_" + std::to_string(::getpid()) + ".bin")).string();
  VecD w(2);
  w << 0.5, -2.0;
  const LinearCalibration fus(w, 0.125, 0.2);
  fus.save(path);
  const LinearCalibration back = LinearCalibration::load(path);
  std::filesystem::remove(path);
  CHECK(back.weights() == w);
  CHECK(back.offset() == 0.125);
  CHECK(back.prior() == 0.2);
  CHECK(LinearCalibration::from_bytes(cal.to_bytes()).scale() == 0.75);
  ModelWriter wrong("Plda", 1);
  CHECK_THROWS_WITH_AS(LinearCalibration::from_bytes(wrong.bytes(), "x.bin"),
                       "ModelReader: 'x.bin' (offset 12) holds a 'Plda', not a 'LinearCalibration'", FormatError);
  ModelWriter bad(LinearCalibration::kFileKind, 1);
  bad.matrix("weights", VecD::Constant(1, std::numeric_limits<double>::quiet_NaN())).real("offset", 0).real("prior", 0.5);
  CHECK_THROWS_WITH_AS(LinearCalibration::from_bytes(bad.bytes(), "y.bin"),
                       "ModelReader: 'y.bin' holds an invalid calibration: LinearCalibration: weight 0 is nan", FormatError);

  CHECK_THROWS_WITH_AS(fus.apply(s), "LinearCalibration::apply: this is a fusion of 2 systems; use fuse() on trials x systems scores",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(fus.fuse(s), "LinearCalibration::fuse: the scores are 2 x 3 (trials x systems) but the fusion has 2 systems",
                       DimensionMismatch);
  Eigen::MatrixXd sn = Eigen::MatrixXd::Zero(2, 2);
  sn(1, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(fus.fuse(sn), "LinearCalibration::fuse: the score of trial 1 from system 0 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(cal.apply(sn), "LinearCalibration::apply: score (1, 0) is NaN", NonFiniteInput);
}

TEST_CASE("bad training input: exact errors") {
  const std::vector<double> tar{1.0, 2.0, 0.5}, non{0.0, 1.5, -1.0};
  const std::vector<double> none;
  CHECK_THROWS_WITH_AS(train_linear_calibration(none, non), "train_linear_calibration: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(train_linear_calibration(tar, none), "train_linear_calibration: no non-target scores", InvalidArgument);
  std::vector<double> nan_non = non;
  nan_non[2] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(train_linear_calibration(tar, nan_non), "train_linear_calibration: non-target score 2 is NaN or Inf", NonFiniteInput);
  std::vector<float> inf_tar{1.0f, std::numeric_limits<float>::infinity()};
  CHECK_THROWS_WITH_AS(train_linear_calibration(inf_tar, non), "train_linear_calibration: target score 1 is NaN or Inf", NonFiniteInput);
  CHECK_THROWS_WITH_AS(train_linear_calibration(std::vector<double>{1, 1}, std::vector<double>{1}),
                       "train_linear_calibration: all 3 scores are equal (1); a scale cannot be fitted", InvalidArgument);
  CalibrationOptions o;
  o.prior = 1;
  CHECK_THROWS_WITH_AS(train_linear_calibration(tar, non, o), "train_linear_calibration: the prior must lie in (0, 1), got 1", InvalidArgument);
  o.prior = 0.5;
  o.l2 = -1;
  CHECK_THROWS_WITH_AS(train_linear_calibration(tar, non, o), "train_linear_calibration: l2 must be finite and >= 0, got -1", InvalidArgument);
  o.l2 = 0;
  o.max_iterations = 1;
  CHECK_THROWS_WITH_AS(train_linear_calibration(tar, non, o),
                       doctest::Contains("train_linear_calibration: Newton's method did not converge in 1 iterations"), NumericalError);
  CHECK_THROWS_WITH_AS(train_linear_calibration(nan_non, TrialLabels{true, false, true}), "train_linear_calibration: score 2 is NaN or Inf",
                       NonFiniteInput);
  CHECK_THROWS_WITH_AS(train_linear_calibration(std::vector<double>{1.0, 2.0}, TrialLabels{true}),
                       "train_linear_calibration: 2 scores but 1 labels", DimensionMismatch);

  MatD t(3, 2), n(3, 2);
  t << 1, 2, 2, 4, 0.5, 1;
  n << 0, 0, 1.5, 3, -1, -2;
  CHECK_THROWS_WITH_AS(train_linear_fusion(t, n),
                       doctest::Contains("train_linear_fusion: the scores of the 2 systems are linearly dependent"), InvalidArgument);
  MatD tc = t, nc = n;
  tc.col(1).setConstant(3);
  nc.col(1).setConstant(3);
  CHECK_THROWS_WITH_AS(train_linear_fusion(tc, nc), "train_linear_fusion: the scores of system 1 are all equal (3); its weight cannot be fitted",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(train_linear_fusion(t, MatD(n.leftCols(1))),
                       "train_linear_fusion: the target scores are 3 x 2 but the non-target scores are 3 x 1 (trials x systems)",
                       DimensionMismatch);
  MatD tn = t;
  tn(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(train_linear_fusion(tn, n), "train_linear_fusion: the score of system 1 for target trial 2 is NaN or Inf",
                       NonFiniteInput);
  CHECK_THROWS_WITH_AS(train_linear_fusion(tn, TrialLabels{false, true, false}), "train_linear_fusion: the score of system 1 for trial 2 is NaN or Inf",
                       NonFiniteInput);
  CHECK_THROWS_WITH_AS(train_linear_fusion(MatD(0, 2), n), "train_linear_fusion: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(train_linear_fusion(t, TrialLabels{true, false}), "train_linear_fusion: 3 trials (rows of scores) but 2 labels",
                       DimensionMismatch);
  CHECK_THROWS_WITH_AS(prior_weighted_cross_entropy(tar, non, 0), "prior_weighted_cross_entropy: the prior must lie in (0, 1), got 0",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(LinearCalibration(VecD(), 0), "LinearCalibration: no weights", InvalidArgument);
}
