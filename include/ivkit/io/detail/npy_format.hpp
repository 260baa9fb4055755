/// @file
/// Internals of ivkit/io/npy.hpp and ivkit/io/npz.hpp: a byte source (memory, or a file read at
/// offsets), little-endian helpers, the parser of the .npy header (a Python dict literal), the
/// decoding of the array data and the encoding of a header exactly as NumPy's np.save writes it.
///
/// The format (numpy/lib/format.py, "Format Version 1.0/2.0/3.0"): the magic "\x93NUMPY", one byte
/// major and one byte minor version, the header length HEADER_LEN (u16 little-endian in version
/// 1.0, u32 in 2.0 and 3.0), then HEADER_LEN bytes of header: the repr of a Python dict with the
/// keys 'descr' (the dtype string, e.g. '<f4'), 'fortran_order' (True/False) and 'shape' (a tuple
/// of ints), padded with spaces and ended by '\n' so that the array data start at a multiple of 64
/// bytes. The data follow: the elements in C (row-major) or Fortran (column-major) order.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ivkit/core/byte_order.hpp"
#include "ivkit/core/error.hpp"
#include "ivkit/core/types.hpp"

namespace ivkit {
namespace detail {
namespace npio {

/// Unsigned little-endian integer at `p`.
template <class T>
T load_le(const unsigned char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | (static_cast<T>(p[i]) << (8 * i)));
  return v;
}
template <class T>
T load_le(const char* p) {
  return load_le<T>(reinterpret_cast<const unsigned char*>(p));
}

/// Appends the unsigned integer `v` little-endian.
template <class T>
void store_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>(static_cast<unsigned char>((v >> (8 * i)) & 0xffu)));
}

inline void byteswap_items(unsigned char* p, std::size_t count, std::size_t item) {
  for (std::size_t k = 0; k < count; ++k, p += item) std::reverse(p, p + item);
}

/// Raises FormatError "<fn>: <where> (offset N) <what>", `where` naming the file (and member).
struct Where {
  const char* fn;
  std::string where;
  [[noreturn]] void fail(std::uint64_t offset, const std::string& what) const {
    throw FormatError(message(fn, ": ", where, " (offset ", offset, ") ", what));
  }
};

/// Bytes read at offsets from memory or from a file opened for reading; knows the total size.
class ByteSource {
 public:
  /// `size` bytes at `data` (not copied: they must outlive the source).
  ByteSource(const char* data, std::uint64_t size) : data_(data), size_(size) {}

  struct File {};
  /// The file at `path`. @throws IoError naming `fn` when it cannot be opened or its size found
  ByteSource(File, const char* fn, const std::string& path) : fn_(fn), path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw IoError(message(fn, ": cannot open '", path, "'"));
    if (!seek(0, SEEK_END)) {
      close();
      throw IoError(message(fn, ": cannot find the size of '", path, "'"));
    }
    const auto end = tell();
    if (end < 0) {
      close();
      throw IoError(message(fn, ": cannot find the size of '", path, "'"));
    }
    size_ = static_cast<std::uint64_t>(end);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource() { close(); }

  std::uint64_t size() const { return size_; }

  /// Copies bytes [offset, offset + n) to `dst`; the caller has checked offset + n <= size().
  /// @throws IoError when the file cannot be read
  void read(std::uint64_t offset, std::size_t n, void* dst) const {
    IVKIT_ASSERT(offset <= size_ && n <= size_ - offset);
    if (n == 0) return;
    if (!file_) {
      std::memcpy(dst, data_ + offset, n);
      return;
    }
    if (!seek(static_cast<long long>(offset), SEEK_SET) || std::fread(dst, 1, n, file_) != n)
      throw IoError(message(fn_, ": error reading '", path_, "' at offset ", offset));
  }
  std::string read_string(std::uint64_t offset, std::size_t n) const {
    std::string s(n, '\0');
    read(offset, n, s.data());
    return s;
  }

