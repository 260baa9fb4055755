#include "common/stats.hpp"

#include <ivkit/core/error.hpp>
#include <ivkit/core/parallel.hpp>
#include <ivkit/gmm/scoring.hpp>
#include <ivkit/io/kaldi_reader.hpp>

namespace ivkit_tools {

using ivkit::detail::message;

StatsComputer::StatsComputer(const Ubm& ubm, PosteriorOptions options, const std::string& gselect_rspecifier)
    : ubm_(ubm), options_(options), gselect_rspecifier_(gselect_rspecifier) {
  if (gselect_rspecifier_.empty() && ubm_.is_full() && !options_.select_with_full) selector_ = ubm_.to_diag();
  if (!gselect_rspecifier_.empty()) gselect_ = std::make_unique<GselectLookup>(gselect_rspecifier_);
}

StatsComputer::~StatsComputer() = default;

ivkit::UtteranceStats StatsComputer::zero_stats(const ivkit::StatsOptions& so) const {
  const Index C = ubm_.num_components(), D = ubm_.dim();
  ivkit::UtteranceStats s;
  s.zeroth = Eigen::VectorXd::Zero(C);
  s.first = ivkit::Matrix<double>::Zero(C, D);
  if (so.second_order) s.second = ivkit::Matrix<double>::Zero(C, so.full_second_order ? ivkit::packed_size(D) : D);
  return s;
}

std::vector<ivkit::UtteranceStats> StatsComputer::compute(const std::vector<Utterance>& batch, int threads) {
  std::vector<ivkit::UtteranceStats> out(batch.size());
  compute(batch, threads, [&](std::size_t i, ivkit::UtteranceStats&& s) { out[i] = std::move(s); });
  return out;
}

std::vector<ivkit::GaussianSelection> StatsComputer::selections_of(const std::vector<Utterance>& batch, int threads) {
  const std::size_t n = batch.size();
  std::vector<ivkit::GaussianSelection> selections;
  if (gselect_) {
    // Looked up in order: the table reader is not thread-safe.
    selections.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& u = batch[i];
      const Int32VectorVector table = gselect_->of(u.key);
      const std::string what = message("the Gaussian selection of utterance '", u.key, "' in '", gselect_rspecifier_, "'");
      selections[i] = gselect_from_table(table, ubm_.num_components(), what);
      if (selections[i].num_frames() != u.frames.rows())
        throw ivkit::FormatError(message(what, " has ", selections[i].num_frames(), " frames but the features have ", u.frames.rows(),
                                         " (was it computed on other features?)"));
    }
  } else if (selector_) {
    // Kaldi's sid/extract_ivectors.sh: gmm-gselect on the diagonal, then fgmm-global-gselect-to-post.
    selections.resize(n);
    ivkit::parallel_for_blocks(static_cast<Index>(n), threads, [&](Index b) {
      const Utterance& u = batch[static_cast<std::size_t>(b)];
      if (u.frames.rows() == 0) return;
      try {
        selections[static_cast<std::size_t>(b)] = ivkit::gaussian_selection(*selector_, u.frames, options_.num_gselect);
      } catch (const ivkit::Error& e) {
        throw ivkit::FormatError(message("utterance '", u.key, "': ", e.what()));
      }
    });
  }
  return selections;
}

