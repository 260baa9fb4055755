/// @file
/// Internals of ivkit/io/npz.hpp: the zip container (PKWARE APPNOTE.TXT 6.3) as NumPy's np.savez
/// writes it through Python's zipfile, with zlib for deflate and CRC-32.
///
/// Reading goes through the central directory (the authority on names, sizes, CRCs and offsets):
/// end of central directory record (22 bytes + comment), the zip64 end record and its locator when
/// present (archives of 65,535 members or more, or beyond 4 GiB), central directory entries
/// (46 bytes + name + extra + comment; zip64 extra field 0x0001 for sizes and offsets of 0xffffffff),
/// then each member's local header (30 bytes + name + extra) and data, stored (method 0) or
/// deflated (method 8, raw deflate). np.savez forces zip64 on every member's local header (sizes
/// 0xffffffff there, real sizes in the local zip64 extra field); the central directory is used.
///
/// Writing: local header, data, central directory, zip64 end records when needed (65,535 members or
/// more, or offsets and sizes beyond 2^31 - 1, Python's limit), end record. Timestamps are fixed at
/// 1980-01-01 00:00 so that the same arrays always give the same bytes.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/io/detail/npy_format.hpp"

namespace ivkit {
namespace detail {
namespace npio {

inline constexpr std::uint32_t kSigLocal = 0x04034b50u;
inline constexpr std::uint32_t kSigCentral = 0x02014b50u;
inline constexpr std::uint32_t kSigEnd = 0x06054b50u;
inline constexpr std::uint32_t kSigEnd64 = 0x06064b50u;
inline constexpr std::uint32_t kSigLocator64 = 0x07064b50u;
inline constexpr std::uint64_t kZip64Limit = (std::uint64_t{1} << 31) - 1;  // Python's zipfile.ZIP64_LIMIT
inline constexpr std::uint64_t kZipCountLimit = 0xffffu;
inline constexpr std::size_t kZlibChunk = std::size_t{1} << 30;  // zlib counts in 32-bit uInt

/// CRC-32 (zlib's crc32, the zip polynomial) of n bytes, in chunks zlib can count.
inline std::uint32_t crc32_of(const char* data, std::size_t n) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const std::size_t k = std::min(n, kZlibChunk);
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(k));
    data += k;
    n -= k;
  }
  return static_cast<std::uint32_t>(crc);
}

/// Raw deflate (no zlib or gzip wrapper) of `in` at `level` (1..9), as zip method 8.
inline std::string deflate_raw(const std::string& in, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error(message("deflate: zlib's deflateInit2 failed (level ", level, ")"));
  std::string out;
  std::size_t in_pos = 0;
  int rc = Z_OK;
  do {
    const std::size_t take = std::min(in.size() - in_pos, kZlibChunk);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
    zs.avail_in = static_cast<uInt>(take);
    const int flush = in_pos + take == in.size() ? Z_FINISH : Z_NO_FLUSH;
    do {
      const std::size_t at = out.size();
      const std::size_t room = std::max<std::size_t>(std::size_t{1} << 16, std::min<std::size_t>(take / 2, kZlibChunk));
      out.resize(at + room);
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      zs.avail_out = static_cast<uInt>(room);
      rc = deflate(&zs, flush);
      out.resize(at + room - zs.avail_out);
      if (rc == Z_STREAM_ERROR) {
        deflateEnd(&zs);
        throw Error("deflate: zlib's deflate failed");
      }
    } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    in_pos += take;
  } while (in_pos < in.size());
  deflateEnd(&zs);
  return out;
}

