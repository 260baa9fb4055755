#include "common/waves.hpp"

#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>

#include <ivkit/core/error.hpp>
#include <ivkit/io/detail/command_pipe.hpp>
#include <ivkit/io/kaldi_specifier.hpp>

namespace ivkit_tools {

using ivkit::detail::message;

namespace {

constexpr const char* kWs = " \t\r\n\f\v";

/// `key rest` of a script line; false for a blank line.
bool split_line(const std::string& line, std::string& key, std::string& rest) {
  const auto b = line.find_first_not_of(kWs);
  if (b == std::string::npos) return false;
  const auto e = line.find_first_of(kWs, b);
  key = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
  rest.clear();
  if (e != std::string::npos) {
    const auto r = line.find_first_not_of(kWs, e);
    if (r != std::string::npos) rest = line.substr(r, line.find_last_not_of(kWs) + 1 - r);
  }
  return true;
}

ivkit::WavData read_entry(const std::string& location, const std::string& key, const std::string& origin, const ivkit::WavReadOptions& opts) {
  try {
    return ivkit::read_wav_rxfilename(location, opts);
  } catch (const ivkit::IoError& e) {
    throw ivkit::IoError(message(e.what(), " (recording '", key, "', ", origin, ")"));
  } catch (const ivkit::FormatError& e) {
    throw ivkit::FormatError(message(e.what(), " (recording '", key, "', ", origin, ")"));
  } catch (const ivkit::InvalidArgument& e) {
    throw ivkit::InvalidArgument(message(e.what(), " (recording '", key, "', ", origin, ")"));
  }
}

/// The input of a table: a file, stdin or a command's output.
struct TableInput {
  std::unique_ptr<std::ifstream> file;
  std::unique_ptr<ivkit::detail::CommandPipe> pipe;
  std::istream* in = nullptr;
  std::string name;

  TableInput(const ivkit::KaldiRspecifier& spec, const char* fn) {
    name = spec.path;
    if (spec.is_pipe()) {
      pipe = std::make_unique<ivkit::detail::CommandPipe>(fn, ivkit::detail::kaldi_pipe_command(spec.path),
                                                          ivkit::detail::CommandPipe::Mode::Read);
      in = &pipe->input();
    } else if (spec.is_stdin()) {
      in = &std::cin;
      name = "stdin";
    } else {
      file = std::make_unique<std::ifstream>(spec.path, std::ios::binary);
      if (!*file) throw ivkit::IoError(message(fn, ": cannot open '", spec.path, "'"));
      in = file.get();
    }
  }
  /// At the end of the data: a command must have succeeded.
  void finish() {
    if (pipe) pipe->finish();
    pipe.reset();
  }
};

/// Reads the next `key RIFF...` object of a wave archive; false at the end.
bool read_archive_entry(std::istream& in, const std::string& name, std::uint64_t& offset, std::string& key, std::string& bytes) {
  int c;
  while ((c = in.peek()) != EOF && std::isspace(c)) {
    in.get();
    ++offset;
  }
  if (c == EOF) return false;
  const std::uint64_t key_at = offset;
  key.clear();
  while ((c = in.get()) != EOF && c != ' ' && c != '\t' && c != '\n') {
    key += static_cast<char>(c);
    ++offset;
  }
  ++offset;
  if (c == EOF) throw ivkit::FormatError(message("wave archive '", name, "' (offset ", key_at, "): it ends after the key '", key, "'"));
  char head[8];
  if (!in.read(head, 8))
    throw ivkit::FormatError(message("wave archive '", name, "' (key '", key, "', offset ", offset, "): it ends inside the WAV header"));
  if (std::string(head, 4) != "RIFF")
    throw ivkit::FormatError(message("wave archive '", name, "' (key '", key, "', offset ", offset,
                                     "): expected a WAV object ('RIFF'), found something else"));
  const auto* u = reinterpret_cast<const unsigned char*>(head + 4);
  const std::uint32_t size = std::uint32_t(u[0]) | (std::uint32_t(u[1]) << 8) | (std::uint32_t(u[2]) << 16) | (std::uint32_t(u[3]) << 24);
  if (size > (1u << 31))
    throw ivkit::FormatError(message("wave archive '", name, "' (key '", key, "', offset ", offset, "): a RIFF size of ", size,
                                     " bytes (a WAV written to a pipe has no size: such an archive cannot be read)"));
  bytes.assign(head, 8);
  bytes.resize(8 + static_cast<std::size_t>(size));
  if (!in.read(bytes.data() + 8, size))
    throw ivkit::FormatError(message("wave archive '", name, "' (key '", key, "', offset ", offset, "): truncated: the WAV object declares ",
                                     size + 8, " bytes, ", 8 + in.gcount(), " follow"));
  offset += 8 + size;
  return true;
}

}  // namespace

struct WaveReader::Impl {
  ivkit::KaldiRspecifier spec;
  ivkit::WavReadOptions opts;
  std::optional<TableInput> input;
  std::size_t line_no = 0;
  std::uint64_t offset = 0;
  bool done = false;
};

WaveReader::WaveReader(const std::string& rspecifier, const ivkit::WavReadOptions& opts) : impl_(std::make_unique<Impl>()) {
  impl_->spec = ivkit::parse_kaldi_rspecifier(rspecifier);
  impl_->opts = opts;
  impl_->input.emplace(impl_->spec, "WaveReader");
}

WaveReader::~WaveReader() = default;

bool WaveReader::next(Recording& out) {
  Impl& m = *impl_;
  if (m.done) return false;
  TableInput& t = *m.input;
  if (m.spec.kind == ivkit::KaldiTableKind::Script) {
    std::string line, key, rest;
    while (std::getline(*t.in, line)) {
      ++m.line_no;
      if (!split_line(line, key, rest)) continue;
      const std::string origin = message("'", t.name, "' line ", m.line_no);
      if (rest.empty()) throw ivkit::FormatError(message(origin, ": expected 'recording file-or-command |', found only '", key, "'"));
      out.key = key;
      out.origin = origin;
      out.wav = read_entry(rest, key, origin, m.opts);
      return true;
    }
  } else {
    std::string bytes;
    const std::uint64_t at = m.offset;
    if (read_archive_entry(*t.in, t.name, m.offset, out.key, bytes)) {
      out.origin = message("'", t.name, "' offset ", at);
      try {
        out.wav = ivkit::read_wav_bytes(bytes, t.name + " (key '" + out.key + "')", m.opts);
      } catch (const ivkit::InvalidArgument& e) {
        throw ivkit::InvalidArgument(message(e.what(), " (recording '", out.key, "', ", out.origin, ")"));
      }
      return true;
    }
  }
  m.done = true;
  t.finish();
  return false;
}

struct WaveTable::Impl {
  ivkit::KaldiRspecifier spec;
  ivkit::WavReadOptions opts;
  struct Entry {
    std::string location;  // script: the file or command
    std::size_t line = 0;
    std::shared_ptr<Recording> loaded;  // archive: every object
  };
  std::unordered_map<std::string, Entry> entries;
  std::string name;
  std::string cached_key;
  Recording cached;
};

WaveTable::WaveTable(const std::string& rspecifier, const ivkit::WavReadOptions& opts) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.spec = ivkit::parse_kaldi_rspecifier(rspecifier);
  m.opts = opts;
  if (m.spec.kind == ivkit::KaldiTableKind::Archive) {
    WaveReader reader(rspecifier, opts);
    Recording r;
    while (reader.next(r)) {
      auto rec = std::make_shared<Recording>(std::move(r));
      const std::string key = rec->key;
      if (!m.entries.emplace(key, Impl::Entry{"", 0, std::move(rec)}).second)
        throw ivkit::FormatError(message("'", rspecifier, "' holds recording '", key, "' twice"));
      r = Recording{};
    }
    return;
  }
  TableInput t(m.spec, "WaveTable");
  m.name = t.name;
  std::string line, key, rest;
  for (std::size_t no = 1; std::getline(*t.in, line); ++no) {
    if (!split_line(line, key, rest)) continue;
    if (rest.empty()) throw ivkit::FormatError(message("'", t.name, "' line ", no, ": expected 'recording file-or-command |', found only '", key, "'"));
    const auto [it, inserted] = m.entries.emplace(key, Impl::Entry{rest, no, nullptr});
    if (!inserted)
      throw ivkit::FormatError(message("'", t.name, "' line ", no, ": recording '", key, "' appears twice (first on line ", it->second.line, ")"));
  }
  t.finish();
}

