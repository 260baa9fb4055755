// Gaussian-selection tables as Kaldi writes them (gmm-gselect: an Int32VectorVectorWriter): for each
// utterance, one vector of component indices per frame, best first. This teaches ivkit's table
// readers and writers (KaldiSequentialReader, KaldiRandomAccessReader, KaldiWriter) the type
// std::vector<std::vector<int32_t>>, in Kaldi's layout (BasicVectorVectorHolder<int32>,
// util/kaldi-holder-inl.h):
//   binary: `\0B`, int32 frame count (size byte 4, then 4 bytes), then per frame an int32 count and
//           that many int32 indices (each with its size byte 4);
//   text:   one line per utterance, each frame's indices followed by ";": `3 1 0 ; 2 3 1 ; \n`.
// Ranges ([r1:r2] in script files) select frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ivkit/gmm/sparse_posteriors.hpp>
#include <ivkit/io/kaldi_holder.hpp>
#include <ivkit/io/kaldi_io.hpp>

namespace ivkit_tools {

using Int32VectorVector = std::vector<std::vector<std::int32_t>>;

/// The table value of a Gaussian selection (one vector of n indices per frame).
Int32VectorVector gselect_to_table(const ivkit::GaussianSelection& sel);

/// A table value as a Gaussian selection for a model of `num_components` components, checked:
/// every frame must select the same number (>= 1) of distinct indices in [0, num_components).
/// `what` names the utterance and table in messages. @throws ivkit::FormatError
ivkit::GaussianSelection gselect_from_table(const Int32VectorVector& table, ivkit::Index num_components, const std::string& what);

namespace detail {
Int32VectorVector read_int32_vector_vector(ivkit::KaldiInput& in);
void write_int32_vector_vector(ivkit::KaldiOutput& out, const Int32VectorVector& v);
}  // namespace detail

}  // namespace ivkit_tools

template <>
struct ivkit::KaldiTableTraits<ivkit_tools::Int32VectorVector> {
  static constexpr const char* kind = "int32 vector of vectors";
  static ivkit_tools::Int32VectorVector read(KaldiInput& in) {
    in.read_binary_marker();
    return ivkit_tools::detail::read_int32_vector_vector(in);
  }
  static void skip(KaldiInput& in) { (void)read(in); }
  static void write(KaldiOutput& out, const ivkit_tools::Int32VectorVector& v, const KaldiWriteOptions&) {
    out.write_binary_marker();
    ivkit_tools::detail::write_int32_vector_vector(out, v);
  }
  static ivkit_tools::Int32VectorVector extract_range(const KaldiInput& in, std::uint64_t at, const ivkit_tools::Int32VectorVector& v,
                                                      const std::string& range) {
    KaldiRange r;
    try {
      r = parse_kaldi_range(range);
    } catch (const InvalidArgument&) {
      in.fail_at(at, ivkit::detail::message("malformed range [", range, "] (expected [r1:r2], inclusive)"));
    }
    if (r.has_cols) in.fail_at(at, ivkit::detail::message("range [", range, "] has two parts but a Gaussian selection has only frames"));
    ivkit::detail::kaldi_range_bounds(in, at, "number of frames", static_cast<long long>(v.size()), r.row_begin, r.row_end, 3, range);
    return ivkit_tools::Int32VectorVector(v.begin() + r.row_begin, v.begin() + r.row_end + 1);
  }
};
