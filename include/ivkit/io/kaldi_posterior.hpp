/// @file
/// Posterior tables as Kaldi writes them (fgmm-global-gselect-to-post, gmm-global-get-post,
/// scale-post, a DNN's posteriors: a PosteriorWriter): for each utterance, per frame a list of
/// (component, posterior) pairs. This teaches ivkit's table readers and writers
/// (KaldiSequentialReader, KaldiRandomAccessReader, KaldiWriter) the type KaldiPosterior =
/// std::vector<std::vector<std::pair<int32_t, float>>>, in Kaldi's layout (PosteriorHolder,
/// hmm/posterior.cc):
///   binary: `\0B`, int32 frame count (size byte 4, then 4 bytes), then per frame an int32 count and
///           that many pairs of an int32 index and a float (size byte 4, or 8 for a double, which
///           is read and converted as Kaldi's ReadBasicType does);
///   text:   one line per utterance, each frame in brackets: `[ 3 0.75 1 0.25 ] [ 2 1 ] \n`.
/// Text is written with the shortest decimal that reads back to the same float (Kaldi prints six
/// significant digits). Ranges ([r1:r2] in script files) select frames.
///
///     KaldiWriter<KaldiPosterior> out("ark:post.ark");
///     out.write(utt, posterior_to_table(ubm.selected_posteriors(frames, selection, 0.025)));
///     SparsePosteriors<float> p = posterior_from_table(reader.value(utt), C, utt);
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/gmm/sparse_posteriors.hpp"
#include "ivkit/io/kaldi_holder.hpp"
#include "ivkit/io/kaldi_io.hpp"

namespace ivkit {

/// One utterance of a posterior table: per frame, (component index, posterior) pairs.
using KaldiPosterior = std::vector<std::vector<std::pair<std::int32_t, float>>>;

/// The entries of `post` as Kaldi's table type, in their order (frame_log_likelihoods is not kept).
template <class Scalar>
KaldiPosterior posterior_to_table(const SparsePosteriors<Scalar>& post) {
  KaldiPosterior out(static_cast<std::size_t>(post.num_frames()));
  for (Index t = 0; t < post.num_frames(); ++t) {
    auto& row = out[static_cast<std::size_t>(t)];
    row.reserve(static_cast<std::size_t>(post.end(t) - post.begin(t)));
    for (Index k = post.begin(t); k < post.end(t); ++k)
      row.emplace_back(post.components[static_cast<std::size_t>(k)], static_cast<float>(post.values[static_cast<std::size_t>(k)]));
  }
  return out;
}

/// A table's posteriors as SparsePosteriors, in the table's order, checked against a model of
/// `num_components` components: indices in range, each at most once per frame, posteriors finite
/// and not negative (they need not sum to one: scaled or a DNN's). frame_log_likelihoods is empty.
/// @param what names the utterance in messages
/// @throws FormatError naming the frame and the entry at fault
inline SparsePosteriors<float> posterior_from_table(const KaldiPosterior& table, Index num_components, const std::string& what) {
  SparsePosteriors<float> out;
  out.offsets.reserve(table.size() + 1);
  for (std::size_t t = 0; t < table.size(); ++t) {
    const auto& row = table[t];
    for (std::size_t j = 0; j < row.size(); ++j) {
      const auto [c, p] = row[j];
      if (c < 0 || c >= num_components)
        throw FormatError(detail::message(what, ": frame ", t, " has a posterior for component ", c, " but the model has ",
                                          num_components, " components"));
      if (!std::isfinite(p) || p < 0.0f)
        throw FormatError(detail::message(what, ": frame ", t, " has the posterior ", p, " for component ", c,
                                          " (posteriors must be finite and not negative)"));
      for (std::size_t i = 0; i < j; ++i)
        if (row[i].first == c) throw FormatError(detail::message(what, ": frame ", t, " has two posteriors for component ", c));
      out.components.push_back(c);
      out.values.push_back(p);
    }
    out.offsets.push_back(static_cast<Index>(out.values.size()));
  }
  return out;
}

namespace detail {

inline KaldiPosterior read_kaldi_posterior(KaldiInput& in) {
  if (in.binary())
    return read_kaldi_binary_frames<std::pair<std::int32_t, float>>(in, 10, "posteriors", "posteriors",
                                                                    [](KaldiInput& from, std::pair<std::int32_t, float>& e) {
                                                                      e.first = from.read_int<std::int32_t>();
                                                                      e.second = from.read_real<float>();
                                                                    });
  // Text: the rest of the line, `[ index posterior ... ]` per frame.
  KaldiPosterior out;
  for (;;) {
    const int c = in.skip_blanks();
    if (c < 0 || c == '\n') {
      if (c == '\n') in.get();
      break;
    }
    if (c != '[') in.fail(detail::message("expected '[' at the start of a frame's posteriors, found ", detail::kaldi_describe_char(c)));
    in.get();
    std::vector<std::pair<std::int32_t, float>> row;
    for (;;) {
      int d = in.skip_blanks();
      if (d == ']') {
        in.get();
        break;
      }
      if (d < 0 || d == '\n') in.fail("a frame's posteriors end before their closing ']'");
      const auto index = in.read_int<std::int32_t>();
      d = in.skip_blanks();
      if (d < 0 || d == '\n' || d == ']') in.fail(detail::message("component ", index, " has no posterior"));
      row.emplace_back(index, in.read_real<float>());
    }
    out.push_back(std::move(row));
  }
  return out;
}

inline void write_kaldi_posterior(KaldiOutput& out, const KaldiPosterior& post) {
  if (post.size() > static_cast<std::size_t>(INT32_MAX))
    throw InvalidArgument(detail::message(out.function(), ": ", post.size(), " frames are too many for Kaldi's int32 count"));
  if (out.binary()) {
    out.write_int(static_cast<std::int32_t>(post.size()));
    for (const auto& row : post) {
      out.write_int(static_cast<std::int32_t>(row.size()));
      for (const auto& [c, p] : row) {
        out.write_int(c);
        out.write_real(p);
      }
    }
    return;
  }
  for (const auto& row : post) {
    out.write_text("[ ");
    for (const auto& [c, p] : row) {
      out.write_int(c);
      out.write_real(p);
    }
    out.write_text("] ");
  }
  out.write_text("\n");
}

}  // namespace detail

}  // namespace ivkit

template <>
struct ivkit::KaldiTableTraits<ivkit::KaldiPosterior> {
  static constexpr const char* kind = "posterior";
  static ivkit::KaldiPosterior read(KaldiInput& in) {
    in.read_binary_marker();
    return ivkit::detail::read_kaldi_posterior(in);
  }
  static void skip(KaldiInput& in) { (void)read(in); }
  static void write(KaldiOutput& out, const ivkit::KaldiPosterior& v, const KaldiWriteOptions&) {
    out.write_binary_marker();
    ivkit::detail::write_kaldi_posterior(out, v);
  }
  static ivkit::KaldiPosterior extract_range(const KaldiInput& in, std::uint64_t at, const ivkit::KaldiPosterior& v, const std::string& range) {
    return ivkit::detail::kaldi_frame_range(in, at, v, range, "a posterior table entry");
  }
};
