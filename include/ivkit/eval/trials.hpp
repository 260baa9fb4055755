/// @file
/// Trial lists (which enrolment is tested against which test segment, and whether it is a target
/// trial) in the two common text formats, read from a file or a stream, and the mapping of their ids
/// to the rows and columns of a score matrix.
///
///  - Kaldi (egs/sre*, egs/voxceleb): `enrol test target|nontarget`
///  - stklia and the VoxCeleb lists: `1 enrol test` (target) or `0 enrol test` (non-target)
///
/// Fields are separated by spaces or tabs; a trailing carriage return is ignored, as are blank lines.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <fstream>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/text_fields.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// Text format of a trial list.
enum class TrialFormat {
  Auto,    ///< reading only: decided by the first non-blank line (see read_trials)
  Kaldi,   ///< `enrol test target|nontarget`
  Stklia,  ///< `1|0 enrol test`
};

/// "auto", "kaldi", "stklia"
inline const char* format_name(TrialFormat f) {
  switch (f) {
    case TrialFormat::Auto: return "auto";
    case TrialFormat::Kaldi: return "kaldi";
    case TrialFormat::Stklia: return "stklia";
  }
  return "unknown";
}

/// A trial list: trial i compares enrolment `enrol[i]` with test segment `test[i]`; `labels[i]` is
/// true for a target trial (same speaker). `source` and `lines` (1-based line of each trial) are set
/// by read_trials and name the place of a bad id in errors; they stay empty for hand-built lists.
struct Trials {
  std::vector<std::string> enrol;
  std::vector<std::string> test;
  std::vector<bool> labels;
  TrialFormat format = TrialFormat::Kaldi;  ///< the format it was read in
  std::string source;                       ///< file name, or the name given for a stream
  std::vector<std::size_t> lines;           ///< 1-based line numbers in `source` (empty if hand-built)

  std::size_t size() const { return labels.size(); }
  bool empty() const { return labels.empty(); }
  std::size_t num_targets() const {
    std::size_t n = 0;
    for (bool b : labels) n += b;
    return n;
  }
  std::size_t num_nontargets() const { return size() - num_targets(); }
  /// Appends a trial (hand-built lists; `lines` stays untouched).
  void add(std::string enrol_id, std::string test_id, bool target) {
    enrol.push_back(std::move(enrol_id));
    test.push_back(std::move(test_id));
    labels.push_back(target);
  }
};

namespace detail {

inline std::string shorten(std::string_view s) {
  return s.size() <= 80 ? std::string(s) : std::string(s.substr(0, 77)) + "...";
}

}  // namespace detail

/// Reads a trial list from a stream. With TrialFormat::Auto the first non-blank line decides: three
/// fields with the third `target` or `nontarget` is Kaldi, else three fields with the first `1` or
/// `0` is stklia; every later line must then be of that format.
/// @param source name used in messages ("<stream>" by default) and kept in Trials::source
/// @throws FormatError naming source:line for a malformed line (field count, label), or for a list
///         without trials; IoError when the stream fails
inline Trials read_trials(std::istream& in, TrialFormat format = TrialFormat::Auto, const std::string& source = "<stream>") {
  constexpr const char* fn = "read_trials";
  Trials t;
  t.source = source;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto f = detail::split_fields(line);
    if (f.empty()) continue;
    if (format == TrialFormat::Auto) {
      if (f.size() == 3 && (f[2] == "target" || f[2] == "nontarget")) format = TrialFormat::Kaldi;
      else if (f.size() == 3 && (f[0] == "1" || f[0] == "0")) format = TrialFormat::Stklia;
      else
        throw FormatError(detail::message(fn, ": ", source, ":", line_no,
                                          ": not a trial in either format ('enrol test target|nontarget' or '1|0 enrol test'): '",
                                          detail::shorten(line), "'"));
    }
    if (format == TrialFormat::Kaldi) {
      if (f.size() != 3)
        throw FormatError(detail::message(fn, ": ", source, ":", line_no, ": expected 3 fields 'enrol test target|nontarget', got ",
                                          f.size()));
      bool target;
      if (f[2] == "target") target = true;
      else if (f[2] == "nontarget") target = false;
      else
        throw FormatError(detail::message(fn, ": ", source, ":", line_no, ": the third field must be 'target' or 'nontarget', got '",
                                          detail::shorten(f[2]), "'"));
      t.add(std::string(f[0]), std::string(f[1]), target);
    } else {
      if (f.size() != 3)
        throw FormatError(detail::message(fn, ": ", source, ":", line_no, ": expected 3 fields '1|0 enrol test', got ", f.size()));
      bool target;
      if (f[0] == "1") target = true;
      else if (f[0] == "0") target = false;
      else
        throw FormatError(detail::message(fn, ": ", source, ":", line_no, ": the first field must be 1 or 0, got '",
                                          detail::shorten(f[0]), "'"));
      t.add(std::string(f[1]), std::string(f[2]), target);
    }
    t.lines.push_back(line_no);
  }
  if (in.bad()) throw IoError(detail::message(fn, ": error reading ", source));
  if (t.empty()) throw FormatError(detail::message(fn, ": ", source, " holds no trials"));
  t.format = format;
  return t;
}

