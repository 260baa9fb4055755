/// @file
/// Speaker turns ("who spoke when") and their RTTM files (NIST's Rich Transcription Time Marked
/// format, as md-eval.pl, Kaldi's diarisation recipes and pyannote read and write it):
///
///     SPEAKER <recording> <channel> <start> <duration> <NA> <NA> <speaker> <NA> <NA>
///
/// and the turns of a recording from labelled, possibly overlapping windows (Kaldi's make_rttm.py
/// rule: two consecutive windows that overlap are cut at the middle of their overlap, and touching
/// windows of one label become one turn).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/file_io.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/line_reader.hpp"

namespace ivkit {

/// One speaker's turn in one recording, in seconds.
struct SpeakerTurn {
  std::string recording;
  double start = 0.0;
  double duration = 0.0;
  std::string speaker;
  std::size_t line = 0;  ///< line in the file it was read from (0: not read)

  double end() const { return start + duration; }
};

/// Reads the SPEAKER lines of an RTTM file (other types, e.g. SPKR-INFO, are skipped; so are blank
/// lines and lines starting with ';;'). At least 8 fields; the channel and the <NA> fields are not
/// checked.
/// @throws IoError, FormatError naming the line (too few fields, a start or duration that is not a
///         finite number, a negative start, a duration <= 0)
inline std::vector<SpeakerTurn> read_rttm(const std::string& path) {
  LineReader in(path);
  std::vector<SpeakerTurn> turns;
  std::string_view line;
  std::string_view f[10];
  while (in.next(line)) {
    const std::size_t n = detail::split_fields_into(line, f, 10);
    if (n == 0 || f[0].substr(0, 2) == ";;" || f[0] != "SPEAKER") continue;
    const std::string at = detail::message("'", in.source(), "' line ", in.line_number(), ": ");
    if (n < 8) throw FormatError(detail::message(at, "expected 'SPEAKER recording channel start duration <NA> <NA> speaker ...', got ", n, " fields"));
    SpeakerTurn t;
    t.recording = std::string(f[1]);
    t.speaker = std::string(f[7]);
    t.line = in.line_number();
    if (!detail::kaldi_parse_real(f[3], t.start) || !detail::kaldi_parse_real(f[4], t.duration) || !std::isfinite(t.start) ||
        !std::isfinite(t.duration))
      throw FormatError(detail::message(at, "bad start or duration '", f[3], " ", f[4], "'"));
    if (t.start < 0) throw FormatError(detail::message(at, "negative start ", t.start));
    if (!(t.duration > 0)) throw FormatError(detail::message(at, "the duration must be positive, got ", t.duration));
    turns.push_back(std::move(t));
  }
  return turns;
}

/// Writes turns as RTTM SPEAKER lines (channel 1, times to the millisecond), through a temporary
/// file renamed into place. @throws IoError
inline void write_rttm(const std::string& path, const std::vector<SpeakerTurn>& turns) {
  std::string text;
  char buf[64];
  for (const auto& t : turns) {
    text += "SPEAKER " + t.recording + " 1 ";
    std::snprintf(buf, sizeof buf, "%.3f %.3f", t.start, t.duration);
    text += buf;
    text += " <NA> <NA> " + t.speaker + " <NA> <NA>\n";
  }
  write_file_atomically("write_rttm", path, text);
}

/// Turns grouped by recording (recordings in name order, turns by start time).
inline std::map<std::string, std::vector<SpeakerTurn>> turns_by_recording(std::vector<SpeakerTurn> turns) {
  std::map<std::string, std::vector<SpeakerTurn>> out;
  for (auto& t : turns) out[t.recording].push_back(std::move(t));
  for (auto& [r, v] : out)
    std::stable_sort(v.begin(), v.end(), [](const SpeakerTurn& a, const SpeakerTurn& b) { return a.start < b.start; });
  return out;
}

/// A window of a recording (seconds).
struct TimeWindow {
  double start = 0.0, end = 0.0;
};

/// The turns of one recording from its windows (in order of start time) and their cluster labels:
/// where two consecutive windows overlap both are cut at the middle of the overlap, then touching
/// windows with the same label are joined (Kaldi's make_rttm.py). Speakers are named
/// `speaker_prefix` + label.
/// @throws InvalidArgument (sizes differ, windows out of order, empty or negative windows)
inline std::vector<SpeakerTurn> turns_from_windows(const std::string& recording, const std::vector<TimeWindow>& windows,
                                                   const std::vector<Index>& labels, const std::string& speaker_prefix = "spk") {
  constexpr const char* fn = "turns_from_windows";
  if (windows.size() != labels.size())
    throw InvalidArgument(detail::message(fn, ": ", windows.size(), " windows but ", labels.size(), " labels"));
  std::vector<TimeWindow> w = windows;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!(w[i].start >= 0 && w[i].end > w[i].start) || !std::isfinite(w[i].end))
      throw InvalidArgument(detail::message(fn, ": window ", i, " of '", recording, "' is [", w[i].start, ", ", w[i].end, "]"));
    if (i > 0 && w[i].start < w[i - 1].start)
      throw InvalidArgument(detail::message(fn, ": the windows of '", recording, "' are not in order of start time (window ", i, ")"));
  }
  for (std::size_t i = 0; i + 1 < w.size(); ++i)
    if (w[i].end > w[i + 1].start) {
      const double mid = 0.5 * (w[i].end + w[i + 1].start);
      w[i].end = mid;
      w[i + 1].start = mid;
    }
  std::vector<SpeakerTurn> turns;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!(w[i].end > w[i].start)) continue;  // a window inside its neighbours' overlap
    const std::string spk = speaker_prefix + std::to_string(labels[i]);
    if (!turns.empty() && turns.back().speaker == spk && std::abs(turns.back().end() - w[i].start) < 1e-9) {
      turns.back().duration = w[i].end - turns.back().start;
      continue;
    }
    SpeakerTurn t;
    t.recording = recording;
    t.start = w[i].start;
    t.duration = w[i].end - w[i].start;
    t.speaker = spk;
    turns.push_back(std::move(t));
  }
  return turns;
}

}  // namespace ivkit
