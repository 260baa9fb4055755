/// @file
/// Reading Kaldi tables: sequentially (one utterance at a time, in file order, so corpora larger
/// than memory stream through) and by key (an index built once).
///
///  - `ark:<file>`, `ark:-` (stdin): an archive, `key object key object ...`: each key is a word
///    followed by one space (a tab, or a newline that is left to the object, are accepted as by
///    Kaldi), each object binary (`\0B...`) or text, mixed freely.
///  - `scp:<file>`, `scp:-`: a script file, one `key location` per line, the location `path:offset`
///    (an object inside an archive, at its binary marker), `path` (a file holding one object), either
///    with an optional range `[r1:r2]` / `[r1:r2,c1:c2]` (rows and columns, inclusive). Entries may
///    point into different archives, binary or text. A sequential script reader keeps at most one
///    data file open and seeks (within its read-ahead buffer when the next object is close, which is
///    the common case of consecutive entries of one archive).
///
/// Options of the rspecifier: `p` (permissive) makes a script reader skip the entries it cannot read
/// (missing file, corrupt object; counted by num_skipped()) and an archive reader stop at the first
/// unreadable object; `s`, `cs`, `o`, `b`, `t`, `bg` are accepted and change nothing (ivkit never
/// needs sorted tables). Blank lines in script files are skipped.
///
/// Errors: FormatError naming the data file (or `stdin`), the key, the byte offset and, for script
/// entries, the script file and line; IoError for files that cannot be opened.
#pragma once

#include <cstdint>
#include <fstream>
#include <iostream>
#include <istream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/io/detail/kaldi_files.hpp"
#include "ivkit/io/kaldi_holder.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_specifier.hpp"

namespace ivkit {

namespace detail {

/// At most one open data source; positions a KaldiInput at (path, offset) for each script entry.
/// A source `cmd |` is a command run once for the entry (its whole output read into memory, its exit
/// status checked); a source given by adopt() is data already in memory (an archive read from a
/// command by a random-access reader).
class KaldiFileCursor {
 public:
  explicit KaldiFileCursor(const char* fn) : fn_(fn) {}

  /// The input positioned at `offset` of `path`, its messages naming `key` and `origin`.
  /// @throws IoError when the file cannot be opened or the command fails, FormatError for an
  ///         offset past its end
  KaldiInput& at(const std::string& path, std::uint64_t offset, const std::string& key, const std::string& origin) {
    const bool command = kaldi_is_input_pipe(path) && !(adopted_ && path == path_);
    if (!in_ || path != path_ || command) {
      close();
      if (command) {
        auto data = std::make_unique<std::istringstream>(
            run_command_output(fn_, kaldi_pipe_command(path), detail::message(" (key '", key, "', ", origin, ")")));
        const auto size = static_cast<std::uint64_t>(data->str().size());
        file_ = std::move(data);
        in_.emplace(*file_, path, fn_, 0, size);
      } else {
        auto f = open_kaldi_input_file(fn_, path, detail::message(" (key '", key, "', ", origin, ")"));
        file_ = std::move(f.stream);
        in_.emplace(*file_, path, fn_, 0, f.size);
      }
      path_ = path;
    }
    in_->set_key(key);
    in_->set_origin(origin);
    in_->seek(offset);
    return *in_;
  }

  /// Serves `path` from `data` (kept until close()).
  KaldiInput& adopt(const std::string& path, std::string data) {
    close();
    auto stream = std::make_unique<std::istringstream>(std::move(data));
    const auto size = static_cast<std::uint64_t>(stream->str().size());
    file_ = std::move(stream);
    in_.emplace(*file_, path, fn_, 0, size);
    path_ = path;
    adopted_ = true;
    return *in_;
  }

  void close() {
    in_.reset();
    file_.reset();
    path_.clear();
    adopted_ = false;
  }

