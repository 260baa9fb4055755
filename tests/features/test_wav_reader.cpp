// WAV reading through libsndfile: files written by the test itself with libsndfile's own writer
// (16-, 24-, 32-bit PCM and float, two channels), read back exactly; info; the errors for
// missing, empty, non-audio, non-WAV, header-only and truncated files; and the sample-rate check
// of the feature extractors. Built only when libsndfile is found.
#include <doctest/doctest.h>

#include <sndfile.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <ivkit/features/mfcc.hpp>
#include <ivkit/features/wav_reader.hpp>

#include "support/files.hpp"

using namespace ivkit;
namespace fs = std::filesystem;

namespace {

// Writes interleaved frames with libsndfile's writer; T is short, int, or float.
template <class T>
void write_file(const std::string& path, int format, int rate, int channels, const std::vector<T>& interleaved) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  sf_count_t frames = static_cast<sf_count_t>(interleaved.size()) / channels, written = 0;
  if constexpr (std::is_same_v<T, short>) written = sf_writef_short(f, interleaved.data(), frames);
  if constexpr (std::is_same_v<T, int>) written = sf_writef_int(f, interleaved.data(), frames);
  if constexpr (std::is_same_v<T, float>) {
    sf_command(f, SFC_SET_CLIPPING, nullptr, SF_FALSE);
    written = sf_writef_float(f, interleaved.data(), frames);
  }
  REQUIRE(written == frames);
  REQUIRE(sf_close(f) == 0);
}

std::vector<short> stereo16(int frames) {
  std::vector<short> v;
  for (int i = 0; i < frames; ++i) {
    v.push_back(static_cast<short>((i * 7919) % 65536 - 32768));   // channel 0: covers the range
    v.push_back(static_cast<short>(i % 2 ? -i : i));                 // channel 1
  }
  return v;
}

}  // namespace

TEST_CASE("read_wav: 16-bit PCM, both channels, both scales") {
  ivkit_test::TempDir dir("wav_reader");
  const auto path = dir / "s16.wav";
  const auto data = stereo16(1000);
  write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, data);

  const WavInfo info = read_wav_info(path);
  CHECK(info.sample_rate == 16000);
  CHECK(info.num_channels == 2);
  CHECK(info.num_frames == 1000);
  CHECK(info.container == "WAV");
  CHECK(info.encoding == "PCM_16");
  CHECK(info.duration_seconds() == doctest::Approx(1000.0 / 16000.0));

  for (int ch = 0; ch < 2; ++ch) {
    WavReadOptions o;
    o.channel = ch;
    const WavData w = read_wav(path, o);
    REQUIRE(w.samples.size() == 1000);
    CHECK(w.channel == ch);
    CHECK(w.sample_rate() == 16000);
    for (size_t i = 0; i < 1000; ++i) REQUIRE(w.samples[i] == static_cast<float>(data[2 * i + ch]));  // exact integers
    o.scale = SampleScale::Unit;
    const WavData u = read_wav(path, o);
    for (size_t i = 0; i < 1000; ++i) REQUIRE(u.samples[i] == static_cast<float>(data[2 * i + ch]) / 32768.0f);
    CHECK(u.vector().size() == 1000);
  }
}

