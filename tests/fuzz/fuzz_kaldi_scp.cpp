// Fuzz harness: script-file lines and Kaldi specifiers (ivkit/io/kaldi_reader.hpp
// kaldi_parse_scp_line, ivkit/io/kaldi_specifier.hpp parse_kaldi_location, parse_kaldi_range,
// parse_kaldi_rspecifier, parse_kaldi_wspecifier), and the ranges of script entries applied to a
// matrix and a vector (ivkit/io/kaldi_holder.hpp). No file is opened: a location is only parsed.
#include <sstream>

#include "harness.hpp"
#include "ivkit/io/kaldi_holder.hpp"
#include "ivkit/io/kaldi_reader.hpp"
#include "ivkit/io/kaldi_specifier.hpp"

namespace {

using ivkit_fuzz::attempt;

void apply_range(const std::string& range) {
  std::istringstream empty;
  const ivkit::KaldiInput in(empty, "fuzz.ark", "fuzz");
  for (const ivkit::Index rows : {0, 1, 5}) {
    const ivkit::Matrix<float> m = ivkit::Matrix<float>::Constant(rows, rows ? 4 : 0, 1.f);
    attempt([&] {
      const auto part = ivkit::KaldiTableTraits<ivkit::Matrix<float>>::extract_range(in, 0, m, range);
      ivkit_fuzz::require(part.rows() >= 1 && part.rows() <= m.rows() && part.cols() >= 1 && part.cols() <= m.cols(),
                          "a matrix range lies inside the matrix");
    });
    const ivkit::Vector<double> v = ivkit::Vector<double>::Constant(rows, 2.0);
    attempt([&] {
      const auto part = ivkit::KaldiTableTraits<ivkit::Vector<double>>::extract_range(in, 0, v, range);
      ivkit_fuzz::require(part.size() >= 1 && part.size() <= v.size(), "a vector range lies inside the vector");
    });
  }
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  attempt([&] { (void)ivkit::parse_kaldi_rspecifier(bytes); });
  attempt([&] { (void)ivkit::parse_kaldi_wspecifier(bytes); });
  attempt([&] { (void)ivkit::parse_kaldi_range(bytes); });
  attempt([&] { (void)ivkit::parse_kaldi_location(bytes); });
  std::istringstream lines(bytes);
  std::string line;
  for (std::size_t n = 1; n <= 256 && std::getline(lines, line); ++n) {
    attempt([&] {
      ivkit::detail::KaldiScpLine entry;
      if (!ivkit::detail::kaldi_parse_scp_line("fuzz", "fuzz.scp", n, line, entry)) return;
      ivkit_fuzz::require(!entry.key.empty() && !entry.location.path.empty(), "a parsed script line has a key and a path");
      if (!entry.location.range.empty()) apply_range(entry.location.range);
    });
  }
}
