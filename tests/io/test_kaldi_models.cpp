// Kaldi's model files: DiagGmm, FullGmm, IvectorExtractor, Plda and transform matrices. Byte-exact
// against fixtures built here from Kaldi's layout (src/gmm/diag-gmm.cc, full-gmm.cc,
// src/ivector/ivector-extractor.cc, plda.cc), text files written by hand as Kaldi writes them,
// round trips in both modes and both scalars, i-vectors against Kaldi's formulas evaluated on the
// stored parts, and a FormatError naming the file and offset for every truncation and wrong type.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ivkit/core/random.hpp"
#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_ivector_extractor.hpp"
#include "ivkit/io/kaldi_plda.hpp"
#include "ivkit/io/kaldi_transform.hpp"
#include "support/bytes.hpp"
#include "support/files.hpp"

namespace {

using ivkit_test::f32;
using ivkit_test::f64;
using ivkit_test::kint;
using ivkit_test::kreal;
using ivkit_test::kMarker;
using ivkit_test::slurp;
using ivkit_test::write_bytes;

namespace fs = std::filesystem;
using ivkit::ColMatrix;
using ivkit::Index;
using ivkit::Matrix;
using ivkit::Vector;
using MatXd = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

// ---- bytes, built with shifts independently of the library -----------------------------------


template <class S>
std::string val(double v) {
  if constexpr (std::is_same_v<S, float>) return f32(static_cast<float>(v));
  else return f64(v);
}
template <class S>
std::string bvec(const VecD& v) {
  std::string s = std::string(std::is_same_v<S, float> ? "FV " : "DV ") + kint(static_cast<std::int32_t>(v.size()));
  for (Index i = 0; i < v.size(); ++i) s += val<S>(v(i));
  return s;
}
template <class S>
std::string bmat(const MatXd& m) {
  std::string s = std::string(std::is_same_v<S, float> ? "FM " : "DM ") + kint(static_cast<std::int32_t>(m.rows())) +
                  kint(static_cast<std::int32_t>(m.cols()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) s += val<S>(m(i, j));
  return s;
}
template <class S>
std::string bpacked(const MatXd& m) {  // lower triangle, row by row
  std::string s = std::string(std::is_same_v<S, float> ? "FP " : "DP ") + kint(static_cast<std::int32_t>(m.rows()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j <= i; ++j) s += val<S>(m(i, j));
  return s;
}

// ---- files ---------------------------------------------------------------------------------------

using ivkit_test::TempDir;


/// The message of the ivkit::FormatError `f` throws ("" and a failed check when it throws nothing
/// or something else).
template <class F>
std::string format_error(F&& f) {
  try {
    f();
  } catch (const ivkit::FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected a FormatError, got: " << e.what());
    return "";
  }
  FAIL_CHECK("expected a FormatError, nothing was thrown");
  return "";
}

/// Checks that `msg` starts with "<fn>: '<source>' (offset n" with n <= len.
void check_names_offset(const std::string& msg, const std::string& fn, const std::string& source, std::size_t len) {
  const std::string head = fn + ": '" + source + "' (offset ";
  if (msg.compare(0, head.size(), head) != 0) {
    FAIL_CHECK("prefix of " << len << " bytes: " << msg);
    return;
  }
  const std::size_t offset = std::stoul(msg.substr(head.size()));
  if (offset > len) FAIL_CHECK("prefix of " << len << " bytes: offset " << offset << " is past the end: " << msg);
}

/// Every prefix of `bytes` shorter than `complete` fails with a FormatError naming the source and
/// an offset within the prefix: read from memory as a source of known size and as a stream of
/// unknown size (stdin) with `read_stream(KaldiInput&)`, and from a file with `read_file(path)`
/// (every `file_step`-th prefix, files being slow to rewrite). The complete prefix reads.
template <class ReadStream, class ReadFile>
void check_truncations(const TempDir& dir, const std::string& fn, const std::string& bytes, std::size_t complete, ReadStream read_stream,
                       ReadFile read_file, std::size_t file_step) {
  const std::string path = dir / "prefix";
  for (std::size_t len = 0; len < complete; ++len) {
    const std::string prefix = bytes.substr(0, len);
    for (const bool known_size : {true, false}) {
      std::istringstream is(prefix);
      ivkit::KaldiInput in(is, "mem", fn.c_str(), 0, known_size ? std::optional<std::uint64_t>(len) : std::nullopt);
      check_names_offset(format_error([&] {
                           in.read_binary_marker();
                           read_stream(in);
                         }),
                         fn, "mem", len);
    }
    if (len % file_step == 0) {
      write_bytes(path, prefix);
      check_names_offset(format_error([&] { read_file(path); }), fn, path, len);
    }
  }
  std::istringstream is(bytes.substr(0, complete));
  ivkit::KaldiInput in(is, "mem", fn.c_str());
  in.read_binary_marker();
  CHECK_NOTHROW(read_stream(in));
  write_bytes(path, bytes.substr(0, complete));
  CHECK_NOTHROW(read_file(path));
}

template <class S>
double tol() {
  return std::is_same_v<S, float> ? 2e-5 : 1e-12;
}

double max_rel(const MatXd& a, const MatXd& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

/// i-vectors of Kaldi's convention: the first coordinate (near the prior offset) and the others
/// compared separately.
double ivector_err(const MatXd& a, const MatXd& b) {
  return std::max(max_rel(a.col(0), b.col(0)), max_rel(a.rightCols(a.cols() - 1), b.rightCols(b.cols() - 1)));
}

// ---- the tiny models of the fixtures: dyadic values, so every derived quantity is exact ------------

// DiagGmm, C = 2, D = 3.
VecD diag_weights() { return (VecD(2) << 0.25, 0.75).finished(); }
MatXd diag_means() { return (MatXd(2, 3) << 1.0, -2.0, 0.5, 3.0, 0.25, -1.5).finished(); }
MatXd diag_vars() { return (MatXd(2, 3) << 0.5, 2.0, 4.0, 0.25, 1.0, 8.0).finished(); }
// Kaldi's gconst, written out: log w - 0.5 (D log 2 pi + sum log var + sum mu^2 / var).
VecD diag_gconsts_reference() {
  VecD g(2);
  for (Index c = 0; c < 2; ++c) {
    double s = std::log(diag_weights()(c)) - 0.5 * 3 * std::log(2 * M_PI);
    for (Index d = 0; d < 3; ++d) s -= 0.5 * (std::log(diag_vars()(c, d)) + diag_means()(c, d) * diag_means()(c, d) / diag_vars()(c, d));
    g(c) = s;
  }
  return g;
}

template <class S>
ivkit::DiagGmm<S> tiny_diag_gmm() {
  return ivkit::DiagGmm<S>(diag_weights().cast<S>(), Matrix<S>(diag_means().cast<S>()), Matrix<S>(diag_vars().cast<S>()));
}

template <class S>
std::string diag_gmm_binary(const VecD& gconsts) {
  const MatXd iv = diag_vars().cwiseInverse();
  return kMarker + "<DiagGMM> <GCONSTS> " + bvec<S>(gconsts) + "<WEIGHTS> " + bvec<S>(diag_weights()) + "<MEANS_INVVARS> " +
         bmat<S>(diag_means().cwiseProduct(iv)) + "<INV_VARS> " + bmat<S>(iv) + "</DiagGMM> ";
}

// FullGmm, C = 2, D = 3: covariances L L^T with dyadic Cholesky factors, so the precisions are dyadic.
MatXd chol0() { return (MatXd(3, 3) << 2, 0, 0, 1, 2, 0, 0, 1, 4).finished(); }
MatXd chol1() { return (MatXd(3, 3) << 0.5, 0, 0, 0.25, 1, 0, -1, 0.5, 2).finished(); }
// (L L^T)^-1 = L^-T L^-1 with L^-1 by forward substitution, written out.
MatXd inverse_of_llt(const MatXd& L) {
  MatXd Li = MatXd::Zero(3, 3);
  for (Index j = 0; j < 3; ++j) {
    Li(j, j) = 1 / L(j, j);
    for (Index i = j + 1; i < 3; ++i) {
      double s = 0;
      for (Index k = j; k < i; ++k) s += L(i, k) * Li(k, j);
      Li(i, j) = -s / L(i, i);
    }
  }
  MatXd P(3, 3);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) {
      double s = 0;
      for (Index k = 0; k < 3; ++k) s += Li(k, i) * Li(k, j);
      P(i, j) = s;
    }
  return P;
}
MatXd full_means() { return (MatXd(2, 3) << 1.0, -0.5, 2.0, -3.0, 0.75, 0.25).finished(); }

template <class S>
ivkit::FullGmm<S> tiny_full_gmm() {
  std::vector<ColMatrix<S>> covs{(chol0() * chol0().transpose()).cast<S>(), (chol1() * chol1().transpose()).cast<S>()};
  return ivkit::FullGmm<S>(diag_weights().cast<S>(), Matrix<S>(full_means().cast<S>()), covs);
}

// Plda, d = 3.
VecD plda_mean() { return (VecD(3) << 0.5, -1.25, 2.0).finished(); }
MatXd plda_transform() { return (MatXd(3, 3) << 1.5, 0.25, 0, -0.5, 2, 0.125, 0, 1, 0.75).finished(); }
VecD plda_psi() { return (VecD(3) << 4.5, 1.25, 0.0625).finished(); }

template <class S>
ivkit::Plda<S> tiny_plda() {
  return ivkit::Plda<S>(plda_mean().cast<S>(), ColMatrix<S>(plda_transform().cast<S>()), plda_psi().cast<S>());
}

// ---- random models for the round trips ---------------------------------------------------------------

MatXd random_spd(ivkit::Random& rng, Index d) {
  MatXd a(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) a(i, j) = rng.normal();
  return a * a.transpose() / static_cast<double>(d) + 0.5 * MatXd::Identity(d, d);
}

template <class S>
ivkit::DiagGmm<S> random_diag_gmm(Index C, Index D, std::uint64_t seed) {
  ivkit::Random rng(seed);
  VecD w(C);
  MatXd mu(C, D), var(C, D);
  for (Index c = 0; c < C; ++c) {
    w(c) = 0.5 + rng.uniform();
    for (Index d = 0; d < D; ++d) {
      mu(c, d) = 3 * rng.normal();
      var(c, d) = 0.2 + 2 * rng.uniform();
    }
  }
  w /= w.sum();
  return ivkit::DiagGmm<S>(w.cast<S>(), Matrix<S>(mu.cast<S>()), Matrix<S>(var.cast<S>()));
}

template <class S>
ivkit::FullGmm<S> random_full_gmm(Index C, Index D, std::uint64_t seed) {
  ivkit::Random rng(seed);
  VecD w(C);
  MatXd mu(C, D);
  std::vector<ColMatrix<S>> covs;
  for (Index c = 0; c < C; ++c) {
    w(c) = 0.5 + rng.uniform();
    for (Index d = 0; d < D; ++d) mu(c, d) = 3 * rng.normal();
    covs.push_back(random_spd(rng, D).cast<S>());
  }
  w /= w.sum();
  return ivkit::FullGmm<S>(w.cast<S>(), Matrix<S>(mu.cast<S>()), covs);
}

/// A KaldiOffset-convention extractor (m = 0, prior (p, 0, ..., 0)), diagonal or full.
template <class S>
ivkit::IvectorExtractor<S> random_extractor(Index C, Index D, Index R, bool full, std::uint64_t seed, double p = 100.0) {
  ivkit::Random rng(seed);
  MatXd ubm(C, D), T(C * D, R), var(C, D);
  for (Index i = 0; i < ubm.size(); ++i) ubm.data()[i] = rng.normal();
  for (Index i = 0; i < T.size(); ++i) T.data()[i] = 0.3 * rng.normal();
  for (Index c = 0; c < C; ++c) T.block(c * D, 0, D, 1) = ubm.row(c).transpose() / p;
  for (Index i = 0; i < var.size(); ++i) var.data()[i] = 0.3 + rng.uniform();
  Vector<S> prior = Vector<S>::Zero(R);
  prior(0) = static_cast<S>(p);
  const Matrix<S> ubm_s = ubm.cast<S>(), zero = Matrix<S>::Zero(C, D), T_s = T.cast<S>();
  if (!full) return ivkit::IvectorExtractor<S>(ubm_s, zero, T_s, Matrix<S>(var.cast<S>()), prior);
  std::vector<ColMatrix<S>> covs;
  for (Index c = 0; c < C; ++c) covs.push_back(random_spd(rng, D).cast<S>());
  return ivkit::IvectorExtractor<S>(ubm_s, zero, T_s, covs, prior);
}

/// Random statistics of U utterances, first order centred on nothing in particular.
struct RandomStats {
  MatXd N, F;
};
RandomStats random_stats(Index U, Index C, Index D, std::uint64_t seed) {
  ivkit::Random rng(seed);
  RandomStats s{MatXd(U, C), MatXd(U, C * D)};
  for (Index i = 0; i < s.N.size(); ++i) s.N.data()[i] = 20 * rng.uniform();
  for (Index i = 0; i < s.F.size(); ++i) s.F.data()[i] = 5 * rng.normal();
  return s;
}

/// Kaldi's posterior mean of w (GetIvectorDistMean + GetIvectorDistPrior), in double from the
/// stored parts and uncentred statistics X_c = F_c + N_c mu_c (F centred on mu).
template <class S>
MatXd kaldi_ivectors(const ivkit::KaldiIvectorExtractorData<S>& x, const MatXd& ubm_means, const RandomStats& st) {
  const Index C = x.num_components(), D = x.dim(), R = x.ivector_dim(), U = st.N.rows();
  MatXd out(U, R);
  for (Index u = 0; u < U; ++u) {
    MatXd L = MatXd::Identity(R, R);
    VecD b = VecD::Zero(R);
    b(0) = x.prior_offset;
    for (Index c = 0; c < C; ++c) {
      const MatXd M = x.M.middleRows(c * D, D).template cast<double>();
      const MatXd P = x.sigma_inv[static_cast<std::size_t>(c)].template cast<double>();
      VecD X(D);
      for (Index d = 0; d < D; ++d) X(d) = st.F(u, c * D + d) + st.N(u, c) * ubm_means(c, d);
      for (Index i = 0; i < R; ++i) {
        for (Index k = 0; k < D; ++k)
          for (Index l = 0; l < D; ++l) b(i) += M(k, i) * P(k, l) * X(l);
        for (Index j = 0; j < R; ++j) {
          double s = 0;
          for (Index k = 0; k < D; ++k)
            for (Index l = 0; l < D; ++l) s += M(k, i) * P(k, l) * M(l, j);
          L(i, j) += st.N(u, c) * s;
        }
      }
    }
    out.row(u) = L.ldlt().solve(b).transpose();
  }
  return out;
}

}  // namespace

// ============================================================================================
// DiagGmm

TEST_CASE_TEMPLATE("DiagGmm: the exact bytes of Kaldi's binary layout, and back", S, float, double) {
  const auto gmm = tiny_diag_gmm<S>();
  // The gconsts are the model's (a log is never exact); their values are checked against the formula.
  const VecD g = gmm.gconsts().template cast<double>();
  CHECK(max_rel(g, diag_gconsts_reference()) < tol<S>());
  const std::string expected = diag_gmm_binary<S>(g);
  CHECK(expected.size() == 2 + 10 + 10 + 8 + 2 * sizeof(S) + 10 + 8 + 2 * sizeof(S) + 16 + 13 + 6 * sizeof(S) + 11 + 13 + 6 * sizeof(S) + 11);

  TempDir dir("diag_bytes");
  ivkit::write_kaldi_diag_gmm(dir / "final.dubm", gmm);
  CHECK(slurp(dir / "final.dubm") == expected);
  CHECK(dir.count() == 1);  // no temporary file left

  const auto back = ivkit::read_kaldi_diag_gmm<S>(dir / "final.dubm");
  CHECK(back.weights().template cast<double>() == diag_weights());  // dyadic: exact
  CHECK(back.means().template cast<double>() == diag_means());
  CHECK(back.variances().template cast<double>() == diag_vars());
  // The other scalar reads the same file.
  const auto other = ivkit::read_kaldi_diag_gmm<std::conditional_t<std::is_same_v<S, float>, double, float>>(dir / "final.dubm");
  CHECK(other.means().template cast<double>() == diag_means());
}

TEST_CASE("DiagGmm: a text file written by hand as Kaldi writes it (7 digits), and the old tokens") {
  const VecD g = diag_gconsts_reference();
  char gbuf[64];
  std::snprintf(gbuf, sizeof gbuf, "%.7g %.7g", g(0), g(1));
  const std::string text = std::string("<DiagGMM> \n<GCONSTS>  [ ") + gbuf +
                           " ]\n<WEIGHTS>  [ 0.25 0.75 ]\n<MEANS_INVVARS>  [\n  2 -1 0.125 \n  12 0.25 -0.1875 ]\n"
                           "<INV_VARS>  [\n  2 0.5 0.25 \n  4 1 0.125 ]\n</DiagGMM> \n";
  TempDir dir("diag_text");
  write_bytes(dir / "text.dubm", text);
  const auto f = ivkit::read_kaldi_diag_gmm<float>(dir / "text.dubm");
  const auto d = ivkit::read_kaldi_diag_gmm<double>(dir / "text.dubm");
  CHECK(d.means() == Matrix<double>(diag_means()));
  CHECK(d.variances() == Matrix<double>(diag_vars()));
  CHECK(f.means().cast<double>() == diag_means());
  // Log-likelihood of a frame: Kaldi's formula gconst + sum miv x - 0.5 iv x^2 on the text values.
  Matrix<double> x(1, 3);
  x << 0.3, -1.1, 2.5;
  const double miv[2][3] = {{2, -1, 0.125}, {12, 0.25, -0.1875}}, iv[2][3] = {{2, 0.5, 0.25}, {4, 1, 0.125}};
  for (Index c = 0; c < 2; ++c) {
    double ll = g(c);
    for (Index k = 0; k < 3; ++k) ll += miv[c][k] * x(0, k) - 0.5 * iv[c][k] * x(0, k) * x(0, k);
    CHECK(d.component_log_likelihoods(x)(0, c) == doctest::Approx(ll).epsilon(1e-12));
    CHECK(f.component_log_likelihoods(Matrix<float>(x.cast<float>()))(0, c) == doctest::Approx(ll).epsilon(1e-5));
  }
  // Kaldi's writer of the same model gives the same text layout (ivkit prints shortest round-trip reals).
  std::ostringstream os;
  ivkit::KaldiOutput out(os, false, "mem");
  ivkit::write_kaldi_diag_gmm(out, d);
  const std::string written = os.str();
  CHECK(written.substr(0, 25) == "<DiagGMM> \n<GCONSTS>  [ -");
  CHECK(written.find("\n<WEIGHTS>  [ 0.25 0.75 ]\n<MEANS_INVVARS>  [\n  2 -1 0.125 \n  12 0.25 -0.1875 ]\n"
                     "<INV_VARS>  [\n  2 0.5 0.25 \n  4 1 0.125 ]\n</DiagGMM> \n") != std::string::npos);

  // Without <GCONSTS>, with Kaldi's old <DiagGMMBegin> / <DiagGMMEnd>.
  write_bytes(dir / "old.dubm", "<DiagGMMBegin> <WEIGHTS> [ 0.25 0.75 ] <MEANS_INVVARS> [ 2 -1 0.125 \n 12 0.25 -0.1875 ] "
                         "<INV_VARS> [ 2 0.5 0.25 \n 4 1 0.125 ] <DiagGMMEnd> ");
  CHECK(ivkit::read_kaldi_diag_gmm<double>(dir / "old.dubm").means() == Matrix<double>(diag_means()));
}

TEST_CASE_TEMPLATE("DiagGmm: round trips in binary and text", S, float, double) {
  TempDir dir("diag_rt");
  const auto gmm = random_diag_gmm<S>(5, 4, 11);
  for (const bool binary : {true, false}) {
    ivkit::write_kaldi_diag_gmm(dir / "m", gmm, binary);
    CHECK((slurp(dir / "m").substr(0, 2) == kMarker) == binary);
    const auto back = ivkit::read_kaldi_diag_gmm<S>(dir / "m");
    // Kaldi stores inverse variances and their products with the means: means and variances come
    // back within a few rounding errors of the divisions.
    CHECK(max_rel(back.inv_variances().template cast<double>(), gmm.inv_variances().template cast<double>()) < 4 * tol<S>());
    CHECK(max_rel(back.means().template cast<double>(), gmm.means().template cast<double>()) < 4 * tol<S>());
    CHECK(max_rel(back.variances().template cast<double>(), gmm.variances().template cast<double>()) < 4 * tol<S>());
    CHECK(max_rel(back.weights().template cast<double>(), gmm.weights().template cast<double>()) == 0);
  }
}

TEST_CASE("DiagGmm: invalid contents are FormatErrors naming the file and the field's offset") {
  TempDir dir("diag_bad");
  const std::string p = dir / "bad.dubm";
  const VecD g = diag_gconsts_reference();
  // A stored gconst off by 0.5: rejected, unless the check is off (Kaldi ignores stored constants).
  VecD wrong = g;
  wrong(1) += 0.5;
  write_bytes(p, diag_gmm_binary<float>(wrong));
  const std::string msg = format_error([&] { ivkit::read_kaldi_diag_gmm<double>(p); });
  CHECK(msg.rfind("read_kaldi_diag_gmm: '" + p + "' (offset 22): the stored gconst of component 1 is ", 0) == 0);
  CHECK(msg.find("KaldiGmmReadOptions::check_gconsts = false") != std::string::npos);
  ivkit::KaldiGmmReadOptions lax;
  lax.check_gconsts = false;
  CHECK(ivkit::read_kaldi_diag_gmm<double>(p, lax).means() == Matrix<double>(diag_means()));
  // Kaldi computes its gconsts in float: float values pass the check.
  write_bytes(p, diag_gmm_binary<float>(g));
  CHECK_NOTHROW(ivkit::read_kaldi_diag_gmm<double>(p));

  const std::string head = "<DiagGMM> <WEIGHTS> [ 0.25 0.75 ] <MEANS_INVVARS> [ 1 2 3 \n 4 5 6 ] <INV_VARS> [ ";
  write_bytes(p, head + "1 1 1 \n 1 -2 1 ] </DiagGMM> ");
  CHECK(format_error([&] { ivkit::read_kaldi_diag_gmm<float>(p); }) ==
        "read_kaldi_diag_gmm: '" + p + "' (offset 79): the inverse variance of component 1, dimension 1 is -2; it must be positive and finite");
  write_bytes(p, head + "1 1 1 ] </DiagGMM> ");
  CHECK(format_error([&] { ivkit::read_kaldi_diag_gmm<float>(p); }) ==
        "read_kaldi_diag_gmm: '" + p + "' (offset 79): <INV_VARS> is 1 x 3 but <MEANS_INVVARS> is 2 x 3");
  write_bytes(p, "<DiagGMM> <WEIGHTS> [ 0 1 ] <MEANS_INVVARS> [ 1 \n 2 ] <INV_VARS> [ 1 \n 1 ] </DiagGMM> ");
  CHECK(format_error([&] { ivkit::read_kaldi_diag_gmm<double>(p); }) ==
        "read_kaldi_diag_gmm: '" + p +
            "' (offset 20): the file holds an invalid diagonal-covariance GMM: DiagGmm: weight of component 0 is 0; weights must be positive and finite");
  write_bytes(p, "<DiagGMM> <WEIGHTS> [ 0.5 0.5 ] <MEANS_INVVARS> [ 1 \n 2 ] <INV_VARS> [ 1 \n 1 ] <DiagGMM> ");
  CHECK(format_error([&] { ivkit::read_kaldi_diag_gmm<double>(p); }) ==
        "read_kaldi_diag_gmm: '" + p + "' (offset 79): expected token </DiagGMM>, found '<DiagGMM>'");
  // Weights that miss one by 3e-6 (beyond a double model's 1e-6, within 1e-4): divided by their sum.
  write_bytes(p, "<DiagGMM> <WEIGHTS> [ 0.3333333 0.6666667 0.000003 ] <MEANS_INVVARS> [ 1 \n 2 \n 3 ] <INV_VARS> [ 1 \n 1 \n 1 ] </DiagGMM> ");
  const auto renorm = ivkit::read_kaldi_diag_gmm<double>(p);
  CHECK(renorm.weights().sum() == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(renorm.weights()(0) == doctest::Approx(0.3333333 / 1.000003).epsilon(1e-15));
  // Weights summing to 1.0155, as gmm-global-init-from-feats writes on little data (it raises small
  // weights to --min-gaussian-weight without lowering the others): Kaldi uses them, ivkit divides
  // them by their sum and says so in the report; with renormalise_weights off they are refused.
  write_bytes(p, "<DiagGMM> <WEIGHTS> [ 0.5 0.4 0.1155 ] <MEANS_INVVARS> [ 1 \n 2 \n 3 ] <INV_VARS> [ 1 \n 1 \n 1 ] </DiagGMM> ");
  ivkit::KaldiGmmReadReport report;
  const auto raised = ivkit::read_kaldi_diag_gmm<double>(p, {}, &report);
  CHECK(report.renormalised);
  CHECK(report.weight_sum == doctest::Approx(1.0155).epsilon(1e-12));
  CHECK(raised.weights()(2) == doctest::Approx(0.1155 / 1.0155).epsilon(1e-14));
  // The posteriors are those of the weights as stored (all components scaled alike).
  const Matrix<double> x = (Matrix<double>(2, 1) << 1.5, 2.2).finished();
  const Matrix<double> post = raised.posteriors(x);
  for (Index t = 0; t < 2; ++t) {
    const double w[3] = {0.5, 0.4, 0.1155};
    double den = 0, num[3];
    for (int c = 0; c < 3; ++c) den += num[c] = w[c] * std::exp(-0.5 * (x(t, 0) - (c + 1)) * (x(t, 0) - (c + 1)));
    for (int c = 0; c < 3; ++c) CHECK(post(t, c) == doctest::Approx(num[c] / den).epsilon(1e-12));
  }
  ivkit::KaldiGmmReadOptions strict;
  strict.renormalise_weights = false;
  CHECK_THROWS_AS(ivkit::read_kaldi_diag_gmm<double>(p, strict), ivkit::FormatError);
}

// ============================================================================================
// FullGmm

TEST_CASE_TEMPLATE("FullGmm: the exact bytes of Kaldi's binary layout, and back", S, float, double) {
  const auto gmm = tiny_full_gmm<S>();
  const MatXd P0 = inverse_of_llt(chol0()), P1 = inverse_of_llt(chol1());
  MatXd miv(2, 3);
  miv.row(0) = (P0 * full_means().row(0).transpose()).transpose();
  miv.row(1) = (P1 * full_means().row(1).transpose()).transpose();
  // gconsts against the formula log w - 0.5 (D log 2 pi + log|S| + mu^T P mu), log|S| = 2 sum log L_ii.
  for (Index c = 0; c < 2; ++c) {
    const MatXd& L = c == 0 ? chol0() : chol1();
    const MatXd& P = c == 0 ? P0 : P1;
    const VecD mu = full_means().row(c).transpose();
    const double ref = std::log(diag_weights()(c)) -
                       0.5 * (3 * std::log(2 * M_PI) + 2 * L.diagonal().array().log().sum() + mu.dot(P * mu));
    CHECK(static_cast<double>(gmm.gconsts()(c)) == doctest::Approx(ref).epsilon(tol<S>()));
  }
  const std::string expected = kMarker + "<FullGMM> <GCONSTS> " + bvec<S>(gmm.gconsts().template cast<double>()) + "<WEIGHTS> " +
                               bvec<S>(diag_weights()) + "<MEANS_INVCOVARS> " + bmat<S>(miv) + "<INV_COVARS> " + bpacked<S>(P0) +
                               bpacked<S>(P1) + "</FullGMM> ";
  TempDir dir("full_bytes");
  ivkit::write_kaldi_full_gmm(dir / "final.ubm", gmm);
  CHECK(slurp(dir / "final.ubm") == expected);

  const auto back = ivkit::read_kaldi_full_gmm<S>(dir / "final.ubm");
  // Covariances are the inverses of the stored precisions (a Cholesky factorisation: not exact).
  CHECK(max_rel(back.means().template cast<double>(), full_means()) < 8 * tol<S>());
  CHECK(max_rel(back.covariances()[0].template cast<double>(), chol0() * chol0().transpose()) < 8 * tol<S>());
  CHECK(max_rel(back.covariances()[1].template cast<double>(), chol1() * chol1().transpose()) < 8 * tol<S>());

  // Text, as Kaldi writes it: packed matrices "[\n" with row i holding i + 1 values.
  std::ostringstream os;
  ivkit::KaldiOutput out(os, false, "mem");
  ivkit::write_kaldi_full_gmm(out, gmm);
  CHECK(os.str().find("<MEANS_INVCOVARS>  [\n  ") != std::string::npos);
  CHECK(os.str().find("<INV_COVARS> [\n0.31640625 \n-0.1328125 0.265625 \n0.015625 -0.03125 0.0625 ]\n[\n") != std::string::npos);
  CHECK(os.str().substr(os.str().size() - 14) == "]\n</FullGMM> \n");
  write_bytes(dir / "text.ubm", os.str());
  CHECK(max_rel(ivkit::read_kaldi_full_gmm<S>(dir / "text.ubm").means().template cast<double>(), full_means()) < 8 * tol<S>());
}

TEST_CASE_TEMPLATE("FullGmm: round trips in binary and text; a wrong type and a non-positive-definite precision", S, float, double) {
  TempDir dir("full_rt");
  const auto gmm = random_full_gmm<S>(3, 4, 21);
  for (const bool binary : {true, false}) {
    ivkit::write_kaldi_full_gmm(dir / "m", gmm, binary);
    const auto back = ivkit::read_kaldi_full_gmm<S>(dir / "m");
    CHECK(max_rel(back.means().template cast<double>(), gmm.means().template cast<double>()) < 50 * tol<S>());
    for (Index c = 0; c < 3; ++c)
      CHECK(max_rel(back.covariances()[c].template cast<double>(), gmm.covariances()[c].template cast<double>()) < 50 * tol<S>());
    CHECK(back.weights() == gmm.weights());
  }
  ivkit::write_kaldi_full_gmm(dir / "final.ubm", gmm);
  CHECK(format_error([&] { ivkit::read_kaldi_diag_gmm<S>(dir / "final.ubm"); }) ==
        "read_kaldi_diag_gmm: '" + (dir / "final.ubm") +
            "' (offset 2): expected a diagonal-covariance GMM (token <DiagGMM>), found '<FullGMM>' (a full-covariance GMM: read it with read_kaldi_full_gmm)");
  ivkit::write_kaldi_diag_gmm(dir / "final.dubm", random_diag_gmm<S>(2, 2, 3), false);
  CHECK(format_error([&] { ivkit::read_kaldi_full_gmm<S>(dir / "final.dubm"); }) ==
        "read_kaldi_full_gmm: '" + (dir / "final.dubm") +
            "' (offset 0): expected a full-covariance GMM (token <FullGMM>), found '<DiagGMM>' (a diagonal-covariance GMM: read it with read_kaldi_diag_gmm)");
  write_bytes(dir / "bad.ubm", "<FullGMM> <WEIGHTS> [ 1 ] <MEANS_INVCOVARS> [ 1 2 ] <INV_COVARS> [\n1 \n2 1 ]\n</FullGMM> ");
  CHECK(format_error([&] { ivkit::read_kaldi_full_gmm<S>(dir / "bad.ubm"); }) ==
        "read_kaldi_full_gmm: '" + (dir / "bad.ubm") + "' (offset 65): the inverse covariance of component 0 is not positive definite");
}

// ============================================================================================
// Plda

TEST_CASE_TEMPLATE("Plda: the exact bytes of Kaldi's layout in both modes, and back", S, float, double) {
  const auto plda = tiny_plda<S>();
  // Kaldi's Plda holds doubles: DV, DM, DV whatever the model's scalar.
  const std::string binary = kMarker + "<Plda> " + bvec<double>(plda_mean()) + bmat<double>(plda_transform()) + bvec<double>(plda_psi()) + "</Plda> ";
  const std::string text = "<Plda>  [ 0.5 -1.25 2 ]\n [\n  1.5 0.25 0 \n  -0.5 2 0.125 \n  0 1 0.75 ]\n [ 4.5 1.25 0.0625 ]\n</Plda> ";
  TempDir dir("plda_bytes");
  ivkit::write_kaldi_plda(dir / "plda", plda);
  CHECK(slurp(dir / "plda") == binary);
  ivkit::write_kaldi_plda(dir / "plda.txt", plda, false);
  CHECK(slurp(dir / "plda.txt") == text);
  for (const std::string f : {"plda", "plda.txt"}) {
    const auto back = ivkit::read_kaldi_plda<S>(dir / f);
    CHECK(back.mean().template cast<double>() == plda_mean());
    CHECK(MatXd(back.transform().template cast<double>()) == plda_transform());
    CHECK(back.psi().template cast<double>() == plda_psi());
    CHECK(back.offset().template cast<double>() == -(plda_transform() * plda_mean()));  // Kaldi's derived offset
  }
  // Kaldi's float text (7 digits) and a FV/FM file read as well.
  write_bytes(dir / "f", kMarker + "<Plda> " + bvec<float>(plda_mean()) + bmat<float>(plda_transform()) + bvec<float>(plda_psi()) + "</Plda> ");
  CHECK(ivkit::read_kaldi_plda<S>(dir / "f").psi().template cast<double>() == plda_psi());
}

TEST_CASE_TEMPLATE("Plda: round trips and invalid models", S, float, double) {
  ivkit::Random rng(5);
  const MatXd between = random_spd(rng, 4), within = random_spd(rng, 4);
  const VecD mean = (VecD(4) << 1, -2, 0.5, 3).finished();
  const auto plda = ivkit::Plda<S>::from_covariances(mean.cast<S>(), between.cast<S>(), within.cast<S>());
  TempDir dir("plda_rt");
  for (const bool binary : {true, false}) {
    ivkit::write_kaldi_plda(dir / "plda", plda, binary);
    const auto back = ivkit::read_kaldi_plda<S>(dir / "plda");
    CHECK(back.mean() == plda.mean());  // doubles in the file: exact for both scalars
    CHECK(back.transform() == plda.transform());
    CHECK(back.psi() == plda.psi());
  }
  write_bytes(dir / "neg", "<Plda> [ 0 0 ] [\n 1 0 \n 0 1 ]\n [ 1 -0.5 ]\n</Plda> ");
  CHECK(format_error([&] { ivkit::read_kaldi_plda<S>(dir / "neg"); }) ==
        "read_kaldi_plda: '" + (dir / "neg") + "' (offset 31): psi(1) = -0.5 is negative");
  write_bytes(dir / "sing", "<Plda> [ 0 0 ] [\n 1 2 \n 2 4 ]\n [ 1 0.5 ]\n</Plda> ");
  CHECK(format_error([&] { ivkit::read_kaldi_plda<S>(dir / "sing"); }) ==
        "read_kaldi_plda: '" + (dir / "sing") + "' (offset 15): the file holds an invalid PLDA model: Plda: the transform (2 x 2) is singular");
  write_bytes(dir / "size", "<Plda> [ 0 0 ] [\n 1 0 0 \n 0 1 0 ]\n [ 1 0.5 ]\n</Plda> ");
  CHECK(format_error([&] { ivkit::read_kaldi_plda<S>(dir / "size"); }) ==
        "read_kaldi_plda: '" + (dir / "size") + "' (offset 15): the transform is 2 x 3 but the mean has 2 entries");
}

// ============================================================================================
// IvectorExtractor

TEST_CASE("IvectorExtractor: the exact bytes of Kaldi's layout in both modes") {
  // C = 2, D = 2, R = 2, diagonal covariances with dyadic values, prior offset 100.
  Matrix<double> ubm(2, 2), T(4, 2), var(2, 2);
  ubm << 1, 2, -3, 4;
  T << 0.01, 0.5, 0.02, -0.25, -0.03, 1, 0.04, 2;
  var << 0.5, 2, 4, 0.25;
  const ivkit::IvectorExtractor<double> ex(ubm, Matrix<double>::Zero(2, 2), T, var, (Vector<double>(2) << 100, 0).finished());
  const Vector<double> w = (Vector<double>(2) << 0.25, 0.75).finished();
  const MatXd P0 = (MatXd(2, 2) << 2, 0, 0, 0.5).finished(), P1 = (MatXd(2, 2) << 0.25, 0, 0, 4).finished();
  const std::string binary = kMarker + "<IvectorExtractor> <w> DM " + kint(0) + kint(0) + "<w_vec> " + bvec<double>(w) + "<M> " + kint(2) +
                             bmat<double>(T.topRows(2)) + bmat<double>(T.bottomRows(2)) + "<SigmaInv> " + bpacked<double>(P0) +
                             bpacked<double>(P1) + "<IvectorOffset> " + kreal(100) + "</IvectorExtractor> ";
  const std::string text =
      "<IvectorExtractor> <w>  [ ]\n<w_vec>  [ 0.25 0.75 ]\n<M> 2  [\n  0.01 0.5 \n  0.02 -0.25 ]\n [\n  -0.03 1 \n  0.04 2 ]\n"
      "<SigmaInv> [\n2 \n0 0.5 ]\n[\n0.25 \n0 4 ]\n<IvectorOffset> 100 </IvectorExtractor> ";
  TempDir dir("ie_bytes");
  ivkit::write_kaldi_ivector_extractor(dir / "final.ie", ex, w);
  CHECK(slurp(dir / "final.ie") == binary);
  ivkit::write_kaldi_ivector_extractor(dir / "final.ie.txt", ex, w, false);
  CHECK(slurp(dir / "final.ie.txt") == text);
  // The float model writes the same doubles (Kaldi's extractor holds doubles).
  ivkit::write_kaldi_ivector_extractor(dir / "f.ie", ex.cast<float>(), w.cast<float>());
  CHECK(slurp(dir / "f.ie").size() == binary.size());

  for (const std::string f : {"final.ie", "final.ie.txt"}) {
    const auto data = ivkit::read_kaldi_ivector_extractor_data<double>(dir / f);
    CHECK(data.num_components() == 2);
    CHECK(data.dim() == 2);
    CHECK(data.ivector_dim() == 2);
    CHECK(data.prior_offset == 100);
    CHECK(!data.ivector_dependent_weights());
    CHECK(data.M == T);
    CHECK(MatXd(data.sigma_inv[1]) == P1);
    const auto back = ivkit::read_kaldi_ivector_extractor(dir / f, ubm);
    CHECK(back.convention() == ivkit::PriorConvention::KaldiOffset);
    CHECK(!back.full_covariance());  // exactly diagonal SigmaInv: a diagonal model
    CHECK(back.variances() == var);
    CHECK(back.T() == T);
    ivkit::KaldiExtractorReadOptions full;
    full.covariance = ivkit::KaldiExtractorCovariance::Full;
    CHECK(ivkit::read_kaldi_ivector_extractor(dir / f, ubm, full).full_covariance());
  }
}

TEST_CASE_TEMPLATE("IvectorExtractor: round trips give the i-vectors of Kaldi's formulas and of the written model", S, float, double) {
  const Index C = 3, D = 3, R = 4, U = 5;
  const RandomStats st = random_stats(U, C, D, 77);
  TempDir dir("ie_rt");
  for (const bool full : {false, true}) {
    const auto ex = random_extractor<S>(C, D, R, full, full ? 41 : 42);
    ivkit::Random rng(9);
    Vector<S> ubm_w(C);
    for (Index c = 0; c < C; ++c) ubm_w(c) = static_cast<S>(0.5 + rng.uniform());
    ubm_w /= ubm_w.sum();
    ivkit::ExtractOptions eo;
    eo.variances = false;
    const MatXd orig = ex.extract_matrices(st.N.cast<S>(), st.F.cast<S>(), eo).means.template cast<double>();
    for (const bool binary : {true, false}) {
      ivkit::write_kaldi_ivector_extractor(dir / "final.ie", ex, ubm_w, binary);
      const auto data = ivkit::read_kaldi_ivector_extractor_data<S>(dir / "final.ie");
      CHECK(data.weights == ubm_w);
      CHECK(data.M == ex.T());
      const MatXd ubm = ex.ubm_means().template cast<double>();
      const MatXd kaldi = kaldi_ivectors(data, ubm, st);
      const auto back = ivkit::read_kaldi_ivector_extractor<S>(dir / "final.ie", ex.ubm_means());
      CHECK(back.full_covariance() == full);
      const MatXd got = back.extract_matrices(st.N.cast<S>(), st.F.cast<S>(), eo).means.template cast<double>();
      CHECK(ivector_err(got, kaldi) < (std::is_same_v<S, float> ? 1e-4 : 1e-10));
      CHECK(ivector_err(got, orig) < (std::is_same_v<S, float> ? 1e-4 : 1e-10));
      // Statistics centred on other means (e.g. another UBM): the same i-vectors when the extractor
      // is built with those means, as m = 0 makes Kaldi's linear term independent of the centring.
      MatXd shifted_ubm = ubm;
      shifted_ubm.array() += 0.75;
      RandomStats st2 = st;
      for (Index u = 0; u < U; ++u)
        for (Index c = 0; c < C; ++c)
          for (Index d = 0; d < D; ++d) st2.F(u, c * D + d) -= st.N(u, c) * 0.75;
      const auto moved = ivkit::read_kaldi_ivector_extractor<S>(dir / "final.ie", Matrix<S>(shifted_ubm.cast<S>()));
      const MatXd got2 = moved.extract_matrices(st2.N.cast<S>(), st2.F.cast<S>(), eo).means.template cast<double>();
      CHECK(ivector_err(got2, kaldi) < (std::is_same_v<S, float> ? 2e-4 : 1e-10));
    }
  }
}

TEST_CASE("IvectorExtractor: Kaldi's weight projection w_, other conventions, and invalid files") {
  TempDir dir("ie_misc");
  const auto ex = random_extractor<double>(2, 2, 3, true, 5);
  const Vector<double> uw = (Vector<double>(2) << 0.4, 0.6).finished();
  // A file with i-vector-dependent weights (w_ is C x R): read and kept; written back unchanged.
  ivkit::write_kaldi_ivector_extractor(dir / "a.ie", ex, uw);
  auto data = ivkit::read_kaldi_ivector_extractor_data<double>(dir / "a.ie");
  data.weight_projection = Matrix<double>::Constant(2, 3, 0.5);
  data.weights.resize(0);
  ivkit::write_kaldi_ivector_extractor(dir / "w.ie", data, false);
  const auto wdata = ivkit::read_kaldi_ivector_extractor_data<double>(dir / "w.ie");
  CHECK(wdata.ivector_dependent_weights());
  CHECK(wdata.weight_projection == data.weight_projection);
  CHECK(wdata.weights.size() == 0);
  // Refused by default (its i-vectors would differ from Kaldi's); on request ivkit extracts with the
  // mean and prior terms only: the same i-vectors as without w_.
  CHECK_THROWS_AS(wdata.to_extractor(ex.ubm_means()), ivkit::InvalidArgument);
  CHECK_THROWS_AS(ivkit::read_kaldi_ivector_extractor<double>(dir / "w.ie", ex.ubm_means()), ivkit::InvalidArgument);
  ivkit::KaldiExtractorReadOptions ignore;
  ignore.ignore_ivector_dependent_weights = true;
  const RandomStats st = random_stats(3, 2, 2, 8);
  const auto with_w = wdata.to_extractor(ex.ubm_means(), ignore);
  CHECK(max_rel(with_w.extract_matrices(st.N, st.F).means, ex.extract_matrices(st.N, st.F).means) < 1e-10);

  // A zero-mean model cannot be written as it is; to_kaldi_offset adds Kaldi's offset dimension.
  const auto zm = ex.to_zero_mean();
  CHECK_THROWS_WITH_AS(ivkit::write_kaldi_ivector_extractor(dir / "z.ie", zm, uw),
                       "write_kaldi_ivector_extractor: Kaldi's extractor has no mean term: the model must be in the KaldiOffset "
                       "convention (m = 0, prior mean (p, 0, ..., 0)); convert it with to_kaldi_offset()",
                       ivkit::InvalidArgument);
  CHECK(dir.count() == 2);  // nothing created
  CHECK_THROWS_WITH_AS(ivkit::write_kaldi_ivector_extractor(dir / "z.ie", ex, Vector<double>(Vector<double>::Ones(3))),
                       "write_kaldi_ivector_extractor: 3 UBM weights for 2 components", ivkit::DimensionMismatch);
  const double p = 1e5;
  const auto k = ivkit::to_kaldi_offset(zm, p);
  CHECK(k.ivector_dim() == 4);
  CHECK(k.convention() == ivkit::PriorConvention::KaldiOffset);
  ivkit::write_kaldi_ivector_extractor(dir / "k.ie", k, uw);
  const auto kb = ivkit::read_kaldi_ivector_extractor(dir / "k.ie", k.ubm_means());
  // Its last R coordinates approach the zero-mean model's i-vectors as p grows (here |error| ~ 1e-8).
  const Matrix<double> a = kb.extract_matrices(st.N, st.F).means, b = zm.extract_matrices(st.N, st.F).means;
  CHECK(max_rel(a.rightCols(3), b) < 1e-6);
  CHECK(std::abs(a(0, 0) - p) < 0.1);
  CHECK(ivkit::to_kaldi_offset(ex, p).T() == ex.T());  // already Kaldi's convention: unchanged

  // Invalid files.
  const std::string f = dir / "bad.ie";
  write_bytes(f, "<IvectorExtractor> <w> [ ] <w_vec> [ ] <M> 0 <SigmaInv> <IvectorOffset> 100 </IvectorExtractor> ");
  CHECK(format_error([&] { ivkit::read_kaldi_ivector_extractor_data<double>(f); }) ==
        "read_kaldi_ivector_extractor: '" + f + "' (offset 43): the extractor has 0 components; it needs at least one");
  // A corrupt component count is caught before M is allocated (at least 2 bytes per text value).
  const std::string big = "<IvectorExtractor> <w> [ ] <w_vec> [ ] <M> 2000000000 [ 1 2 ]";
  write_bytes(f, big + " <SigmaInv> ");
  CHECK(format_error([&] { ivkit::read_kaldi_ivector_extractor_data<double>(f); }) ==
        "read_kaldi_ivector_extractor: '" + f + "' (offset " + std::to_string(big.size()) +
            "): truncated: the 1999999999 further matrices of <M> needs 7999999996 bytes but only 12 remain");
  write_bytes(f, "<IvectorExtractor> <w> [ ] <w_vec> [ ] <M> 2 [ 1 2 ] [ 1 2 \n 3 4 ] <SigmaInv> ");
  CHECK(format_error([&] { ivkit::read_kaldi_ivector_extractor_data<double>(f); }) ==
        "read_kaldi_ivector_extractor: '" + f + "' (offset 53): M of component 1 is 2 x 2 but M of component 0 is 1 x 2");
  write_bytes(f, "<IvectorExtractor> <w> [ ] <w_vec> [ ] <M> 1 [ 1 2 ] <SigmaInv> [\n-1 ]\n<IvectorOffset> 100 </IvectorExtractor> ");
  CHECK(format_error([&] { ivkit::read_kaldi_ivector_extractor_data<double>(f); }) ==
        "read_kaldi_ivector_extractor: '" + f + "' (offset 64): SigmaInv of component 0 is not positive definite");
  write_bytes(f, "<IvectorExtractor> <w> [ ] <w_vec> [ 1 1 ] <M> 1 [ 1 2 ] <SigmaInv> [\n1 ]\n<IvectorOffset> 100 </IvectorExtractor> ");
  CHECK(format_error([&] { ivkit::read_kaldi_ivector_extractor_data<double>(f); }) ==
        "read_kaldi_ivector_extractor: '" + f + "' (offset 35): <w_vec> has 2 entries but the extractor has C = 1");
  CHECK_THROWS_WITH_AS(ivkit::read_kaldi_ivector_extractor(dir / "a.ie", Matrix<double>(Matrix<double>::Zero(3, 2))),
                       ("read_kaldi_ivector_extractor: '" + (dir / "a.ie") + "' has C = 2, D = 2 but the UBM has C = 3, D = 2").c_str(),
                       ivkit::DimensionMismatch);
  ivkit::write_kaldi_plda(dir / "plda", tiny_plda<double>());
  CHECK(format_error([&] { ivkit::read_kaldi_ivector_extractor_data<double>(dir / "plda"); }) ==
        "read_kaldi_ivector_extractor: '" + (dir / "plda") +
            "' (offset 2): expected an i-vector extractor (token <IvectorExtractor>), found '<Plda>' (a PLDA model: read it with read_kaldi_plda)");
}

// ============================================================================================
// Transforms

TEST_CASE_TEMPLATE("transforms: [A | b] and [A] files, layouts chosen as ivector-transform does", S, float, double) {
  Matrix<double> A(2, 3);
  A << 1, 0.5, -2, 0.25, 3, 1;
  const Vector<double> b = (Vector<double>(2) << -1, 0.125).finished();
  const ivkit::AffineTransform<S> affine(A, b), linear(A);
  TempDir dir("transforms");
  ivkit::write_kaldi_transform(dir / "lda.mat", affine);
  Matrix<double> Ab(2, 4);
  Ab << A, b;
  CHECK(slurp(dir / "lda.mat") == kMarker + bmat<S>(Ab));  // a plain Kaldi matrix, FM for float
  ivkit::write_kaldi_transform(dir / "lin.mat", linear, false, ivkit::KaldiTransformLayout::Linear);
  CHECK(slurp(dir / "lin.mat") == " [\n  1 0.5 -2 \n  0.25 3 1 ]\n");
  CHECK(ivkit::read_kaldi_matrix<double>(dir / "lin.mat") == A);

  const auto ra = ivkit::read_kaldi_transform<S>(dir / "lda.mat");
  CHECK(ra.linear().template cast<double>() == A);
  CHECK(ra.offset().template cast<double>() == b);
  const auto rl = ivkit::read_kaldi_transform<S>(dir / "lin.mat", ivkit::KaldiTransformLayout::Linear);
  CHECK(rl.linear().template cast<double>() == A);
  CHECK(rl.offset().isZero(0));
  // By the input dimension: 3 columns for dimension 3 is [A]; 4 columns is [A | b].
  CHECK(ivkit::read_kaldi_transform<S>(dir / "lin.mat", 3).offset().isZero(0));
  CHECK(ivkit::read_kaldi_transform<S>(dir / "lda.mat", 3).offset().template cast<double>() == b);
  CHECK_THROWS_WITH_AS(ivkit::read_kaldi_transform<S>(dir / "lda.mat", 5),
                       ("read_kaldi_transform: '" + (dir / "lda.mat") +
                        "' (offset 2): a 2 x 4 transform matrix applies to vectors of dimension 4 ([A]) or 3 ([A | b]), not 5")
                           .c_str(),
                       ivkit::DimensionMismatch);
  // The linear layout cannot hold an offset.
  CHECK_THROWS_WITH_AS(ivkit::write_kaldi_transform(dir / "x.mat", affine, true, ivkit::KaldiTransformLayout::Linear),
                       "write_kaldi_transform: the transform has a non-zero offset, which the linear layout [A] cannot hold",
                       ivkit::InvalidArgument);
  write_bytes(dir / "one.mat", " [\n  1 \n  2 ]\n");
  CHECK(format_error([&] { ivkit::read_kaldi_transform<S>(dir / "one.mat"); }) ==
        "read_kaldi_transform: '" + (dir / "one.mat") + "' (offset 1): a 2 x 1 matrix is not an affine transform [A | b]");
  // Applying the read transform is y = A x + b.
  Matrix<S> x(1, 3);
  x << 1, 2, 3;
  const VecD y = A * x.row(0).transpose().template cast<double>() + b;
  CHECK(ra.apply(x).row(0).transpose().template cast<double>().isApprox(y, tol<S>()));
  // Round trips of a random transform in both modes.
  ivkit::Random rng(3);
  Matrix<double> R(3, 4);
  for (Index i = 0; i < R.size(); ++i) R.data()[i] = rng.normal();
  const ivkit::AffineTransform<S> t(R, Vector<double>(Vector<double>::Constant(3, 0.3)));
  for (const bool binary : {true, false}) {
    ivkit::write_kaldi_transform(dir / "t.mat", t, binary);
    const auto back = ivkit::read_kaldi_transform<S>(dir / "t.mat");
    CHECK(back.linear() == t.linear());
    CHECK(back.offset() == t.offset());
  }
}

// ============================================================================================
// Truncation of every model file at every length

TEST_CASE("every truncated model file is a FormatError naming the file and an offset within it") {
  TempDir dir("truncation");
  const auto ex = random_extractor<double>(2, 2, 2, true, 3);
  const Vector<double> uw = (Vector<double>(2) << 0.5, 0.5).finished();
  using ivkit::KaldiInput;
  for (const bool binary : {true, false}) {
    // In text mode the final newline (after the closing token and its space) is not needed.
    const std::size_t tail = binary ? 0 : 1;
    std::string bytes;
    ivkit::write_kaldi_diag_gmm(dir / "m", tiny_diag_gmm<float>(), binary);
    bytes = slurp(dir / "m");
    check_truncations(
        dir, "read_kaldi_diag_gmm", bytes, bytes.size() - tail, [](KaldiInput& in) { ivkit::read_kaldi_diag_gmm<float>(in); },
        [](const std::string& p) { ivkit::read_kaldi_diag_gmm<float>(p); }, 1);
    ivkit::write_kaldi_full_gmm(dir / "m", tiny_full_gmm<double>(), binary);
    bytes = slurp(dir / "m");
    check_truncations(
        dir, "read_kaldi_full_gmm", bytes, bytes.size() - tail, [](KaldiInput& in) { ivkit::read_kaldi_full_gmm<double>(in); },
        [](const std::string& p) { ivkit::read_kaldi_full_gmm<double>(p); }, 11);
    ivkit::write_kaldi_plda(dir / "m", tiny_plda<double>(), binary);
    bytes = slurp(dir / "m");
    check_truncations(
        dir, "read_kaldi_plda", bytes, bytes.size(), [](KaldiInput& in) { ivkit::read_kaldi_plda<float>(in); },
        [](const std::string& p) { ivkit::read_kaldi_plda<float>(p); }, 11);
    ivkit::write_kaldi_ivector_extractor(dir / "m", ex, uw, binary);
    bytes = slurp(dir / "m");
    check_truncations(
        dir, "read_kaldi_ivector_extractor", bytes, bytes.size(),
        [](KaldiInput& in) { ivkit::read_kaldi_ivector_extractor_data<double>(in); },
        [&](const std::string& p) { ivkit::read_kaldi_ivector_extractor(p, ex.ubm_means()); }, 11);
    ivkit::write_kaldi_transform(dir / "m", ivkit::AffineTransform<double>(Matrix<double>(Matrix<double>::Ones(2, 2))), binary);
    bytes = slurp(dir / "m");
    check_truncations(
        dir, "read_kaldi_transform", bytes, bytes.size() - tail, [](KaldiInput& in) { ivkit::read_kaldi_transform<double>(in); },
        [](const std::string& p) { ivkit::read_kaldi_transform<double>(p); }, 11);
  }
}
