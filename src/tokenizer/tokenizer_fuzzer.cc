// libFuzzer target for the prompt path: any bytes, as a prompt of the real
// tokenizers of the two shipped models (Gemma 3: SentencePiece-style; SmolLM2:
// byte-level BPE), encoded with and without special-token parsing, wrapped in
// each chat template, decoded back. Every id must be in the vocabulary, and
// every valid UTF-8 prompt must decode back to itself, less the bytes the
// vocabulary has no token for (SmolLM2 lacks 0x04, 0x06, 0x13, 0x14, 0x16,
// 0x1D and some bytes valid UTF-8 rarely or never holds; they are dropped, as
// llama.cpp drops them), and with U+2581 read as a space by SentencePiece
// (Gemma's vocabulary writes spaces as that character, as HF's does).
//
// Build (clang; see src/gguf/gguf_fuzzer.cc for the CMake line) and run:
//   build/fuzz/src/tokenizer/quest_tokenizer_fuzzer build/fuzz/corpus_tok \
//     -max_total_time=600 -max_len=4096 -rss_limit_mb=4096
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "src/gguf/gguf.h"
#include "src/tokenizer/chat_template.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/vocab.h"

namespace {

struct Loaded {
  quest::Tokenizer tok;
  quest::ChatTemplate chat;
  bool dropped[256];  // bytes that encode to no token on their own
};

std::vector<Loaded>* g_models = nullptr;

Loaded Load(const std::string& path) {
  quest::Result<quest::GgufFile> g = quest::GgufFile::Open(path);
  if (!g.ok()) {
    std::fprintf(stderr, "tokenizer_fuzzer: %s\n", g.status().message().c_str());
    std::exit(1);
  }
  quest::Result<quest::Vocab> v = quest::LoadVocab(*g);
  quest::Result<quest::Tokenizer> t = quest::Tokenizer::Create(std::move(v.value()));
  quest::Result<quest::ChatTemplate> c = quest::ChatTemplate::FromGguf(*g, t->vocab());
  Loaded l{std::move(t.value()), std::move(c.value()), {}};
  for (int b = 0; b < 256; ++b) {
    l.dropped[b] = l.tok.Encode(std::string(1, static_cast<char>(b)), false, false).empty();
  }
  return l;
}

bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n;
  }
  return true;
}

void CheckIds(const quest::Tokenizer& tok, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= tok.vocab_size()) {
      std::fprintf(stderr, "token id %d outside the vocabulary of %zu\n", id, tok.vocab_size());
      std::abort();
    }
    (void)tok.TokenToPiece(id);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_models = new std::vector<Loaded>();
  g_models->push_back(Load(QUEST_MODELS_DIR "/gemma-3-270m-q4_k_m.gguf"));
  g_models->push_back(Load(QUEST_MODELS_DIR "/smollm2-135m-instruct-q4_1.gguf"));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Loaded& m = (*g_models)[data[0] % g_models->size()];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  for (bool parse_special : {false, true}) {
    const std::vector<int32_t> ids = m.tok.Encode(text, /*add_special=*/true, parse_special);
    CheckIds(m.tok, ids);
    (void)m.tok.Decode(ids);
  }
  for (bool parse_special : {false, true}) {
    const std::vector<int32_t> ids = m.tok.Encode(text, false, parse_special);
    CheckIds(m.tok, ids);
    std::string kept;
    for (char ch : text) {
      if (!m.dropped[static_cast<unsigned char>(ch)]) kept += ch;
    }
    if (m.tok.vocab().kind == quest::VocabKind::kSpm) {
      for (size_t at; (at = kept.find("\xE2\x96\x81")) != std::string::npos;) {
        kept.replace(at, 3, " ");
      }
    }
    if (IsValidUtf8(text) && m.tok.Decode(ids) != kept) {
      std::fprintf(stderr, "Decode(Encode(text, false, %d)) != text (%zu bytes)\n", parse_special,
                   text.size());
      std::abort();
    }
  }
  quest::Result<std::string> chat =
      m.chat.Apply({{"system", text}, {"user", text}}, /*add_generation_prompt=*/true);
  if (chat.ok()) CheckIds(m.tok, m.tok.Encode(*chat, false, true));
  return 0;
}
