// The options of the GMM M-step that ivkit-train-ubm and ivkit-sum-accs share: the low-occupancy
// rule, the variance floors, and --kaldi-estimation (Kaldi's conventions; see ivkit/gmm/em_update.hpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <ivkit/gmm/em_update.hpp>

namespace ivkit_tools {

struct GmmUpdateCli {
  std::string low_occupancy = "split";
  double min_weight = 1e-4, min_occupancy = 10.0, variance_floor = 1e-3, min_variance = 0.0;
  bool kaldi_estimation = false;

  /// Adds --min-gaussian-weight, --min-gaussian-occupancy, --low-occupancy, --variance-floor,
  /// --min-variance and --kaldi-estimation.
  void add_options(CLI::App& app);
  /// After parsing: the M-step options for a diagonal or full-covariance model (--kaldi-estimation
  /// fills in what was not given explicitly).
  ivkit::EmUpdateOptions options(const CLI::App& app, bool full_covariance) const;
  /// The settings as (name, value) pairs, for checkpoint fingerprints.
  std::vector<std::pair<std::string, std::string>> describe(const CLI::App& app) const;
};

}  // namespace ivkit_tools
