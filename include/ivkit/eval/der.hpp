/// @file
/// Diarisation error rate (NIST md-eval.pl's definition): over the scored time, with the best
/// one-to-one mapping of hypothesis speakers to reference speakers,
///
///     DER = (missed speech + false alarm + speaker confusion) / scored speech,
///
/// each weighted by the number of speakers: at time t with N_ref reference and N_hyp hypothesis
/// speakers active, of whom N_correct are mapped pairs both active,
///     scored += N_ref,  missed += max(0, N_ref - N_hyp),  false alarm += max(0, N_hyp - N_ref),
///     confusion += min(N_ref, N_hyp) - N_correct.
/// The mapping maximises the total time a reference speaker and its hypothesis speaker are active
/// together (Hungarian algorithm, ivkit/core/assignment.hpp).
///
/// The collar follows md-eval's `-c`: `collar` seconds on *each side* of every reference turn
/// boundary are not scored (md-eval -c 0.25 removes 0.5 s around each boundary). With
/// `ignore_overlap`, times where two or more reference speakers talk are not scored (md-eval -1).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/assignment.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/diar/rttm.hpp"

namespace ivkit {

struct DerOptions {
  double collar = 0.0;          ///< seconds not scored on each side of every reference boundary
  bool ignore_overlap = false;  ///< do not score times with two or more reference speakers
};

/// The figures of one recording (or summed over several): times in seconds (speaker-weighted).
struct DerResult {
  double scored = 0.0, missed = 0.0, false_alarm = 0.0, confusion = 0.0;
  std::vector<std::pair<std::string, std::string>> mapping;  ///< (reference, hypothesis) speakers paired

