// Writes the seed corpora of the fuzz harnesses: small valid inputs of every format and variant a
// reader accepts, made with ivkit's own writers or byte by byte as the other programs write them.
//
//     cmake --build <build> --target fuzz_make_corpus && <build>/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
//
// Deterministic: the same files every time. Crash reproducers found by fuzzing are added to the
// corpus folders by hand (named crash-<what>) and are not touched by this program.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ivkit/backend/calibration.hpp"
#include "ivkit/backend/plda.hpp"
#include "ivkit/backend/simplified_plda.hpp"
#include "ivkit/backend/transform_pipeline.hpp"
#include "ivkit/core/random.hpp"
#include "ivkit/core/serialise.hpp"
#include "ivkit/eval/trials.hpp"
#include "ivkit/io/accumulator_files.hpp"
#include "ivkit/io/kaldi_gmm.hpp"
#include "ivkit/io/kaldi_gselect.hpp"
#include "ivkit/io/kaldi_posterior.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_ivector_extractor.hpp"
#include "ivkit/io/kaldi_matrix.hpp"
#include "ivkit/io/kaldi_plda.hpp"
#include "ivkit/io/kaldi_transform.hpp"
#include "ivkit/io/kaldi_writer.hpp"
#include "ivkit/io/model_files.hpp"
#include "ivkit/io/npy.hpp"
#include "ivkit/io/npz.hpp"

namespace {

namespace fs = std::filesystem;
using ivkit::Index;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

fs::path g_root;
int g_count = 0;

void put(const std::string& reader, const std::string& name, const std::string& bytes) {
  const fs::path dir = g_root / reader;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
  ++g_count;
}

std::string u16(unsigned v) { return {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff)}; }
std::string u32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
std::string u64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
template <class T>
std::string raw(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(&s[0], &v, sizeof(T));
  return s;
}
template <class T>
std::string raw_be(T v) {
  std::string s = raw(v);
  return std::string(s.rbegin(), s.rend());
}

MatD counting(Index rows, Index cols, double scale = 0.5) {
  MatD m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = scale * static_cast<double>(i * cols + j) - 1.0;
  return m;
}

// ---- .npy ---------------------------------------------------------------------------------------

/// A .npy file with the header dict as given, padded as NumPy pads (to 64 bytes), any version.
std::string npy_file(int major, const std::string& dict, const std::string& data) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  out += major == 1 ? u16(static_cast<unsigned>(header.size())) : u32(static_cast<std::uint32_t>(header.size()));
  return out + header + data;
}

void npy_seeds() {
  put("npy", "c_f4_2x3.npy", ivkit::npy_bytes(counting(2, 3).cast<float>()));
  ivkit::NpyWriteOptions fortran;
  fortran.order = ivkit::NpyOrder::Fortran;
  put("npy", "fortran_f8_3x2.npy", ivkit::npy_bytes(counting(3, 2), fortran));
  put("npy", "vector_f8_5.npy", ivkit::npy_bytes(Eigen::VectorXd(counting(5, 1))));
  put("npy", "vector_f4_empty.npy", ivkit::npy_bytes(Eigen::VectorXf(0)));
  Eigen::VectorXd special(4);
  special << std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), -0.0, 1e-310;
  put("npy", "special_values_f8.npy", ivkit::npy_bytes(special));
  put("npy", "big_endian_f4.npy",
      npy_file(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", raw_be(1.5f) + raw_be(-2.f) + raw_be(0.25f)));
  put("npy", "big_endian_f8_2x1.npy", npy_file(1, "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 1), }", raw_be(3.0) + raw_be(-7.0)));
  put("npy", "int32_2x2.npy",
      npy_file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
               raw(std::int32_t{1}) + raw(std::int32_t{-2}) + raw(std::int32_t{3}) + raw(std::int32_t{2147483647})));
  put("npy", "int64_be_3.npy",
      npy_file(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (3,), }",
               raw_be(std::int64_t{5}) + raw_be(std::int64_t{-9000000000}) + raw_be(std::int64_t{0})));
  put("npy", "version2_f4.npy", npy_file(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", raw(1.f) + raw(2.f)));
  put("npy", "version3_f8.npy", npy_file(3, "{'shape': (1, 1), 'fortran_order': False, 'descr': '<f8'}", raw(42.0)));
  put("npy", "zero_rows_f8_0x3.npy", npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", ""));
}

// ---- .npz ---------------------------------------------------------------------------------------

std::uint32_t crc(const std::string& s) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

/// An archive as np.savez writes it: zip64 local headers (sizes 0xffffffff, zip64 extra field),
/// plain central directory entries, end record.
std::string numpy_zip(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out, cd;
  for (const auto& [name, data] : members) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    out += "PK\x03\x04" + u16(45) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc(data)) + u32(0xffffffffu) + u32(0xffffffffu) +
           u16(static_cast<unsigned>(name.size())) + u16(20) + name + u16(1) + u16(16) + u64(data.size()) + u64(data.size()) + data;
    cd += "PK\x01\x02" + u16(0x0300 | 45) + u16(45) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc(data)) +
          u32(static_cast<std::uint32_t>(data.size())) + u32(static_cast<std::uint32_t>(data.size())) +
          u16(static_cast<unsigned>(name.size())) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0600u << 16) + u32(offset) + name;
  }
  const auto n = static_cast<unsigned>(members.size());
  return out + cd + "PK\x05\x06" + u16(0) + u16(0) + u16(n) + u16(n) + u32(static_cast<std::uint32_t>(cd.size())) +
         u32(static_cast<std::uint32_t>(out.size())) + u16(0);
}

