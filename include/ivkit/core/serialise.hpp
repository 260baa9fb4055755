/// @file
/// ivkit's own binary model container: a header naming the kind of model and its format version,
/// then named, typed records (integers, reals, strings, float or double matrices). Models save
/// with ModelWriter (written atomically) and load with ModelReader, which checks every length
/// against the file size and names the file, the record and the byte offset of anything wrong.
///
/// Layout (little-endian): "IVKITMDL" | u32 container version (1) | string kind | u32 model version
/// | u64 record count | records. A string is u64 length + bytes. A record is string name | u8 type |
/// payload: i64 (type 1), f64 (2), string (3), matrix (4: u8 scalar size 4|8, u64 rows, u64 cols,
/// row-major values).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ivkit/core/byte_order.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/file_io.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {

namespace detail {
inline constexpr char kModelMagic[8] = {'I', 'V', 'K', 'I', 'T', 'M', 'D', 'L'};
inline constexpr std::uint32_t kContainerVersion = 1;
enum class RecordType : std::uint8_t { Int = 1, Real = 2, Text = 3, Matrix = 4 };

}  // namespace detail

/// Builds a model file in memory; `save` writes it atomically. Large matrices are kept as pieces
/// of their own and written one after another, never copied into one growing buffer (an extractor's
/// 197 MB T, appended to a string that then grew, was copied and faulted in again: 0.5 s).
class ModelWriter {
 public:
  ModelWriter(const std::string& kind, std::uint32_t version) {
    if (!detail::host_is_little_endian()) throw Error("ModelWriter: big-endian hosts are not supported");
    header_.append(detail::kModelMagic, 8);
    put_raw(header_, detail::kContainerVersion);
    put_string(header_, kind);
    put_raw(header_, version);
  }

  ModelWriter& integer(const std::string& name, std::int64_t v) {
    head(name, detail::RecordType::Int);
    put_raw(pieces_.back(), v);
    return *this;
  }
  ModelWriter& real(const std::string& name, double v) {
    head(name, detail::RecordType::Real);
    put_raw(pieces_.back(), v);
    return *this;
  }
  ModelWriter& text(const std::string& name, const std::string& v) {
    head(name, detail::RecordType::Text);
    put_string(pieces_.back(), v);
    return *this;
  }
  /// Any Eigen matrix or vector (a vector is stored as one column); float or double.
  template <class Derived>
  ModelWriter& matrix(const std::string& name, const Eigen::MatrixBase<Derived>& m) {
    using S = typename Derived::Scalar;
    static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>, "ModelWriter: float or double matrices");
    head(name, detail::RecordType::Matrix);
    put_raw(pieces_.back(), static_cast<std::uint8_t>(sizeof(S)));
    put_raw(pieces_.back(), static_cast<std::uint64_t>(m.rows()));
    put_raw(pieces_.back(), static_cast<std::uint64_t>(m.cols()));
    // The values in row order, a row at a time; a large payload is a piece of its own.
    const std::size_t row_bytes = sizeof(S) * static_cast<std::size_t>(m.cols());
    const std::size_t bytes = row_bytes * static_cast<std::size_t>(m.rows());
    if (bytes >= kOwnPiece) pieces_.emplace_back();
    std::string& out = pieces_.back();
    out.reserve(out.size() + bytes);
    Eigen::Matrix<S, 1, Eigen::Dynamic> row(m.cols());
    for (Index r = 0; r < m.rows(); ++r) {
      row = m.row(r);
      out.append(reinterpret_cast<const char*>(row.data()), row_bytes);
    }
    if (bytes >= kOwnPiece) pieces_.emplace_back();
    return *this;
  }

  /// The finished file's bytes.
  std::string bytes() const {
    std::string out = header_with_count();
    for (const std::string& p : pieces_) out += p;
    return out;
  }
  /// Writes the file atomically (temporary file, then rename). @throws IoError
  void save(const std::string& path) const {
    const std::string header = header_with_count();
    std::vector<std::string_view> all{header};
    for (const std::string& p : pieces_) all.emplace_back(p);
    write_file_atomically("ModelWriter::save", path, all);
  }

 private:
  static constexpr std::size_t kOwnPiece = std::size_t{1} << 20;

  template <class T>
  static void put_raw(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
  }
  static void put_string(std::string& out, const std::string& s) {
    put_raw(out, static_cast<std::uint64_t>(s.size()));
    out.append(s);
  }
  void head(const std::string& name, detail::RecordType t) {
    put_string(pieces_.back(), name);
    put_raw(pieces_.back(), static_cast<std::uint8_t>(t));
    ++count_;
  }
  std::string header_with_count() const {
    std::string h = header_;
    put_raw(h, count_);
    return h;
  }

  std::string header_;                    // magic, container version, kind, version (the record count follows)
  std::vector<std::string> pieces_{1};    // the records
  std::uint64_t count_ = 0;
};

