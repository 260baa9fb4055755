// The small text files of a recipe: utt2spk, spk2utt (or any "key item item..." map such as an
// enrolment map), Kaldi's num_utts.ark ("key count"), and score files ("enrol test score", as
// ivector-plda-scoring writes them). Errors are ivkit::FormatError naming the file and the line.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/eval/trials.hpp>

namespace ivkit_tools {

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

/// `utterance speaker` per line. @throws ivkit::IoError, ivkit::FormatError (field count, an utterance twice)
SpeakerMap read_utt2spk(const std::string& path);
/// `speaker utterance...` per line (spk2utt, or an enrolment map `model utterance...`).
/// @throws ivkit::IoError, ivkit::FormatError (no utterance, a speaker or an utterance twice)
SpeakerMap read_spk2utt(const std::string& path);

/// `key integer` per line (Kaldi's num_utts.ark written with ark,t:; an `ark:` or `ark,t:` prefix
/// of the name is accepted). @throws ivkit::IoError, ivkit::FormatError (binary data, a key twice, a bad count)
std::unordered_map<std::string, long long> read_int_table(const std::string& path);

/// Scores `enrol test score` per line.
struct ScoreList {
  std::string source;
  std::vector<std::string> enrol, test;
  std::vector<double> scores;
  std::vector<std::size_t> lines;
  std::size_t size() const { return scores.size(); }
};
/// @throws ivkit::IoError, ivkit::FormatError (field count, a score that is not a number, a pair twice)
ScoreList read_scores(const std::string& path);

/// A trial list: Kaldi's `enrol test target|nontarget`, stklia's `1|0 enrol test`, or, where the
/// labels are not needed (scoring), bare pairs `enrol test` (what Kaldi's ivector-plda-scoring and
/// ivector-compute-dot-products read).
struct TrialList {
  ivkit::Trials trials;   ///< labels all false for pairs
  bool labelled = true;   ///< false for pairs
  std::string format;     ///< "kaldi", "stklia" or "pairs"
};
/// Reads a trial list from `path` ("-": stdin). `format`: "auto" (decided by the first non-blank
/// line: two fields are pairs, when `allow_pairs`), "kaldi", "stklia" or "pairs".
/// @throws ivkit::IoError, ivkit::FormatError naming the file and the line, ivkit::InvalidArgument
/// (pairs where they are not allowed)
TrialList read_trial_list(const std::string& path, const std::string& format, bool allow_pairs);

/// One line of a Kaldi segments file: `utterance recording start end` (seconds; end -1 = to the end
/// of the recording).
struct Segment {
  std::string utterance, recording;
  double start = 0, end = -1;
  std::size_t line = 0;
};

/// Reads a segments file. @throws ivkit::IoError, ivkit::FormatError naming the file and line
std::vector<Segment> read_segments(const std::string& path);

/// Splits a line into white-space separated fields.
std::vector<std::string> split_fields(const std::string& line);

}  // namespace ivkit_tools