/// One stored member behind zip64 end records (as writers do beyond 65,535 members or 4 GiB).
std::string zip64_end_archive(const std::string& name, const std::string& data) {
  const std::string local = "PK\x03\x04" + u16(45) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc(data)) + u32(0xffffffffu) +
                            u32(0xffffffffu) + u16(static_cast<unsigned>(name.size())) + u16(20) + name + u16(1) + u16(16) + u64(data.size()) +
                            u64(data.size()) + data;
  const std::string cd = "PK\x01\x02" + u16(0x0300 | 45) + u16(45) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc(data)) +
                         u32(0xffffffffu) + u32(0xffffffffu) + u16(static_cast<unsigned>(name.size())) + u16(28) + u16(0) + u16(0) + u16(0) +
                         u32(0600u << 16) + u32(0xffffffffu) + name + u16(1) + u16(24) + u64(data.size()) + u64(data.size()) + u64(0);
  const std::uint64_t end64_at = local.size() + cd.size();
  const std::string end64 = "PK\x06\x06" + u64(44) + u16(45) + u16(45) + u32(0) + u32(0) + u64(1) + u64(1) + u64(cd.size()) + u64(local.size());
  const std::string locator = "PK\x06\x07" + u32(0) + u64(end64_at) + u32(1);
  const std::string end = "PK\x05\x06" + u16(0) + u16(0) + u16(0xffff) + u16(0xffff) + u32(0xffffffffu) + u32(0xffffffffu) + u16(0);
  return local + cd + end64 + locator + end;
}

void npz_seeds() {
  ivkit::NpzWriter stored;
  stored.add("a", counting(2, 2).cast<float>()).add("b", Eigen::VectorXd(counting(3, 1)));
  put("npz", "stored.npz", stored.bytes());
  ivkit::NpzWriteOptions deflate;
  deflate.compress = true;
  ivkit::NpzWriter deflated(deflate);
  deflated.add("m", counting(3, 4)).add("v", Eigen::VectorXf(counting(6, 1).cast<float>()));
  put("npz", "deflated.npz", deflated.bytes());
  put("npz", "numpy_savez.npz",
      numpy_zip({{"spk1-utt1.npy", ivkit::npy_bytes(Eigen::VectorXf(counting(3, 1).cast<float>()))},
                 {"spk2-utt9.npy", ivkit::npy_bytes(counting(1, 3).cast<float>())}}));
  put("npz", "zip64_end_records.npz", zip64_end_archive("a.npy", ivkit::npy_bytes(counting(2, 2))));
  put("npz", "no_members.npz", ivkit::NpzWriter().bytes());
}