 private:
  const char* fn_;
  std::string path_;
  std::unique_ptr<std::istream> file_;
  std::optional<KaldiInput> in_;
  bool adopted_ = false;
};

/// One parsed line of a script file.
struct KaldiScpLine {
  std::string key;
  KaldiLocation location;
};

/// Splits a script-file line into key and location (Kaldi's SplitStringOnFirstSpace); returns
/// false for a blank line. @throws FormatError naming the script file and line
inline bool kaldi_parse_scp_line(const char* fn, const std::string& scp_name, std::size_t line_no, std::string line, KaldiScpLine& out) {
  const char* ws = " \t\r\n\f\v";
  const auto first = line.find_first_not_of(ws);
  if (first == std::string::npos) return false;
  const auto key_end = line.find_first_of(ws, first);
  const auto rest_begin = key_end == std::string::npos ? std::string::npos : line.find_first_not_of(ws, key_end);
  if (rest_begin == std::string::npos)
    throw FormatError(detail::message(fn, ": '", scp_name, "' line ", line_no, ": expected 'key location', found only '",
                                      kaldi_printable(line.substr(first)), "'"));
  const auto last = line.find_last_not_of(ws);
  out.key = line.substr(first, key_end - first);
  const std::string rest = line.substr(rest_begin, last + 1 - rest_begin);
  try {
    out.location = parse_kaldi_location(rest);
  } catch (const InvalidArgument& e) {
    throw FormatError(detail::message(fn, ": '", scp_name, "' line ", line_no, ": key '", out.key, "': ", e.what()));
  }
  if (out.location.path == "-")
    throw FormatError(detail::message(fn, ": '", scp_name, "' line ", line_no, ": key '", out.key, "': stdin cannot be a script-file entry"));
  return true;
}

inline std::string kaldi_scp_origin(const std::string& scp_name, std::size_t line_no) {
  return detail::message("from '", scp_name, "' line ", line_no);
}

}  // namespace detail

/// Reads a table one entry at a time, in file order:
///
///     KaldiSequentialReader<Matrix<float>> feats("scp:data/train/feats.scp");
///     for (; !feats.done(); feats.next()) use(feats.key(), feats.value());
///     // or: for (auto&& [utt, m] : KaldiSequentialReader<Matrix<float>>("ark:-")) use(utt, m);
///
/// The constructor reads the first entry; only the current entry is in memory.
template <class T>
class KaldiSequentialReader {
  using Traits = KaldiTableTraits<T>;

 public:
  /// Opens `rspecifier` (`ark:...` or `scp:...`) and reads its first entry.
  /// @throws InvalidArgument for a malformed specifier, IoError / FormatError as next()
  explicit KaldiSequentialReader(const std::string& rspecifier) : spec_(parse_kaldi_rspecifier(rspecifier)), cursor_(kFn) {
    if (spec_.is_pipe()) {
      pipe_ = std::make_unique<detail::CommandPipe>(kFn, detail::kaldi_pipe_command(spec_.path), detail::CommandPipe::Mode::Read);
      if (spec_.kind == KaldiTableKind::Archive) {
        archive_.emplace(pipe_->input(), spec_.path, kFn);
      } else {
        scp_ = &pipe_->input();
        scp_name_ = spec_.path;
      }
    } else if (spec_.kind == KaldiTableKind::Archive) {
      if (spec_.is_stdin()) {
        archive_.emplace(std::cin, "stdin", kFn);
      } else {
        auto f = detail::open_kaldi_input_file(kFn, spec_.path);
        file_ = std::move(f.stream);
        archive_.emplace(*file_, spec_.path, kFn, 0, f.size);
      }
    } else {
      if (spec_.is_stdin()) {
        scp_ = &std::cin;
        scp_name_ = "stdin";
      } else {
        auto f = detail::open_kaldi_input_file(kFn, spec_.path);
        file_ = std::move(f.stream);
        scp_ = file_.get();
        scp_name_ = spec_.path;
      }
    }
    next();
  }

  /// Reads an archive from a stream (which must outlive the reader); `name` is used in messages.
  explicit KaldiSequentialReader(std::istream& archive, std::string name = "<stream>") : cursor_(kFn) {
    spec_.kind = KaldiTableKind::Archive;
    spec_.path = name;
    spec_.text = "ark:" + name;
    archive_.emplace(archive, std::move(name), kFn);
    next();
  }

