// Models written by ivkit in Kaldi's format have the byte layout of the files Kaldi's own binaries
// wrote (tests/data/kaldi_recipe: gmm-global-est's final.dubm, fgmm-global-est's final.ubm,
// ivector-extractor-est's final.ie, ivector-compute-plda's plda, ivector-compute-lda's
// transform.mat): each file is read into ivkit's model, written back, and both files are walked
// object by object (tokens, integers, typed vectors and matrices with their sizes), which must be
// identical in everything but the last bits of the values: ivkit recomputes the derived parts
// (gconsts, P mu, the extractor's precision-weighted terms) from its own parameters.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_ivector_extractor.hpp"
#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/io/kaldi_plda.hpp"
#include "ivkit/io/kaldi_transform.hpp"
#include "support/files.hpp"

namespace {

/// One item of a Kaldi binary object: a token, an int32, or a typed array with its shape.
struct Item {
  std::string kind;          // "<TOKEN>", "int", "double", "FV", "FM", "FP", "DV", "DM", "DP"
  std::int64_t rows = 0, cols = 0;
  std::vector<double> values;
};

/// Walks a Kaldi binary file (`\0B` then tokens and objects) into items; fails the test on
/// anything it does not know.
std::vector<Item> walk(const std::string& bytes) {
  std::vector<Item> out;
  REQUIRE(bytes.size() >= 2);
  REQUIRE(bytes.compare(0, 2, std::string("\0B", 2)) == 0);
  std::size_t i = 2;
  auto int32 = [&]() {
    REQUIRE(i + 5 <= bytes.size());
    REQUIRE(bytes[i] == 4);
    std::int32_t v;
    std::memcpy(&v, bytes.data() + i + 1, 4);
    i += 5;
    return static_cast<std::int64_t>(v);
  };
  while (i < bytes.size()) {
    if (bytes[i] == 4) {  // an int32 (the extractor's component count)
      out.push_back({"int", int32(), 0, {}});
      continue;
    }
    if (bytes[i] == 8) {  // a double (the extractor's <IvectorOffset>)
      REQUIRE(i + 9 <= bytes.size());
      double d;
      std::memcpy(&d, bytes.data() + i + 1, 8);
      i += 9;
      out.push_back({"double", 1, 1, {d}});
      continue;
    }
    const std::size_t space = bytes.find(' ', i);
    REQUIRE(space != std::string::npos);
    Item it;
    it.kind = bytes.substr(i, space - i);
    i = space + 1;
    if (it.kind.size() == 2 && (it.kind[0] == 'F' || it.kind[0] == 'D') && (it.kind[1] == 'V' || it.kind[1] == 'M' || it.kind[1] == 'P')) {
      const std::size_t width = it.kind[0] == 'F' ? 4 : 8;
      it.rows = int32();
      it.cols = it.kind[1] == 'M' ? int32() : 1;
      const std::int64_t n = it.kind[1] == 'P' ? it.rows * (it.rows + 1) / 2 : it.rows * it.cols;
      REQUIRE(i + static_cast<std::size_t>(n) * width <= bytes.size());
      for (std::int64_t k = 0; k < n; ++k, i += width) {
        if (width == 4) {
          float f;
          std::memcpy(&f, bytes.data() + i, 4);
          it.values.push_back(f);
        } else {
          double d;
          std::memcpy(&d, bytes.data() + i, 8);
          it.values.push_back(d);
        }
      }
    } else {
      REQUIRE_MESSAGE(it.kind.front() == '<', "unknown item '", it.kind, "' at byte ", i);
    }
    out.push_back(std::move(it));
  }
  return out;
}

/// Kaldi's file and ivkit's rewrite: the same items; values within `rel` of each array's largest magnitude.
void same_layout(const std::string& kaldi_path, const std::string& ivkit_path, double rel) {
  const std::string a = ivkit_test::slurp(kaldi_path), b = ivkit_test::slurp(ivkit_path);
  CHECK(a.size() == b.size());
  const std::vector<Item> x = walk(a), y = walk(b);
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    INFO(kaldi_path, " item ", k, " (", x[k].kind, ")");
    REQUIRE(x[k].kind == y[k].kind);
    CHECK(x[k].rows == y[k].rows);
    CHECK(x[k].cols == y[k].cols);
    REQUIRE(x[k].values.size() == y[k].values.size());
    double scale = 0, diff = 0;
    for (std::size_t j = 0; j < x[k].values.size(); ++j) {
      scale = std::max(scale, std::abs(x[k].values[j]));
      diff = std::max(diff, std::abs(x[k].values[j] - y[k].values[j]));
    }
    if (scale > 0) worst = std::max(worst, diff / scale);
  }
  MESSAGE(kaldi_path, ": ", x.size(), " items, same layout; values within ", worst, " of each array's largest");
  CHECK(worst <= rel);
}

}  // namespace

TEST_CASE("ivkit writes Kaldi's UBMs, extractor, PLDA and LDA transform with Kaldi's byte layout") {
  ivkit_test::TempDir dir("recipe_models");
  // Float GMMs: ivkit recomputes gconsts and P mu from its parameters, rounding in the last bits.
  ivkit::write_kaldi_diag_gmm(dir / "final.dubm", ivkit::read_kaldi_diag_gmm<float>(ivkit_test::recipe_fixture("final.dubm")), true);
  same_layout(ivkit_test::recipe_fixture("final.dubm"), dir / "final.dubm", 1e-5);
  const auto ubm = ivkit::read_kaldi_full_gmm<double>(ivkit_test::recipe_fixture("final.ubm"));
  ivkit::write_kaldi_full_gmm(dir / "final.ubm", ivkit::read_kaldi_full_gmm<float>(ivkit_test::recipe_fixture("final.ubm")), true);
  same_layout(ivkit_test::recipe_fixture("final.ubm"), dir / "final.ubm", 1e-5);
  // The extractor through ivkit's model (Kaldi's offset convention), with the UBM weights as w_vec.
  const auto data = ivkit::read_kaldi_ivector_extractor_data<double>(ivkit_test::recipe_fixture("final.ie"));
  const auto ex = ivkit::read_kaldi_ivector_extractor<double>(ivkit_test::recipe_fixture("final.ie"), ubm);
  ivkit::write_kaldi_ivector_extractor(dir / "final.ie", ex, data.weights, true);
  same_layout(ivkit_test::recipe_fixture("final.ie"), dir / "final.ie", 1e-9);
  // The stored contents as they are: byte for byte.
  ivkit::write_kaldi_ivector_extractor(dir / "final_data.ie", data, true);
  CHECK(ivkit_test::slurp(dir / "final_data.ie") == ivkit_test::slurp(ivkit_test::recipe_fixture("final.ie")));
  ivkit::write_kaldi_plda(dir / "plda", ivkit::read_kaldi_plda<double>(ivkit_test::recipe_fixture("plda")), true);
  CHECK(ivkit_test::slurp(dir / "plda") == ivkit_test::slurp(ivkit_test::recipe_fixture("plda")));
  ivkit::write_kaldi_matrix(dir / "transform.mat", ivkit::read_kaldi_matrix<float>(ivkit_test::recipe_fixture("transform.mat")));
  CHECK(ivkit_test::slurp(dir / "transform.mat") == ivkit_test::slurp(ivkit_test::recipe_fixture("transform.mat")));
}
