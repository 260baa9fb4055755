// Compares a tool's output with a reference table (files written by Kaldi's binaries), for
// tests/tools/kaldi_parity.sh. Prints what it measured; exits 1 when the bound is not met.
//
//   compare_tables matrices REF TEST MAX_ABS        same keys, shapes; max |ref - test|
//   compare_tables cosine REF TEST MIN_COSINE       vectors: same keys; cosine per key (worst printed)
//   compare_tables gselect REF TEST                 Gaussian selections: the same set on every frame
//                                                   (order may differ where log-likelihoods tie)
//   compare_tables scores REF TEST MAX_ABS [SCALE]  'enrol test score' files, same trials in the
//                                                   same order; max |ref - SCALE test|
//   compare_tables ubm REF TEST MAX_REL             full-covariance UBMs (Kaldi files): worst
//                                                   |ref - test| of weights, means and covariances,
//                                                   each relative to its largest reference entry
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <ivkit/io/kaldi_gmm.hpp>
#include <ivkit/io/kaldi_gselect.hpp>
#include <ivkit/io/kaldi_reader.hpp>

namespace {

using ivkit::Index;
using IntVecVec = ivkit::Int32VectorVector;

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "compare_tables: " << what << '\n';
  std::exit(1);
}

template <class T>
std::vector<std::pair<std::string, T>> read_all(const std::string& rspec) {
  std::vector<std::pair<std::string, T>> out;
  for (ivkit::KaldiSequentialReader<T> r(rspec); !r.done(); r.next()) out.emplace_back(r.key(), std::move(r.value()));
  return out;
}

template <class T>
void same_keys(const std::vector<std::pair<std::string, T>>& test, ivkit::KaldiRandomAccessReader<T>& ref, const std::string& ref_name) {
  if (test.empty()) fail("the test table is empty");
  for (const auto& [k, v] : test)
    if (!ref.has_key(k)) fail("key '" + k + "' is not in the reference '" + ref_name + "'");
}

int matrices(const std::string& ref_spec, const std::string& test_spec, double tol) {
  ivkit::KaldiRandomAccessReader<ivkit::Matrix<float>> ref(ref_spec);
  const auto test = read_all<ivkit::Matrix<float>>(test_spec);
  same_keys(test, ref, ref_spec);
  double worst = 0;
  std::string worst_key;
  for (const auto& [k, m] : test) {
    const auto& r = ref.value(k);
    if (r.rows() != m.rows() || r.cols() != m.cols())
      fail("'" + k + "' is " + std::to_string(m.rows()) + " x " + std::to_string(m.cols()) + ", the reference " + std::to_string(r.rows()) +
           " x " + std::to_string(r.cols()));
    const double d = r.rows() ? static_cast<double>((r - m).cwiseAbs().maxCoeff()) : 0.0;
    if (d >= worst) worst = d, worst_key = k;
  }
  std::cout << test.size() << " matrices, max abs difference " << worst << " ('" << worst_key << "'), bound " << tol << '\n';
  return worst <= tol ? 0 : 1;
}

int cosine(const std::string& ref_spec, const std::string& test_spec, double min_cos) {
  ivkit::KaldiRandomAccessReader<ivkit::Vector<float>> ref(ref_spec);
  const auto test = read_all<ivkit::Vector<float>>(test_spec);
  same_keys(test, ref, ref_spec);
  double worst = 2, sum = 0;
  std::string worst_key;
  for (const auto& [k, v] : test) {
    const ivkit::Vector<double> a = ref.value(k).cast<double>(), b = v.cast<double>();
    if (a.size() != b.size()) fail("'" + k + "' has dimension " + std::to_string(b.size()) + ", the reference " + std::to_string(a.size()));
    const double c = a.dot(b) / (a.norm() * b.norm());
    sum += c;
    if (c <= worst) worst = c, worst_key = k;
  }
  std::printf("%zu vectors, cosine to the reference: worst %.9f ('%s'), mean %.9f, bound %.7f\n", test.size(), worst, worst_key.c_str(),
              sum / static_cast<double>(test.size()), min_cos);
  return worst >= min_cos ? 0 : 1;
}

