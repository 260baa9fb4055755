/// @file
/// A chain of embedding transforms (e.g. centre -> LDA -> length normalisation -> WCCN) fitted stage
/// by stage, each on the output of the stages before it, applied to a whole matrix of embeddings
/// (one per row) with one matrix product per linear stage, saved to and loaded from one ivkit model
/// file. Runs of linear stages collapse into one AffineTransform (e.g. to export centring + LDA as
/// one Kaldi affine matrix).
///
///   ivkit::TransformPipeline<float> p;
///   p.centre().lda(lda_opts).length_norm();
///   p.fit(train, labels);                  // each stage fitted on the previous stages' output
///   ivkit::Matrix<float> y = p.apply(test);
///   p.save("backend.ivk");
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ivkit/backend/affine_transform.hpp"
#include "ivkit/backend/transforms.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

enum class TransformKind {
  Centre,
  Whiten,
  Pca,
  Lda,
  Wccn,
  LengthNorm,
  Affine,
  Center [[deprecated("British spelling, as the rest of ivkit: use Centre")]] = Centre,
};

/// "center" (the model files keep the spelling they were written with), "whiten", "pca", "lda", "wccn", "length_norm", "affine" (also the names in model files).
inline const char* transform_kind_name(TransformKind k) {
  switch (k) {
    case TransformKind::Centre: return "center";
    case TransformKind::Whiten: return "whiten";
    case TransformKind::Pca: return "pca";
    case TransformKind::Lda: return "lda";
    case TransformKind::Wccn: return "wccn";
    case TransformKind::LengthNorm: return "length_norm";
    case TransformKind::Affine: return "affine";
  }
  return "unknown";
}

/// One stage of a TransformPipeline: its kind and options and, once fitted, its AffineTransform
/// (every kind but length normalisation, which needs no fitting and accepts any dimension).
/// A stage made from a given AffineTransform (kind Affine) is fitted from the start and never refitted.
template <class ScalarT = double>
class TransformStage {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;
  using Options = std::variant<std::monostate, WhitenOptions, PcaOptions, LdaOptions, WccnOptions, LengthNormOptions>;

  static TransformStage centre() { return TransformStage(TransformKind::Centre, std::monostate{}); }
  [[deprecated("British spelling, as the rest of ivkit: use centre()")]] static TransformStage center() { return centre(); }
  static TransformStage whiten(const WhitenOptions& o = {}) { return TransformStage(TransformKind::Whiten, o); }
  static TransformStage pca(const PcaOptions& o = {}) { return TransformStage(TransformKind::Pca, o); }
  static TransformStage lda(const LdaOptions& o = {}) { return TransformStage(TransformKind::Lda, o); }
  static TransformStage wccn(const WccnOptions& o = {}) { return TransformStage(TransformKind::Wccn, o); }
  static TransformStage length_norm(const LengthNormOptions& o = {}) {
    TransformStage s(TransformKind::LengthNorm, o);
    s.fitted_ = true;
    return s;
  }
  /// A fixed affine stage (e.g. a Kaldi LDA matrix). @throws InvalidArgument when `t` is empty
  static TransformStage affine(AffineTransform<Scalar> t) {
    if (t.empty()) throw InvalidArgument("TransformStage::affine: the transform is empty");
    TransformStage s(TransformKind::Affine, std::monostate{});
    s.transform_ = std::move(t);
    s.fitted_ = true;
    return s;
  }

