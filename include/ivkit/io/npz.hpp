/// @file
/// NumPy .npz archives: zip files of .npy members, as np.savez (stored members) and
/// np.savez_compressed (deflated members) write them. Member 'name.npy' is array 'name'.
///
/// Reading accepts stored (method 0) and deflated (method 8) members, zip64 archives (np.savez
/// marks every member zip64; archives of 65,535 members or more, or larger than 4 GiB, need the
/// zip64 end records) and checks every member's CRC-32. Each member is a .npy file, read as
/// ivkit/io/npy.hpp reads them. Errors are FormatError naming the archive, the byte offset in the
/// archive and the member; for a malformed .npy member, the offset counts from the member's
/// first (uncompressed) byte: "read_npz: 'e.npz' member 'a.npy' (offset 10) ...".
///
/// Writing builds the whole archive in memory and writes it atomically; members in the order
/// added, with fixed timestamps, so the same arrays always give the same bytes.
///
/// Speaker embeddings: ESPnet's SpkTrainer.extract_embed saves np.savez(path, **{utt_id: vector});
/// read_npz_embeddings gives the ids in archive order and one N x R matrix, write_npz_embeddings
/// writes such a file.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/file_io.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/io/detail/npy_format.hpp"
#include "ivkit/io/detail/zip.hpp"
#include "ivkit/io/npy.hpp"

namespace ivkit {

/// Options of NpzWriter, write_npz and write_npz_embeddings.
struct NpzWriteOptions {
  bool compress = false;  ///< deflate the members (np.savez_compressed); else store them (np.savez)
  int level = 6;          ///< zlib compression level 1..9 when compressing (Python's zipfile default is 6)
};

/// One member of an .npz archive, as its central directory describes it.
struct NpzMember {
  std::string name;                  ///< the array's name: the member's file name without ".npy"
  std::string file_name;             ///< the member's file name in the archive, e.g. "spk1-utt1.npy"
  bool compressed = false;           ///< deflated (method 8) rather than stored (method 0)
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;            ///< uncompressed: the .npy file's length
};

/// Speaker embeddings: `vectors.row(i)` is the embedding of utterance `ids[i]`.
template <class S>
struct NpzEmbeddings {
  std::vector<std::string> ids;
  Matrix<S> vectors;  ///< N x R
};

namespace detail {
namespace npio {

/// "x.npy" -> "x"; other names unchanged (NumPy's NpzFile does the same).
inline std::string array_name(const std::string& file_name) {
  const std::string ext = ".npy";
  if (file_name.size() >= ext.size() && file_name.compare(file_name.size() - ext.size(), ext.size(), ext) == 0)
    return file_name.substr(0, file_name.size() - ext.size());
  return file_name;
}

/// An open .npz archive: its directory, and the members read on demand.
class NpzArchive {
 public:
  /// The archive at `path`.
  NpzArchive(const char* fn, const std::string& path) : fn_(fn), path_(path), src_(ByteSource::File{}, fn, path), w_{fn, file_where(path)} {
    read_directory();
  }
  /// The archive in `bytes` (which must outlive this), named `source` in errors.
  NpzArchive(const char* fn, const std::string& bytes, const std::string& source)
      : fn_(fn), path_(source), src_(bytes.data(), bytes.size()), w_{fn, file_where(source)} {
    read_directory();
  }

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const Where& where() const { return w_; }

  /// The entry of array `name` ("name.npy", or `name` itself if the archive has such a member).
  /// @throws FormatError listing the members when there is none
  const ZipEntry& find(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name + ".npy") return e;
    for (const auto& e : entries_)
      if (e.name == name) return e;
    std::string names;
    for (std::size_t i = 0; i < entries_.size() && i < 10; ++i) names += (i ? ", '" : "'") + array_name(entries_[i].name) + "'";
    if (entries_.size() > 10) names += message(", ... (", entries_.size(), " in all)");
    throw FormatError(message(fn_, ": '", path_, "' has no member '", name, ".npy' (its arrays: ", entries_.empty() ? "none" : names, ")"));
  }

  /// The member's uncompressed bytes (CRC-checked) and the Where for errors inside them.
  std::string bytes(const ZipEntry& e) const { return read_zip_member(src_, w_, e); }
  Where member_where(const ZipEntry& e) const { return {fn_, message("'", path_, "' member '", e.name, "'")}; }

  template <class S>
  NpyArray<S> array(const ZipEntry& e, int want_ndim) const {
    const std::string b = bytes(e);
    const ByteSource member(b.data(), b.size());
    return read_array<S>(member, member_where(e), want_ndim);
  }

 private:
  void read_directory() {
    entries_ = read_zip_directory(src_, w_);
    std::set<std::string> seen;
    for (const auto& e : entries_)
      if (!seen.insert(e.name).second) w_.fail(e.directory_offset, message("holds the member '", e.name, "' twice"));
  }