/// Inflates the raw deflate stream `in` into exactly `out_size` bytes. Returns an empty string on
/// success, else what went wrong (for the caller's FormatError).
inline std::string inflate_raw(const std::string& in, std::string& out, std::uint64_t out_size) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) throw Error("inflate: zlib's inflateInit2 failed");
  out.assign(static_cast<std::size_t>(out_size), '\0');
  std::size_t in_pos = 0, out_pos = 0;
  int rc = Z_OK;
  std::string why;
  for (;;) {
    const std::size_t give_in = std::min(in.size() - in_pos, kZlibChunk);
    const std::size_t give_out = std::min(out.size() - out_pos, kZlibChunk);
    // One spare byte of output room shows a stream that inflates to more than out_size.
    char spare = 0;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
    zs.avail_in = static_cast<uInt>(give_in);
    zs.next_out = give_out ? reinterpret_cast<Bytef*>(out.data() + out_pos) : reinterpret_cast<Bytef*>(&spare);
    zs.avail_out = static_cast<uInt>(give_out ? give_out : 1);
    rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += give_in - zs.avail_in;
    if (give_out) {
      out_pos += give_out - zs.avail_out;
    } else if (zs.avail_out == 0) {
      why = message("inflates to more than the ", out_size, " bytes the directory gives");
      break;
    }
    if (rc == Z_STREAM_END) {
      if (out_pos != out.size()) why = message("inflates to ", out_pos, " bytes; the directory gives ", out_size);
      else if (in_pos != in.size()) why = message("has ", in.size() - in_pos, " bytes after the end of its deflate stream");
      break;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
      why = message("holds corrupt deflate data (zlib: ", zs.msg ? zs.msg : "error", ")");
      break;
    }
    if (rc == Z_BUF_ERROR && in_pos == in.size()) {
      why = "has deflate data that end before the stream does";
      break;
    }
  }
  inflateEnd(&zs);
  return why;
}

/// One member as the central directory describes it.
struct ZipEntry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_offset = 0;
  std::uint64_t directory_offset = 0;  ///< of its central directory record (for errors)
};

