/// @file
/// WAV files read with libsndfile. OPTIONAL: this header needs libsndfile (Debian's
/// libsndfile1-dev); it is not part of <ivkit/ivkit.hpp>. Link the CMake target ivkit::sndfile
/// (ivkit::ivkit plus libsndfile) to use it.
///
/// Reads RIFF/RIFX WAV, WAVE_FORMAT_EXTENSIBLE, RF64 and Wave64 files with PCM 8/16/24/32-bit,
/// 32/64-bit float, or anything else libsndfile decodes in those containers (mu-law, A-law,
/// ADPCM); one channel is chosen. Samples are returned as float, by default on Kaldi's scale
/// (16-bit integer range: full scale 32768, so a 16-bit file gives its integer sample values
/// exactly, as Kaldi's wave reader does, and features match Kaldi's); SampleScale::Unit gives
/// [-1, 1).
///
/// Bad files: a missing or unreadable file is an IoError; an empty file, a file libsndfile does
/// not recognise, a non-WAV container (unless any_format), or a WAV file whose data chunk is
/// shorter than its header says (truncated), or a float file holding a NaN or infinite sample, is a
/// FormatError. Every message names the file.
#pragma once

#include <sndfile.h>

#include <Eigen/Core>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/detail/command_pipe.hpp"

namespace ivkit {

/// Scale of the samples returned by read_wav.
enum class SampleScale {
  Int16,  ///< full scale = 32768 (Kaldi's wave reader; a 16-bit file gives its integer values)
  Unit,   ///< full scale = 1, samples in [-1, 1)
};

/// Options of read_wav.
struct WavReadOptions {
  int channel = 0;                          ///< 0-based channel to return
  SampleScale scale = SampleScale::Int16;   ///< sample scale
  bool any_format = false;                  ///< accept any container libsndfile reads (FLAC, AIFF, OGG, ...)
};

/// What the header of an audio file says.
struct WavInfo {
  int sample_rate = 0;        ///< Hz
  int num_channels = 0;
  std::int64_t num_frames = 0;  ///< samples per channel
  std::string container;      ///< "WAV", "WAVEX", "RF64", "W64", ... (libsndfile's major format)
  std::string encoding;       ///< "PCM_16", "PCM_24", "PCM_32", "PCM_U8", "PCM_S8", "FLOAT", "DOUBLE", ...

  double duration_seconds() const { return sample_rate > 0 ? static_cast<double>(num_frames) / sample_rate : 0.0; }
};

/// One channel of an audio file.
struct WavData {
  std::vector<float> samples;  ///< num_frames samples of the chosen channel
  WavInfo info;
  int channel = 0;             ///< the channel returned

  int sample_rate() const { return info.sample_rate; }
  /// The samples as an Eigen vector (no copy).
  Eigen::Map<const Vector<float>> vector() const {
    return Eigen::Map<const Vector<float>>(samples.data(), static_cast<Index>(samples.size()));
  }
};

namespace detail {
namespace wav {

struct SndfileCloser {
  void operator()(SNDFILE* f) const {
    if (f) sf_close(f);
  }
};

inline std::string container_name(int format) {
  switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: return "WAV";
    case SF_FORMAT_WAVEX: return "WAVEX";
    case SF_FORMAT_RF64: return "RF64";
    case SF_FORMAT_W64: return "W64";
    case SF_FORMAT_AIFF: return "AIFF";
    case SF_FORMAT_AU: return "AU";
    case SF_FORMAT_RAW: return "RAW";
    case SF_FORMAT_FLAC: return "FLAC";
    case SF_FORMAT_OGG: return "OGG";
    case SF_FORMAT_CAF: return "CAF";
    case SF_FORMAT_NIST: return "NIST";
    case SF_FORMAT_VOC: return "VOC";
    case SF_FORMAT_IRCAM: return "IRCAM";
    default: break;
  }
  SF_FORMAT_INFO fi{};
  fi.format = format & SF_FORMAT_TYPEMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.extension) return fi.extension;
  return message("0x", std::hex, format & SF_FORMAT_TYPEMASK);
}

inline std::string encoding_name(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: return "PCM_S8";
    case SF_FORMAT_PCM_16: return "PCM_16";
    case SF_FORMAT_PCM_24: return "PCM_24";
    case SF_FORMAT_PCM_32: return "PCM_32";
    case SF_FORMAT_PCM_U8: return "PCM_U8";
    case SF_FORMAT_FLOAT: return "FLOAT";
    case SF_FORMAT_DOUBLE: return "DOUBLE";
    case SF_FORMAT_ULAW: return "ULAW";
    case SF_FORMAT_ALAW: return "ALAW";
    case SF_FORMAT_IMA_ADPCM: return "IMA_ADPCM";
    case SF_FORMAT_MS_ADPCM: return "MS_ADPCM";
    case SF_FORMAT_GSM610: return "GSM610";
    default: break;
  }
  SF_FORMAT_INFO fi{};
  fi.format = format & SF_FORMAT_SUBMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.name) return fi.name;
  return message("0x", std::hex, format & SF_FORMAT_SUBMASK);
}

