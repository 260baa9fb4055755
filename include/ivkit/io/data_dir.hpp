/// @file
/// Kaldi data folders (`data/train`, `data/sre16_eval_test`, ...): the speaker map and the tables a
/// speaker-recognition recipe reads, checked for consistency the way Kaldi's
/// `utils/validate_data_dir.sh` checks them, with errors that name the file and the line.
///
/// Files (one entry per line, fields separated by white space):
///   utt2spk     `utterance speaker` (required)
///   spk2utt     `speaker utterance...` (optional; must agree with utt2spk exactly)
///   feats.scp   `utterance location` (optional; location as in script files: ark:offset, ranges)
///   vad.scp     `utterance location` (optional; Kaldi's compute-vad output)
///   wav.scp     `recording rest-of-line` (optional; a file name or a command ending in `|`, kept as text)
///   segments    `utterance recording start end` (optional; seconds, end -1 = to the end of the recording)
///   trials      `enrol test target|nontarget` or `1|0 enrol test` (optional; read by ivkit/eval/trials.hpp)
///
/// Checks: every line has the right number of fields; no id appears twice in a file; spk2utt lists
/// exactly the utterances of utt2spk under the same speakers; every key of feats.scp and vad.scp is
/// an utterance of utt2spk; every utterance has features when feats.scp exists (unless
/// KaldiDataDirOptions::all_utterances_have_features is off); segments name known utterances and,
/// when wav.scp exists, its recordings; without segments, the keys of wav.scp are utterances. Files
/// need not be sorted (Kaldi requires C-locale sorting; ivkit keeps the file order). The trial list
/// is read but its ids are not checked (enrolment ids usually live in another folder).
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/trials.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_specifier.hpp"

namespace ivkit {

/// One line of a script-like file: the key, the rest of the line (trimmed), its 1-based line number.
struct KaldiScpEntry {
  std::string key;
  std::string location;
  std::size_t line = 0;
};

/// One line of `segments`.
struct KaldiSegment {
  std::string utterance;
  std::string recording;
  double start = 0;   ///< seconds
  double end = -1;    ///< seconds; -1 means the end of the recording
  std::size_t line = 0;
};

/// Which files must exist, and how strict the feature check is.
struct KaldiDataDirOptions {
  bool require_feats = false;
  bool require_vad = false;
  bool require_wav = false;
  bool require_segments = false;
  bool require_trials = false;
  /// When feats.scp exists, every utterance of utt2spk must have features (as validate_data_dir.sh).
  bool all_utterances_have_features = true;
};

/// A data folder: utterances and speakers (indices into each other), and the tables present.
struct KaldiDataDir {
  std::string path;                                 ///< the folder as given
  std::vector<std::string> utterances;              ///< in utt2spk order
  std::vector<Index> utterance_speaker;             ///< speaker index of each utterance
  std::vector<std::size_t> utterance_line;          ///< utt2spk line of each utterance
  std::vector<std::string> speakers;                ///< in spk2utt order (first appearance in utt2spk without spk2utt)
  std::vector<std::vector<Index>> speaker_utterances;  ///< utterance indices of each speaker, in file order
  std::unordered_map<std::string, Index> utterance_ids;  ///< utterance -> index
  std::unordered_map<std::string, Index> speaker_ids;    ///< speaker -> index
  std::vector<KaldiScpEntry> feats;                 ///< feats.scp, file order (empty when absent)
  std::vector<KaldiScpEntry> vad;                   ///< vad.scp
  std::vector<KaldiScpEntry> wav;                   ///< wav.scp
  std::vector<KaldiSegment> segments;               ///< segments
  std::optional<Trials> trials;                     ///< trials
  std::set<std::string> files;                      ///< the files that were found and read

  std::size_t num_utterances() const { return utterances.size(); }
  std::size_t num_speakers() const { return speakers.size(); }
  bool has(const std::string& file) const { return files.count(file) != 0; }
  /// `<path>/<file>`
  std::string file(const std::string& name) const { return (std::filesystem::path(path) / name).string(); }
  /// "scp:<path>/feats.scp", for KaldiSequentialReader / KaldiRandomAccessReader.
  std::string feats_rspecifier() const { return "scp:" + file("feats.scp"); }
  std::string vad_rspecifier() const { return "scp:" + file("vad.scp"); }

