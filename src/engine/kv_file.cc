#include "src/engine/kv_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "src/util/hash64.h"

namespace quest {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// The pages of a layer's table a file holds: all of them, or for a ring the
// live ones (the last ring_pages).
struct PageRange {
  int first = 0;
  int count = 0;
};

PageRange LivePages(const KvStore& store, const SequenceState& s, int layer) {
  const int n = store.TableOf(s, layer).num_pages();
  const int live = store.InRing(layer) ? std::min(n, store.ring_pages()) : n;
  return {n - live, live};
}

KvFileHeader MakeHeader(const Model& model, const KvStore& store, int num_tokens, int context) {
  const ModelConfig& c = model.config();
  const KvCacheConfig& kc = store.pool().config();
  KvFileHeader h{};
  std::memcpy(h.magic, kKvFileMagic, sizeof(h.magic));
  h.version = kKvFileVersion;
  h.header_bytes = sizeof(KvFileHeader);
  h.model_id = ModelIdentity(model);
  h.num_layers = c.num_layers;
  h.num_kv_heads = kc.num_kv_heads;
  h.head_dim = kc.head_dim;
  h.page_size = kc.page_size;
  h.kv_type = static_cast<int32_t>(kc.type);
  h.vocab_size = c.vocab_size;
  h.num_tokens = num_tokens;
  h.num_logits = c.vocab_size;
  h.rope_factors = static_cast<int32_t>(KvRopeFactorsFor(c, context));
  return h;
}

const char* RopeFactorsText(int32_t f) {
  switch (static_cast<KvRopeFactors>(f)) {
    case KvRopeFactors::kFixed: return "fixed RoPE";
    case KvRopeFactors::kLongRopeShort: return "LongRoPE's short factors";
    case KvRopeFactors::kLongRopeLong: return "LongRoPE's long factors";
  }
  return "unknown RoPE factors";
}

uint64_t HeaderChecksum(const KvFileHeader& h) {
  Hash64 hash;
  hash.Update(&h, offsetof(KvFileHeader, header_checksum));
  return hash.Digest();
}

const char* KvTypeNameOf(int32_t t) {
  for (KvType x : {KvType::kF16, KvType::kF32, KvType::kQ8}) {
    if (t == static_cast<int32_t>(x)) return KvTypeName(x);
  }
  return "unknown";
}

// Names the first field in which the file's header differs from what this
// model and cache expect.
Status CompareHeader(const std::string& path, const KvFileHeader& got, const KvFileHeader& want) {
  const auto differs = [&](const char* what, long long a, long long b) {
    return Status::Error(StrFormat("K/V file %s was saved with %s %lld; this model and cache have %lld",
                                   path.c_str(), what, a, b));
  };
  if (got.model_id != want.model_id) {
    return Status::Error(StrFormat(
        "K/V file %s was saved from another model (identity %016llx; this model's is %016llx)",
        path.c_str(), static_cast<unsigned long long>(got.model_id),
        static_cast<unsigned long long>(want.model_id)));
  }
  if (got.num_layers != want.num_layers) return differs("layers", got.num_layers, want.num_layers);
  if (got.num_kv_heads != want.num_kv_heads) {
    return differs("KV heads", got.num_kv_heads, want.num_kv_heads);
  }
  if (got.head_dim != want.head_dim) return differs("head dim", got.head_dim, want.head_dim);
  if (got.page_size != want.page_size) {
    return Status::Error(StrFormat("K/V file %s was saved with page size %d; this run uses %d "
                                   "(pass --page-size %d)",
                                   path.c_str(), got.page_size, want.page_size, got.page_size));
  }
  if (got.kv_type != want.kv_type) {
    return Status::Error(StrFormat("K/V file %s holds %s K/V; this run uses %s (pass --kv-type %s)",
                                   path.c_str(), KvTypeNameOf(got.kv_type),
                                   KvTypeNameOf(want.kv_type), KvTypeNameOf(got.kv_type)));
  }
  if (got.vocab_size != want.vocab_size || got.num_logits != want.num_logits) {
    return differs("vocabulary size", got.vocab_size, want.vocab_size);
  }
  if (got.rope_factors != want.rope_factors) {
    const bool saved_long =
        static_cast<KvRopeFactors>(got.rope_factors) == KvRopeFactors::kLongRopeLong;
    return Status::Error(StrFormat("K/V file %s holds keys rotated with %s; this run's context "
                                   "uses %s (pass -c %s the original context)",
                                   path.c_str(), RopeFactorsText(got.rope_factors),
                                   RopeFactorsText(want.rope_factors),
                                   saved_long ? "above" : "at most"));
  }
  return Status();
}

// Reads exactly n bytes into out and into the checksum; names the offset
// where a short file ends.
class BodyReader {
 public:
  BodyReader(std::FILE* f, const std::string& path, long long size)
      : f_(f), path_(path), size_(size) {}
  Status Read(void* out, size_t n) {
    if (n > 0 && std::fread(out, 1, n, f_) != n) {
      return Status::Error(StrFormat("K/V file %s is truncated: it ends at byte %lld, inside a "
                                     "section that needs bytes %lld..%lld",
                                     path_.c_str(), size_, offset_,
                                     offset_ + static_cast<long long>(n)));
    }
    hash_.Update(out, n);
    offset_ += static_cast<long long>(n);
    return Status();
  }
  long long offset() const { return offset_; }
  uint64_t checksum() const { return hash_.Digest(); }
  void set_offset(long long o) { offset_ = o; }

