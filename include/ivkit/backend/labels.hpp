/// @file
/// Class (speaker) labels of training embeddings. Supervised back-end training (LDA, WCCN, PLDA)
/// takes one label per embedding row; labels are any integers (or names, converted with
/// labels_from_names) and are renumbered 0..K-1 in order of first appearance.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

/// The classes of a labelled set: `of_row[i]` is row i's class in 0..num_classes()-1 (numbered in order of
/// first appearance), `counts[k]` the number of rows of class k, `rows_of[k]` those rows in order.
struct ClassIndex {
  std::vector<Index> of_row;
  std::vector<Index> counts;
  std::vector<std::vector<Index>> rows_of;

  Index num_classes() const { return static_cast<Index>(counts.size()); }
  Index num_rows() const { return static_cast<Index>(of_row.size()); }
};

/// Numbers the distinct labels of `labels` (one per row of a set of `rows` embeddings).
/// `fn` names the caller in errors. @throws DimensionMismatch when labels.size() != rows,
/// InvalidArgument when there are no rows
inline ClassIndex index_classes(const char* fn, const std::vector<Index>& labels, Index rows) {
  if (static_cast<Index>(labels.size()) != rows)
    throw DimensionMismatch(detail::message(fn, ": ", labels.size(), " labels for ", rows, " embeddings"));
  if (rows == 0) throw InvalidArgument(detail::message(fn, ": no embeddings"));
  ClassIndex c;
  c.of_row.resize(labels.size());
  std::unordered_map<Index, Index> number;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, fresh] = number.emplace(labels[i], static_cast<Index>(c.counts.size()));
    if (fresh) {
      c.counts.push_back(0);
      c.rows_of.emplace_back();
    }
    c.of_row[i] = it->second;
    ++c.counts[static_cast<std::size_t>(it->second)];
    c.rows_of[static_cast<std::size_t>(it->second)].push_back(static_cast<Index>(i));
  }
  return c;
}

/// Integer labels for string class names (e.g. the speaker of each utterance from `utt2spk`),
/// numbered in order of first appearance; the names of the classes go to `class_names` if given.
inline std::vector<Index> labels_from_names(const std::vector<std::string>& names, std::vector<std::string>* class_names = nullptr) {
  std::unordered_map<std::string, Index> number;
  std::vector<Index> out;
  out.reserve(names.size());
  if (class_names) class_names->clear();
  for (const auto& n : names) {
    auto [it, fresh] = number.emplace(n, static_cast<Index>(number.size()));
    if (fresh && class_names) class_names->push_back(n);
    out.push_back(it->second);
  }
  return out;
}

}  // namespace ivkit
