// ivkit speaker recipe: from Kaldi data folders of WAV files to EER, the classic i-vector system of
// Kaldi's sre/voxceleb v1 recipes in one program.
//
//   speaker_recipe CORPUS [--out DIR] [options]      (speaker_recipe --help lists them)
//
// CORPUS holds train/ and eval/, Kaldi data folders (wav.scp with plain WAV paths, utt2spk, optional
// spk2utt and segments), and trial lists in eval/ (eval/trials and eval/trials_*, "utt1 utt2
// target|nontarget" or "1|0 utt1 utt2"; or --trials FILE). Stages (timed on stderr):
//   1. features: MFCC (voxceleb/v1: 40 mel bins, 20 cepstra, 50-7500 Hz, no snip-edges), energy VAD,
//      deltas and delta-deltas (window 3), sliding mean normalisation (300 frames), voiced frames;
//   2. UBM: diagonal GMM from random frames with mixing up, more EM on subsampled frames, then
//      (optionally) full covariances, as sid/train_diag_ubm.sh and sid/train_full_ubm.sh;
//   3. Baum-Welch statistics of every utterance (Gaussian selection with the diagonal model and
//      posteriors pruned at min-post, as sid/train_ivector_extractor.sh);
//   4. i-vector extractor: PCA initialisation, 5 EM iterations as voxceleb/v1 (--update-variances
//      adds the covariance update of Kaldi's ivector-extractor-est);
//   5. i-vectors of train and eval;
//   6. back-end trained on train: centring, LDA, length normalisation, two-covariance PLDA;
//   7. scoring every trial list with PLDA and with cosine similarity (raw i-vectors, and after
//      centring + LDA + length norm): EER, minDCF at P_target 0.01 and 0.05, DET plot, scores.
// Outputs in --out: results.txt, det_<trials>.svg, scores/<trials>.<system>, the models (ivkit files)
// and the i-vectors (Kaldi ark/scp). Multi-threaded (--threads 0: all cores); the results do not
// depend on the thread count.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ivkit/features/wav_reader.hpp>
#include <ivkit/ivkit.hpp>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string corpus, train_dir, eval_dir, out = "speaker_recipe_out";
  std::vector<std::string> trials;
  int threads = 0;
  std::uint64_t seed = 777;
  // features (Kaldi egs/voxceleb/v1 conf/mfcc.conf and the sid recipes' vad.conf)
  double sample_frequency = 16000, low_freq = 50, high_freq = 7500;
  int num_mel_bins = 40, num_ceps = 20, delta_window = 3, cmn_window = 300;
  bool snip_edges = false;
  double vad_energy_threshold = 5.5, vad_energy_mean_scale = 0.5, vad_proportion_threshold = 0.12;
  int vad_frames_context = 2;
  // UBM (sid/train_diag_ubm.sh, sid/train_full_ubm.sh)
  long num_gauss = 512, ubm_init_frames = 500000, subsample = 5;
  int ubm_init_iters = 20, ubm_iters = 4, full_ubm_iters = 4;
  // statistics and extractor (sid/train_ivector_extractor.sh)
  long gselect = 20, ivector_dim = 200;
  double min_post = 0.025, posterior_scale = 1.0;
  int extractor_iters = 5;
  std::string extractor_init = "pca";
  bool update_variances = false;
  // back-end
  long lda_dim = 200;
  int plda_iters = 10;
};

[[noreturn]] void usage(int code) {
  std::FILE* f = code == 0 ? stdout : stderr;
  std::fprintf(f,
               "usage: speaker_recipe CORPUS [options]\n"
               "  CORPUS: a folder with train/ and eval/ Kaldi data folders (wav.scp, utt2spk) and eval/trials\n"
               "general:\n"
               "  --out DIR                outputs (speaker_recipe_out)\n"
               "  --train DIR, --eval DIR  data folders (CORPUS/train, CORPUS/eval)\n"
               "  --trials FILE            a trial list to score (repeatable; default: eval/trials and eval/trials_*)\n"
               "  --threads N              worker threads (0 = all cores)\n"
               "  --seed N                 seed of the UBM initialisation and the extractor (777)\n"
               "features (Kaldi voxceleb/v1):\n"
               "  --sample-frequency HZ (16000) --num-mel-bins N (40) --num-ceps N (20) --low-freq HZ (50)\n"
               "  --high-freq HZ (7500; <= 0: offset from Nyquist) --snip-edges true|false (false)\n"
               "  --delta-window N (3) --cmn-window N (300) --vad-energy-threshold X (5.5)\n"
               "  --vad-energy-mean-scale X (0.5) --vad-proportion-threshold X (0.12) --vad-frames-context N (2)\n"
               "UBM:\n"
               "  --num-gauss N (512) --ubm-init-iters N (20) --ubm-init-frames N (500000)\n"
               "  --ubm-iters N (4, on every --subsample'th frame) --subsample N (5)\n"
               "  --full-ubm-iters N (4; 0 = diagonal UBM and diagonal extractor)\n"
               "statistics and extractor:\n"
               "  --gselect N (20) --min-post X (0.025) --posterior-scale X (1.0)\n"
               "  --ivector-dim N (200) --extractor-iters N (5, as voxceleb/v1) --extractor-init pca|random (pca)\n"
               "  --update-variances true|false (false; true: the covariance update of Kaldi's ivector-extractor-est)\n"
               "back-end:\n"
               "  --lda-dim N (200, at most the training speakers - 1 and the i-vector dimension) --plda-iters N (10)\n");
  std::exit(code);
}

