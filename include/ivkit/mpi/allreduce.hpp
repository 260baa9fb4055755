/// @file
/// Optional (needs MPI): sums ivkit's accumulators over the processes of an MPI communicator, so
/// training runs across machines with each rank reading its own share of the data. Not included
/// by ivkit/ivkit.hpp; link MPI::MPI_CXX (CMake option IVKIT_WITH_MPI builds the examples and tests).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <limits>

#include "ivkit/core/error.hpp"
#include "ivkit/gmm/em_accumulator.hpp"
#include "ivkit/ivector/trainer.hpp"

namespace ivkit::mpi {

/// In-place MPI_Allreduce(MPI_SUM) of n doubles in chunks of at most 2^27 (1 GiB), so buffers
/// larger than MPI's int count (and 2 GB) work.
/// @throws IoError naming the MPI error
inline void allreduce_sum(double* data, std::size_t n, MPI_Comm comm) {
  constexpr std::size_t kChunk = std::size_t{1} << 27;
  for (std::size_t off = 0; off < n; off += kChunk) {
    const int count = static_cast<int>(std::min(kChunk, n - off));
    const int rc = MPI_Allreduce(MPI_IN_PLACE, data + off, count, MPI_DOUBLE, MPI_SUM, comm);
    if (rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING];
      int len = 0;
      MPI_Error_string(rc, text, &len);
      throw IoError(detail::message("ivkit::mpi::allreduce_sum: MPI_Allreduce of ", count, " doubles at offset ", off,
                                    " failed: ", std::string(text, static_cast<std::size_t>(len))));
    }
  }
}

template <class Derived>
void allreduce_sum(Eigen::PlainObjectBase<Derived>& m, MPI_Comm comm) {
  allreduce_sum(m.data(), static_cast<std::size_t>(m.size()), comm);
}

inline void allreduce_sum(double& x, MPI_Comm comm) { allreduce_sum(&x, 1, comm); }

/// Sums a GMM EM accumulator over all ranks (every rank must hold one for the same model).
inline void allreduce(EmAccumulator& acc, MPI_Comm comm) {
  allreduce_sum(acc.occupancy, comm);
  allreduce_sum(acc.first, comm);
  allreduce_sum(acc.second, comm);
  allreduce_sum(acc.log_likelihood, comm);
  allreduce_sum(acc.num_frames, comm);
}

/// Sums i-vector extractor accumulators over all ranks.
inline void allreduce(IvectorTrainerStats& acc, MPI_Comm comm) {
  allreduce_sum(acc.Y, comm);
  allreduce_sum(acc.R_packed, comm);
  allreduce_sum(acc.gamma, comm);
  allreduce_sum(acc.f_sum, comm);
  allreduce_sum(acc.w_sum, comm);
  allreduce_sum(acc.ww_sum, comm);
  allreduce_sum(acc.num_utterances, comm);
  allreduce_sum(acc.objective, comm);
}

}  // namespace ivkit::mpi