 private:
  bool seek(long long offset, int whence) const {
#if defined(_WIN32)
    return _fseeki64(file_, offset, whence) == 0;
#elif defined(__unix__) || defined(__APPLE__)
    return fseeko(file_, static_cast<off_t>(offset), whence) == 0;
#else
    return std::fseek(file_, static_cast<long>(offset), whence) == 0;
#endif
  }
  long long tell() const {
#if defined(_WIN32)
    return _ftelli64(file_);
#elif defined(__unix__) || defined(__APPLE__)
    return static_cast<long long>(ftello(file_));
#else
    return std::ftell(file_);
#endif
  }
  void close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }

  const char* data_ = nullptr;
  std::FILE* file_ = nullptr;
  const char* fn_ = "";
  std::string path_;
  std::uint64_t size_ = 0;
};

/// An element type ivkit reads: kind 'f' (IEEE float) or 'i' (signed integer), 4 or 8 bytes.
struct ItemType {
  char kind = 'f';
  int size = 4;
  bool big_endian = false;
};

/// Parses the dtype strings ivkit reads: '<f4' '<f8' '>f4' '>f8' '<i4' '<i8' '>i4' '>i8' (and the
/// native-order spellings 'f4', '=f4', ... as the host's order). False for anything else.
inline bool parse_item_type(const std::string& descr, ItemType* t) {
  std::string body = descr;
  bool big = !host_is_little_endian();
  if (!body.empty() && (body[0] == '<' || body[0] == '>' || body[0] == '=')) {
    if (body[0] != '=') big = body[0] == '>';
    body.erase(0, 1);
  }
  if (body == "f4" || body == "f8" || body == "i4" || body == "i8") {
    t->kind = body[0];
    t->size = body[1] - '0';
    t->big_endian = big;
    return true;
  }
  return false;
}

/// "(3, 4)", "(5,)", "()": a shape as Python writes the tuple.
inline std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

/// Everything the preamble and the header of a .npy file say.
struct Header {
  int major = 1;
  int minor = 0;
  std::string descr;
  ItemType type;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::uint64_t header_offset = 10;  ///< of the dict text (10 in version 1.0, 12 in 2.0 and 3.0)
  std::uint64_t data_offset = 0;     ///< of the first element
  std::uint64_t count = 0;           ///< number of elements (1 for shape ())
  std::uint64_t data_bytes = 0;      ///< count * item size
};

/// Recursive-descent parser of the Python dict literal of a .npy header. Accepts what
/// ast.literal_eval accepts for the three keys: any key order, spaces, tabs and newlines between
/// tokens, trailing commas, single or double quotes; 'L' suffixes on the shape's integers in version
/// 1.0 and 2.0 headers (files written by Python 2).
class HeaderParser {
 public:
  HeaderParser(const std::string& text, std::uint64_t base, const Where& where, bool python2_longs)
      : s_(text), base_(base), w_(where), longs_(python2_longs) {}

