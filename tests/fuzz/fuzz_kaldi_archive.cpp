// Fuzz harness: Kaldi archives (ivkit/io/kaldi_reader.hpp KaldiSequentialReader over a stream:
// keys, binary and text objects mixed, compressed matrices). Input: one selector byte (bits 0-1:
// the object type; bit 2: the mode of the round trip) then the archive. The entries of an archive
// read to its end, written back with KaldiWriter, must read back to the same keys and values.
#include <sstream>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_writer.hpp"

namespace {

template <class T>
std::vector<std::pair<std::string, T>> read_all(const std::string& data, const std::string& name) {
  std::istringstream s(data);
  std::vector<std::pair<std::string, T>> out;
  for (ivkit::KaldiSequentialReader<T> r(s, name); !r.done(); r.next()) out.emplace_back(r.key(), std::move(r.value()));
  return out;
}

template <class T>
void archive(const std::string& data, bool binary) {
  const auto entries = read_all<T>(data, "fuzz.ark");
  std::ostringstream os;
  ivkit::KaldiWriter<T> w(os, binary, "again.ark");
  try {
    for (const auto& [key, value] : entries) w.write(key, value);
  } catch (const ivkit::InvalidArgument&) {
    return;  // a key the writer refuses (control characters): nothing to compare
  }
  w.close();
  ivkit_fuzz::must_succeed("re-reading a KaldiWriter archive of parsed entries", [&] {
    const auto again = read_all<T>(os.str(), "again.ark");
    ivkit_fuzz::require(again.size() == entries.size(), "archive round trip: entry count");
    for (std::size_t i = 0; i < entries.size(); ++i)
      ivkit_fuzz::require(again[i].first == entries[i].first && ivkit_fuzz::same_values(again[i].second, entries[i].second),
                          "archive round trip: keys and values");
  });
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  if (bytes.empty()) return;
  const auto sel = static_cast<unsigned char>(bytes[0]);
  const std::string data = bytes.substr(1);
  const bool binary = (sel & 4) == 0;
  switch (sel & 3) {
    case 0: archive<ivkit::Matrix<float>>(data, binary); break;
    case 1: archive<ivkit::Matrix<double>>(data, binary); break;
    case 2: archive<ivkit::Vector<float>>(data, binary); break;
    default: archive<ivkit::Vector<double>>(data, binary); break;
  }
}
