// Audio tables for ivkit-compute-features, as Kaldi's wave readers take them:
//
//  - `scp:wav.scp`: `recording file` or `recording command |` (the command writes a WAV file to its
//    standard output: `sox x.flac -t wav - |`, `sph2pipe -f wav x.sph |`); a command that fails is
//    an error naming it and the line.
//  - `ark:FILE` / `ark:-` / `ark:cmd |`: a wave archive, `key RIFF...` objects back to back (what
//    Kaldi's extract-segments and wav-copy write).
//  - a `segments` file (`utterance recording start end`, seconds, end -1 = to the end) cuts
//    utterances out of the recordings, as Kaldi's extract-segments: samples int(start * rate) to
//    int(end * rate) in float arithmetic, as Kaldi computes them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/features/wav_reader.hpp>

#include "common/text_tables.hpp"

namespace ivkit_tools {

/// One audio object of a table.
struct Recording {
  std::string key;
  ivkit::WavData wav;
  std::string origin;  ///< "'wav.scp' line 3" / "'x.ark' offset 123", for messages
};

/// Reads an audio rspecifier in table order.
class WaveReader {
 public:
  /// @throws ivkit::InvalidArgument for an rspecifier that is not ark: or scp:, IoError when it cannot be opened
  WaveReader(const std::string& rspecifier, const ivkit::WavReadOptions& opts);
  ~WaveReader();
  /// The next recording, or false at the end. @throws ivkit::Error naming the entry
  bool next(Recording& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Recordings by key (for segments): a script is indexed by its lines and each entry read when
/// asked for (the last one cached, so segments grouped by recording read each file once); an archive
/// is read whole.
class WaveTable {
 public:
  WaveTable(const std::string& rspecifier, const ivkit::WavReadOptions& opts);
  ~WaveTable();
  bool has(const std::string& key) const;
  /// @throws ivkit::Error naming the entry when it cannot be read
  const Recording& get(const std::string& key);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The samples of `seg` cut from `rec` (Kaldi's extract-segments arithmetic). An end at most
/// `max_overshoot` seconds beyond the recording is cut at its end.
/// @throws ivkit::FormatError naming the segments file and line for a segment that starts at or
///         beyond the end of the recording or ends more than `max_overshoot` beyond it
ivkit::WavData cut_segment(const Recording& rec, const Segment& seg, double max_overshoot, const std::string& segments_path);

}  // namespace ivkit_tools