TEST_CASE("read_wav: 24- and 32-bit PCM and float") {
  ivkit_test::TempDir dir("wav_reader");
  std::vector<int> ints;
  for (int i = 0; i < 500; ++i) ints.push_back(static_cast<int>((static_cast<std::int64_t>(i) * 2654435761LL) % 4294967296LL - 2147483648LL));

  // 24-bit keeps the top 24 bits of libsndfile's 32-bit integers: on the 16-bit scale, value / 2^8 / 2^8.
  write_file(dir / "s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 8000, 1, ints);
  const WavData w24 = read_wav(dir / "s24.wav");
  CHECK(w24.info.encoding == "PCM_24");
  CHECK(w24.sample_rate() == 8000);
  REQUIRE(w24.samples.size() == 500);
  for (size_t i = 0; i < 500; ++i) {
    const double expect = static_cast<double>(ints[i] >> 8) / 256.0;  // exact in float (24 significant bits)
    REQUIRE(w24.samples[i] == static_cast<float>(expect));
  }

  write_file(dir / "s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 16000, 1, ints);
  const WavData w32 = read_wav(dir / "s32.wav");
  CHECK(w32.info.encoding == "PCM_32");
  for (size_t i = 0; i < 500; ++i) REQUIRE(w32.samples[i] == doctest::Approx(ints[i] / 65536.0).epsilon(1e-6));

  std::vector<float> floats;
  for (int i = 0; i < 600; ++i) floats.push_back(static_cast<float>(std::sin(0.01 * i) * 0.9));
  floats[3] = 1.25f;  // float files may exceed full scale; read as stored
  write_file(dir / "f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, floats);
  const WavData wf = read_wav(dir / "f32.wav");
  CHECK(wf.info.encoding == "FLOAT");
  for (size_t i = 0; i < 600; ++i) REQUIRE(wf.samples[i] == floats[i] * 32768.0f);
  WavReadOptions unit;
  unit.scale = SampleScale::Unit;
  const WavData wu = read_wav(dir / "f32.wav", unit);
  for (size_t i = 0; i < 600; ++i) REQUIRE(wu.samples[i] == floats[i]);

  // WAVE_FORMAT_EXTENSIBLE is WAV too.
  write_file(dir / "ext.wav", SF_FORMAT_WAVEX | SF_FORMAT_PCM_16, 16000, 1, std::vector<short>{1, -2, 3});
  const WavData wx = read_wav(dir / "ext.wav");
  CHECK(wx.info.container == "WAVEX");
  CHECK(wx.samples == std::vector<float>{1, -2, 3});
}

TEST_CASE("read_wav: errors name the file") {
  ivkit_test::TempDir dir("wav_reader");
  const auto missing = dir / "missing.wav";
  CHECK_THROWS_WITH_AS(read_wav(missing), ("read_wav: cannot open '" + missing + "': No such file or directory").c_str(), IoError);
  CHECK_THROWS_WITH_AS(read_wav_info(missing), ("read_wav_info: cannot open '" + missing + "': No such file or directory").c_str(), IoError);

  const auto empty = dir / "empty.wav";
  { std::ofstream(empty, std::ios::binary); }
  CHECK_THROWS_WITH_AS(read_wav(empty), ("read_wav: '" + empty + "' is empty").c_str(), FormatError);

  const auto text = dir / "text.wav";
  { std::ofstream(text) << "this is not a sound file, only some text that is long enough to look at\n"; }
  try {
    read_wav(text);
    FAIL("no exception");
  } catch (const FormatError& e) {
    const std::string prefix = "read_wav: '" + text + "' is not a WAV file libsndfile can read (libsndfile: ";
    CHECK(std::string(e.what()).rfind(prefix, 0) == 0);
  }

  // A valid file cut inside the header, and one cut inside the data.
  const auto good = dir / "good.wav";
  write_file(good, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, std::vector<short>(1000, 7));
  const auto size = fs::file_size(good);
  REQUIRE(size == 44 + 2000);
  const auto header_only = dir / "header_only.wav";
  fs::copy_file(good, header_only);
  fs::resize_file(header_only, 20);
  CHECK_THROWS_AS(read_wav(header_only), FormatError);
  const auto cut = dir / "cut.wav";
  fs::copy_file(good, cut);
  fs::resize_file(cut, 44 + 1500);
  CHECK_THROWS_WITH_AS(read_wav(cut),
                       ("read_wav: '" + cut + "' is truncated: its data chunk at byte 36 declares 2000 bytes but only 1500 follow").c_str(),
                       FormatError);

  // Another container: refused unless any_format.
  const auto aiff = dir / "tone.aiff";
  write_file(aiff, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 1, std::vector<short>{5, 6, 7});
  CHECK_THROWS_WITH_AS(read_wav(aiff), ("read_wav: '" + aiff + "' is a AIFF file, not WAV (set WavReadOptions::any_format to read it)").c_str(),
                       FormatError);
  WavReadOptions any;
  any.any_format = true;
  CHECK(read_wav(aiff, any).samples == std::vector<float>{5, 6, 7});

  // A float file that stores a NaN or an infinity: named with its sample frame, never passed on.
  const auto nan_file = dir / "nan.wav";
  std::vector<float> with_nan(10, 0.25f);
  with_nan[7] = std::numeric_limits<float>::quiet_NaN();
  write_file(nan_file, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, with_nan);
  CHECK_THROWS_WITH_AS(read_wav(nan_file), ("read_wav: '" + nan_file + "' has a non-finite sample (nan) at sample frame 7 of channel 0").c_str(),
                       FormatError);
  const auto inf_file = dir / "inf.wav";
  std::vector<float> with_inf(2 * 5, 0.5f);
  with_inf[2 * 3 + 1] = -std::numeric_limits<float>::infinity();
  write_file(inf_file, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, with_inf);
  CHECK(read_wav(inf_file).samples.size() == 5);  // channel 0 is clean
  WavReadOptions right;
  right.channel = 1;
  CHECK_THROWS_WITH_AS(read_wav(inf_file, right),
                       ("read_wav: '" + inf_file + "' has a non-finite sample (-inf) at sample frame 3 of channel 1").c_str(), FormatError);

  // Finite, but infinite once on the 16-bit integer scale (found by fuzzing): an error, not an inf.
  const auto huge_file = dir / "huge.wav";
  std::vector<float> with_huge(6, 0.5f);
  with_huge[4] = 1e36f;
  write_file(huge_file, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, with_huge);
  CHECK_THROWS_WITH_AS(read_wav(huge_file),
                       ("read_wav: '" + huge_file + "' has a sample (1e+36) at sample frame 4 of channel 0 too large for the 16-bit integer scale").c_str(),
                       FormatError);
  WavReadOptions unit_scale;
  unit_scale.scale = SampleScale::Unit;
  CHECK(read_wav(huge_file, unit_scale).samples[4] == 1e36f);  // representable on the unit scale

  WavReadOptions ch;
  ch.channel = 1;
  CHECK_THROWS_WITH_AS(read_wav(good, ch),
                       ("read_wav: channel 1 requested but '" + good + "' has 1 channel (channels are numbered from 0)").c_str(),
                       InvalidArgument);
}

TEST_CASE("WAV to MFCC: same features as from the samples; the sample rate is checked") {
  ivkit_test::TempDir dir("wav_reader");
  std::vector<short> s;
  for (int i = 0; i < 8000; ++i) s.push_back(static_cast<short>(3000 * std::sin(0.05 * i) + (i * 37 % 200) - 100));
  write_file(dir / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, s);
  const WavData w = read_wav(dir / "a.wav");
  const Mfcc<float> mfcc;
  const Matrix<float> from_file = mfcc.compute(w.samples, w.sample_rate());
  const Matrix<float> from_samples = mfcc.compute(std::vector<float>(s.begin(), s.end()));
  CHECK(from_file == from_samples);

  write_file(dir / "b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, s);
  const WavData w8 = read_wav(dir / "b.wav");
  CHECK_THROWS_WITH_AS(mfcc.compute(w8.samples, w8.sample_rate()),
                       "Mfcc::compute: the signal's sample rate is 8000 Hz but the options expect 16000 Hz "
                       "(FrameOptions::sample_frequency; ivkit does not resample)",
                       InvalidArgument);
}
