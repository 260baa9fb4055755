// Reading the Kaldi reference fixtures of tests/features/data/kaldi: text archives (ark,t) with
// one matrix or vector, and 16-bit PCM WAV files parsed here directly (RIFF chunks, as Kaldi's own
// wave reader does), so that the reference tests need neither libsndfile nor ivkit's readers.
#pragma once

#include <doctest/doctest.h>

#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ivkit_test {

inline std::filesystem::path kaldi_fixture_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "data" / "kaldi";
}

/// The single matrix (or vector, as a 1 x n matrix) of a Kaldi text archive.
inline Eigen::MatrixXd read_kaldi_text(const std::string& name) {
  std::ifstream in(kaldi_fixture_dir() / name);
  if (!in) throw std::runtime_error("cannot open fixture " + name);
  std::string key, tok;
  in >> key >> tok;
  if (tok != "[") throw std::runtime_error("fixture " + name + ": expected '['");
  std::vector<std::vector<double>> rows(1);
  while (in >> tok) {
    if (tok == "]") break;
    rows.back().push_back(std::stod(tok));
    // A newline ends a matrix row: peek past spaces.
    while (in.peek() == ' ') in.get();
    if (in.peek() == '\n') rows.emplace_back();
  }
  while (!rows.empty() && rows.back().empty()) rows.pop_back();
  if (!rows.empty() && rows.front().empty()) rows.erase(rows.begin());
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()), rows.empty() ? 0 : static_cast<Eigen::Index>(rows[0].size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != rows[0].size()) throw std::runtime_error("fixture " + name + ": ragged rows");
    for (size_t j = 0; j < rows[i].size(); ++j) m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
  }
  return m;
}

/// Samples (integer values, as Kaldi reads them) and rate of a 16-bit mono PCM WAV fixture.
struct FixtureWav {
  std::vector<float> samples;
  int sample_rate = 0;
};

inline FixtureWav read_fixture_wav(const std::string& name) {
  std::ifstream in(kaldi_fixture_dir() / name, std::ios::binary);
  std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t p) { return std::uint32_t(b[p]) | std::uint32_t(b[p + 1]) << 8 | std::uint32_t(b[p + 2]) << 16 | std::uint32_t(b[p + 3]) << 24; };
  auto u16 = [&](size_t p) { return std::uint16_t(b[p] | b[p + 1] << 8); };
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
    throw std::runtime_error("fixture " + name + " is not RIFF/WAVE");
  FixtureWav w;
  size_t pos = 12;
  while (pos + 8 <= b.size()) {
    const std::uint32_t size = u32(pos + 4);
    if (std::memcmp(b.data() + pos, "fmt ", 4) == 0) {
      if (u16(pos + 8) != 1 || u16(pos + 10) != 1 || u16(pos + 22) != 16)
        throw std::runtime_error("fixture " + name + " is not 16-bit mono PCM");
      w.sample_rate = static_cast<int>(u32(pos + 12));
    } else if (std::memcmp(b.data() + pos, "data", 4) == 0) {
      for (size_t i = 0; i + 2 <= size && pos + 8 + i + 2 <= b.size(); i += 2)
        w.samples.push_back(static_cast<float>(static_cast<std::int16_t>(u16(pos + 8 + i))));
      return w;
    }
    pos += 8 + size + (size & 1u);
  }
  throw std::runtime_error("fixture " + name + " has no data chunk");
}

/// max |a - b| / max(|b|, 1) over all elements (log-domain values of order 1 to 100: an absolute
/// floor of 1 keeps coefficients near zero from dominating).
template <class A>
double max_rel_diff(const Eigen::MatrixBase<A>& a, const Eigen::MatrixXd& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double worst = 0;
  for (Eigen::Index i = 0; i < b.rows(); ++i)
    for (Eigen::Index j = 0; j < b.cols(); ++j)
      worst = std::max(worst, std::abs(static_cast<double>(a(i, j)) - b(i, j)) / std::max(std::abs(b(i, j)), 1.0));
  return worst;
}

}  // namespace ivkit_test