// ---- model container ----------------------------------------------------------------------------

void model_seeds() {
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6.5;
  Eigen::VectorXf v(3);
  v << 0.25f, -1.f, 1e-30f;
  ivkit::ModelWriter thing("Thing", 2);
  thing.integer("dim", 3).real("scale", -0.125).text("note", "hello\nworld").matrix("m", m).matrix("v", v);
  put("model", "container_all_record_types.ivk", thing.bytes());

  const Index d = 3;
  MatD between = MatD::Identity(d, d) * 2.0;
  between(0, 1) = between(1, 0) = 0.5;
  MatD within = MatD::Identity(d, d);
  within(1, 2) = within(2, 1) = -0.25;
  const Eigen::VectorXd mean = counting(d, 1);
  const auto plda = ivkit::Plda<double>::from_covariances(mean, between, within);
  put("model", "plda_f8.ivk", plda.to_bytes());
  put("model", "plda_f4.ivk", ivkit::Plda<float>::from_bytes(plda.to_bytes()).to_bytes());

  MatD f(d, 2);
  f << 1, 0, 0.5, 1, -0.25, 0.5;
  const ivkit::SimplifiedPlda<double> splda(mean, f, within);
  put("model", "simplified_plda_f8.ivk", splda.to_bytes());

  // A small labelled set: 4 classes of 5 embeddings in 4 dimensions.
  ivkit::Random rng(7);
  MatD x(20, 4);
  std::vector<Index> labels;
  for (Index i = 0; i < 20; ++i) {
    labels.push_back(i % 4);
    for (Index j = 0; j < 4; ++j) x(i, j) = static_cast<double>((i % 4) * (j + 1)) + rng.normal();
  }
  ivkit::TransformPipeline<double> p;
  ivkit::LdaOptions lda;
  lda.dim = 2;
  p.centre().lda(lda).length_norm();
  p.fit(x, labels);
  p.affine(ivkit::AffineTransform<double>(MatD::Identity(2, 2) * 2.0, Eigen::VectorXd::Ones(2)));
  ivkit::ModelWriter pw(ivkit::TransformPipeline<double>::kFileKind, ivkit::TransformPipeline<double>::kFileVersion);
  p.write(pw);
  put("model", "pipeline_center_lda_norm_affine.ivk", pw.bytes());
  ivkit::TransformPipeline<float> u;
  ivkit::PcaOptions pca;
  pca.dim = 2;
  ivkit::WhitenOptions whiten;
  u.centre().pca(pca).whiten(whiten).wccn();
  u.fit_stage(0, x.cast<float>());
  ivkit::ModelWriter uw(ivkit::TransformPipeline<float>::kFileKind, ivkit::TransformPipeline<float>::kFileVersion);
  u.write(uw);
  put("model", "pipeline_partly_fitted_f4.ivk", uw.bytes());

  put("model", "calibration.ivk", ivkit::LinearCalibration(Eigen::VectorXd::Constant(1, 1.5), -0.25, 0.01).to_bytes());
  Eigen::VectorXd w(3);
  w << 0.5, 1.25, -0.125;
  put("model", "fusion.ivk", ivkit::LinearCalibration(w, 2.0).to_bytes());
}

// Small models of every kind the other model files hold (io/model_files.hpp, accumulator_files.hpp).
ivkit::DiagGmm<double> small_diag_gmm() {
  Eigen::VectorXd w(2);
  w << 0.25, 0.75;
  MatD mu(2, 3), var(2, 3);
  mu << 0, 1, -1, 2, 0.5, 0;
  var << 1, 0.5, 2, 0.25, 1, 1.5;
  return ivkit::DiagGmm<double>(w, mu, var);
}

ivkit::FullGmm<double> small_full_gmm() {
  const auto d = small_diag_gmm();
  std::vector<ivkit::ColMatrix<double>> covs;
  for (Index c = 0; c < 2; ++c) {
    ivkit::ColMatrix<double> s = d.variances().row(c).transpose().asDiagonal();
    s(0, 1) = s(1, 0) = 0.1 * (c + 1);
    covs.push_back(s);
  }
  return ivkit::FullGmm<double>(d.weights(), d.means(), covs);
}

