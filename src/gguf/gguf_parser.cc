// Parsing and validation of GGUF bytes into a GgufFile: header, metadata,
// tensor infos, alignment and data placement. Every count and length is checked
// against the bytes left and the limits in gguf_types.h before it is used.
#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <numeric>
#include <utility>

#include "src/gguf/gguf.h"

namespace quest {

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader assumes a little-endian host");

namespace {

// Smallest encodings, used to bound counts by the bytes left before reserving.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;  // key len, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes =
    8 + 1 + 4 + 8 + 4 + 8;                           // name, n_dims, 1 dim, type, offset
constexpr uint64_t kMaxReserve = uint64_t{1} << 20;  // cap on trusting a count up front

using ull = unsigned long long;

// Names the field being read; called only to build an error message.
using FieldFn = std::function<std::string()>;

}  // namespace

class GgufParser {
 public:
  explicit GgufParser(GgufFile* file) : f_(*file), data_(file->data_), size_(file->size_) {}

  Status Parse() {
    QE_RETURN_IF_ERROR(ParseHeader());
    QE_RETURN_IF_ERROR(ParseMetadata());
    QE_RETURN_IF_ERROR(ParseAlignment());
    QE_RETURN_IF_ERROR(ParseTensorInfos());
    return PlaceTensors();
  }

 private:
  size_t remaining() const { return size_ - pos_; }

  Status Error(size_t offset, const std::string& field, const std::string& what) const {
    return Status::Error(StrFormat("%s: %s at offset %zu: %s", f_.path_.c_str(), field.c_str(),
                                   offset, what.c_str()));
  }
  Status Truncated(size_t offset, const std::string& field, uint64_t need) const {
    return Error(offset, field,
                 StrFormat("needs %llu bytes but only %zu are left (file size %zu)",
                           static_cast<ull>(need), size_ - std::min(offset, size_), size_));
  }

