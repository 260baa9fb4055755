// Writes the small data folders the end-to-end tests of the command-line tools run on: features
// drawn from speaker-dependent GMMs (a known base mixture whose means move by a speaker offset in a
// low-dimensional subspace, plus a smaller session offset and frame noise), in Kaldi's formats.
//
//   make_tool_data OUT [--seed S]
//   make_tool_data OUT --many N [--frames F] [--seed S]
//   make_tool_data OUT --trials N [--seed S]
//   make_tool_data --peak-rss COMMAND [ARGS...]
//
//   OUT/train/{feats.ark,feats.scp,utt2spk,spk2utt}   40 speakers x 8 utterances (UBM, extractor, back-end)
//   OUT/enrol/{feats.ark,feats.scp,utt2spk,spk2utt}   24 other speakers x 2 utterances
//   OUT/test/{feats.ark,feats.scp,utt2spk}            the same 24 speakers x 3 utterances
//   OUT/trials                                        every enrolment speaker against every test utterance
//   OUT/conv/{feats.ark,feats.scp,ref.rttm,reco2num_spk}  six conversations of 2 to 4 of those speakers
//
// With --many: only OUT/{feats.ark,feats.scp}, N short utterances of F frames (default 20) each, keys
// utt0000000, utt0000001, ... (all of one length), from 100 speakers of the same world (the scale test).
// With --trials: only OUT/trials (Kaldi format) and OUT/scores (the same pairs in the same order), N
// lines each, written as they are drawn: 10% targets scoring N(2, 1.5^2), non-targets N(-1, 1.5^2).
// With --peak-rss: runs COMMAND (its stdout sent to stderr), prints its peak resident memory in KiB
// (ru_maxrss) on stdout and exits with its status (as GNU time's %M; a small process: the peak of the
// process that execs COMMAND is part of the figure, which rules out a python3 wrapper's 10+ MiB).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivkit/core/random.hpp>
#include <ivkit/io/kaldi_writer.hpp>

namespace {

using ivkit::Index;
using Mat = Eigen::MatrixXd;

constexpr Index kDim = 12, kComponents = 8, kSpeakerRank = 4, kSessionRank = 2;

struct World {
  Eigen::VectorXd weights;
  Mat means, stddev;                 // K x D
  std::vector<Mat> speaker, session;  // per component: D x rank
};

World make_world(ivkit::Random& rng) {
  World w;
  w.weights.resize(kComponents);
  w.means.resize(kComponents, kDim);
  w.stddev.resize(kComponents, kDim);
  for (Index c = 0; c < kComponents; ++c) {
    w.weights(c) = 0.5 + rng.uniform();
    for (Index d = 0; d < kDim; ++d) {
      w.means(c, d) = 3.0 * rng.normal();
      w.stddev(c, d) = std::sqrt(0.5 + rng.uniform());
    }
    Mat v(kDim, kSpeakerRank), u(kDim, kSessionRank);
    for (Index i = 0; i < v.size(); ++i) v.data()[i] = 0.5 * rng.normal();
    for (Index i = 0; i < u.size(); ++i) u.data()[i] = 0.2 * rng.normal();
    w.speaker.push_back(v);
    w.session.push_back(u);
  }
  w.weights /= w.weights.sum();
  return w;
}

// An utterance of `frames` frames (0: a random length of 150 to 300).
ivkit::Matrix<float> utterance(const World& w, const Eigen::VectorXd& spk, ivkit::Random& rng, Index frames = 0) {
  Eigen::VectorXd sess(kSessionRank);
  for (Index i = 0; i < kSessionRank; ++i) sess(i) = rng.normal();
  const Index n = frames > 0 ? frames : 150 + static_cast<Index>(rng.uniform_index(151));
  ivkit::Matrix<float> x(n, kDim);
  for (Index t = 0; t < n; ++t) {
    double u = rng.uniform(), acc = 0;
    Index c = 0;
    for (; c < kComponents - 1; ++c) {
      acc += w.weights(c);
      if (u < acc) break;
    }
    const Eigen::VectorXd mean = w.means.row(c).transpose() + w.speaker[static_cast<std::size_t>(c)] * spk +
                                 w.session[static_cast<std::size_t>(c)] * sess;
    for (Index d = 0; d < kDim; ++d) x(t, d) = static_cast<float>(mean(d) + w.stddev(c, d) * rng.normal());
  }
  return x;
}

struct Speaker {
  std::string id;
  Eigen::VectorXd factors;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) {
    std::fprintf(stderr, "make_tool_data: cannot write '%s'\n", path.c_str());
    std::exit(1);
  }
}

