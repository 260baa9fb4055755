/// @file
/// The ivkit exception hierarchy: every bad input at a public entry point throws one of these.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ivkit {

/// Base of every exception ivkit throws. Messages name the function, the sizes involved and,
/// for data errors, the utterance or frame index.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// An argument outside its documented domain (non-positive variance, weights not summing to one,
/// empty data where data is required, a negative count, an option out of range).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// Shapes of the arguments disagree (feature dimension, number of components, ...).
class DimensionMismatch : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// Input data holds NaN or Inf (the message gives the frame index).
class NonFiniteInput : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A numerical computation failed: a covariance that is not positive definite, a singular system,
/// an estimate that became non-finite.
class NumericalError : public Error {
 public:
  using Error::Error;
};

/// A file or stream is unreadable, truncated, corrupt, or of the wrong type.
class FormatError : public Error {
 public:
  using Error::Error;
};

/// Reading or writing a file failed at the operating-system level.
class IoError : public Error {
 public:
  using Error::Error;
};

namespace detail {

/// Builds a message from streamable pieces: `message("DiagGmm: ", n, " frames")`.
template <class... Parts>
std::string message(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail

}  // namespace ivkit

/// Internal invariant check: throws ivkit::Error when IVKIT_ENABLE_ASSERTS is defined (the tests do),
/// compiled out otherwise. Never used for caller data, which gets a proper exception.
#ifdef IVKIT_ENABLE_ASSERTS
#define IVKIT_ASSERT(cond)                                                                    \
  do {                                                                                        \
    if (!(cond))                                                                              \
      throw ::ivkit::Error(::ivkit::detail::message("ivkit internal assertion failed: ", #cond, \
                                                    " at ", __FILE__, ":", __LINE__));        \
  } while (0)
#else
#define IVKIT_ASSERT(cond) ((void)0)
#endif
