/// @file
/// The small text tables of Kaldi recipes, read with errors that name the file and the line
/// (FormatError) or the file (IoError):
///   utt2spk (`utterance speaker`), spk2utt (`speaker utterance...`, or any enrolment map
///   `model utterance...`), Kaldi's num_utts.ark written as text (`key integer`), score files
///   (`enrol test score`, as ivector-plda-scoring writes them), trial lists (Kaldi's, stklia's, or
///   bare `enrol test` pairs) and segments files (`utterance recording start end`).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/eval/trials.hpp"
#include "ivkit/io/data_dir.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/line_reader.hpp"
#include "ivkit/io/trial_scores.hpp"

namespace ivkit {

/// Speakers and their utterances, from utt2spk or spk2utt.
struct SpeakerMap {
  std::string source;                                    ///< the file read
  std::vector<std::string> speakers;                     ///< first appearance order
  std::vector<std::vector<std::string>> utterances;      ///< utterances of each speaker, file order
  std::unordered_map<std::string, std::size_t> speaker_index;    ///< speaker -> index
  std::unordered_map<std::string, std::size_t> utterance_speaker;  ///< utterance -> speaker index
  std::unordered_map<std::string, std::size_t> utterance_line;     ///< utterance -> line in `source`
  std::size_t num_utterances() const { return utterance_speaker.size(); }
};

/// Scores `enrol test score` per line.
struct ScoreList {
  std::string source;
  std::vector<std::string> enrol, test;
  std::vector<double> scores;
  std::vector<std::size_t> lines;
  std::size_t size() const { return scores.size(); }
};

/// A trial list: Kaldi's `enrol test target|nontarget`, stklia's `1|0 enrol test`, or, where the
/// labels are not needed (scoring), bare pairs `enrol test` (what Kaldi's ivector-plda-scoring and
/// ivector-compute-dot-products read).
struct TrialList {
  Trials trials;          ///< labels all false for pairs
  bool labelled = true;   ///< false for pairs
  std::string format;     ///< "kaldi", "stklia" or "pairs"
};

namespace detail {

// Calls f(fields, line number) for every non-blank line. @throws IoError
inline void for_each_line(const std::string& path, const std::function<void(const std::vector<std::string>&, std::size_t)>& f) {
  LineReader in(path);
  std::string_view line;
  std::vector<std::string> fields;
  while (in.next(line)) {
    fields.clear();
    for (const auto field : split_fields(line)) fields.emplace_back(field);
    if (!fields.empty()) f(fields, in.line_number());
  }
}

inline std::string table_line(const std::string& path, std::size_t line) { return message("'", path, "' line ", line, ": "); }

inline void add_utterance(SpeakerMap& m, const std::string& utt, std::size_t spk, std::size_t line) {
  const auto [it, inserted] = m.utterance_speaker.emplace(utt, spk);
  if (!inserted)
    throw FormatError(message(table_line(m.source, line), "utterance '", utt, "' appears twice (first on line ", m.utterance_line.at(utt), ")"));
  m.utterance_line.emplace(utt, line);
  m.utterances[spk].push_back(utt);
}

inline void check_not_empty(const SpeakerMap& m) {
  if (m.speakers.empty()) throw FormatError(message("'", m.source, "' lists no utterances"));
}

}  // namespace detail

/// `utterance speaker` per line. @throws IoError, FormatError (field count, an utterance twice)
inline SpeakerMap read_utt2spk(const std::string& path) {
  SpeakerMap m;
  m.source = path;
  detail::for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() != 2) throw FormatError(detail::message(detail::table_line(path, line), "expected 2 fields 'utterance speaker', got ", f.size()));
    const auto [it, added] = m.speaker_index.emplace(f[1], m.speakers.size());
    if (added) {
      m.speakers.push_back(f[1]);
      m.utterances.emplace_back();
    }
    detail::add_utterance(m, f[0], it->second, line);
  });
  detail::check_not_empty(m);
  return m;
}

/// `speaker utterance...` per line (spk2utt, or an enrolment map `model utterance...`).
/// @throws IoError, FormatError (no utterance, a speaker or an utterance twice)
inline SpeakerMap read_spk2utt(const std::string& path) {
  SpeakerMap m;
  m.source = path;
  std::unordered_map<std::string, std::size_t> first_line;
  detail::for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() < 2) throw FormatError(detail::message(detail::table_line(path, line), "expected 'speaker utterance...', got only '", f[0], "'"));
    const auto [it, added] = first_line.emplace(f[0], line);
    if (!added) throw FormatError(detail::message(detail::table_line(path, line), "'", f[0], "' appears twice (first on line ", it->second, ")"));
    m.speaker_index.emplace(f[0], m.speakers.size());
    m.speakers.push_back(f[0]);
    m.utterances.emplace_back();
    for (std::size_t k = 1; k < f.size(); ++k) detail::add_utterance(m, f[k], m.speakers.size() - 1, line);
  });
  detail::check_not_empty(m);
  return m;
}

