/// @file
/// Exact detection metrics over score lists of any length in bounded memory, by external sorting:
/// `StreamingScoreSorter` takes (score, is_target) pairs in chunks, sorts each buffer-full (at most
/// the memory budget) and spills it to a temporary file as a sorted run, then k-way merges the runs
/// in one ascending pass that feeds the same sweeps as `SortedScores` (metrics.hpp). The EER (all
/// three conventions), minDCF, actDCF, Cllr, minCllr and DET points equal those of `SortedScores` on
/// the same scores, bit for bit.
///
/// Memory: at most `budget` scores (8 bytes each) in memory at any time, in the accumulation buffer
/// or in the merge's read and write blocks; plus the PAV stack of the ROCCH figures (a convex chain:
/// at most about (N_tar N_non)^(1/3) blocks) and, for det_curve, the curve itself. Disk: 8 bytes per
/// score (16 transiently during an intermediate merge pass). See docs/evaluation.md.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/det.hpp"
#include "ivkit/eval/detail/key_runs.hpp"
#include "ivkit/eval/metrics.hpp"

namespace ivkit {

/// Exact, bounded-memory sorting of a long stream of (score, is_target) pairs for the detection
/// metrics: external merge sort.
///
/// - add() / add_targets() / add_nontargets() put scores into a buffer of `budget` scores; when it is
///   full, its targets and non-targets are sorted in place (order-preserving 64-bit keys,
///   detail::sort_keys_in_place) and each written as a sorted run to a new binary file in the
///   temporary directory.
/// - finish() spills the rest (or, when nothing was spilled, sorts the buffer in memory and writes
///   no file), then, while there are more runs than one merge may read at once, merges the oldest
///   runs of a class into one (intermediate passes).
/// - for_each_group() (and the metric functions below, which call it) merges the remaining runs of
///   both classes in one ascending pass, giving the groups of equal scores exactly as
///   SortedScores::for_each_group does; every pass re-reads the runs.
/// The runs are removed when they are merged and by the destructor. At most `budget` scores are
/// held in memory at any time (peak_buffered()); one merge reads at most
/// min(64, budget / min(4096, budget / 16)) runs, each through a block of budget / (runs + 1) keys.
/// Not safe to use from several threads at once (reads are const but share nothing mutable; adds
/// are not synchronised).
class StreamingScoreSorter {
 public:
  static constexpr std::size_t kDefaultBudget = std::size_t{1} << 24;  ///< 16 Mi scores, 128 MiB
  static constexpr std::size_t kMinBudget = 16;

  /// @param budget the most scores held in memory at once (8 bytes each; allocated at the first add,
  ///        pages touched as they fill)
  /// @param temp_dir directory of the run files; empty: std::filesystem::temp_directory_path()
  ///        ($TMPDIR or /tmp), looked up at the first spill
  /// @throws InvalidArgument when budget < kMinBudget
  explicit StreamingScoreSorter(std::size_t budget = kDefaultBudget, std::string temp_dir = {})
      : budget_(budget), temp_dir_(std::move(temp_dir)) {
    if (budget < kMinBudget)
      throw InvalidArgument(detail::message("StreamingScoreSorter: the memory budget must be at least ", kMinBudget, " scores, got ", budget));
  }

  /// Adds one trial. @throws NonFiniteInput (NaN, naming its index among all scores added), IoError
  void add(double score, bool is_target) {
    if (std::isnan(score))
      throw NonFiniteInput(detail::message("StreamingScoreSorter::add: score ", num_added(), " is NaN"));
    prepare_add();
    if (used() == budget_) spill();
    push(detail::sort_key(score), is_target);
    note_peak(used());
  }

