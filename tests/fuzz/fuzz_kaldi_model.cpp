// Fuzz harness: Kaldi's model files through ivkit's readers (ivkit/io/kaldi_gmm.hpp,
// kaldi_ivector_extractor.hpp, kaldi_plda.hpp, kaldi_transform.hpp, kaldi_gselect.hpp,
// kaldi_posterior.hpp): `final.dubm` (DiagGMM), `final.ubm` (FullGMM), `final.ie`, `plda`, LDA
// transforms (affine and linear), one utterance of a Gaussian-selection table (a vector of int32
// vectors) and one of a posterior table (per frame, (int32, float) pairs), both checked against a
// model of 16 components.
//
// Input: one selector byte, then the object with its binary marker. Selector bits 0-2 pick the
// reader; bit 3 says whether the reader knows the size of the data (a regular file) or not (stdin);
// bit 4 picks float (set) or double. A model read is written back in the same mode, which must read
// again. PLDA, transforms and selections must then write the same bytes again, posteriors the same
// entries; GMMs and extractors are stored by Kaldi as inverse (co)variances, and 1 / (1 / x) need
// not give x back, so for them the second write need only read again.
#include <cmath>
#include <sstream>

#include "harness.hpp"
#include "kaldi_objects.hpp"

#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_gselect.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_ivector_extractor.hpp"
#include "ivkit/io/kaldi_plda.hpp"
#include "ivkit/io/kaldi_posterior.hpp"
#include "ivkit/io/kaldi_transform.hpp"

namespace {

using ivkit_fuzz::read_object;
using ivkit_fuzz::write_object;

// Read, write back in the same mode, read that, write again: with `exact`, the two writes must be
// equal; otherwise the second must read again.
template <class ReadFn, class WriteFn>
void round_trip(const std::string& data, bool known_size, ReadFn read, WriteFn write, bool exact) {
  const auto r = read_object(data, known_size, read);
  ivkit_fuzz::must_succeed("writing and re-reading a Kaldi model", [&] {
    const std::string once = write_object(r.second, write, r.first);
    const auto again = read_object(once, true, read);
    const std::string twice = write_object(again.second, write, again.first);
    if (exact)
      ivkit_fuzz::require(twice == once, "Kaldi model round trip");
    else
      (void)read_object(twice, true, read);
  });
}

template <class S>
void run(unsigned what, const std::string& data, bool known) {
  switch (what) {
    case 0:
      round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_diag_gmm<S>(in); },
                 [](ivkit::KaldiOutput& out, const auto& g) { ivkit::write_kaldi_diag_gmm(out, g); }, false);
      break;
    case 1:
      round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_full_gmm<S>(in); },
                 [](ivkit::KaldiOutput& out, const auto& g) { ivkit::write_kaldi_full_gmm(out, g); }, false);
      break;
    case 2:
      round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_ivector_extractor_data<S>(in); },
                 [](ivkit::KaldiOutput& out, const auto& x) { ivkit::write_kaldi_ivector_extractor(out, x); }, false);
      break;
    case 3:
      round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_plda<S>(in); },
                 [](ivkit::KaldiOutput& out, const auto& p) { ivkit::write_kaldi_plda(out, p); }, true);
      break;
    case 4:
    case 5: {
      const auto layout = what == 4 ? ivkit::KaldiTransformLayout::Affine : ivkit::KaldiTransformLayout::Linear;
      round_trip(data, known, [&](ivkit::KaldiInput& in) { return ivkit::read_kaldi_transform<S>(in, layout); },
                 [&](ivkit::KaldiOutput& out, const auto& t) { ivkit::write_kaldi_transform(out, t, layout); }, true);
      break;
    }
    case 6: {
      const auto r = read_object(data, known, [](ivkit::KaldiInput& in) { return ivkit::detail::read_int32_vector_vector(in); });
      ivkit_fuzz::must_succeed("writing and re-reading a Gaussian-selection entry", [&] {
        const std::string once = write_object(r.second, [](ivkit::KaldiOutput& out, const auto& v) { ivkit::detail::write_int32_vector_vector(out, v); }, r.first);
        ivkit_fuzz::require(read_object(once, true, [](ivkit::KaldiInput& in) { return ivkit::detail::read_int32_vector_vector(in); }).first == r.first,
                            "Gaussian-selection round trip");
      });
      const ivkit::GaussianSelection sel = ivkit::gselect_from_table(r.first, 16, "fuzz.gselect utt");
      ivkit_fuzz::require(ivkit::gselect_to_table(sel) == r.first, "Gaussian selection to table and back");
      break;
    }
    default: {
      const auto r = read_object(data, known, [](ivkit::KaldiInput& in) { return ivkit::detail::read_kaldi_posterior(in); });
      ivkit_fuzz::must_succeed("writing and re-reading a posterior entry", [&] {
        const std::string once = write_object(r.second, [](ivkit::KaldiOutput& out, const auto& p) { ivkit::detail::write_kaldi_posterior(out, p); }, r.first);
        const auto again = read_object(once, true, [](ivkit::KaldiInput& in) { return ivkit::detail::read_kaldi_posterior(in); }).first;
        // Text keeps every float exactly (shortest round-trip form); binary keeps the bits.
        ivkit_fuzz::require(again.size() == r.first.size(), "posterior round trip: frame count");
        for (std::size_t t = 0; t < again.size(); ++t) {
          ivkit_fuzz::require(again[t].size() == r.first[t].size(), "posterior round trip: entries per frame");
          for (std::size_t j = 0; j < again[t].size(); ++j)
            ivkit_fuzz::require(again[t][j].first == r.first[t][j].first &&
                                    (again[t][j].second == r.first[t][j].second || (std::isnan(again[t][j].second) && std::isnan(r.first[t][j].second))),
                                "posterior round trip: entries");
        }
      });
      const ivkit::SparsePosteriors<float> post = ivkit::posterior_from_table(r.first, 16, "fuzz.post utt");
      ivkit_fuzz::require(ivkit::posterior_to_table(post) == r.first, "posteriors to table and back");
      break;
    }
  }
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  if (bytes.empty()) return;
  const auto sel = static_cast<unsigned char>(bytes[0]);
  const std::string data = bytes.substr(1);
  const bool known = (sel & 8) != 0;
  if (sel & 16)
    run<float>(sel & 7u, data, known);
  else
    run<double>(sel & 7u, data, known);
}
