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

std::vector<ivkit::UtteranceStats> StatsComputer::compute(const std::vector<Utterance>& batch, int threads) {
  const std::size_t n = batch.size();
  // Selections are looked up here, in order (the table reader is not thread-safe).
  const bool selected = !gselect_rspecifier_.empty();
  std::vector<ivkit::GaussianSelection> selections(selected ? n : 0);
  if (selected) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto& u = batch[i];
      const Int32VectorVector table = gselect_->of(u.key);
      const std::string what = message("the Gaussian selection of utterance '", u.key, "' in '", gselect_rspecifier_, "'");
      selections[i] = gselect_from_table(table, ubm_.num_components(), what);
      if (selections[i].num_frames() != u.frames.rows())
        throw ivkit::FormatError(message(what, " has ", selections[i].num_frames(), " frames but the features have ", u.frames.rows(),
                                         " (was it computed on other features?)"));
    }
  }
  ivkit::StatsOptions so;
  so.posterior_scale = options_.posterior_scale;
  so.max_count = options_.max_count;
  so.second_order = options_.second_order;
  so.full_second_order = options_.second_order && ubm_.is_full();  // the packed full scatter (full-covariance update)
  so.num_threads = 1;
  std::vector<ivkit::UtteranceStats> out(n);
  ivkit::parallel_for_blocks(static_cast<Index>(n), threads, [&](Index b) {
    const auto i = static_cast<std::size_t>(b);
    const Utterance& u = batch[i];
    const Index C = ubm_.num_components(), D = ubm_.dim();
    if (u.frames.rows() == 0) {  // no frames: zero statistics (the extractor gives the prior)
      ivkit::UtteranceStats s;
      s.zeroth = Eigen::VectorXd::Zero(C);
      s.first = ivkit::Matrix<double>::Zero(C, D);
      if (so.second_order) s.second = ivkit::Matrix<double>::Zero(C, so.full_second_order ? ivkit::packed_size(D) : D);
      out[i] = std::move(s);
      return;
    }
    try {
      if (selected) {
        if (ubm_.is_full()) {
          const auto post = ubm_.full().selected_posteriors(u.frames, selections[i], options_.min_post);
          out[i] = ivkit::stats_from_posteriors(post, u.frames, ubm_.means(), so);
        } else {
          const auto post = ubm_.diag().selected_posteriors(u.frames, selections[i], options_.min_post);
          out[i] = ivkit::stats_from_posteriors(post, u.frames, ubm_.means(), so);
        }
      } else if (selector_) {
        // Kaldi's sid/extract_ivectors.sh: gmm-gselect on the diagonal, fgmm-global-gselect-to-post.
        const ivkit::GaussianSelection sel = ivkit::gaussian_selection(*selector_, u.frames, options_.num_gselect);
        const auto post = ubm_.full().selected_posteriors(u.frames, sel, options_.min_post);
        out[i] = ivkit::stats_from_posteriors(post, u.frames, ubm_.means(), so);
      } else {
        ivkit::StatsOptions to = so;
        to.top_n = options_.num_gselect;
        to.min_post = options_.min_post;
        // Diagonal second-order statistics: from the posteriors (compute_stats gives full ones for a full UBM).
        if (ubm_.is_full()) out[i] = ivkit::compute_stats(ubm_.full(), u.frames, to);
        else out[i] = ivkit::compute_stats(ubm_.diag(), u.frames, to);
      }
    } catch (const ivkit::Error& e) {
      throw ivkit::FormatError(message("utterance '", u.key, "': ", e.what()));
    }
  });
  return out;
}

}  // namespace ivkit_tools
