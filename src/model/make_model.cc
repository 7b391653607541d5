// Random-weight GGUF files with real model shapes and a valid tokenizer.
#include "src/model/make_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "src/gguf/gguf_writer.h"
#include "src/model/quantize.h"

namespace quest {
namespace {

constexpr ModelPreset kPresets[] = {
    // name, layers, d_model, heads, kv_heads, d_ff, vocab, context, rope base, rope factor,
    // tied, llama3 vocab
    {"llama3.2-1b", 16, 2048, 32, 8, 8192, 128256, 131072, 500000.0f, 32.0f, true, true},
    {"llama3.1-8b", 32, 4096, 32, 8, 14336, 128256, 131072, 500000.0f, 8.0f, false, true},
    {"llama2-7b", 32, 4096, 32, 32, 11008, 32000, 4096, 10000.0f, 0.0f, false, false},
    // Two small layers, for tests that need a llama file but no weights download.
    {"tiny", 2, 128, 4, 2, 256, 1024, 4096, 10000.0f, 0.0f, true, true},
};

// GPT-2's reversible byte -> printable code point map, UTF-8 encoded.
std::vector<std::string> ByteToUnicode() {
  std::vector<std::string> out(256);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    const int cp = printable ? b : 256 + extra++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    out[b] = s;
  }
  return out;
}

struct TokenizerData {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;  // 1 normal, 2 unknown, 3 control, 6 byte
  std::vector<std::string> merges;
};

// Llama 3 style: 256 byte tokens, then two- and three-byte merges, then the
// 256 special tokens at the top of the vocabulary.
TokenizerData Llama3Tokenizer(int vocab) {
  TokenizerData t;
  const std::vector<std::string> bytes = ByteToUnicode();
  const int num_special = 256;
  const int regular = vocab - num_special;
  for (int b = 0; b < 256 && static_cast<int>(t.tokens.size()) < regular; ++b) {
    t.tokens.push_back(bytes[b]);
  }
  for (int a = 0; a < 256 && static_cast<int>(t.tokens.size()) < regular; ++a) {
    for (int b = 0; b < 256 && static_cast<int>(t.tokens.size()) < regular; ++b) {
      t.tokens.push_back(bytes[a] + bytes[b]);
      t.merges.push_back(bytes[a] + " " + bytes[b]);
    }
  }
  for (int a = 0; static_cast<int>(t.tokens.size()) < regular; ++a) {
    for (int b = 0; b < 256 && static_cast<int>(t.tokens.size()) < regular; ++b) {
      const std::string left = bytes[a / 256] + bytes[a % 256];
      t.tokens.push_back(left + bytes[b]);
      t.merges.push_back(left + " " + bytes[b]);
    }
  }
  t.types.assign(t.tokens.size(), 1);
  const char* names[] = {"<|begin_of_text|>", "<|end_of_text|>"};
  for (int i = 0; i < num_special; ++i) {
    t.tokens.push_back(i < 2 ? names[i] : "<|reserved_special_token_" + std::to_string(i) + "|>");
    t.types.push_back(3);
  }
  return t;
}

// Llama 2 style SentencePiece: <unk> <s> </s>, 256 byte tokens, then pieces.
TokenizerData Llama2Tokenizer(int vocab) {
  TokenizerData t;
  t.tokens = {"<unk>", "<s>", "</s>"};
  t.types = {2, 3, 3};
  char hex[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
    t.tokens.push_back(hex);
    t.types.push_back(6);
  }
  const std::string space = "\xe2\x96\x81";  // U+2581, SentencePiece's space
  for (int i = 0; static_cast<int>(t.tokens.size()) < vocab; ++i) {
    std::string piece = (i % 2 == 0) ? space : "";
    for (int v = i / 2 + 1; v > 0; v /= 26) piece += static_cast<char>('a' + v % 26);
    t.tokens.push_back(piece);
    t.types.push_back(1);
  }
  t.scores.resize(t.tokens.size());
  for (size_t i = 0; i < t.scores.size(); ++i) t.scores[i] = -static_cast<float>(i);
  return t;
}

// Llama 3 RoPE frequency factors (the "rope_freqs.weight" tensor).
std::vector<float> Llama3RopeFactors(int head_dim, float base, float factor) {
  const double low_freq_factor = 1, high_freq_factor = 4, old_context = 8192;
  const double low_wavelen = old_context / low_freq_factor;
  const double high_wavelen = old_context / high_freq_factor;
  std::vector<float> f(head_dim / 2);
  for (int i = 0; i < head_dim / 2; ++i) {
    const double freq = std::pow(static_cast<double>(base), -2.0 * i / head_dim);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      f[i] = 1;
    } else if (wavelen > low_wavelen) {
      f[i] = factor;
    } else {
      const double smooth =
          (old_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      f[i] = static_cast<float>(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
  return f;
}

// Deterministic uniform values in [-a, a) (xorshift64*), per tensor.
struct Random {
  uint64_t s;
  float Next(float a) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const uint32_t r = static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 40);
    return (static_cast<float>(r) * (2.0f / 16777216.0f) - 1.0f) * a;
  }
};

uint64_t HashName(const std::string& name, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h | 1;
}

}  // namespace

const ModelPreset* FindPreset(const std::string& name) {
  for (const ModelPreset& p : kPresets) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

const char* PresetNames() { return "llama3.2-1b, llama3.1-8b, llama2-7b, tiny"; }

Status MakeModel(const MakeModelOptions& o, std::ostream& progress) {
  const ModelPreset* p = FindPreset(o.preset);
  if (p == nullptr) {
    return Status::Error("invalid --preset '" + o.preset + "' (expected one of " +
                         PresetNames() + ")");
  }
  GgmlType type;
  if (o.type == "f16") {
    type = GgmlType::kF16;
  } else if (o.type == "q8_0") {
    type = GgmlType::kQ8_0;
  } else if (o.type == "q4_0") {
    type = GgmlType::kQ4_0;
  } else {
    return Status::Error("invalid --type '" + o.type + "' (expected f16, q8_0 or q4_0)");
  }
  if (o.output.empty()) return Status::Error("missing -o FILE");
  if (o.context < 0) return Status::Error(StrFormat("invalid --context %d: must be >= 0", o.context));
  const int head_dim = p->d_model / p->heads;
  const int kv_dim = head_dim * p->kv_heads;

  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetString("general.name", std::string("quest random ") + p->name);
  w.SetU32("llama.block_count", p->layers);
  w.SetU32("llama.context_length", o.context > 0 ? o.context : p->context);
  w.SetU32("llama.embedding_length", p->d_model);
  w.SetU32("llama.feed_forward_length", p->d_ff);
  w.SetU32("llama.attention.head_count", p->heads);
  w.SetU32("llama.attention.head_count_kv", p->kv_heads);
  w.SetU32("llama.rope.dimension_count", head_dim);
  w.SetF32("llama.rope.freq_base", p->rope_base);
  w.SetF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetU32("llama.vocab_size", p->vocab);
  w.SetU32("general.file_type", type == GgmlType::kF16 ? 1 : type == GgmlType::kQ8_0 ? 7 : 2);
  TokenizerData tok = p->llama3_vocab ? Llama3Tokenizer(p->vocab) : Llama2Tokenizer(p->vocab);
  if (p->llama3_vocab) {
    w.SetString("tokenizer.ggml.model", "gpt2");
    w.SetString("tokenizer.ggml.pre", "llama-bpe");
    w.SetStringArray("tokenizer.ggml.merges", tok.merges);
    w.SetU32("tokenizer.ggml.bos_token_id", 128000);
    w.SetU32("tokenizer.ggml.eos_token_id", 128001);
  } else {
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetF32Array("tokenizer.ggml.scores", tok.scores);
    w.SetU32("tokenizer.ggml.bos_token_id", 1);
    w.SetU32("tokenizer.ggml.eos_token_id", 2);
    w.SetU32("tokenizer.ggml.unknown_token_id", 0);
  }
  w.SetStringArray("tokenizer.ggml.tokens", tok.tokens);
  w.SetI32Array("tokenizer.ggml.token_type", tok.types);

  // Tensors: name, type, shape (ne: row length first), init range.
  struct Spec {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    float range;  // 0: norm (all ones)
  };
  std::vector<Spec> specs;
  const float wr = 0.02f * std::sqrt(3.0f);
  specs.push_back({"token_embd.weight", type, {p->d_model, p->vocab}, wr});
  specs.push_back({"output_norm.weight", GgmlType::kF32, {p->d_model}, 0});
  if (!p->tied_output) specs.push_back({"output.weight", type, {p->d_model, p->vocab}, wr});
  for (int l = 0; l < p->layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    specs.push_back({b + "attn_norm.weight", GgmlType::kF32, {p->d_model}, 0});
    specs.push_back({b + "attn_q.weight", type, {p->d_model, p->d_model}, wr});
    specs.push_back({b + "attn_k.weight", type, {p->d_model, kv_dim}, wr});
    specs.push_back({b + "attn_v.weight", type, {p->d_model, kv_dim}, wr});
    specs.push_back({b + "attn_output.weight", type, {p->d_model, p->d_model}, wr});
    specs.push_back({b + "ffn_norm.weight", GgmlType::kF32, {p->d_model}, 0});
    specs.push_back({b + "ffn_gate.weight", type, {p->d_model, p->d_ff}, wr});
    specs.push_back({b + "ffn_up.weight", type, {p->d_model, p->d_ff}, wr});
    specs.push_back({b + "ffn_down.weight", type, {p->d_ff, p->d_model}, wr});
  }
  std::vector<float> rope_factors;
  if (p->rope_scale_factor > 0) {
    rope_factors = Llama3RopeFactors(head_dim, p->rope_base, p->rope_scale_factor);
  }
  for (const Spec& s : specs) w.AddTensorInfo(s.name, s.type, s.shape);
  if (!rope_factors.empty()) {
    w.AddTensorInfo("rope_freqs.weight", GgmlType::kF32, {static_cast<int64_t>(head_dim / 2)});
  }
  progress << "make-model: " << p->name << " " << o.type << ", " << specs.size()
           << " tensors -> " << o.output << "\n";
  std::vector<float> row;
  return w.WriteStreaming(o.output, [&](size_t index, uint8_t* out, size_t nbytes) {
    if (index == specs.size()) {  // rope_freqs
      std::memcpy(out, rope_factors.data(), nbytes);
      return;
    }
    const Spec& s = specs[index];
    const int64_t cols = s.shape[0];
    const int64_t rows = s.shape.size() > 1 ? s.shape[1] : 1;
    const size_t row_bytes = nbytes / rows;
    Random rng{HashName(s.name, o.seed)};
    row.resize(cols);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) row[c] = s.range == 0 ? 1.0f : rng.Next(s.range);
      QuantizeRow(s.type, row.data(), cols, out + r * row_bytes);
    }
  });
}

}  // namespace quest