  TransformKind kind() const { return kind_; }
  const char* name() const { return transform_kind_name(kind_); }
  bool fitted() const { return fitted_; }
  /// LDA and WCCN need class labels.
  bool supervised() const { return kind_ == TransformKind::Lda || kind_ == TransformKind::Wccn; }
  /// Every kind but length normalisation is affine.
  bool is_affine() const { return kind_ != TransformKind::LengthNorm; }
  /// Fitted by fit(): not an Affine stage.
  bool trainable() const { return kind_ != TransformKind::Affine && kind_ != TransformKind::LengthNorm; }
  /// Input and output dimensions; -1 before fitting and for length normalisation (any dimension).
  Index in_dim() const { return is_affine() && fitted_ ? transform_.in_dim() : -1; }
  Index out_dim() const { return is_affine() && fitted_ ? transform_.out_dim() : -1; }
  /// The fitted affine map. @throws InvalidArgument (length normalisation, or not fitted)
  const AffineTransform<Scalar>& transform() const {
    if (!is_affine()) throw InvalidArgument(detail::message("TransformStage::transform: a ", name(), " stage has no affine transform"));
    if (!fitted_) throw InvalidArgument(detail::message("TransformStage::transform: the ", name(), " stage is not fitted"));
    return transform_;
  }
  const TransformFitInfo& info() const { return info_; }
  /// The stage's options (std::monostate for center and affine).
  const Options& options() const { return options_; }

  /// Fits the stage on `x` (one embedding per row; `labels` one per row for LDA and WCCN, ignored
  /// otherwise). Nothing to do for length normalisation and Affine stages.
  /// @throws as fit_center / fit_whiten / fit_pca / fit_lda / fit_wccn; InvalidArgument when a
  /// supervised stage gets no labels
  template <class Derived>
  void fit(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>* labels = nullptr) {
    if (!trainable()) return;
    if (supervised() && !labels)
      throw InvalidArgument(detail::message("TransformStage::fit: the ", name(), " stage needs class labels"));
    TransformFitInfo fi;
    switch (kind_) {
      case TransformKind::Centre: transform_ = fit_centre<Scalar>(x, &fi); break;
      case TransformKind::Whiten: transform_ = fit_whiten<Scalar>(x, std::get<WhitenOptions>(options_), &fi); break;
      case TransformKind::Pca: transform_ = fit_pca<Scalar>(x, std::get<PcaOptions>(options_), &fi); break;
      case TransformKind::Lda: transform_ = fit_lda<Scalar>(x, *labels, std::get<LdaOptions>(options_), &fi); break;
      case TransformKind::Wccn: transform_ = fit_wccn<Scalar>(x, *labels, std::get<WccnOptions>(options_), &fi); break;
      default: break;
    }
    info_ = std::move(fi);
    fitted_ = true;
  }
  template <class Derived>
  void fit(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
    fit(x, &labels);
  }

  /// The stage applied to `x` (one embedding per row). @throws InvalidArgument (not fitted, a zero
  /// embedding before length normalisation), DimensionMismatch, NonFiniteInput
  template <class Derived>
  Matrix<Scalar> apply(const Eigen::MatrixBase<Derived>& x) const {
    constexpr const char* fn = "TransformStage::apply";
    if (!fitted_) throw InvalidArgument(detail::message(fn, ": the ", name(), " stage is not fitted"));
    if (is_affine()) transform_.check_input(fn, x);
    detail::transform_check_finite<Scalar>(fn, x);
    Matrix<Scalar> y;
    apply_unchecked(fn, x, y, std::string());
    return y;
  }

  /// As apply, without the checks; `where` is appended to a length-normalisation error.
  template <class Derived>
  void apply_unchecked(const char* fn, const Eigen::MatrixBase<Derived>& x, Matrix<Scalar>& y, const std::string& where) const {
    if (is_affine()) {
      transform_.apply_unchecked(x, y);
    } else {
      y = x.template cast<Scalar>();
      detail::transform_normalise_length(fn, y, std::get<LengthNormOptions>(options_).scale_to_sqrt_dim, where);
    }
  }

  template <class Other>
  TransformStage<Other> cast() const {
    TransformStage<Other> s = TransformStage<Other>::restore(kind_, options_, fitted_, info_, transform_.template cast<Other>());
    return s;
  }