bool parse_bool(const std::string& o, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  std::fprintf(stderr, "speaker_recipe: %s takes true or false, got '%s'\n", o.c_str(), v.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string o = argv[i];
    if (o == "--help" || o == "-h") usage(0);
    if (o.rfind("--", 0) != 0) {
      if (!a.corpus.empty()) {
        std::fprintf(stderr, "speaker_recipe: more than one corpus folder ('%s', '%s')\n", a.corpus.c_str(), o.c_str());
        std::exit(2);
      }
      a.corpus = o;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "speaker_recipe: %s needs a value\n", o.c_str());
      std::exit(2);
    }
    const std::string v = argv[++i];
    const char* s = v.c_str();
    if (o == "--out") a.out = v;
    else if (o == "--train") a.train_dir = v;
    else if (o == "--eval") a.eval_dir = v;
    else if (o == "--trials") a.trials.push_back(v);
    else if (o == "--threads") a.threads = std::atoi(s);
    else if (o == "--seed") a.seed = std::strtoull(s, nullptr, 10);
    else if (o == "--sample-frequency") a.sample_frequency = std::atof(s);
    else if (o == "--num-mel-bins") a.num_mel_bins = std::atoi(s);
    else if (o == "--num-ceps") a.num_ceps = std::atoi(s);
    else if (o == "--low-freq") a.low_freq = std::atof(s);
    else if (o == "--high-freq") a.high_freq = std::atof(s);
    else if (o == "--snip-edges") a.snip_edges = parse_bool(o, v);
    else if (o == "--delta-window") a.delta_window = std::atoi(s);
    else if (o == "--cmn-window") a.cmn_window = std::atoi(s);
    else if (o == "--vad-energy-threshold") a.vad_energy_threshold = std::atof(s);
    else if (o == "--vad-energy-mean-scale") a.vad_energy_mean_scale = std::atof(s);
    else if (o == "--vad-proportion-threshold") a.vad_proportion_threshold = std::atof(s);
    else if (o == "--vad-frames-context") a.vad_frames_context = std::atoi(s);
    else if (o == "--num-gauss") a.num_gauss = std::atol(s);
    else if (o == "--ubm-init-iters") a.ubm_init_iters = std::atoi(s);
    else if (o == "--ubm-init-frames") a.ubm_init_frames = std::atol(s);
    else if (o == "--ubm-iters") a.ubm_iters = std::atoi(s);
    else if (o == "--subsample") a.subsample = std::atol(s);
    else if (o == "--full-ubm-iters") a.full_ubm_iters = std::atoi(s);
    else if (o == "--gselect") a.gselect = std::atol(s);
    else if (o == "--min-post") a.min_post = std::atof(s);
    else if (o == "--posterior-scale") a.posterior_scale = std::atof(s);
    else if (o == "--ivector-dim") a.ivector_dim = std::atol(s);
    else if (o == "--extractor-iters") a.extractor_iters = std::atoi(s);
    else if (o == "--extractor-init") a.extractor_init = v;
    else if (o == "--update-variances") a.update_variances = parse_bool(o, v);
    else if (o == "--lda-dim") a.lda_dim = std::atol(s);
    else if (o == "--plda-iters") a.plda_iters = std::atoi(s);
    else {
      std::fprintf(stderr, "speaker_recipe: unknown option %s (--help lists them)\n", o.c_str());
      std::exit(2);
    }
  }
  if (a.corpus.empty() && (a.train_dir.empty() || a.eval_dir.empty())) usage(2);
  if (a.train_dir.empty()) a.train_dir = (fs::path(a.corpus) / "train").string();
  if (a.eval_dir.empty()) a.eval_dir = (fs::path(a.corpus) / "eval").string();
  auto bad = [](const char* what) {
    std::fprintf(stderr, "speaker_recipe: %s\n", what);
    std::exit(2);
  };
  if (a.extractor_init != "random" && a.extractor_init != "pca") bad("--extractor-init must be random or pca");
  if (a.num_gauss < 1 || a.ivector_dim < 1 || a.gselect < 1 || a.subsample < 1 || a.ubm_init_frames < 1)
    bad("--num-gauss, --ivector-dim, --gselect, --subsample and --ubm-init-frames must be positive");
  if (a.ubm_init_iters < 1 || a.ubm_iters < 0 || a.full_ubm_iters < 0 || a.extractor_iters < 0 || a.plda_iters < 1)
    bad("iteration counts must be >= 0 (--ubm-init-iters and --plda-iters >= 1)");
  if (a.lda_dim < 1) bad("--lda-dim must be positive");
  return a;
}