WaveTable::~WaveTable() = default;

bool WaveTable::has(const std::string& key) const { return impl_->entries.count(key) > 0; }

const Recording& WaveTable::get(const std::string& key) {
  Impl& m = *impl_;
  const auto it = m.entries.find(key);
  if (it == m.entries.end()) throw ivkit::InvalidArgument(message("recording '", key, "' is not in '", m.spec.text, "'"));
  if (it->second.loaded) return *it->second.loaded;
  if (m.cached_key != key) {
    m.cached_key.clear();
    const std::string origin = message("'", m.name, "' line ", it->second.line);
    m.cached.key = key;
    m.cached.origin = origin;
    m.cached.wav = read_entry(it->second.location, key, origin, m.opts);
    m.cached_key = key;
  }
  return m.cached;
}

ivkit::WavData cut_segment(const Recording& rec, const Segment& seg, double max_overshoot, const std::string& segments_path) {
  const ivkit::WavData& w = rec.wav;
  // Kaldi's extract-segments: BaseFloat times and rate, truncated to int32 sample indices.
  const float rate = static_cast<float>(w.sample_rate());
  const auto num = static_cast<std::int64_t>(w.samples.size());
  const auto start = static_cast<std::int64_t>(static_cast<float>(seg.start) * rate);
  std::int64_t end = seg.end == -1 ? num : static_cast<std::int64_t>(static_cast<float>(seg.end) * rate);
  const std::string at = message("'", segments_path, "' line ", seg.line, ": segment '", seg.utterance, "' of recording '", seg.recording, "'");
  const double duration = static_cast<double>(num) / rate;
  if (start >= num)
    throw ivkit::FormatError(message(at, " starts at ", seg.start, " s, at or beyond the end of the recording (", duration, " s, ", rec.origin, ")"));
  if (end > num) {
    if (end >= num + static_cast<std::int64_t>(static_cast<float>(max_overshoot) * rate))
      throw ivkit::FormatError(message(at, " ends at ", seg.end, " s, more than --max-overshoot ", max_overshoot,
                                       " s beyond the end of the recording (", duration, " s, ", rec.origin, ")"));
    end = num;
  }
  ivkit::WavData out;
  out.info = w.info;
  out.channel = w.channel;
  out.samples.assign(w.samples.begin() + start, w.samples.begin() + end);
  out.info.num_frames = end - start;
  return out;
}

}  // namespace ivkit_tools