  /// Rebuilds a stage from its parts (model loading, cast). No validation.
  static TransformStage restore(TransformKind kind, Options options, bool fitted, TransformFitInfo info, AffineTransform<Scalar> t) {
    TransformStage s(kind, std::move(options));
    s.fitted_ = fitted;
    s.info_ = std::move(info);
    s.transform_ = std::move(t);
    return s;
  }

 private:
  TransformStage(TransformKind kind, Options options) : kind_(kind), options_(std::move(options)) {}

  TransformKind kind_;
  Options options_;
  bool fitted_ = false;
  AffineTransform<Scalar> transform_;
  TransformFitInfo info_;
};

/// A chain of transform stages; see the file comment.
/// @tparam ScalarT float or double: the scalar of the fitted transforms and of the outputs (the
/// statistics of every fit are accumulated in double)
template <class ScalarT = double>
class TransformPipeline {
  IVKIT_CHECK_SCALAR(ScalarT);

 public:
  using Scalar = ScalarT;
  using Stage = TransformStage<Scalar>;
  static constexpr const char* kFileKind = "TransformPipeline";
  static constexpr std::uint32_t kFileVersion = 1;

  /// Appends a stage. @throws DimensionMismatch when it is fitted and its input dimension differs
  /// from the output dimension of the fitted affine stage before it
  TransformPipeline& add(Stage stage) {
    const Index prev = stages_.empty() ? -1 : out_dim_before(size());
    if (prev >= 0 && stage.in_dim() >= 0 && stage.in_dim() != prev)
      throw DimensionMismatch(detail::message("TransformPipeline::add: the new ", stage.name(), " stage has input dimension ",
                                              stage.in_dim(), " but the pipeline gives dimension ", prev));
    stages_.push_back(std::move(stage));
    return *this;
  }
  TransformPipeline& centre() { return add(Stage::centre()); }
  [[deprecated("British spelling, as the rest of ivkit: use centre()")]] TransformPipeline& center() { return centre(); }
  TransformPipeline& whiten(const WhitenOptions& o = {}) { return add(Stage::whiten(o)); }
  TransformPipeline& pca(const PcaOptions& o = {}) { return add(Stage::pca(o)); }
  TransformPipeline& lda(const LdaOptions& o = {}) { return add(Stage::lda(o)); }
  TransformPipeline& wccn(const WccnOptions& o = {}) { return add(Stage::wccn(o)); }
  TransformPipeline& length_norm(const LengthNormOptions& o = {}) { return add(Stage::length_norm(o)); }
  TransformPipeline& affine(AffineTransform<Scalar> t) { return add(Stage::affine(std::move(t))); }

  Index size() const { return static_cast<Index>(stages_.size()); }
  bool empty() const { return stages_.empty(); }
  const Stage& stage(Index i) const {
    check_stage_index("TransformPipeline::stage", i);
    return stages_[static_cast<std::size_t>(i)];
  }
  const std::vector<Stage>& stages() const { return stages_; }
  bool fitted() const {
    for (const auto& s : stages_)
      if (!s.fitted()) return false;
    return true;
  }
  /// Input dimension (that of the first affine stage; -1 when unknown: not fitted, or only length
  /// normalisation).
  Index in_dim() const {
    for (const auto& s : stages_)
      if (s.is_affine()) return s.in_dim();
    return -1;
  }
  /// Output dimension (that of the last affine stage; -1 when unknown).
  Index out_dim() const { return out_dim_before(size()); }