/// Reads the central directory of the zip archive in `src`. @throws FormatError through `w`
inline std::vector<ZipEntry> read_zip_directory(const ByteSource& src, const Where& w) {
  const std::uint64_t size = src.size();
  if (size < 22) {
    std::string head = src.read_string(0, static_cast<std::size_t>(size));
    if (head.size() >= 4 && load_le<std::uint32_t>(head.data()) == kSigLocal)
      w.fail(size, "is truncated: no end of central directory record");
    w.fail(0, "is not a zip archive (.npz): no end of central directory record");
  }
  // The end record is the last 22 bytes unless the archive has a comment (at most 65,535 bytes).
  const std::uint64_t tail_len = std::min<std::uint64_t>(size, 22 + 0xffff);
  const std::uint64_t tail_at = size - tail_len;
  const std::string tail = src.read_string(tail_at, static_cast<std::size_t>(tail_len));
  std::uint64_t end_at = size;  // not found
  for (std::size_t i = tail.size() - 22 + 1; i-- > 0;) {
    if (load_le<std::uint32_t>(tail.data() + i) != kSigEnd) continue;
    const std::uint64_t comment = load_le<std::uint16_t>(tail.data() + i + 20);
    if (i + 22 + comment == tail.size()) {
      end_at = tail_at + i;
      break;
    }
  }
  if (end_at == size) {
    const std::string head = src.read_string(0, 4);
    if (load_le<std::uint32_t>(head.data()) == kSigLocal) w.fail(size, "is truncated or corrupt: no end of central directory record");
    w.fail(0, "is not a zip archive (.npz): no end of central directory record");
  }
  const char* e = tail.data() + (end_at - tail_at);
  const std::uint16_t disk = load_le<std::uint16_t>(e + 4);
  const std::uint16_t cd_disk = load_le<std::uint16_t>(e + 6);
  std::uint64_t entries_here = load_le<std::uint16_t>(e + 8);
  std::uint64_t entries = load_le<std::uint16_t>(e + 10);
  std::uint64_t cd_size = load_le<std::uint32_t>(e + 12);
  std::uint64_t cd_offset = load_le<std::uint32_t>(e + 16);
  std::uint64_t cd_limit = end_at;  // the central directory ends before the end record(s)
  // Zip64: a locator right before the end record points to the zip64 end record.
  if (end_at >= 20 && load_le<std::uint32_t>(src.read_string(end_at - 20, 4).data()) == kSigLocator64) {
    const std::string loc = src.read_string(end_at - 20, 20);
    const std::uint64_t end64_at = load_le<std::uint64_t>(loc.data() + 8);
    if (load_le<std::uint32_t>(loc.data() + 4) != 0 || load_le<std::uint32_t>(loc.data() + 16) > 1)
      w.fail(end_at - 20, "is a multi-disk zip archive; ivkit reads single-file archives");
    if (end64_at > end_at - 20 || end_at - 20 - end64_at < 56)
      w.fail(end_at - 20, message("has a zip64 locator pointing to offset ", end64_at, ", where no zip64 end record fits"));
    const std::string r = src.read_string(end64_at, 56);
    if (load_le<std::uint32_t>(r.data()) != kSigEnd64) w.fail(end64_at, "has no zip64 end of central directory record where its locator points");
    if (load_le<std::uint32_t>(r.data() + 16) != 0 || load_le<std::uint32_t>(r.data() + 20) != 0)
      w.fail(end64_at, "is a multi-disk zip archive; ivkit reads single-file archives");
    entries_here = load_le<std::uint64_t>(r.data() + 24);
    entries = load_le<std::uint64_t>(r.data() + 32);
    cd_size = load_le<std::uint64_t>(r.data() + 40);
    cd_offset = load_le<std::uint64_t>(r.data() + 48);
    cd_limit = end64_at;
  } else if (disk != 0 || cd_disk != 0) {
    w.fail(end_at + 4, "is a multi-disk zip archive; ivkit reads single-file archives");
  }
  if (entries_here != entries) w.fail(end_at + 8, "is a multi-disk zip archive; ivkit reads single-file archives");
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    w.fail(end_at, message("has a central directory (", cd_size, " bytes at offset ", cd_offset, ") that does not fit before its end record at offset ",
                           cd_limit));
  if (entries > cd_size / 46)
    w.fail(end_at, message("claims ", entries, " members in a central directory of ", cd_size, " bytes"));
  const std::string cd = src.read_string(cd_offset, static_cast<std::size_t>(cd_size));
  std::vector<ZipEntry> out;
  out.reserve(static_cast<std::size_t>(entries));
  std::size_t p = 0;
  for (std::uint64_t i = 0; i < entries; ++i) {
    const std::uint64_t at = cd_offset + p;
    if (cd.size() - p < 46) w.fail(at, message("has a central directory that ends inside entry ", i));
    const char* c = cd.data() + p;
    if (load_le<std::uint32_t>(c) != kSigCentral) w.fail(at, message("has no central directory entry where entry ", i, " should be"));
    ZipEntry z;
    z.directory_offset = at;
    z.flags = load_le<std::uint16_t>(c + 8);
    z.method = load_le<std::uint16_t>(c + 10);
    z.crc = load_le<std::uint32_t>(c + 16);
    z.compressed_size = load_le<std::uint32_t>(c + 20);
    z.size = load_le<std::uint32_t>(c + 24);
    const std::size_t name_len = load_le<std::uint16_t>(c + 28);
    const std::size_t extra_len = load_le<std::uint16_t>(c + 30);
    const std::size_t comment_len = load_le<std::uint16_t>(c + 32);
    const std::uint16_t start_disk = load_le<std::uint16_t>(c + 34);
    z.local_offset = load_le<std::uint32_t>(c + 42);
    if (cd.size() - p - 46 < name_len + extra_len + comment_len) w.fail(at, message("has a central directory that ends inside entry ", i));
    z.name = cd.substr(p + 46, name_len);
    // Zip64 extra field: the 64-bit values of the fields that hold 0xffffffff (0xffff for the disk), in order.
    const bool need_size = z.size == 0xffffffffu, need_csize = z.compressed_size == 0xffffffffu, need_offset = z.local_offset == 0xffffffffu,
               need_disk = start_disk == 0xffffu;
    bool found64 = false;
    for (std::size_t q = p + 46 + name_len, end = q + extra_len; q + 4 <= end;) {
      const std::uint16_t id = load_le<std::uint16_t>(cd.data() + q);
      const std::size_t len = load_le<std::uint16_t>(cd.data() + q + 2);
      if (q + 4 + len > end) w.fail(cd_offset + q, message("member '", z.name, "' has a malformed extra field in the central directory"));
      if (id == 0x0001) {
        found64 = true;
        std::size_t f = q + 4;
        const std::size_t fend = q + 4 + len;
        auto take = [&](std::uint64_t* v, std::size_t bytes) {
          if (fend - f < bytes) w.fail(cd_offset + q, message("member '", z.name, "' has a zip64 extra field too short for its sizes and offset"));
          *v = bytes == 8 ? load_le<std::uint64_t>(cd.data() + f) : load_le<std::uint32_t>(cd.data() + f);
          f += bytes;
        };
        std::uint64_t disk64 = 0;
        if (need_size) take(&z.size, 8);
        if (need_csize) take(&z.compressed_size, 8);
        if (need_offset) take(&z.local_offset, 8);
        if (need_disk) take(&disk64, 4);
        if (need_disk && disk64 != 0) w.fail(at, message("member '", z.name, "' is on another disk; ivkit reads single-file archives"));
      }
      q += 4 + len;
    }
    if ((need_size || need_csize || need_offset) && !found64)
      w.fail(at, message("member '", z.name, "' has 32-bit fields of 0xffffffff but no zip64 extra field"));
    if (!need_disk && start_disk != 0) w.fail(at, message("member '", z.name, "' is on another disk; ivkit reads single-file archives"));
    out.push_back(std::move(z));
    p += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

/// The uncompressed bytes of member `z`, CRC-32 checked. @throws FormatError through `w`
inline std::string read_zip_member(const ByteSource& src, const Where& w, const ZipEntry& z) {
  const std::uint64_t size = src.size();
  const std::string who = message("member '", z.name, "'");
  if (z.flags & 0x1u) w.fail(z.directory_offset, who + " is encrypted; ivkit reads unencrypted archives");
  if (z.method != 0 && z.method != 8)
    w.fail(z.directory_offset, message(who, " uses compression method ", z.method, "; ivkit reads stored (0) and deflated (8) members"));
  if (z.local_offset > size || size - z.local_offset < 30) w.fail(size, who + ": the archive ends inside its local header");
  const std::string lh = src.read_string(z.local_offset, 30);
  if (load_le<std::uint32_t>(lh.data()) != kSigLocal) w.fail(z.local_offset, who + " has no local header where the central directory points");
  const std::uint64_t name_len = load_le<std::uint16_t>(lh.data() + 26);
  const std::uint64_t extra_len = load_le<std::uint16_t>(lh.data() + 28);
  if (size - z.local_offset - 30 < name_len + extra_len) w.fail(size, who + ": the archive ends inside its local header");
  if (src.read_string(z.local_offset + 30, static_cast<std::size_t>(name_len)) != z.name)
    w.fail(z.local_offset + 30, who + " has another name in its local header than in the central directory");
  const std::uint64_t data_at = z.local_offset + 30 + name_len + extra_len;
  if (size - data_at < z.compressed_size)
    w.fail(size, message(who, ": the archive ends inside its data (", z.compressed_size, " bytes from offset ", data_at, ")"));
  std::string data;
  if (z.method == 0) {
    if (z.compressed_size != z.size)
      w.fail(z.directory_offset, message(who, " is stored (not compressed) but its sizes differ: ", z.compressed_size, " and ", z.size));
    data = src.read_string(data_at, static_cast<std::size_t>(z.size));
  } else {
    // Deflate expands at most about 1032:1; a larger claim is corrupt (and must not be allocated).
    if (z.size / 1032 > z.compressed_size + 1)
      w.fail(z.directory_offset, message(who, " claims ", z.size, " bytes inflated from ", z.compressed_size,
                                         "; deflate cannot expand that much"));
    const std::string packed = src.read_string(data_at, static_cast<std::size_t>(z.compressed_size));
    const std::string why = inflate_raw(packed, data, z.size);
    if (!why.empty()) w.fail(data_at, who + " " + why);
  }
  const std::uint32_t crc = crc32_of(data.data(), data.size());
  if (crc != z.crc) {
    char got[11], want[11];
    std::snprintf(got, sizeof got, "0x%08x", static_cast<unsigned>(crc));
    std::snprintf(want, sizeof want, "0x%08x", static_cast<unsigned>(z.crc));
    w.fail(data_at, message(who, " fails its CRC-32 check: the data give ", got, ", the directory says ", want));
  }
  return data;
}

/// Builds a zip archive in memory, member by member.
class ZipBuilder {
 public:
  /// Appends member `name` with the uncompressed bytes `data`, deflated at `level` (1..9) or
  /// stored (level 0).
  void add(const std::string& name, const std::string& data, int level) {
    const std::uint32_t crc = crc32_of(data.data(), data.size());
    std::string packed;
    if (level > 0) packed = deflate_raw(data, level);
    const std::string& body = level > 0 ? packed : data;
    const std::uint16_t method = level > 0 ? 8 : 0;
    const std::uint64_t offset = out_.size();
    const bool big_sizes = data.size() > kZip64Limit || body.size() > kZip64Limit;
    const bool big_offset = offset > kZip64Limit;
    bool utf8 = false;
    for (char ch : name) utf8 = utf8 || (static_cast<unsigned char>(ch) & 0x80u);
    const std::uint16_t flags = utf8 ? 0x0800u : 0;  // bit 11: the name is UTF-8
    // Local header; zip64 (both sizes in the extra field) when the sizes need it.
    std::string local_extra;
    if (big_sizes) {
      store_le<std::uint16_t>(local_extra, 0x0001);
      store_le<std::uint16_t>(local_extra, 16);
      store_le<std::uint64_t>(local_extra, data.size());
      store_le<std::uint64_t>(local_extra, body.size());
    }
    const std::uint16_t version = (big_sizes || big_offset) ? 45 : 20;
    store_le<std::uint32_t>(out_, kSigLocal);
    store_le<std::uint16_t>(out_, version);
    store_le<std::uint16_t>(out_, flags);
    store_le<std::uint16_t>(out_, method);
    store_le<std::uint16_t>(out_, kDosTime);
    store_le<std::uint16_t>(out_, kDosDate);
    store_le<std::uint32_t>(out_, crc);
    store_le<std::uint32_t>(out_, big_sizes ? 0xffffffffu : static_cast<std::uint32_t>(body.size()));
    store_le<std::uint32_t>(out_, big_sizes ? 0xffffffffu : static_cast<std::uint32_t>(data.size()));
    store_le<std::uint16_t>(out_, static_cast<std::uint16_t>(name.size()));
    store_le<std::uint16_t>(out_, static_cast<std::uint16_t>(local_extra.size()));
    out_ += name;
    out_ += local_extra;
    out_ += body;
    // Central directory entry; zip64 extra with the fields that do not fit.
    std::string extra;
    if (big_sizes || big_offset) {
      std::string fields;
      if (big_sizes) {
        store_le<std::uint64_t>(fields, data.size());
        store_le<std::uint64_t>(fields, body.size());
      }
      if (big_offset) store_le<std::uint64_t>(fields, offset);
      store_le<std::uint16_t>(extra, 0x0001);
      store_le<std::uint16_t>(extra, static_cast<std::uint16_t>(fields.size()));
      extra += fields;
    }
    store_le<std::uint32_t>(central_, kSigCentral);
    store_le<std::uint16_t>(central_, static_cast<std::uint16_t>((3u << 8) | version));  // made by: Unix
    store_le<std::uint16_t>(central_, version);
    store_le<std::uint16_t>(central_, flags);
    store_le<std::uint16_t>(central_, method);
    store_le<std::uint16_t>(central_, kDosTime);
    store_le<std::uint16_t>(central_, kDosDate);
    store_le<std::uint32_t>(central_, crc);
    store_le<std::uint32_t>(central_, big_sizes ? 0xffffffffu : static_cast<std::uint32_t>(body.size()));
    store_le<std::uint32_t>(central_, big_sizes ? 0xffffffffu : static_cast<std::uint32_t>(data.size()));
    store_le<std::uint16_t>(central_, static_cast<std::uint16_t>(name.size()));
    store_le<std::uint16_t>(central_, static_cast<std::uint16_t>(extra.size()));
    store_le<std::uint16_t>(central_, 0);                  // comment length
    store_le<std::uint16_t>(central_, 0);                  // disk number start
    store_le<std::uint16_t>(central_, 0);                  // internal attributes
    store_le<std::uint32_t>(central_, 0100644u << 16);     // external: a regular file, rw-r--r--
    store_le<std::uint32_t>(central_, big_offset ? 0xffffffffu : static_cast<std::uint32_t>(offset));
    central_ += name;
    central_ += extra;
    ++count_;
  }

  std::uint64_t count() const { return count_; }

  /// The complete archive: members, central directory, end records.
  std::string finish() const {
    std::string out = out_;
    const std::uint64_t cd_offset = out.size();
    out += central_;
    const std::uint64_t cd_size = central_.size();
    const bool zip64 = count_ >= kZipCountLimit || cd_offset > kZip64Limit || cd_size > kZip64Limit;
    if (zip64) {
      const std::uint64_t end64_at = out.size();
      store_le<std::uint32_t>(out, kSigEnd64);
      store_le<std::uint64_t>(out, 44);  // size of the rest of the record
      store_le<std::uint16_t>(out, 45);  // version made by
      store_le<std::uint16_t>(out, 45);  // version needed
      store_le<std::uint32_t>(out, 0);   // this disk
      store_le<std::uint32_t>(out, 0);   // disk of the central directory
      store_le<std::uint64_t>(out, count_);
      store_le<std::uint64_t>(out, count_);
      store_le<std::uint64_t>(out, cd_size);
      store_le<std::uint64_t>(out, cd_offset);
      store_le<std::uint32_t>(out, kSigLocator64);
      store_le<std::uint32_t>(out, 0);
      store_le<std::uint64_t>(out, end64_at);
      store_le<std::uint32_t>(out, 1);  // total disks
    }
    store_le<std::uint32_t>(out, kSigEnd);
    store_le<std::uint16_t>(out, 0);
    store_le<std::uint16_t>(out, 0);
    const auto n16 = static_cast<std::uint16_t>(std::min<std::uint64_t>(count_, 0xffffu));
    store_le<std::uint16_t>(out, n16);
    store_le<std::uint16_t>(out, n16);
    store_le<std::uint32_t>(out, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd_size, 0xffffffffu)));
    store_le<std::uint32_t>(out, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd_offset, 0xffffffffu)));
    store_le<std::uint16_t>(out, 0);  // comment length
    return out;
  }

 private:
  static constexpr std::uint16_t kDosTime = 0;                        // 00:00:00
  static constexpr std::uint16_t kDosDate = (0u << 9) | (1u << 5) | 1u;  // 1980-01-01

  std::string out_;
  std::string central_;
  std::uint64_t count_ = 0;
};

}  // namespace npio
}  // namespace detail
}  // namespace ivkit