  KaldiSequentialReader(const KaldiSequentialReader&) = delete;
  KaldiSequentialReader& operator=(const KaldiSequentialReader&) = delete;
  KaldiSequentialReader(KaldiSequentialReader&&) = default;
  KaldiSequentialReader& operator=(KaldiSequentialReader&&) = default;

  /// True when every entry has been read.
  bool done() const { return done_; }
  /// The key of the current entry. @throws InvalidArgument when done()
  const std::string& key() const {
    check_entry("key");
    return key_;
  }
  /// The object of the current entry (movable: `auto m = std::move(reader.value());`).
  T& value() {
    check_entry("value");
    return value_;
  }
  const T& value() const {
    check_entry("value");
    return value_;
  }
  /// Script files: the 1-based line of the current entry (0 for archives).
  std::size_t line() const { return line_no_; }
  /// Entries skipped under the permissive option `p`.
  std::size_t num_skipped() const { return skipped_; }
  const KaldiRspecifier& rspecifier() const { return spec_; }

  /// Moves to the next entry (done() when there is none).
  /// @throws FormatError for a malformed entry (naming file, key, offset), IoError for a missing file
  void next() {
    if (done_) throw InvalidArgument(detail::message(kFn, ": next() after the end of '", spec_.text, "'"));
    if (spec_.kind == KaldiTableKind::Archive) next_in_archive();
    else next_in_script();
  }

  /// Input iterator over (key, value) pairs; `for (auto&& [key, value] : reader)`.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::pair<const std::string&, T&>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;
    iterator() = default;
    explicit iterator(KaldiSequentialReader* r) : r_(r) {}
    reference operator*() const { return {r_->key(), r_->value()}; }
    iterator& operator++() {
      r_->next();
      return *this;
    }
    bool operator==(const iterator& o) const { return at_end() == o.at_end(); }
    bool operator!=(const iterator& o) const { return !(*this == o); }

   private:
    bool at_end() const { return r_ == nullptr || r_->done(); }
    KaldiSequentialReader* r_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  static constexpr const char* kFn = "KaldiSequentialReader";

  void check_entry(const char* what) const {
    if (done_) throw InvalidArgument(detail::message(kFn, ": ", what, "() after the end of '", spec_.text, "'"));
  }

  void finish() {
    done_ = true;
    key_.clear();
    value_ = T();
    cursor_.close();
    if (pipe_) {
      // The command's output has been read to its end: it must have succeeded, or the table is
      // incomplete. (Under `p`, the reader stopped early on purpose: no check.)
      std::unique_ptr<detail::CommandPipe> pipe = std::move(pipe_);
      if (skipped_ == 0 || !spec_.permissive) pipe->finish();
    }
  }

  void next_in_archive() {
    KaldiInput& in = *archive_;
    in.set_key("");
    try {
      in.skip_space();
      if (in.at_end()) {
        finish();
        return;
      }
      std::string key = in.read_word("a key", 1 << 16);
      const int c = in.peek();
      if (c < 0) in.fail(detail::message("the archive ends after key '", detail::kaldi_printable(key), "'"));
      if (c == ' ' || c == '\t') in.get();
      else if (c != '\n') in.fail(detail::message("expected a space after key '", detail::kaldi_printable(key), "', found ", detail::kaldi_describe_char(c)));
      in.set_key(key);
      value_ = Traits::read(in);
      key_ = std::move(key);
    } catch (const Error&) {
      if (!spec_.permissive) throw;
      ++skipped_;
      finish();
    }
  }

  void next_in_script() {
    std::string line;
    for (;;) {
      if (!std::getline(*scp_, line)) {
        if (scp_->bad()) throw IoError(detail::message(kFn, ": error reading '", scp_name_, "'"));
        finish();
        return;
      }
      ++line_no_;
      detail::KaldiScpLine entry;
      if (!detail::kaldi_parse_scp_line(kFn, scp_name_, line_no_, line, entry)) continue;
      try {
        const std::string origin = detail::kaldi_scp_origin(scp_name_, line_no_);
        const std::uint64_t at = entry.location.offset.value_or(0);
        KaldiInput& in = cursor_.at(entry.location.path, at, entry.key, origin);
        value_ = Traits::read(in);
        if (!entry.location.range.empty()) value_ = Traits::extract_range(in, at, value_, entry.location.range);
        key_ = std::move(entry.key);
        return;
      } catch (const Error&) {
        if (!spec_.permissive) throw;
        ++skipped_;
        cursor_.close();
      }
    }
  }

