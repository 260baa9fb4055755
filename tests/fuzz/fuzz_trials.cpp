// Fuzz harness: trial lists (ivkit/eval/trials.hpp read_trials from a stream, both formats). A
// parsed list written back with write_trials must read back the same, and trial_indices must map
// every trial to its own ids.
#include <sstream>
#include <unordered_map>

#include "harness.hpp"
#include "ivkit/eval/trials.hpp"

namespace {

std::vector<std::string> unique_ids(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::unordered_map<std::string, int> seen;
  for (const auto& id : ids)
    if (seen.emplace(id, 0).second) out.push_back(id);
  return out;
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  // The first byte picks the format asked for; the rest is the list.
  if (bytes.empty()) return;
  const ivkit::TrialFormat formats[] = {ivkit::TrialFormat::Auto, ivkit::TrialFormat::Kaldi, ivkit::TrialFormat::Stklia};
  std::istringstream in(bytes.substr(1));
  const auto t = ivkit::read_trials(in, formats[static_cast<unsigned char>(bytes[0]) % 3], "fuzz.trials");
  ivkit_fuzz::require(t.enrol.size() == t.test.size() && t.test.size() == t.labels.size() && t.lines.size() == t.labels.size() &&
                          !t.labels.empty(),
                      "a parsed trial list is consistent and not empty");
  ivkit_fuzz::must_succeed("writing and re-reading a parsed trial list", [&] {
    std::ostringstream out;
    ivkit::write_trials(out, t, t.format);
    std::istringstream back(out.str());
    const auto u = ivkit::read_trials(back, t.format, "again.trials");
    ivkit_fuzz::require(u.enrol == t.enrol && u.test == t.test && u.labels == t.labels && u.format == t.format, "trials round trip");
    const auto enrol_ids = unique_ids(t.enrol), test_ids = unique_ids(t.test);
    const auto idx = ivkit::trial_indices(t, enrol_ids, test_ids);
    for (std::size_t i = 0; i < t.labels.size(); ++i)
      ivkit_fuzz::require(enrol_ids[static_cast<std::size_t>(idx.enrol[i])] == t.enrol[i] && test_ids[static_cast<std::size_t>(idx.test[i])] == t.test[i],
                          "trial_indices maps each trial to its ids");
  });
}