  /// Adds a chunk of labelled scores (true = target). The chunk is checked first: on error nothing
  /// is added.
  /// @throws DimensionMismatch (sizes differ), NonFiniteInput (NaN, naming its index among all scores
  /// added so far), IoError (a run file cannot be created or written)
  void add(ScoreView scores, const TrialLabels& labels) {
    constexpr const char* fn = "StreamingScoreSorter::add";
    if (scores.size() != labels.size())
      throw DimensionMismatch(detail::message(fn, ": ", scores.size(), " scores but ", labels.size(), " labels"));
    detail::check_no_nan(fn, scores, "score", num_added());
    if (scores.empty()) return;
    prepare_add();
    scores.visit([&](const auto* p, std::size_t n) {
      for (std::size_t i = 0; i < n;) {
        if (used() == budget_) spill();
        const std::size_t m = std::min(n - i, budget_ - used());
        std::uint64_t* buf = buf_.get();
        std::size_t bt = bt_, bn = bn_;
        for (std::size_t j = i; j < i + m; ++j) {
          // Both free ends get the key; only the end of its class advances (no branch on the label).
          const std::uint64_t key = detail::sort_key(static_cast<double>(p[j]));
          const std::size_t is_target = labels[j] ? 1 : 0;
          buf[bt] = key;
          buf[budget_ - 1 - bn] = key;
          bt += is_target;
          bn += 1 - is_target;
        }
        num_tar_ += static_cast<Index>(bt - bt_);
        num_non_ += static_cast<Index>(bn - bn_);
        bt_ = bt;
        bn_ = bn;
        i += m;
      }
    });
    note_peak(used());
  }

  /// Adds a chunk of target scores. @throws NonFiniteInput (index among all scores added), IoError
  void add_targets(ScoreView scores) { add_class("StreamingScoreSorter::add_targets", scores, true); }
  /// Adds a chunk of non-target scores. @throws NonFiniteInput (index among all scores added), IoError
  void add_nontargets(ScoreView scores) { add_class("StreamingScoreSorter::add_nontargets", scores, false); }

  /// Ends the input: sorts (in memory) or spills the buffer, and merges runs until one pass can read
  /// them all. Required before reading; adding more afterwards is allowed (finish() again).
  /// @throws InvalidArgument (no target or no non-target score), IoError
  void finish() {
    constexpr const char* fn = "StreamingScoreSorter::finish";
    if (finished_) return;
    detail::check_not_empty(fn, static_cast<std::size_t>(num_tar_), static_cast<std::size_t>(num_non_));
    if (tar_runs_.empty() && non_runs_.empty()) {
      detail::sort_keys_in_place(buf_.get(), bt_);
      detail::sort_keys_in_place(buf_.get() + budget_ - bn_, bn_);
      finished_ = true;
      return;
    }
    if (used() > 0) spill();
    buf_.reset();
    const std::size_t w = merge_width();
    while (tar_runs_.size() + non_runs_.size() > w) {
      auto& runs = tar_runs_.size() >= non_runs_.size() ? tar_runs_ : non_runs_;
      const std::size_t excess = tar_runs_.size() + non_runs_.size() - w;
      merge_front(runs, std::min({w, runs.size(), excess + 1}));
    }
    const std::size_t r = tar_runs_.size() + non_runs_.size();
    note_peak((budget_ / r) * r);  // the final pass's read blocks
    finished_ = true;
  }

  bool finished() const { return finished_; }
  std::size_t budget() const { return budget_; }
  Index num_targets() const { return num_tar_; }
  Index num_nontargets() const { return num_non_; }
  /// Sorted runs written so far, by spills and intermediate merges (0: everything fitted in memory).
  std::size_t num_runs_written() const { return runs_written_; }
  /// Runs the next pass reads (0 when the scores are in memory).
  std::size_t num_runs() const { return tar_runs_.size() + non_runs_.size(); }
  /// Intermediate merge passes (merges of runs into longer runs) done so far.
  std::size_t num_merges() const { return merges_; }
  /// The most scores held in memory at once so far: buffer, merge blocks; always <= budget().
  std::size_t peak_buffered() const { return peak_; }
  /// The directory of the run files ("" until the first spill when none was given).
  const std::string& temp_dir() const { return temp_dir_; }