// Writes utterances `first .. first + count - 1` of each speaker; returns the utterance ids per speaker.
std::vector<std::vector<std::string>> write_set(const std::string& dir, const World& w, const std::vector<Speaker>& speakers, int first,
                                                int count, ivkit::Random& rng, bool spk2utt) {
  std::filesystem::create_directories(dir);
  const std::string ark = std::filesystem::absolute(dir + "/feats.ark").string();
  const std::string scp = std::filesystem::absolute(dir + "/feats.scp").string();
  ivkit::KaldiWriter<ivkit::Matrix<float>> out("ark,scp:" + ark + "," + scp);
  std::string u2s, s2u;
  std::vector<std::vector<std::string>> ids;
  for (const auto& s : speakers) {
    ids.emplace_back();
    s2u += s.id;
    for (int k = first; k < first + count; ++k) {
      const std::string utt = s.id + "-utt" + std::to_string(k);
      out.write(utt, utterance(w, s.factors, rng));
      u2s += utt + " " + s.id + "\n";
      s2u += " " + utt;
      ids.back().push_back(utt);
    }
    s2u += "\n";
  }
  out.close();
  write_text(dir + "/utt2spk", u2s);
  if (spk2utt) write_text(dir + "/spk2utt", s2u);
  return ids;
}

int peak_rss(char** command) {
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("make_tool_data: fork");
    return 1;
  }
  if (pid == 0) {
    dup2(2, 1);  // the figure is the only thing on stdout; COMMAND's output goes to stderr
    execvp(command[0], command);
    std::perror(command[0]);
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid) {
    std::perror("make_tool_data: wait4");
    return 1;
  }
  std::printf("%ld\n", static_cast<long>(usage.ru_maxrss));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

// Six conversations of 2 to 4 of the evaluation speakers (not in train/) taking turns of 1 to 3 s
// (100 frames a second), back to back; each turn a new session. OUT/{feats.ark,feats.scp} (one
// matrix per recording), OUT/ref.rttm and OUT/reco2num_spk.
void write_conversations(const std::string& out, const World& w, const std::vector<Speaker>& speakers, ivkit::Random& rng) {
  std::filesystem::create_directories(out);
  const std::string ark = std::filesystem::absolute(out + "/feats.ark").string();
  const std::string scp = std::filesystem::absolute(out + "/feats.scp").string();
  ivkit::KaldiWriter<ivkit::Matrix<float>> table("ark,scp:" + ark + "," + scp);
  std::string rttm, reco2num;
  char line[160];
  for (int r = 0; r < 6; ++r) {
    const std::string rec = "conv" + std::to_string(r);
    const Index n = 2 + static_cast<Index>(rng.uniform_index(3));
    std::vector<std::size_t> who;
    while (static_cast<Index>(who.size()) < n) {
      const std::size_t s = static_cast<std::size_t>(rng.uniform_index(speakers.size()));
      if (std::find(who.begin(), who.end(), s) == who.end()) who.push_back(s);
    }
    std::vector<ivkit::Matrix<float>> parts;
    Index total = 0;
    std::size_t current = 0;
    for (int turn = 0; turn < 6 * n; ++turn) {
      if (turn > 0) current = (current + 1 + static_cast<std::size_t>(rng.uniform_index(static_cast<std::uint64_t>(n - 1)))) % who.size();
      if (turn < n) current = static_cast<std::size_t>(turn);  // everyone speaks early on
      const Index frames = 100 + static_cast<Index>(rng.uniform_index(201));
      parts.push_back(utterance(w, speakers[who[current]].factors, rng, frames));
      std::snprintf(line, sizeof line, "SPEAKER %s 1 %.2f %.2f <NA> <NA> %s <NA> <NA>\n", rec.c_str(), 0.01 * static_cast<double>(total),
                    0.01 * static_cast<double>(frames), speakers[who[current]].id.c_str());
      rttm += line;
      total += frames;
    }
    ivkit::Matrix<float> x(total, kDim);
    Index at = 0;
    for (const auto& p : parts) {
      x.middleRows(at, p.rows()) = p;
      at += p.rows();
    }
    table.write(rec, x);
    reco2num += rec + " " + std::to_string(n) + "\n";
  }
  table.close();
  write_text(out + "/ref.rttm", rttm);
  write_text(out + "/reco2num_spk", reco2num);
}

