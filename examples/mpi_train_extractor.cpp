// Trains an i-vector extractor across MPI processes: every rank holds its share of the utterances'
// statistics, accumulators are summed with ivkit::mpi::allreduce each iteration, every rank ends
// with the same model. With --check, rank 0 also trains on all the data in one process and
// verifies that the distributed model equals it (exit code 1 if not).
//
//   mpirun -np 4 mpi_train_extractor [--utterances 400] [--iterations 5] [--check]
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ivkit/ivkit.hpp>
#include <ivkit/mpi/allreduce.hpp>
#include <string>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long utterances = 400;
  int iterations = 5;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--check")) check = true;
    else if (!std::strcmp(argv[i], "--utterances") && i + 1 < argc) utterances = std::atol(argv[++i]);
    else if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) iterations = std::atoi(argv[++i]);
  }
  int status = 0;
  try {
    using namespace ivkit;
    // The same synthetic corpus on every rank (fixed seed); rank r keeps utterances u with u % size == r.
    const Index C = 32, D = 8, R = 6;
    Random rng(17);
    Vector<double> w = Vector<double>::Constant(C, 1.0 / C);
    Matrix<double> mu(C, D), var(C, D), T(C * D, R);
    for (Index c = 0; c < C; ++c)
      for (Index d = 0; d < D; ++d) {
        mu(c, d) = rng.normal();
        var(c, d) = 0.5 + rng.uniform();
      }
    for (Index i = 0; i < C * D; ++i)
      for (Index r = 0; r < R; ++r) T(i, r) = 0.5 * rng.normal();
    const DiagGmm<double> ubm(w, mu, var);
    StatsSet<double> all(C, D), mine(C, D);
    for (long u = 0; u < utterances; ++u) {
      Eigen::VectorXd wv(R), n(C);
      for (Index r = 0; r < R; ++r) wv(r) = rng.normal();
      Matrix<double> f(C, D);
      for (Index c = 0; c < C; ++c) {
        n(c) = std::floor(2 + 15 * rng.uniform());
        const Eigen::VectorXd m = T.middleRows(c * D, D) * wv;
        for (Index d = 0; d < D; ++d) f(c, d) = n(c) * m(d) + std::sqrt(n(c) * var(c, d)) * rng.normal();
      }
      const std::string id = "utt" + std::to_string(u);
      all.add(id, n, f);
      if (u % size == rank) mine.add(id, n, f);
    }
    IvectorTrainOptions opts;
    opts.num_iterations = iterations;
    opts.reduce = [](IvectorTrainerStats& acc) { mpi::allreduce(acc, MPI_COMM_WORLD); };
    if (rank == 0)
      opts.progress = [](const IvectorIteration& it) {
        std::printf("iteration %d: objective per utterance %.4f\n", it.iteration, it.objective);
      };
    const auto init = init_extractor_random(ubm, R, 5, 0.3);
    const auto model = train_extractor(init, mine, opts);
    if (rank == 0) {
      std::printf("trained on %d processes, %ld utterances\n", size, utterances);
      if (check) {
        IvectorTrainOptions single;
        single.num_iterations = iterations;
        const auto reference = train_extractor(init, all, single);
        const double diff = (model.T() - reference.T()).cwiseAbs().maxCoeff() / reference.T().cwiseAbs().maxCoeff();
        const double mdiff = (model.m() - reference.m()).cwiseAbs().maxCoeff();
        std::printf("max relative difference to the single-process model: T %.3g, m %.3g\n", diff, mdiff);
        if (!(diff < 1e-8 && mdiff < 1e-8)) status = 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    status = 1;
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}
