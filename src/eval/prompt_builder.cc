// Token-exact prompt assembly: RNG, cached piece encoding, haystack filling and
// needle insertion at sentence boundaries.
#include "src/eval/prompt_builder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numeric>

namespace quest::eval {

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t Rng::Uniform(int64_t lo, int64_t hi) {
  QE_CHECK(lo <= hi, "Uniform(%lld, %lld)", static_cast<long long>(lo), static_cast<long long>(hi));
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t x;
  do {
    x = Next();
  } while (x >= limit);
  return lo + static_cast<int64_t>(x % span);
}

double Rng::UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

uint64_t TaskSeed(const std::string& task, uint64_t seed) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : task) h = (h ^ c) * 1099511628211ull;
  Rng mix(seed ^ h);
  return mix.Next();
}

const std::vector<int32_t>& PieceEncoder::Encode(const std::string& piece, bool first) {
  auto key = std::make_pair(first, piece);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  std::string_view text = piece;
  if ((first || tok_.vocab().add_space_prefix) && !text.empty() && text[0] == ' ') {
    text.remove_prefix(1);
  }
  return cache_
      .emplace(std::move(key), tok_.Encode(text, /*add_special=*/false,
                                           /*parse_special=*/false))
      .first->second;
}

std::vector<int32_t> PieceEncoder::Bos() const {
  const Vocab& v = tok_.vocab();
  if (v.add_bos && v.bos >= 0) return {v.bos};
  return {};
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  if (needle.empty()) return 0;
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

Result<BuiltPrompt> BuildHaystackPrompt(PieceEncoder& enc, int length, const HaystackSpec& spec) {
  QE_CHECK(!spec.prefix.empty());
  QE_CHECK(spec.needles.size() == spec.depths.size());
  const std::vector<int32_t> bos = enc.Bos();
  const std::vector<int32_t>& prefix = enc.Encode(spec.prefix, /*first=*/true);
  const std::vector<int32_t>& question = enc.Encode(spec.question);
  if (question.empty()) return Status::Error("the question encodes to no tokens");
  int64_t fixed = static_cast<int64_t>(bos.size() + prefix.size() + question.size());
  for (const std::string& n : spec.needles) fixed += static_cast<int64_t>(enc.Count(n));
  const int64_t budget = length - fixed;
  if (budget < 0) {
    return Status::Error(
        StrFormat("length %d is too small: instruction, needles and question "
                  "alone take %lld tokens",
                  length, static_cast<long long>(fixed)));
  }

  // Haystack pieces; boundaries[i] = token offset after i whole sentences.
  std::vector<std::string> pieces;
  std::vector<int64_t> boundaries = {0};
  std::vector<size_t> boundary_piece = {0};  // piece index at each boundary
  int64_t used = 0;
  std::string pending;  // the sentence that did not fit whole
  for (int guard = 0; guard < 100000000; ++guard) {
    std::string s = spec.next_sentence();
    const int64_t n = static_cast<int64_t>(enc.Count(s));
    if (used + n > budget) {
      pending = std::move(s);
      break;
    }
    pieces.push_back(std::move(s));
    used += n;
    boundaries.push_back(used);
    boundary_piece.push_back(pieces.size());
  }
  // Words of the following sentences while they fit. A word too long for a gap
  // wider than kLengthSlack is skipped (up to 256 of them), so that coarse
  // tokenizations still end within the slack.
  for (int skipped = 0; used < budget && skipped < 256;) {
    for (const std::string& w : SplitWords(pending)) {
      const std::string piece = " " + w;
      const int64_t n = static_cast<int64_t>(enc.Count(piece));
      if (used + n <= budget) {
        pieces.push_back(piece);
        used += n;
      } else if (budget - used <= kLengthSlack || ++skipped >= 256) {
        break;
      }
    }
    if (budget - used <= kLengthSlack) break;
    pending = spec.next_sentence();
  }
  if (budget - used > kLengthSlack) {
    return Status::Error(StrFormat("cannot fill %lld haystack tokens to within %d",
                                   static_cast<long long>(budget), kLengthSlack));
  }
  boundaries.push_back(used);
  boundary_piece.push_back(pieces.size());

  // Needle i goes to the boundary nearest depth_i * used.
  std::vector<size_t> at(spec.needles.size());
  for (size_t i = 0; i < spec.needles.size(); ++i) {
    const double target = std::clamp(spec.depths[i], 0.0, 1.0) * static_cast<double>(used);
    size_t best = 0;
    for (size_t b = 1; b < boundaries.size(); ++b) {
      if (std::abs(static_cast<double>(boundaries[b]) - target) <
          std::abs(static_cast<double>(boundaries[best]) - target)) {
        best = b;
      }
    }
    at[i] = boundary_piece[best];
  }
  std::vector<size_t> order(spec.needles.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return at[a] < at[b]; });

  BuiltPrompt out;
  out.needle_tokens.assign(spec.needles.size(), -1);
  out.context = bos;
  auto append = [&](const std::string& piece, bool first) {
    const std::vector<int32_t>& t = enc.Encode(piece, first);
    out.context.insert(out.context.end(), t.begin(), t.end());
    out.text += (first && !piece.empty() && piece[0] == ' ') ? piece.substr(1) : piece;
  };
  append(spec.prefix, true);
  size_t next = 0;  // into order
  for (size_t p = 0; p <= pieces.size(); ++p) {
    while (next < order.size() && at[order[next]] == p) {
      out.needle_tokens[order[next]] = static_cast<int>(out.context.size());
      append(spec.needles[order[next]], false);
      ++next;
    }
    if (p < pieces.size()) append(pieces[p], false);
  }
  out.question = question;
  out.question_text = spec.question;
  const int64_t total = static_cast<int64_t>(out.context.size() + out.question.size());
  if (std::llabs(total - length) > kLengthSlack) {
    return Status::Error(
        StrFormat("built %lld tokens for length %d", static_cast<long long>(total), length));
  }
  return out;
}

}  // namespace quest::eval

namespace quest::eval {

const std::vector<std::string>& NoiseSentences() {
  static const std::vector<std::string> kSentences = {" The grass is green.", " The sky is blue.",
                                                      " The sun is yellow.", " Here we go.",
                                                      " There and back again."};
  return kSentences;
}

}  // namespace quest::eval
