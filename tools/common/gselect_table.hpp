// Gaussian-selection tables: the library's (ivkit/io/kaldi_gselect.hpp), under the tools' names.
#pragma once

#include <ivkit/io/kaldi_gselect.hpp>

namespace ivkit_tools {

using ivkit::gselect_from_table;
using ivkit::gselect_to_table;
using ivkit::Int32VectorVector;

}  // namespace ivkit_tools
