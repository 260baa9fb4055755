/// @file
/// Streams the scores of a labelled trial list out of a score file (`enrol test score` per line,
/// as ivector-plda-scoring and ivkit-score-trials write it), at the speed of reading the text:
/// both files are read line by line (LineReader, no allocation per line). While the score file
/// lists the trials in their order, the common case, score i is trial i and nothing is kept in
/// memory. From the first line where the orders part, the rest of the score file is indexed by
/// its "enrol test" keys (each hashed once) and the remaining trials look their score up.
///
/// Trial lines are Kaldi's `enrol test target|nontarget` or stklia's `1|0 enrol test`
/// (TrialFormat::Auto: decided by the first non-blank line, as read_trials does).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/eval/trials.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/line_reader.hpp"

namespace ivkit {

struct TrialScoreJoinOptions {
  TrialFormat format = TrialFormat::Auto;  ///< of the trial list
  bool skip_missing = false;               ///< a trial without a score is skipped (and counted), not an error
};

/// What a join found.
struct TrialScoreJoinReport {
  TrialFormat format = TrialFormat::Auto;  ///< the trial list's format (decided by its first line with Auto)
  std::size_t trials = 0;                  ///< lines of the trial list
  std::size_t trial_targets = 0;           ///< target trials in the list (scored or not)
  std::size_t targets = 0, nontargets = 0; ///< scored trials passed on
  std::size_t missing = 0;                 ///< trials without a score (skip_missing)
  std::string first_missing;               ///< "'enrol test' ('trials' line N)" of the first of them
  std::size_t scores = 0;                  ///< lines of the score file
  std::size_t unused_scores = 0;           ///< scores of pairs that are not trials
  bool same_order = true;                  ///< the score file listed the trials in their order
  std::size_t indexed_scores = 0;          ///< scores held in the key index (0 when in order)
};

namespace detail {

struct TrialLine {
  std::string_view enrol, test;
  bool target = false;
};

/// Parses one non-blank trial line (fields already split); decides the format on the first one.
/// @throws FormatError naming source and line
inline TrialLine parse_trial_fields(const std::string_view* f, std::size_t count, TrialFormat& format, const std::string& source,
                                    std::size_t line) {
  auto fail = [&](const std::string& what) -> void {
    throw FormatError(message("'", source, "' line ", line, ": ", what));
  };
  if (format == TrialFormat::Auto) {
    if (count == 3 && (f[2] == "target" || f[2] == "nontarget")) format = TrialFormat::Kaldi;
    else if (count == 3 && (f[0] == "1" || f[0] == "0")) format = TrialFormat::Stklia;
    else fail("not a trial in either format ('enrol test target|nontarget' or '1|0 enrol test')");
  }
  TrialLine t;
  if (format == TrialFormat::Kaldi) {
    if (count != 3) fail(message("expected 3 fields 'enrol test target|nontarget', got ", count));
    if (f[2] == "target") t.target = true;
    else if (f[2] != "nontarget") fail(message("the third field must be 'target' or 'nontarget', got '", shorten(f[2]), "'"));
    t.enrol = f[0];
    t.test = f[1];
  } else {
    if (count != 3) fail(message("expected 3 fields '1|0 enrol test', got ", count));
    if (f[0] == "1") t.target = true;
    else if (f[0] != "0") fail(message("the first field must be 1 or 0, got '", shorten(f[0]), "'"));
    t.enrol = f[1];
    t.test = f[2];
  }
  return t;
}

struct ScoreLine {
  std::string_view enrol, test;
  double score = 0;
};

/// Parses one non-blank score line. @throws FormatError naming source and line (field count, a
/// score that is not a number or is NaN)
inline ScoreLine parse_score_fields(const std::string_view* f, std::size_t count, const std::string& source, std::size_t line) {
  if (count != 3)
    throw FormatError(message("'", source, "' line ", line, ": expected 3 fields 'enrol test score', got ", count));
  ScoreLine s{f[0], f[1], 0.0};
  if (!kaldi_parse_real(f[2], s.score) || std::isnan(s.score))
    throw FormatError(message("'", source, "' line ", line, ": the score '", shorten(f[2]), "' is not a number"));
  return s;
}

/// The next non-blank line's fields (up to 4 kept). False at the end.
inline bool next_fields(LineReader& in, std::string_view* f, std::size_t& count) {
  std::string_view line;
  while (in.next(line)) {
    count = split_fields_into(line, f, 4);
    if (count > 0) return true;
  }
  return false;
}

/// "enrol test" -> (score, line), open addressing (linear probing, at most 5/8 full) over the keys'
/// bytes kept in one arena; 32 bytes per slot.
class ScoreKeyIndex {
 public:
  /// Sizes the table for about `n` keys of `key_bytes` bytes each.
  void reserve(std::size_t n, std::size_t key_bytes) {
    std::size_t want = 1024;
    while (want * 5 < n * 8) want *= 2;
    if (want > slots_.size()) rehash(want);
    arena_.reserve(n * key_bytes);
  }

