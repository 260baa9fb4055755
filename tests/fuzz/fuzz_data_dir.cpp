// Fuzz harness: Kaldi data folders (ivkit/io/data_dir.hpp read_kaldi_data_dir): utt2spk, spk2utt,
// feats.scp, vad.scp, wav.scp, segments and trials, checked for consistency.
//
// Input: the files of one folder, each introduced by a line `==<name>` (`==utt2spk`, `==segments`,
// ...; a name outside the list above is ignored); the first byte, taken modulo 2, sets
// KaldiDataDirOptions::all_utterances_have_features. The harness writes the files into a folder of
// its own under the temporary directory (emptied for every input) and reads it. A folder that
// reads must list its utterances once each, in the order of utt2spk.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "harness.hpp"
#include "ivkit/io/data_dir.hpp"

namespace {

namespace fs = std::filesystem;

// The harness's folder, removed when the process ends.
struct Folder {
  fs::path path = fs::temp_directory_path() / ("ivkit_fuzz_data_dir." + std::to_string(::getpid()));
  ~Folder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& folder() {
  static const Folder f;
  return f.path;
}

bool known_file(const std::string& name) {
  static const std::set<std::string> names{"utt2spk", "spk2utt", "feats.scp", "vad.scp", "wav.scp", "segments", "trials"};
  return names.count(name) != 0;
}

// Splits the input at lines `==<name>` and writes each known file.
void write_files(const std::string& text) {
  fs::remove_all(folder());
  fs::create_directories(folder());
  std::string name;
  std::string content;
  auto flush = [&] {
    if (!name.empty() && known_file(name)) {
      std::ofstream out(folder() / name, std::ios::binary | std::ios::trunc);
      out << content;
    }
    content.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    if (line.compare(0, 2, "==") == 0) {
      flush();
      name = line.substr(2);
    } else {
      content += line;
      if (!last) content += '\n';
    }
    pos = end + 1;
  }
  flush();
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  if (bytes.empty()) return;
  ivkit::KaldiDataDirOptions opts;
  opts.all_utterances_have_features = (static_cast<unsigned char>(bytes[0]) & 1) != 0;
  write_files(bytes.substr(1));
  const ivkit::KaldiDataDir d = ivkit::read_kaldi_data_dir(folder().string(), opts);
  std::set<std::string> seen;
  for (const std::string& u : d.utterances) ivkit_fuzz::require(seen.insert(u).second, "an utterance listed twice");
  ivkit_fuzz::require(d.utterances.size() == d.utterance_ids.size(), "utterance index and list of the same size");
}
