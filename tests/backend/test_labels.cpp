#include <doctest/doctest.h>

#include "ivkit/backend/labels.hpp"

TEST_CASE("index_classes numbers labels in order of first appearance") {
  const std::vector<ivkit::Index> labels{7, 3, 7, -1, 3, 7};
  const auto c = ivkit::index_classes("f", labels, 6);
  CHECK(c.num_classes() == 3);
  CHECK(c.of_row == std::vector<ivkit::Index>{0, 1, 0, 2, 1, 0});
  CHECK(c.counts == std::vector<ivkit::Index>{3, 2, 1});
  CHECK(c.rows_of[0] == std::vector<ivkit::Index>{0, 2, 5});
  CHECK_THROWS_WITH_AS(ivkit::index_classes("lda", labels, 5), "lda: 6 labels for 5 embeddings", ivkit::DimensionMismatch);
  CHECK_THROWS_WITH_AS(ivkit::index_classes("lda", {}, 0), "lda: no embeddings", ivkit::InvalidArgument);
}

TEST_CASE("labels_from_names maps names to integers and returns the class names") {
  std::vector<std::string> names;
  const auto l = ivkit::labels_from_names({"bob", "amy", "bob", "cid"}, &names);
  CHECK(l == std::vector<ivkit::Index>{0, 1, 0, 2});
  CHECK(names == std::vector<std::string>{"bob", "amy", "cid"});
}