  KaldiRspecifier spec_;
  std::unique_ptr<detail::CommandPipe> pipe_;  // `cmd |`: the command writing the archive or script
  std::unique_ptr<std::ifstream> file_;  // the archive or the script file
  std::optional<KaldiInput> archive_;
  std::istream* scp_ = nullptr;
  std::string scp_name_;
  detail::KaldiFileCursor cursor_;
  std::size_t line_no_ = 0, skipped_ = 0;
  bool done_ = false;
  std::string key_;
  T value_;
};

/// Reads a table by key. A script file is indexed once (its lines, not the data); an archive file
/// is indexed by one pass that records the offset of every object (binary objects are skipped
/// without being read). Objects are read when asked for; the last one is cached. An archive on
/// stdin cannot be read by key.
///
///     KaldiRandomAccessReader<Vector<float>> ivectors("scp:exp/ivectors/ivector.scp");
///     if (ivectors.has_key("spk1-utt3")) use(ivectors.value("spk1-utt3"));
template <class T>
class KaldiRandomAccessReader {
  using Traits = KaldiTableTraits<T>;

 public:
  /// @throws InvalidArgument for a malformed specifier or `ark:-`; FormatError for duplicate keys or
  ///         a malformed table (naming the file and line or offset); IoError for missing files
  explicit KaldiRandomAccessReader(const std::string& rspecifier) : spec_(parse_kaldi_rspecifier(rspecifier)), cursor_(kFn) {
    if (spec_.is_stdin() && spec_.kind == KaldiTableKind::Archive)
      throw InvalidArgument(detail::message(kFn, ": '", rspecifier, "': an archive on stdin cannot be read by key; write it to a file"));
    if (spec_.kind == KaldiTableKind::Archive) index_archive();
    else index_script();
  }

  KaldiRandomAccessReader(const KaldiRandomAccessReader&) = delete;
  KaldiRandomAccessReader& operator=(const KaldiRandomAccessReader&) = delete;
  KaldiRandomAccessReader(KaldiRandomAccessReader&&) = default;
  KaldiRandomAccessReader& operator=(KaldiRandomAccessReader&&) = default;

