// Files for the tests: a temporary folder removed at the end, whole-file reading and writing, the
// path of a Kaldi recipe fixture (tests/data/kaldi_recipe), and CHECK_THROWS_MSG for messages built
// at run time (they name temporary paths).
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

// CHECK_THROWS_WITH_AS with a message built at run time (doctest keeps a const char*).
#define CHECK_THROWS_MSG(expr, msg, type)                              \
  do {                                                                 \
    const std::string ivkit_expected_message_ = (msg);                 \
    CHECK_THROWS_WITH_AS(expr, ivkit_expected_message_.c_str(), type); \
  } while (0)

namespace ivkit_test {

/// A fresh folder under the system's temporary folder, named after the test and the process, and
/// removed (with its contents) at the end of the scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) {
    path = std::filesystem::temp_directory_path() / ("ivkit_test_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& f) const { return (path / f).string(); }
  /// Number of entries in the folder.
  std::size_t count() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path), std::filesystem::directory_iterator{}));
  }
  /// Writes `bytes` to the file `name` in the folder and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = *this / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
};

/// The whole file as bytes (empty when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Writes `bytes` as the whole file at `path` (replacing it).
inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// A file of the fixtures Kaldi's own binaries wrote (tests/data/kaldi_recipe/README.md).
inline std::string recipe_fixture(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "kaldi_recipe" / name).string();
}

}  // namespace ivkit_test
