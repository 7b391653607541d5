// Test fixtures for the eval tests: a word-level SPM vocabulary (single
// characters, byte fallback, and every "▁"-prefix of the template words, so
// those words are one token each) and a small synthetic corpus.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "src/eval/prompt.h"
#include "src/tokenizer/tokenizer.h"

namespace quest::eval::test_util {

// Every word of the generators' fixed texts.
inline constexpr const char* kTemplateText =
    "There is an important info hidden inside a lot of irrelevant text Find it and memorize them "
    "I will quiz you about the important information there The grass is green The sky is blue "
    "The sun is yellow Here we go There and back again The pass key is Remember it What is the "
    "pass key Some special magic numbers words uuids are hidden within the following text Make "
    "sure to memorize it I will quiz you about the afterwards One of the special magic for is "
    "What are all the special magic for mentioned in the provided text Memorize and track the "
    "chain of variable assignment hidden in the following text VAR Question Find all variables "
    "that are assigned the value in the text above Answer According to the chain of variable "
    "assignment in the text above variables are assigned the value they are Below is a numbered "
    "list of words In these words some appear more often than others Memorize the ones that "
    "appear most often What are the most common words in the above list The top words that "
    "appear most often in the list are Read the following coded text and track the frequency of "
    "each coded word Find the three most frequently appeared coded words Do not provide What are "
    "the three most frequently appeared words in the above coded text According to the coded "
    "text above the three most frequently appeared words are And unto";

inline Tokenizer MakeTokenizer(bool word_pieces, bool add_space_prefix) {
  const std::string kSpace = "\xE2\x96\x81";
  Vocab v;
  v.kind = VocabKind::kSpm;
  auto add = [&](const std::string& text, float score, TokenType type) {
    v.tokens.push_back(text);
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  add(kSpace, -1, TokenType::kNormal);
  for (char c = '!'; c <= '~'; ++c) add(std::string(1, c), -1, TokenType::kNormal);
  if (word_pieces) {
    std::set<std::string> pieces;
    std::string text = kTemplateText;
    for (size_t i = 0; i < text.size();) {
      size_t j = i;
      while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
      for (size_t k = i + 1; k <= j; ++k) pieces.insert(kSpace + text.substr(i, k - i));
      i = j + 1;
    }
    for (const std::string& p : pieces) add(p, -static_cast<float>(p.size()), TokenType::kNormal);
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, 0, TokenType::kByte);
  }
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  v.add_space_prefix = add_space_prefix;
  Result<Tokenizer> t = Tokenizer::Create(std::move(v));
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(*t);
}

// 600 distinct syllable words of 4..8 letters and an essay of 300 verses.
inline Corpus MakeCorpus() {
  static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "pu", "ra", "si", "to",
                                     "vu", "ze", "bo", "da", "fe", "gi", "ju"};
  Corpus c;
  std::set<std::string> seen;
  for (int i = 0; c.words.size() < 600; ++i) {
    std::string w;
    int x = i * 7919 + 13;
    const int n = 2 + i % 3;
    for (int s = 0; s < n; ++s, x /= 15) w += kSyllables[x % 15];
    if (seen.insert(w).second) c.words.push_back(w);
  }
  for (int i = 0; i < 300; ++i) {
    c.essay += "And the " + c.words[i] + " went unto the " + c.words[(i * 31) % 600] +
               ", and it was " + c.words[(i * 17 + 5) % 600] + ". Amen!\n";
  }
  return c;
}

}  // namespace quest::eval::test_util
