#include "common/ivectors.hpp"

#include <ivkit/core/error.hpp>
#include <ivkit/io/kaldi_reader.hpp>

namespace ivkit_tools {

using ivkit::Index;
using ivkit::detail::message;

IvectorTable read_ivectors(const std::string& rspecifier) {
  IvectorTable t;
  t.source = rspecifier;
  std::vector<ivkit::Vector<float>> rows;
  for (ivkit::KaldiSequentialReader<ivkit::Vector<float>> r(rspecifier); !r.done(); r.next()) {
    const std::string& key = r.key();
    if (!t.index.emplace(key, static_cast<Index>(t.ids.size())).second)
      throw ivkit::FormatError(message("'", rspecifier, "' holds key '", key, "' twice"));
    if (!rows.empty() && r.value().size() != rows.front().size())
      throw ivkit::FormatError(message("'", rspecifier, "': '", key, "' has dimension ", r.value().size(), " but '", t.ids.front(), "' has ",
                                       rows.front().size()));
    if (!r.value().allFinite()) throw ivkit::NonFiniteInput(message("'", rspecifier, "': '", key, "' holds NaN or Inf"));
    t.ids.push_back(key);
    rows.push_back(std::move(r.value()));
  }
  if (rows.empty()) throw ivkit::FormatError(message("'", rspecifier, "' holds no vectors"));
  if (rows.front().size() == 0) throw ivkit::FormatError(message("'", rspecifier, "' holds empty vectors"));
  t.vectors.resize(static_cast<Index>(rows.size()), rows.front().size());
  for (std::size_t i = 0; i < rows.size(); ++i) t.vectors.row(static_cast<Index>(i)) = rows[i].transpose();
  return t;
}

}  // namespace ivkit_tools
