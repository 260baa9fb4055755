// A whole table of i-vectors (or any embeddings) in memory, one per row.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <ivkit/core/types.hpp>

namespace ivkit_tools {

struct IvectorTable {
  std::string source;               ///< the rspecifier
  std::vector<std::string> ids;     ///< table order
  std::unordered_map<std::string, ivkit::Index> index;
  ivkit::Matrix<float> vectors;     ///< one per row
  ivkit::Index size() const { return static_cast<ivkit::Index>(ids.size()); }
  ivkit::Index dim() const { return vectors.cols(); }
  /// Row of `id`, or -1.
  ivkit::Index find(const std::string& id) const {
    const auto it = index.find(id);
    return it == index.end() ? -1 : it->second;
  }
};

/// Reads every vector of `rspecifier`. @throws ivkit::FormatError (no vectors, a key twice,
/// vectors of different dimensions), ivkit::NonFiniteInput, and the table reader's errors
IvectorTable read_ivectors(const std::string& rspecifier);

}  // namespace ivkit_tools