  const char* fn_;
  std::string path_;
  ByteSource src_;
  Where w_;
  std::vector<ZipEntry> entries_;
};

inline void check_member_name(const char* fn, const std::string& name) {
  if (name.empty()) throw InvalidArgument(message(fn, ": an empty array name"));
  if (name.find('\0') != std::string::npos) throw InvalidArgument(message(fn, ": the array name '", name, "' holds a NUL character"));
  if (name.size() + 4 > 0xffffu) throw InvalidArgument(message(fn, ": an array name of ", name.size(), " bytes (zip allows 65,531 with \".npy\")"));
}

}  // namespace npio
}  // namespace detail

/// The members of the .npz archive at `path`, in archive order (only the directory is read).
/// @throws IoError, FormatError naming the archive and the offset
inline std::vector<NpzMember> list_npz(const std::string& path) {
  const detail::npio::NpzArchive ar("list_npz", path);
  std::vector<NpzMember> out;
  for (const auto& e : ar.entries())
    out.push_back({detail::npio::array_name(e.name), e.name, e.method == 8, e.compressed_size, e.size});
  return out;
}

namespace detail {
namespace npio {
template <class S>
std::map<std::string, NpyArray<S>> all_arrays(const NpzArchive& ar) {
  std::map<std::string, NpyArray<S>> out;
  for (const auto& e : ar.entries()) {
    const std::string name = array_name(e.name);
    if (out.count(name)) ar.where().fail(e.directory_offset, message("holds the array '", name, "' twice"));
    out.emplace(name, ar.array<S>(e, 0));
  }
  return out;
}
}  // namespace npio
}  // namespace detail

/// Every array of the .npz archive at `path` (1-D or 2-D, converted to S), by name.
/// @throws IoError; FormatError naming the archive, the member and the offset (corrupt archive,
/// CRC mismatch, unsupported compression, malformed or unsupported .npy member)
template <class S>
std::map<std::string, NpyArray<S>> read_npz(const std::string& path) {
  IVKIT_CHECK_SCALAR(S);
  return detail::npio::all_arrays<S>(detail::npio::NpzArchive("read_npz", path));
}

/// As read_npz, from the bytes of an .npz archive already in memory; `source` names them in errors.
template <class S>
std::map<std::string, NpyArray<S>> parse_npz(const std::string& bytes, const std::string& source) {
  IVKIT_CHECK_SCALAR(S);
  return detail::npio::all_arrays<S>(detail::npio::NpzArchive("parse_npz", bytes, source));
}

/// The array `name` (member "name.npy") of the .npz archive at `path`; only that member is read.
/// @throws as read_npz, and FormatError listing the arrays when there is no such member
template <class S>
NpyArray<S> read_npz_array(const std::string& path, const std::string& name) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::NpzArchive ar("read_npz_array", path);
  return ar.array<S>(ar.find(name), 0);
}

/// The 2-D array `name` of the .npz archive at `path` as a matrix. @throws as read_npz_array, and
/// FormatError when the array is not 2-D
template <class S, int StorageOrder = Eigen::RowMajor>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, StorageOrder> read_npz_matrix(const std::string& path, const std::string& name) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::NpzArchive ar("read_npz_matrix", path);
  const auto& e = ar.find(name);
  const std::string b = ar.bytes(e);
  const detail::npio::ByteSource member(b.data(), b.size());
  const auto w = ar.member_where(e);
  const auto h = detail::npio::read_header(member, w);
  detail::npio::check_ndim(h, 2, w);
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, StorageOrder> m;
  detail::npio::read_into(member, h, m);
  return m;
}

/// The 1-D array `name` of the .npz archive at `path` as a vector. @throws as read_npz_array, and
/// FormatError when the array is not 1-D
template <class S>
Vector<S> read_npz_vector(const std::string& path, const std::string& name) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::NpzArchive ar("read_npz_vector", path);
  const auto& e = ar.find(name);
  const std::string b = ar.bytes(e);
  const detail::npio::ByteSource member(b.data(), b.size());
  const auto w = ar.member_where(e);
  const auto h = detail::npio::read_header(member, w);
  detail::npio::check_ndim(h, 1, w);
  Vector<S> v;
  detail::npio::read_into(member, h, v);
  return v;
}