  void parse(Header* h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    if (peek() != '{') fail("the header is not a Python dict literal (it does not start with '{')");
    ++p_;
    for (;;) {
      skip_ws();
      if (peek() == '}') {
        ++p_;
        break;
      }
      const std::size_t key_at = p_;
      if (peek() != '\'' && peek() != '"') fail("expected a quoted key or '}' in the header dict");
      const std::string key = parse_string();
      skip_ws();
      if (peek() != ':') fail(message("expected ':' after the key '", key, "'"));
      ++p_;
      skip_ws();
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &have_descr;
        if (peek() == '[' || peek() == '(') fail("has a structured dtype (a list of fields); ivkit reads plain numeric arrays");
        if (peek() != '\'' && peek() != '"') fail("'descr' must be a dtype string such as '<f4'");
        h->descr = parse_string();
      } else if (key == "fortran_order") {
        seen = &have_order;
        h->fortran_order = parse_bool();
      } else if (key == "shape") {
        seen = &have_shape;
        h->shape = parse_shape();
      } else {
        fail_at(key_at, message("has an unexpected key '", key, "' (a .npy header holds exactly 'descr', 'fortran_order' and 'shape')"));
      }
      if (*seen) fail_at(key_at, message("has the key '", key, "' twice"));
      *seen = true;
      skip_ws();
      if (peek() == ',') {
        ++p_;
      } else if (peek() == '}') {
        ++p_;
        break;
      } else {
        fail("expected ',' or '}' in the header dict");
      }
    }
    skip_ws();
    if (p_ != s_.size()) fail("has unexpected text after the header dict");
    const char* missing = !have_descr ? "descr" : !have_order ? "fortran_order" : !have_shape ? "shape" : nullptr;
    if (missing) fail_at(0, message("lacks the key '", missing, "' (a .npy header holds 'descr', 'fortran_order' and 'shape')"));
  }

 private:
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
  bool at_end() const { return p_ >= s_.size(); }
  [[noreturn]] void fail(const std::string& what) const { fail_at(p_, what); }
  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const { w_.fail(base_ + at, what); }

  void skip_ws() {
    while (!at_end() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\f')) ++p_;
  }

  std::string parse_string() {
    const char q = s_[p_];
    const std::size_t start = ++p_;
    while (!at_end() && s_[p_] != q) {
      if (s_[p_] == '\\') fail("has a string with an escape sequence (not used in .npy headers)");
      if (s_[p_] == '\n') break;
      ++p_;
    }
    if (at_end() || s_[p_] != q) fail_at(start - 1, "has an unterminated string");
    return s_.substr(start, p_++ - start);
  }

  bool parse_bool() {
    const std::size_t start = p_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_')) ++p_;
    const std::string word = s_.substr(start, p_ - start);
    if (word == "True") return true;
    if (word == "False") return false;
    if (word.empty() && at_end()) fail("ends where the value of 'fortran_order' should be");
    fail_at(start, message("'fortran_order' must be True or False, not '", word.empty() ? std::string(1, peek()) : word, "'"));
  }

  std::uint64_t parse_int() {
    const std::size_t start = p_;
    if (peek() == '-') fail("has a negative dimension in 'shape'");
    if (!(peek() >= '0' && peek() <= '9')) fail("expected a non-negative integer in 'shape'");
    std::uint64_t v = 0;
    bool overflow = false;
    while (peek() >= '0' && peek() <= '9') {
      const auto d = static_cast<std::uint64_t>(peek() - '0');
      if (v > (static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - d) / 10) overflow = true;
      v = v * 10 + d;
      ++p_;
    }
    const std::string digits = s_.substr(start, p_ - start);
    if (digits.size() > 1 && digits[0] == '0' && digits.find_first_not_of('0') != std::string::npos)
      fail_at(start, message("has the invalid integer '", digits, "' in 'shape' (a leading zero)"));
    if (overflow) fail_at(start, message("has the dimension ", digits, " in 'shape', beyond 2^63 - 1"));
    if (longs_ && (peek() == 'L' || peek() == 'l')) ++p_;
    if (std::isalpha(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == '_')
      fail("expected a non-negative integer in 'shape'");
    return v;
  }

  std::vector<std::uint64_t> parse_shape() {
    if (peek() != '(') fail("'shape' must be a tuple of integers such as (3, 4) or (3,)");
    ++p_;
    std::vector<std::uint64_t> shape;
    bool comma_after_last = false;
    for (;;) {
      skip_ws();
      if (peek() == ')') {
        if (shape.size() == 1 && !comma_after_last)
          fail(message("'shape' is (", shape[0], "), an integer, not a tuple (a 1-D shape is written (", shape[0], ",))"));
        ++p_;
        return shape;
      }
      if (!shape.empty() && !comma_after_last) fail("expected ',' or ')' in 'shape'");
      shape.push_back(parse_int());
      skip_ws();
      comma_after_last = peek() == ',';
      if (comma_after_last) ++p_;
    }
  }

  const std::string& s_;
  std::uint64_t base_;
  const Where& w_;
  bool longs_;
  std::size_t p_ = 0;
};

/// Reads and checks the preamble and header of the .npy bytes in `src`: magic, version, header
/// length, the dict, the dtype, and that the data after the header are exactly count * item size
/// bytes (checked against the size of the source before anything of that size is allocated).
/// @throws FormatError through `w`
inline Header read_header(const ByteSource& src, const Where& w) {
  static const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
  Header h;
  const std::uint64_t size = src.size();
  unsigned char pre[12] = {};
  src.read(0, static_cast<std::size_t>(std::min<std::uint64_t>(size, 12)), pre);
  const std::size_t magic_have = static_cast<std::size_t>(std::min<std::uint64_t>(size, 6));
  if (std::memcmp(pre, kMagic, magic_have) != 0) w.fail(0, "is not a NumPy .npy file (it does not start with \"\\x93NUMPY\")");
  if (size < 8) w.fail(size, "is truncated inside the .npy magic and version");
  h.major = pre[6];
  h.minor = pre[7];
  if (!((h.major == 1 || h.major == 2 || h.major == 3) && h.minor == 0))
    w.fail(6, message("has .npy format version ", h.major, ".", h.minor, "; ivkit reads versions 1.0, 2.0 and 3.0"));
  h.header_offset = h.major == 1 ? 10 : 12;
  if (size < h.header_offset) w.fail(size, "is truncated inside the header length");
  const std::uint64_t header_len = h.major == 1 ? load_le<std::uint16_t>(pre + 8) : load_le<std::uint32_t>(pre + 8);
  if (size - h.header_offset < header_len)
    w.fail(size, message("is truncated inside the header (", header_len, " header bytes from offset ", h.header_offset, ", ",
                         size - h.header_offset, " are there)"));
  h.data_offset = h.header_offset + header_len;
  const std::string text = src.read_string(h.header_offset, static_cast<std::size_t>(header_len));
  HeaderParser(text, h.header_offset, w, h.major <= 2).parse(&h);
  if (!parse_item_type(h.descr, &h.type))
    w.fail(h.header_offset, message("has dtype '", h.descr,
                                    "'; ivkit reads float32 and float64 arrays ('<f4', '<f8', big-endian '>f4', '>f8'), and int32 and "
                                    "int64 ones ('<i4', '<i8', '>i4', '>i8') converted to floating point"));
  // Element count and byte size, checked against what the source holds before any allocation.
  const std::uint64_t available = size - h.data_offset;
  const auto item = static_cast<std::uint64_t>(h.type.size);
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  bool zero = false, overflow = false;
  // A dimension whose own size in bytes passes 2^62 is refused even in an empty array (shape
  // (0, 2^63 - 1) holds no data, but every size computed from it overflows).
  for (auto d : h.shape)
    if (d > (std::uint64_t{1} << 62) / item)
      w.fail(h.header_offset, message("has the dimension ", d, " in 'shape' (", shape_string(h.shape), "): ", d, " items of ", item,
                                      " bytes pass 2^62 bytes"));
  for (auto d : h.shape) zero = zero || d == 0;
  std::uint64_t count = zero ? 0 : 1;
  for (auto d : h.shape) {
    if (zero) break;
    if (count > max / d) {
      overflow = true;
      break;
    }
    count *= d;
  }
  overflow = overflow || count > max / item;
  const std::string what = message("shape ", shape_string(h.shape), " of '", h.descr, "'");
  if (overflow || count * item > available)
    w.fail(size, message("ends inside the array data: ", what, " needs ", overflow ? std::string("more than 2^64") : std::to_string(count * item),
                         " bytes from offset ", h.data_offset, ", ", available, " are there"));
  h.count = count;
  h.data_bytes = count * item;
  if (h.data_bytes < available)
    w.fail(h.data_offset + h.data_bytes,
           message("has ", available - h.data_bytes, " bytes after the array data (", what, " needs ", h.data_bytes, " bytes from offset ",
                   h.data_offset, ")"));
  return h;
}

template <class S, class Raw>
S convert_item(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(Raw)];
  std::memcpy(b, p, sizeof(Raw));
  if (swap) std::reverse(b, b + sizeof(Raw));
  Raw v;
  std::memcpy(&v, b, sizeof(Raw));
  return static_cast<S>(v);
}