  /// Calls `f(value, num_targets, num_nontargets)` for each group of equal scores, ascending (the
  /// groups, values and order of SortedScores::for_each_group); stops when `f` returns false. One
  /// merge pass over the runs.
  /// @throws InvalidArgument (finish() not called), IoError (a run file cannot be read)
  template <class F>
  void for_each_group(F&& f) const {
    constexpr const char* fn = "StreamingScoreSorter";
    if (!finished_) throw InvalidArgument(detail::message(fn, ": call finish() before reading the sorted scores"));
    detail::KeyMerge tm(fn), nm(fn);
    std::unique_ptr<std::uint64_t[]> blocks;
    if (tar_runs_.empty() && non_runs_.empty()) {
      tm.add_array(buf_.get(), bt_);
      nm.add_array(buf_.get() + budget_ - bn_, bn_);
    } else {
      const std::size_t r = tar_runs_.size() + non_runs_.size(), block = budget_ / r;
      blocks.reset(new std::uint64_t[r * block]);
      std::size_t k = 0;
      for (const auto& run : tar_runs_) tm.add_run(run, blocks.get() + block * k++, block);
      for (const auto& run : non_runs_) nm.add_run(run, blocks.get() + block * k++, block);
    }
    tm.start();
    nm.start();
    while (!tm.empty() || !nm.empty()) {
      const double v = (nm.empty() || (!tm.empty() && detail::from_sort_key(tm.top()) <= detail::from_sort_key(nm.top())))
                           ? detail::from_sort_key(tm.top())
                           : detail::from_sort_key(nm.top());
      Index t = 0, n = 0;
      while (!tm.empty() && detail::from_sort_key(tm.top()) == v) {
        tm.pop();
        ++t;
      }
      while (!nm.empty() && detail::from_sort_key(nm.top()) == v) {
        nm.pop();
        ++n;
      }
      if (!f(v, t, n)) return;
    }
  }

 private:
  std::size_t used() const { return bt_ + bn_; }
  std::size_t num_added() const { return static_cast<std::size_t>(num_tar_ + num_non_); }
  void note_peak(std::size_t m) { peak_ = std::max(peak_, m); }

  void prepare_add() {
    finished_ = false;
    if (!buf_) buf_.reset(new std::uint64_t[budget_]);  // default-initialised: pages touched as used
  }
  // Targets fill the buffer from the front, non-targets from the back.
  void push(std::uint64_t key, bool is_target) {
    if (is_target) {
      buf_[bt_++] = key;
      ++num_tar_;
    } else {
      buf_[budget_ - ++bn_] = key;
      ++num_non_;
    }
  }

  void add_class(const char* fn, ScoreView scores, bool is_target) {
    detail::check_no_nan(fn, scores, "score", num_added());
    if (scores.empty()) return;
    prepare_add();
    scores.visit([&](const auto* p, std::size_t n) {
      for (std::size_t i = 0; i < n;) {
        if (used() == budget_) spill();
        const std::size_t m = std::min(n - i, budget_ - used());
        std::uint64_t* dst = is_target ? buf_.get() + bt_ : buf_.get() + (budget_ - bn_ - m);
        for (std::size_t j = 0; j < m; ++j) dst[j] = detail::sort_key(static_cast<double>(p[i + j]));
        (is_target ? bt_ : bn_) += m;
        (is_target ? num_tar_ : num_non_) += static_cast<Index>(m);
        i += m;
      }
    });
    note_peak(used());
  }

  const std::string& dir() {
    if (temp_dir_.empty()) {
      std::error_code ec;
      const std::filesystem::path p = std::filesystem::temp_directory_path(ec);
      if (ec) throw IoError(detail::message("StreamingScoreSorter: no temporary directory: ", ec.message()));
      temp_dir_ = p.string();
    }
    return temp_dir_;
  }

  void write_run(std::vector<detail::KeyRunFile>& runs, const std::uint64_t* keys, std::size_t n) {
    detail::KeyRunWriter w("StreamingScoreSorter", dir());
    w.write(keys, n);
    runs.push_back(w.close());
    ++runs_written_;
  }

  // Sorts the buffer's targets and non-targets and writes each as a run.
  void spill() {
    note_peak(used());
    std::uint64_t* t = buf_.get();
    std::uint64_t* n = buf_.get() + budget_ - bn_;
    detail::sort_keys_in_place(t, bt_);
    detail::sort_keys_in_place(n, bn_);
    if (bt_ > 0) write_run(tar_runs_, t, bt_);
    if (bn_ > 0) write_run(non_runs_, n, bn_);
    bt_ = bn_ = 0;
  }

  // Most runs one merge reads: blocks of at least min(4096, budget / 16) keys, at most 64 files.
  std::size_t merge_width() const {
    const std::size_t block = std::max<std::size_t>(1, std::min<std::size_t>(4096, budget_ / 16));
    return std::min<std::size_t>(64, std::max<std::size_t>(2, std::min(budget_ / block, budget_ - 1)));
  }