// ---- progress --------------------------------------------------------------------------------

Clock::time_point g_start;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

template <class... T>
void note(const char* fmt, T... args) {
  std::fprintf(stderr, "[%7.1f s] ", since(g_start));
  std::fprintf(stderr, fmt, args...);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

struct StageTimes {
  std::vector<std::pair<std::string, double>> items;
  Clock::time_point t = Clock::now();
  void start() { t = Clock::now(); }
  double stop(const std::string& name) {
    const double s = since(t);
    items.emplace_back(name, s);
    t = Clock::now();
    return s;
  }
};

// ---- data ------------------------------------------------------------------------------------

/// One utterance: where its audio is and, after the front end, its features.
struct Utterance {
  std::string id, speaker, wav;   // wav: the file (the recording's file with segments)
  double start = 0, end = -1;     // seconds within the file (segments), end -1 = to the end
  ivkit::Matrix<float> feats;     // voiced frames, N x D
  ivkit::Index frames = 0;        // all frames before VAD
  double seconds = 0;
};

std::vector<Utterance> load_data_dir(const std::string& dir) {
  ivkit::KaldiDataDirOptions o;
  o.require_wav = true;
  const ivkit::KaldiDataDir d = ivkit::read_kaldi_data_dir(dir, o);
  std::map<std::string, const ivkit::KaldiScpEntry*> wav;
  for (const auto& e : d.wav) {
    const std::string& loc = e.location;
    if (!loc.empty() && loc.back() == '|')
      throw ivkit::FormatError(ivkit::detail::message("speaker_recipe: '", d.file("wav.scp"), "' line ", e.line, ": '", e.key,
                                                      "' is a command ('", loc,
                                                      "'); this program reads WAV files only: write the audio to files first "
                                                      "(e.g. with sox or Kaldi's wav-copy) and list their paths"));
    if (loc.find(' ') != std::string::npos || loc.find('\t') != std::string::npos)
      throw ivkit::FormatError(ivkit::detail::message("speaker_recipe: '", d.file("wav.scp"), "' line ", e.line, ": '", e.key,
                                                      "' has a location with spaces ('", loc, "'); expected one WAV file path"));
    wav[e.key] = &e;
  }
  auto resolve = [&](const std::string& loc) {  // relative paths: from the current folder, as Kaldi
    return loc;
  };
  std::vector<Utterance> out(d.num_utterances());
  for (std::size_t u = 0; u < d.num_utterances(); ++u) {
    out[u].id = d.utterances[u];
    out[u].speaker = d.speakers[static_cast<std::size_t>(d.utterance_speaker[u])];
  }
  if (d.segments.empty()) {
    for (auto& u : out) {
      const auto it = wav.find(u.id);
      if (it == wav.end())
        throw ivkit::FormatError(ivkit::detail::message("speaker_recipe: utterance '", u.id, "' of '", d.file("utt2spk"),
                                                        "' has no entry in '", d.file("wav.scp"), "'"));
      u.wav = resolve(it->second->location);
    }
  } else {
    std::map<std::string, const ivkit::KaldiSegment*> seg;
    for (const auto& s : d.segments) seg[s.utterance] = &s;
    for (auto& u : out) {
      const auto it = seg.find(u.id);
      if (it == seg.end())
        throw ivkit::FormatError(ivkit::detail::message("speaker_recipe: utterance '", u.id, "' of '", d.file("utt2spk"),
                                                        "' has no line in '", d.file("segments"), "'"));
      u.wav = resolve(wav.at(it->second->recording)->location);
      u.start = it->second->start;
      u.end = it->second->end;
    }
  }
  return out;
}

/// The trial lists to score: --trials, or eval/trials and eval/trials_* (names without a dot).
std::vector<std::string> trial_files(const Args& a) {
  if (!a.trials.empty()) return a.trials;
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(a.eval_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && (name == "trials" || (name.rfind("trials_", 0) == 0 && name.find('.') == std::string::npos)))
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  if (out.empty())
    throw ivkit::FormatError(ivkit::detail::message("speaker_recipe: no trial list in '", a.eval_dir,
                                                    "' (expected 'trials' or 'trials_*'); name one with --trials"));
  return out;
}

// ---- stage 1: features -----------------------------------------------------------------------

ivkit::FeaturePipelineOptions feature_options(const Args& a) {
  ivkit::FeaturePipelineOptions o;
  o.mfcc.frame.sample_frequency = a.sample_frequency;
  o.mfcc.frame.snip_edges = a.snip_edges;
  o.mfcc.mel.num_bins = a.num_mel_bins;
  o.mfcc.mel.low_freq = a.low_freq;
  o.mfcc.mel.high_freq = a.high_freq;
  o.mfcc.num_ceps = a.num_ceps;
  o.deltas.window = a.delta_window;
  o.cmvn.cmn_window = a.cmn_window;
  o.vad.energy_threshold = a.vad_energy_threshold;
  o.vad.energy_mean_scale = a.vad_energy_mean_scale;
  o.vad.proportion_threshold = a.vad_proportion_threshold;
  o.vad.frames_context = a.vad_frames_context;
  return o;
}

void compute_features(std::vector<Utterance>& utts, const ivkit::FeaturePipeline<float>& front_end, int threads) {
  const ivkit::Index n = static_cast<ivkit::Index>(utts.size());
  ivkit::parallel_for_blocks(n, threads, [&](ivkit::Index i) {
    Utterance& u = utts[static_cast<std::size_t>(i)];
    try {
      const ivkit::WavData w = ivkit::read_wav(u.wav);
      const double fs = w.sample_rate();
      std::size_t b = 0, e = w.samples.size();
      if (u.start > 0 || u.end >= 0) {
        b = std::min(e, static_cast<std::size_t>(std::llround(u.start * fs)));
        if (u.end >= 0) e = std::min(e, static_cast<std::size_t>(std::llround(u.end * fs)));
        e = std::max(b, e);
      }
      u.seconds = static_cast<double>(e - b) / fs;
      const Eigen::Map<const Eigen::VectorXf> x(w.samples.data() + b, static_cast<ivkit::Index>(e - b));
      ivkit::FeaturePipelineReport rep;
      u.feats = front_end.compute(x, fs, &rep);
      u.frames = rep.num_frames;
    } catch (const std::exception& ex) {
      throw ivkit::Error(ivkit::detail::message("utterance '", u.id, "' ('", u.wav, "'): ", ex.what()));
    }
  });
}

/// Drops (and reports) utterances without a voiced frame, as Kaldi's select-voiced-frames does.
void drop_unvoiced(std::vector<Utterance>& utts, const char* set) {
  std::vector<std::string> dropped;
  utts.erase(std::remove_if(utts.begin(), utts.end(),
                            [&](const Utterance& u) {
                              if (u.feats.rows() > 0) return false;
                              dropped.push_back(u.id);
                              return true;
                            }),
             utts.end());
  if (!dropped.empty())
    note("warning: %zu %s utterances have no voiced frame and are left out (first: %s)", dropped.size(), set,
         dropped.front().c_str());
}

// ---- stages 2-3: UBM and statistics ----------------------------------------------------------

struct Ubm {
  ivkit::DiagGmm<float> diag;                  // the diagonal model (Gaussian selection)
  std::unique_ptr<ivkit::FullGmm<float>> full; // the full-covariance model, if trained
};

ivkit::Matrix<float> pooled_frames(const std::vector<Utterance>& utts, ivkit::Index every) {
  ivkit::Index n = 0;
  for (const auto& u : utts) n += (u.feats.rows() + every - 1) / every;
  ivkit::Matrix<float> x(n, utts.front().feats.cols());
  ivkit::Index r = 0;
  for (const auto& u : utts)
    for (ivkit::Index t = 0; t < u.feats.rows(); t += every) x.row(r++) = u.feats.row(t);
  return x;
}

Ubm train_ubm(const Args& a, const std::vector<Utterance>& train, StageTimes& times) {
  auto progress = [](const char* what) {
    return [what](const ivkit::EmIteration& it) {
      note("  %s EM iteration %d: %ld components, log-likelihood per frame %.4f%s%s", what, it.iteration + 1,
           static_cast<long>(it.num_components), it.average_log_likelihood, it.event.empty() ? "" : "; ", it.event.c_str());
    };
  };
  // Initialisation in memory on at most --ubm-init-frames random frames (gmm-global-init-from-feats).
  ivkit::Matrix<float> all = pooled_frames(train, 1);
  ivkit::Random rng(a.seed);
  ivkit::Matrix<float> init_frames = ivkit::sample_frames<float>(all, a.ubm_init_frames, rng, "speaker_recipe");
  note("UBM: %ld diagonal Gaussians from %ld of %ld training frames, %d EM iterations mixing up from %ld", a.num_gauss,
       static_cast<long>(init_frames.rows()), static_cast<long>(all.rows()), a.ubm_init_iters, std::max(1L, a.num_gauss / 2));
  ivkit::GmmTrainOptions g;
  g.num_components = a.num_gauss;
  g.initial_components = std::max(1L, a.num_gauss / 2);
  g.num_iterations = a.ubm_init_iters;
  g.max_init_frames = init_frames.rows();
  g.seed = a.seed;
  g.update.min_weight = 1e-4;  // Kaldi's --min-gaussian-weight in the sid recipes
  g.accumulate.num_threads = a.threads;
  g.progress = progress("diagonal");
  g.evaluate_final = false;
  Ubm ubm;
  ubm.diag = ivkit::train_diag_gmm<float>(init_frames, g);
  init_frames.resize(0, 0);

  const ivkit::Matrix<float> sub = a.subsample > 1 ? pooled_frames(train, a.subsample) : std::move(all);
  all.resize(0, 0);
  ivkit::EmOptions em;
  em.update = g.update;
  em.accumulate.num_threads = a.threads;
  em.evaluate_final = false;
  if (a.ubm_iters > 0) {
    note("UBM: %d more diagonal EM iterations on every %ld. frame (%ld frames)", a.ubm_iters, a.subsample,
         static_cast<long>(sub.rows()));
    em.num_iterations = a.ubm_iters;
    em.progress = progress("diagonal");
    ubm.diag = ivkit::train_em(ubm.diag, sub, em);
  }
  times.stop("UBM, diagonal");
  if (a.full_ubm_iters > 0) {
    note("UBM: %d full-covariance EM iterations on %ld frames", a.full_ubm_iters, static_cast<long>(sub.rows()));
    em.num_iterations = a.full_ubm_iters;
    em.progress = progress("full-covariance");
    ubm.full = std::make_unique<ivkit::FullGmm<float>>(ivkit::train_em(ivkit::to_full(ubm.diag), sub, em));
    ubm.diag = ivkit::to_diag(*ubm.full);  // Gaussian selection with the diagonal of the full model (as Kaldi)
    times.stop("UBM, full covariance");
  }
  return ubm;
}

/// Statistics of every utterance, in order; `second_order` (if not null) receives the corpus totals
/// of the second-order statistics about the UBM means for the covariance update: diagonal (C x D)
/// for a diagonal UBM, the packed upper triangle of the scatter (C x D(D+1)/2) for a full one.
ivkit::StatsSet<float> compute_statistics(const Args& a, const Ubm& ubm, const std::vector<Utterance>& utts,
                                          ivkit::Matrix<double>* second_order) {
  const ivkit::Index C = ubm.diag.num_components(), D = ubm.diag.dim();
  ivkit::StatsSet<float> set(C, D);
  if (second_order) *second_order = ivkit::Matrix<double>::Zero(C, ubm.full ? ivkit::packed_size(D) : D);
  constexpr ivkit::Index kBlock = 16;
  const ivkit::Index n = static_cast<ivkit::Index>(utts.size());
  ivkit::StatsOptions so;
  so.posterior_scale = a.posterior_scale;
  so.second_order = second_order != nullptr;
  so.full_second_order = static_cast<bool>(ubm.full);  // the packed full scatter for the full-covariance update
  struct Partial {
    std::vector<ivkit::UtteranceStats> stats;  // zeroth and first order of each utterance
    ivkit::Matrix<double> second;              // their second order, summed over the block
  };
  ivkit::ordered_block_reduce(
      ivkit::num_blocks(n, kBlock), a.threads, [] { return Partial(); },
      [&](ivkit::Index b, Partial& p) {
        p.stats.clear();
        if (second_order) p.second.setZero(second_order->rows(), second_order->cols());
        for (ivkit::Index i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
          const auto& x = utts[static_cast<std::size_t>(i)].feats;
          const ivkit::GaussianSelection sel = ubm.diag.gaussian_selection(x, a.gselect);
          if (ubm.full) {
            const auto post = ubm.full->selected_posteriors(x, sel, a.min_post);
            p.stats.push_back(ivkit::stats_from_posteriors(post, x, ubm.full->means(), so));
          } else {
            const auto post = ubm.diag.selected_posteriors(x, sel, a.min_post);
            p.stats.push_back(ivkit::stats_from_posteriors(post, x, ubm.diag.means(), so));
          }
          if (second_order) {
            p.second += p.stats.back().second;
            p.stats.back().second.resize(0, 0);
          }
        }
      },
      [&](Partial& p) {
        for (const auto& s : p.stats) ivkit::add_to(set, utts[static_cast<std::size_t>(set.size())].id, s);
        if (second_order) *second_order += p.second;
      });
  return set;
}

// ---- stage 4: extractor ----------------------------------------------------------------------

ivkit::IvectorExtractor<float> train_ivector_extractor(const Args& a, const Ubm& ubm, const ivkit::StatsSet<float>& stats,
                                                       const ivkit::Matrix<double>* second_order) {
  ivkit::IvectorExtractor<float> e = a.extractor_init == "pca"
                                         ? ivkit::init_extractor_pca(ubm.diag, stats, a.ivector_dim)
                                         : ivkit::init_extractor_random(ubm.diag, a.ivector_dim, a.seed);
  if (ubm.full) {  // the same initial subspace with the full covariances of the UBM
    ivkit::IvectorExtractor<float> f(e.ubm_means(), e.m(), e.T(), ubm.full->covariances(), e.prior_mean());
    f.set_approximation_weights(ubm.full->weights());
    e = std::move(f);
  }
  note("extractor: R = %ld, %s initialisation, %s covariances, %d EM iterations on %ld utterances", a.ivector_dim,
       a.extractor_init.c_str(), ubm.full ? "full" : "diagonal", a.extractor_iters, static_cast<long>(stats.size()));
  ivkit::IvectorTrainOptions o;
  o.num_iterations = a.extractor_iters;
  o.accumulate.num_threads = a.threads;
  o.update.second_order = second_order;
  Clock::time_point t = Clock::now();
  o.progress = [&t](const ivkit::IvectorIteration& it) {
    note("  extractor EM iteration %d: objective per utterance %.3f (E-step %.1f s)", it.iteration + 1, it.objective, since(t));
    t = Clock::now();
  };
  return ivkit::train_extractor(std::move(e), stats, o);
}

// ---- stages 6-7: back-end and scoring --------------------------------------------------------

struct System {
  std::string name, tag;
  ivkit::Vector<float> scores;
};

struct TrialResult {
  std::string name;
  std::size_t targets = 0, nontargets = 0, skipped = 0;
  std::vector<std::string> lines;
};

void write_scores(const std::string& path, const ivkit::Trials& trials, const ivkit::Vector<float>& s) {
  std::ofstream f(path);
  char buf[64];
  for (std::size_t i = 0; i < trials.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(s(static_cast<ivkit::Index>(i))));
    f << trials.enrol[i] << ' ' << trials.test[i] << ' ' << buf << '\n';
  }
  if (!f) throw ivkit::IoError(ivkit::detail::message("speaker_recipe: cannot write '", path, "'"));
}