/// `key integer` per line (Kaldi's num_utts.ark written with ark,t:; an `ark:` or `ark,t:` prefix of
/// the name is accepted). @throws IoError, FormatError (binary data, a key twice, a bad count)
inline std::unordered_map<std::string, long long> read_int_table(const std::string& name) {
  std::string path = name;
  for (const char* prefix : {"ark,t:", "ark:"})
    if (path.rfind(prefix, 0) == 0) path = path.substr(std::char_traits<char>::length(prefix));
  {
    std::ifstream probe(path, std::ios::binary);
    if (probe && probe.peek() == 0)
      throw FormatError(detail::message("'", path, "' is a binary table; write it as text (ark,t:) to use it here"));
  }
  std::unordered_map<std::string, long long> out;
  std::unordered_map<std::string, std::size_t> lines;
  detail::for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() != 2) throw FormatError(detail::message(detail::table_line(path, line), "expected 2 fields 'key count', got ", f.size()));
    long long v = 0;
    const auto r = std::from_chars(f[1].data(), f[1].data() + f[1].size(), v);
    if (r.ec != std::errc() || r.ptr != f[1].data() + f[1].size())
      throw FormatError(detail::message(detail::table_line(path, line), "'", f[1], "' is not an integer"));
    if (!lines.emplace(f[0], line).second)
      throw FormatError(detail::message(detail::table_line(path, line), "'", f[0], "' appears twice (first on line ", lines.at(f[0]), ")"));
    out.emplace(f[0], v);
  });
  return out;
}

/// @throws IoError, FormatError (field count, a score that is not a number, a pair twice)
inline ScoreList read_scores(const std::string& path) {
  ScoreList s;
  s.source = path;
  LineReader in(path);
  detail::ScoreKeyIndex seen;  // "enrol test" -> line
  std::string_view f[4];
  std::size_t n = 0;
  while (detail::next_fields(in, f, n)) {
    const auto line = detail::parse_score_fields(f, n, path, in.line_number());
    seen.insert(line.enrol, line.test, line.score, in.line_number(), path);
    s.enrol.emplace_back(line.enrol);
    s.test.emplace_back(line.test);
    s.scores.push_back(line.score);
    s.lines.push_back(in.line_number());
  }
  if (s.scores.empty()) throw FormatError(detail::message("'", path, "' holds no scores"));
  return s;
}

/// Reads a trial list from `path` ("-": stdin). `format`: "auto" (decided by the first non-blank
/// line: two fields are pairs, when `allow_pairs`), "kaldi", "stklia" or "pairs".
/// @throws IoError, FormatError naming the file and the line, InvalidArgument (pairs where they are
/// not allowed)
inline TrialList read_trial_list(const std::string& path, const std::string& format, bool allow_pairs) {
  LineReader in(path);
  const std::string& source = in.source();
  TrialList out;
  out.trials.source = source;
  std::string fmt = format;
  TrialFormat tf = fmt == "kaldi" ? TrialFormat::Kaldi : fmt == "stklia" ? TrialFormat::Stklia : TrialFormat::Auto;
  std::string_view f[4];
  std::size_t n = 0;
  bool first = true;
  while (detail::next_fields(in, f, n)) {
    if (first && fmt == "auto" && allow_pairs && n == 2) fmt = "pairs";
    first = false;
    if (fmt == "pairs") {
      if (!allow_pairs) throw InvalidArgument("trial pairs without labels cannot be evaluated: give 'enrol test target|nontarget' lines");
      if (n != 2)
        throw FormatError(detail::message(detail::table_line(source, in.line_number()),
                                          "expected 2 fields 'enrol test' (the format of the first line), got ", n));
      out.trials.add(std::string(f[0]), std::string(f[1]), false);
    } else {
      const auto t = detail::parse_trial_fields(f, n, tf, source, in.line_number());
      out.trials.add(std::string(t.enrol), std::string(t.test), t.target);
    }
    out.trials.lines.push_back(in.line_number());
  }
  if (out.trials.empty()) throw FormatError(detail::message("'", source, "' holds no trials"));
  out.labelled = fmt != "pairs";
  out.format = fmt == "pairs" ? "pairs" : format_name(tf);
  out.trials.format = tf;
  return out;
}

/// A Kaldi segments file: `utterance recording start end [channel]` (seconds; end -1 = to the end of
/// the recording). @throws IoError, FormatError naming the line (field count, bad times, an
/// utterance twice)
inline std::vector<KaldiSegment> read_kaldi_segments(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(detail::message("cannot open the segments file '", path, "'"));
  std::vector<KaldiSegment> out;
  std::unordered_map<std::string, std::size_t> seen;
  std::string line;
  for (std::size_t no = 1; std::getline(in, line); ++no) {
    std::vector<std::string> f;
    std::size_t p = 0;
    while ((p = line.find_first_not_of(" \t\r\n\f\v", p)) != std::string::npos) {
      const auto e = line.find_first_of(" \t\r\n\f\v", p);
      f.push_back(line.substr(p, e == std::string::npos ? std::string::npos : e - p));
      p = e;
    }
    if (f.empty()) continue;
    const std::string at = detail::table_line(path, no);
    if (f.size() != 4 && f.size() != 5)  // Kaldi allows a fifth field, the channel
      throw FormatError(detail::message(at, "expected 'utterance recording start end', got ", f.size(), " fields"));
    KaldiSegment s;
    s.utterance = f[0];
    s.recording = f[1];
    s.line = no;
    if (!detail::kaldi_parse_real(f[2], s.start) || !detail::kaldi_parse_real(f[3], s.end) || !std::isfinite(s.start) ||
        !std::isfinite(s.end))
      throw FormatError(detail::message(at, "bad times '", f[2], " ", f[3], "'"));
    if (s.start < 0 || (s.end != -1 && s.end <= s.start))
      throw FormatError(detail::message(at, "bad times '", f[2], " ", f[3], "' (need 0 <= start < end, or end -1 for the end of the recording)"));
    if (!seen.emplace(s.utterance, no).second)
      throw FormatError(detail::message(at, "utterance '", s.utterance, "' appears twice (first on line ", seen[s.utterance], ")"));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ivkit
