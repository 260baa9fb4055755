/// @file
/// Kaldi's table specifiers and file locations, parsed as Kaldi's `util/kaldi-table.cc` and
/// `util/kaldi-io.cc` do:
///
///  - rspecifier (what to read): `ark:<rx>` or `scp:<rx>`, with options before the colon separated by
///    commas (or spaces): `b`, `t` (ignored: the mode is in the data), `o`/`no` (once), `s`/`ns`
///    (sorted), `cs`/`ncs` (called sorted), `p`/`np` (permissive), `bg` (background). E.g.
///    `ark,s,cs:-`, `scp,p:feats.scp`.
///  - wspecifier (what to write): `ark:<wx>`, `scp:<wx>` or `ark,scp:<ark-wx>,<scp-wx>`, with the
///    options `b` (binary, the default), `t` (text), `f`/`nf` (flush), `p` (permissive).
///  - rxfilename / wxfilename: a file name, `-` (or empty) for stdin / stdout, `name:offset` for a
///    byte offset into a file (reading), and in script files an optional range suffix `[r1:r2]` or
///    `[r1:r2,c1:c2]` (rows and columns, inclusive; either side may be `:` for all).
///
/// Pipes are Kaldi's: `ark:cmd |` and `scp:cmd |` read a command's output, `ark:| cmd` writes to
/// its input, and a script-file entry `key cmd |` reads one object from a command (piped `wav.scp`
/// lines too); see io/detail/command_pipe.hpp for how they run and fail.
#pragma once

#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ivkit/core/error.hpp"

namespace ivkit {

namespace detail {

inline std::vector<std::string_view> kaldi_split_options(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',' || s[i] == ' ') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

/// `cmd |`: a command whose output is read.
inline bool kaldi_is_input_pipe(std::string_view f) { return !f.empty() && f.back() == '|'; }
/// `| cmd`: a command whose input is written.
inline bool kaldi_is_output_pipe(std::string_view f) { return !f.empty() && f.front() == '|'; }

/// Either kind of pipe.
inline bool kaldi_is_pipe(std::string_view f) { return kaldi_is_input_pipe(f) || kaldi_is_output_pipe(f); }
/// `|` with no command beside it.
inline bool kaldi_pipe_is_empty(std::string_view f) { return f.find_first_not_of(" \t|") == std::string_view::npos; }

/// The command of `cmd |` or `| cmd`, without the bar and the white space next to it.
inline std::string kaldi_pipe_command(std::string_view f) {
  if (kaldi_is_input_pipe(f)) f.remove_suffix(1);
  else if (kaldi_is_output_pipe(f)) f.remove_prefix(1);
  const char* ws = " \t\r\n";
  const auto b = f.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const auto e = f.find_last_not_of(ws);
  return std::string(f.substr(b, e + 1 - b));
}

}  // namespace detail

/// Archive or script file.
enum class KaldiTableKind { Archive, Script };

/// A parsed rspecifier. The options other than `permissive` do not change what ivkit reads:
/// sequential readers stream in file order, random-access readers index the whole table once, so
/// sortedness is never needed; they are kept for callers that want to see them.
struct KaldiRspecifier {
  KaldiTableKind kind = KaldiTableKind::Archive;
  std::string path;            ///< the rxfilename after the colon; "-" or "" is stdin
  bool once = false;           ///< `o`: each key asked for once (random access)
  bool sorted = false;         ///< `s`: keys are sorted
  bool called_sorted = false;  ///< `cs`: keys will be asked for in sorted order
  bool permissive = false;     ///< `p`: unreadable script entries are skipped (see the readers)
  bool background = false;     ///< `bg`: read ahead in a background thread (ignored)
  std::string text;            ///< the specifier as given
  bool is_stdin() const { return path.empty() || path == "-"; }
  /// `ark:cmd |` or `scp:cmd |`: the table (or script) is the output of a command.
  bool is_pipe() const { return detail::kaldi_is_input_pipe(path); }
};

/// A parsed wspecifier.
struct KaldiWspecifier {
  std::string archive;      ///< the archive wxfilename, empty when none ("-" is stdout)
  std::string script;       ///< the script wxfilename, empty when none ("-" is stdout)
  bool has_archive = false;
  bool has_script = false;
  bool binary = true;       ///< `b` (default) or `t`
  bool flush = false;       ///< `f`: flush after every object (stdout only; files are written atomically)
  bool permissive = false;  ///< `p` (accepted, no effect on writing)
  std::string text;         ///< the specifier as given
  /// `ark:| cmd`: the archive is written to a command's input.
  bool archive_is_pipe() const { return detail::kaldi_is_output_pipe(archive); }
};


/// Parses an rspecifier. @throws InvalidArgument naming the specifier for anything Kaldi would
/// not accept (an output pipe `| cmd` where something is read, an empty command)
inline KaldiRspecifier parse_kaldi_rspecifier(const std::string& spec) {
  constexpr const char* fn = "parse_kaldi_rspecifier";
  KaldiRspecifier r;
  r.text = spec;
  const auto colon = spec.find(':');
  if (colon == std::string::npos)
    throw InvalidArgument(detail::message(fn, ": '", spec, "' is not an rspecifier (expected ark:<file> or scp:<file>, e.g. ark:feats.ark)"));
  if (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back())))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' ends with white space"));
  bool have_kind = false;
  for (const auto opt : detail::kaldi_split_options(std::string_view(spec).substr(0, colon))) {
    if (opt == "b" || opt == "t") continue;
    if (opt == "o") r.once = true;
    else if (opt == "no") r.once = false;
    else if (opt == "s") r.sorted = true;
    else if (opt == "ns") r.sorted = false;
    else if (opt == "cs") r.called_sorted = true;
    else if (opt == "ncs") r.called_sorted = false;
    else if (opt == "p") r.permissive = true;
    else if (opt == "np") r.permissive = false;
    else if (opt == "bg") r.background = true;
    else if (opt == "ark" || opt == "scp") {
      if (have_kind) throw InvalidArgument(detail::message(fn, ": '", spec, "' names ark or scp twice"));
      have_kind = true;
      r.kind = opt == "ark" ? KaldiTableKind::Archive : KaldiTableKind::Script;
    } else {
      throw InvalidArgument(detail::message(fn, ": '", spec, "' has the unknown option '", opt,
                                            "' (known: ark, scp, b, t, o, no, s, ns, cs, ncs, p, np, bg)"));
    }
  }
  if (!have_kind) throw InvalidArgument(detail::message(fn, ": '", spec, "' names neither ark nor scp"));
  r.path = spec.substr(colon + 1);
  if (detail::kaldi_is_output_pipe(r.path))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' writes to a command ('| cmd'), but an rspecifier is read: use 'cmd |'"));
  if (r.is_pipe() && detail::kaldi_pipe_is_empty(r.path))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' has an empty command before '|'"));
  return r;
}

