// Fuzz harness: WAV files (ivkit/features/wav_reader.hpp read_wav_info, read_wav; libsndfile reads
// only from a path, so each input goes through a per-process temporary file). A file that reads must
// agree with its own header, and every sample must be finite.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "harness.hpp"
#include "ivkit/features/wav_reader.hpp"

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/ivkit_fuzz_wav_" + std::to_string(::getpid()) + ".wav";
  }();
  return path;
}

struct RemoveAtExit {
  ~RemoveAtExit() { std::remove(scratch_path().c_str()); }
} remove_at_exit;

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) ivkit_fuzz::fail("cannot write the scratch file", scratch_path().c_str());
  }
  const ivkit::WavInfo info = ivkit::read_wav_info(scratch_path());
  ivkit::WavReadOptions opts;
  opts.channel = info.num_channels > 1 ? info.num_channels - 1 : 0;
  const ivkit::WavData wav = ivkit::read_wav(scratch_path(), opts);
  ivkit_fuzz::require(wav.info.sample_rate == info.sample_rate && wav.info.num_channels == info.num_channels,
                      "read_wav and read_wav_info agree on the header");
  ivkit_fuzz::require(static_cast<std::int64_t>(wav.samples.size()) == wav.info.num_frames, "one sample per frame");
  for (const float x : wav.samples) ivkit_fuzz::require(std::isfinite(x), "samples are finite");
}