/// Reads a trial list from a file (see the stream overload; messages name the path).
/// @throws IoError when the file cannot be opened or read, FormatError as the stream overload
inline Trials read_trials(const std::string& path, TrialFormat format = TrialFormat::Auto) {
  std::ifstream in(path);
  if (!in) throw IoError(detail::message("read_trials: cannot open '", path, "'"));
  return read_trials(in, format, path);
}

/// Writes a trial list, one trial per line, in the Kaldi or stklia format.
/// @throws InvalidArgument (format Auto), DimensionMismatch (inconsistent Trials), IoError
inline void write_trials(std::ostream& out, const Trials& trials, TrialFormat format) {
  constexpr const char* fn = "write_trials";
  if (format == TrialFormat::Auto) throw InvalidArgument(detail::message(fn, ": choose the kaldi or stklia format"));
  if (trials.enrol.size() != trials.labels.size() || trials.test.size() != trials.labels.size())
    throw DimensionMismatch(detail::message(fn, ": the trial list has ", trials.enrol.size(), " enrolment ids, ", trials.test.size(),
                                            " test ids and ", trials.labels.size(), " labels"));
  for (std::size_t i = 0; i < trials.size(); ++i) {
    if (format == TrialFormat::Kaldi)
      out << trials.enrol[i] << ' ' << trials.test[i] << ' ' << (trials.labels[i] ? "target" : "nontarget") << '\n';
    else
      out << (trials.labels[i] ? '1' : '0') << ' ' << trials.enrol[i] << ' ' << trials.test[i] << '\n';
  }
  if (!out) throw IoError(detail::message(fn, ": error writing the trial list"));
}

/// Row (enrolment) and column (test) of each trial in a score matrix.
struct TrialIndices {
  std::vector<Index> enrol;
  std::vector<Index> test;
};

/// Maps the ids of each trial to their positions in `enrol_ids` and `test_ids` (e.g. the row order
/// of the enrolment embeddings and of the test embeddings). O(trials + ids) with hashing.
/// @throws InvalidArgument for an id of a trial missing from the lists (naming the id, the trial and
///         its source:line when known) or an id listed twice; DimensionMismatch for inconsistent Trials
inline TrialIndices trial_indices(const Trials& trials, const std::vector<std::string>& enrol_ids,
                                  const std::vector<std::string>& test_ids) {
  constexpr const char* fn = "trial_indices";
  if (trials.enrol.size() != trials.labels.size() || trials.test.size() != trials.labels.size())
    throw DimensionMismatch(detail::message(fn, ": the trial list has ", trials.enrol.size(), " enrolment ids, ", trials.test.size(),
                                            " test ids and ", trials.labels.size(), " labels"));
  auto build = [&](const std::vector<std::string>& ids, const char* what) {
    std::unordered_map<std::string_view, Index> map;
    map.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto [it, inserted] = map.emplace(ids[i], static_cast<Index>(i));
      if (!inserted)
        throw InvalidArgument(detail::message(fn, ": ", what, " id '", ids[i], "' appears twice in the id list (positions ", it->second,
                                              " and ", i, ")"));
    }
    return map;
  };
  const auto enrol_map = build(enrol_ids, "enrolment");
  const auto test_map = build(test_ids, "test");
  auto where = [&](std::size_t i) {
    std::string s = detail::message("trial ", i);
    if (i < trials.lines.size()) s += detail::message(" (", trials.source, ":", trials.lines[i], ")");
    return s;
  };
  TrialIndices out;
  out.enrol.resize(trials.size());
  out.test.resize(trials.size());
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const auto e = enrol_map.find(trials.enrol[i]);
    if (e == enrol_map.end())
      throw InvalidArgument(detail::message(fn, ": enrolment id '", trials.enrol[i], "' of ", where(i), " is not among the ",
                                            enrol_ids.size(), " enrolment ids"));
    const auto t = test_map.find(trials.test[i]);
    if (t == test_map.end())
      throw InvalidArgument(detail::message(fn, ": test id '", trials.test[i], "' of ", where(i), " is not among the ", test_ids.size(),
                                            " test ids"));
    out.enrol[i] = e->second;
    out.test[i] = t->second;
  }
  return out;
}

/// The score of each trial from a full score matrix (enrolments x tests), as double.
/// @throws DimensionMismatch when an index lies outside the matrix or the index lists differ in size
template <class Derived>
Vector<double> trial_scores(const Eigen::MatrixBase<Derived>& scores, const TrialIndices& idx) {
  constexpr const char* fn = "trial_scores";
  if (idx.enrol.size() != idx.test.size())
    throw DimensionMismatch(detail::message(fn, ": ", idx.enrol.size(), " enrolment indices but ", idx.test.size(), " test indices"));
  Vector<double> out(static_cast<Index>(idx.enrol.size()));
  for (std::size_t i = 0; i < idx.enrol.size(); ++i) {
    const Index e = idx.enrol[i], t = idx.test[i];
    if (e < 0 || e >= scores.rows() || t < 0 || t >= scores.cols())
      throw DimensionMismatch(detail::message(fn, ": trial ", i, " needs entry (", e, ", ", t, ") of a ", scores.rows(), " x ",
                                              scores.cols(), " score matrix"));
    out(static_cast<Index>(i)) = static_cast<double>(scores(e, t));
  }
  return out;
}

}  // namespace ivkit
