// A test case that cannot run what it tests in this build (a kernel for an instruction set the
// build does not have) says so: the executable then ends with kSkipReturnCode, which CTest reports
// as "Skipped" (SKIP_RETURN_CODE), never as passed.
#pragma once

namespace ivkit_test {

inline constexpr int kSkipReturnCode = 77;

/// Records that the running test case skipped its subject, and why; defined in test_main.cpp.
void skip_test_case(const char* why);

}  // namespace ivkit_test