ivkit::IvectorExtractor<double> small_extractor(bool full) {
  const auto d = small_diag_gmm();
  MatD t(6, 2);
  t << 0.5, 0, 0, 0.5, 0.1, 0.2, -0.3, 0.1, 0.2, 0.2, 0, -0.1;
  Eigen::VectorXd prior(2);
  prior << 1.0, 0.0;
  if (full) {
    const auto f = small_full_gmm();
    return ivkit::IvectorExtractor<double>(f.means(), f.means(), t, f.covariances(), prior);
  }
  return ivkit::IvectorExtractor<double>(d.means(), d.means(), t, ivkit::Matrix<double>(d.variances()), prior);
}

void model_file_seeds() {
  put("model", "diag_gmm.ivk", ivkit::write_diag_gmm(small_diag_gmm()).bytes());
  put("model", "full_gmm_f4.ivk", ivkit::write_full_gmm(small_full_gmm().cast<float>()).bytes());
  put("model", "ivector_extractor_diag.ivk", ivkit::write_ivector_extractor(small_extractor(false)).bytes());
  put("model", "ivector_extractor_full_f4.ivk", ivkit::write_ivector_extractor(small_extractor(true).cast<float>()).bytes());
  ivkit::EmAccumulator acc(small_full_gmm());
  acc.occupancy << 3, 4;
  acc.first.setConstant(0.5);
  acc.second.setConstant(2.0);
  acc.num_frames = 7;
  acc.log_likelihood = -12.5;
  put("model", "em_accumulator_full.ivk", ivkit::write_em_accumulator(acc).bytes());
  ivkit::IvectorTrainerStats st;
  st.gamma = Eigen::VectorXd::Constant(2, 3.0);
  st.w_sum = Eigen::VectorXd::Constant(2, 0.5);
  st.f_sum = Eigen::VectorXd::Constant(6, 1.0);
  st.Y = MatD::Constant(6, 2, 0.25);
  st.R_packed = MatD::Constant(2, 3, 1.0);
  st.ww_sum = Eigen::VectorXd::Constant(3, 2.0);
  st.num_utterances = 3;
  st.objective = -4.0;
  put("model", "ivector_trainer_stats.ivk", ivkit::write_ivector_trainer_stats(st).bytes());
}

template <class WriteFn>
std::string object(bool binary, WriteFn write);  // one Kaldi object with its binary marker (below)

// ---- Kaldi model files (selector: bits 0-2 DiagGMM, FullGMM, final.ie, plda, affine transform,
//      linear transform, Gaussian selection, posteriors; bit 3 the size known; bit 4 float) ---------

