#include "common/text_tables.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>

#include <ivkit/core/error.hpp>
#include <ivkit/io/kaldi_io.hpp>

namespace ivkit_tools {

using ivkit::detail::message;

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (i < line.size()) {
    while (i < line.size() && space(line[i])) ++i;
    if (i >= line.size()) break;
    const std::size_t j = i;
    while (i < line.size() && !space(line[i])) ++i;
    out.push_back(line.substr(j, i - j));
  }
  return out;
}

namespace {

// Calls f(fields, line number) for every non-blank line. @throws IoError
void for_each_line(const std::string& path, const std::function<void(const std::vector<std::string>&, std::size_t)>& f) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ivkit::IoError(message("cannot open '", path, "'"));
  std::string line;
  std::size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    const auto fields = split_fields(line);
    if (!fields.empty()) f(fields, no);
  }
  if (in.bad()) throw ivkit::IoError(message("error reading '", path, "'"));
}

std::string at(const std::string& path, std::size_t line) { return message("'", path, "' line ", line, ": "); }

void add_utterance(SpeakerMap& m, const std::string& utt, std::size_t spk, std::size_t line) {
  const auto [it, inserted] = m.utterance_speaker.emplace(utt, spk);
  if (!inserted)
    throw ivkit::FormatError(message(at(m.source, line), "utterance '", utt, "' appears twice (first on line ", m.utterance_line.at(utt), ")"));
  m.utterance_line.emplace(utt, line);
  m.utterances[spk].push_back(utt);
}

void check_not_empty(const SpeakerMap& m) {
  if (m.speakers.empty()) throw ivkit::FormatError(message("'", m.source, "' lists no utterances"));
}

}  // namespace

SpeakerMap read_utt2spk(const std::string& path) {
  SpeakerMap m;
  m.source = path;
  for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() != 2) throw ivkit::FormatError(message(at(path, line), "expected 2 fields 'utterance speaker', got ", f.size()));
    const auto [it, added] = m.speaker_index.emplace(f[1], m.speakers.size());
    if (added) {
      m.speakers.push_back(f[1]);
      m.utterances.emplace_back();
    }
    add_utterance(m, f[0], it->second, line);
  });
  check_not_empty(m);
  return m;
}

SpeakerMap read_spk2utt(const std::string& path) {
  SpeakerMap m;
  m.source = path;
  std::unordered_map<std::string, std::size_t> first_line;
  for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() < 2) throw ivkit::FormatError(message(at(path, line), "expected 'speaker utterance...', got only '", f[0], "'"));
    const auto [it, added] = first_line.emplace(f[0], line);
    if (!added) throw ivkit::FormatError(message(at(path, line), "'", f[0], "' appears twice (first on line ", it->second, ")"));
    m.speaker_index.emplace(f[0], m.speakers.size());
    m.speakers.push_back(f[0]);
    m.utterances.emplace_back();
    for (std::size_t k = 1; k < f.size(); ++k) add_utterance(m, f[k], m.speakers.size() - 1, line);
  });
  check_not_empty(m);
  return m;
}

std::unordered_map<std::string, long long> read_int_table(const std::string& name) {
  std::string path = name;
  for (const char* prefix : {"ark,t:", "ark:"})
    if (path.rfind(prefix, 0) == 0) path = path.substr(std::char_traits<char>::length(prefix));
  {
    std::ifstream probe(path, std::ios::binary);
    if (probe && probe.peek() == 0)
      throw ivkit::FormatError(message("'", path, "' is a binary table; write it as text (ark,t:) to use it here"));
  }
  std::unordered_map<std::string, long long> out;
  std::unordered_map<std::string, std::size_t> lines;
  for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() != 2) throw ivkit::FormatError(message(at(path, line), "expected 2 fields 'key count', got ", f.size()));
    long long v = 0;
    const auto r = std::from_chars(f[1].data(), f[1].data() + f[1].size(), v);
    if (r.ec != std::errc() || r.ptr != f[1].data() + f[1].size())
      throw ivkit::FormatError(message(at(path, line), "'", f[1], "' is not an integer"));
    if (!lines.emplace(f[0], line).second)
      throw ivkit::FormatError(message(at(path, line), "'", f[0], "' appears twice (first on line ", lines.at(f[0]), ")"));
    out.emplace(f[0], v);
  });
  return out;
}

