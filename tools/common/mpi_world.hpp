// The training tools across processes (mpirun -np N): each rank reads its share of the utterances
// (every N-th, from its rank on), the accumulators are summed over the ranks after every pass
// (ivkit/mpi/allreduce.hpp), every rank runs the same M-step, and rank 0 alone writes. Started
// without mpirun (no launcher in the environment), or built without MPI, the world is one process
// and nothing changes.
#pragma once

#include <ivkit/core/types.hpp>
#include <ivkit/gmm/em_accumulator.hpp>
#include <ivkit/ivector/trainer.hpp>

namespace ivkit_tools {

class MpiWorld {
 public:
  /// Joins MPI when an MPI launcher started this process (Open MPI's, MPICH's or Slurm's
  /// environment), else a world of one process.
  MpiWorld(int& argc, char**& argv);
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }

  /// Sums over the ranks, in place. @throws ivkit::IoError naming the MPI error
  void sum(ivkit::IvectorTrainerStats& acc) const;
  void sum(ivkit::EmAccumulator& acc) const;
  void sum(ivkit::Matrix<double>& m) const;
  void sum(double& x) const;

  /// The process exit code: after a failure on any rank, every rank is stopped (MPI_Abort), so
  /// that none waits for ever in a sum.
  int finish(int exit_code);

 private:
  int rank_ = 0, size_ = 1;
  bool initialised_ = false;
};

}  // namespace ivkit_tools
