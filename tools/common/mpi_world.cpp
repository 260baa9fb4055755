#include "common/mpi_world.hpp"

#include <cstdio>
#include <cstdlib>

#ifdef IVKIT_TOOLS_WITH_MPI
#include <ivkit/mpi/allreduce.hpp>
#endif

namespace ivkit_tools {

namespace {

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

}  // namespace

#ifdef IVKIT_TOOLS_WITH_MPI

MpiWorld::MpiWorld(int& argc, char**& argv) {
  if (!launched_by_mpi()) return;
  MPI_Init(&argc, &argv);
  initialised_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() {
  if (initialised_) MPI_Finalize();
}

void MpiWorld::sum(ivkit::IvectorTrainerStats& acc) const {
  if (distributed()) ivkit::mpi::allreduce(acc, MPI_COMM_WORLD);
}
void MpiWorld::sum(ivkit::EmAccumulator& acc) const {
  if (distributed()) ivkit::mpi::allreduce(acc, MPI_COMM_WORLD);
}
void MpiWorld::sum(ivkit::Matrix<double>& m) const {
  if (distributed()) ivkit::mpi::allreduce_sum(m, MPI_COMM_WORLD);
}
void MpiWorld::sum(double& x) const {
  if (distributed()) ivkit::mpi::allreduce_sum(x, MPI_COMM_WORLD);
}

int MpiWorld::finish(int exit_code) {
  if (initialised_ && exit_code != 0 && distributed()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  return exit_code;
}

#else

MpiWorld::MpiWorld(int&, char**&) {
  // Started by mpirun but unable to join: every process would train alone and write the same file.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* n = std::getenv(v); n != nullptr && std::atoi(n) > 1) {
      std::fprintf(stderr, "ivkit: error: started by an MPI launcher with %s processes, but these tools were built without MPI "
                           "(install libopenmpi-dev and rebuild)\n", n);
      std::exit(2);
    }
}
MpiWorld::~MpiWorld() = default;
void MpiWorld::sum(ivkit::IvectorTrainerStats&) const {}
void MpiWorld::sum(ivkit::EmAccumulator&) const {}
void MpiWorld::sum(ivkit::Matrix<double>&) const {}
void MpiWorld::sum(double&) const {}
int MpiWorld::finish(int exit_code) { return exit_code; }

#endif

}  // namespace ivkit_tools
