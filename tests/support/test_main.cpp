// The doctest main of every test executable. CTest runs a module's executable once per source file
// with --source-file=...; a filter that selects no test case (a renamed or moved file) fails the
// run instead of passing with nothing tested, and a run in which a test case skipped its subject
// (support/skip.hpp) ends with the skip code, so that CTest reports it skipped, not passed. A run
// whose IVKIT_ISA names a kernel path this CPU lacks is skipped as a whole; an unknown name fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ivkit/core/isa.hpp"
#include "support/skip.hpp"

namespace {

int g_selected_test_cases = -1;
std::vector<std::string> g_skipped;  // "test case: why"

/// Records how many test cases passed the filters.
struct SelectionCounter : doctest::IReporter {
  explicit SelectionCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_selected_test_cases = static_cast<int>(stats.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("ivkit_selection_counter", 1, SelectionCounter);

void ivkit_test::skip_test_case(const char* why) {
  const doctest::ContextOptions* options = doctest::getContextOptions();
  const doctest::TestCaseData* tc = options ? options->currentTest : nullptr;
  g_skipped.push_back(std::string(tc ? tc->m_name : "?") + ": " + why);
  MESSAGE("skipped: " << why);
}

int main(int argc, char** argv) {
  if (const char* env = std::getenv("IVKIT_ISA")) {
    try {
      if (ivkit::parse_isa(env) > ivkit::cpu_isa()) {
        std::fprintf(stderr, "IVKIT_ISA=%s: this CPU has at most the %s path; nothing was tested\n", env,
                     ivkit::isa_name(ivkit::cpu_isa()));
        return ivkit_test::kSkipReturnCode;
      }
      std::fprintf(stderr, "kernel path: %s\n", ivkit::isa_name(ivkit::active_isa()));
    } catch (const ivkit::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    }
  }
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --help, --list-test-cases, ...
  if (g_selected_test_cases == 0) {
    std::fprintf(stderr, "no test case matches the filters: nothing was tested\n");
    return result == 0 ? 1 : result;
  }
  if (result == 0 && !g_skipped.empty()) {
    std::fprintf(stderr, "%zu test case(s) could not run their subject in this build:\n", g_skipped.size());
    for (const auto& s : g_skipped) std::fprintf(stderr, "  %s\n", s.c_str());
    return ivkit_test::kSkipReturnCode;
  }
  return result;
}
