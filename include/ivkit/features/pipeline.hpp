/// @file
/// The speaker-recognition front end of Kaldi's sre/voxceleb recipes in one call:
///   compute-mfcc-feats -> compute-vad (on the raw MFCCs) ->
///   add-deltas | apply-cmvn-sliding --center=true --cmn-window=300 | select-voiced-frames.
/// Each stage can be switched off; the result is an N x D float (or double) matrix, one voiced
/// frame per row (FramesAsRows), ready for UBM training or statistics.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "ivkit/core/types.hpp"
#include "ivkit/features/cmvn.hpp"
#include "ivkit/features/deltas.hpp"
#include "ivkit/features/mfcc.hpp"
#include "ivkit/features/vad.hpp"

namespace ivkit {

/// Options of every stage.
struct FeaturePipelineOptions {
  MfccOptions mfcc;                ///< 13 MFCCs with energy, Kaldi's defaults, dither off
  bool use_deltas = true;          ///< append deltas and delta-deltas
  DeltaOptions deltas;             ///< order 2, window 2
  bool use_cmvn = true;            ///< sliding-window mean normalisation (after the deltas)
  SlidingCmvnOptions cmvn;         ///< 300 frames, centred, means only
  bool use_vad = true;             ///< keep only the voiced frames
  VadOptions vad;                  ///< Kaldi's compute-vad defaults, on the raw C0
};

/// What the pipeline saw.
struct FeaturePipelineReport {
  Index num_frames = 0;   ///< frames of the utterance
  Index num_voiced = 0;   ///< frames kept (num_frames without VAD)
  std::vector<bool> voiced;  ///< the VAD decisions (empty without VAD)
};

/// The pipeline with its MFCC extractor built once; compute() may run on many signals
/// (concurrently too).
template <class S = float>
class FeaturePipeline {
  IVKIT_CHECK_SCALAR(S);

 public:
  /// @throws InvalidArgument for invalid options of any stage
  explicit FeaturePipeline(const FeaturePipelineOptions& opts = FeaturePipelineOptions{}) : opts_(opts), mfcc_(opts.mfcc) {
    if (opts.use_deltas) delta_filters(opts.deltas);
    if (opts.use_cmvn) cmvn_window(0, 1, opts.cmvn);
    if (opts.use_vad && !opts.mfcc.use_energy)
      throw InvalidArgument(
          "FeaturePipeline: VAD needs the log energy in the first column (mfcc.use_energy = true, htk_compat = false)");
    if (opts.use_vad && opts.mfcc.htk_compat)
      throw InvalidArgument("FeaturePipeline: VAD needs the log energy in the first column, but htk_compat puts it last");
  }

  const FeaturePipelineOptions& options() const { return opts_; }
  const Mfcc<S>& mfcc() const { return mfcc_; }
  /// Output dimension: num_ceps (order + 1).
  Index dim() const { return mfcc_.dim() * (opts_.use_deltas ? opts_.deltas.order + 1 : 1); }

  /// Features of one utterance sampled at `sample_rate` Hz.
  /// @throws InvalidArgument for a rate other than mfcc.frame.sample_frequency or a signal shorter
  ///   than one frame, NonFiniteInput for NaN or Inf samples
  template <class Derived>
  Matrix<S> compute(const Eigen::MatrixBase<Derived>& signal, double sample_rate,
                    FeaturePipelineReport* report = nullptr) const {
    Matrix<S> raw = mfcc_.compute(signal, sample_rate);
    std::vector<bool> voiced;
    if (opts_.use_vad) voiced = compute_vad(raw, opts_.vad);
    Matrix<S> feats = opts_.use_deltas ? add_deltas(raw, opts_.deltas) : std::move(raw);
    if (opts_.use_cmvn) feats = apply_cmvn_sliding(feats, opts_.cmvn);
    if (report) {
      report->num_frames = feats.rows();
      report->num_voiced = opts_.use_vad ? count_voiced(voiced) : feats.rows();
    }
    if (opts_.use_vad) feats = select_voiced_frames(feats, voiced);
    if (report) report->voiced = std::move(voiced);
    return feats;
  }

  template <class T>
  Matrix<S> compute(const std::vector<T>& signal, double sample_rate, FeaturePipelineReport* report = nullptr) const {
    return compute(Eigen::Map<const Vector<T>>(signal.data(), static_cast<Index>(signal.size())), sample_rate, report);
  }

 private:
  FeaturePipelineOptions opts_;
  Mfcc<S> mfcc_;
};

/// One-shot pipeline: FeaturePipeline<S>(opts).compute(signal, sample_rate, report).
template <class S = float, class Derived>
Matrix<S> extract_features(const Eigen::MatrixBase<Derived>& signal, double sample_rate,
                           const FeaturePipelineOptions& opts = FeaturePipelineOptions{},
                           FeaturePipelineReport* report = nullptr) {
  return FeaturePipeline<S>(opts).compute(signal, sample_rate, report);
}

template <class S = float, class T>
Matrix<S> extract_features(const std::vector<T>& signal, double sample_rate,
                           const FeaturePipelineOptions& opts = FeaturePipelineOptions{},
                           FeaturePipelineReport* report = nullptr) {
  return FeaturePipeline<S>(opts).compute(signal, sample_rate, report);
}

}  // namespace ivkit