  /// Index of an utterance, or -1.
  Index utterance_index(const std::string& utt) const {
    const auto it = utterance_ids.find(utt);
    return it == utterance_ids.end() ? -1 : it->second;
  }
  /// Index of a speaker, or -1.
  Index speaker_index(const std::string& spk) const {
    const auto it = speaker_ids.find(spk);
    return it == speaker_ids.end() ? -1 : it->second;
  }
  /// The speaker of an utterance. @throws InvalidArgument for an unknown utterance
  const std::string& speaker_of(const std::string& utt) const {
    const Index u = utterance_index(utt);
    if (u < 0) throw InvalidArgument(detail::message("KaldiDataDir::speaker_of: utterance '", utt, "' is not in '", file("utt2spk"), "'"));
    return speakers[static_cast<std::size_t>(utterance_speaker[static_cast<std::size_t>(u)])];
  }
};

namespace detail {

struct KaldiTextLine {
  std::vector<std::string> fields;
  std::string rest;  // everything after the first field, trimmed
  std::size_t line = 0;
};

/// Reads a text table, skipping blank lines. @throws IoError when it cannot be read
inline std::vector<KaldiTextLine> kaldi_read_text_table(const char* fn, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::message(fn, ": cannot open '", path, "'"));
  std::vector<KaldiTextLine> out;
  std::string line;
  std::size_t no = 0;
  const char* ws = " \t\r\n\f\v";
  while (std::getline(in, line)) {
    ++no;
    const auto first = line.find_first_not_of(ws);
    if (first == std::string::npos) continue;
    KaldiTextLine t;
    t.line = no;
    for (const auto f : split_fields(line)) t.fields.emplace_back(f);
    const auto key_end = line.find_first_of(ws, first);
    if (key_end != std::string::npos) {
      const auto rest = line.find_first_not_of(ws, key_end);
      if (rest != std::string::npos) t.rest = line.substr(rest, line.find_last_not_of(ws) + 1 - rest);
    }
    out.push_back(std::move(t));
  }
  if (in.bad()) throw IoError(detail::message(fn, ": error reading '", path, "'"));
  return out;
}

}  // namespace detail