void write_ivectors(const std::string& base, const std::vector<std::string>& ids, const ivkit::Matrix<float>& x) {
  ivkit::KaldiWriter<ivkit::Vector<float>> w("ark,scp:" + base + ".ark," + base + ".scp");
  for (std::size_t i = 0; i < ids.size(); ++i) w.write(ids[i], ivkit::Vector<float>(x.row(static_cast<ivkit::Index>(i)).transpose()));
  w.close();
}

std::string hours(double seconds) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f h", seconds / 3600.0);
  return b;
}

}  // namespace

int main(int argc, char** argv) try {
  g_start = Clock::now();
  const Args a = parse(argc, argv);
  StageTimes times;
  fs::create_directories(fs::path(a.out) / "scores");
  const int hw = ivkit::resolve_num_threads(a.threads);

  // ---- data folders
  std::vector<Utterance> train = load_data_dir(a.train_dir), eval = load_data_dir(a.eval_dir);
  const std::vector<std::string> trial_paths = trial_files(a);
  std::vector<ivkit::Trials> trial_lists;
  for (const auto& p : trial_paths) trial_lists.push_back(ivkit::read_trials(p));
  note("speaker_recipe: train %zu utterances ('%s'), eval %zu ('%s'), %zu trial list(s); %d threads", train.size(),
       a.train_dir.c_str(), eval.size(), a.eval_dir.c_str(), trial_lists.size(), hw);

  // ---- 1. features
  const ivkit::FeaturePipeline<float> front_end(feature_options(a));
  compute_features(train, front_end, a.threads);
  compute_features(eval, front_end, a.threads);
  double audio = 0;
  long frames = 0, voiced = 0;
  for (const auto* set : {&train, &eval})
    for (const auto& u : *set) {
      audio += u.seconds;
      frames += static_cast<long>(u.frames);
      voiced += static_cast<long>(u.feats.rows());
    }
  drop_unvoiced(train, "training");
  drop_unvoiced(eval, "evaluation");
  if (train.empty() || eval.empty()) throw ivkit::Error("speaker_recipe: no utterance with voiced frames left");
  const double t_feat = times.stop("features");
  note("features: %s of audio, %ld frames, %.1f%% voiced, %ld dimensions (%.0f x real time)", hours(audio).c_str(), frames,
       100.0 * static_cast<double>(voiced) / std::max(1L, frames), static_cast<long>(front_end.dim()), audio / t_feat);

  // ---- 2. UBM
  const Ubm ubm = train_ubm(a, train, times);
  if (ubm.full) ivkit::save_full_gmm((fs::path(a.out) / "ubm_full.ivk").string(), *ubm.full);
  ivkit::save_diag_gmm((fs::path(a.out) / "ubm_diag.ivk").string(), ubm.diag);

  // ---- 3. statistics
  ivkit::Matrix<double> second_order;
  const bool var_update = a.update_variances;
  const ivkit::StatsSet<float> train_stats = compute_statistics(a, ubm, train, var_update ? &second_order : nullptr);
  const ivkit::StatsSet<float> eval_stats = compute_statistics(a, ubm, eval, nullptr);
  const double t_stats = times.stop("statistics");
  note("statistics: %zu + %zu utterances, top %ld Gaussians per frame, min-post %g (%.1f s)", train.size(), eval.size(),
       a.gselect, a.min_post, t_stats);

  // ---- 4. extractor
  const ivkit::IvectorExtractor<float> extractor = train_ivector_extractor(a, ubm, train_stats, var_update ? &second_order : nullptr);
  ivkit::save_ivector_extractor((fs::path(a.out) / "extractor.ivk").string(), extractor);
  times.stop("extractor training");

  // ---- 5. i-vectors
  ivkit::ExtractOptions xo;
  xo.num_threads = a.threads;
  xo.variances = false;
  const ivkit::Ivectors<float> iv_train = extractor.extract(train_stats, xo);
  const ivkit::Ivectors<float> iv_eval = extractor.extract(eval_stats, xo);
  write_ivectors((fs::path(a.out) / "ivectors_train").string(), iv_train.ids, iv_train.means);
  write_ivectors((fs::path(a.out) / "ivectors_eval").string(), iv_eval.ids, iv_eval.means);
  const double t_iv = times.stop("i-vector extraction");
  note("i-vectors: %zu train, %zu eval (%.1f s)", iv_train.ids.size(), iv_eval.ids.size(), t_iv);

  // ---- 6. back-end: centring, LDA, length norm, PLDA (trained on train)
  std::vector<std::string> train_speakers;
  for (const auto& u : train) train_speakers.push_back(u.speaker);
  std::vector<std::string> speaker_names;
  const std::vector<ivkit::Index> labels = ivkit::labels_from_names(train_speakers, &speaker_names);
  const long max_lda = std::min<long>(static_cast<long>(speaker_names.size()) - 1, a.ivector_dim);
  const long lda_dim = std::min(a.lda_dim, max_lda);
  if (lda_dim < a.lda_dim) note("back-end: LDA dimension %ld (of --lda-dim %ld: %zu training speakers, R = %ld)", lda_dim, a.lda_dim, speaker_names.size(), a.ivector_dim);
  ivkit::LdaOptions lo;
  lo.dim = lda_dim;
  ivkit::TransformPipeline<float> backend;
  backend.centre().lda(lo).length_norm();
  backend.fit(iv_train.means, labels);
  const ivkit::Matrix<float> train_lda = backend.apply(iv_train.means);
  ivkit::PldaTrainingOptions po;
  po.num_em_iters = a.plda_iters;
  const ivkit::Plda<float> plda = ivkit::train_plda<float>(train_lda, labels, po);
  backend.save((fs::path(a.out) / "backend.ivk").string());
  plda.save((fs::path(a.out) / "plda.ivk").string());
  const ivkit::Matrix<float> eval_lda = backend.apply(iv_eval.means);
  times.stop("back-end training");
  note("back-end: centring, LDA %ld -> %ld, length norm, PLDA on %zu utterances of %zu speakers", a.ivector_dim, lda_dim,
       train.size(), speaker_names.size());

  // ---- 7. scoring
  const ivkit::PldaScorer<float> scorer(plda);
  const auto plda_side = scorer.enrol(eval_lda);
  const auto plda_test = scorer.test(eval_lda);
  std::vector<TrialResult> results;
  const ivkit::DcfParams dcf01{0.01, 1, 1}, dcf05{0.05, 1, 1};
  std::vector<std::string> outputs;
  for (std::size_t k = 0; k < trial_lists.size(); ++k) {
    const std::string tname = fs::path(trial_paths[k]).filename().string();
    // Trials whose utterances have no i-vector (no voiced frame) are skipped, as Kaldi's scoring does.
    ivkit::Trials trials;
    TrialResult r;
    r.name = trial_paths[k];
    std::map<std::string, int> have;
    for (const auto& id : iv_eval.ids) have[id] = 1;
    const ivkit::Trials& all = trial_lists[k];
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (have.count(all.enrol[i]) && have.count(all.test[i])) trials.add(all.enrol[i], all.test[i], all.labels[i]);
      else ++r.skipped;
    }
    if (r.skipped) note("warning: %zu trials of '%s' name utterances without an i-vector; skipped", r.skipped, r.name.c_str());
    r.targets = trials.num_targets();
    r.nontargets = trials.num_nontargets();
    const ivkit::TrialIndices idx = ivkit::trial_indices(trials, iv_eval.ids, iv_eval.ids);
    std::vector<System> systems;
    systems.push_back({"PLDA (centre, LDA " + std::to_string(lda_dim) + ", length norm)", "plda",
                       scorer.score_trials(plda_side, plda_test, idx, ivkit::ThreadOptions{a.threads})});
    systems.push_back({"cosine, LDA " + std::to_string(lda_dim), "cosine_lda",
                       ivkit::cosine_score_trials<float>(eval_lda, eval_lda, idx, ivkit::ThreadOptions{a.threads})});
    systems.push_back({"cosine, raw i-vectors", "cosine_raw", ivkit::cosine_score_trials<float>(iv_eval.means, iv_eval.means, idx, ivkit::ThreadOptions{a.threads})});
    std::vector<ivkit::DetPlotSeries> curves;
    for (const auto& s : systems) {
      const ivkit::SortedScores sorted(ivkit::ScoreView(s.scores), trials.labels);
      const ivkit::EerResult e_kaldi = ivkit::eer(sorted, ivkit::EerConvention::Kaldi);
      const ivkit::EerResult e_hull = ivkit::eer(sorted, ivkit::EerConvention::Rocch);
      const ivkit::DcfResult m01 = ivkit::min_dcf(sorted, dcf01), m05 = ivkit::min_dcf(sorted, dcf05);
      char line[256];
      std::snprintf(line, sizeof line, "%-40s EER %6.2f%% (ROCCH %6.2f%%)  minDCF(0.01) %.4f  minDCF(0.05) %.4f", s.name.c_str(),
                    100 * e_kaldi.eer, 100 * e_hull.eer, m01.value, m05.value);
      r.lines.push_back(line);
      curves.push_back({s.name, ivkit::det_curve(sorted)});
      const std::string sp = (fs::path(a.out) / "scores" / (tname + "." + s.tag)).string();
      write_scores(sp, trials, s.scores);
    }
    ivkit::DetPlotOptions plot;
    plot.title = "speaker_recipe: " + tname + " (" + std::to_string(r.targets) + " target, " + std::to_string(r.nontargets) +
                 " non-target trials)";
    plot.max_percent = 60.0;
    plot.ticks_percent = {0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 40, 60};
    const std::string det = (fs::path(a.out) / ("det_" + tname + ".svg")).string();
    ivkit::write_det_svg(det, curves, plot);
    outputs.push_back(det);
    results.push_back(std::move(r));
  }
  times.stop("scoring");

  // ---- report
  std::ostringstream rep;
  rep << "ivkit speaker_recipe\n";
  rep << "train: " << a.train_dir << " (" << train.size() << " utterances, " << speaker_names.size() << " speakers)\n";
  rep << "eval:  " << a.eval_dir << " (" << eval.size() << " utterances)\n";
  rep << "features: MFCC " << a.num_ceps << " of " << a.num_mel_bins << " mel bins (" << a.low_freq << " to " << a.high_freq
      << " Hz), deltas window " << a.delta_window << ", sliding CMN " << a.cmn_window << ", VAD (" << a.vad_energy_threshold << ", "
      << a.vad_energy_mean_scale << ", " << a.vad_proportion_threshold << ", context " << a.vad_frames_context
      << "); D = " << front_end.dim() << "\n";
  rep << "UBM: " << a.num_gauss << " Gaussians, " << (ubm.full ? "full covariance" : "diagonal") << "; extractor R = " << a.ivector_dim
      << ", " << a.extractor_iters << " EM iterations (" << a.extractor_init << " init" << (var_update ? ", variance update" : "")
      << "); LDA " << lda_dim << ", PLDA\n";
  rep << "EER: Kaldi compute-eer convention (ROCCH: BOSARIS convex hull); minDCF(P_target) with C_miss = C_fa = 1, normalised\n";
  for (const auto& r : results) {
    rep << "\n" << r.name << ": " << r.targets << " target, " << r.nontargets << " non-target trials";
    if (r.skipped) rep << " (" << r.skipped << " skipped)";
    rep << "\n";
    for (const auto& l : r.lines) rep << "  " << l << "\n";
  }
  rep << "\ntimes:";
  double total = 0;
  for (const auto& [name, s] : times.items) {
    char b[96];
    std::snprintf(b, sizeof b, " %s %.1f s;", name.c_str(), s);
    rep << b;
    total += s;
  }
  char b[64];
  std::snprintf(b, sizeof b, " total %.1f s (%d threads)\n", since(g_start), hw);
  rep << b;
  const std::string results_path = (fs::path(a.out) / "results.txt").string();
  ivkit::write_file_atomically("speaker_recipe", results_path, rep.str());
  std::fputs(rep.str().c_str(), stdout);
  std::printf("\noutputs in %s/: results.txt, ", a.out.c_str());
  for (const auto& d : outputs) std::printf("%s, ", fs::path(d).filename().string().c_str());
  std::printf("scores/<trials>.{plda,cosine_lda,cosine_raw},\n  ivectors_{train,eval}.{ark,scp} (Kaldi), %subm_diag.ivk, extractor.ivk, "
              "backend.ivk, plda.ivk (ivkit models)\n",
              ubm.full ? "ubm_full.ivk, " : "");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "speaker_recipe: %s\n", e.what());
  return 1;
}
