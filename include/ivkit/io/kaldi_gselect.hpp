/// @file
/// Gaussian-selection tables as Kaldi writes them (gmm-gselect: an Int32VectorVectorWriter): for
/// each utterance, one vector of component indices per frame, best first. This teaches ivkit's
/// table readers and writers (KaldiSequentialReader, KaldiRandomAccessReader, KaldiWriter) the type
/// Int32VectorVector = std::vector<std::vector<int32_t>>, in Kaldi's layout
/// (BasicVectorVectorHolder<int32>, util/kaldi-holder-inl.h):
///   binary: `\0B`, int32 frame count (size byte 4, then 4 bytes), then per frame an int32 count and
///           that many int32 indices (each with its size byte 4);
///   text:   one line per utterance, each frame's indices followed by ";": `3 1 0 ; 2 3 1 ; \n`.
/// Ranges ([r1:r2] in script files) select frames.
///
///     KaldiWriter<Int32VectorVector> out("ark:gselect.ark");
///     out.write(utt, gselect_to_table(ubm.gaussian_selection(frames, 20)));
///     auto sel = gselect_from_table(KaldiRandomAccessReader<Int32VectorVector>("ark:gselect.ark").value(utt), C, utt);
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/gmm/sparse_posteriors.hpp"
#include "ivkit/io/kaldi_holder.hpp"
#include "ivkit/io/kaldi_io.hpp"

namespace ivkit {

/// One utterance of a Gaussian-selection table: per frame, the selected component indices.
using Int32VectorVector = std::vector<std::vector<std::int32_t>>;

/// The table value of a Gaussian selection (one vector of n indices per frame).
inline Int32VectorVector gselect_to_table(const GaussianSelection& sel) {
  Int32VectorVector out(static_cast<std::size_t>(sel.num_frames()));
  for (Index t = 0; t < sel.num_frames(); ++t) {
    auto& row = out[static_cast<std::size_t>(t)];
    row.resize(static_cast<std::size_t>(sel.num_selected()));
    for (Index k = 0; k < sel.num_selected(); ++k) row[static_cast<std::size_t>(k)] = static_cast<std::int32_t>(sel.indices(t, k));
  }
  return out;
}

/// A table value as a Gaussian selection for a model of `num_components` components, checked:
/// every frame must select the same number (>= 1) of distinct indices in [0, num_components).
/// `what` names the utterance and table in messages. @throws FormatError
inline GaussianSelection gselect_from_table(const Int32VectorVector& table, Index num_components, const std::string& what) {
  GaussianSelection sel;
  const Index n = static_cast<Index>(table.size());
  const Index k = n > 0 ? static_cast<Index>(table[0].size()) : 0;
  if (n > 0 && k < 1) throw FormatError(detail::message(what, ": frame 0 selects no Gaussians"));
  sel.indices.resize(n, k);
  sel.frame_log_likelihoods = Vector<double>::Zero(n);
  for (Index t = 0; t < n; ++t) {
    const auto& row = table[static_cast<std::size_t>(t)];
    if (static_cast<Index>(row.size()) != k)
      throw FormatError(detail::message(what, ": frame ", t, " selects ", row.size(), " Gaussians but frame 0 selects ", k,
                                                      " (every frame must select the same number)"));
    for (Index j = 0; j < k; ++j) {
      const std::int32_t c = row[static_cast<std::size_t>(j)];
      if (c < 0 || c >= num_components)
        throw FormatError(detail::message(what, ": frame ", t, " selects Gaussian ", c, " but the model has ", num_components,
                                                        " components"));
      for (Index i = 0; i < j; ++i)
        if (row[static_cast<std::size_t>(i)] == c)
          throw FormatError(detail::message(what, ": frame ", t, " selects Gaussian ", c, " twice"));
      sel.indices(t, j) = c;
    }
  }
  return sel;
}

namespace detail {

inline Int32VectorVector read_int32_vector_vector(KaldiInput& in) {
  if (in.binary())
    return read_kaldi_binary_frames<std::int32_t>(in, 5, "a Gaussian selection", "indices",
                                                   [](KaldiInput& from, std::int32_t& v) { v = from.read_int<std::int32_t>(); });
  // Text: the rest of the line; each frame's indices end with ';'.
  Int32VectorVector out;
  std::vector<std::int32_t> row;
  bool open = false;  // indices read since the last ';'
  for (;;) {
    const int c = in.skip_blanks();
    if (c < 0 || c == '\n') {
      if (open) in.fail("the indices of the last frame are not terminated by ';' (Kaldi's text format ends every frame with ';')");
      if (c == '\n') in.get();
      break;
    }
    if (c == ';') {
      in.get();
      out.push_back(std::move(row));
      row.clear();
      open = false;
      continue;
    }
    const std::uint64_t at = in.offset();
    std::string w;
    for (int d = in.peek(); d >= 0 && d != ' ' && d != '\t' && d != '\r' && d != '\n' && d != ';' && w.size() < 16; d = in.peek()) {
      w += static_cast<char>(d);
      in.get();
    }
    std::int32_t v = 0;
    const auto r = std::from_chars(w.data(), w.data() + w.size(), v);
    if (r.ec != std::errc() || r.ptr != w.data() + w.size())
      in.fail_at(at, detail::message("expected an integer or ';' in a text Gaussian selection, found '", detail::kaldi_printable(w), "'"));
    row.push_back(v);
    open = true;
  }
  return out;
}

inline void write_int32_vector_vector(KaldiOutput& out, const Int32VectorVector& v) {
  if (v.size() > static_cast<std::size_t>(INT32_MAX))
    throw InvalidArgument(detail::message(out.function(), ": ", v.size(), " frames are too many for Kaldi's int32 count"));
  if (out.binary()) {
    out.write_int(static_cast<std::int32_t>(v.size()));
    for (const auto& row : v) {
      out.write_int(static_cast<std::int32_t>(row.size()));
      for (std::int32_t x : row) out.write_int(x);
    }
    return;
  }
  std::string s;
  char buf[16];
  for (const auto& row : v) {
    for (std::int32_t x : row) {
      const auto r = std::to_chars(buf, buf + sizeof buf, x);
      s.append(buf, r.ptr);
      s += ' ';
    }
    s += "; ";
  }
  s += '\n';
  out.write_text(s);
}

}  // namespace detail

}  // namespace ivkit

template <>
struct ivkit::KaldiTableTraits<ivkit::Int32VectorVector> {
  static constexpr const char* kind = "int32 vector of vectors";
  static ivkit::Int32VectorVector read(KaldiInput& in) {
    in.read_binary_marker();
    return ivkit::detail::read_int32_vector_vector(in);
  }
  static void skip(KaldiInput& in) { (void)read(in); }
  static void write(KaldiOutput& out, const ivkit::Int32VectorVector& v, const KaldiWriteOptions&) {
    out.write_binary_marker();
    ivkit::detail::write_int32_vector_vector(out, v);
  }
  static ivkit::Int32VectorVector extract_range(const KaldiInput& in, std::uint64_t at, const ivkit::Int32VectorVector& v, const std::string& range) {
    return ivkit::detail::kaldi_frame_range(in, at, v, range, "a Gaussian selection");
  }
};