  /// @throws FormatError when the pair already has a score
  void insert(std::string_view enrol, std::string_view test, double score, std::size_t line, const std::string& source) {
    if (8 * (size_ + 1) > 5 * slots_.size()) rehash(slots_.empty() ? 1024 : 2 * slots_.size());
    const std::size_t offset = arena_.size();
    arena_.append(enrol).append(1, ' ').append(test);
    const std::string_view key(arena_.data() + offset, arena_.size() - offset);
    const std::uint64_t h = std::hash<std::string_view>{}(key);
    std::size_t i = h & (slots_.size() - 1);
    for (; slots_[i].length != 0; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].hash == static_cast<std::uint32_t>(h) && view(slots_[i]) == key) {
        const std::string what = message("'", source, "' line ", line, ": the pair '", key, "' already has a score (line ",
                                         slots_[i].line & ~kTaken, ")");
        arena_.resize(offset);
        throw FormatError(what);
      }
    }
    slots_[i] = Slot{static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(key.size()), offset, score, line};
    ++size_;
  }

  /// The line of the pair's score, 0 when there is none (nothing is marked).
  std::size_t line_of(std::string_view enrol, std::string_view test) {
    if (size_ == 0) return 0;
    probe_.assign(enrol).append(1, ' ').append(test);
    const std::uint64_t h = std::hash<std::string_view>{}(probe_);
    for (std::size_t i = h & (slots_.size() - 1); slots_[i].length != 0; i = (i + 1) & (slots_.size() - 1))
      if (slots_[i].hash == static_cast<std::uint32_t>(h) && view(slots_[i]) == probe_) return slots_[i].line & ~kTaken;
    return 0;
  }

  /// The score of the pair, marked as used; nullptr when there is none.
  const double* find(std::string_view enrol, std::string_view test) {
    if (size_ == 0) return nullptr;
    probe_.assign(enrol).append(1, ' ').append(test);
    const std::uint64_t h = std::hash<std::string_view>{}(probe_);
    for (std::size_t i = h & (slots_.size() - 1); slots_[i].length != 0; i = (i + 1) & (slots_.size() - 1))
      if (slots_[i].hash == static_cast<std::uint32_t>(h) && view(slots_[i]) == probe_) {
        slots_[i].line |= kTaken;
        return &slots_[i].score;
      }
    return nullptr;
  }

  std::size_t size() const { return size_; }
  std::size_t num_untaken() const {
    std::size_t n = 0;
    for (const Slot& s : slots_) n += s.length != 0 && !(s.line & kTaken);
    return n;
  }

 private:
  static constexpr std::uint64_t kTaken = std::uint64_t{1} << 63;  // in Slot::line
  struct Slot {
    std::uint32_t hash = 0;    // low bits of the key's hash
    std::uint32_t length = 0;  // of the key; 0: empty slot (a key has at least 3 bytes)
    std::uint64_t offset = 0;  // of the key in the arena
    double score = 0;
    std::uint64_t line = 0;    // | kTaken once a trial has used the score
  };
  std::string_view view(const Slot& s) const { return std::string_view(arena_.data() + s.offset, s.length); }
  void rehash(std::size_t count) {
    std::vector<Slot> old(count);
    old.swap(slots_);
    for (const Slot& s : old)
      if (s.length != 0) {
        std::size_t i = std::hash<std::string_view>{}(view(s)) & (slots_.size() - 1);
        while (slots_[i].length != 0) i = (i + 1) & (slots_.size() - 1);
        slots_[i] = s;
      }
  }
  std::vector<Slot> slots_;
  std::string arena_, probe_;
  std::size_t size_ = 0;
};

