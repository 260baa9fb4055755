// Detection metrics against hand-worked cases (each convention), brute-force references written as
// plain loops in double (threshold sweeps, all-pairs hull, Kaldi's loop transcribed), the streaming
// histogram against the exact figures, the DET curve and its SVG plot, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <sys/types.h>
#include <vector>

#include <ivkit/core/random.hpp>
#include <ivkit/eval/det.hpp>
#include <ivkit/eval/metrics.hpp>

using namespace ivkit;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- Hand-worked case 1: distinct scores ------------------------------------------------------
// Sorted: 0.1 N, 0.2 T, 0.3 N, 0.4 N, 0.5 T, 0.6 N, 0.7 T, 0.8 N, 0.9 T  (N_tar = 4, N_non = 5).
// Operating point k rejects the k lowest scores (accept iff score >= theta_k):
//   k  theta  P_miss  P_fa   P_fa - P_miss
//   0  0.1    0       1       1
//   1  0.2    0       0.8     0.8
//   2  0.3    0.25    0.8     0.55
//   3  0.4    0.25    0.6     0.35
//   4  0.5    0.25    0.4     0.15
//   5  0.6    0.5     0.4    -0.1
//   6  0.7    0.5     0.2
//   7  0.8    0.75    0.2
//   8  0.9    0.75    0
//   9  inf    1       0
// Interpolated: the sign changes between k = 4 and 5; the segment (P_fa 0.4, P_miss 0.25 -> 0.5)
//   meets the diagonal at 0.4. Threshold: the straddling score 0.5.
// Kaldi: t = [.2 .5 .7 .9], n = [.1 .3 .4 .6 .8];
//   p = 0: q = 5 - 1 - floor(0)    = 4, n[4] = .8 < t[0] = .2? no
//   p = 1: q = 5 - 1 - floor(1.25) = 3, n[3] = .6 < t[1] = .5? no
//   p = 2: q = 5 - 1 - floor(2.5)  = 2, n[2] = .4 < t[2] = .7? yes -> EER = 2/4 = 0.5, threshold .7
// Rocch: PAV on the labels 0 1 0 0 1 0 1 0 1 gives the bins {.1}: 0/1, {.2 .3 .4}: 1 T 2 N,
//   {.5 .6 .7 .8}: 2 T 2 N, {.9}: 1/1 (the 1/2 bins {.5 .6} and {.7 .8} merge on equality).
//   Hull vertices (P_fa, P_miss): (1, 0), (.8, 0), (.4, .25), (0, .75), (0, 1). The segment
//   (.4, .25)-(0, .75) is P_miss = .25 + 1.25 (.4 - P_fa); on the diagonal 2.25 x = .75: EER = 1/3.
//   (BOSARIS rocch2eer: candidates 0, 1/3.25, 1/3, 0; the largest is 1/3.)
const std::vector<double> kTar1 = {0.7, 0.2, 0.9, 0.5};
const std::vector<double> kNon1 = {0.3, 0.8, 0.1, 0.6, 0.4};

// ---- Hand-worked case 2: a tie between a target and two non-targets ----------------------------
// Groups: 0: 0 T 1 N; 1: 1 T 2 N; 2: 1 T 1 N; 3: 1 T 0 N  (N_tar = 3, N_non = 4).
//   k  theta  P_miss  P_fa
//   0  0      0       1
//   1  1      0       .75
//   2  2      1/3     .25     (the tie group 1 moves both rates at once)
//   3  3      2/3     0
//   4  inf    1       0
// Interpolated: between k = 1 (D = .75) and k = 2 (D = -1/12): w = .75 / (10/12) = .9,
//   EER = 0 + .9 / 3 = 0.3 (= .75 - .9 * .5 on the P_fa side). Threshold 1.
// Rocch: the group proportions 0, 1/3, 1/2, 1 already increase: no pooling, the hull is the ROC,
//   EER = 0.3 as well.
// Kaldi: t = [1 2 3], n = [0 1 1 2]; p = 0: q = 3, n[3] = 2 < 1? no; p = 1: q = 4 - 1 - floor(4/3) = 2,
//   n[2] = 1 < 2? yes -> EER = 1/3, threshold 2.
const std::vector<double> kTar2 = {1, 2, 3};
const std::vector<double> kNon2 = {0, 1, 1, 2};

// ---- Hand-worked case 3: more targets than non-targets -----------------------------------------
// t = [1 2 3 4 5], n = [.5 6].
// Kaldi: q = 2 - 1 - floor(2p/5): p = 0, 1, 2 -> q = 1, n[1] = 6 is never below t[p]; p = 3 -> q = 0,
//   n[0] = .5 < 4: EER = 3/5, threshold 4.
// Interpolated: k = 3 (theta 3): P_miss .4, P_fa .5; k = 4 (theta 4): .6, .5 -> crossing at .5,
//   threshold 3.
// Rocch: labels 0 1 1 1 1 1 0: the final 1 0 pools, then every 1 before it: bins {.5}: 0/1 and
//   {1..6}: 5 T 1 N. Hull (1, 0), (.5, 0), (0, 1): P_miss = 1 - 2 P_fa meets the diagonal at 1/3,
//   threshold 1 (lowest score of the crossing bin).
const std::vector<double> kTar3 = {1, 2, 3, 4, 5};
const std::vector<double> kNon3 = {0.5, 6};

// ---- Naive references (plain loops, double) ---------------------------------------------------

/// All thresholds that give distinct decisions: every score value and +inf.
std::vector<double> candidate_thresholds(const std::vector<double>& tar, const std::vector<double>& non) {
  std::vector<double> th(tar);
  th.insert(th.end(), non.begin(), non.end());
  th.push_back(kInf);
  std::sort(th.begin(), th.end());
  th.erase(std::unique(th.begin(), th.end()), th.end());
  return th;
}

/// (P_miss, P_fa) when accepting score >= theta, by counting.
std::pair<double, double> rates_at(const std::vector<double>& tar, const std::vector<double>& non, double theta) {
  double miss = 0, fa = 0;
  for (double s : tar) miss += s < theta;
  for (double s : non) fa += s >= theta;
  return {miss / double(tar.size()), fa / double(non.size())};
}

double brute_min_dcf(const std::vector<double>& tar, const std::vector<double>& non, double p, double cm, double cf) {
  double best = kInf;
  for (double th : candidate_thresholds(tar, non)) {
    const auto [pm, pf] = rates_at(tar, non, th);
    best = std::min(best, p * cm * pm + (1 - p) * cf * pf);
  }
  // Thresholds below every score accept all: the first candidate already does.
  return best / std::min(p * cm, (1 - p) * cf);
}