void kaldi_model_seeds() {
  auto sel = [](int what, bool known, bool f) { return std::string(1, static_cast<char>(what | (known ? 8 : 0) | (f ? 16 : 0))); };
  put("kaldi_model", "diag_gmm_binary", sel(0, true, false) + object(true, [](auto& o) { ivkit::write_kaldi_diag_gmm(o, small_diag_gmm()); }));
  put("kaldi_model", "diag_gmm_text_stdin_f4", sel(0, false, true) + object(false, [](auto& o) { ivkit::write_kaldi_diag_gmm(o, small_diag_gmm()); }));
  put("kaldi_model", "full_gmm_binary_f4", sel(1, true, true) + object(true, [](auto& o) { ivkit::write_kaldi_full_gmm(o, small_full_gmm()); }));
  put("kaldi_model", "full_gmm_text", sel(1, true, false) + object(false, [](auto& o) { ivkit::write_kaldi_full_gmm(o, small_full_gmm()); }));
  const auto ie = ivkit::to_kaldi_offset(small_extractor(true));
  const auto w = small_full_gmm().weights();
  put("kaldi_model", "ivector_extractor_binary", sel(2, true, false) + object(true, [&](auto& o) { ivkit::write_kaldi_ivector_extractor(o, ie, w); }));
  put("kaldi_model", "ivector_extractor_text_f4", sel(2, false, true) + object(false, [&](auto& o) { ivkit::write_kaldi_ivector_extractor(o, ie, w); }));
  MatD between = MatD::Identity(3, 3) * 2.0, within = MatD::Identity(3, 3);
  between(0, 1) = between(1, 0) = 0.5;
  const auto plda = ivkit::Plda<double>::from_covariances(counting(3, 1), between, within);
  put("kaldi_model", "plda_text", sel(3, true, false) + object(false, [&](auto& o) { ivkit::write_kaldi_plda(o, plda); }));
  const ivkit::AffineTransform<double> t(counting(2, 3, 0.5), counting(2, 1, -1.0));
  put("kaldi_model", "transform_affine_binary", sel(4, true, false) + object(true, [&](auto& o) { ivkit::write_kaldi_transform(o, t); }));
  const ivkit::AffineTransform<double> lin(counting(2, 3, 0.5), Eigen::VectorXd::Zero(2));
  put("kaldi_model", "transform_linear_text_f4", sel(5, false, true) + object(false, [&](auto& o) {
        ivkit::write_kaldi_transform(o, lin, ivkit::KaldiTransformLayout::Linear);
      }));
  const ivkit::Int32VectorVector g{{3, 0, 15}, {1, 2, 4}, {15, 14, 13}};
  put("kaldi_model", "gselect_binary", sel(6, true, false) + object(true, [&](auto& o) { ivkit::detail::write_int32_vector_vector(o, g); }));
  put("kaldi_model", "gselect_text", sel(6, false, false) + object(false, [&](auto& o) { ivkit::detail::write_int32_vector_vector(o, g); }));
  const ivkit::KaldiPosterior post{{{3, 0.75f}, {0, 0.25f}}, {}, {{15, 1.0f}}, {{2, 0.1f}, {14, 0.3f}, {7, 0.6f}}};
  put("kaldi_model", "posterior_binary", sel(7, true, false) + object(true, [&](auto& o) { ivkit::detail::write_kaldi_posterior(o, post); }));
  put("kaldi_model", "posterior_text_stdin", sel(7, false, true) + object(false, [&](auto& o) { ivkit::detail::write_kaldi_posterior(o, post); }));
}

// ---- Kaldi data folders (first byte: bit 0 all_utterances_have_features; files after `==name`) ---

void data_dir_seeds() {
  put("data_dir", "full_folder",
      "\1==utt2spk\nspk1-a spk1\nspk1-b spk1\nspk2-a spk2\n==spk2utt\nspk1 spk1-a spk1-b\nspk2 spk2-a\n"
      "==feats.scp\nspk1-a raw.ark:12\nspk1-b raw.ark:99[0:9]\nspk2-a raw.ark:150\n==vad.scp\nspk1-a vad.ark:7\n"
      "==wav.scp\nrec1 sox rec1.flac -t wav - |\nrec2 /data/rec2.wav\n==segments\nspk1-a rec1 0.0 1.5\nspk1-b rec1 1.5 -1\n"
      "spk2-a rec2 0 2.25\n==trials\nspk1 spk2-a nontarget\nspk1 spk1-b target\n");
  put("data_dir", "utt2spk_only_crlf", std::string(1, '\0') + std::string("==utt2spk\nu1 s1\r\nu2\ts1\r\n\r\nu3 s2\r\n"));
  put("data_dir", "wav_without_segments", std::string(1, '\0') + "==utt2spk\nu1 s1\nu2 s2\n==wav.scp\nu1 a.wav\nu2 b.wav\n==feats.scp\nu1 f.ark:1\n");
}

// ---- trial lists (selector byte: '0' auto, '1' Kaldi, '2' stklia) ------------------------------