  template <typename T>
  bool Read(T* out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  // A u64 length and that many bytes. `field()` is only evaluated on error.
  template <typename Field>
  Status ReadString(std::string* out, uint64_t max_len, const Field& field) {
    const size_t at = pos_;
    uint64_t len = 0;
    if (!Read(&len)) return Truncated(at, field() + " (string length)", 8);
    if (len > max_len) {
      return Error(at, field(),
                   StrFormat("string length %llu exceeds the limit of %llu bytes",
                             static_cast<ull>(len), static_cast<ull>(max_len)));
    }
    if (len > remaining()) {
      return Error(at, field(),
                   StrFormat("string length %llu runs past the end of the file (%zu bytes left)",
                             static_cast<ull>(len), remaining()));
    }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status();
  }

  // The bytes of a value of `type` (its type id already read). Not a template
  // on the field callable: arrays of arrays would instantiate it without end.
  Status ReadValue(GgufValueType type, int depth, GgufValue* out, const FieldFn& field) {
    out->type = type;
    out->offset = pos_;
    if (type == GgufValueType::kString) return ReadString(&out->str, kGgufMaxStringBytes, field);
    if (type != GgufValueType::kArray) {
      const size_t n = GgufScalarSize(type);
      if (remaining() < n) return Truncated(pos_, field(), n);
      out->scalar = data_ + pos_;
      if (type == GgufValueType::kBool && *out->scalar > 1) {
        return Error(pos_, field(), StrFormat("bool value %u is neither 0 nor 1", *out->scalar));
      }
      pos_ += n;
      return Status();
    }
    return ReadArray(depth, out, field);
  }

  Status ReadArray(int depth, GgufValue* out, const FieldFn& field) {
    const size_t at = pos_;
    if (depth >= kGgufMaxArrayNesting) {
      return Error(at, field(), StrFormat("arrays nested more than %d deep", kGgufMaxArrayNesting));
    }
    uint32_t elem_id = 0;
    uint64_t count = 0;
    if (!Read(&elem_id)) return Truncated(at, field() + " (array element type)", 4);
    if (!IsValidGgufValueType(elem_id)) {
      return Error(at, field(), StrFormat("unknown array element type %u", elem_id));
    }
    if (!Read(&count)) return Truncated(at + 4, field() + " (array length)", 8);
    const auto elem = static_cast<GgufValueType>(elem_id);
    out->array_type = elem;
    out->array_size = count;
    out->array_data = data_ + pos_;
    // A string takes >= 8 bytes (its length), a nested array >= 12 (type, count).
    const size_t scalar = GgufScalarSize(elem);
    const uint64_t min_elem = scalar != 0 ? scalar : (elem == GgufValueType::kString ? 8 : 12);
    if (count > remaining() / min_elem) {
      return Error(at + 4, field(),
                   StrFormat("array of %llu %s elements needs at least %llu bytes each, but only "
                             "%zu bytes are left",
                             static_cast<ull>(count), GgufValueTypeName(elem),
                             static_cast<ull>(min_elem), remaining()));
    }
    if (scalar != 0) {
      if (elem == GgufValueType::kBool) {
        for (uint64_t i = 0; i < count; ++i) {
          if (data_[pos_ + i] > 1) {
            return Error(pos_ + i, field() + StrFormat("[%llu]", static_cast<ull>(i)),
                         StrFormat("bool value %u is neither 0 nor 1", data_[pos_ + i]));
          }
        }
      }
      pos_ += count * scalar;
      return Status();
    }
    auto elem_field = [&](uint64_t i) {
      return field() + StrFormat("[%llu]", static_cast<ull>(i));
    };
    if (elem == GgufValueType::kString) {
      out->strings.reserve(std::min(count, kMaxReserve));
      for (uint64_t i = 0; i < count; ++i) {
        out->strings.emplace_back();
        QE_RETURN_IF_ERROR(
            ReadString(&out->strings.back(), kGgufMaxStringBytes, [&] { return elem_field(i); }));
      }
      return Status();
    }
    if (count > kGgufMaxNestedArrays - nested_arrays_) {
      return Error(at + 4, field(),
                   StrFormat("array of %llu arrays: the file would hold more than %llu nested "
                             "arrays",
                             static_cast<ull>(count), static_cast<ull>(kGgufMaxNestedArrays)));
    }
    nested_arrays_ += count;
    out->arrays.reserve(std::min<uint64_t>(count, 1024));
    for (uint64_t i = 0; i < count; ++i) {
      out->arrays.emplace_back();
      const FieldFn nested = [&] { return elem_field(i); };
      QE_RETURN_IF_ERROR(ReadValue(GgufValueType::kArray, depth + 1, &out->arrays.back(), nested));
    }
    return Status();
  }

  Status ParseHeader() {
    uint32_t magic = 0;
    if (!Read(&magic)) return Truncated(0, "header magic", 4);
    if (magic != kGgufMagic) {
      std::string found(reinterpret_cast<const char*>(data_), 4);
      return Error(0, "header magic", "expected \"GGUF\", found " + GgufQuote(found));
    }
    uint32_t version = 0;
    if (!Read(&version)) return Truncated(4, "header version", 4);
    if (version == 1) {
      return Error(4, "header version",
                   "GGUF v1 is not supported (only v2 and v3); re-convert the model with a "
                   "current llama.cpp");
    }
    if (version == __builtin_bswap32(2) || version == __builtin_bswap32(3)) {
      return Error(4, "header version", "big-endian GGUF files are not supported");
    }
    if (version != 2 && version != 3) {
      return Error(4, "header version",
                   StrFormat("unsupported GGUF version %u (expected 2 or 3)", version));
    }
    f_.version_ = version;
    if (!Read(&tensor_count_)) return Truncated(8, "header tensor_count", 8);
    if (tensor_count_ > kGgufMaxTensors) {
      return Error(8, "header tensor_count",
                   StrFormat("%llu tensors exceeds the limit of %llu",
                             static_cast<ull>(tensor_count_), static_cast<ull>(kGgufMaxTensors)));
    }
    if (!Read(&kv_count_)) return Truncated(16, "header metadata_kv_count", 8);
    if (kv_count_ > kGgufMaxKeys) {
      return Error(16, "header metadata_kv_count",
                   StrFormat("%llu keys exceeds the limit of %llu", static_cast<ull>(kv_count_),
                             static_cast<ull>(kGgufMaxKeys)));
    }
    if (kv_count_ > remaining() / kMinKvBytes) {
      return Error(
          16, "header metadata_kv_count",
          StrFormat("%llu keys need at least %llu bytes each, but only %zu bytes follow",
                    static_cast<ull>(kv_count_), static_cast<ull>(kMinKvBytes), remaining()));
    }
    return Status();
  }

  Status ParseMetadata() {
    f_.keys_.reserve(kv_count_);
    f_.values_.reserve(kv_count_);
    for (uint64_t i = 0; i < kv_count_; ++i) {
      const size_t at = pos_;
      auto key_field = [&] { return StrFormat("metadata key #%llu", static_cast<ull>(i)); };
      std::string key;
      QE_RETURN_IF_ERROR(ReadString(&key, kGgufMaxNameBytes, key_field));
      if (key.empty()) return Error(at, key_field(), "empty key");
      auto value_field = [&] { return "metadata " + GgufQuote(key, 128); };
      if (const auto it = f_.key_index_.find(key); it != f_.key_index_.end()) {
        return Error(at, value_field(),
                     StrFormat("duplicate key (first defined as key #%zu)", it->second));
      }
      const size_t type_at = pos_;
      uint32_t type_id = 0;
      if (!Read(&type_id)) return Truncated(type_at, value_field() + " (value type)", 4);
      if (!IsValidGgufValueType(type_id)) {
        return Error(type_at, value_field(), StrFormat("unknown value type %u", type_id));
      }
      GgufValue value;
      QE_RETURN_IF_ERROR(ReadValue(static_cast<GgufValueType>(type_id), 0, &value, value_field));
      f_.key_index_.emplace(key, f_.keys_.size());
      f_.keys_.push_back(std::move(key));
      f_.values_.push_back(std::move(value));
    }
    return Status();
  }

  Status ParseAlignment() {
    const GgufValue* v = f_.Find(kGgufAlignmentKey);
    if (v == nullptr) return Status();
    Result<uint32_t> a = f_.GetU32(kGgufAlignmentKey);
    if (!a.ok()) return a.status();
    if (*a == 0 || !std::has_single_bit(*a)) {
      return Error(v->offset, StrFormat("metadata \"%s\"", kGgufAlignmentKey),
                   StrFormat("alignment %u is not a power of two", *a));
    }
    // The GGUF spec asks for a multiple of 8; below 4, f32 tensors would be
    // read through misaligned pointers (undefined behaviour).
    if (*a % 8 != 0) {
      return Error(v->offset, StrFormat("metadata \"%s\"", kGgufAlignmentKey),
                   StrFormat("alignment %u is not a multiple of 8 (GGUF requires it)", *a));
    }
    f_.alignment_ = *a;
    return Status();
  }

  Status ParseTensorInfos() {
    if (tensor_count_ > remaining() / kMinTensorInfoBytes) {
      return Error(pos_, "tensor infos",
                   StrFormat("%llu tensors need at least %llu bytes each, but only %zu bytes are "
                             "left (header tensor_count)",
                             static_cast<ull>(tensor_count_), static_cast<ull>(kMinTensorInfoBytes),
                             remaining()));
    }
    f_.tensors_.reserve(tensor_count_);
    info_offsets_.reserve(tensor_count_);
    for (uint64_t i = 0; i < tensor_count_; ++i) {
      const size_t at = pos_;
      auto index_field = [&] { return StrFormat("tensor #%llu name", static_cast<ull>(i)); };
      GgufTensor t{};
      QE_RETURN_IF_ERROR(ReadString(&t.name, kGgufMaxNameBytes, index_field));
      if (t.name.empty()) return Error(at, index_field(), "empty tensor name");
      const std::string field =
          StrFormat("tensor #%llu ", static_cast<ull>(i)) + GgufQuote(t.name, 128);
      if (const auto it = f_.tensor_index_.find(t.name); it != f_.tensor_index_.end()) {
        return Error(at, field,
                     StrFormat("duplicate tensor name (first defined as tensor #%zu)", it->second));
      }
      const size_t dims_at = pos_;
      uint32_t n_dims = 0;
      if (!Read(&n_dims)) return Truncated(dims_at, field + " n_dims", 4);
      if (n_dims == 0 || n_dims > kGgufMaxDims) {
        return Error(dims_at, field + " n_dims",
                     StrFormat("%u dimensions (expected 1 to %d)", n_dims, kGgufMaxDims));
      }
      int64_t elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const size_t dim_at = pos_;
        const std::string dim_field = field + StrFormat(" ne[%u]", d);
        uint64_t ne = 0;
        if (!Read(&ne)) return Truncated(dim_at, dim_field, 8);
        if (ne == 0 || ne > static_cast<uint64_t>(INT64_MAX)) {
          return Error(dim_at, dim_field,
                       StrFormat("dimension %llu is out of range (expected 1 to 2^63-1)",
                                 static_cast<ull>(ne)));
        }
        if (__builtin_mul_overflow(elements, static_cast<int64_t>(ne), &elements)) {
          return Error(dim_at, dim_field, "the element count overflows int64");
        }
        t.shape.push_back(static_cast<int64_t>(ne));
      }
      const size_t type_at = pos_;
      uint32_t type_id = 0;
      if (!Read(&type_id)) return Truncated(type_at, field + " type", 4);
      const GgmlTypeTraits* traits = GetGgmlTypeTraits(type_id);
      if (traits == nullptr) {
        return Error(type_at, field + " type", StrFormat("unknown ggml type id %u", type_id));
      }
      t.type = static_cast<GgmlType>(type_id);
      if (t.shape[0] % traits->block_size != 0) {
        return Error(
            dims_at, field + " ne[0]",
            StrFormat("row length %lld is not a multiple of the %s block size %u",
                      static_cast<long long>(t.shape[0]), traits->name, traits->block_size));
      }
      // Bytes = blocks per row * block bytes * rows; rows * row bytes may overflow.
      uint64_t nbytes = static_cast<uint64_t>(t.shape[0]) / traits->block_size * traits->type_size;
      for (size_t d = 1; d < t.shape.size(); ++d) {
        if (__builtin_mul_overflow(nbytes, static_cast<uint64_t>(t.shape[d]), &nbytes)) {
          return Error(dims_at, field, "the tensor's byte size overflows 64 bits");
        }
      }
      t.nbytes = nbytes;
      const size_t offset_at = pos_;
      if (!Read(&t.offset)) return Truncated(offset_at, field + " offset", 8);
      if (t.offset % f_.alignment_ != 0) {
        return Error(offset_at, field + " offset",
                     StrFormat("data offset %llu is not a multiple of the alignment %zu",
                               static_cast<ull>(t.offset), f_.alignment_));
      }
      f_.tensor_index_.emplace(t.name, f_.tensors_.size());
      f_.tensors_.push_back(std::move(t));
      info_offsets_.push_back(at);
    }
    return Status();
  }