 private:
  std::FILE* f_;
  const std::string& path_;
  long long size_;
  long long offset_ = 0;
  Hash64 hash_;
};

Status WriteAll(std::FILE* f, const void* data, size_t n, Hash64* hash, const std::string& path) {
  if (n > 0 && std::fwrite(data, 1, n, f) != n) {
    return Status::Error(StrFormat("cannot write K/V file %s: %s", path.c_str(), std::strerror(errno)));
  }
  if (hash != nullptr) hash->Update(data, n);
  return Status();
}

Status WriteBody(std::FILE* f, const std::string& path, int num_layers, const KvStore& store,
                 const SequenceState& s, std::span<const int32_t> tokens,
                 std::span<const float> logits, Hash64* hash) {
  QE_RETURN_IF_ERROR(WriteAll(f, tokens.data(), tokens.size_bytes(), hash, path));
  QE_RETURN_IF_ERROR(WriteAll(f, logits.data(), logits.size_bytes(), hash, path));
  std::vector<uint8_t> record;
  for (int l = 0; l < num_layers; ++l) {
    const KvCache& cache = store.CacheOf(l);
    record.resize(cache.PageRecordBytes());
    const PageRange r = LivePages(store, s, l);
    const int32_t range[2] = {r.first, r.count};
    QE_RETURN_IF_ERROR(WriteAll(f, range, sizeof(range), hash, path));
    const Sequence& table = store.TableOf(s, l);
    for (int i = r.first; i < r.first + r.count; ++i) {
      cache.ExportPage(store.SlotOf(l), table.pages[i], record.data());
      QE_RETURN_IF_ERROR(WriteAll(f, record.data(), record.size(), hash, path));
    }
  }
  return Status();
}

// Reads the stored tokens and checks them: ids in the vocabulary, and a
// prefix of `prompt` when one is given.
Status ReadTokens(BodyReader* in, const std::string& path, int vocab,
                  std::span<const int32_t> prompt, std::vector<int32_t>* tokens) {
  QE_RETURN_IF_ERROR(in->Read(tokens->data(), tokens->size() * sizeof(int32_t)));
  for (size_t i = 0; i < tokens->size(); ++i) {
    if ((*tokens)[i] < 0 || (*tokens)[i] >= vocab) {
      return Status::Error(StrFormat("K/V file %s: token id %d at index %zu is outside the "
                                     "vocabulary (0..%d): the file is corrupted",
                                     path.c_str(), (*tokens)[i], i, vocab - 1));
    }
  }
  if (prompt.empty()) return Status();
  const size_t n = tokens->size();
  const size_t common =
      std::mismatch(tokens->begin(), tokens->end(), prompt.begin(), prompt.end()).first -
      tokens->begin();
  if (common == n) return Status();
  if (common == prompt.size()) {
    return Status::Error(StrFormat("the prompt (%zu tokens) is shorter than the %zu tokens "
                                   "stored in %s: it must extend them",
                                   prompt.size(), n, path.c_str()));
  }
  return Status::Error(StrFormat("the prompt does not extend the tokens stored in %s: token %zu "
                                 "is %d in the prompt and %d in the file",
                                 path.c_str(), common, prompt[common], (*tokens)[common]));
}

// Reads the logits and the pages into s's reserved pages.
Status ReadBody(BodyReader* in, const std::string& path, const Model& model, KvStore* store,
                SequenceState* s, KvSnapshot* snap) {
  const ModelConfig& c = model.config();
  QE_RETURN_IF_ERROR(in->Read(snap->logits.data(), snap->logits.size() * sizeof(float)));
  std::vector<uint8_t> record;
  for (int l = 0; l < c.num_layers; ++l) {
    KvCache& cache = store->CacheOf(l);
    record.resize(cache.PageRecordBytes());
    int32_t range[2];
    QE_RETURN_IF_ERROR(in->Read(range, sizeof(range)));
    const Sequence& table = store->TableOf(*s, l);
    const PageRange want = LivePages(*store, *s, l);
    // The file must end at the table's last page and, for a full table,
    // start at its first; a ring takes the pages both hold.
    // A ring must hold at least the pages its window reads.
    const int window_pages = c.sliding_window / cache.config().page_size + 2;
    const bool ring = store->InRing(l);
    if (range[1] < 0 || range[0] < 0 || range[0] + range[1] != table.num_pages() ||
        (!ring && range[0] != 0) ||
        (ring && range[1] < std::min(table.num_pages(), window_pages))) {
      return Status::Error(StrFormat("K/V file %s: layer %d holds pages %d..%d, which do not "
                                     "fit %d tokens in pages of %d: the file is corrupted",
                                     path.c_str(), l, range[0], range[0] + range[1],
                                     static_cast<int>(snap->tokens.size()),
                                     cache.config().page_size));
    }
    for (int i = range[0]; i < range[0] + range[1]; ++i) {
      QE_RETURN_IF_ERROR(in->Read(record.data(), record.size()));
      if (i >= want.first) cache.ImportPage(store->SlotOf(l), table.pages[i], record.data());
    }
  }
  return Status();
}

Status LoadInto(std::FILE* f, const std::string& path, long long size, const Model& model,
                KvStore* store, SequenceState* s, int context, std::span<const int32_t> prompt,
                KvSnapshot* snap) {
  KvFileHeader h{};
  if (size < static_cast<long long>(sizeof(h)) || std::fread(&h, sizeof(h), 1, f) != 1) {
    return Status::Error(StrFormat("K/V file %s is %lld bytes, too short for its %zu-byte header",
                                   path.c_str(), size, sizeof(h)));
  }
  if (std::memcmp(h.magic, kKvFileMagic, sizeof(h.magic)) != 0) {
    return Status::Error(StrFormat("%s is not a quest K/V file (bad magic)", path.c_str()));
  }
  if (h.version != kKvFileVersion || h.header_bytes != sizeof(h)) {
    return Status::Error(StrFormat("K/V file %s has version %u; this quest reads version %u",
                                   path.c_str(), h.version, kKvFileVersion));
  }
  if (h.header_checksum != HeaderChecksum(h)) {
    return Status::Error(StrFormat("K/V file %s: the header's checksum does not match: the file "
                                   "is corrupted", path.c_str()));
  }
  QE_RETURN_IF_ERROR(CompareHeader(path, h, MakeHeader(model, *store, h.num_tokens, context)));
  if (h.num_tokens <= 0 || h.num_tokens > size / 4) {
    return Status::Error(StrFormat("K/V file %s: %d tokens cannot be right for a file of %lld "
                                   "bytes: the file is corrupted", path.c_str(), h.num_tokens, size));
  }
  snap->tokens.resize(h.num_tokens);
  snap->logits.resize(h.num_logits);
  BodyReader in(f, path, size);
  in.set_offset(sizeof(h));
  QE_RETURN_IF_ERROR(ReadTokens(&in, path, model.config().vocab_size, prompt, &snap->tokens));
  if (h.num_tokens > context) {
    return Status::Error(StrFormat("K/V file %s holds %d tokens, more than the context of %d",
                                   path.c_str(), h.num_tokens, context));
  }
  QE_RETURN_IF_ERROR(store->Reserve(s, h.num_tokens));
  QE_RETURN_IF_ERROR(ReadBody(&in, path, model, store, s, snap));
  if (in.offset() != size) {
    return Status::Error(StrFormat("K/V file %s has %lld bytes after its last page: the file is "
                                   "corrupted", path.c_str(), size - in.offset()));
  }
  if (in.checksum() != h.body_checksum) {
    return Status::Error(StrFormat("K/V file %s: the checksum of its pages does not match: the "
                                   "file is corrupted", path.c_str()));
  }
  store->Advance(s, h.num_tokens);
  return Status();
}

}  // namespace