  /// Fits every trainable stage in order, each on the output of the stages before it: stage 0 on
  /// `x`, stage 1 on stage 0's output, and so on. Affine stages are kept as they are. `labels` (one
  /// per row of x) are needed when there is an LDA or WCCN stage.
  /// @throws DimensionMismatch (labels count, or x against a fixed affine stage), InvalidArgument
  /// (missing labels), and whatever the fit of a stage throws
  template <class Derived>
  void fit(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
    fit_range("TransformPipeline::fit", 0, size(), x, &labels, nullptr);
  }
  template <class Derived>
  void fit(const Eigen::MatrixBase<Derived>& x) {
    fit_range("TransformPipeline::fit", 0, size(), x, nullptr, nullptr);
  }
  /// As fit, and returns the output of the last stage for `x` (e.g. to train PLDA next).
  template <class Derived>
  Matrix<Scalar> fit_transform(const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
    Matrix<Scalar> y;
    fit_range("TransformPipeline::fit_transform", 0, size(), x, &labels, &y);
    return y;
  }
  template <class Derived>
  Matrix<Scalar> fit_transform(const Eigen::MatrixBase<Derived>& x) {
    Matrix<Scalar> y;
    fit_range("TransformPipeline::fit_transform", 0, size(), x, nullptr, &y);
    return y;
  }
  /// Fits stages first..size()-1 on `x` (pipeline input) passed through the stages before `first`,
  /// which must be fitted: e.g. fit_stage(0, in_domain) for the mean, then fit_from(1, train, labels).
  template <class Derived>
  void fit_from(Index first, const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
    check_stage_index("TransformPipeline::fit_from", first);
    fit_range("TransformPipeline::fit_from", first, size(), x, &labels, nullptr);
  }
  template <class Derived>
  void fit_from(Index first, const Eigen::MatrixBase<Derived>& x) {
    check_stage_index("TransformPipeline::fit_from", first);
    fit_range("TransformPipeline::fit_from", first, size(), x, nullptr, nullptr);
  }
  /// Fits stage i alone on `x` (pipeline input) passed through stages 0..i-1, which must be fitted.
  template <class Derived>
  void fit_stage(Index i, const Eigen::MatrixBase<Derived>& x, const std::vector<Index>& labels) {
    check_stage_index("TransformPipeline::fit_stage", i);
    fit_range("TransformPipeline::fit_stage", i, i + 1, x, &labels, nullptr);
  }
  template <class Derived>
  void fit_stage(Index i, const Eigen::MatrixBase<Derived>& x) {
    check_stage_index("TransformPipeline::fit_stage", i);
    fit_range("TransformPipeline::fit_stage", i, i + 1, x, nullptr, nullptr);
  }

  /// Every stage applied to `x` (N x in_dim, one embedding per row, any scalar and storage order):
  /// one matrix product per affine stage (a translation is only added), row scalings for length
  /// normalisation. @throws InvalidArgument (empty pipeline, a stage not fitted, a zero vector
  /// before length normalisation), DimensionMismatch, NonFiniteInput (names the row)
  template <class Derived>
  Matrix<Scalar> apply(const Eigen::MatrixBase<Derived>& x) const {
    return apply_stages(x, 0, size());
  }
  /// Stages [begin, end) applied to `x`, which must be the input of stage `begin`.
  template <class Derived>
  Matrix<Scalar> apply_stages(const Eigen::MatrixBase<Derived>& x, Index begin, Index end) const {
    return apply_impl("TransformPipeline::apply", x, begin, end);
  }

  /// The affine stages [begin, end) composed into one y = A x + b (in double, then converted).
  /// @throws InvalidArgument (empty range, a stage not fitted, a length normalisation inside)
  AffineTransform<Scalar> collapse(Index begin, Index end) const {
    constexpr const char* fn = "TransformPipeline::collapse";
    check_range(fn, begin, end);
    if (begin == end) throw InvalidArgument(detail::message(fn, ": no stages to collapse"));
    AffineTransform<double> t;
    for (Index i = begin; i < end; ++i) {
      const Stage& s = stages_[static_cast<std::size_t>(i)];
      if (!s.is_affine())
        throw InvalidArgument(detail::message(fn, ": stage ", i, " (", s.name(), ") is not affine; stages ", begin, " to ", end - 1,
                                              " do not collapse into one affine transform"));
      if (!s.fitted()) throw InvalidArgument(detail::message(fn, ": stage ", i, " (", s.name(), ") is not fitted"));
      const AffineTransform<double> si = s.transform().template cast<double>();
      t = i == begin ? si : t.then(si);
    }
    return t.template cast<Scalar>();
  }
  AffineTransform<Scalar> collapse() const { return collapse(0, size()); }

