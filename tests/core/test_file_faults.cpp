// Fault tests of the atomic writes every model and plot goes through (core/file_io.hpp): a
// process killed at any moment of a save leaves the old model or the new one, never a mix; a full
// disk (the file-size limit, RLIMIT_FSIZE, makes writes fail as ENOSPC would) gives a clear IoError,
// keeps the old model intact and leaves no temporary file behind.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "ivkit/core/serialise.hpp"

namespace fs = std::filesystem;

namespace {

// A model of about `mb` MiB whose every value identifies its generation, so a file mixing two
// generations cannot load as either.
ivkit::ModelWriter generation(std::int64_t g, int mb) {
  Eigen::MatrixXd m = Eigen::MatrixXd::Constant(1024, 128 * mb, static_cast<double>(g));
  return std::move(ivkit::ModelWriter("FaultTest", 1).integer("generation", g).matrix("values", m));
}

// The generation stored at `path`, after checking every value agrees with it.
std::int64_t loaded_generation(const std::string& path) {
  ivkit::ModelReader r(path, "FaultTest", 1);
  const std::int64_t g = r.integer("generation");
  const Eigen::MatrixXd m = r.matrix<double>("values");
  REQUIRE(m.size() > 0);
  REQUIRE((m.array() == static_cast<double>(g)).all());
  return g;
}

struct ScratchDir {
  fs::path dir;
  explicit ScratchDir(const std::string& name) : dir(fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::size_t regular_files() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("a save killed at any moment leaves the old model or the new one, never a partial file") {
  ScratchDir scratch("ivkit_test_kill_save");
  const std::string path = (scratch.dir / "model.ivk").string();
  generation(0, 1).save(path);
  const auto first = generation(1, 4), second = generation(2, 4);  // 4 MiB each: saves take a while

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 60000);
  int killed_mid_run = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Rewrite the model over and over, alternating two generations, until killed.
      for (long i = 0;; ++i) (i % 2 ? second : first).save(path);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    killed_mid_run += WIFSIGNALED(status) ? 1 : 0;
    const std::int64_t g = loaded_generation(path);  // loads, and is entirely one generation
    CHECK((g == 0 || g == 1 || g == 2));
    // A kill between creating the temporary file and renaming it can leave that temporary (a
    // dot-file beside the model); the model itself is always whole. Clear them for the next round.
    for (const auto& e : fs::directory_iterator(scratch.dir))
      if (e.path().filename().string().rfind(".model.ivk.tmp", 0) == 0) fs::remove(e.path());
  }
  CHECK(killed_mid_run == 12);
}

TEST_CASE("a full disk: clear IoError, the old model intact, no temporary file left") {
  ScratchDir scratch("ivkit_test_disk_full");
  const std::string path = (scratch.dir / "model.ivk").string();
  generation(7, 1).save(path);
  const auto old_size = fs::file_size(path);

  // Writes past 2 MiB fail with EFBIG (SIGXFSZ ignored), as they would on a full disk.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  struct sigaction ignore {}, previous{};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGXFSZ, &ignore, &previous) == 0);
  rlimit limited = saved;
  limited.rlim_cur = rlim_t{2} << 20;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  std::string error;
  try {
    generation(8, 4).save(path);
  } catch (const ivkit::IoError& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::sigaction(SIGXFSZ, &previous, nullptr);

  CHECK(error == "ModelWriter::save: writing the temporary file for '" + path + "' failed (disk full?)");
  CHECK(fs::file_size(path) == old_size);
  CHECK(loaded_generation(path) == 7);
  CHECK(scratch.regular_files() == 1);  // the temporary file was removed

  // With room again, the same save succeeds.
  generation(8, 4).save(path);
  CHECK(loaded_generation(path) == 8);
  CHECK(scratch.regular_files() == 1);
}