int gselect(const std::string& ref_spec, const std::string& test_spec) {
  ivkit::KaldiRandomAccessReader<IntVecVec> ref(ref_spec);
  const auto test = read_all<IntVecVec>(test_spec);
  same_keys(test, ref, ref_spec);
  std::size_t frames = 0, reordered = 0;
  for (const auto& [k, sel] : test) {
    const IntVecVec& r = ref.value(k);
    if (r.size() != sel.size()) fail("'" + k + "' has " + std::to_string(sel.size()) + " frames, the reference " + std::to_string(r.size()));
    for (std::size_t t = 0; t < sel.size(); ++t, ++frames) {
      if (sel[t] == r[t]) continue;
      if (std::set<std::int32_t>(sel[t].begin(), sel[t].end()) != std::set<std::int32_t>(r[t].begin(), r[t].end()))
        fail("'" + k + "' frame " + std::to_string(t) + ": another set of Gaussians than the reference's");
      ++reordered;
    }
  }
  std::cout << test.size() << " utterances, " << frames << " frames: the same Gaussians on every frame; " << reordered
            << " frames list them in another order (log-likelihoods that tie in float)\n";
  return 0;
}

struct Score {
  std::string enrol, test;
  double value;
};

std::vector<Score> read_scores(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open '" + path + "'");
  std::vector<Score> out;
  Score s;
  while (in >> s.enrol >> s.test >> s.value) out.push_back(s);
  return out;
}

int scores(const std::string& ref_path, const std::string& test_path, double tol, double scale) {
  const auto ref = read_scores(ref_path), test = read_scores(test_path);
  if (ref.size() != test.size()) fail("the reference has " + std::to_string(ref.size()) + " scores, the test " + std::to_string(test.size()));
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (ref[i].enrol != test[i].enrol || ref[i].test != test[i].test) fail("line " + std::to_string(i + 1) + ": another trial");
    worst = std::max(worst, std::abs(ref[i].value - scale * test[i].value));
  }
  std::cout << ref.size() << " scores, max abs difference " << worst << " (test scaled by " << scale << "), bound " << tol << '\n';
  return worst <= tol ? 0 : 1;
}

}  // namespace

int ubm(const std::string& ref_path, const std::string& test_path, double bound) {
  const auto ref = ivkit::read_kaldi_full_gmm<double>(ref_path);
  const auto test = ivkit::read_kaldi_full_gmm<double>(test_path);
  if (ref.num_components() != test.num_components() || ref.dim() != test.dim())
    fail("the UBMs differ in size: " + std::to_string(ref.num_components()) + " x " + std::to_string(ref.dim()) + " against " +
         std::to_string(test.num_components()) + " x " + std::to_string(test.dim()));
  const double w = (ref.weights() - test.weights()).cwiseAbs().maxCoeff() / ref.weights().maxCoeff();
  const double m = (ref.means() - test.means()).cwiseAbs().maxCoeff() / ref.means().cwiseAbs().maxCoeff();
  double c = 0;
  for (Index k = 0; k < ref.num_components(); ++k) {
    const auto& a = ref.covariances()[static_cast<std::size_t>(k)];
    c = std::max(c, (a - test.covariances()[static_cast<std::size_t>(k)]).cwiseAbs().maxCoeff() / a.diagonal().maxCoeff());
  }
  std::printf("ubm: weights %.3g, means %.3g, covariances %.3g (bound %g)\n", w, m, c, bound);
  return w <= bound && m <= bound && c <= bound ? 0 : 1;
}

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "matrices" && argc == 5) return matrices(argv[2], argv[3], std::atof(argv[4]));
    if (mode == "cosine" && argc == 5) return cosine(argv[2], argv[3], std::atof(argv[4]));
    if (mode == "gselect" && argc == 4) return gselect(argv[2], argv[3]);
    if (mode == "ubm" && argc == 5) return ubm(argv[2], argv[3], std::atof(argv[4]));
    if (mode == "scores" && (argc == 5 || argc == 6)) return scores(argv[2], argv[3], std::atof(argv[4]), argc == 6 ? std::atof(argv[5]) : 1.0);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  fail("usage: compare_tables matrices|cosine REF TEST BOUND | gselect REF TEST | scores REF TEST MAX_ABS [SCALE] | ubm REF TEST MAX_REL");
}
