// The contract every ivkit fuzz harness checks: any input either parses or throws an ivkit::Error.
// Anything else (another exception type, std::bad_alloc, an internal assertion, a sanitizer
// report, a failed round-trip property) aborts, which libFuzzer and the replay test report.
//
// A harness is one file tests/fuzz/fuzz_<reader>.cpp (globbed by tests/fuzz/CMakeLists.txt) with
// a seed corpus in tests/fuzz/corpus/<reader>/:
//
//     #include "harness.hpp"
//     #include "ivkit/io/npy.hpp"
//     IVKIT_FUZZ_TARGET(const std::string& bytes) { ivkit::parse_npy<float>(bytes, "fuzz"); }
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "ivkit/core/error.hpp"

namespace ivkit_fuzz {

/// Aborts with a message: a finding.
[[noreturn]] inline void fail(const char* what, const char* detail = nullptr) {
  std::fprintf(stderr, "ivkit fuzz harness: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  std::fflush(stderr);
  std::abort();
}

/// A property of a successful parse (a round trip): aborts when it does not hold.
inline void require(bool ok, const char* what) {
  if (!ok) fail("property violated", what);
}

/// Runs `f`, which must not throw at all (re-reading what ivkit itself wrote from a parsed value).
template <class F>
void must_succeed(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ivkit fuzz harness: %s threw: %s\n", what, e.what());
    fail("property violated", what);
  }
}

/// Bit-equal, or both NaN (NaN payloads need not survive a conversion).
template <class S>
bool same_value(S a, S b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(S)) == 0;
}

/// Element-wise same_value of two Eigen objects of the same shape.
template <class A, class B>
bool same_values(const A& a, const B& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (long i = 0; i < a.rows(); ++i)
    for (long j = 0; j < a.cols(); ++j)
      if (!same_value(a(i, j), b(i, j))) return false;
  return true;
}

/// Runs `f` under the contract: an ivkit::Error is a rejected input and returns; anything else aborts.
/// Harnesses that try several readers on one input run each through attempt().
template <class F>
void attempt(F&& f) {
  try {
    f();
  } catch (const ivkit::Error& e) {
    // IVKIT_ASSERT throws ivkit::Error too, but an internal invariant is never the input's fault.
    if (std::strncmp(e.what(), "ivkit internal assertion failed", 31) == 0) fail("internal assertion", e.what());
    static const bool verbose = std::getenv("IVKIT_FUZZ_VERBOSE") != nullptr;  // shows why inputs are rejected
    if (verbose) std::fprintf(stderr, "  rejected: %s\n", e.what());
  } catch (const std::exception& e) {
    fail("an exception that is not an ivkit::Error", e.what());
  } catch (...) {
    fail("an exception that is not a std::exception");
  }
}

/// Runs a harness body on one input under the contract.
template <class Body>
int run_one(const std::uint8_t* data, std::size_t size, Body body) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  attempt([&] { body(bytes); });
  return 0;
}

}  // namespace ivkit_fuzz

/// Defines the harness: `IVKIT_FUZZ_TARGET(const std::string& bytes) { ...parse bytes... }`.
#define IVKIT_FUZZ_TARGET(param)                                                          \
  static void ivkit_fuzz_body(param);                                                     \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {     \
    return ::ivkit_fuzz::run_one(data, size, ivkit_fuzz_body);                            \
  }                                                                                       \
  static void ivkit_fuzz_body(param)
