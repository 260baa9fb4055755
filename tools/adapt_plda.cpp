// ivkit-adapt-plda: unsupervised adaptation of a PLDA model to unlabelled in-domain embeddings, as
// Kaldi's ivector-adapt-plda (PldaUnsupervisedAdaptor): the mean moves to the in-domain mean, and
// where the in-domain covariance exceeds the model's, the excess goes to the within-class and
// between-class covariances.
#include <string>

#include <ivkit/backend/plda_adapt.hpp>
#include <ivkit/io/kaldi_matrix.hpp>

#include "common/cli.hpp"
#include "common/ivectors.hpp"
#include "common/models.hpp"

using namespace ivkit_tools;
using ivkit::detail::message;

int main(int argc, char** argv) {
  Tool tool("ivkit-adapt-plda",
            "Adapts a PLDA model to unlabelled in-domain embeddings, as Kaldi's ivector-adapt-plda: the model's mean becomes the "
            "in-domain mean; in the directions where the in-domain total covariance (plus --mean-diff-scale times the mean shift's outer "
            "product) exceeds the model's, the excess is added to the within-class covariance (--within-covar-scale) and the "
            "between-class covariance (--between-covar-scale). The embeddings are used as given, or after --mean and --transform (the "
            "same preparation as ivkit-score-trials').",
            "  ivkit-adapt-plda exp/backend/plda scp:exp/ivectors_indomain/ivector.scp exp/backend/plda_adapt\n"
            "  ivkit-adapt-plda --mean mean.vec --transform transform.mat --kaldi-format plda scp:ivectors_dev.scp plda_adapt");
  std::string plda_in, ivectors, plda_out, mean_path, transform_path;
  ivkit::PldaAdaptationOptions ao;
  bool kaldi_format = false, binary = true;
  auto& app = tool.app();
  app.add_option("plda", plda_in, "the PLDA model (ivkit file or Kaldi's plda)")->required();
  app.add_option("ivectors-rspecifier", ivectors, "in-domain embeddings, no labels needed")->required();
  app.add_option("plda-out", plda_out, "the adapted model")->required();
  app.add_option("--within-covar-scale", ao.within_covar_scale, "share of the excess variance added to the within-class covariance")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--between-covar-scale", ao.between_covar_scale, "share added to the between-class covariance")->check(CLI::NonNegativeNumber);
  app.add_option("--mean-diff-scale", ao.mean_diff_scale, "weight of the mean shift's outer product in the in-domain covariance")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mean", mean_path, "a vector (Kaldi's mean.vec) subtracted from the embeddings first");
  app.add_option("--transform", transform_path, "an embedding transform applied next (ivkit pipeline, or a Kaldi matrix then length sqrt(dim))");
  app.add_flag("--kaldi-format", kaldi_format, "write Kaldi's <Plda> (default: ivkit's format)");
  app.add_option("--binary", binary, "with --kaldi-format: binary (true) or text (false)");

  return tool.run(argc, argv, [&] {
    if (!app.get_option("--binary")->empty() && !kaldi_format) throw UsageError("--binary applies to --kaldi-format output only");
    const Plda model = read_plda(plda_in);
    const IvectorTable table = read_ivectors(ivectors);
    ivkit::Matrix<float> x = table.vectors;
    if (!mean_path.empty()) {
      const ivkit::Vector<float> mean = ivkit::read_kaldi_vector<float>(mean_path);
      if (mean.size() != x.cols())
        throw ivkit::DimensionMismatch(message("the mean '", mean_path, "' has dimension ", mean.size(), " but the embeddings ", x.cols()));
      x.rowwise() -= mean.transpose();
    }
    if (!transform_path.empty()) x = read_transform(transform_path, x.cols()).apply(x);
    if (x.cols() != model.dim())
      throw ivkit::DimensionMismatch(message("the PLDA model '", plda_in, "' has dimension ", model.dim(), " but the embeddings",
                                             transform_path.empty() ? "" : " after the transform", " have dimension ", x.cols()));
    ivkit::PldaAdaptor adaptor;
    adaptor.add(x);
    const Plda adapted = adaptor.adapt(model, ao);
    write_plda(plda_out, adapted, OutputFormat{kaldi_format, binary});
    tool.info("adapted '", plda_in, "' to ", table.size(), " embeddings of '", ivectors, "'; wrote '", plda_out, "'");
  });
}
