// TransformPipeline: stage-by-stage fitting equals the fit functions chained by hand, collapse
// equals staged application, save/load round trips exactly (and across float/double), corrupt files
// and bad input give the documented errors.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>

#include "ivkit/backend/transform_pipeline.hpp"
#include "support/reference.hpp"
#include "transform_reference.hpp"

using tf_ref::Index;
using tf_ref::MatD;
using tf_ref::VecD;

namespace {

using ivkit_test::tol;

ivkit::LdaOptions lda_dim(Index dim) {
  ivkit::LdaOptions o;
  o.dim = dim;
  return o;
}

/// centre -> LDA (3) -> length norm (sqrt(D)) -> WCCN -> length norm
template <class S>
ivkit::TransformPipeline<S> full_pipeline() {
  ivkit::TransformPipeline<S> p;
  ivkit::LengthNormOptions scaled;
  scaled.scale_to_sqrt_dim = true;
  p.centre().lda(lda_dim(3)).length_norm(scaled).wccn().length_norm();
  return p;
}

}  // namespace

TEST_CASE_TEMPLATE("fit trains every stage on the previous stages' output, as the fit functions chained by hand", S, float, double) {
  const auto d = tf_ref::draw_classes(6, 5, 6, 10, 101);
  const auto t = tf_ref::draw_classes(6, 3, 4, 4, 102);
  auto p = full_pipeline<S>();
  CHECK_FALSE(p.fitted());
  p.fit(d.x, d.labels);
  CHECK(p.fitted());
  CHECK(p.size() == 5);
  CHECK(p.in_dim() == 6);
  CHECK(p.out_dim() == 3);

  // By hand, the same data path: stage 0 on the input, each later stage on the previous output.
  const auto c = ivkit::fit_centre<S>(d.x);
  const ivkit::Matrix<S> y0 = c.apply(d.x);
  const auto lda = ivkit::fit_lda(y0, d.labels, lda_dim(3));
  ivkit::LengthNormOptions scaled;
  scaled.scale_to_sqrt_dim = true;
  const ivkit::Matrix<S> y2 = ivkit::normalise_length(lda.apply(y0), scaled);
  const auto wccn = ivkit::fit_wccn(y2, d.labels);
  CHECK(p.stage(1).transform().linear() == lda.linear());
  CHECK(p.stage(3).transform().linear() == wccn.linear());
  const ivkit::Matrix<S> by_hand = ivkit::normalise_length(wccn.apply(ivkit::normalise_length(lda.apply(c.apply(t.x)), scaled)));
  CHECK(p.apply(t.x) == by_hand);
  CHECK(p.fit_transform(d.x, d.labels) == p.apply(d.x));
  CHECK(p.stage(1).info().num_classes == 5);
  CHECK(p.stage(2).in_dim() == -1);

  // Refitting on other data changes the stages; fit_stage / fit_from refit only some.
  auto q = full_pipeline<S>();
  q.fit_stage(0, t.x);  // the mean of another set
  CHECK(q.stage(0).fitted());
  CHECK_FALSE(q.stage(1).fitted());
  q.fit_from(1, d.x, d.labels);
  const auto lda_q = ivkit::fit_lda(ivkit::fit_centre<S>(t.x).apply(d.x), d.labels, lda_dim(3));
  CHECK(q.stage(1).transform().linear() == lda_q.linear());
  CHECK(q.stage(0).transform().offset() == ivkit::fit_centre<S>(t.x).offset());

  // float and double pipelines agree.
  auto pd = full_pipeline<double>();
  pd.fit(d.x, d.labels);
  CHECK(tf_ref::rel_diff(p.apply(t.x).template cast<double>(), pd.apply(t.x)) < tol<S>(2e-4, 1e-15));
}