/// Decodes `count` items of type `t` at `p` to S.
template <class S>
S decode_item(const ItemType& t, const unsigned char* p, bool swap) {
  if (t.kind == 'f') return t.size == 4 ? convert_item<S, float>(p, swap) : convert_item<S, double>(p, swap);
  return t.size == 4 ? convert_item<S, std::int32_t>(p, swap) : convert_item<S, std::int64_t>(p, swap);
}

/// Reads the array data described by `h` from `src` into `dst`: element (r, c) of the rows x cols
/// array (a 1-D array is rows x 1) goes to dst[r * rs + c * cs]. Reads straight into `dst` when the
/// file's order, item type and byte order match; otherwise converts 1 MiB at a time.
template <class S>
void read_data(const ByteSource& src, const Header& h, std::uint64_t rows, std::uint64_t cols, S* dst, std::ptrdiff_t rs,
               std::ptrdiff_t cs) {
  if (h.count == 0) return;
  const bool swap = h.type.big_endian == host_is_little_endian();
  const auto item = static_cast<std::size_t>(h.type.size);
  const bool fortran = h.fortran_order && h.shape.size() == 2;
  // The k-th stored element is (k / cols, k % cols) in C order, (k % rows, k / rows) in Fortran
  // order; `identity` when that lands on dst[k].
  const auto rows_i = static_cast<std::ptrdiff_t>(rows), cols_i = static_cast<std::ptrdiff_t>(cols);
  const bool identity = fortran ? ((rows <= 1 || rs == 1) && (cols <= 1 || cs == std::max<std::ptrdiff_t>(rows_i, 1)))
                                : ((cols <= 1 || cs == 1) && (rows <= 1 || rs == std::max<std::ptrdiff_t>(cols_i, 1)));
  const bool same_type = h.type.kind == 'f' && item == sizeof(S);
  if (identity && same_type) {
    src.read(h.data_offset, static_cast<std::size_t>(h.data_bytes), dst);
    if (swap) byteswap_items(reinterpret_cast<unsigned char*>(dst), static_cast<std::size_t>(h.count), item);
    return;
  }
  const std::size_t per_chunk = std::max<std::size_t>(1, (std::size_t{1} << 20) / item);
  std::vector<unsigned char> buf(std::min<std::uint64_t>(h.count, per_chunk) * item);
  std::uint64_t r = 0, c = 0;
  for (std::uint64_t k0 = 0; k0 < h.count; k0 += per_chunk) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(per_chunk, h.count - k0));
    src.read(h.data_offset + k0 * item, n * item, buf.data());
    for (std::size_t j = 0; j < n; ++j) {
      dst[static_cast<std::ptrdiff_t>(r) * rs + static_cast<std::ptrdiff_t>(c) * cs] = decode_item<S>(h.type, buf.data() + j * item, swap);
      if (fortran) {
        if (++r == rows) r = 0, ++c;
      } else if (++c == cols) {
        c = 0, ++r;
      }
    }
  }
}