/// Reads and checks the data folder `dir` (see the file comment for the files and checks).
/// @throws FormatError naming the file and line of any inconsistency, or a required file that is
///         missing; IoError when a file exists but cannot be read (trials: read_trials' errors)
inline KaldiDataDir read_kaldi_data_dir(const std::string& dir, const KaldiDataDirOptions& opts = {}) {
  constexpr const char* fn = "read_kaldi_data_dir";
  namespace fs = std::filesystem;
  KaldiDataDir d;
  d.path = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FormatError(detail::message(fn, ": '", dir, "' is not a directory"));

  auto exists = [&](const std::string& name) { return fs::exists(d.file(name), ec); };
  auto at = [&](const std::string& name, std::size_t line) { return detail::message(fn, ": '", d.file(name), "' line ", line, ": "); };
  auto require = [&](const std::string& name, bool required) {
    if (exists(name)) {
      d.files.insert(name);
      return true;
    }
    if (required) throw FormatError(detail::message(fn, ": '", d.file(name), "' is missing"));
    return false;
  };

  // utt2spk
  require("utt2spk", true);
  for (auto& t : detail::kaldi_read_text_table(fn, d.file("utt2spk"))) {
    if (t.fields.size() != 2)
      throw FormatError(detail::message(at("utt2spk", t.line), "expected 2 fields 'utterance speaker', got ", t.fields.size()));
    const auto [it, inserted] = d.utterance_ids.emplace(t.fields[0], static_cast<Index>(d.utterances.size()));
    if (!inserted)
      throw FormatError(detail::message(at("utt2spk", t.line), "utterance '", t.fields[0], "' appears twice (first on line ",
                                        d.utterance_line[static_cast<std::size_t>(it->second)], ")"));
    d.utterances.push_back(t.fields[0]);
    d.utterance_line.push_back(t.line);
    const auto [sit, new_spk] = d.speaker_ids.emplace(t.fields[1], static_cast<Index>(d.speakers.size()));
    if (new_spk) {
      d.speakers.push_back(t.fields[1]);
      d.speaker_utterances.emplace_back();
    }
    d.utterance_speaker.push_back(sit->second);
    d.speaker_utterances[static_cast<std::size_t>(sit->second)].push_back(static_cast<Index>(d.utterances.size() - 1));
  }
  if (d.utterances.empty()) throw FormatError(detail::message(fn, ": '", d.file("utt2spk"), "' holds no utterances"));

  // spk2utt: must list the same utterances under the same speakers; its order wins.
  if (require("spk2utt", false)) {
    std::vector<std::string> speakers;
    std::vector<std::vector<Index>> members;
    std::unordered_map<std::string, std::size_t> spk_line;
    std::vector<std::size_t> utt_line(d.utterances.size(), 0);
    for (auto& t : detail::kaldi_read_text_table(fn, d.file("spk2utt"))) {
      if (t.fields.size() < 2)
        throw FormatError(detail::message(at("spk2utt", t.line), "expected 'speaker utterance...', got only '", t.fields[0], "'"));
      const std::string& spk = t.fields[0];
      const auto [lit, new_spk] = spk_line.emplace(spk, t.line);
      if (!new_spk)
        throw FormatError(detail::message(at("spk2utt", t.line), "speaker '", spk, "' appears twice (first on line ", lit->second, ")"));
      const Index s = d.speaker_index(spk);
      if (s < 0)
        throw FormatError(detail::message(at("spk2utt", t.line), "speaker '", spk, "' has no utterance in '", d.file("utt2spk"), "'"));
      speakers.push_back(spk);
      members.emplace_back();
      for (std::size_t k = 1; k < t.fields.size(); ++k) {
        const Index u = d.utterance_index(t.fields[k]);
        if (u < 0)
          throw FormatError(detail::message(at("spk2utt", t.line), "utterance '", t.fields[k], "' is not in '", d.file("utt2spk"), "'"));
        const auto ui = static_cast<std::size_t>(u);
        if (utt_line[ui] != 0)
          throw FormatError(detail::message(at("spk2utt", t.line), "utterance '", t.fields[k], "' appears twice (first on line ", utt_line[ui], ")"));
        utt_line[ui] = t.line;
        if (d.utterance_speaker[ui] != s)
          throw FormatError(detail::message(at("spk2utt", t.line), "utterance '", t.fields[k], "' is listed under speaker '", spk,
                                            "' but '", d.file("utt2spk"), "' line ", d.utterance_line[ui], " gives speaker '",
                                            d.speakers[static_cast<std::size_t>(d.utterance_speaker[ui])], "'"));
        members.back().push_back(u);
      }
    }
    for (std::size_t u = 0; u < d.utterances.size(); ++u)
      if (utt_line[u] == 0)
        throw FormatError(detail::message(at("utt2spk", d.utterance_line[u]), "utterance '", d.utterances[u], "' (speaker '",
                                          d.speakers[static_cast<std::size_t>(d.utterance_speaker[u])], "') is missing from '",
                                          d.file("spk2utt"), "'"));
    // Reindex speakers in spk2utt order.
    std::vector<Index> remap(d.speakers.size());
    for (std::size_t s = 0; s < speakers.size(); ++s) remap[static_cast<std::size_t>(d.speaker_ids.at(speakers[s]))] = static_cast<Index>(s);
    for (auto& s : d.utterance_speaker) s = remap[static_cast<std::size_t>(s)];
    d.speakers = std::move(speakers);
    d.speaker_utterances = std::move(members);
    for (std::size_t s = 0; s < d.speakers.size(); ++s) d.speaker_ids[d.speakers[s]] = static_cast<Index>(s);
  }

  // Script-like tables keyed by utterance.
  auto read_scp = [&](const std::string& name, bool required, std::vector<KaldiScpEntry>& out, bool complete) {
    if (!require(name, required)) return;
    std::unordered_map<std::string, std::size_t> seen;
    for (auto& t : detail::kaldi_read_text_table(fn, d.file(name))) {
      if (t.fields.size() < 2)
        throw FormatError(detail::message(at(name, t.line), "expected 'utterance location', got only '", t.fields[0], "'"));
      const auto [it, inserted] = seen.emplace(t.fields[0], t.line);
      if (!inserted)
        throw FormatError(detail::message(at(name, t.line), "utterance '", t.fields[0], "' appears twice (first on line ", it->second, ")"));
      if (d.utterance_index(t.fields[0]) < 0)
        throw FormatError(detail::message(at(name, t.line), "utterance '", t.fields[0], "' is not in '", d.file("utt2spk"), "'"));
      try {
        (void)parse_kaldi_location(t.rest);
      } catch (const InvalidArgument& e) {
        throw FormatError(detail::message(at(name, t.line), "utterance '", t.fields[0], "': ", e.what()));
      }
      out.push_back(KaldiScpEntry{t.fields[0], t.rest, t.line});
    }
    if (complete)
      for (std::size_t u = 0; u < d.utterances.size(); ++u)
        if (!seen.count(d.utterances[u]))
          throw FormatError(detail::message(at("utt2spk", d.utterance_line[u]), "utterance '", d.utterances[u], "' has no entry in '",
                                            d.file(name), "'"));
  };
  read_scp("feats.scp", opts.require_feats, d.feats, opts.all_utterances_have_features);
  read_scp("vad.scp", opts.require_vad, d.vad, false);

  // segments
  if (require("segments", opts.require_segments)) {
    std::unordered_map<std::string, std::size_t> seen;
    for (auto& t : detail::kaldi_read_text_table(fn, d.file("segments"))) {
      if (t.fields.size() != 4)
        throw FormatError(detail::message(at("segments", t.line), "expected 4 fields 'utterance recording start end', got ", t.fields.size()));
      const auto [it, inserted] = seen.emplace(t.fields[0], t.line);
      if (!inserted)
        throw FormatError(detail::message(at("segments", t.line), "utterance '", t.fields[0], "' appears twice (first on line ", it->second, ")"));
      if (d.utterance_index(t.fields[0]) < 0)
        throw FormatError(detail::message(at("segments", t.line), "utterance '", t.fields[0], "' is not in '", d.file("utt2spk"), "'"));
      KaldiSegment s;
      s.utterance = t.fields[0];
      s.recording = t.fields[1];
      s.line = t.line;
      if (!detail::kaldi_parse_real(t.fields[2], s.start) || !detail::kaldi_parse_real(t.fields[3], s.end) || !(s.start >= 0) ||
          !(s.end == -1 || s.end > s.start))
        throw FormatError(detail::message(at("segments", t.line), "bad times '", t.fields[2], " ", t.fields[3],
                                          "' (expected 0 <= start < end, or end -1)"));
      d.segments.push_back(std::move(s));
    }
  }

  // wav.scp: keyed by recording with segments, by utterance without.
  if (require("wav.scp", opts.require_wav)) {
    std::unordered_map<std::string, std::size_t> seen;
    const bool by_recording = d.has("segments");
    for (auto& t : detail::kaldi_read_text_table(fn, d.file("wav.scp"))) {
      if (t.fields.size() < 2)
        throw FormatError(detail::message(at("wav.scp", t.line), "expected 'recording file-or-command', got only '", t.fields[0], "'"));
      const auto [it, inserted] = seen.emplace(t.fields[0], t.line);
      if (!inserted)
        throw FormatError(detail::message(at("wav.scp", t.line), "'", t.fields[0], "' appears twice (first on line ", it->second, ")"));
      if (!by_recording && d.utterance_index(t.fields[0]) < 0)
        throw FormatError(detail::message(at("wav.scp", t.line), "'", t.fields[0], "' is not an utterance of '", d.file("utt2spk"),
                                          "' (and there is no segments file)"));
      d.wav.push_back(KaldiScpEntry{t.fields[0], t.rest, t.line});
    }
    for (const auto& s : d.segments)
      if (!seen.count(s.recording))
        throw FormatError(detail::message(at("segments", s.line), "recording '", s.recording, "' is not in '", d.file("wav.scp"), "'"));
  }

  if (require("trials", opts.require_trials)) d.trials = read_trials(d.file("trials"));
  return d;
}

}  // namespace ivkit