/// Parses a wspecifier. @throws InvalidArgument for anything Kaldi would not accept, an input pipe
/// `cmd |` where something is written, and a script file or an `ark,scp:` archive sent to a command
/// (a script's offsets into a command's input would mean nothing)
inline KaldiWspecifier parse_kaldi_wspecifier(const std::string& spec) {
  constexpr const char* fn = "parse_kaldi_wspecifier";
  KaldiWspecifier w;
  w.text = spec;
  const auto colon = spec.find(':');
  if (colon == std::string::npos)
    throw InvalidArgument(detail::message(fn, ": '", spec, "' is not a wspecifier (expected ark:<file>, ark,t:<file> or ark,scp:<ark>,<scp>)"));
  if (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back())))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' ends with white space"));
  for (const auto opt : detail::kaldi_split_options(std::string_view(spec).substr(0, colon))) {
    if (opt == "b") w.binary = true;
    else if (opt == "t") w.binary = false;
    else if (opt == "f") w.flush = true;
    else if (opt == "nf") w.flush = false;
    else if (opt == "p") w.permissive = true;
    else if (opt == "ark") {
      if (w.has_archive || w.has_script) throw InvalidArgument(detail::message(fn, ": '", spec, "': ark must come once, before scp"));
      w.has_archive = true;
    } else if (opt == "scp") {
      if (w.has_script) throw InvalidArgument(detail::message(fn, ": '", spec, "' names scp twice"));
      w.has_script = true;
    } else {
      throw InvalidArgument(detail::message(fn, ": '", spec, "' has the unknown option '", opt, "' (known: ark, scp, b, t, f, nf, p)"));
    }
  }
  const std::string rest = spec.substr(colon + 1);
  if (w.has_archive && w.has_script) {
    const auto comma = rest.find(',');
    if (comma == std::string::npos)
      throw InvalidArgument(detail::message(fn, ": '", spec, "' needs two file names, ark,scp:<archive>,<script>"));
    w.archive = rest.substr(0, comma);
    w.script = rest.substr(comma + 1);
  } else if (w.has_archive) {
    w.archive = rest;
  } else if (w.has_script) {
    w.script = rest;
  } else {
    throw InvalidArgument(detail::message(fn, ": '", spec, "' names neither ark nor scp"));
  }
  if (detail::kaldi_is_input_pipe(w.archive) || detail::kaldi_is_input_pipe(w.script))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' reads from a command ('cmd |'), but a wspecifier is written: use '| cmd'"));
  if (w.has_script && detail::kaldi_is_pipe(w.script))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' sends the script file to a command, which ivkit does not do: write it to a file"));
  if (w.has_script && w.archive_is_pipe())
    throw InvalidArgument(detail::message(fn, ": '", spec, "' sends the archive to a command, so a script file could not point into it"));
  if (w.archive_is_pipe() && detail::kaldi_pipe_is_empty(w.archive))
    throw InvalidArgument(detail::message(fn, ": '", spec, "' has an empty command after '|'"));
  return w;
}

