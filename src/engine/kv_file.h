// A prefilled context on disk: the tokens, the last token's logits, and the
// K/V pages with their Quest metadata, so a long document is prefilled once
// and continued later. The file names the model it belongs to (a hash of the
// GGUF's metadata, tensor table and the first bytes of every tensor) and the
// cache layout; loading checks both, the size and a checksum, and names what
// differs.
//
// Layout, little-endian: KvFileHeader; tokens (int32) [num_tokens]; logits
// (f32) [num_logits]; then per layer: first page index and page count
// (int32 each) and that many page records (KvCache::ExportPage). Sliding-window
// layers kept in rings save only their live pages.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/engine/kv_store.h"
#include "src/engine/model.h"

namespace quest {

inline constexpr char kKvFileMagic[8] = {'Q', 'U', 'E', 'S', 'T', 'K', 'V', '\0'};
inline constexpr uint32_t kKvFileVersion = 2;

struct KvFileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;  // sizeof(KvFileHeader)
  uint64_t model_id;
  int32_t num_layers, num_kv_heads, head_dim, page_size, kv_type, vocab_size;
  int32_t num_tokens, num_logits;
  // Keys are stored rotated: the LongRoPE set the saving context used
  // (KvRopeFactors), which a loading context must use too.
  int32_t rope_factors;
  int32_t reserved;          // 0
  uint64_t body_checksum;    // Hash64 of every byte after the header
  uint64_t header_checksum;  // Hash64 of the header bytes before this field
};

// What a K/V file restores besides the pages.
struct KvSnapshot {
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // the last token's, [vocab_size]
};

uint64_t ModelIdentity(const Model& model);

// KvFileHeader::rope_factors for a sequence context of `context` tokens.
enum class KvRopeFactors : int32_t { kFixed = 0, kLongRopeShort = 1, kLongRopeLong = 2 };
KvRopeFactors KvRopeFactorsFor(const ModelConfig& c, int context);

// Writes the sequence's tokens, logits and pages to `path` (through a
// temporary file renamed at the end, so an existing file survives a failure);
// context: the session's, which picked the sequence's RoPE factors.
Status SaveKvFile(const std::string& path, const Model& model, const KvStore& store,
                  const SequenceState& s, int context, std::span<const int32_t> tokens,
                  std::span<const float> logits);

// Fills the empty sequence s from `path`; with a prompt, first checks that
// the stored tokens begin it. On any error s stays empty.
Result<KvSnapshot> LoadKvFile(const std::string& path, const Model& model, KvStore* store,
                              SequenceState* s, int context,
                              std::span<const int32_t> prompt = {});

}  // namespace quest