TEST_CASE_TEMPLATE("collapse composes the affine stages into one matrix and offset", S, float, double) {
  const auto d = tf_ref::draw_classes(6, 5, 6, 10, 111);
  ivkit::TransformPipeline<S> p;
  ivkit::PcaOptions pca;
  pca.dim = 5;
  p.centre().pca(pca).lda(lda_dim(3)).length_norm().wccn();
  p.fit(d.x, d.labels);
  const ivkit::Matrix<S> staged = p.apply(d.x);
  const ivkit::Matrix<S> front = p.apply_stages(d.x, 0, 3);

  const auto a = p.collapse(0, 3);
  CHECK(a.in_dim() == 6);
  CHECK(a.out_dim() == 3);
  CHECK(tf_ref::rel_diff(a.apply(d.x).template cast<double>(), front.template cast<double>()) < tol<S>(1e-5, 1e-12));
  // A Kaldi affine matrix [A | b] (what ivector-compute-lda writes): applied by hand to the input.
  const MatD k = a.kaldi_matrix().template cast<double>();
  CHECK(k.cols() == 7);
  CHECK(tf_ref::rel_diff(tf_ref::affine(k.leftCols(6), k.col(6), d.x), front.template cast<double>()) < tol<S>(1e-5, 1e-12));
  // The composition is A_lda A_pca, the offset A_lda (A_pca b_c + b_pca) + b_lda, in double.
  const MatD a0 = p.stage(0).transform().linear().template cast<double>(), a1 = p.stage(1).transform().linear().template cast<double>(),
             a2 = p.stage(2).transform().linear().template cast<double>();
  const VecD b0 = p.stage(0).transform().offset().template cast<double>(), b1 = p.stage(1).transform().offset().template cast<double>(),
             b2 = p.stage(2).transform().offset().template cast<double>();
  CHECK(tf_ref::rel_diff(a.linear().template cast<double>(), a2 * a1 * a0) < tol<S>(1e-6, 1e-14));
  CHECK(tf_ref::rel_diff(a.offset().template cast<double>(), a2 * (a1 * b0 + b1) + b2) < tol<S>(1e-6, 1e-14));

  const auto c = p.collapsed();
  CHECK(c.size() == 3);
  CHECK(c.stage(0).kind() == ivkit::TransformKind::Affine);
  CHECK(c.stage(1).kind() == ivkit::TransformKind::LengthNorm);
  CHECK(c.stage(2).kind() == ivkit::TransformKind::Wccn);
  CHECK(tf_ref::rel_diff(c.apply(d.x).template cast<double>(), staged.template cast<double>()) < tol<S>(1e-4, 1e-12));

  CHECK_THROWS_WITH_AS(p.collapse(), "TransformPipeline::collapse: stage 3 (length_norm) is not affine; stages 0 to 4 do not collapse into one affine transform",
                       ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(p.collapse(2, 7), "TransformPipeline::collapse: stages [2, 7) of a pipeline of 5 stages", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(full_pipeline<S>().collapse(0, 2), "TransformPipeline::collapse: stage 0 (center) is not fitted", ivkit::InvalidArgument);
}

TEST_CASE_TEMPLATE("save and load round-trip exactly; float and double files load into either", S, float, double) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "ivkit_test_transform_pipeline";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "p.ivk").string();
  const auto d = tf_ref::draw_classes(6, 5, 6, 10, 121);
  auto p = full_pipeline<S>();
  ivkit::WhitenOptions zca;
  zca.mode = ivkit::WhitenMode::Zca;
  zca.covariance_floor = 1e-9;
  p.whiten(zca);
  p.fit(d.x, d.labels);
  p.affine(ivkit::AffineTransform<S>(MatD::Identity(2, 3) * 2.0, VecD::Ones(2)));
  p.save(path);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 1);

  const auto q = ivkit::TransformPipeline<S>::load(path);
  REQUIRE(q.size() == p.size());
  for (Index i = 0; i < p.size(); ++i) {
    CAPTURE(i);
    CHECK(q.stage(i).kind() == p.stage(i).kind());
    CHECK(q.stage(i).fitted() == p.stage(i).fitted());
    CHECK(q.stage(i).options().index() == p.stage(i).options().index());
    if (p.stage(i).is_affine()) {
      CHECK(q.stage(i).transform().linear() == p.stage(i).transform().linear());
      CHECK(q.stage(i).transform().offset() == p.stage(i).transform().offset());
      CHECK(q.stage(i).info().eigenvalues == p.stage(i).info().eigenvalues);
      CHECK(q.stage(i).info().rank == p.stage(i).info().rank);
      CHECK(q.stage(i).info().num_embeddings == p.stage(i).info().num_embeddings);
    }
  }
  CHECK(std::get<ivkit::LengthNormOptions>(q.stage(2).options()).scale_to_sqrt_dim);
  CHECK(std::get<ivkit::WhitenOptions>(q.stage(5).options()).mode == ivkit::WhitenMode::Zca);
  CHECK(std::get<ivkit::WhitenOptions>(q.stage(5).options()).covariance_floor == 1e-9);
  CHECK(std::get<ivkit::LdaOptions>(q.stage(1).options()).dim == 3);
  CHECK(q.apply(d.x) == p.apply(d.x));

  // The other scalar: the file converts as a cast of the pipeline would.
  using Other = std::conditional_t<std::is_same_v<S, float>, double, float>;
  const auto o = ivkit::TransformPipeline<Other>::load(path);
  CHECK(o.stage(1).transform().linear() == p.stage(1).transform().linear().template cast<Other>());
  CHECK(tf_ref::rel_diff(o.apply(d.x).template cast<double>(), p.apply(d.x).template cast<double>()) < 1e-4);
  CHECK(o.apply(d.x) == p.template cast<Other>().apply(d.x));

  // An unfitted stage is saved with its options and can be fitted after loading.
  ivkit::TransformPipeline<S> u;
  ivkit::PcaOptions pca;
  pca.dim = 2;
  u.centre().pca(pca);
  u.fit_stage(0, d.x);
  u.save(path);
  auto v = ivkit::TransformPipeline<S>::load(path);
  CHECK(v.stage(0).fitted());
  CHECK_FALSE(v.stage(1).fitted());
  v.fit_from(1, d.x);
  u.fit_from(1, d.x);
  CHECK(v.apply(d.x) == u.apply(d.x));
  fs::remove_all(dir);
}