/// Speaker embeddings from an .npz archive of one vector per utterance (ESPnet's extract_embed):
/// the ids (member names without ".npy") in archive order and the N x R matrix of the vectors, row
/// i for ids[i]. Each member must be 1-D of R elements, or 2-D of shape (1, R) (ESPnet's averaged
/// embeddings), with the same R for all. An archive without members gives no ids and a 0 x 0 matrix.
/// @throws as read_npz, and FormatError naming the member whose shape is not (R,) or (1, R)
template <class S>
NpzEmbeddings<S> read_npz_embeddings(const std::string& path) {
  IVKIT_CHECK_SCALAR(S);
  const detail::npio::NpzArchive ar("read_npz_embeddings", path);
  NpzEmbeddings<S> out;
  const auto& entries = ar.entries();
  out.ids.reserve(entries.size());
  std::uint64_t dim = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const std::string b = ar.bytes(e);
    const detail::npio::ByteSource member(b.data(), b.size());
    const auto w = ar.member_where(e);
    const auto h = detail::npio::read_header(member, w);
    const bool row = h.shape.size() == 1 || (h.shape.size() == 2 && h.shape[0] == 1);
    if (!row)
      w.fail(h.header_offset, detail::message("holds an array of shape ", detail::npio::shape_string(h.shape),
                                              "; an embedding is 1-D (R,) or 2-D (1, R)"));
    const std::uint64_t r = h.shape.back();
    if (i == 0) {
      dim = r;
      out.vectors.resize(static_cast<Index>(entries.size()), static_cast<Index>(dim));
    } else if (r != dim) {
      w.fail(h.header_offset, detail::message("holds an embedding of dimension ", r, " (shape ", detail::npio::shape_string(h.shape),
                                              "); the archive's first member '", entries[0].name, "' has dimension ", dim));
    }
    // The embedding goes to row i, read as an r x 1 vector or a 1 x r matrix.
    const bool one_d = h.shape.size() == 1;
    detail::npio::read_data<S>(member, h, one_d ? r : 1, one_d ? 1 : r, out.vectors.row(static_cast<Index>(i)).data(), 1, 1);
    out.ids.push_back(detail::npio::array_name(e.name));
  }
  return out;
}

/// Builds an .npz archive: add arrays by name, then `save` (atomic) or take the `bytes`.
class NpzWriter {
 public:
  explicit NpzWriter(const NpzWriteOptions& options = {}) : options_(options) {
    if (options.compress && (options.level < 1 || options.level > 9))
      throw InvalidArgument(detail::message("NpzWriter: compression level ", options.level, " (1..9 expected)"));
  }

  /// Adds array `name` (member "name.npy") holding `a`, written as npy_bytes(a, options) writes it.
  /// @throws InvalidArgument for an empty name, a name added before, or one too long for zip
  template <class Derived>
  NpzWriter& add(const std::string& name, const Eigen::MatrixBase<Derived>& a, const NpyWriteOptions& options = {}) {
    return add_bytes(name, npy_bytes(a, options));
  }

  /// Adds an NpyArray (1-D or 2-D as its ndim, in its stored order). @throws as above
  template <class S>
  NpzWriter& add(const std::string& name, const NpyArray<S>& a) {
    return add_bytes(name, npy_bytes(a));
  }

  /// Number of arrays added.
  std::size_t size() const { return static_cast<std::size_t>(zip_.count()); }

  /// The complete archive.
  std::string bytes() const { return zip_.finish(); }

  /// Writes the archive to `path` atomically (temporary file, then rename); the path is used as
  /// given (np.savez would append ".npz"). @throws IoError
  void save(const std::string& path) const { write_file_atomically("NpzWriter::save", path, zip_.finish()); }

 private:
  NpzWriter& add_bytes(const std::string& name, const std::string& npy) {
    detail::npio::check_member_name("NpzWriter::add", name);
    if (!names_.insert(name).second) throw InvalidArgument(detail::message("NpzWriter::add: the array '", name, "' is added twice"));
    zip_.add(name + ".npy", npy, options_.compress ? options_.level : 0);
    return *this;
  }

  NpzWriteOptions options_;
  detail::npio::ZipBuilder zip_;
  std::set<std::string> names_;
};

/// Writes the named arrays of `arrays` (any range of (name, array) pairs: a std::map, a
/// std::vector of pairs, ...; arrays are Eigen matrices, vectors or NpyArray) to the .npz archive
/// at `path`, in the range's order, atomically. @throws InvalidArgument (names), IoError
template <class Range>
void write_npz(const std::string& path, const Range& arrays, const NpzWriteOptions& options = {}) {
  NpzWriter w(options);
  for (const auto& item : arrays) w.add(item.first, item.second);
  w.save(path);
}

/// Writes speaker embeddings as ESPnet's extract_embed does: one 1-D member "<id>.npy" per row of
/// `vectors` (float or double), in the order of `ids`, atomically.
/// @throws DimensionMismatch when ids.size() != vectors.rows(); InvalidArgument for an empty or
/// repeated id; IoError
template <class Derived>
void write_npz_embeddings(const std::string& path, const std::vector<std::string>& ids, const Eigen::MatrixBase<Derived>& vectors,
                          const NpzWriteOptions& options = {}) {
  using S = typename Derived::Scalar;
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>, "write_npz_embeddings: float or double embeddings");
  if (static_cast<Index>(ids.size()) != vectors.rows())
    throw DimensionMismatch(detail::message("write_npz_embeddings: ", ids.size(), " ids for ", vectors.rows(), " embeddings (matrix ",
                                            vectors.rows(), " x ", vectors.cols(), ")"));
  const Eigen::Ref<const Matrix<S>> m(vectors.derived());
  NpzWriter w(options);
  for (std::size_t i = 0; i < ids.size(); ++i) w.add(ids[i], m.row(static_cast<Index>(i)));
  w.save(path);
}

}  // namespace ivkit