void trials_seeds() {
  put("trials", "kaldi_auto.txt", "0spk1 utt1 target\nspk1 utt2 nontarget\nspk2 utt1 nontarget\nspk2 utt3 target\n");
  put("trials", "kaldi_tabs_crlf_blank.txt", "1id10270\tid10270-x6uYqmx31kE-00001\ttarget\r\n\r\nid10270 id10300-ize_eiCFEg0-00003 nontarget\r\n");
  put("trials", "stklia_auto.txt", "01 spk1 utt1\n0 spk1 utt2\n0 spk2 utt1\n1 spk2 utt3\n");
  put("trials", "stklia_voxceleb.txt", "21 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav\n0 id10270/x6uYqmx31kE/00001.wav id10300/ize_eiCFEg0/00003.wav\n");
}

// ---- Kaldi archives (selector: bits 0-1 type Matrix<float>, Matrix<double>, Vector<float>,
//      Vector<double>; bit 2 the mode of the round trip) ----------------------------------------

template <class T, class V>
std::string archive(const std::vector<std::pair<std::string, V>>& entries, bool binary, ivkit::KaldiWriteOptions opts = {}) {
  std::ostringstream os;
  ivkit::KaldiWriter<T> w(os, binary, "seed.ark", opts);
  for (const auto& [key, value] : entries) w.write(key, value);
  w.close();
  return os.str();
}

void kaldi_archive_seeds() {
  using MF = ivkit::Matrix<float>;
  using MD = ivkit::Matrix<double>;
  using VF = ivkit::Vector<float>;
  using VD = ivkit::Vector<double>;
  const std::vector<std::pair<std::string, MatD>> mats{{"utt1", counting(3, 2)}, {"utt2", counting(1, 4, 0.125)}, {"empty", MatD(0, 0)}};
  put("kaldi_archive", "matrix_f_binary.ark", std::string(1, '\0') + archive<MF>(mats, true));
  put("kaldi_archive", "matrix_d_text.ark", std::string(1, '\1') + archive<MD>(mats, false));
  put("kaldi_archive", "matrix_d_binary_roundtrip_text.ark", std::string(1, '\5') + archive<MD>(mats, true));
  const std::vector<std::pair<std::string, MatD>> feats{{"spk1-utt1", counting(12, 3, 0.37)}, {"spk1-utt2", counting(2, 5, -0.5)}};
  ivkit::KaldiWriteOptions compress;
  compress.compress = true;
  put("kaldi_archive", "compressed_cm.ark", std::string(1, '\0') + archive<MF>(feats, true, compress));
  compress.compression = ivkit::KaldiCompressionMethod::TwoByteAuto;
  put("kaldi_archive", "compressed_cm2.ark", std::string(1, '\1') + archive<MD>(feats, true, compress));
  compress.compression = ivkit::KaldiCompressionMethod::OneByteAuto;
  put("kaldi_archive", "compressed_cm3.ark", std::string(1, '\4') + archive<MF>(feats, true, compress));
  const std::vector<std::pair<std::string, Eigen::VectorXd>> vecs{{"a", counting(4, 1)}, {"b", Eigen::VectorXd(0)}, {"c", counting(1, 1, 3.0)}};
  put("kaldi_archive", "vector_f_binary.ark", std::string(1, '\2') + archive<VF>(vecs, true));
  put("kaldi_archive", "vector_d_text.ark", std::string(1, '\3') + archive<VD>(vecs, false));
  // Binary and text objects mixed in one archive, as Kaldi tools appending to one file make them.
  put("kaldi_archive", "vector_mixed_modes.ark",
      std::string(1, '\3') + archive<VD, Eigen::VectorXd>({vecs[0]}, true) + archive<VD, Eigen::VectorXd>({vecs[2]}, false) + "tabbed\t [ 1 2 ]\n");
  put("kaldi_archive", "empty.ark", std::string(1, '\0'));
}

// ---- single Kaldi objects (selector: bits 0-2 Matrix f/d, Vector f/d, SpMatrix f/d, compressed,
//      primitives; bit 3 the size known) ---------------------------------------------------------

template <class WriteFn>
std::string object(bool binary, WriteFn write) {
  std::ostringstream os;
  ivkit::KaldiOutput out(os, binary, "seed", "make_corpus");
  out.write_binary_marker();
  write(out);
  return os.str();
}