  // The data section starts at the first aligned offset after the tensor
  // infos; every tensor must lie inside the file and no two may overlap.
  Status PlaceTensors() {
    const size_t align = f_.alignment_;
    f_.data_offset_ = pos_ + (align - pos_ % align) % align;  // pos_ <= size_ < 2^63: no overflow
    if (f_.tensors_.empty()) return Status();  // a metadata-only file may omit the padding
    if (f_.data_offset_ > size_) {
      return Error(pos_, "data section",
                   StrFormat("starts at offset %zu (aligned to %zu), past the end of the file "
                             "(%zu bytes)",
                             f_.data_offset_, align, size_));
    }
    const size_t avail = size_ - f_.data_offset_;
    for (size_t i = 0; i < f_.tensors_.size(); ++i) {
      GgufTensor& t = f_.tensors_[i];
      if (t.offset > avail || t.nbytes > avail - t.offset) {
        return Error(
            info_offsets_[i], StrFormat("tensor #%zu ", i) + GgufQuote(t.name, 128),
            StrFormat("data [%llu, +%zu) relative to the data section at %zu runs past "
                      "the end of the file (%zu bytes; the data section has %zu)",
                      static_cast<ull>(t.offset), t.nbytes, f_.data_offset_, size_, avail));
      }
      t.data = data_ + f_.data_offset_ + t.offset;
    }
    std::vector<size_t> order(f_.tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const uint64_t oa = f_.tensors_[a].offset, ob = f_.tensors_[b].offset;
      return oa != ob ? oa < ob : a < b;  // ties in file order, so messages are deterministic
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const GgufTensor& prev = f_.tensors_[order[k - 1]];
      const GgufTensor& cur = f_.tensors_[order[k]];
      if (cur.offset < prev.offset + prev.nbytes) {
        return Error(
            info_offsets_[order[k]], StrFormat("tensor #%zu ", order[k]) + GgufQuote(cur.name, 128),
            StrFormat("data at %llu overlaps tensor #%zu %s [%llu, +%zu)",
                      static_cast<ull>(cur.offset), order[k - 1], GgufQuote(prev.name, 128).c_str(),
                      static_cast<ull>(prev.offset), prev.nbytes));
      }
    }
    return Status();
  }

  GgufFile& f_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t tensor_count_ = 0;
  uint64_t kv_count_ = 0;
  uint64_t nested_arrays_ = 0;        // arrays inside arrays so far, <= kGgufMaxNestedArrays
  std::vector<size_t> info_offsets_;  // where each tensor's info starts, for messages
};

Result<GgufFile> GgufFile::FromMemory(const uint8_t* data, size_t size, std::string name) {
  QE_CHECK(data != nullptr || size == 0);
  GgufFile file;
  file.data_ = data;
  file.size_ = size;
  file.path_ = std::move(name);
  QE_RETURN_IF_ERROR(GgufParser(&file).Parse());
  return file;
}

Result<GgufFile> GgufFile::Open(const std::string& path) {
  Result<MappedFile> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  GgufFile file;
  file.mapping_ = std::move(mapped.value());
  file.data_ = file.mapping_->data();
  file.size_ = file.mapping_->size();
  file.path_ = path;
  QE_RETURN_IF_ERROR(GgufParser(&file).Parse());
  return file;
}

}  // namespace quest
