#include "common/gselect_table.hpp"

#include <ivkit/core/error.hpp>

namespace ivkit_tools {

GselectLookup::GselectLookup(std::string rspecifier)
    : rspecifier_(std::move(rspecifier)), in_order_(std::make_unique<ivkit::KaldiSequentialReader<Int32VectorVector>>(rspecifier_)) {}

GselectLookup::~GselectLookup() = default;

Int32VectorVector GselectLookup::of(const std::string& key) {
  if (!by_key_) {
    if (in_order_->done() || in_order_->key() != key) in_order_ = std::make_unique<ivkit::KaldiSequentialReader<Int32VectorVector>>(rspecifier_);
    if (!in_order_->done() && in_order_->key() == key) {
      Int32VectorVector v = std::move(in_order_->value());
      in_order_->next();
      return v;
    }
    in_order_.reset();  // not in the order of the features: index the table by key
    by_key_ = std::make_unique<ivkit::KaldiRandomAccessReader<Int32VectorVector>>(rspecifier_);
  }
  if (!by_key_->has_key(key))
    throw ivkit::FormatError(ivkit::detail::message("utterance '", key, "' has no Gaussian selection in '", rspecifier_, "'"));
  return by_key_->value(key);
}

}  // namespace ivkit_tools