void kaldi_object_seeds() {
  auto sel = [](int what, bool known) { return std::string(1, static_cast<char>(what | (known ? 8 : 0))); };
  const MatD m = counting(3, 4, 0.3);
  put("kaldi_object", "matrix_f_binary", sel(0, true) + object(true, [&](auto& o) { ivkit::write_kaldi_matrix(o, m.cast<float>()); }));
  put("kaldi_object", "matrix_d_text_stdin", sel(1, false) + object(false, [&](auto& o) { ivkit::write_kaldi_matrix(o, m); }));
  put("kaldi_object", "matrix_text_semicolons", sel(1, true) + " [ 1 2 ; 3 4 ]\n");
  put("kaldi_object", "matrix_compressed_cm", sel(0, false) + object(true, [&](auto& o) {
        ivkit::write_kaldi_compressed(o, ivkit::compress_kaldi_matrix(counting(10, 2, 0.7), ivkit::KaldiCompressionMethod::SpeechFeature));
      }));
  const Eigen::VectorXd v = counting(5, 1, -1.5);
  put("kaldi_object", "vector_f_binary_stdin", sel(2, false) + object(true, [&](auto& o) { ivkit::write_kaldi_vector(o, v.cast<float>()); }));
  put("kaldi_object", "vector_d_text", sel(3, true) + object(false, [&](auto& o) { ivkit::write_kaldi_vector(o, v); }));
  MatD s = counting(3, 3);
  s = (s + s.transpose()).eval();
  put("kaldi_object", "packed_f_binary", sel(4, true) + object(true, [&](auto& o) { ivkit::write_kaldi_sp_matrix(o, s.cast<float>()); }));
  put("kaldi_object", "packed_d_text", sel(5, false) + object(false, [&](auto& o) { ivkit::write_kaldi_sp_matrix(o, s); }));
  put("kaldi_object", "compressed_cm2", sel(6, true) + object(true, [&](auto& o) {
        ivkit::write_kaldi_compressed(o, ivkit::compress_kaldi_matrix(counting(2, 3), ivkit::KaldiCompressionMethod::TwoByteAuto));
      }));
  // The primitives in the order the harness reads them: token, (peek), int32, float, double, bool,
  // int32 vector, uint16; twice.
  auto primitives = [](ivkit::KaldiOutput& o) {
    for (int k = 0; k < 2; ++k) {
      o.write_token(k ? "<GCONSTS>" : "<DiagGMM>");
      o.write_int(std::int32_t{-7});
      o.write_real(0.5f);
      o.write_real(-1e-300);
      o.write_bool(k == 0);
      o.write_int_vector(std::vector<std::int32_t>{1, 2, -3});
      o.write_int(std::uint16_t{65535});
    }
  };
  put("kaldi_object", "primitives_binary", sel(7, true) + object(true, primitives));
  put("kaldi_object", "primitives_text", sel(7, false) + object(false, primitives));
}

// ---- script-file lines and specifiers -----------------------------------------------------------

void kaldi_scp_seeds() {
  put("kaldi_scp", "feats.scp",
      "utt1 /data/raw_mfcc.1.ark:1234\nutt2 feats.ark:99[0:9]\nutt3 a.ark:5[2:4,0:1]\nutt4 single.mat\n\n  utt5\tb.ark:0[:,1:2]\r\n");
  put("kaldi_scp", "ranges.scp", "a x.ark:0[0:0]\nb x.ark:7[1:6]\nc x.ark:7[3:7,0:3]\nd x.ark:7[:]\n");
  put("kaldi_scp", "rspecifier", "ark,s,cs:-");
  put("kaldi_scp", "rspecifier_scp", "scp,p:data/train/feats.scp");
  put("kaldi_scp", "wspecifier", "ark,scp,t,f:ivectors.ark,ivectors.scp");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus folder, e.g. tests/fuzz/corpus>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  try {
    npy_seeds();
    npz_seeds();
    model_seeds();
    trials_seeds();
    kaldi_archive_seeds();
    kaldi_object_seeds();
    kaldi_scp_seeds();
    model_file_seeds();
    kaldi_model_seeds();
    data_dir_seeds();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %d seed files under %s\n", g_count, g_root.string().c_str());
  return 0;
}