  /// The same map with every run of two or more consecutive affine stages replaced by one Affine stage.
  /// @throws InvalidArgument when a stage is not fitted
  TransformPipeline collapsed() const {
    check_ready("TransformPipeline::collapsed", 0, size(), -1, -1);
    TransformPipeline out;
    for (Index i = 0; i < size();) {
      Index j = i;
      while (j < size() && stages_[static_cast<std::size_t>(j)].is_affine()) ++j;
      if (j - i >= 2) {
        out.stages_.push_back(Stage::affine(collapse(i, j)));
        i = j;
      } else {
        out.stages_.push_back(stages_[static_cast<std::size_t>(i)]);
        ++i;
      }
    }
    return out;
  }

  template <class Other>
  TransformPipeline<Other> cast() const {
    TransformPipeline<Other> out;
    for (const auto& s : stages_) out.add(s.template cast<Other>());
    return out;
  }

  // ---- Files ------------------------------------------------------------------------------------

  /// Writes the pipeline (options, fitted transforms in the pipeline's scalar, fit information) as
  /// records named `prefix` + "stages", `prefix` + "stage<i>.<field>" (to embed it in another model).
  void write(ModelWriter& w, const std::string& prefix = "") const {
    w.integer(prefix + "stages", size());
    for (Index i = 0; i < size(); ++i) {
      const Stage& s = stages_[static_cast<std::size_t>(i)];
      const std::string p = detail::message(prefix, "stage", i, ".");
      w.text(p + "kind", s.name()).integer(p + "fitted", s.fitted() ? 1 : 0);
      if (const auto* o = std::get_if<WhitenOptions>(&s.options())) {
        w.text(p + "mode", o->mode == WhitenMode::Zca ? "zca" : "pca").integer(p + "dim", o->dim).real(p + "covariance_floor", o->covariance_floor);
      } else if (const auto* o = std::get_if<PcaOptions>(&s.options())) {
        w.integer(p + "dim", o->dim);
      } else if (const auto* o = std::get_if<LdaOptions>(&s.options())) {
        w.integer(p + "dim", o->dim).real(p + "total_covariance_factor", o->total_covariance_factor).real(p + "covariance_floor", o->covariance_floor);
      } else if (const auto* o = std::get_if<WccnOptions>(&s.options())) {
        w.text(p + "weighting", o->weighting == WccnWeighting::Pooled ? "pooled" : "per_class").real(p + "covariance_floor", o->covariance_floor);
      } else if (const auto* o = std::get_if<LengthNormOptions>(&s.options())) {
        w.integer(p + "scale_to_sqrt_dim", o->scale_to_sqrt_dim ? 1 : 0);
      }
      if (s.is_affine() && s.fitted()) {
        if (s.kind() != TransformKind::Centre) w.matrix(p + "linear", s.transform().linear());
        w.matrix(p + "offset", s.transform().offset());
        const TransformFitInfo& fi = s.info();
        w.integer(p + "num_embeddings", fi.num_embeddings).integer(p + "num_classes", fi.num_classes);
        w.integer(p + "rank", fi.rank).integer(p + "num_floored", fi.num_floored).matrix(p + "eigenvalues", fi.eigenvalues);
      }
    }
  }