KvRopeFactors KvRopeFactorsFor(const ModelConfig& c, int context) {
  if (c.rope_scaling.type != RopeScalingType::kLongRope) return KvRopeFactors::kFixed;
  return LongRopeUsesLongFactors(c.rope_scaling, context) ? KvRopeFactors::kLongRopeLong
                                                          : KvRopeFactors::kLongRopeShort;
}

Status SaveKvFile(const std::string& path, const Model& model, const KvStore& store,
                  const SequenceState& s, int context, std::span<const int32_t> tokens,
                  std::span<const float> logits) {
  const ModelConfig& c = model.config();
  QE_CHECK(static_cast<int>(tokens.size()) == s.position(), "tokens %zu, position %d",
           tokens.size(), s.position());
  QE_CHECK(static_cast<int>(logits.size()) == c.vocab_size, "logits %zu", logits.size());
  const std::string tmp = path + ".tmp";
  File f(std::fopen(tmp.c_str(), "wb"));
  if (f == nullptr) {
    return Status::Error(StrFormat("cannot create K/V file %s: %s", tmp.c_str(), std::strerror(errno)));
  }
  KvFileHeader h = MakeHeader(model, store, static_cast<int>(tokens.size()), context);
  Hash64 body;
  Status st = WriteAll(f.get(), &h, sizeof(h), nullptr, tmp);  // rewritten with the checksums
  if (st.ok()) st = WriteBody(f.get(), tmp, c.num_layers, store, s, tokens, logits, &body);
  if (st.ok()) {
    h.body_checksum = body.Digest();
    h.header_checksum = HeaderChecksum(h);
    if (std::fseek(f.get(), 0, SEEK_SET) != 0) {
      st = Status::Error(StrFormat("cannot seek in K/V file %s: %s", tmp.c_str(), std::strerror(errno)));
    }
  }
  if (st.ok()) st = WriteAll(f.get(), &h, sizeof(h), nullptr, tmp);
  if (st.ok() && std::fflush(f.get()) != 0) {
    st = Status::Error(StrFormat("cannot write K/V file %s: %s", tmp.c_str(), std::strerror(errno)));
  }
  std::FILE* raw = f.release();
  if (std::fclose(raw) != 0 && st.ok()) {
    st = Status::Error(StrFormat("cannot write K/V file %s: %s", tmp.c_str(), std::strerror(errno)));
  }
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::Error(StrFormat("cannot rename %s to %s: %s", tmp.c_str(), path.c_str(),
                                 std::strerror(errno)));
  }
  if (!st.ok()) std::remove(tmp.c_str());
  return st;
}