ScoreList read_scores(const std::string& path) {
  ScoreList s;
  s.source = path;
  std::unordered_map<std::string, std::size_t> seen;  // "enrol test" -> line
  for_each_line(path, [&](const std::vector<std::string>& f, std::size_t line) {
    if (f.size() != 3) throw ivkit::FormatError(message(at(path, line), "expected 3 fields 'enrol test score', got ", f.size()));
    double v = 0;
    if (!ivkit::detail::kaldi_parse_real(f[2], v) || std::isnan(v))
      throw ivkit::FormatError(message(at(path, line), "the score '", f[2], "' is not a number"));
    const auto [it, added] = seen.emplace(f[0] + ' ' + f[1], line);
    if (!added)
      throw ivkit::FormatError(message(at(path, line), "the pair '", f[0], " ", f[1], "' already has a score (line ", it->second, ")"));
    s.enrol.push_back(f[0]);
    s.test.push_back(f[1]);
    s.scores.push_back(v);
    s.lines.push_back(line);
  });
  if (s.scores.empty()) throw ivkit::FormatError(message("'", path, "' holds no scores"));
  return s;
}

TrialList read_trial_list(const std::string& path, const std::string& format, bool allow_pairs) {
  const bool from_stdin = path == "-";
  const std::string source = from_stdin ? std::string("stdin") : path;
  std::string text;
  if (from_stdin) {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) throw ivkit::IoError("error reading the trials from stdin");
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ivkit::IoError(message("cannot open the trial list '", path, "'"));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) throw ivkit::IoError(message("error reading '", path, "'"));
  }
  if (text.find('\0') != std::string::npos)
    throw ivkit::FormatError(message("'", source, "' holds binary data, not a trial list"));
  std::string fmt = format;
  if (fmt == "auto" && allow_pairs) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      const auto f = split_fields(line);
      if (f.empty()) continue;
      if (f.size() == 2) fmt = "pairs";
      break;
    }
  }
  TrialList out;
  if (fmt == "pairs") {
    if (!allow_pairs) throw ivkit::InvalidArgument("trial pairs without labels cannot be evaluated: give 'enrol test target|nontarget' lines");
    out.labelled = false;
    out.format = "pairs";
    out.trials.source = source;
    std::istringstream in(text);
    std::string line;
    std::size_t no = 0;
    while (std::getline(in, line)) {
      ++no;
      const auto f = split_fields(line);
      if (f.empty()) continue;
      if (f.size() != 2)
        throw ivkit::FormatError(message(at(source, no), "expected 2 fields 'enrol test' (the format of the first line), got ", f.size()));
      out.trials.add(f[0], f[1], false);
      out.trials.lines.push_back(no);
    }
    if (out.trials.empty()) throw ivkit::FormatError(message("'", source, "' holds no trials"));
    return out;
  }
  ivkit::TrialFormat tf = ivkit::TrialFormat::Auto;
  if (fmt == "kaldi") tf = ivkit::TrialFormat::Kaldi;
  else if (fmt == "stklia") tf = ivkit::TrialFormat::Stklia;
  std::istringstream in(text);
  out.trials = ivkit::read_trials(in, tf, source);
  out.format = ivkit::format_name(out.trials.format);
  return out;
}

std::vector<Segment> read_segments(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ivkit::IoError(message("cannot open the segments file '", path, "'"));
  std::vector<Segment> out;
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
    const std::string at = message("'", path, "' line ", no, ": ");
    if (f.size() != 4 && f.size() != 5)  // Kaldi allows a fifth field, the channel
      throw ivkit::FormatError(message(at, "expected 'utterance recording start end', got ", f.size(), " fields"));
    Segment s;
    s.utterance = f[0];
    s.recording = f[1];
    s.line = no;
    char* end1 = nullptr;
    char* end2 = nullptr;
    s.start = std::strtod(f[2].c_str(), &end1);
    s.end = std::strtod(f[3].c_str(), &end2);
    if (*end1 != '\0' || *end2 != '\0' || !std::isfinite(s.start) || !std::isfinite(s.end))
      throw ivkit::FormatError(message(at, "bad times '", f[2], " ", f[3], "'"));
    if (s.start < 0 || (s.end != -1 && s.end <= s.start))
      throw ivkit::FormatError(message(at, "bad times '", f[2], " ", f[3], "' (need 0 <= start < end, or end -1 for the end of the recording)"));
    if (!seen.emplace(s.utterance, no).second)
      throw ivkit::FormatError(message(at, "utterance '", s.utterance, "' appears twice (first on line ", seen[s.utterance], ")"));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ivkit_tools