/// ROCCH EER by brute force: the smallest x such that (x, x) is a convex combination of two
/// operating points.
double brute_rocch_eer(const std::vector<double>& tar, const std::vector<double>& non) {
  std::vector<std::pair<double, double>> pts;  // (P_fa, P_miss)
  for (double th : candidate_thresholds(tar, non)) {
    const auto [pm, pf] = rates_at(tar, non, th);
    pts.emplace_back(pf, pm);
  }
  double best = kInf;
  for (const auto& a : pts)
    for (const auto& b : pts) {
      const double da = a.first - a.second, db = b.first - b.second;
      if (da < 0 || db > 0) continue;
      if (da == db) {
        best = std::min(best, a.second);  // both on the diagonal
        continue;
      }
      const double w = da / (da - db);
      best = std::min(best, a.second + w * (b.second - a.second));
    }
  return best;
}

/// Interpolated EER by brute force: the first threshold (ascending) where P_miss >= P_fa, and the
/// straight segment from the previous one.
double brute_interpolated_eer(const std::vector<double>& tar, const std::vector<double>& non) {
  double pm_prev = 0, pf_prev = 1;
  for (double th : candidate_thresholds(tar, non)) {
    const auto [pm, pf] = rates_at(tar, non, th);
    if (pm >= pf) {
      if (pm == pf) return pm;
      const double d0 = pf_prev - pm_prev, d1 = pf - pm;
      return pm_prev + d0 / (d0 - d1) * (pm - pm_prev);
    }
    pm_prev = pm;
    pf_prev = pf;
  }
  return 1.0;
}

/// Kaldi's ComputeEer (src/ivectorbin/compute-eer.cc) transcribed with its float scores.
float kaldi_compute_eer(std::vector<float> target_scores, std::vector<float> nontarget_scores, float* threshold) {
  std::sort(target_scores.begin(), target_scores.end());
  std::sort(nontarget_scores.begin(), nontarget_scores.end());
  size_t target_position = 0, target_size = target_scores.size();
  for (; target_position + 1 < target_size; target_position++) {
    ssize_t nontarget_size = nontarget_scores.size(), nontarget_n = nontarget_size * target_position * 1.0 / target_size,
            nontarget_position = nontarget_size - 1 - nontarget_n;
    if (nontarget_position < 0) nontarget_position = 0;
    if (nontarget_scores[nontarget_position] < target_scores[target_position]) break;
  }
  *threshold = target_scores[target_position];
  return static_cast<float>(target_position * 1.0 / target_size);
}

double naive_cllr(const std::vector<double>& tar, const std::vector<double>& non) {
  double a = 0, b = 0;
  for (double s : tar) a += std::log(1 + std::exp(-s));
  for (double s : non) b += std::log(1 + std::exp(s));
  return (a / double(tar.size()) + b / double(non.size())) / (2 * std::log(2.0));
}

/// Random scores: targets N(mu, 1), non-targets N(0, 1), optionally rounded to a grid (ties).
std::pair<std::vector<double>, std::vector<double>> random_scores(Random& rng, int nt, int nn, double mu, double grid) {
  std::vector<double> tar(nt), non(nn);
  for (auto& s : tar) s = mu + rng.normal();
  for (auto& s : non) s = rng.normal();
  if (grid > 0) {
    for (auto& s : tar) s = std::round(s / grid) * grid;
    for (auto& s : non) s = std::round(s / grid) * grid;
  }
  return {tar, non};
}

/// A minimal XML well-formedness check: tags balance (declarations and self-closing tags aside).
bool tags_balance(const std::string& s, std::string* why) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = s.find('<', i)) != std::string::npos) {
    const std::size_t j = s.find('>', i);
    if (j == std::string::npos) {
      *why = "unterminated tag";
      return false;
    }
    std::string tag = s.substr(i + 1, j - i - 1);
    i = j + 1;
    if (tag.empty()) return false;
    if (tag[0] == '?' || tag[0] == '!') continue;
    if (tag.back() == '/') continue;
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) {
        *why = "unbalanced </" + name + ">";
        return false;
      }
      stack.pop_back();
      continue;
    }
    stack.push_back(tag.substr(0, tag.find_first_of(" \t\n")));
  }
  if (!stack.empty()) *why = "unclosed <" + stack.back() + ">";
  return stack.empty();
}