/// NumPy's ARRAY_ALIGN and GROWTH_AXIS_MAX_DIGITS (numpy/lib/format.py, NumPy >= 1.24).
inline constexpr std::size_t kArrayAlign = 64;
inline constexpr std::size_t kGrowthAxisMaxDigits = 21;

/// The header dict exactly as np.save writes it: keys sorted, "'key': repr(value), " each, then
/// spaces so that the growth axis (the first for C order, the last for Fortran) has room for 21
/// digits, letting the array be appended to in place.
inline std::string header_dict(const std::string& descr, bool fortran_order, const std::vector<std::uint64_t>& shape) {
  std::string d = "{'descr': '" + descr + "', 'fortran_order': " + (fortran_order ? "True" : "False") + ", 'shape': " + shape_string(shape) +
                  ", }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(fortran_order ? shape.back() : shape.front()).size();
    if (digits < kGrowthAxisMaxDigits) d.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  return d;
}

/// Magic, version, header length, `dict`, spaces and '\n' so that the data start at a multiple of
/// 64 bytes: format version 1.0, or 2.0 when the header is longer than a u16 can say (NumPy's
/// _wrap_header, including its 64 spaces when the length is already a multiple of 64).
inline std::string wrap_header(const std::string& dict) {
  const std::size_t hlen = dict.size() + 1;  // with the '\n'
  int major = 1;
  std::size_t len_bytes = 2;
  std::size_t pad = kArrayAlign - ((8 + len_bytes + hlen) % kArrayAlign);
  if (hlen + pad > 0xffffu) {
    major = 2;
    len_bytes = 4;
    pad = kArrayAlign - ((8 + len_bytes + hlen) % kArrayAlign);
  }
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  if (major == 1)
    store_le(out, static_cast<std::uint16_t>(hlen + pad));
  else
    store_le(out, static_cast<std::uint32_t>(hlen + pad));
  out += dict;
  out.append(pad, ' ');
  out.push_back('\n');
  return out;
}