  /// Reads a pipeline written by write() (converting float files to double and back).
  /// @throws FormatError naming the file, the offset and the problem
  static TransformPipeline read(const ModelReader& r, const std::string& prefix = "") {
    TransformPipeline out;
    const std::int64_t n = r.integer(prefix + "stages");
    if (n < 0 || n > 100000) r.fail(r.offset_of(prefix + "stages"), detail::message("holds an implausible stage count ", n));
    for (std::int64_t i = 0; i < n; ++i) out.stages_.push_back(read_stage(r, detail::message(prefix, "stage", i, ".")));
    // Dimensions must chain.
    Index prev = -1;
    for (Index i = 0; i < out.size(); ++i) {
      const Stage& s = out.stages_[static_cast<std::size_t>(i)];
      if (s.in_dim() >= 0) {
        if (prev >= 0 && s.in_dim() != prev) {
          const std::string rec = detail::message(prefix, "stage", i, s.kind() == TransformKind::Centre ? ".offset" : ".linear");
          r.fail(r.offset_of(rec), detail::message("stage ", i, " (", s.name(), ") has input dimension ", s.in_dim(),
                                                   " but the stage before it gives ", prev));
        }
        prev = s.out_dim();
      }
    }
    return out;
  }

  /// Saves atomically (ModelWriter). @throws IoError
  void save(const std::string& path) const {
    ModelWriter w(kFileKind, kFileVersion);
    write(w);
    w.save(path);
  }
  /// @throws IoError, FormatError (naming the file and the offset)
  static TransformPipeline load(const std::string& path) { return read(ModelReader(path, kFileKind, kFileVersion)); }

 private:
  template <class Derived>
  Matrix<Scalar> apply_impl(const char* fn, const Eigen::MatrixBase<Derived>& x, Index begin, Index end) const {
    check_range(fn, begin, end);
    if (begin == end) throw InvalidArgument(detail::message(fn, ": no stages to apply"));
    check_ready(fn, begin, end, x.rows(), x.cols());
    detail::transform_check_finite<Scalar>(fn, x);
    Matrix<Scalar> y, tmp;
    stage_unchecked(fn, begin, x, y);
    for (Index i = begin + 1; i < end; ++i) {
      stage_unchecked(fn, i, y, tmp);
      y.swap(tmp);
    }
    return y;
  }

  template <class Derived>
  void stage_unchecked(const char* fn, Index i, const Eigen::MatrixBase<Derived>& x, Matrix<Scalar>& y) const {
    const Stage& s = stages_[static_cast<std::size_t>(i)];
    s.apply_unchecked(fn, x, y, s.is_affine() ? std::string() : detail::message(" at stage ", i, " (", s.name(), ")"));
  }

  void check_stage_index(const char* fn, Index i) const {
    if (i < 0 || i >= size()) throw InvalidArgument(detail::message(fn, ": stage ", i, " of a pipeline of ", size(), " stages"));
  }
  void check_range(const char* fn, Index begin, Index end) const {
    if (begin < 0 || end < begin || end > size())
      throw InvalidArgument(detail::message(fn, ": stages [", begin, ", ", end, ") of a pipeline of ", size(), " stages"));
  }

  /// Output dimension of the last fitted affine stage before `end` (-1 if none).
  Index out_dim_before(Index end) const {
    for (Index i = end - 1; i >= 0; --i) {
      const Stage& s = stages_[static_cast<std::size_t>(i)];
      if (s.is_affine()) return s.out_dim();
    }
    return -1;
  }

  /// Stages [begin, end) are fitted and their dimensions chain from an input of dimension `dim`
  /// (unchecked when dim < 0).
  void check_ready(const char* fn, Index begin, Index end, Index rows, Index dim) const {
    for (Index i = begin; i < end; ++i) {
      const Stage& s = stages_[static_cast<std::size_t>(i)];
      if (!s.fitted()) throw InvalidArgument(detail::message(fn, ": stage ", i, " (", s.name(), ") is not fitted"));
      if (s.in_dim() < 0) continue;
      if (dim >= 0 && s.in_dim() != dim) {
        if (i == 0)
          throw DimensionMismatch(detail::message(fn, ": embeddings have dimension ", dim, " (matrix ", rows, " x ", dim,
                                                  ") but the pipeline expects dimension ", s.in_dim()));
        throw DimensionMismatch(detail::message(fn, ": stage ", i, " (", s.name(), ") expects dimension ", s.in_dim(), " but receives ",
                                                dim, i == begin ? " (the input)" : ""));
      }
      dim = s.out_dim();
    }
  }

