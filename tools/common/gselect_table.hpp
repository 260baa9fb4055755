// Gaussian-selection tables: the library's (ivkit/io/kaldi_gselect.hpp), under the tools' names, and
// the lookup the tools read them through.
#pragma once

#include <memory>
#include <string>

#include <ivkit/io/kaldi_gselect.hpp>
#include <ivkit/io/kaldi_reader.hpp>

namespace ivkit_tools {

using ivkit::gselect_from_table;
using ivkit::gselect_to_table;
using ivkit::Int32VectorVector;

/// The selections of a table, asked for by utterance key: read in step with the features while the
/// table lists the utterances in their order (as ivkit-gselect and gmm-gselect write it; memory
/// bounded by one entry, not the table), else looked up in an index of the table's keys (built at
/// the first key out of order). Another pass over the features starts the table again.
class GselectLookup {
 public:
  explicit GselectLookup(std::string rspecifier);
  ~GselectLookup();
  /// @throws ivkit::FormatError when the table has no entry for `key`
  Int32VectorVector of(const std::string& key);
  const std::string& rspecifier() const { return rspecifier_; }

 private:
  std::string rspecifier_;
  std::unique_ptr<ivkit::KaldiSequentialReader<Int32VectorVector>> in_order_;
  std::unique_ptr<ivkit::KaldiRandomAccessReader<Int32VectorVector>> by_key_;
};

}  // namespace ivkit_tools
