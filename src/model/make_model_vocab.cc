// Synthetic byte-level BPE and SentencePiece vocabularies of a given size.
#include "src/model/make_model_vocab.h"

#include <cstdio>

namespace quest {
namespace {

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

// 256 byte tokens, then two-byte merges (pairs of common text characters
// first, so that a small vocabulary still merges words and digits and its
// pre-tokenizer's splits change the ids), then three-byte merges, up to
// `regular` tokens.
void ByteLevelBpe(int regular, TokenizerData* t) {
  const std::vector<std::string> bytes = ByteToUnicode();
  const auto full = [&] { return static_cast<int>(t->tokens.size()) >= regular; };
  for (int b = 0; b < 256 && !full(); ++b) t->tokens.push_back(bytes[b]);
  const std::string common = " 0123456789etaoinsrhldcumfpgwybvkxjqz.,'\n";
  std::vector<bool> is_common(256, false);
  for (char c : common) is_common[static_cast<uint8_t>(c)] = true;
  std::vector<std::pair<int, int>> pairs;  // two-byte tokens, in merge order
  for (char a : common) {
    for (char b : common) pairs.push_back({static_cast<uint8_t>(a), static_cast<uint8_t>(b)});
  }
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      if (!is_common[a] || !is_common[b]) pairs.push_back({a, b});
    }
  }
  for (const auto& [a, b] : pairs) {
    if (full()) break;
    t->tokens.push_back(bytes[a] + bytes[b]);
    t->merges.push_back(bytes[a] + " " + bytes[b]);
  }
  for (size_t i = 0; !full(); ++i) {
    const std::string left = bytes[pairs[i].first] + bytes[pairs[i].second];
    for (int b = 0; b < 256 && !full(); ++b) {
      t->tokens.push_back(left + bytes[b]);
      t->merges.push_back(left + " " + bytes[b]);
    }
  }
  t->types.assign(t->tokens.size(), 1);
}

// Llama 3: the 256 special tokens at the top of the vocabulary.
TokenizerData Llama3(int vocab) {
  TokenizerData t;
  const int num_special = 256;
  ByteLevelBpe(vocab - num_special, &t);
  const int first = static_cast<int>(t.tokens.size());
  const char* names[] = {"<|begin_of_text|>", "<|end_of_text|>"};
  for (int i = 0; i < num_special; ++i) {
    t.tokens.push_back(i < 2 ? names[i] : "<|reserved_special_token_" + std::to_string(i) + "|>");
    t.types.push_back(3);
  }
  t.bos = first;
  t.eos = first + 1;
  return t;
}

// Qwen 2: <|endoftext|> (also its BOS, not added), <|im_start|>, <|im_end|>
// (EOS) after the merges.
TokenizerData Qwen2(int vocab) {
  TokenizerData t;
  const char* names[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  ByteLevelBpe(vocab - 3, &t);
  const int first = static_cast<int>(t.tokens.size());
  for (const char* n : names) {
    t.tokens.push_back(n);
    t.types.push_back(3);
  }
  t.bos = first;
  t.eos = first + 2;
  t.add_bos = false;
  return t;
}

// SentencePiece: <unk> <s> </s>, 256 byte tokens, then pieces.
TokenizerData SentencePiece(int vocab) {
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
  t.unknown = 0;
  t.bos = 1;
  t.eos = 2;
  return t;
}

// Phi-3: SentencePiece, then <|endoftext|> (EOS) and its chat tokens at the
// top, as llama.cpp expects of a file named Phi-3.
TokenizerData Phi3(int vocab) {
  const char* names[] = {"<|endoftext|>", "<|assistant|>", "<|system|>", "<|end|>", "<|user|>"};
  TokenizerData t = SentencePiece(vocab - 5);
  t.eos = static_cast<int>(t.tokens.size());
  for (const char* n : names) {
    t.tokens.push_back(n);
    t.types.push_back(3);
    t.scores.push_back(0);
  }
  return t;
}

}  // namespace

TokenizerData MakeVocab(SyntheticVocab kind, int vocab) {
  switch (kind) {
    case SyntheticVocab::kLlama3Bpe:
      return Llama3(vocab);
    case SyntheticVocab::kQwen2Bpe:
      return Qwen2(vocab);
    case SyntheticVocab::kPhi3SentencePiece:
      return Phi3(vocab);
    case SyntheticVocab::kSentencePiece:
      break;
  }
  return SentencePiece(vocab);
}

}  // namespace quest