  template <class Derived>
  void fit_range(const char* fn, Index first, Index end, const Eigen::MatrixBase<Derived>& x, const std::vector<Index>* labels,
                 Matrix<Scalar>* output) {
    if (empty()) throw InvalidArgument(detail::message(fn, ": the pipeline has no stages"));
    if (labels && static_cast<Index>(labels->size()) != x.rows())
      throw DimensionMismatch(detail::message(fn, ": ", labels->size(), " labels for ", x.rows(), " embeddings"));
    for (Index i = first; i < end; ++i) {
      const Stage& s = stages_[static_cast<std::size_t>(i)];
      if (s.supervised() && !labels) throw InvalidArgument(detail::message(fn, ": stage ", i, " (", s.name(), ") needs class labels"));
    }
    // The stages before `first` must be ready; those from `first` on are checked as they are reached.
    Matrix<Scalar> cur, tmp;
    bool have_cur = false;
    if (first > 0) {
      cur = apply_impl(fn, x, 0, first);
      have_cur = true;
    } else {
      check_fixed_stage(fn, 0, x.rows(), x.cols());
    }
    const bool need_output = output != nullptr;
    for (Index i = first; i < end; ++i) {
      Stage& s = stages_[static_cast<std::size_t>(i)];
      if (have_cur) {
        check_fixed_stage(fn, i, cur.rows(), cur.cols());
        s.fit(cur, labels);
      } else {
        s.fit(x, labels);
      }
      if (i + 1 == end && !need_output) break;
      if (have_cur) {
        stage_unchecked(fn, i, cur, tmp);
        cur.swap(tmp);
      } else {
        detail::transform_check_finite<Scalar>(fn, x);
        stage_unchecked(fn, i, x, cur);
        have_cur = true;
      }
    }
    if (need_output) *output = std::move(cur);
  }

  /// A fixed (Affine) stage must receive its input dimension.
  void check_fixed_stage(const char* fn, Index i, Index rows, Index dim) const {
    const Stage& s = stages_[static_cast<std::size_t>(i)];
    if (s.trainable() || s.in_dim() < 0 || s.in_dim() == dim) return;
    if (i == 0)
      throw DimensionMismatch(detail::message(fn, ": embeddings have dimension ", dim, " (matrix ", rows, " x ", dim,
                                              ") but the pipeline expects dimension ", s.in_dim()));
    throw DimensionMismatch(detail::message(fn, ": stage ", i, " (", s.name(), ") expects dimension ", s.in_dim(), " but receives ", dim));
  }

