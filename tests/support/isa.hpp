// Runs a test body on every kernel path this machine supports (core/isa.hpp), highest first, the
// path named in the failure messages; the path in use is restored afterwards.
#pragma once

#include <doctest/doctest.h>

#include "ivkit/core/isa.hpp"
#include "support/skip.hpp"

namespace ivkit_test {

/// fn(isa) for each path from the CPU's best down to `lowest`; when the CPU has none of them the
/// test case reports itself skipped.
template <class F>
void for_each_isa(F&& fn, ivkit::Isa lowest = ivkit::Isa::baseline) {
  const ivkit::Isa saved = ivkit::active_isa();
  const ivkit::Isa best = ivkit::cpu_isa();
  if (best < lowest) {
    skip_test_case("this CPU (or build) has no path with these kernels");
    return;
  }
  for (int i = static_cast<int>(best); i >= static_cast<int>(lowest); --i) {
    const auto isa = static_cast<ivkit::Isa>(i);
    ivkit::set_active_isa(isa);
    INFO("kernel path: " << ivkit::isa_name(isa));
    fn(isa);
  }
  ivkit::set_active_isa(saved);
}

}  // namespace ivkit_test