  // Merges the first k runs of `runs` into one, appended at the back.
  void merge_front(std::vector<detail::KeyRunFile>& runs, std::size_t k) {
    constexpr const char* fn = "StreamingScoreSorter";
    const std::size_t block = budget_ / (k + 1);
    note_peak(block * (k + 1));
    std::unique_ptr<std::uint64_t[]> blocks(new std::uint64_t[block * (k + 1)]);
    detail::KeyRunWriter w(fn, dir());
    {
      detail::KeyMerge m(fn);
      for (std::size_t i = 0; i < k; ++i) m.add_run(runs[i], blocks.get() + block * i, block);
      m.start();
      std::uint64_t* out = blocks.get() + block * k;
      std::size_t o = 0;
      while (!m.empty()) {
        out[o++] = m.top();
        m.pop();
        if (o == block) {
          w.write(out, o);
          o = 0;
        }
      }
      w.write(out, o);
    }
    runs.erase(runs.begin(), runs.begin() + static_cast<std::ptrdiff_t>(k));  // removes their files
    runs.push_back(w.close());
    ++runs_written_;
    ++merges_;
  }

  std::size_t budget_;
  std::string temp_dir_;
  std::unique_ptr<std::uint64_t[]> buf_;
  std::size_t bt_ = 0, bn_ = 0;  // targets at [0, bt_), non-targets at [budget_ - bn_, budget_)
  std::vector<detail::KeyRunFile> tar_runs_, non_runs_;
  Index num_tar_ = 0, num_non_ = 0;
  std::size_t runs_written_ = 0, merges_ = 0, peak_ = 0;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------
// Metrics of a finished StreamingScoreSorter: the definitions (and the results, bit for bit) of the
// SortedScores overloads in metrics.hpp. Each call is one merge pass (evaluate: one pass for all).

/// EER under a named convention (see eer(const SortedScores&, ...)). Kaldi's rule is evaluated in the
/// ascending pass: n_q < t_p exactly when at least q + 1 non-targets score below t_p.
/// @throws InvalidArgument (not finished), IoError
inline EerResult eer(const StreamingScoreSorter& s, EerConvention convention) {
  const Index nt = s.num_targets(), nn = s.num_nontargets();
  switch (convention) {
    case EerConvention::Rocch: {
      const detail::Crossing c = detail::eer_crossing(detail::pav_blocks(s), nt, nn);
      return detail::make_eer(c.eer, c.threshold, convention, nt, nn);
    }
    case EerConvention::Kaldi: {
      detail::KaldiEerSweep k(nt, nn);
      s.for_each_group([&](double v, Index t, Index n) { return k(v, t, n); });
      IVKIT_ASSERT(k.found);
      return detail::make_eer(k.eer, k.threshold, convention, nt, nn);
    }
    case EerConvention::Interpolated: {
      const detail::Crossing c = detail::eer_crossing(s, nt, nn);
      return detail::make_eer(c.eer, c.threshold, convention, nt, nn);
    }
  }
  throw InvalidArgument("eer: unknown convention");
}

/// Normalised minimum DCF (see min_dcf(const SortedScores&, ...)).
/// @throws InvalidArgument (bad parameters, not finished), IoError
inline DcfResult min_dcf(const StreamingScoreSorter& s, const DcfParams& params) {
  detail::check_dcf_params("min_dcf", params);
  return detail::make_min_dcf(detail::min_dcf_scan(s, s.num_targets(), s.num_nontargets(), params), params, s.num_targets(),
                              s.num_nontargets());
}

/// Normalised actual DCF of calibrated scores (LLRs); the pass stops at the Bayes threshold.
/// @throws InvalidArgument (bad parameters, not finished), IoError
inline DcfResult act_dcf(const StreamingScoreSorter& s, const DcfParams& params) {
  detail::check_dcf_params("act_dcf", params);
  detail::ActDcfSweep a(s.num_nontargets(), params.bayes_threshold());
  detail::for_each_operating_point(s, [&](Index ct, Index cn, double theta) { return a(ct, cn, theta); });
  return detail::make_act_dcf(static_cast<std::size_t>(a.misses), static_cast<std::size_t>(a.false_alarms), params, s.num_targets(),
                              s.num_nontargets());
}

/// Cllr in bits of calibrated scores (natural-log LLRs). @throws InvalidArgument (not finished), IoError
inline double cllr(const StreamingScoreSorter& s) {
  detail::CllrSums sums;
  s.for_each_group([&](double v, Index t, Index n) { return sums(v, t, n); });
  return detail::cllr_from_sums(sums.targets, sums.nontargets, s.num_targets(), s.num_nontargets());
}

/// minCllr (PAV). @throws InvalidArgument (not finished), IoError
inline double min_cllr(const StreamingScoreSorter& s) {
  return detail::pav_cllr(detail::pav_blocks(s), s.num_targets(), s.num_nontargets());
}

/// Every figure of evaluate(const SortedScores&, ...) in one merge pass: the EER in the three
/// conventions, minDCF and actDCF per parameter set, Cllr and minCllr.
/// @throws InvalidArgument (bad parameters, not finished), IoError
inline EvaluationReport evaluate(const StreamingScoreSorter& s, const std::vector<DcfParams>& dcf_params = {DcfParams{}}) {
  for (const DcfParams& p : dcf_params) detail::check_dcf_params("evaluate", p);
  const Index nt = s.num_targets(), nn = s.num_nontargets();
  detail::PavAccumulator pav;
  detail::KaldiEerSweep kaldi(nt, nn);
  detail::CrossingSweep crossing(nt, nn);
  detail::CllrSums sums;
  std::vector<detail::MinDcfSweep> mins;
  std::vector<detail::ActDcfSweep> acts;
  for (const DcfParams& p : dcf_params) {
    mins.emplace_back(nt, nn, p);
    acts.emplace_back(nn, p.bayes_threshold());
  }
  auto points = [&](Index ct, Index cn, double theta) {
    crossing(ct, cn, theta);
    for (auto& m : mins) m(ct, cn, theta);
    for (auto& a : acts) a(ct, cn, theta);
    return true;
  };
  detail::OperatingPointFeed<decltype(points)> feed(points);
  s.for_each_group([&](double v, Index t, Index n) {
    pav(v, t, n);
    kaldi(v, t, n);
    sums(v, t, n);
    feed(v, t, n);
    return true;
  });
  feed.finish();
  IVKIT_ASSERT(kaldi.found && crossing.found);

  EvaluationReport r;
  r.num_targets = nt;
  r.num_nontargets = nn;
  const detail::Crossing hull = detail::eer_crossing(pav.blocks, nt, nn);
  r.eers.push_back(detail::make_eer(hull.eer, hull.threshold, EerConvention::Rocch, nt, nn));
  r.eers.push_back(detail::make_eer(kaldi.eer, kaldi.threshold, EerConvention::Kaldi, nt, nn));
  r.eers.push_back(detail::make_eer(crossing.result.eer, crossing.result.threshold, EerConvention::Interpolated, nt, nn));
  for (std::size_t i = 0; i < dcf_params.size(); ++i) {
    r.min_dcfs.push_back(detail::make_min_dcf(mins[i].result(), dcf_params[i], nt, nn));
    r.act_dcfs.push_back(detail::make_act_dcf(static_cast<std::size_t>(acts[i].misses), static_cast<std::size_t>(acts[i].false_alarms),
                                              dcf_params[i], nt, nn));
  }
  r.cllr = detail::cllr_from_sums(sums.targets, sums.nontargets, nt, nn);
  r.min_cllr = detail::pav_cllr(pav.blocks, nt, nn);
  return r;
}

/// Every operating point (one per distinct score, plus accept-all): memory 24 bytes per point, so
/// for very long lists prefer rocch_det_curve. @throws InvalidArgument (not finished), IoError
inline DetCurve det_curve(const StreamingScoreSorter& s) { return detail::det_from_groups(s, s.num_targets(), s.num_nontargets()); }

/// The vertices of the ROC convex hull (BOSARIS `rocch`); small whatever the number of scores.
inline DetCurve rocch_det_curve(const StreamingScoreSorter& s) {
  return detail::det_from_groups(detail::pav_blocks(s), s.num_targets(), s.num_nontargets());
}

}  // namespace ivkit