/// Parses a model file written by ModelWriter; records are looked up by name.
class ModelReader {
 public:
  /// Reads and parses `path`; `expected_kind` must match the file's kind.
  /// @throws IoError (cannot read), FormatError (not an ivkit model, another kind, a newer model
  /// version than `max_version`, truncated or corrupt; the message names the file and the offset)
  ModelReader(const std::string& path, const std::string& expected_kind, std::uint32_t max_version)
      : ModelReader(read_file("ModelReader", path), path, expected_kind, max_version) {}

  /// Parses bytes already in memory; `source` names them in errors.
  ModelReader(std::string bytes, std::string source, const std::string& expected_kind, std::uint32_t max_version)
      : buf_(std::move(bytes)), source_(std::move(source)) {
    if (!detail::host_is_little_endian()) throw Error("ModelReader: big-endian hosts are not supported");
    if (buf_.size() < 8 || std::memcmp(buf_.data(), detail::kModelMagic, 8) != 0)
      fail(0, "is not an ivkit model file (no IVKITMDL header)");
    pos_ = 8;
    const auto container = get_raw<std::uint32_t>("the container version");
    if (container != detail::kContainerVersion)
      fail(8, detail::message("has container version ", container, "; this ivkit reads version ", detail::kContainerVersion));
    kind_ = get_string("the model kind");
    if (kind_ != expected_kind) fail(12, detail::message("holds a '", kind_, "', not a '", expected_kind, "'"));
    const std::size_t version_at = pos_;
    version_ = get_raw<std::uint32_t>("the model version");
    if (version_ > max_version)
      fail(version_at, detail::message("is a '", kind_, "' of format version ", version_, "; this ivkit reads up to version ", max_version));
    const auto count = get_raw<std::uint64_t>("the record count");
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::size_t at = pos_;
      Record r;
      r.offset = at;
      std::string name = get_string("a record name");
      const auto type = get_raw<std::uint8_t>("a record type");
      r.type = static_cast<detail::RecordType>(type);
      r.payload = pos_;
      switch (r.type) {
        case detail::RecordType::Int: skip(8, name); break;
        case detail::RecordType::Real: skip(8, name); break;
        case detail::RecordType::Text: skip(get_raw<std::uint64_t>(name.c_str()), name); break;
        case detail::RecordType::Matrix: {
          const auto size = get_raw<std::uint8_t>(name.c_str());
          if (size != 4 && size != 8) fail(pos_ - 1, detail::message("record '", name, "' has scalar size ", int(size), " (4 or 8 expected)"));
          const auto rows = get_raw<std::uint64_t>(name.c_str());
          const auto cols = get_raw<std::uint64_t>(name.c_str());
          if (rows > (1ull << 40) || cols > (1ull << 40) || (rows && cols > (1ull << 40) / rows))
            fail(pos_ - 16, detail::message("record '", name, "' claims an implausible ", rows, " x ", cols, " matrix"));
          skip(rows * cols * size, name);
          break;
        }
        default: fail(r.payload - 1, detail::message("record '", name, "' has unknown type ", int(type)));
      }
      if (!records_.emplace(name, r).second) fail(at, detail::message("holds record '", name, "' twice"));
    }
    if (pos_ != buf_.size()) fail(pos_, detail::message("has ", buf_.size() - pos_, " unexpected bytes after the last record"));
  }

  const std::string& kind() const { return kind_; }
  std::uint32_t version() const { return version_; }
  const std::string& source() const { return source_; }
  bool has(const std::string& name) const { return records_.count(name) != 0; }
  /// Byte offset of record `name` in the file, for errors about a record's contents (with fail()).
  /// @throws FormatError when there is no such record
  std::size_t offset_of(const std::string& name) const {
    auto it = records_.find(name);
    if (it == records_.end()) fail(buf_.size(), detail::message("has no record '", name, "' (a '", kind_, "' needs it)"));
    return it->second.offset;
  }

  std::int64_t integer(const std::string& name) const { return raw_at<std::int64_t>(find(name, detail::RecordType::Int).payload); }
  double real(const std::string& name) const { return raw_at<double>(find(name, detail::RecordType::Real).payload); }
  std::string text(const std::string& name) const {
    const Record& r = find(name, detail::RecordType::Text);
    const auto n = raw_at<std::uint64_t>(r.payload);
    return buf_.substr(r.payload + 8, n);
  }
  /// A matrix record converted to scalar S (float files load into double models and back).
  template <class S>
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> matrix(const std::string& name) const {
    const Record& r = find(name, detail::RecordType::Matrix);
    const auto size = raw_at<std::uint8_t>(r.payload);
    const auto rows = static_cast<Index>(raw_at<std::uint64_t>(r.payload + 1));
    const auto cols = static_cast<Index>(raw_at<std::uint64_t>(r.payload + 9));
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> m(rows, cols);
    std::size_t p = r.payload + 17;
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < cols; ++j, p += size)
        m(i, j) = size == 4 ? static_cast<S>(raw_at<float>(p)) : static_cast<S>(raw_at<double>(p));
    return m;
  }
  /// A matrix record that must be a vector (one column) of `expected` entries (any size if < 0).
  template <class S>
  Vector<S> vector(const std::string& name, Index expected = -1) const {
    auto m = matrix<S>(name);
    if (m.cols() != 1 || (expected >= 0 && m.rows() != expected))
      fail(find(name, detail::RecordType::Matrix).offset,
           detail::message("record '", name, "' is ", m.rows(), " x ", m.cols(), "; a vector",
                           expected >= 0 ? detail::message(" of ", expected, " entries") : std::string(), " was expected"));
    return m.col(0);
  }
  /// As matrix(), and checks the shape. @throws FormatError naming the record and both shapes
  template <class S>
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> matrix(const std::string& name, Index rows, Index cols) const {
    auto m = matrix<S>(name);
    if (m.rows() != rows || m.cols() != cols)
      fail(find(name, detail::RecordType::Matrix).offset,
           detail::message("record '", name, "' is ", m.rows(), " x ", m.cols(), "; ", rows, " x ", cols, " was expected"));
    return m;
  }

  /// Throws FormatError "ModelReader: '<source>' (offset N) <what>".
  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw FormatError(detail::message("ModelReader: '", source_, "' (offset ", offset, ") ", what));
  }

 private:
  struct Record {
    detail::RecordType type;
    std::size_t offset;   // of the record's name
    std::size_t payload;  // of the bytes after the type
  };

  const Record& find(const std::string& name, detail::RecordType t) const {
    auto it = records_.find(name);
    if (it == records_.end()) fail(buf_.size(), detail::message("has no record '", name, "' (a '", kind_, "' needs it)"));
    if (it->second.type != t) fail(it->second.offset, detail::message("record '", name, "' has the wrong type"));
    return it->second;
  }
  template <class T>
  T raw_at(std::size_t p) const {
    T v;
    std::memcpy(&v, buf_.data() + p, sizeof(T));
    return v;
  }
  template <class T>
  T get_raw(const char* what) {
    if (buf_.size() - pos_ < sizeof(T)) fail(pos_, detail::message("is truncated while reading ", what));
    T v = raw_at<T>(pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string(const char* what) {
    const auto n = get_raw<std::uint64_t>(what);
    if (buf_.size() - pos_ < n) fail(pos_, detail::message("is truncated while reading ", what));
    std::string s = buf_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(std::uint64_t n, const std::string& name) {
    if (buf_.size() - pos_ < n) fail(pos_, detail::message("is truncated inside record '", name, "'"));
    pos_ += n;
  }

  std::string buf_;
  std::string source_;
  std::string kind_;
  std::uint32_t version_ = 0;
  std::size_t pos_ = 0;
  std::map<std::string, Record> records_;
};

}  // namespace ivkit