void StatsComputer::compute(const std::vector<Utterance>& batch, int threads, const StatsSink& sink) {
  const std::size_t n = batch.size();
  const std::vector<ivkit::GaussianSelection> selections = selections_of(batch, threads);
  const bool selected = !selections.empty();
  ivkit::StatsOptions so;
  so.posterior_scale = options_.posterior_scale;
  so.max_count = options_.max_count;
  so.second_order = options_.second_order;
  so.full_second_order = options_.second_order && ubm_.is_full();  // the packed full scatter (full-covariance update)
  so.num_threads = 1;
  if (ubm_.is_full() && selected && n > 1 && full_batch_stats(batch, selections, so, threads, sink)) return;
  ivkit::parallel_for_blocks(static_cast<Index>(n), threads, [&](Index b) {
    const auto i = static_cast<std::size_t>(b);
    const Utterance& u = batch[i];
    if (u.frames.rows() == 0) {  // no frames: zero statistics (the extractor gives the prior)
      sink(i, zero_stats(so));
      return;
    }
    try {
      if (selected) {
        if (ubm_.is_full()) {
          const auto post = ubm_.full().selected_posteriors(u.frames, selections[i], options_.min_post);
          sink(i, ivkit::stats_from_posteriors(post, u.frames, ubm_.means(), so));
        } else {
          const auto post = ubm_.diag().selected_posteriors(u.frames, selections[i], options_.min_post);
          sink(i, ivkit::stats_from_posteriors(post, u.frames, ubm_.means(), so));
        }
      } else {
        ivkit::StatsOptions to = so;
        to.top_n = options_.num_gselect;
        to.min_post = options_.min_post;
        // Diagonal second-order statistics: from the posteriors (compute_stats gives full ones for a full UBM).
        sink(i, ubm_.is_full() ? ivkit::compute_stats(ubm_.full(), u.frames, to) : ivkit::compute_stats(ubm_.diag(), u.frames, to));
      }
    } catch (const ivkit::Error& e) {
      throw ivkit::FormatError(message("utterance '", u.key, "': ", e.what()));
    }
  });
}

bool StatsComputer::full_batch_stats(const std::vector<Utterance>& batch, const std::vector<ivkit::GaussianSelection>& selections,
                                     const ivkit::StatsOptions& so, int threads, const StatsSink& sink) {
  const std::size_t n = batch.size();
  const Index D = ubm_.dim();
  // One matrix of the batch's frames and one of their selections, all with the same number per frame.
  Index total = 0, k_sel = -1;
  std::vector<Index> first_frame(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Index rows = batch[i].frames.rows();
    if (rows > 0) {
      const Index k = selections[i].num_selected();
      if (k_sel >= 0 && k != k_sel) return false;
      k_sel = k;
    }
    total += rows;
    first_frame[i + 1] = total;
  }
  if (total == 0 || k_sel < 1) return false;
  batch_frame_values_.resize(static_cast<std::size_t>(total * D));  // keeps its capacity: no page faults per batch
  Eigen::Map<ivkit::Matrix<float>> frames(batch_frame_values_.data(), total, D);
  batch_selection_.indices.resize(total, k_sel);
  for (std::size_t i = 0; i < n; ++i) {
    const Index rows = batch[i].frames.rows();
    if (rows == 0) continue;
    frames.middleRows(first_frame[i], rows) = batch[i].frames;
    batch_selection_.indices.middleRows(first_frame[i], rows) = selections[i].indices;
  }
  ivkit::ScoringOptions sopts;
  sopts.num_threads = threads;
  ivkit::SparsePosteriors<float> post;
  try {
    post = ubm_.full().selected_posteriors(frames, batch_selection_, options_.min_post, sopts);
  } catch (const ivkit::Error&) {
    return false;  // utterance by utterance, for a message that names the utterance and its frame
  }
  ivkit::parallel_for_blocks(static_cast<Index>(n), threads, [&](Index b) {
    const auto i = static_cast<std::size_t>(b);
    const Utterance& u = batch[i];
    if (u.frames.rows() == 0) {
      sink(i, zero_stats(so));
      return;
    }
    // This utterance's entries of the batch's posteriors.
    const Index f0 = first_frame[i], f1 = first_frame[i + 1];
    ivkit::SparsePosteriors<float> mine;
    const Index e0 = post.begin(f0), e1 = post.begin(f1);
    mine.offsets.resize(static_cast<std::size_t>(f1 - f0 + 1));
    for (Index t = f0; t <= f1; ++t) mine.offsets[static_cast<std::size_t>(t - f0)] = post.offsets[static_cast<std::size_t>(t)] - e0;
    mine.components.assign(post.components.begin() + e0, post.components.begin() + e1);
    mine.values.assign(post.values.begin() + e0, post.values.begin() + e1);
    mine.frame_log_likelihoods = post.frame_log_likelihoods.segment(f0, f1 - f0);
    try {
      sink(i, ivkit::stats_from_posteriors(mine, u.frames, ubm_.means(), so));
    } catch (const ivkit::Error& e) {
      throw ivkit::FormatError(message("utterance '", u.key, "': ", e.what()));
    }
  });
  return true;
}

}  // namespace ivkit_tools