  static Stage read_stage(const ModelReader& r, const std::string& p) {
    const std::string kind = r.text(p + "kind");
    const bool fitted = r.integer(p + "fitted") != 0;
    auto bad = [&](const std::string& rec, const std::string& what) { r.fail(r.offset_of(p + rec), detail::message("record '", p, rec, "' ", what)); };
    auto check = [&](const std::string& rec, const std::string& error) {
      if (!error.empty()) bad(rec, detail::message("is invalid (", error, ")"));
    };
    TransformKind k = TransformKind::Affine;
    typename Stage::Options options;
    if (kind == "center" || kind == "centre") {
      k = TransformKind::Centre;
    } else if (kind == "whiten") {
      k = TransformKind::Whiten;
      WhitenOptions o;
      const std::string mode = r.text(p + "mode");
      if (mode != "pca" && mode != "zca") bad("mode", detail::message("is '", mode, "' (pca or zca expected)"));
      o.mode = mode == "zca" ? WhitenMode::Zca : WhitenMode::Pca;
      o.dim = r.integer(p + "dim");
      o.covariance_floor = r.real(p + "covariance_floor");
      check("dim", detail::transform_check_dim_option("fit_whiten", o.dim));
      check("covariance_floor", detail::transform_check_floor_option("fit_whiten", o.covariance_floor));
      options = o;
    } else if (kind == "pca") {
      k = TransformKind::Pca;
      PcaOptions o;
      o.dim = r.integer(p + "dim");
      check("dim", detail::transform_check_dim_option("fit_pca", o.dim));
      options = o;
    } else if (kind == "lda") {
      k = TransformKind::Lda;
      LdaOptions o;
      o.dim = r.integer(p + "dim");
      o.total_covariance_factor = r.real(p + "total_covariance_factor");
      o.covariance_floor = r.real(p + "covariance_floor");
      check("dim", detail::transform_check_dim_option("fit_lda", o.dim));
      check("total_covariance_factor", detail::transform_check_factor_option("fit_lda", o.total_covariance_factor));
      check("covariance_floor", detail::transform_check_floor_option("fit_lda", o.covariance_floor));
      options = o;
    } else if (kind == "wccn") {
      k = TransformKind::Wccn;
      WccnOptions o;
      const std::string weighting = r.text(p + "weighting");
      if (weighting != "per_class" && weighting != "pooled") bad("weighting", detail::message("is '", weighting, "' (per_class or pooled expected)"));
      o.weighting = weighting == "pooled" ? WccnWeighting::Pooled : WccnWeighting::PerClass;
      o.covariance_floor = r.real(p + "covariance_floor");
      check("covariance_floor", detail::transform_check_floor_option("fit_wccn", o.covariance_floor));
      options = o;
    } else if (kind == "length_norm") {
      k = TransformKind::LengthNorm;
      options = LengthNormOptions{r.integer(p + "scale_to_sqrt_dim") != 0};
    } else if (kind == "affine") {
      k = TransformKind::Affine;
    } else {
      bad("kind", detail::message("names an unknown transform '", kind, "'"));
    }
    const bool affine = k != TransformKind::LengthNorm;
    if (k == TransformKind::LengthNorm && !fitted) bad("fitted", "is 0 for a length_norm stage");
    if (k == TransformKind::Affine && !fitted) bad("fitted", "is 0 for an affine stage");
    AffineTransform<Scalar> t;
    TransformFitInfo fi;
    if (affine && fitted) {
      const Vector<Scalar> offset = r.template vector<Scalar>(p + "offset");
      if (offset.size() == 0) bad("offset", "is empty");
      Matrix<Scalar> linear;
      if (k == TransformKind::Centre) {
        linear = Matrix<Scalar>::Identity(offset.size(), offset.size());
      } else {
        linear = r.template matrix<Scalar>(p + "linear");
        if (linear.rows() != offset.size() || linear.cols() == 0)
          bad("linear", detail::message("is ", linear.rows(), " x ", linear.cols(), " but the offset has ", offset.size(), " entries"));
      }
      if (!linear.allFinite()) bad(k == TransformKind::Centre ? "offset" : "linear", "holds NaN or Inf");
      if (!offset.allFinite()) bad("offset", "holds NaN or Inf");
      t = AffineTransform<Scalar>(linear, offset);
      fi.num_embeddings = r.integer(p + "num_embeddings");
      fi.num_classes = r.integer(p + "num_classes");
      fi.rank = r.integer(p + "rank");
      fi.num_floored = r.integer(p + "num_floored");
      fi.eigenvalues = r.template vector<double>(p + "eigenvalues");
    }
    return Stage::restore(k, std::move(options), fitted, std::move(fi), std::move(t));
  }

  std::vector<Stage> stages_;
};

}  // namespace ivkit