template <class Sink>
TrialScoreJoinReport join_trial_scores_impl(LineReader& trials, LineReader& scores, Sink& sink, const TrialScoreJoinOptions& opts) {
  TrialScoreJoinReport r;
  r.format = opts.format;
  std::string_view tf[4], sf[4];
  std::size_t tn = 0, sn = 0;
  bool have_trial = detail::next_fields(trials, tf, tn), have_score = detail::next_fields(scores, sf, sn);
  auto trial = [&] {
    ++r.trials;
    const auto t = detail::parse_trial_fields(tf, tn, r.format, trials.source(), trials.line_number());
    r.trial_targets += t.target;
    return t;
  };
  auto pass_on = [&](double score, bool target) {
    (target ? r.targets : r.nontargets) += 1;
    sink(score, target);
  };
  // In step while the keys agree.
  detail::TrialLine t;
  bool pending = false;  // `t` parsed, not yet matched
  while (have_trial && have_score) {
    t = trial();
    ++r.scores;
    const auto s = detail::parse_score_fields(sf, sn, scores.source(), scores.line_number());
    if (s.enrol != t.enrol || s.test != t.test) {
      pending = true;
      break;
    }
    pass_on(s.score, t.target);
    have_trial = detail::next_fields(trials, tf, tn);
    have_score = detail::next_fields(scores, sf, sn);
  }
  if (!pending && !have_trial) {  // every trial matched; what is left of the score file is unused
    const std::size_t matched = r.scores;
    ScoreKeyIndex extra;
    for (; have_score; have_score = detail::next_fields(scores, sf, sn)) {
      const auto s = detail::parse_score_fields(sf, sn, scores.source(), scores.line_number());
      ++r.scores;
      ++r.unused_scores;
      extra.insert(s.enrol, s.test, s.score, scores.line_number(), scores.source());
    }
    // A second score of a trial (a listing repeated at the end, say) is an error: the matched part is
    // read again to find one (files only; from a pipe the extra scores are just unused).
    if (extra.size() > 0 && scores.rewindable()) {
      scores.rewind();
      for (std::size_t i = 0; i < matched && detail::next_fields(scores, sf, sn); ++i)
        if (const std::size_t line = extra.line_of(sf[0], sf[1]))
          throw FormatError(message("'", scores.source(), "' line ", line, ": the pair '", sf[0], " ", sf[1], "' already has a score (line ",
                                    scores.line_number(), ")"));
    }
    return r;
  }
  // The orders part (or the score file ended): index the rest of the score file.
  r.same_order = false;
  detail::ScoreKeyIndex index;
  if (have_score) {  // sized from the rest of the file and the length of this line
    const std::size_t line_bytes = static_cast<std::size_t>(sf[2].data() + sf[2].size() - sf[0].data()) + 1;
    index.reserve(static_cast<std::size_t>(scores.remaining_bytes() / line_bytes) + 1, sf[1].data() + sf[1].size() - sf[0].data());
  }
  bool counted = pending;  // the score line that parted the orders was counted in the loop above
  for (; have_score; have_score = detail::next_fields(scores, sf, sn)) {
    const auto s = detail::parse_score_fields(sf, sn, scores.source(), scores.line_number());
    if (!counted) ++r.scores;
    counted = false;
    index.insert(s.enrol, s.test, s.score, scores.line_number(), scores.source());
  }
  r.indexed_scores = index.size();
  // The enrol/test views of `t` point into the trial reader's buffer, still valid here.
  while (pending || have_trial) {
    if (!pending) t = trial();
    pending = false;
    if (const double* score = index.find(t.enrol, t.test)) {
      pass_on(*score, t.target);
    } else {
      const std::string where = detail::message("'", trials.source(), "' line ", trials.line_number());
      if (!opts.skip_missing)
        throw FormatError(detail::message("'", scores.source(), "' has no score for the trial '", t.enrol, " ", t.test, "' (", where,
                                          "); score every trial, or skip the missing ones"));
      if (r.missing++ == 0) r.first_missing = detail::message("'", t.enrol, " ", t.test, "' (", where, ")");
    }
    have_trial = detail::next_fields(trials, tf, tn);
  }
  r.unused_scores = index.num_untaken();
  return r;
}

}  // namespace detail

/// Reads `trials` and `scores` side by side and calls `sink(score, is_target)` for every trial that
/// has a score, in trial order. Scores of pairs that are not trials are counted and ignored.
/// Memory: nothing per line while the files are in the same order; the keys and scores of the
/// rest of the score file once they part.
/// @throws IoError, FormatError naming the file and line (a malformed line, a trial without a score
///         unless skip_missing, a pair scored twice after the orders part, a file without lines)
template <class Sink>
TrialScoreJoinReport join_trial_scores(LineReader& trials, LineReader& scores, Sink&& sink, const TrialScoreJoinOptions& opts = {}) {
  TrialScoreJoinReport r = detail::join_trial_scores_impl(trials, scores, sink, opts);
  if (r.trials == 0) throw FormatError(detail::message("'", trials.source(), "' holds no trials"));
  if (r.scores == 0) throw FormatError(detail::message("'", scores.source(), "' holds no scores"));
  return r;
}

}  // namespace ivkit