  /// Whether the table lists `key`. With the permissive option `p` the object is also read, and
  /// an unreadable one counts as absent.
  bool has_key(const std::string& key) {
    if (index_.find(key) == index_.end()) return false;
    if (!spec_.permissive) return true;
    try {
      value(key);
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  /// The object of `key` (read now unless it was the last one read); valid until the next call.
  /// @throws InvalidArgument for a key not in the table, FormatError / IoError for its data
  const T& value(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) throw InvalidArgument(detail::message(kFn, ": key '", key, "' is not in '", spec_.text, "'"));
    if (cached_ && cached_key_ == key) return cache_;
    const Entry& e = entries_[it->second];
    const std::string origin = e.line ? detail::kaldi_scp_origin(spec_.path, e.line) : std::string();
    cached_ = false;
    KaldiInput& in = cursor_.at(paths_[e.path], e.offset, key, origin);
    cache_ = Traits::read(in);
    if (!e.range.empty()) cache_ = Traits::extract_range(in, e.offset, cache_, e.range);
    cached_key_ = key;
    cached_ = true;
    return cache_;
  }

  /// The keys, in table order.
  const std::vector<std::string>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  const KaldiRspecifier& rspecifier() const { return spec_; }

 private:
  static constexpr const char* kFn = "KaldiRandomAccessReader";

  struct Entry {
    std::size_t path = 0;     // index into paths_
    std::uint64_t offset = 0;
    std::string range;
    std::size_t line = 0;     // script line (0 for archives)
    std::uint64_t key_offset = 0;  // archives: offset of the key
  };

  std::size_t path_id(const std::string& p) {
    const auto it = path_ids_.find(p);
    if (it != path_ids_.end()) return it->second;
    paths_.push_back(p);
    path_ids_.emplace(p, paths_.size() - 1);
    return paths_.size() - 1;
  }

  void add(std::string key, Entry e, const std::string& where_now) {
    const auto [it, inserted] = index_.emplace(key, entries_.size());
    if (!inserted) {
      const Entry& first = entries_[it->second];
      throw FormatError(detail::message(kFn, ": ", where_now, ": key '", key, "' appears twice (first ",
                                        first.line ? detail::message("on line ", first.line) : detail::message("at offset ", first.key_offset), ")"));
    }
    entries_.push_back(std::move(e));
    keys_.push_back(std::move(key));
  }

  void index_script() {
    std::unique_ptr<std::ifstream> file;
    std::unique_ptr<detail::CommandPipe> pipe;
    std::istream* scp = &std::cin;
    std::string name = "stdin";
    if (spec_.is_pipe()) {
      pipe = std::make_unique<detail::CommandPipe>(kFn, detail::kaldi_pipe_command(spec_.path), detail::CommandPipe::Mode::Read);
      scp = &pipe->input();
      name = spec_.path;
    } else if (!spec_.is_stdin()) {
      auto f = detail::open_kaldi_input_file(kFn, spec_.path);
      file = std::move(f.stream);
      scp = file.get();
      name = spec_.path;
    }
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(*scp, line)) {
      ++line_no;
      detail::KaldiScpLine entry;
      if (!detail::kaldi_parse_scp_line(kFn, name, line_no, line, entry)) continue;
      Entry e;
      e.path = path_id(entry.location.path);
      e.offset = entry.location.offset.value_or(0);
      e.range = std::move(entry.location.range);
      e.line = line_no;
      add(std::move(entry.key), std::move(e), detail::message("'", name, "' line ", line_no));
    }
    if (scp->bad()) throw IoError(detail::message(kFn, ": error reading '", name, "'"));
    if (pipe) pipe->finish();
  }

  void index_archive() {
    std::unique_ptr<std::ifstream> file;
    std::optional<KaldiInput> own;
    KaldiInput* input = nullptr;
    if (spec_.is_pipe()) {
      // A command's output cannot be sought in: it is read into memory once and served from there.
      input = &cursor_.adopt(spec_.path, detail::run_command_output(kFn, detail::kaldi_pipe_command(spec_.path)));
    } else {
      auto f = detail::open_kaldi_input_file(kFn, spec_.path);
      file = std::move(f.stream);
      own.emplace(*file, spec_.path, kFn, 0, f.size);
      input = &*own;
    }
    KaldiInput& in = *input;
    const std::size_t pid = path_id(spec_.path);
    for (;;) {
      in.set_key("");
      in.skip_space();
      if (in.at_end()) break;
      const std::uint64_t key_at = in.offset();
      std::string key = in.read_word("a key", 1 << 16);
      const int c = in.peek();
      if (c < 0) in.fail(detail::message("the archive ends after key '", detail::kaldi_printable(key), "'"));
      if (c == ' ' || c == '\t') in.get();
      else if (c != '\n') in.fail(detail::message("expected a space after key '", detail::kaldi_printable(key), "', found ", detail::kaldi_describe_char(c)));
      in.set_key(key);
      Entry e;
      e.path = pid;
      e.offset = in.offset();
      e.key_offset = key_at;
      const std::string where_now = detail::message("'", spec_.path, "' (offset ", key_at, ")");
      Traits::skip(in);
      add(std::move(key), std::move(e), where_now);
    }
  }

  KaldiRspecifier spec_;
  detail::KaldiFileCursor cursor_;
  std::vector<std::string> paths_;
  std::unordered_map<std::string, std::size_t> path_ids_;
  std::vector<Entry> entries_;
  std::vector<std::string> keys_;
  std::unordered_map<std::string, std::size_t> index_;
  bool cached_ = false;
  std::string cached_key_;
  T cache_;
};

}  // namespace ivkit