/// Where one object lives, from an rxfilename or a script-file entry: `path`, `path:offset`,
/// each optionally followed by a range `[rows]` or `[rows,cols]`.
struct KaldiLocation {
  std::string path;                     ///< file name; "-" for stdin
  std::optional<std::uint64_t> offset;  ///< byte offset of the object (at its binary marker)
  std::string range;                    ///< the range inside the brackets, empty for none
};

/// Parses an rxfilename with optional offset and range (Kaldi's ClassifyRxfilename and
/// ExtractRangeSpecifier): a trailing `:digits` is an offset; `name[...]` a range; `cmd |` a
/// command whose output holds the object (no offset; `path` is then the whole `cmd |`).
/// @throws InvalidArgument for an output pipe `| cmd`, a malformed range, leading or trailing white
///         space, or an ark:/scp: specifier where a file name is expected
inline KaldiLocation parse_kaldi_location(std::string_view rx) {
  constexpr const char* fn = "parse_kaldi_location";
  KaldiLocation loc;
  if (!rx.empty() && (std::isspace(static_cast<unsigned char>(rx.front())) || std::isspace(static_cast<unsigned char>(rx.back()))))
    throw InvalidArgument(detail::message(fn, ": '", rx, "' has leading or trailing white space"));
  if (!rx.empty() && rx.back() == ']') {
    const auto open = rx.find('[');
    if (open == std::string_view::npos || open == 0 || rx.find('[', open + 1) != std::string_view::npos || rx.size() - open < 3)
      throw InvalidArgument(detail::message(fn, ": '", rx, "' has a malformed range (expected name[r1:r2] or name[r1:r2,c1:c2])"));
    loc.range = std::string(rx.substr(open + 1, rx.size() - open - 2));
    rx = rx.substr(0, open);
  }
  if (detail::kaldi_is_output_pipe(rx))
    throw InvalidArgument(detail::message(fn, ": '", rx, "' writes to a command ('| cmd'), but a file is read here: use 'cmd |'"));
  if (detail::kaldi_is_input_pipe(rx)) {
    if (detail::kaldi_pipe_is_empty(rx)) throw InvalidArgument(detail::message(fn, ": '", rx, "' has an empty command before '|'"));
    loc.path = std::string(rx);
    return loc;
  }
  if (rx.size() > 4 && (rx.substr(0, 4) == "ark:" || rx.substr(0, 4) == "scp:"))
    throw InvalidArgument(detail::message(fn, ": '", rx, "' is a table specifier, not a file name"));
  std::size_t i = rx.size();
  while (i > 0 && rx[i - 1] >= '0' && rx[i - 1] <= '9') --i;
  if (i < rx.size() && i > 1 && rx[i - 1] == ':') {
    std::uint64_t off = 0;
    const auto r = std::from_chars(rx.data() + i, rx.data() + rx.size(), off);
    if (r.ec != std::errc()) throw InvalidArgument(detail::message(fn, ": '", rx, "' has an offset out of range"));
    loc.offset = off;
    rx = rx.substr(0, i - 1);
  }
  loc.path = rx.empty() ? std::string("-") : std::string(rx);
  return loc;
}

/// A parsed range: rows [row_begin, row_end] and columns [col_begin, col_end], inclusive; -1 for
/// "to the last".
struct KaldiRange {
  long long row_begin = 0, row_end = -1, col_begin = 0, col_end = -1;
  bool has_cols = false;
};

/// Parses `r1:r2`, `r1:r2,c1:c2`, `:`, `:,c1:c2` (Kaldi's ParseMatrixRangeSpecifier syntax).
/// @throws InvalidArgument for anything else
inline KaldiRange parse_kaldi_range(std::string_view range) {
  constexpr const char* fn = "parse_kaldi_range";
  auto bad = [&]() -> InvalidArgument {
    return InvalidArgument(detail::message(fn, ": '[", range, "]' is not a range (expected [r1:r2] or [r1:r2,c1:c2], inclusive)"));
  };
  auto parse_pair = [&](std::string_view s, long long& a, long long& b) {
    if (s == ":") return;
    const auto c = s.find(':');
    if (c == std::string_view::npos || c == 0 || c + 1 == s.size()) throw bad();
    const auto r1 = std::from_chars(s.data(), s.data() + c, a);
    const auto r2 = std::from_chars(s.data() + c + 1, s.data() + s.size(), b);
    if (r1.ec != std::errc() || r1.ptr != s.data() + c || r2.ec != std::errc() || r2.ptr != s.data() + s.size() || a < 0 || b < a)
      throw bad();
  };
  KaldiRange r;
  const auto comma = range.find(',');
  if (range.empty()) throw bad();
  if (comma == std::string_view::npos) {
    parse_pair(range, r.row_begin, r.row_end);
  } else {
    const auto rows = range.substr(0, comma), cols = range.substr(comma + 1);
    if (rows.empty() || cols.empty()) throw bad();
    parse_pair(rows, r.row_begin, r.row_end);
    parse_pair(cols, r.col_begin, r.col_end);
    r.has_cols = true;
  }
  return r;
}

}  // namespace ivkit