std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh empty directory under the system temporary directory.
std::filesystem::path fresh_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("EER conventions on hand-worked case 1 (distinct scores)") {
  const EerResult rocch = eer(kTar1, kNon1, EerConvention::Rocch);
  const EerResult kaldi = eer(kTar1, kNon1, EerConvention::Kaldi);
  const EerResult interp = eer(kTar1, kNon1, EerConvention::Interpolated);
  CHECK(rocch.eer == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(rocch.threshold == 0.5);
  CHECK(rocch.convention == EerConvention::Rocch);
  CHECK(kaldi.eer == 0.5);
  CHECK(kaldi.threshold == 0.7);
  CHECK(kaldi.convention == EerConvention::Kaldi);
  CHECK(interp.eer == doctest::Approx(0.4).epsilon(1e-15));
  CHECK(interp.threshold == 0.5);
  CHECK(interp.convention == EerConvention::Interpolated);
  for (const auto& r : {rocch, kaldi, interp}) {
    CHECK(r.num_targets == 4);
    CHECK(r.num_nontargets == 5);
    CHECK_FALSE(r.approximate);
    CHECK(r.lower == r.eer);
    CHECK(r.upper == r.eer);
  }
  CHECK(rocch.to_string() == "EER = 33.3333% (rocch: ROC convex hull, as BOSARIS rocch2eer; threshold 0.5; 4 targets, 5 non-targets)");
  CHECK(kaldi.to_string() == "EER = 50% (kaldi: Kaldi compute-eer; threshold 0.7; 4 targets, 5 non-targets)");
  CHECK(interp.to_string() ==
        "EER = 40% (interpolated: linear interpolation between the operating points where P_miss and P_fa cross; threshold 0.5; "
        "4 targets, 5 non-targets)");
}

TEST_CASE("EER conventions on hand-worked case 2 (ties) and case 3 (more targets)") {
  CHECK(eer(kTar2, kNon2, EerConvention::Interpolated).eer == doctest::Approx(0.3).epsilon(1e-15));
  CHECK(eer(kTar2, kNon2, EerConvention::Interpolated).threshold == 1.0);
  CHECK(eer(kTar2, kNon2, EerConvention::Rocch).eer == doctest::Approx(0.3).epsilon(1e-15));
  CHECK(eer(kTar2, kNon2, EerConvention::Kaldi).eer == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(eer(kTar2, kNon2, EerConvention::Kaldi).threshold == 2.0);

  CHECK(eer(kTar3, kNon3, EerConvention::Kaldi).eer == doctest::Approx(0.6).epsilon(1e-15));
  CHECK(eer(kTar3, kNon3, EerConvention::Kaldi).threshold == 4.0);
  CHECK(eer(kTar3, kNon3, EerConvention::Interpolated).eer == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(eer(kTar3, kNon3, EerConvention::Interpolated).threshold == 3.0);
  CHECK(eer(kTar3, kNon3, EerConvention::Rocch).eer == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(eer(kTar3, kNon3, EerConvention::Rocch).threshold == 1.0);
}

TEST_CASE("EER corner cases: a full tie, perfect separation, Kaldi with one target") {
  // One target and one non-target at the same score: the tie is one group, the ROC and its hull are
  // the straight line from (1, 0) to (0, 1): EER 1/2. Kaldi's loop does not run for N_tar = 1: 0.
  const std::vector<double> t{1.0}, n{1.0};
  CHECK(eer(t, n, EerConvention::Rocch).eer == 0.5);
  CHECK(eer(t, n, EerConvention::Interpolated).eer == 0.5);
  CHECK(eer(t, n, EerConvention::Kaldi).eer == 0.0);
  // Perfect separation: every convention gives 0; the hull vertex (0, 0) lies on the diagonal, the
  // threshold accepting exactly the targets is the lowest target score.
  const std::vector<double> tt{3, 4, 5}, nn{0, 1, 2};
  CHECK(eer(tt, nn, EerConvention::Rocch).eer == 0.0);
  CHECK(eer(tt, nn, EerConvention::Rocch).threshold == 3.0);
  CHECK(eer(tt, nn, EerConvention::Interpolated).eer == 0.0);
  CHECK(eer(tt, nn, EerConvention::Interpolated).threshold == 3.0);
  CHECK(eer(tt, nn, EerConvention::Kaldi).eer == 0.0);
  // Perfectly wrong: targets all below non-targets: EER 1 (interpolated, hull) ...
  CHECK(eer(nn, tt, EerConvention::Interpolated).eer == 1.0);
  CHECK(eer(nn, tt, EerConvention::Rocch).eer == doctest::Approx(0.5));  // the hull is the chance diagonal
  // ... and infinities are scores like any other.
  const std::vector<double> ti{kInf, 1.0}, ni{-kInf, 2.0};
  CHECK(eer(ti, ni, EerConvention::Interpolated).eer == doctest::Approx(0.5));
}

TEST_CASE("EER conventions match brute-force references on random scores, with and without ties") {
  Random rng(7);
  for (double grid : {0.0, 0.25}) {
    for (int rep = 0; rep < 4; ++rep) {
      const auto [tar, non] = random_scores(rng, 40 + 13 * rep, 150 + 37 * rep, 1.5, grid);
      CAPTURE(grid);
      CAPTURE(rep);
      CHECK(eer(tar, non, EerConvention::Rocch).eer == doctest::Approx(brute_rocch_eer(tar, non)).epsilon(1e-12));
      CHECK(eer(tar, non, EerConvention::Interpolated).eer == doctest::Approx(brute_interpolated_eer(tar, non)).epsilon(1e-12));
      // The hull is below the ROC: its EER is never larger.
      CHECK(eer(tar, non, EerConvention::Rocch).eer <= eer(tar, non, EerConvention::Interpolated).eer + 1e-15);
      // Kaldi: bit for bit with the transcribed loop, on float scores.
      std::vector<float> tf(tar.begin(), tar.end()), nf(non.begin(), non.end());
      float kaldi_threshold = 0;
      const float kaldi_eer = kaldi_compute_eer(tf, nf, &kaldi_threshold);
      const EerResult k = eer(tf, nf, EerConvention::Kaldi);
      CHECK(static_cast<float>(k.eer) == kaldi_eer);
      CHECK(static_cast<float>(k.threshold) == kaldi_threshold);
    }
  }
}

TEST_CASE("minDCF: hand-worked values and the brute-force threshold sweep") {
  // Case 1, P_target = 0.5, C_miss = C_fa = 1: normalised DCF = P_miss + P_fa at each operating
  // point: 1, .8, 1.05, .85, .65, .9, .7, .95, .75, 1 -> 0.65 at k = 4 (threshold .5, P_miss .25,
  // P_fa .4).
  const DcfResult a = min_dcf(kTar1, kNon1, DcfParams{0.5, 1, 1});
  CHECK(a.value == doctest::Approx(0.65).epsilon(1e-15));
  CHECK(a.threshold == 0.5);
  CHECK(a.p_miss == 0.25);
  CHECK(a.p_fa == 0.4);
  CHECK(a.kind == DcfKind::Min);
  CHECK(a.to_string() ==
        "minDCF = 0.65 (P_target = 0.5, C_miss = 1, C_fa = 1; normalised by 0.5; threshold 0.5: P_miss = 25%, P_fa = 40%; "
        "4 targets, 5 non-targets)");
  // P_target = 0.25: normalised by .25, DCF = P_miss + 3 P_fa: 3, 2.4, 2.65, 2.05, 1.45, 1.7, 1.1,
  // 1.35, .75, 1 -> 0.75 at k = 8 (threshold .9, P_miss .75, P_fa 0).
  const DcfResult b = min_dcf(kTar1, kNon1, DcfParams{0.25, 1, 1});
  CHECK(b.value == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(b.threshold == 0.9);
  // P_target = 0.01: normalised by .01, DCF = P_miss + 99 P_fa: only P_fa = 0 can beat 1, and
  // k = 8 (P_miss .75, P_fa 0) gives 0.75 at threshold .9.
  const DcfResult c = min_dcf(kTar1, kNon1, DcfParams{0.01, 1, 1});
  CHECK(c.value == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(c.threshold == 0.9);
  // Reject-all wins when every target lies below a non-target: targets {1, 2}, non-target {3}:
  // P_miss + 99 P_fa = 99, 99.5, 100, then 1 at k = 3 (threshold +inf, nothing accepted).
  const DcfResult d = min_dcf(std::vector<double>{1, 2}, std::vector<double>{3}, DcfParams{0.01, 1, 1});
  CHECK(d.value == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(d.threshold == kInf);
  CHECK(d.p_miss == 1.0);
  CHECK(d.p_fa == 0.0);

  Random rng(3);
  for (double grid : {0.0, 0.5}) {
    const auto [tar, non] = random_scores(rng, 120, 700, 2.0, grid);
    for (const DcfParams& p : {DcfParams{0.01, 1, 1}, DcfParams{0.05, 1, 1}, DcfParams{0.5, 1, 1}, DcfParams{0.01, 10, 1},
                               DcfParams{0.3, 2, 5}}) {
      CAPTURE(p.to_string());
      const SortedScores s(tar, non);
      const DcfResult r = min_dcf(s, p);
      CHECK(r.value == doctest::Approx(brute_min_dcf(tar, non, p.p_target, p.c_miss, p.c_fa)).epsilon(1e-12));
      // The reported operating point is the one the threshold gives.
      const auto [pm, pf] = rates_at(tar, non, r.threshold);
      CHECK(r.p_miss == doctest::Approx(pm));
      CHECK(r.p_fa == doctest::Approx(pf));
      CHECK(r.value <= 1.0);
    }
  }
}

TEST_CASE("actDCF thresholds LLRs at the Bayes threshold, accepting LLR >= threshold") {
  // LLRs with a target and a non-target exactly at 0.
  const std::vector<double> tar{-1, 0, 0.5, 2, 3}, non{-3, -2, -0.5, 0, 0.2, 1.5};
  // P_target = .5, C = 1, 1: threshold log(.5) - log(.5) = 0. Misses: {-1} -> 1/5; false alarms:
  // {0, .2, 1.5} -> 3/6. Normalised: (.5 * .2 + .5 * .5) / .5 = .7.
  const DcfResult a = act_dcf(tar, non, DcfParams{0.5, 1, 1});
  CHECK(a.threshold == 0.0);
  CHECK(a.p_miss == doctest::Approx(0.2));
  CHECK(a.p_fa == doctest::Approx(0.5));
  CHECK(a.value == doctest::Approx(0.7));
  CHECK(a.kind == DcfKind::Act);
  CHECK(a.to_string() ==
        "actDCF = 0.7 (P_target = 0.5, C_miss = 1, C_fa = 1; normalised by 0.5; Bayes threshold 0: P_miss = 20%, P_fa = 50%; "
        "5 targets, 6 non-targets)");
  // P_target = .1: threshold log 9 = 2.197; misses {-1, 0, .5, 2} -> .8, no false alarm:
  // (.1 * .8) / min(.1, .9) = .8.
  const DcfResult b = act_dcf(tar, non, DcfParams{0.1, 1, 1});
  CHECK(b.threshold == doctest::Approx(std::log(9.0)));
  CHECK(b.value == doctest::Approx(0.8));
  // C_miss = 9 with P_target = .1 moves the threshold to log(.9 / .9) = 0: the same decisions as (a):
  // DCF = .1 * 9 * .2 + .9 * .5 = .63, normalised by min(.9, .9): .7.
  const DcfResult c = act_dcf(tar, non, DcfParams{0.1, 9, 1});
  CHECK(c.threshold == doctest::Approx(0.0).epsilon(1e-15));
  CHECK(c.value == doctest::Approx(0.7));
  // Sorted and unsorted overloads agree; actDCF >= minDCF always.
  Random rng(5);
  const auto [rt, rn] = random_scores(rng, 200, 900, 3.0, 0.0);
  const SortedScores s(rt, rn);
  for (const DcfParams& p : {DcfParams{0.01, 1, 1}, DcfParams{0.5, 1, 1}, DcfParams{0.2, 3, 1}}) {
    const DcfResult u = act_dcf(rt, rn, p), v = act_dcf(s, p);
    CHECK(u.value == v.value);
    CHECK(u.p_miss == v.p_miss);
    const auto [pm, pf] = rates_at(rt, rn, p.bayes_threshold());
    CHECK(u.p_miss == doctest::Approx(pm));
    CHECK(u.p_fa == doctest::Approx(pf));
    CHECK(u.value >= min_dcf(s, p).value - 1e-15);
  }
}

TEST_CASE("Cllr against its formula; minCllr by PAV, hand-worked, <= Cllr, equal for PAV output") {
  CHECK(cllr(std::vector<double>{0, 0}, std::vector<double>{0}) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(cllr(std::vector<double>{kInf}, std::vector<double>{-kInf}) == 0.0);
  CHECK(cllr(std::vector<double>{-kInf}, std::vector<double>{0}) == kInf);
  Random rng(9);
  const auto [tar, non] = random_scores(rng, 300, 1000, 2.5, 0.0);
  CHECK(cllr(tar, non) == doctest::Approx(naive_cllr(tar, non)).epsilon(1e-12));
  // Large LLRs stay finite and accurate (log(1 + e^40) = 40 + e^-40).
  const std::vector<double> big_t{-40}, big_n{40};
  CHECK(cllr(big_t, big_n) == doctest::Approx((40 + std::exp(-40.0)) / std::log(2.0)).epsilon(1e-15));

  // Case 1: PAV bins 0 T 1 N | 1 T 2 N | 2 T 2 N | 1 T 0 N, prior log odds log(4/5). Bin LLRs:
  // -inf, log(1/2) - log(4/5) = log .625, log(2/2) - log(4/5) = log 1.25, +inf. Pure bins cost 0:
  //   targets:     log(1 + 1/.625) + 2 log(1 + 1/1.25)   = log 2.6 + 2 log 1.8
  //   non-targets: 2 log(1 + .625) + 2 log(1 + 1.25)     = 2 log 1.625 + 2 log 2.25
  const double hand = ((std::log(2.6) + 2 * std::log(1.8)) / 4 + (2 * std::log(1.625) + 2 * std::log(2.25)) / 5) / (2 * std::log(2.0));
  CHECK(min_cllr(kTar1, kNon1) == doctest::Approx(hand).epsilon(1e-14));
  const PavLlrs pav = pav_llrs(kTar1, kNon1);
  // Order kept: kTar1 = {.7, .2, .9, .5}, kNon1 = {.3, .8, .1, .6, .4}.
  CHECK(pav.target_llrs[0] == doctest::Approx(std::log(1.25)));
  CHECK(pav.target_llrs[1] == doctest::Approx(std::log(0.625)));
  CHECK(pav.target_llrs[2] == kInf);
  CHECK(pav.target_llrs[3] == doctest::Approx(std::log(1.25)));
  CHECK(pav.nontarget_llrs[2] == -kInf);
  CHECK(pav.nontarget_llrs[4] == doctest::Approx(std::log(0.625)));
  CHECK(cllr(pav.target_llrs, pav.nontarget_llrs) == doctest::Approx(hand).epsilon(1e-14));

  // Random, with ties: minCllr <= Cllr; PAV output is perfectly calibrated, so its Cllr is its minCllr.
  for (double grid : {0.0, 0.3}) {
    const auto [rt, rn] = random_scores(rng, 250, 800, 2.0, grid);
    const double mc = min_cllr(rt, rn);
    CHECK(mc <= cllr(rt, rn));
    CHECK(mc <= 1.0);
    const PavLlrs p = pav_llrs(rt, rn);
    CHECK(cllr(p.target_llrs, p.nontarget_llrs) == doctest::Approx(mc).epsilon(1e-12));
    CHECK(min_cllr(p.target_llrs, p.nontarget_llrs) == doctest::Approx(mc).epsilon(1e-12));
    // The map is monotone: a higher score never gets a lower LLR.
    std::vector<std::pair<double, double>> sl;
    for (std::size_t i = 0; i < rt.size(); ++i) sl.emplace_back(rt[i], p.target_llrs[i]);
    for (std::size_t i = 0; i < rn.size(); ++i) sl.emplace_back(rn[i], p.nontarget_llrs[i]);
    std::sort(sl.begin(), sl.end());
    for (std::size_t i = 1; i < sl.size(); ++i) CHECK(sl[i].second >= sl[i - 1].second);
    // Laplace smoothing keeps every LLR finite.
    const PavLlrs lp = pav_llrs(rt, rn, PavSmoothing::Laplace);
    for (double x : lp.target_llrs) CHECK(std::isfinite(x));
    for (double x : lp.nontarget_llrs) CHECK(std::isfinite(x));
  }
  // Shifting and scaling (monotone maps) leave minCllr, minDCF and the hull EER unchanged.
  std::vector<double> t2(tar), n2(non);
  for (auto& x : t2) x = 3 * x - 1;
  for (auto& x : n2) x = 3 * x - 1;
  CHECK(min_cllr(t2, n2) == doctest::Approx(min_cllr(tar, non)).epsilon(1e-12));
  CHECK(eer(t2, n2, EerConvention::Rocch).eer == doctest::Approx(eer(tar, non, EerConvention::Rocch).eer).epsilon(1e-12));
}

TEST_CASE("SortedScores sorts exactly like std::sort: wide, narrow (one radix bucket), tied, zeros, infinities") {
  Random rng(31);
  std::vector<std::vector<double>> cases;
  std::vector<double> wide(50000), narrow(30000), tied(20000), mixed(10000), small(100);
  for (auto& x : wide) x = 1e3 * rng.normal();
  for (auto& x : narrow) x = 1.0 + 0.0625 * rng.uniform();  // one top-16-bit bucket: the in-bucket radix passes
  for (auto& x : tied) x = std::round(4 * rng.normal()) / 4;
  for (std::size_t i = 0; i < mixed.size(); ++i) {
    const double u = rng.uniform();
    mixed[i] = u < 0.1 ? -0.0 : u < 0.2 ? 0.0 : u < 0.25 ? kInf : u < 0.3 ? -kInf : u < 0.4 ? 1e-310 * rng.normal() : rng.normal();
  }
  for (auto& x : small) x = rng.normal();
  for (const auto& v : {wide, narrow, tied, mixed, small}) {
    CAPTURE(v.size());
    std::vector<double> ref(v);
    std::sort(ref.begin(), ref.end());
    const SortedScores s(v, ref);
    CHECK(s.targets() == ref);  // operator== compares values: -0.0 == 0.0
    const std::vector<float> f(v.begin(), v.end());
    std::vector<float> fref(f);
    std::sort(fref.begin(), fref.end());
    const SortedScores sf(f, f);
    CHECK(sf.targets() == std::vector<double>(fref.begin(), fref.end()));
  }
}

TEST_CASE("Scores with labels, float input, Eigen input and the radix sort give the same figures") {
  Random rng(21);
  auto [tar, non] = random_scores(rng, 3000, 9000, 1.0, 0.0);
  tar[5] = -0.0;
  tar[6] = 0.0;
  non[7] = kInf;
  non[8] = -kInf;
  const SortedScores s(tar, non);
  std::vector<double> ref_t(tar), ref_n(non);
  std::sort(ref_t.begin(), ref_t.end());
  std::sort(ref_n.begin(), ref_n.end());
  CHECK(s.targets() == ref_t);  // radix sort (n >= 4096) against std::sort
  CHECK(s.nontargets() == ref_n);
  // Scores + labels, interleaved.
  std::vector<double> all;
  TrialLabels labels;
  for (std::size_t i = 0; i < std::max(tar.size(), non.size()); ++i) {
    if (i < non.size()) {
      all.push_back(non[i]);
      labels.push_back(false);
    }
    if (i < tar.size()) {
      all.push_back(tar[i]);
      labels.push_back(true);
    }
  }
  const SortedScores sl(all, labels);
  CHECK(sl.targets() == ref_t);
  CHECK(sl.nontargets() == ref_n);
  const auto split = split_scores(all, labels);
  CHECK(split.first.size() == tar.size());
  // Float vectors and Eigen vectors view the same numbers.
  std::vector<float> tf(tar.begin(), tar.end()), nf(non.begin(), non.end());
  Eigen::VectorXf tv = Eigen::Map<Eigen::VectorXf>(tf.data(), Index(tf.size()));
  Eigen::ArrayXf na = Eigen::Map<Eigen::ArrayXf>(nf.data(), Index(nf.size()));
  const EerResult a = eer(tf, nf, EerConvention::Rocch), b = eer(tv, na, EerConvention::Rocch);
  CHECK(a.eer == b.eer);
  Eigen::MatrixXd m(4, 3);
  m.setZero();
  CHECK_THROWS_WITH_AS(eer(m, non, EerConvention::Rocch), "ScoreView: expected a vector of scores, got a 4 x 3 matrix",
                       DimensionMismatch);
  CHECK_THROWS_WITH_AS(eer(m.row(1), non, EerConvention::Rocch), "ScoreView: the scores must be contiguous, got inner stride 4",
                       InvalidArgument);
  // Four targets at 0 below one non-target at 1: the interpolated EER is 1.
  CHECK(eer(m.col(1), std::vector<double>{1.0}, EerConvention::Interpolated).eer == 1.0);
}

TEST_CASE("ScoreHistogram: equal to the exact figures when each bin holds one score value") {
  // Case 1's scores are .1, .2, ..., .9: with 10 bins over [0, 1) each lands alone in its bin, so the
  // bins are the tie groups and every figure is exact (the interval may still be reported).
  ScoreHistogram h(0.0, 1.0, 10);
  h.add_targets(kTar1);
  h.add_nontargets(kNon1);
  const EerResult i = h.eer(EerConvention::Interpolated), r = h.eer(EerConvention::Rocch);
  CHECK(i.approximate);
  CHECK(i.eer == doctest::Approx(0.4));
  CHECK(r.eer == doctest::Approx(1.0 / 3));
  CHECK(i.lower <= 0.4);
  CHECK(i.upper >= 0.4);
  CHECK(r.lower <= 1.0 / 3 + 1e-15);
  const DcfResult d = h.min_dcf(DcfParams{0.5, 1, 1});
  CHECK(d.value == doctest::Approx(0.65));
  CHECK(d.lower <= 0.65);
  CHECK(d.threshold == doctest::Approx(0.5));
  CHECK(min_cllr(kTar1, kNon1) == doctest::Approx(h.min_cllr_upper_bound()).epsilon(1e-14));
  CHECK(i.to_string() ==
        "EER = 40% in [" + detail::fmt(100 * i.lower) + "%, " + detail::fmt(100 * i.upper) +
            "%] (interpolated: linear interpolation between the operating points where P_miss and P_fa cross, approximate from a "
            "score histogram; threshold 0.5; 4 targets, 5 non-targets)");
  // The DET points at the bin edges are the exact operating points.
  const DetCurve hc = det_curve(h), ec = det_curve(SortedScores(kTar1, kNon1));
  REQUIRE(hc.size() == ec.size());
  for (std::size_t k = 0; k < hc.size(); ++k) {
    CHECK(hc.p_miss[k] == ec.p_miss[k]);
    CHECK(hc.p_fa[k] == ec.p_fa[k]);
  }
}

TEST_CASE("ScoreHistogram: within its guaranteed interval of the exact figures on 1e6 random scores") {
  Random rng(2024);
  const auto [tar, non] = random_scores(rng, 200000, 800000, 2.0, 0.0);
  ScoreRange range;
  ScoreHistogram* hp = nullptr;
  // First pass: the range, in chunks; second pass: the counts, in chunks of another size.
  for (std::size_t i = 0; i < tar.size(); i += 65536) range.add(ScoreView(tar.data() + i, std::min<std::size_t>(65536, tar.size() - i)));
  for (std::size_t i = 0; i < non.size(); i += 65536) range.add(ScoreView(non.data() + i, std::min<std::size_t>(65536, non.size() - i)));
  CHECK(range.count() == 1000000);
  ScoreHistogram h = ScoreHistogram::from_range(range, ScoreHistogram::kDefaultBins, true);
  hp = &h;
  for (std::size_t i = 0; i < tar.size(); i += 100000) hp->add_targets(ScoreView(tar.data() + i, 100000));
  for (std::size_t i = 0; i < non.size(); i += 100000) hp->add_nontargets(ScoreView(non.data() + i, 100000));
  CHECK(h.num_targets() == 200000);
  CHECK(h.num_nontargets() == 800000);

  const SortedScores s(tar, non);
  for (EerConvention c : {EerConvention::Rocch, EerConvention::Interpolated}) {
    CAPTURE(convention_name(c));
    const EerResult ex = eer(s, c), ap = h.eer(c);
    CHECK(ap.lower <= ex.eer);
    CHECK(ex.eer <= ap.upper);
    CHECK(ap.upper - ap.lower < 1e-4);  // 2^16 bins over ~10 standard deviations: a few scores per bin
    CHECK(std::abs(ap.eer - ex.eer) <= ap.upper - ap.lower);
  }
  for (const DcfParams& p : {DcfParams{0.01, 1, 1}, DcfParams{0.05, 1, 1}, DcfParams{0.5, 1, 1}, DcfParams{0.001, 1, 1}}) {
    CAPTURE(p.to_string());
    const DcfResult ex = min_dcf(s, p), ap = h.min_dcf(p);
    CHECK(ap.lower <= ex.value + 1e-12);
    CHECK(ex.value <= ap.upper + 1e-12);
    CHECK(ap.upper - ap.lower < 2e-3);
    const DcfResult ea = act_dcf(s, p), aa = h.act_dcf(p);
    CHECK(aa.lower <= ea.value + 1e-12);
    CHECK(ea.value <= aa.upper + 1e-12);
  }
  CHECK(h.cllr() == doctest::Approx(cllr(s)).epsilon(1e-12));
  const double mc = min_cllr(s), ub = h.min_cllr_upper_bound();
  CHECK(mc <= ub + 1e-12);
  CHECK(ub - mc < 1e-3);
  // Merging two halves gives the same counts as one histogram.
  ScoreHistogram h1 = ScoreHistogram::from_range(range, ScoreHistogram::kDefaultBins, true), h2 = h1;
  h1.add_targets(ScoreView(tar.data(), 100000));
  h2.add_targets(ScoreView(tar.data() + 100000, 100000));
  h1.add_nontargets(non);
  h1.merge(h2);
  CHECK(h1.target_counts() == h.target_counts());
  CHECK(h1.nontarget_counts() == h.nontarget_counts());
}

TEST_CASE("ScoreHistogram: out-of-range scores, labelled chunks, and the bounds stay valid for coarse bins") {
  Random rng(77);
  const auto [tar, non] = random_scores(rng, 3000, 20000, 1.0, 0.0);
  // A deliberately narrow range and few bins: many scores under- and overflow, the bounds widen
  // but still hold.
  ScoreHistogram h(-0.5, 1.5, 16);
  std::vector<double> all;
  TrialLabels labels;
  for (double x : tar) {
    all.push_back(x);
    labels.push_back(true);
  }
  for (double x : non) {
    all.push_back(x);
    labels.push_back(false);
  }
  h.add(all, labels);
  const SortedScores s(tar, non);
  for (EerConvention c : {EerConvention::Rocch, EerConvention::Interpolated}) {
    const EerResult ex = eer(s, c), ap = h.eer(c);
    CHECK(ap.lower <= ex.eer);
    CHECK(ex.eer <= ap.upper);
  }
  for (const DcfParams& p : {DcfParams{0.01, 1, 1}, DcfParams{0.3, 1, 1}}) {
    const DcfResult ex = min_dcf(s, p), ap = h.min_dcf(p);
    CHECK(ap.lower <= ex.value + 1e-12);
    CHECK(ex.value <= ap.upper + 1e-12);
  }
  CHECK(h.target_counts().front() > 0);  // underflow bin used
  CHECK(h.nontarget_counts().back() > 0);  // overflow bin used
  CHECK(h.bin_of(-0.5) == 1);
  CHECK(h.bin_of(1.5) == 17);
  CHECK(h.bin_of(std::nextafter(1.5, 0.0)) == 16);
  CHECK(h.bin_of(-kInf) == 0);
}

TEST_CASE("DET curve points against a naive computation; the hull curve; probit") {
  Random rng(12);
  const auto [tar, non] = random_scores(rng, 80, 300, 1.0, 0.2);
  const SortedScores s(tar, non);
  const DetCurve c = det_curve(s);
  const std::vector<double> th = candidate_thresholds(tar, non);
  REQUIRE(c.size() == th.size());
  for (std::size_t k = 0; k < c.size(); ++k) {
    CHECK(c.threshold[k] == th[k]);
    const auto [pm, pf] = rates_at(tar, non, th[k]);
    CHECK(c.p_miss[k] == doctest::Approx(pm).epsilon(1e-15));
    CHECK(c.p_fa[k] == doctest::Approx(pf).epsilon(1e-15));
  }
  CHECK(c.p_miss.front() == 0.0);
  CHECK(c.p_fa.front() == 1.0);
  CHECK(c.p_miss.back() == 1.0);
  CHECK(c.p_fa.back() == 0.0);
  // Hull vertices: a subset of the operating points, convex (slopes increase in magnitude).
  const DetCurve h = rocch_det_curve(s);
  CHECK(h.size() <= c.size());
  for (std::size_t k = 2; k < h.size(); ++k) {
    const double x0 = h.p_fa[k - 2], y0 = h.p_miss[k - 2], x1 = h.p_fa[k - 1], y1 = h.p_miss[k - 1], x2 = h.p_fa[k], y2 = h.p_miss[k];
    CHECK((x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0) < 1e-12);  // turning one way: convex from below
  }
  // Case 1's hull vertices from the hand-worked example.
  const DetCurve h1 = rocch_det_curve(SortedScores(kTar1, kNon1));
  REQUIRE(h1.size() == 5);
  CHECK(h1.p_fa == std::vector<double>{1, 0.8, 0.4, 0, 0});
  CHECK(h1.p_miss == std::vector<double>{0, 0, 0.25, 0.75, 1});

  CHECK(probit(0.5) == 0.0);
  CHECK(probit(0.975) == doctest::Approx(1.959963984540054).epsilon(1e-14));
  CHECK(probit(0.001) == doctest::Approx(-3.090232306167813).epsilon(1e-14));
  CHECK(probit(0.0) == -kInf);
  CHECK(probit(1.0) == kInf);
  for (double p : {1e-300, 1e-12, 1e-5, 0.01, 0.02425, 0.1, 0.3, 0.7, 0.9, 0.99, 0.999}) {
    CAPTURE(p);
    CHECK(normal_cdf(probit(p)) == doctest::Approx(p).epsilon(1e-13));
  }
  CHECK_THROWS_WITH_AS(probit(1.5), "probit: p must lie in [0, 1], got 1.5", InvalidArgument);
}

TEST_CASE("DET plot: SVG file written atomically, XML-balanced, one polyline per system, probit ticks") {
  const auto dir = fresh_dir("ivkit_test_det_svg");
  Random rng(4);
  std::vector<DetPlotSeries> series;
  for (int k = 0; k < 3; ++k) {
    const auto [tar, non] = random_scores(rng, 2000, 20000, 1.5 + k, 0.0);
    series.push_back({k == 0 ? "system <A> & \"B\"" : "system " + std::to_string(k), det_curve(SortedScores(tar, non))});
  }
  const auto [tar, non] = random_scores(rng, 500, 5000, 2.0, 0.0);
  series.push_back({"hull", rocch_det_curve(SortedScores(tar, non))});
  const auto path = dir / "det.svg";
  DetPlotOptions o;
  o.title = "Speaker verification";
  write_det_svg(path.string(), series, o);
  REQUIRE(std::filesystem::exists(path));
  const std::string svg = read_file(path);
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
  std::string why;
  CHECK_MESSAGE(tags_balance(svg, &why), why);
  CHECK(count_of(svg, "<polyline") == 4);
  CHECK(svg.find("system &lt;A&gt; &amp; &quot;B&quot;") != std::string::npos);
  for (const char* t : {">0.1<", ">0.2<", ">0.5<", ">1<", ">2<", ">5<", ">10<", ">20<", ">40<"}) {
    CAPTURE(t);
    CHECK(count_of(svg, t) == 2);  // x and y axes
  }
  CHECK(svg.find("Speaker verification") != std::string::npos);
  // 22000 scores per curve thinned to the pixels that matter.
  CHECK(svg.size() < 400000);
  // The tick at 1% on the x axis: left + (probit(.01) - probit(.001)) / (probit(.4) - probit(.001)) * width.
  const double x1 = 70 + (probit(0.01) - probit(0.001)) / (probit(0.4) - probit(0.001)) * (640 - 90);
  CHECK(svg.find("x1=\"" + detail::px(x1) + "\"") != std::string::npos);
  // Only det.svg in the directory: the temporary file was renamed, not left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
  // Overwriting replaces the file.
  write_det_svg(path.string(), {series[1]}, o);
  CHECK(count_of(read_file(path), "<polyline") == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("DET plot errors") {
  const DetCurve good = det_curve(SortedScores(kTar1, kNon1));
  CHECK_THROWS_WITH_AS(write_det_svg("/nonexistent-ivkit-dir/det.svg", {{"a", good}}),
                       "write_det_svg: cannot create a temporary file in '/nonexistent-ivkit-dir' for '/nonexistent-ivkit-dir/det.svg'",
                       IoError);
  const auto dir = fresh_dir("ivkit_test_det_svg_err");
  std::filesystem::create_directories(dir / "taken");
  CHECK_THROWS_AS(write_det_svg((dir / "taken").string(), {{"a", good}}), IoError);  // a directory is in the way
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);  // no temporary file left behind
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH_AS(det_svg({}), "det_svg: no curves to plot", InvalidArgument);
  DetCurve bad = good;
  bad.p_fa.pop_back();
  CHECK_THROWS_WITH_AS(det_svg({{"a", bad}}), "det_svg: curve 'a' has 10 P_miss but 9 P_fa values", DimensionMismatch);
  bad = good;
  bad.p_miss[3] = kNaN;
  CHECK_THROWS_WITH_AS(det_svg({{"a", bad}}), "det_svg: curve 'a' point 3 is NaN", NonFiniteInput);
  bad.p_miss[3] = 1.5;
  CHECK_THROWS_WITH_AS(det_svg({{"a", bad}}), "det_svg: curve 'a' point 3 (P_miss = 1.5, P_fa = 0.6) lies outside [0, 1]",
                       InvalidArgument);
  CHECK_THROWS_WITH_AS(det_svg({{"a", DetCurve{}}}), "det_svg: curve 'a' is empty", InvalidArgument);
  DetPlotOptions o;
  o.max_percent = 100;
  CHECK_THROWS_WITH_AS(write_det_svg("x.svg", {{"a", good}}, o),
                       "write_det_svg: the axis range must satisfy 0 < min_percent < max_percent < 100, got [0.1, 100]",
                       InvalidArgument);
  o = DetPlotOptions{};
  o.width = 100;
  CHECK_THROWS_WITH_AS(det_svg({{"a", good}}, o), "det_svg: width and height must be at least 200 pixels, got 100 x 640",
                       InvalidArgument);
}

TEST_CASE("Metric errors: empty lists, NaN scores (naming the index), bad parameters") {
  const std::vector<double> none, t{1, 2, 3}, n{0, 1};
  std::vector<double> tn{1, 2, kNaN}, nn{kNaN, 1};
  CHECK_THROWS_WITH_AS(eer(none, n, EerConvention::Rocch), "eer: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(eer(t, none, EerConvention::Kaldi), "eer: no non-target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(eer(tn, n, EerConvention::Rocch), "eer: target score 2 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(eer(t, nn, EerConvention::Interpolated), "eer: non-target score 0 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(min_dcf(none, n, DcfParams{}), "min_dcf: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(min_dcf(t, n, DcfParams{1.0, 1, 1}), "min_dcf: P_target must lie in (0, 1), got 1", InvalidArgument);
  CHECK_THROWS_WITH_AS(min_dcf(t, n, DcfParams{0.01, -1, 1}), "min_dcf: C_miss must be positive and finite, got -1", InvalidArgument);
  CHECK_THROWS_WITH_AS(act_dcf(t, n, DcfParams{0.01, 1, 0}), "act_dcf: C_fa must be positive and finite, got 0", InvalidArgument);
  CHECK_THROWS_WITH_AS(act_dcf(tn, n, DcfParams{}), "act_dcf: target score 2 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(act_dcf(t, none, DcfParams{}), "act_dcf: no non-target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(cllr(t, nn), "cllr: non-target score 0 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(cllr(none, n), "cllr: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(min_cllr(t, none), "min_cllr: no non-target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(pav_llrs(tn, n), "pav_llrs: target score 2 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(evaluate(t, n, {DcfParams{0, 1, 1}}), "evaluate: P_target must lie in (0, 1), got 0", InvalidArgument);
  CHECK_THROWS_WITH_AS(SortedScores(t, nn), "SortedScores: non-target score 0 is NaN", NonFiniteInput);
  const std::vector<double> all{1, kNaN, 3};
  CHECK_THROWS_WITH_AS(SortedScores(all, TrialLabels{true, false}), "SortedScores: 3 scores but 2 labels", DimensionMismatch);
  CHECK_THROWS_WITH_AS(SortedScores(all, TrialLabels{true, false, false}), "SortedScores: score 1 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(SortedScores(t, TrialLabels{false, false, false}), "SortedScores: no target scores", InvalidArgument);
  CHECK_THROWS_WITH_AS(split_scores(t, TrialLabels{true}), "split_scores: 3 scores but 1 labels", DimensionMismatch);

  CHECK_THROWS_WITH_AS(ScoreHistogram(1, 0), "ScoreHistogram: lo (1) must be below hi (0)", InvalidArgument);
  CHECK_THROWS_WITH_AS(ScoreHistogram(0, kInf), "ScoreHistogram: the range must be finite, got [0, inf)", InvalidArgument);
  CHECK_THROWS_WITH_AS(ScoreHistogram(0, 1, 0), "ScoreHistogram: num_bins must lie in [1, 2^28], got 0", InvalidArgument);
  ScoreHistogram h(0, 1, 8);
  CHECK_THROWS_WITH_AS(h.eer(EerConvention::Rocch), "ScoreHistogram::eer: no target scores", InvalidArgument);
  h.add_targets(t);
  CHECK_THROWS_WITH_AS(h.add_targets(tn), "ScoreHistogram::add_targets: target score 5 is NaN", NonFiniteInput);
  CHECK(h.num_targets() == 3);  // the bad chunk was not added
  CHECK_THROWS_WITH_AS(h.add_nontargets(nn), "ScoreHistogram::add_nontargets: non-target score 0 is NaN", NonFiniteInput);
  CHECK_THROWS_WITH_AS(h.min_dcf(DcfParams{}), "ScoreHistogram::min_dcf: no non-target scores", InvalidArgument);
  h.add_nontargets(n);
  CHECK_THROWS_WITH_AS(h.eer(EerConvention::Kaldi),
                       "ScoreHistogram::eer: the kaldi convention needs every score; use rocch or interpolated", InvalidArgument);
  CHECK_THROWS_WITH_AS(h.cllr(), "ScoreHistogram::cllr: Cllr was not tracked (construct with track_cllr = true)", InvalidArgument);
  CHECK_THROWS_WITH_AS(h.add(t, TrialLabels{true}), "ScoreHistogram::add: 3 scores but 1 labels", DimensionMismatch);
  CHECK_THROWS_WITH_AS(h.merge(ScoreHistogram(0, 2, 8)),
                       "ScoreHistogram::merge: histograms differ: [0, 1) in 8 bins vs [0, 2) in 8 bins", DimensionMismatch);
  ScoreRange empty_range;
  CHECK_THROWS_WITH_AS(ScoreHistogram::from_range(empty_range), "ScoreHistogram::from_range: the range holds no finite score",
                       InvalidArgument);
}

TEST_CASE("evaluate() reports every figure with its convention and parameters") {
  const EvaluationReport r = evaluate(kTar1, kNon1, {DcfParams{0.5, 1, 1}, DcfParams{0.01, 10, 1}});
  REQUIRE(r.eers.size() == 3);
  CHECK(r.eers[0].convention == EerConvention::Rocch);
  CHECK(r.eers[1].convention == EerConvention::Kaldi);
  CHECK(r.eers[2].convention == EerConvention::Interpolated);
  REQUIRE(r.min_dcfs.size() == 2);
  CHECK(r.min_dcfs[0].value == doctest::Approx(0.65));
  CHECK(r.cllr == doctest::Approx(naive_cllr(kTar1, kNon1)));
  CHECK(r.min_cllr == doctest::Approx(min_cllr(kTar1, kNon1)));
  const std::string s = r.to_string();
  CHECK(s.find("EER = 33.3333% (rocch") != std::string::npos);
  CHECK(s.find("EER = 50% (kaldi") != std::string::npos);
  CHECK(s.find("EER = 40% (interpolated") != std::string::npos);
  CHECK(s.find("minDCF = 0.65 (P_target = 0.5, C_miss = 1, C_fa = 1") != std::string::npos);
  CHECK(s.find("actDCF = ") != std::string::npos);
  CHECK(s.find("P_target = 0.01, C_miss = 10, C_fa = 1") != std::string::npos);
  CHECK(count_of(s, "\n") == 9);
}