  /// (missed + false alarm + confusion) / scored; NaN when nothing is scored.
  double der() const {
    return scored > 0 ? (missed + false_alarm + confusion) / scored : std::numeric_limits<double>::quiet_NaN();
  }
  DerResult& operator+=(const DerResult& o) {
    scored += o.scored;
    missed += o.missed;
    false_alarm += o.false_alarm;
    confusion += o.confusion;
    return *this;
  }
};

namespace detail {

/// Index of each distinct speaker name (in order of first appearance).
inline std::vector<Index> speaker_ids(const std::vector<SpeakerTurn>& turns, std::vector<std::string>& names) {
  std::map<std::string, Index> ids;
  std::vector<Index> out;
  for (const auto& t : turns) {
    auto [it, added] = ids.emplace(t.speaker, static_cast<Index>(names.size()));
    if (added) names.push_back(t.speaker);
    out.push_back(it->second);
  }
  return out;
}

inline void check_turns(const char* fn, const std::vector<SpeakerTurn>& turns, const char* what) {
  for (const auto& t : turns)
    if (!(t.start >= 0 && t.duration > 0 && std::isfinite(t.start) && std::isfinite(t.duration)))
      throw InvalidArgument(message(fn, ": a ", what, " turn of '", t.recording, "' (speaker '", t.speaker, "') has start ", t.start,
                                    " and duration ", t.duration));
}

}  // namespace detail

/// DER of one recording's hypothesis turns against its reference turns (both of the same
/// recording; overlapping turns allowed, also of one speaker, which count once).
/// @throws InvalidArgument (a turn with a negative start or a duration <= 0, a negative collar,
///         turns of more than one recording)
inline DerResult diarization_error(const std::vector<SpeakerTurn>& reference, const std::vector<SpeakerTurn>& hypothesis,
                                   const DerOptions& opts = {}) {
  constexpr const char* fn = "diarization_error";
  if (!(opts.collar >= 0 && std::isfinite(opts.collar))) throw InvalidArgument(detail::message(fn, ": the collar must be >= 0, got ", opts.collar));
  detail::check_turns(fn, reference, "reference");
  detail::check_turns(fn, hypothesis, "hypothesis");
  for (const auto* list : {&reference, &hypothesis})
    for (const auto& t : *list)
      if (t.recording != list->front().recording || (!reference.empty() && t.recording != reference.front().recording))
        throw InvalidArgument(detail::message(fn, ": turns of recordings '", reference.empty() ? list->front().recording : reference.front().recording,
                                              "' and '", t.recording, "' given together; score one recording at a time"));
  std::vector<std::string> ref_names, hyp_names;
  const std::vector<Index> ref_id = detail::speaker_ids(reference, ref_names), hyp_id = detail::speaker_ids(hypothesis, hyp_names);
  const Index R = static_cast<Index>(ref_names.size()), H = static_cast<Index>(hyp_names.size());

  // Events: +1/-1 per speaker at turn edges; collar zones as +1/-1 of a "not scored" count.
  struct Event {
    double time;
    int kind;  // 0 reference, 1 hypothesis, 2 collar
    Index who;
    int delta;
  };
  std::vector<Event> events;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    events.push_back({reference[i].start, 0, ref_id[i], +1});
    events.push_back({reference[i].end(), 0, ref_id[i], -1});
    if (opts.collar > 0)
      for (double b : {reference[i].start, reference[i].end()}) {
        events.push_back({std::max(0.0, b - opts.collar), 2, 0, +1});
        events.push_back({b + opts.collar, 2, 0, -1});
      }
  }
  for (std::size_t i = 0; i < hypothesis.size(); ++i) {
    events.push_back({hypothesis[i].start, 1, hyp_id[i], +1});
    events.push_back({hypothesis[i].end(), 1, hyp_id[i], -1});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.time < b.time; });

  // Elementary intervals between consecutive event times, with who is active in each.
  struct Interval {
    double length;
    std::vector<Index> ref, hyp;
  };
  std::vector<Interval> intervals;
  std::vector<int> ref_count(static_cast<std::size_t>(R), 0), hyp_count(static_cast<std::size_t>(H), 0);
  int collar_count = 0;
  Matrix<double> together = Matrix<double>::Zero(R, H);
  DerResult r;
  for (std::size_t e = 0; e < events.size();) {
    const double t = events[e].time;
    for (; e < events.size() && events[e].time == t; ++e) {
      const Event& ev = events[e];
      if (ev.kind == 0) ref_count[static_cast<std::size_t>(ev.who)] += ev.delta;
      else if (ev.kind == 1) hyp_count[static_cast<std::size_t>(ev.who)] += ev.delta;
      else collar_count += ev.delta;
    }
    if (e == events.size()) break;
    const double length = events[e].time - t;
    if (length <= 0 || collar_count > 0) continue;
    Interval iv;
    iv.length = length;
    for (Index k = 0; k < R; ++k)
      if (ref_count[static_cast<std::size_t>(k)] > 0) iv.ref.push_back(k);
    for (Index k = 0; k < H; ++k)
      if (hyp_count[static_cast<std::size_t>(k)] > 0) iv.hyp.push_back(k);
    if (opts.ignore_overlap && iv.ref.size() >= 2) continue;
    if (iv.ref.empty() && iv.hyp.empty()) continue;
    const double nr = static_cast<double>(iv.ref.size()), nh = static_cast<double>(iv.hyp.size());
    r.scored += length * nr;
    r.missed += length * std::max(0.0, nr - nh);
    r.false_alarm += length * std::max(0.0, nh - nr);
    for (Index a : iv.ref)
      for (Index b : iv.hyp) together(a, b) += length;
    intervals.push_back(std::move(iv));
  }
  // The mapping that maximises the time paired speakers are active together.
  std::vector<Index> map_ref(static_cast<std::size_t>(R), -1);
  if (R > 0 && H > 0) {
    const Index n = std::max(R, H);
    Eigen::MatrixXd cost = Eigen::MatrixXd::Zero(n, n);
    cost.topLeftCorner(R, H) = -together;
    const std::vector<Index> assignment = min_cost_assignment(cost);
    for (Index a = 0; a < R; ++a) {
      const Index b = assignment[static_cast<std::size_t>(a)];
      if (b < H && together(a, b) > 0) {
        map_ref[static_cast<std::size_t>(a)] = b;
        r.mapping.emplace_back(ref_names[static_cast<std::size_t>(a)], hyp_names[static_cast<std::size_t>(b)]);
      }
    }
  }
  for (const auto& iv : intervals) {
    double correct = 0;
    for (Index a : iv.ref) {
      const Index b = map_ref[static_cast<std::size_t>(a)];
      if (b >= 0 && std::find(iv.hyp.begin(), iv.hyp.end(), b) != iv.hyp.end()) correct += 1;
    }
    r.confusion += iv.length * (std::min(static_cast<double>(iv.ref.size()), static_cast<double>(iv.hyp.size())) - correct);
  }
  return r;
}

}  // namespace ivkit