inline bool is_wav_family(int format) {
  const int t = format & SF_FORMAT_TYPEMASK;
  return t == SF_FORMAT_WAV || t == SF_FORMAT_WAVEX || t == SF_FORMAT_RF64 || t == SF_FORMAT_W64;
}

inline std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
inline std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

/// For a RIFF/RIFX file: throws FormatError when the "data" chunk claims more bytes than the file
/// holds (libsndfile reads such files silently, short). A size of 0 or 0xFFFFFFFF (written by a
/// program streaming to a pipe) is accepted. `read_at(pos, buf, n)` reads n bytes at pos (false
/// when it cannot); `file_size` is the size of the whole file; `name` is shown in messages.
template <class ReadAt>
void check_riff_data_chunk(ReadAt read_at, std::uint64_t file_size, const std::string& name, const char* who) {
  unsigned char head[12];
  if (file_size < 12 || !read_at(0, head, 12)) return;
  const bool riff = std::memcmp(head, "RIFF", 4) == 0, rifx = std::memcmp(head, "RIFX", 4) == 0;
  if ((!riff && !rifx) || std::memcmp(head + 8, "WAVE", 4) != 0) return;
  std::uint64_t pos = 12;
  while (pos + 8 <= file_size) {
    unsigned char ch[8];
    if (!read_at(pos, ch, 8)) return;
    const std::uint32_t size = riff ? le32(ch + 4) : be32(ch + 4);
    if (std::memcmp(ch, "data", 4) == 0) {
      if (size == 0 || size == 0xFFFFFFFFu) return;
      const std::uint64_t have = file_size - (pos + 8);
      if (have < size)
        throw FormatError(message(who, ": '", name, "' is truncated: its data chunk at byte ", pos, " declares ", size,
                                  " bytes but only ", have, " follow"));
      return;
    }
    pos += 8 + static_cast<std::uint64_t>(size) + (size & 1u);
  }
}

inline void check_riff_data_chunk(const std::string& path, const char* who) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  check_riff_data_chunk(
      [&](std::uint64_t pos, unsigned char* buf, std::size_t n) {
        in.seekg(static_cast<std::streamoff>(pos));
        return static_cast<bool>(in.read(reinterpret_cast<char*>(buf), static_cast<std::streamsize>(n)));
      },
      file_size, path, who);
}

/// libsndfile's virtual I/O over bytes in memory.
struct MemoryFile {
  const std::string* bytes;
  sf_count_t pos = 0;

