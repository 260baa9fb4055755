#include "common/gselect_table.hpp"

#include <charconv>
#include <unordered_set>

#include <ivkit/core/error.hpp>

namespace ivkit_tools {

using ivkit::Index;

Int32VectorVector gselect_to_table(const ivkit::GaussianSelection& sel) {
  Int32VectorVector out(static_cast<std::size_t>(sel.num_frames()));
  for (Index t = 0; t < sel.num_frames(); ++t) {
    auto& row = out[static_cast<std::size_t>(t)];
    row.resize(static_cast<std::size_t>(sel.num_selected()));
    for (Index k = 0; k < sel.num_selected(); ++k) row[static_cast<std::size_t>(k)] = static_cast<std::int32_t>(sel.indices(t, k));
  }
  return out;
}

ivkit::GaussianSelection gselect_from_table(const Int32VectorVector& table, Index num_components, const std::string& what) {
  ivkit::GaussianSelection sel;
  const Index n = static_cast<Index>(table.size());
  const Index k = n > 0 ? static_cast<Index>(table[0].size()) : 0;
  if (n > 0 && k < 1) throw ivkit::FormatError(ivkit::detail::message(what, ": frame 0 selects no Gaussians"));
  sel.indices.resize(n, k);
  sel.frame_log_likelihoods = ivkit::Vector<double>::Zero(n);
  for (Index t = 0; t < n; ++t) {
    const auto& row = table[static_cast<std::size_t>(t)];
    if (static_cast<Index>(row.size()) != k)
      throw ivkit::FormatError(ivkit::detail::message(what, ": frame ", t, " selects ", row.size(), " Gaussians but frame 0 selects ", k,
                                                      " (every frame must select the same number)"));
    for (Index j = 0; j < k; ++j) {
      const std::int32_t c = row[static_cast<std::size_t>(j)];
      if (c < 0 || c >= num_components)
        throw ivkit::FormatError(ivkit::detail::message(what, ": frame ", t, " selects Gaussian ", c, " but the model has ", num_components,
                                                        " components"));
      for (Index i = 0; i < j; ++i)
        if (row[static_cast<std::size_t>(i)] == c)
          throw ivkit::FormatError(ivkit::detail::message(what, ": frame ", t, " selects Gaussian ", c, " twice"));
      sel.indices(t, j) = c;
    }
  }
  return sel;
}

namespace detail {

Int32VectorVector read_int32_vector_vector(ivkit::KaldiInput& in) {
  Int32VectorVector out;
  if (in.binary()) {
    const std::uint64_t at = in.offset();
    const auto frames = in.read_int<std::int32_t>();
    if (frames < 0) in.fail_at(at, ivkit::detail::message("negative frame count ", frames));
    in.require_array(static_cast<std::uint64_t>(frames), 5, ivkit::detail::message("a Gaussian selection of ", frames, " frames"));
    out.resize(static_cast<std::size_t>(frames));
    for (auto& row : out) {
      const std::uint64_t row_at = in.offset();
      const auto n = in.read_int<std::int32_t>();
      if (n < 0) in.fail_at(row_at, ivkit::detail::message("negative count ", n));
      in.require_array(static_cast<std::uint64_t>(n), 5, ivkit::detail::message("a frame of ", n, " indices"));
      row.resize(static_cast<std::size_t>(n));
      for (auto& v : row) v = in.read_int<std::int32_t>();
    }
    return out;
  }
  // Text: the rest of the line; each frame's indices end with ';'.
  std::vector<std::int32_t> row;
  bool open = false;  // indices read since the last ';'
  for (;;) {
    int c = in.peek();
    while (c == ' ' || c == '\t' || c == '\r') {
      in.get();
      c = in.peek();
    }
    if (c < 0 || c == '\n') {
      if (open) in.fail("the indices of the last frame are not terminated by ';' (Kaldi's text format ends every frame with ';')");
      if (c == '\n') in.get();
      break;
    }
    if (c == ';') {
      in.get();
      out.push_back(std::move(row));
      row.clear();
      open = false;
      continue;
    }
    const std::uint64_t at = in.offset();
    std::string w;
    for (int d = in.peek(); d >= 0 && d != ' ' && d != '\t' && d != '\r' && d != '\n' && d != ';' && w.size() < 16; d = in.peek()) {
      w += static_cast<char>(d);
      in.get();
    }
    std::int32_t v = 0;
    const auto r = std::from_chars(w.data(), w.data() + w.size(), v);
    if (r.ec != std::errc() || r.ptr != w.data() + w.size())
      in.fail_at(at, ivkit::detail::message("expected an integer or ';' in a text Gaussian selection, found '", ivkit::detail::kaldi_printable(w), "'"));
    row.push_back(v);
    open = true;
  }
  return out;
}

void write_int32_vector_vector(ivkit::KaldiOutput& out, const Int32VectorVector& v) {
  if (v.size() > static_cast<std::size_t>(INT32_MAX))
    throw ivkit::InvalidArgument(ivkit::detail::message(out.function(), ": ", v.size(), " frames are too many for Kaldi's int32 count"));
  if (out.binary()) {
    out.write_int(static_cast<std::int32_t>(v.size()));
    for (const auto& row : v) {
      out.write_int(static_cast<std::int32_t>(row.size()));
      for (std::int32_t x : row) out.write_int(x);
    }
    return;
  }
  std::string s;
  char buf[16];
  for (const auto& row : v) {
    for (std::int32_t x : row) {
      const auto r = std::to_chars(buf, buf + sizeof buf, x);
      s.append(buf, r.ptr);
      s += ' ';
    }
    s += "; ";
  }
  s += '\n';
  out.write_text(s);
}

}  // namespace detail

}  // namespace ivkit_tools
