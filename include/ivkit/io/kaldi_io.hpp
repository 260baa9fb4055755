/// @file
/// The primitive layer of Kaldi's serialisation, shared by every Kaldi reader and writer in ivkit
/// (tables of matrices and vectors, and the model files: `final.dubm`, `final.ubm`, `final.ie`,
/// PLDA): the binary marker, tokens, integers, reals and booleans, integer vectors, in both of
/// Kaldi's modes.
///
/// Format facts (from Kaldi's `base/io-funcs.{h,cc}`, `base/io-funcs-inl.h`):
///  - A binary object starts with the two bytes `\0B`; a text object starts with anything else.
///  - A token (`<DiagGMM>`, `FM`, ...) is a non-empty word without white space, written as the word
///    and one space in both modes. Readers skip white space before it and consume one white-space
///    character after it.
///  - Binary integer: one size byte (+sizeof for signed types, -sizeof for unsigned types), then the
///    integer in the host's (little-endian) byte order. Text: the decimal value and a space.
///  - Binary real: one size byte (4 for float, 8 for double), then the IEEE value; a reader of
///    either type accepts both sizes. Text: the value and a space.
///  - Boolean: the letter `T` or `F` (text: followed by a space).
///  - Binary integer vector: one byte sizeof(element), a raw int32 count (no size byte), then the
///    raw elements. Text: `[ 1 2 3 ]` and a newline.
///
/// Text reals are written in the shortest form that reads back to the same value (Kaldi itself
/// prints 7 significant digits, which loses precision); readers accept any decimal or scientific
/// form and `inf`, `-inf`, `nan` (any case), as Kaldi does.
///
/// KaldiInput (io/kaldi_input.hpp) reads them and KaldiOutput (io/kaldi_output.hpp) writes them;
/// read_kaldi_object / write_kaldi_object (here) open a file (or stdin/stdout) holding one object, handle
/// the binary marker, and write atomically: the entry points for Kaldi's model files.
///
/// Every failure of a reader is an ivkit::FormatError naming the function, the source (a file
/// name, or `stdin`), the current table key when there is one, and the byte offset; a size field
/// never causes an allocation larger than the data actually present (see KaldiInput::require).
/// Only little-endian hosts are supported (as Kaldi's own files are little-endian in practice).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <istream>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <sstream>
#include <utility>
#include <vector>

#include "ivkit/core/byte_order.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/io/detail/command_pipe.hpp"
#include "ivkit/io/detail/kaldi_files.hpp"
#include "ivkit/io/kaldi_specifier.hpp"
#include "ivkit/io/kaldi_input.hpp"
#include "ivkit/io/kaldi_output.hpp"

namespace ivkit {

// ---- single objects in files ----------------------------------------------------------------

/// Reads the one object held by an rxfilename (`path`, `path:offset` into an archive, `-` for
/// stdin, or `cmd |` for a command's output, as `'fgmm-global-to-gmm final.ubm - |'`): opens it,
/// detects the binary marker, and returns `read(in)` — the entry point for Kaldi model files
/// (`final.dubm`, `final.ie`, ...) and single matrices. `fn` names the caller in messages.
/// @throws InvalidArgument for a malformed rxfilename (ranges), IoError when the file cannot
///         be opened or the command fails, and whatever `read` throws (FormatError naming file and offset)
template <class ReadFn>
auto read_kaldi_object(const char* fn, const std::string& rxfilename, ReadFn read) -> decltype(read(std::declval<KaldiInput&>())) {
  KaldiLocation loc;
  try {
    loc = parse_kaldi_location(rxfilename);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(detail::message(fn, ": ", e.what()));
  }
  if (!loc.range.empty()) throw InvalidArgument(detail::message(fn, ": '", rxfilename, "': ranges are for script files"));
  if (detail::kaldi_is_input_pipe(loc.path)) {
    std::istringstream data(detail::run_command_output(fn, detail::kaldi_pipe_command(loc.path)));
    const auto size = static_cast<std::uint64_t>(data.str().size());
    KaldiInput in(data, loc.path, fn, 0, size);
    in.read_binary_marker();
    return read(in);
  }
  if (loc.path == "-") {
    if (loc.offset) throw InvalidArgument(detail::message(fn, ": '", rxfilename, "': stdin has no offsets"));
    std::istream& cin = std::cin;
    KaldiInput in(cin, "stdin", fn);
    in.read_binary_marker();
    return read(in);
  }
  auto file = detail::open_kaldi_input_file(fn, loc.path);
  KaldiInput in(*file.stream, loc.path, fn, 0, file.size);
  if (loc.offset) in.seek(*loc.offset);
  in.read_binary_marker();
  return read(in);
}

/// Writes one object to a wxfilename: a file, written atomically (temporary file, then rename, so
/// an interrupted write leaves the old file or none), or stdout for `-`. Writes the binary marker
/// in binary mode, then calls `write(out)`; `| cmd` writes to a command's input.
/// @throws IoError when the file cannot be written or the command fails
template <class WriteFn>
void write_kaldi_object(const char* fn, const std::string& wxfilename, bool binary, WriteFn write) {
  if (wxfilename.empty() || wxfilename == "-") {
    KaldiOutput out(std::cout, binary, "stdout", fn);
    out.write_binary_marker();
    write(out);
    std::cout.flush();
    if (!std::cout) throw IoError(detail::message(fn, ": writing to stdout failed"));
    return;
  }
  if (detail::kaldi_is_output_pipe(wxfilename)) {
    detail::CommandPipe pipe(fn, detail::kaldi_pipe_command(wxfilename), detail::CommandPipe::Mode::Write);
    KaldiOutput out(pipe.output(), binary, wxfilename, fn);
    out.write_binary_marker();
    write(out);
    pipe.finish();
    return;
  }
  if (detail::kaldi_is_input_pipe(wxfilename))
    throw InvalidArgument(detail::message(fn, ": '", wxfilename, "' reads from a command ('cmd |'), but a file is written here: use '| cmd'"));
  detail::AtomicOutputFile file(fn, wxfilename);
  KaldiOutput out(file.stream(), binary, wxfilename, fn);
  out.write_binary_marker();
  write(out);
  file.commit();
}

}  // namespace ivkit
