// Fuzz harness: single Kaldi objects through the primitive layer (ivkit/io/kaldi_io.hpp KaldiInput
// over a string stream, ivkit/io/kaldi_matrix.hpp and kaldi_compressed.hpp): matrices (FM, DM, CM,
// CM2, CM3, text), vectors, packed symmetric matrices, and the primitives Kaldi's model files are
// made of (tokens, integers, reals, booleans, integer vectors), binary or text.
//
// Input: one selector byte, then the object with its binary marker. Selector bits 0-2 pick what is
// read; bit 3 says whether the reader knows the size of the data (a regular file) or not (stdin).
// An object read is written back in the same mode and must read back to the same values.
#include <sstream>

#include "harness.hpp"
#include "kaldi_objects.hpp"
#include "ivkit/io/kaldi_io.hpp"
#include "ivkit/io/kaldi_matrix.hpp"

namespace {

using ivkit_fuzz::read_object;

template <class ReadFn, class WriteFn>
void round_trip(const std::string& data, bool known_size, ReadFn read, WriteFn write) {
  const auto r = read_object(data, known_size, read);
  const auto& value = r.first;
  const bool binary = r.second;
  ivkit_fuzz::must_succeed("writing and re-reading a Kaldi object", [&] {
    std::ostringstream os;
    ivkit::KaldiOutput out(os, binary, "again.ark", "fuzz");
    out.write_binary_marker();
    write(out, value);
    const auto again = read_object(os.str(), true, read).first;
    ivkit_fuzz::require(ivkit_fuzz::same_values(again, value), "Kaldi object round trip");
  });
}

void primitives(const std::string& data, bool known_size) {
  std::istringstream s(data);
  ivkit::KaldiInput in(s, "fuzz.mdl", "fuzz", 0, known_size ? std::optional<std::uint64_t>(data.size()) : std::nullopt);
  in.read_binary_marker();
  for (int i = 0; i < 64 && in.peek() >= 0; ++i) {
    switch (i % 8) {
      case 0: (void)in.read_token(); break;
      case 1: (void)in.peek_token(); (void)in.peek_token_string(); break;
      case 2: (void)in.read_int<std::int32_t>(); break;
      case 3: (void)in.read_real<float>(); break;
      case 4: (void)in.read_real<double>(); break;
      case 5: (void)in.read_bool(); break;
      case 6: (void)in.read_int_vector<std::int32_t>(); break;
      case 7: (void)in.read_int<std::uint16_t>(); break;
    }
  }
}

}  // namespace

IVKIT_FUZZ_TARGET(const std::string& bytes) {
  if (bytes.empty()) return;
  const auto sel = static_cast<unsigned char>(bytes[0]);
  const std::string data = bytes.substr(1);
  const bool known = (sel & 8) != 0;
  auto write_matrix = [](ivkit::KaldiOutput& out, const auto& m) { ivkit::write_kaldi_matrix(out, m); };
  auto write_vector = [](ivkit::KaldiOutput& out, const auto& v) { ivkit::write_kaldi_vector(out, v); };
  auto write_sp = [](ivkit::KaldiOutput& out, const auto& m) { ivkit::write_kaldi_sp_matrix(out, m); };
  switch (sel & 7) {
    case 0: round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_matrix<float>(in); }, write_matrix); break;
    case 1: round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_matrix<double>(in); }, write_matrix); break;
    case 2: round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_vector<float>(in); }, write_vector); break;
    case 3: round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_vector<double>(in); }, write_vector); break;
    case 4: round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_sp_matrix<float>(in); }, write_sp); break;
    case 5: round_trip(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_sp_matrix<double>(in); }, write_sp); break;
    case 6:
      ivkit_fuzz::attempt([&] { (void)read_object(data, known, [](ivkit::KaldiInput& in) { return ivkit::read_kaldi_compressed(in).payload.size(); }); });
      break;
    default: primitives(data, known); break;
  }
}
