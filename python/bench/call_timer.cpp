// The C++ side of bench_python.py's call-overhead table: the same library calls the bindings make,
// on the data and models bench_python.py wrote, one thread, timed the same way (median of runs).
//
//   ivkit_python_call_timer DIR REPEATS
//
// DIR holds ubm.ivk (a float64 DiagGmm), frames.npy (N x D), plda.ivk (a float64 Plda),
// enrol.npy and test.npy (embeddings). Prints one line per call: "<name> <seconds>".
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/io/model_files.hpp"
#include "ivkit/io/npy.hpp"

namespace {

template <class F>
double median_seconds(int repeats, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ivkit_python_call_timer DIR REPEATS\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int repeats = std::max(1, std::atoi(argv[2]));
  const auto gmm = ivkit::load_diag_gmm<double>(dir + "/ubm.ivk");
  const ivkit::Matrix<double> x = ivkit::read_npy_matrix<double>(dir + "/frames.npy");
  ivkit::ScoringOptions one_thread;
  one_thread.num_threads = 1;
  double sink = 0;
  std::printf("log_likelihoods %.6f\n", median_seconds(repeats, [&] { sink += gmm.log_likelihoods(x, one_thread)(0); }));
  std::printf("accumulate %.6f\n", median_seconds(repeats, [&] {
                ivkit::EmAccumulator acc(gmm);
                ivkit::AccumulateOptions o;
                o.num_threads = 1;
                ivkit::accumulate_em_stats(gmm, x, acc, o);
                sink += acc.log_likelihood;
              }));
  const auto plda = ivkit::Plda<double>::load(dir + "/plda.ivk");
  const ivkit::Matrix<double> enrol = ivkit::read_npy_matrix<double>(dir + "/enrol.npy");
  const ivkit::Matrix<double> test = ivkit::read_npy_matrix<double>(dir + "/test.npy");
  std::printf("plda_score_matrix %.6f\n", median_seconds(repeats, [&] {
                ivkit::PldaScorer<double> scorer(plda);
                sink += scorer.score_matrix(scorer.enrol(enrol), scorer.test(test), ivkit::ThreadOptions{1})(0, 0);
              }));
  if (sink == 1.2345) std::printf("\n");  // keeps the results live
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ivkit_python_call_timer: %s\n", e.what());
  return 1;
}