int write_trials_and_scores(const std::string& out, long long n, ivkit::Random& rng) {
  std::filesystem::create_directories(out);
  std::FILE* trials = std::fopen((out + "/trials").c_str(), "w");
  std::FILE* scores = std::fopen((out + "/scores").c_str(), "w");
  if (!trials || !scores) {
    std::perror("make_tool_data --trials");
    return 1;
  }
  for (long long i = 0; i < n; ++i) {
    const bool target = rng.uniform() < 0.1;
    const unsigned enrol = static_cast<unsigned>(rng.uniform_index(1000));
    const unsigned test = target ? enrol : static_cast<unsigned>(rng.uniform_index(1000));
    const double score = (target ? 2.0 : -1.0) + 1.5 * rng.normal();
    std::fprintf(trials, "spk%04u-%08lld spk%04u-%08lld %s\n", enrol, i, test, i + 1, target ? "target" : "nontarget");
    std::fprintf(scores, "spk%04u-%08lld spk%04u-%08lld %.6f\n", enrol, i, test, i + 1, score);
  }
  const bool ok = std::fclose(trials) == 0 && std::fclose(scores) == 0;
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--peak-rss") return peak_rss(argv + 2);
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: make_tool_data OUT [--seed S]\n       make_tool_data OUT --many N [--frames F] [--seed S]\n"
                 "       make_tool_data OUT --trials N [--seed S]\n"
                 "       make_tool_data --peak-rss COMMAND [ARGS...]\n");
    return 2;
  };
  if (argc < 2 || argc % 2 != 0) return usage();
  const std::string out = argv[1];
  std::uint64_t seed = 20240531;
  long long many = 0, frames = 20, num_trials = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    char* end = nullptr;
    const unsigned long long v = std::strtoull(argv[i + 1], &end, 10);
    if (end == argv[i + 1] || *end != '\0') return usage();
    if (opt == "--seed") seed = v;
    else if (opt == "--many" && v > 0) many = static_cast<long long>(v);
    else if (opt == "--frames" && v > 0) frames = static_cast<long long>(v);
    else if (opt == "--trials" && v > 0) num_trials = static_cast<long long>(v);
    else return usage();
  }
  ivkit::Random rng(seed);
  if (num_trials > 0) return write_trials_and_scores(out, num_trials, rng);
  const World w = make_world(rng);
  auto make_speakers = [&](const char* prefix, int n) {
    std::vector<Speaker> s;
    for (int i = 0; i < n; ++i) {
      Speaker sp;
      char id[32];
      std::snprintf(id, sizeof id, "%s%03d", prefix, i);
      sp.id = id;
      sp.factors.resize(kSpeakerRank);
      for (Index r = 0; r < kSpeakerRank; ++r) sp.factors(r) = rng.normal();
      s.push_back(sp);
    }
    return s;
  };
  if (many > 0) {
    // Keys, speakers and sizes without the per-speaker bookkeeping of write_set: the output is
    // written as it is generated (nothing grows with N).
    const auto speakers = make_speakers("big", 100);
    std::filesystem::create_directories(out);
    const std::string ark = std::filesystem::absolute(out + "/feats.ark").string();
    const std::string scp = std::filesystem::absolute(out + "/feats.scp").string();
    ivkit::KaldiWriter<ivkit::Matrix<float>> table("ark,scp:" + ark + "," + scp);
    char key[32];
    for (long long i = 0; i < many; ++i) {
      std::snprintf(key, sizeof key, "utt%07lld", i);
      table.write(key, utterance(w, speakers[static_cast<std::size_t>(i % 100)].factors, rng, static_cast<Index>(frames)));
    }
    table.close();
    std::printf("make_tool_data: wrote %s/{feats.ark,feats.scp} (%lld utterances of %lld frames)\n", out.c_str(), many, frames);
    return 0;
  }
  const auto train = make_speakers("trn", 40);
  const auto eval = make_speakers("spk", 24);
  write_set(out + "/train", w, train, 0, 8, rng, true);
  write_set(out + "/enrol", w, eval, 0, 2, rng, true);
  const auto test_ids = write_set(out + "/test", w, eval, 2, 3, rng, false);
  std::string trials;
  for (std::size_t e = 0; e < eval.size(); ++e)
    for (std::size_t s = 0; s < eval.size(); ++s)
      for (const auto& utt : test_ids[s]) trials += eval[e].id + " " + utt + (e == s ? " target\n" : " nontarget\n");
  write_text(out + "/trials", trials);
  write_conversations(out + "/conv", w, eval, rng);
  std::printf("make_tool_data: wrote %s/{train,enrol,test,trials,conv}\n", out.c_str());
  return 0;
}