/// Appends the elements of `a` (a plain matrix of float or double) in C or Fortran order,
/// little-endian.
template <class S, int Order>
void append_values(std::string& out, const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Order>>& a) {
  const bool row_major = Order == Eigen::RowMajor;
  const Index outer = row_major ? a.rows() : a.cols();
  const Index inner = row_major ? a.cols() : a.rows();
  if (outer == 0 || inner == 0) return;
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(outer * inner) * sizeof(S));
  char* p = out.data() + at;
  for (Index o = 0; o < outer; ++o) {
    const S* src = a.data() + o * a.outerStride();
    std::memcpy(p, src, static_cast<std::size_t>(inner) * sizeof(S));
    p += static_cast<std::size_t>(inner) * sizeof(S);
  }
  if (!host_is_little_endian())
    byteswap_items(reinterpret_cast<unsigned char*>(out.data() + at), static_cast<std::size_t>(outer * inner), sizeof(S));
}

/// The complete .npy file for `a`: a 1-D array of a.size() elements when `one_d`, else 2-D in C or
/// Fortran order.
template <class Derived>
std::string npy_file_bytes(const Eigen::MatrixBase<Derived>& a, bool one_d, bool fortran) {
  using S = typename Derived::Scalar;
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>, "ivkit .npy: write float or double arrays (use .cast<float>())");
  const char* descr = sizeof(S) == 4 ? "<f4" : "<f8";
  std::vector<std::uint64_t> shape;
  if (one_d) {
    shape = {static_cast<std::uint64_t>(a.size())};
    fortran = false;  // a 1-D array is C-contiguous; NumPy writes False
  } else {
    shape = {static_cast<std::uint64_t>(a.rows()), static_cast<std::uint64_t>(a.cols())};
  }
  std::string out = wrap_header(header_dict(descr, fortran, shape));
  out.reserve(out.size() + static_cast<std::size_t>(a.size()) * sizeof(S));
  if (one_d && a.cols() != 1) {
    append_values<S, Eigen::RowMajor>(out, a.derived());  // a row: row-major storage is contiguous
  } else if (fortran || one_d) {
    append_values<S, Eigen::ColMajor>(out, a.derived());
  } else {
    append_values<S, Eigen::RowMajor>(out, a.derived());
  }
  return out;
}

}  // namespace npio
}  // namespace detail
}  // namespace ivkit