TEST_CASE("a corrupt or inconsistent pipeline file is a FormatError naming the file and the offset") {
  const auto d = tf_ref::draw_classes(4, 3, 4, 6, 131);
  ivkit::TransformPipeline<double> p;
  p.centre().lda().length_norm();
  p.fit(d.x, d.labels);
  ivkit::ModelWriter w(ivkit::TransformPipeline<double>::kFileKind, ivkit::TransformPipeline<double>::kFileVersion);
  p.write(w);
  const std::string bytes = w.bytes();
  using P = ivkit::TransformPipeline<double>;
  auto load = [](const std::string& b) { return P::read(ivkit::ModelReader(b, "mem", P::kFileKind, P::kFileVersion)); };
  CHECK(load(bytes).apply(d.x) == p.apply(d.x));
  for (std::size_t n = 0; n < bytes.size(); n += 7) {
    CAPTURE(n);
    CHECK_THROWS_AS(load(bytes.substr(0, n)), ivkit::FormatError);
  }
  // An unknown stage kind: "lda" -> "ldx" in the record stage1.kind.
  std::string bad = bytes;
  const std::string lda_text = std::string("\x03\0\0\0\0\0\0\0lda", 11);
  const auto at = bad.find(lda_text);
  REQUIRE(at != std::string::npos);
  bad[at + 10] = 'x';
  const std::size_t kind_at = ivkit::ModelReader(bad, "mem", P::kFileKind, P::kFileVersion).offset_of("stage1.kind");
  CHECK_THROWS_WITH_AS(load(bad), ("ModelReader: 'mem' (offset " + std::to_string(kind_at) + ") record 'stage1.kind' names an unknown transform 'ldx'").c_str(),
                       ivkit::FormatError);

  // Stages whose dimensions do not chain (2 x 4, then 2 x 3).
  ivkit::ModelWriter w3(P::kFileKind, P::kFileVersion);
  w3.integer("stages", 2);
  for (int i = 0; i < 2; ++i) {
    const std::string s = "stage" + std::to_string(i) + ".";
    w3.text(s + "kind", "affine").integer(s + "fitted", 1).matrix(s + "linear", MatD::Ones(2, 4 - i)).matrix(s + "offset", VecD::Zero(2));
    w3.integer(s + "num_embeddings", 0).integer(s + "num_classes", 0).integer(s + "rank", 0).integer(s + "num_floored", 0).matrix(s + "eigenvalues", VecD());
  }
  const std::size_t lin_at = ivkit::ModelReader(w3.bytes(), "mem", P::kFileKind, P::kFileVersion).offset_of("stage1.linear");
  CHECK_THROWS_WITH_AS(load(w3.bytes()),
                       ("ModelReader: 'mem' (offset " + std::to_string(lin_at) + ") stage 1 (affine) has input dimension 3 but the stage before it gives 2").c_str(),
                       ivkit::FormatError);
  CHECK_THROWS_WITH_AS(P::load("/nonexistent/ivkit/p.ivk"), doctest::Contains("cannot open"), ivkit::IoError);
}

