#include "common/gmm_update.hpp"

#include "common/cli.hpp"

namespace ivkit_tools {

void GmmUpdateCli::add_options(CLI::App& app) {
  app.add_option("--min-gaussian-weight", min_weight, "Gaussians whose share of the data is at most this are low-occupancy (Kaldi's --min-gaussian-weight)")
      ->check(CLI::Range(0.0, 0.999999));
  app.add_option("--min-gaussian-occupancy", min_occupancy,
                 "Gaussians with at most this occupancy are low-occupancy (default 10; with --kaldi-estimation 10 diagonal, 100 full)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--low-occupancy", low_occupancy,
                 "what happens to a low-occupancy Gaussian: split (re-split the heaviest, keeps the count), remove (Kaldi's default), keep "
                 "(previous parameters and weight), keep-min-weight (previous parameters, weight max(share, --min-gaussian-weight): Kaldi's "
                 "--remove-low-count-gaussians=false, as its recipes run)")
      ->check(CLI::IsMember({"split", "remove", "keep", "keep-min-weight"}));
  app.add_option("--variance-floor", variance_floor,
                 "variances (full: eigenvalues) at least this times the global data variance (ivkit's floor; 0 = none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--min-variance", min_variance,
                 "and at least this, in the features' units (Kaldi's absolute floor: gmm-global-est --min-variance, fgmm-global-est "
                 "--variance-floor; 0 = none)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--kaldi-estimation", kaldi_estimation,
               "Kaldi's M-step conventions (gmm-global-est, fgmm-global-est as sid/train_{diag,full}_ubm.sh run them): --variance-floor 0 "
               "--min-variance 0.001 --low-occupancy keep-min-weight, --min-gaussian-occupancy 10 (diagonal) and 100 (full); options "
               "given explicitly win. Default: ivkit's (a floor relative to the data, low-occupancy Gaussians re-split)");
}

ivkit::EmUpdateOptions GmmUpdateCli::options(const CLI::App& app, bool full_covariance) const {
  ivkit::EmUpdateOptions u;
  const bool kaldi = kaldi_estimation;
  u.min_weight = min_weight;
  u.min_occupancy = kaldi && !app.count("--min-gaussian-occupancy") ? (full_covariance ? 100.0 : 10.0) : min_occupancy;
  u.variance_floor = kaldi && !app.count("--variance-floor") ? 0.0 : variance_floor;
  u.absolute_variance_floor = kaldi && !app.count("--min-variance") ? 1e-3 : min_variance;
  const std::string low = kaldi && !app.count("--low-occupancy") ? std::string("keep-min-weight") : low_occupancy;
  u.low_occupancy = low == "remove"            ? ivkit::LowOccupancy::Remove
                    : low == "keep"            ? ivkit::LowOccupancy::KeepPrevious
                    : low == "keep-min-weight" ? ivkit::LowOccupancy::KeepPreviousMinWeight
                                               : ivkit::LowOccupancy::SplitHeaviest;
  return u;
}

std::vector<std::pair<std::string, std::string>> GmmUpdateCli::describe(const CLI::App& app) const {
  const ivkit::EmUpdateOptions d = options(app, false), f = options(app, true);
  return {{"min-gaussian-weight", format_real(d.min_weight)},
          {"min-gaussian-occupancy", format_real(d.min_occupancy) + "," + format_real(f.min_occupancy)},
          {"low-occupancy", kaldi_estimation && !app.count("--low-occupancy") ? std::string("keep-min-weight") : low_occupancy},
          {"variance-floor", format_real(d.variance_floor)},
          {"min-variance", format_real(d.absolute_variance_floor)}};
}

}  // namespace ivkit_tools
