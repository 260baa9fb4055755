// The recipes' small text tables: the library's (ivkit/io/text_tables.hpp), under the tools' names.
#pragma once

#include <string>
#include <vector>

#include <ivkit/io/text_tables.hpp>

namespace ivkit_tools {

using ivkit::read_int_table;
using ivkit::read_scores;
using ivkit::read_spk2utt;
using ivkit::read_trial_list;
using ivkit::read_utt2spk;
using ivkit::ScoreList;
using ivkit::SpeakerMap;
using ivkit::TrialList;
using Segment = ivkit::KaldiSegment;

inline std::vector<Segment> read_segments(const std::string& path) { return ivkit::read_kaldi_segments(path); }

}  // namespace ivkit_tools