  static SF_VIRTUAL_IO io() {
    SF_VIRTUAL_IO v{};
    v.get_filelen = [](void* p) -> sf_count_t { return static_cast<sf_count_t>(static_cast<MemoryFile*>(p)->bytes->size()); };
    v.seek = [](sf_count_t offset, int whence, void* p) -> sf_count_t {
      auto* m = static_cast<MemoryFile*>(p);
      const auto size = static_cast<sf_count_t>(m->bytes->size());
      sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? m->pos + offset : size + offset;
      m->pos = std::clamp<sf_count_t>(to, 0, size);
      return m->pos;
    };
    v.read = [](void* buf, sf_count_t n, void* p) -> sf_count_t {
      auto* m = static_cast<MemoryFile*>(p);
      const auto size = static_cast<sf_count_t>(m->bytes->size());
      const sf_count_t take = std::min<sf_count_t>(n, size - m->pos);
      if (take <= 0) return 0;
      std::memcpy(buf, m->bytes->data() + m->pos, static_cast<std::size_t>(take));
      m->pos += take;
      return take;
    };
    v.write = [](const void*, sf_count_t, void*) -> sf_count_t { return 0; };
    v.tell = [](void* p) -> sf_count_t { return static_cast<MemoryFile*>(p)->pos; };
    return v;
  }
};

/// Reads the chosen channel of an open file (see read_wav). `name` is shown in messages.
inline WavData decode(SNDFILE* f, const SF_INFO& info, const std::string& name, const WavReadOptions& opts, const char* who) {
  if (!opts.any_format && !is_wav_family(info.format))
    throw FormatError(message(who, ": '", name, "' is a ", container_name(info.format),
                              " file, not WAV (set WavReadOptions::any_format to read it)"));
  if (info.channels < 1) throw FormatError(message(who, ": '", name, "' declares ", info.channels, " channels"));
  if (opts.channel < 0 || opts.channel >= info.channels)
    throw InvalidArgument(message(who, ": channel ", opts.channel, " requested but '", name, "' has ", info.channels, " channel",
                                  info.channels == 1 ? "" : "s", " (channels are numbered from 0)"));
  WavData out;
  out.info.sample_rate = info.samplerate;
  out.info.num_channels = info.channels;
  out.info.num_frames = static_cast<std::int64_t>(info.frames);
  out.info.container = container_name(info.format);
  out.info.encoding = encoding_name(info.format);
  out.channel = opts.channel;

  // Normalised float reading: integer PCM comes back as value / 2^(bits - 1), float as stored.
  sf_command(f, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  const float scale = opts.scale == SampleScale::Int16 ? 32768.0f : 1.0f;
  const sf_count_t total = info.frames;
  // Grow with what is actually read: a corrupt header's frame count never drives one huge allocation.
  out.samples.reserve(static_cast<size_t>(std::min<sf_count_t>(total, sf_count_t{1} << 24)));
  const sf_count_t chunk = 65536;
  std::vector<float> buf(static_cast<size_t>(chunk * info.channels));
  sf_count_t done = 0;
  while (done < total) {
    const sf_count_t want = std::min<sf_count_t>(chunk, total - done);
    const sf_count_t got = sf_readf_float(f, buf.data(), want);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      const float x = buf[static_cast<size_t>(i * info.channels + opts.channel)];
      // Float WAV files can store NaN or infinity, or values so large that the Int16 scale overflows
      // them to infinity; features computed from them would be silent NaNs.
      if (!std::isfinite(x))
        throw FormatError(message(who, ": '", name, "' has a non-finite sample (", x, ") at sample frame ", done + i, " of channel ",
                                  opts.channel));
      const float y = x * scale;
      if (!std::isfinite(y))
        throw FormatError(message(who, ": '", name, "' has a sample (", x, ") at sample frame ", done + i, " of channel ", opts.channel,
                                  " too large for the 16-bit integer scale"));
      out.samples.push_back(y);
    }
    done += got;
  }
  if (done != total)
    throw FormatError(message(who, ": '", name, "' is truncated or corrupt: ", done, " of the ", total,
                              " sample frames its header declares could be read (libsndfile: ", sf_strerror(f), ")"));
  return out;
}

}  // namespace wav
}  // namespace detail

