// PCRE2-backed pre-tokenizer regex sequences, keyed by tokenizer.ggml.pre.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "src/tokenizer/pre_tokenizer.h"

#include <pcre2.h>

namespace quest {
namespace {

// GPT-2's split (with HF's final \s+ so that no text is left unmatched).
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3 (tiktoken cl100k style): case-insensitive contractions, a letter
// run with one leading non-letter, digits in groups of up to three, newline
// runs kept with preceding punctuation.
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen 2 (and Qwen 2.5, Qwen 3): Llama 3's split with every digit its own piece.
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Every digit its own piece: HF's Digits(individual_digits=true).
constexpr const char* kDigit = R"(\p{N})";

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

Result<PreTokenizer> PreTokenizer::Create(std::string_view pre) {
  PreTokenizer result;
  if (pre == "gpt2") {
    result.patterns_ = {kGpt2};
  } else if (pre == "smollm" || pre == "starcoder" || pre == "refact") {
    result.patterns_ = {kDigit, kGpt2};
  } else if (pre == "llama3" || pre == "llama-bpe" || pre == "dbrx" || pre == "smaug-bpe") {
    result.patterns_ = {kLlama3};
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    result.patterns_ = {kQwen2};
  } else {
    return Status::Error(StrFormat(
        "tokenizer.ggml.pre: unsupported pre-tokenizer \"%s\" (supported: gpt2, smollm, "
        "starcoder, refact, llama3, llama-bpe, dbrx, smaug-bpe, qwen2, deepseek-r1-qwen)",
        std::string(pre).c_str()));
  }
  for (const std::string& pattern : result.patterns_) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    // UCP: \s, \p{..} follow Unicode; MATCH_INVALID_UTF: invalid bytes never
    // match instead of failing the whole subject.
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                     &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return Status::Error(StrFormat("pre-tokenizer regex \"%s\": %s at offset %zu",
                                     pattern.c_str(), reinterpret_cast<const char*>(message),
                                     static_cast<size_t>(error_offset)));
    }
    // JIT is optional: the interpreter gives the same matches, only slower.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    auto regex = std::make_shared<Regex>();
    regex->code = code;
    result.regexes_.push_back(std::move(regex));
  }
  return result;
}

std::vector<std::string_view> PreTokenizer::Split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::vector<std::string_view> next;
  for (const auto& regex : regexes_) {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    next.clear();
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0;     // where the next search starts
      size_t emitted = 0;  // end of the text already in `next`
      while (pos < piece.size()) {
        const int rc = pcre2_match(regex->code, subject, piece.size(), pos, 0, match, nullptr);
        if (rc < 0) break;  // no further match (or a resource error: keep the rest whole)
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
        const size_t begin = ov[0];
        const size_t end = ov[1];
        if (begin > emitted) next.push_back(piece.substr(emitted, begin - emitted));
        if (end > begin) {
          next.push_back(piece.substr(begin, end - begin));
          emitted = end;
          pos = end;
        } else {
          pos = begin + 1;  // empty match: step on (none of our patterns can match empty)
        }
      }
      if (emitted < piece.size()) next.push_back(piece.substr(emitted));
    }
    pcre2_match_data_free(match);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace quest
