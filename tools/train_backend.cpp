// ivkit-train-backend: the back-end of an i-vector system from labelled i-vectors: a transform
// pipeline (by default centring, LDA and length normalisation, as Kaldi's ivector-mean,
// ivector-compute-lda and ivector-normalize-length) and a two-covariance PLDA model trained on its
// output (ivector-compute-plda).
#include <string>
#include <vector>

#include <ivkit/backend/plda_train.hpp>

#include "common/cli.hpp"
#include "common/ivectors.hpp"
#include "common/models.hpp"
#include "common/text_tables.hpp"

using namespace ivkit_tools;
using ivkit::Index;
using ivkit::Matrix;

namespace {

// "center,lda,length-norm" -> stages. lda[:dim], pca[:dim], whiten[:dim], wccn, center, length-norm.
Pipeline parse_pipeline(const std::string& spec, Index lda_dim, double total_cov_factor, bool sqrt_dim_length) {
  Pipeline p;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t end = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, end - start);
    start = end + 1;
    const std::size_t colon = item.find(':');
    std::string name = item.substr(0, colon);
    Index dim = -1;
    if (colon != std::string::npos) {
      try {
        std::size_t used = 0;
        dim = static_cast<Index>(std::stol(item.substr(colon + 1), &used));
        if (used != item.size() - colon - 1 || dim < 0) throw std::invalid_argument("dim");
      } catch (const std::exception&) {
        throw UsageError("--pipeline: '" + item + "' has a bad dimension (expected e.g. lda:150)");
      }
    }
    if (name == "centre") name = "center";  // both spellings on the command line
    if ((name == "center" || name == "wccn" || name == "length-norm") && dim >= 0)
      throw UsageError("--pipeline: '" + item + "' takes no dimension");
    if (name == "center") {
      p.centre();
    } else if (name == "lda") {
      ivkit::LdaOptions o;
      o.dim = dim >= 0 ? dim : lda_dim;
      o.total_covariance_factor = total_cov_factor;
      p.lda(o);
    } else if (name == "pca") {
      ivkit::PcaOptions o;
      o.dim = dim >= 0 ? dim : 0;
      p.pca(o);
    } else if (name == "whiten") {
      ivkit::WhitenOptions o;
      o.dim = dim >= 0 ? dim : 0;
      p.whiten(o);
    } else if (name == "wccn") {
      p.wccn();
    } else if (name == "length-norm") {
      p.length_norm(ivkit::LengthNormOptions{sqrt_dim_length});
    } else {
      throw UsageError("--pipeline: unknown stage '" + item + "' (center, lda[:dim], pca[:dim], whiten[:dim], wccn, length-norm)");
    }
    if (end == spec.size()) break;
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-train-backend",
            "Trains the back-end on labelled i-vectors: a transform pipeline fitted stage by stage (default: centring, LDA to --lda-dim, "
            "length normalisation; Kaldi's ivector-mean, ivector-compute-lda, ivector-normalize-length) and a two-covariance PLDA model "
            "on the pipeline's output (ivector-compute-plda). Speakers come from --utt2spk or --spk2utt; i-vectors without a speaker, and "
            "listed utterances without an i-vector, are skipped with a warning.",
            "  ivkit-train-backend --utt2spk data/train/utt2spk --lda-dim 200 scp:exp/ivectors_train/ivector.scp exp/backend/transform.ivk \\\n"
            "      exp/backend/plda.ivk\n"
            "  ivkit-train-backend --spk2utt data/train/spk2utt --pipeline center,lda:150,length-norm --kaldi-format \\\n"
            "      scp:ivector.scp transform.mat plda");
  std::string ivectors, transform_out, plda_out, utt2spk, spk2utt, pipeline_spec = "center,lda,length-norm", length_norm_scale;
  Index lda_dim = 200;
  double total_cov_factor = 0.0, smoothing = 0.0;
  int plda_iters = 10;
  bool kaldi_format = false, binary = true;
  auto& app = tool.app();
  app.add_option("ivectors-rspecifier", ivectors, "training i-vectors, e.g. scp:exp/ivectors_train/ivector.scp")->required();
  app.add_option("transform-out", transform_out, "the fitted transform pipeline")->required();
  app.add_option("plda-out", plda_out, "the PLDA model")->required();
  auto* o_u2s = app.add_option("--utt2spk", utt2spk, "speaker of each utterance (utt2spk)");
  auto* o_s2u = app.add_option("--spk2utt", spk2utt, "utterances of each speaker (spk2utt)");
  o_u2s->excludes(o_s2u);
  app.add_option("--pipeline", pipeline_spec, "comma-separated stages: center, lda[:dim], pca[:dim], whiten[:dim], wccn, length-norm");
  app.add_option("--lda-dim", lda_dim, "dimension of lda stages without their own (0 = as many as the data support)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--total-covariance-factor", total_cov_factor, "LDA: interpolate the within-class towards the total covariance (Kaldi's option)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--plda-iters", plda_iters, "PLDA EM iterations (Kaldi's --num-em-iters)")->check(CLI::NonNegativeNumber);
  app.add_option("--plda-smoothing", smoothing, "add this times the between-class to the within-class covariance (ivector-copy-plda --smoothing)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--length-norm-scale", length_norm_scale,
                 "length of the length-norm stage's output: unit, or sqrt-dim (Kaldi's ivector-normalize-length); default sqrt-dim with "
                 "--kaldi-format, unit otherwise")
      ->check(CLI::IsMember({"unit", "sqrt-dim"}));
  app.add_flag("--kaldi-format", kaldi_format,
               "write Kaldi's formats: the affine stages as one [A | b] matrix (apply ivector-normalize-length after it) and Kaldi's <Plda>");
  app.add_option("--binary", binary, "with --kaldi-format: binary (true) or text (false)");
  tool.add_threads_option("(no effect: the back-end trains in a few matrix operations)");

  return tool.run(argc, argv, [&] {
    if (utt2spk.empty() && spk2utt.empty()) throw UsageError("give the speakers with --utt2spk or --spk2utt");
    if (!app.get_option("--binary")->empty() && !kaldi_format) throw UsageError("--binary applies to --kaldi-format output only");
    if (length_norm_scale.empty()) length_norm_scale = kaldi_format ? "sqrt-dim" : "unit";
    if (kaldi_format && length_norm_scale != "sqrt-dim")
      throw UsageError("--kaldi-format needs --length-norm-scale sqrt-dim: Kaldi's recipes (and ivkit reading a Kaldi transform) follow the "
                       "matrix with ivector-normalize-length, which scales to sqrt(dim), so the PLDA must be trained on such vectors");
    Pipeline pipeline = parse_pipeline(pipeline_spec, lda_dim, total_cov_factor, length_norm_scale == "sqrt-dim");
    const SpeakerMap spk = utt2spk.empty() ? read_spk2utt(spk2utt) : read_utt2spk(utt2spk);
    const IvectorTable table = read_ivectors(ivectors);
    std::vector<Index> rows, labels;
    std::size_t unlabelled = 0;
    std::string first_unlabelled;
    for (Index i = 0; i < table.size(); ++i) {
      const auto it = spk.utterance_speaker.find(table.ids[static_cast<std::size_t>(i)]);
      if (it == spk.utterance_speaker.end()) {
        if (unlabelled++ == 0) first_unlabelled = table.ids[static_cast<std::size_t>(i)];
        continue;
      }
      rows.push_back(i);
      labels.push_back(static_cast<Index>(it->second));
    }
    if (rows.empty())
      throw ivkit::InvalidArgument(ivkit::detail::message("no i-vector of '", ivectors, "' has a speaker in '", spk.source, "' (first key '",
                                                          table.ids.front(), "')"));
    if (unlabelled > 0)
      tool.warn(unlabelled, " i-vectors of '", ivectors, "' have no speaker in '", spk.source, "' and are skipped (first '", first_unlabelled, "')");
    if (spk.num_utterances() > rows.size())
      tool.warn(spk.num_utterances() - rows.size(), " utterances of '", spk.source, "' have no i-vector in '", ivectors, "'");
    // Speakers renumbered densely over the ones that have i-vectors.
    std::vector<Index> dense(spk.speakers.size(), -1);
    Index num_speakers = 0;
    for (auto& l : labels) {
      if (dense[static_cast<std::size_t>(l)] < 0) dense[static_cast<std::size_t>(l)] = num_speakers++;
      l = dense[static_cast<std::size_t>(l)];
    }
    Matrix<float> x(static_cast<Index>(rows.size()), table.dim());
    for (std::size_t i = 0; i < rows.size(); ++i) x.row(static_cast<Index>(i)) = table.vectors.row(rows[i]);
    tool.info(x.rows(), " i-vectors of dimension ", x.cols(), " from ", num_speakers, " speakers");

    const Matrix<float> y = pipeline.fit_transform(x, labels);
    std::string stages;
    for (const auto& s : pipeline.stages()) {
      stages += stages.empty() ? "" : " -> ";
      stages += s.name();
      if (s.is_affine()) stages += ivkit::detail::message(" (", s.out_dim(), ")");
    }
    tool.info("pipeline fitted: ", stages);
    ivkit::PldaTrainingOptions po;
    po.num_em_iters = plda_iters;
    ivkit::PldaTrainingReport report;
    Plda plda = ivkit::train_plda<float>(y, labels, po, &report);
    if (smoothing > 0) plda.smooth_within_class_covariance(smoothing);
    tool.info("PLDA (dimension ", plda.dim(), ") trained by ", plda_iters, " EM iterations",
              report.objective.empty() ? std::string() : ivkit::detail::message(", objective ", report.objective.back(), " per i-vector"),
              "; largest between-class variance ", plda.psi()(0));
    const OutputFormat f{kaldi_format, binary};
    write_transform(transform_out, pipeline, f);
    write_plda(plda_out, plda, f);
    tool.info("wrote '", transform_out, "' and '", plda_out, "' (", kaldi_format ? "Kaldi" : "ivkit", " format)");
  });
}