/// The header of an audio file, without reading the samples.
/// @throws IoError when the file cannot be opened, FormatError when it is not an audio file
///   libsndfile reads
inline WavInfo read_wav_info(const std::string& path) {
  const char* who = "read_wav_info";
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw IoError(detail::message(who, ": cannot open '", path, "': ", std::strerror(errno)));
    probe.seekg(0, std::ios::end);
    if (probe.tellg() == std::streampos(0)) throw FormatError(detail::message(who, ": '", path, "' is empty"));
  }
  SF_INFO info{};
  std::unique_ptr<SNDFILE, detail::wav::SndfileCloser> f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f)
    throw FormatError(detail::message(who, ": '", path, "' is not an audio file libsndfile can read (libsndfile: ",
                                      sf_strerror(nullptr), ")"));
  WavInfo w;
  w.sample_rate = info.samplerate;
  w.num_channels = info.channels;
  w.num_frames = static_cast<std::int64_t>(info.frames);
  w.container = detail::wav::container_name(info.format);
  w.encoding = detail::wav::encoding_name(info.format);
  return w;
}

/// Reads one channel of a WAV file (see the file comment for formats, scale and errors).
/// @throws IoError, FormatError as described above; InvalidArgument for a channel the file does
///   not have
inline WavData read_wav(const std::string& path, const WavReadOptions& opts = WavReadOptions{}) {
  const char* who = "read_wav";
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw IoError(detail::message(who, ": cannot open '", path, "': ", std::strerror(errno)));
    probe.seekg(0, std::ios::end);
    if (probe.tellg() == std::streampos(0)) throw FormatError(detail::message(who, ": '", path, "' is empty"));
  }
  SF_INFO info{};
  std::unique_ptr<SNDFILE, detail::wav::SndfileCloser> f(sf_open(path.c_str(), SFM_READ, &info));
  if (!f)
    throw FormatError(detail::message(who, ": '", path, "' is not a WAV file libsndfile can read (libsndfile: ",
                                      sf_strerror(nullptr), ")"));
  if (detail::wav::is_wav_family(info.format)) detail::wav::check_riff_data_chunk(path, who);
  return detail::wav::decode(f.get(), info, path, opts, who);
}

/// Reads one channel of a WAV file held in memory (the output of a command, an archive entry);
/// `name` is shown in messages. Same formats, scale and errors as read_wav.
inline WavData read_wav_bytes(const std::string& bytes, const std::string& name, const WavReadOptions& opts = WavReadOptions{}) {
  const char* who = "read_wav";
  if (bytes.empty()) throw FormatError(detail::message(who, ": '", name, "' is empty"));
  detail::wav::MemoryFile mem{&bytes};
  SF_VIRTUAL_IO io = detail::wav::MemoryFile::io();
  SF_INFO info{};
  std::unique_ptr<SNDFILE, detail::wav::SndfileCloser> f(sf_open_virtual(&io, SFM_READ, &info, &mem));
  if (!f)
    throw FormatError(detail::message(who, ": '", name, "' is not a WAV file libsndfile can read (libsndfile: ",
                                      sf_strerror(nullptr), ")"));
  if (detail::wav::is_wav_family(info.format))
    detail::wav::check_riff_data_chunk(
        [&](std::uint64_t pos, unsigned char* buf, std::size_t n) {
          if (pos + n > bytes.size()) return false;
          std::memcpy(buf, bytes.data() + pos, n);
          return true;
        },
        bytes.size(), name, who);
  return detail::wav::decode(f.get(), info, name, opts, who);
}

/// Reads the audio of a `wav.scp` entry: a file name, or a command ending in `|` (`sox in.flac -t
/// wav - |`, `sph2pipe -f wav x.sph |`) whose output is a WAV file. A command that fails is an
/// IoError naming it.
inline WavData read_wav_rxfilename(const std::string& rxfilename, const WavReadOptions& opts = WavReadOptions{}) {
  if (detail::kaldi_is_input_pipe(rxfilename))
    return read_wav_bytes(detail::run_command_output("read_wav", detail::kaldi_pipe_command(rxfilename)), rxfilename, opts);
  return read_wav(rxfilename, opts);
}

}  // namespace ivkit