TEST_CASE("pipeline errors: not fitted, dimensions, labels, NaN, zero vectors") {
  const auto d = tf_ref::draw_classes(6, 5, 6, 10, 141);
  auto p = full_pipeline<double>();
  CHECK_THROWS_WITH_AS(p.apply(d.x), "TransformPipeline::apply: stage 0 (center) is not fitted", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(p.fit(d.x), "TransformPipeline::fit: stage 1 (lda) needs class labels", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(p.fit(d.x, std::vector<Index>{1, 2, 3}), doctest::Contains("TransformPipeline::fit: 3 labels for"), ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(p.fit_from(1, d.x, d.labels), "TransformPipeline::fit_from: stage 0 (center) is not fitted", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(p.fit_stage(5, d.x), "TransformPipeline::fit_stage: stage 5 of a pipeline of 5 stages", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::TransformPipeline<double>().fit(d.x), "TransformPipeline::fit: the pipeline has no stages", ivkit::InvalidArgument);
  MatD bad = d.x;
  bad(4, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(p.fit(bad, d.labels), "fit_centre: embedding 4 holds NaN or Inf", ivkit::NonFiniteInput);
  p.fit(d.x, d.labels);
  CHECK_THROWS_WITH_AS(p.apply(bad), "TransformPipeline::apply: embedding 4 holds NaN or Inf", ivkit::NonFiniteInput);
  CHECK_THROWS_WITH_AS(p.apply(d.x.leftCols(5)), ("TransformPipeline::apply: embeddings have dimension 5 (matrix " + std::to_string(d.x.rows()) +
                                                     " x 5) but the pipeline expects dimension 6").c_str(),
                       ivkit::DimensionMismatch);
  CHECK(p.apply(MatD(0, 6)).rows() == 0);

  // A stage of fixed dimension after a fitted one of another output dimension.
  CHECK_THROWS_WITH_AS(p.affine(ivkit::AffineTransform<double>(MatD::Ones(2, 4))),
                       "TransformPipeline::add: the new affine stage has input dimension 4 but the pipeline gives dimension 3", ivkit::DimensionMismatch);
  ivkit::TransformPipeline<double> f;
  f.affine(ivkit::AffineTransform<double>(MatD::Ones(2, 4))).lda();
  CHECK_THROWS_WITH_AS(f.fit(d.x, d.labels), ("TransformPipeline::fit: embeddings have dimension 6 (matrix " + std::to_string(d.x.rows()) +
                                                 " x 6) but the pipeline expects dimension 4").c_str(),
                       ivkit::DimensionMismatch);

  // The mean itself becomes a zero vector after centring.
  ivkit::TransformPipeline<double> z;
  z.centre().length_norm();
  z.fit(d.x);
  MatD at_mean = d.x.topRows(2);
  at_mean.row(1) = -z.stage(0).transform().offset().transpose();
  CHECK_THROWS_WITH_AS(z.apply(at_mean), "TransformPipeline::apply: embedding 1 has zero length at stage 1 (length_norm)", ivkit::InvalidArgument);
  CHECK_THROWS_WITH_AS(ivkit::TransformStage<double>::length_norm().transform(), "TransformStage::transform: a length_norm stage has no affine transform",
                       ivkit::InvalidArgument);
}
