// Fuzz harness: ivkit's model container (ivkit/core/serialise.hpp ModelReader from bytes, every
// accessor) and every model kind stored in it: the back-end models (Plda, SimplifiedPlda,
// TransformPipeline, LinearCalibration), GMMs and i-vector extractors (io/model_files.hpp) and the
// accumulator files (io/accumulator_files.hpp); float and double. A loaded model must save to bytes that load again and save
// to the same bytes, and must be usable: a loaded pipeline or PLDA applied to finite data may throw
// an ivkit::Error but never crash.
#include <cstdint>
#include <limits>

#include "harness.hpp"
#include "ivkit/backend/calibration.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/plda_scoring.hpp"
#include "ivkit/backend/simplified_plda.hpp"
#include "ivkit/backend/transform_pipeline.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/io/accumulator_files.hpp"
#include "ivkit/io/model_files.hpp"

namespace {

using ivkit_fuzz::attempt;

// The kind named in the header, when the bytes hold one, so that any kind reaches the records.
std::string kind_of(const std::string& b) {
  if (b.size() < 20) return "";
  std::uint64_t n = 0;
  std::memcpy(&n, b.data() + 12, 8);
  return n <= b.size() - 20 ? b.substr(20, static_cast<std::size_t>(n)) : std::string();
}

void container(const std::string& bytes) {
  const ivkit::ModelReader r(bytes, "fuzz.ivk", kind_of(bytes), std::numeric_limits<std::uint32_t>::max());
  // The record names of the seeds; each accessor on each, whatever its type.
  for (const char* name : {"dim", "scale", "note", "m", "v", "weights", "offset", "prior", "mean", "transform", "psi", "stages"}) {
    attempt([&] { (void)r.offset_of(name); });
    attempt([&] { (void)r.integer(name); });
    attempt([&] { (void)r.real(name); });
    attempt([&] { (void)r.text(name); });
    attempt([&] { (void)r.matrix<float>(name); });
    attempt([&] { (void)r.matrix<double>(name); });
    attempt([&] { (void)r.vector<double>(name); });
    attempt([&] { (void)r.vector<float>(name, 3); });
    attempt([&] { (void)r.matrix<double>(name, 2, 3); });
  }
}

template <class S>
void plda(const std::string& bytes) {
  const auto p = ivkit::Plda<S>::from_bytes(bytes, "fuzz.ivk");
  const std::string b = p.to_bytes();
  ivkit_fuzz::must_succeed("reloading a saved Plda", [&] {
    ivkit_fuzz::require(ivkit::Plda<S>::from_bytes(b, "again.ivk").to_bytes() == b, "Plda save/load round trip");
  });
  attempt([&] {
    const ivkit::PldaScorer<S> scorer(p);
    const ivkit::Matrix<S> x = ivkit::Matrix<S>::Ones(2, p.dim());
    (void)scorer.score_matrix(scorer.enrol(x), scorer.test(x));
  });
}

template <class S>
void simplified_plda(const std::string& bytes) {
  const auto p = ivkit::SimplifiedPlda<S>::from_bytes(bytes, "fuzz.ivk");
  const std::string b = p.to_bytes();
  ivkit_fuzz::must_succeed("reloading a saved SimplifiedPlda", [&] {
    ivkit_fuzz::require(ivkit::SimplifiedPlda<S>::from_bytes(b, "again.ivk").to_bytes() == b, "SimplifiedPlda save/load round trip");
  });
  attempt([&] { (void)p.to_plda(); });
}

template <class S>
void pipeline(const std::string& bytes) {
  using P = ivkit::TransformPipeline<S>;
  const P p = P::read(ivkit::ModelReader(bytes, "fuzz.ivk", P::kFileKind, P::kFileVersion));
  ivkit::ModelWriter w(P::kFileKind, P::kFileVersion);
  p.write(w);
  const std::string b = w.bytes();
  ivkit_fuzz::must_succeed("reloading a saved TransformPipeline", [&] {
    ivkit::ModelWriter w2(P::kFileKind, P::kFileVersion);
    P::read(ivkit::ModelReader(b, "again.ivk", P::kFileKind, P::kFileVersion)).write(w2);
    ivkit_fuzz::require(w2.bytes() == b, "TransformPipeline save/load round trip");
  });
  if (p.in_dim() > 0) attempt([&] { (void)p.apply(ivkit::Matrix<S>::Ones(2, p.in_dim())); });
}

void calibration(const std::string& bytes) {
  const auto c = ivkit::LinearCalibration::from_bytes(bytes, "fuzz.ivk");
  const std::string b = c.to_bytes();
  ivkit_fuzz::must_succeed("reloading a saved LinearCalibration", [&] {
    ivkit_fuzz::require(ivkit::LinearCalibration::from_bytes(b, "again.ivk").to_bytes() == b, "LinearCalibration save/load round trip");
  });
}

// A kind of io/model_files.hpp or io/accumulator_files.hpp: read, write, read the written bytes,
// write again: the two writes must be equal.
template <class Read, class Write>
void kind_round_trip(const std::string& bytes, const char* kind, std::uint32_t version, Read read, Write write) {
  const auto value = read(ivkit::ModelReader(bytes, "fuzz.ivk", kind, version));
  ivkit_fuzz::must_succeed(kind, [&] {
    const std::string b = write(value).bytes();
    ivkit_fuzz::require(write(read(ivkit::ModelReader(b, "again.ivk", kind, version))).bytes() == b, kind);
  });
}

template <class S>
void model_files(const std::string& bytes) {
  const std::string kind = kind_of(bytes);
  if (kind == "DiagGmm")
    kind_round_trip(bytes, "DiagGmm", ivkit::detail::kGmmFileVersion, [](const ivkit::ModelReader& r) { return ivkit::read_diag_gmm<S>(r); },
                    [](const auto& g) { return ivkit::write_diag_gmm(g); });
  if (kind == "FullGmm")
    kind_round_trip(bytes, "FullGmm", ivkit::detail::kGmmFileVersion, [](const ivkit::ModelReader& r) { return ivkit::read_full_gmm<S>(r); },
                    [](const auto& g) { return ivkit::write_full_gmm(g); });
  if (kind == "IvectorExtractor")
    kind_round_trip(bytes, "IvectorExtractor", ivkit::detail::kExtractorFileVersion,
                    [](const ivkit::ModelReader& r) { return ivkit::read_ivector_extractor<S>(r); },
                    [](const auto& e) { return ivkit::write_ivector_extractor(e); });
}

void accumulator_files(const std::string& bytes) {
  const std::string kind = kind_of(bytes);
  if (kind == "EmAccumulator")
    kind_round_trip(bytes, "EmAccumulator", ivkit::detail::kAccumulatorFileVersion, [](const ivkit::ModelReader& r) { return ivkit::read_em_accumulator(r); },
                    [](const auto& a) { return ivkit::write_em_accumulator(a); });
  if (kind == "IvectorTrainerStats")
    kind_round_trip(bytes, "IvectorTrainerStats", ivkit::detail::kAccumulatorFileVersion,
                    [](const ivkit::ModelReader& r) { return ivkit::read_ivector_trainer_stats(r); },
                    [](const auto& a) { return ivkit::write_ivector_trainer_stats(a); });
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  attempt([&] { container(bytes); });
  attempt([&] { plda<float>(bytes); });
  attempt([&] { plda<double>(bytes); });
  attempt([&] { simplified_plda<float>(bytes); });
  attempt([&] { simplified_plda<double>(bytes); });
  attempt([&] { pipeline<float>(bytes); });
  attempt([&] { pipeline<double>(bytes); });
  attempt([&] { calibration(bytes); });
  attempt([&] { model_files<float>(bytes); });
  attempt([&] { model_files<double>(bytes); });
  attempt([&] { accumulator_files(bytes); });
}