Result<KvSnapshot> LoadKvFile(const std::string& path, const Model& model, KvStore* store,
                              SequenceState* s, int context, std::span<const int32_t> prompt) {
  QE_CHECK(s->position() == 0, "loading into a sequence that holds %d tokens", s->position());
  File f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    return Status::Error(StrFormat("cannot open K/V file %s: %s", path.c_str(), std::strerror(errno)));
  }
  struct stat st_buf;
  if (fstat(fileno(f.get()), &st_buf) != 0 || !S_ISREG(st_buf.st_mode)) {
    return Status::Error(StrFormat("K/V file %s is not a regular file", path.c_str()));
  }
  KvSnapshot snap;
  Status st = LoadInto(f.get(), path, st_buf.st_size, model, store, s, context, prompt, &snap);
  if (!st.ok()) {
    store->pool().Release(&s->seq);
    s->ring_seq = Sequence();
    return st;
  }
  return snap;
}

uint64_t ModelIdentity(const Model& model) {
  const GgufFile& g = model.gguf();
  Hash64 hash;
  hash.Update(g.file_data(), g.data_offset());  // metadata and the tensor table
  for (const GgufTensor& t : g.tensors()) hash.Update(t.data, std::min<size_t>(t.nbytes, 256));
  return hash.Digest();
}

}  // namespace quest
