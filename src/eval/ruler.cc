// MakeRuler: RULER-like tasks (NIAH variants, variable tracking, common and
// frequent word extraction), token-exact and deterministic given the seed.
#include "src/eval/ruler.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <queue>
#include <set>

#include "src/eval/prompt_builder.h"

namespace quest::eval {
namespace {

constexpr int kDrawAttempts = 20;  // redraws when a value collides with the text

// The essay's sentences from a byte offset on, whitespace collapsed, wrapping
// around at the end. A sentence ends at [.!?] before whitespace or at a newline
// (a verse in the King James text).
class EssaySentences {
 public:
  EssaySentences(const std::string& essay, size_t start) : essay_(essay), pos_(start) {
    if (pos_ > 0) Next();  // skip to the start of a sentence
  }
  std::string Next() {
    std::string s = " ";
    bool space = false;
    for (int wraps = 0; wraps < 2;) {
      if (pos_ >= essay_.size()) {
        pos_ = 0;
        ++wraps;
        if (s.size() > 1) break;
        continue;
      }
      const char c = essay_[pos_++];
      if (c == '\n' || c == '\r') {
        if (s.size() > 1) break;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(c))) {
        space = s.size() > 1;
        continue;
      }
      if (space) s += ' ';
      space = false;
      s += c;
      if ((c == '.' || c == '!' || c == '?') &&
          (pos_ >= essay_.size() || std::isspace(static_cast<unsigned char>(essay_[pos_])))) {
        break;
      }
    }
    return s;
  }

 private:
  const std::string& essay_;
  size_t pos_;
};

std::function<std::string()> NoiseHaystack() {
  auto i = std::make_shared<size_t>(0);
  return [i] { return NoiseSentences()[(*i)++ % NoiseSentences().size()]; };
}

std::function<std::string()> EssayHaystack(const std::string& essay, Rng& rng) {
  auto s = std::make_shared<EssaySentences>(
      essay, static_cast<size_t>(rng.Uniform(0, static_cast<int64_t>(essay.size()) - 1)));
  return [s] { return s->Next(); };
}

std::string Number(Rng& rng, int digits) {
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  return std::to_string(rng.Uniform(lo, lo * 10 - 1));
}

std::string Uuid(Rng& rng) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    int v = static_cast<int>(rng.Uniform(0, 15));
    if (i == 12) v = 4;            // version 4
    if (i == 16) v = 8 | (v & 3);  // variant 10xx
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    s += kHex[v];
  }
  return s;
}

const std::string& Word(Rng& rng, const Corpus& corpus) {
  return corpus.words[rng.Uniform(0, static_cast<int64_t>(corpus.words.size()) - 1)];
}

std::string Key(Rng& rng, const Corpus& corpus) {
  return Word(rng, corpus) + "-" + Word(rng, corpus);
}

std::string VarName(Rng& rng) {
  std::string s;
  for (int i = 0; i < 5; ++i) s += static_cast<char>('A' + rng.Uniform(0, 25));
  return s;
}

// n distinct strings from draw().
template <typename F>
std::vector<std::string> Distinct(int n, F draw) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (int guard = 0; static_cast<int>(out.size()) < n && guard < 100000; ++guard) {
    std::string s = draw();
    if (seen.insert(s).second) out.push_back(std::move(s));
  }
  return out;
}

std::string JoinQuery(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) s += (i + 1 == keys.size()) ? (keys.size() > 2 ? ", and " : " and ") : ", ";
    s += keys[i];
  }
  return s;
}

// A needle task's draw: the prompt spec and how often strings must occur in
// the context (checked on the built text; a collision means a redraw).
struct Draw {
  HaystackSpec spec;
  std::vector<std::pair<std::string, int>> counts;
  std::vector<std::string> expected;
  int max_new_tokens = 16;
};

enum class ValueKind { kNumber, kWord, kUuid };

struct NiahShape {
  bool essay;
  int num_keys;        // needles with distinct keys
  int values_per_key;  // needles per key
  int asked_keys;      // keys in the question (the first ones)
  ValueKind value;
};

Draw DrawNiah(const NiahShape& shape, Rng& rng, const Corpus& corpus, double depth) {
  const char* type = shape.value == ValueKind::kNumber ? "numbers"
                     : shape.value == ValueKind::kWord ? "words"
                                                       : "uuids";
  const std::vector<std::string> keys = Distinct(shape.num_keys, [&] { return Key(rng, corpus); });
  const std::vector<std::string> values =
      Distinct(shape.num_keys * shape.values_per_key, [&]() -> std::string {
        switch (shape.value) {
          case ValueKind::kNumber:
            return Number(rng, 7);
          case ValueKind::kWord:
            return Word(rng, corpus);
          case ValueKind::kUuid:
            return Uuid(rng);
        }
        return "";
      });
  Draw d;
  d.spec.prefix = StrFormat(
      "Some special magic %s are hidden within the following text. Make sure to memorize it. I "
      "will quiz you about the %s afterwards.",
      type, type);
  for (int k = 0; k < shape.num_keys; ++k) {
    for (int v = 0; v < shape.values_per_key; ++v) {
      const std::string& value = values[k * shape.values_per_key + v];
      d.spec.needles.push_back(StrFormat(" One of the special magic %s for %s is: %s.", type,
                                         keys[k].c_str(), value.c_str()));
      d.spec.depths.push_back(d.spec.needles.size() == 1 ? depth : rng.UniformDouble());
      d.counts.push_back({value, 1});
      if (k < shape.asked_keys) d.expected.push_back(value);
    }
    d.counts.push_back({keys[k], shape.values_per_key});
  }
  const std::string query =
      JoinQuery(std::vector<std::string>(keys.begin(), keys.begin() + shape.asked_keys));
  d.spec.question = StrFormat(
      " What are all the special magic %s for %s mentioned in the provided text? The special "
      "magic %s for %s mentioned in the provided text are",
      type, query.c_str(), type, query.c_str());
  d.spec.next_sentence = shape.essay ? EssayHaystack(corpus.essay, rng) : NoiseHaystack();
  const int per_value = shape.value == ValueKind::kUuid ? 40 : 16;
  d.max_new_tokens = per_value * static_cast<int>(d.expected.size());
  return d;
}

// Variable tracking: one chain of 1 + 4 hops hidden in the noise haystack.
Draw DrawVt(Rng& rng, double depth) {
  constexpr int kNames = 5;
  const std::vector<std::string> names = Distinct(kNames, [&] { return VarName(rng); });
  const std::string value = Number(rng, 5);
  Draw d;
  d.spec.prefix =
      "Memorize and track the chain(s) of variable assignment hidden in the following text.";
  std::vector<double> later;
  for (int i = 1; i < kNames; ++i) later.push_back(depth + (1 - depth) * rng.UniformDouble());
  std::sort(later.begin(), later.end());
  for (int i = 0; i < kNames; ++i) {
    const std::string& rhs = i == 0 ? value : names[i - 1];
    d.spec.needles.push_back(" VAR " + names[i] + " = " + rhs + ".");
    d.spec.depths.push_back(i == 0 ? depth : later[i - 1]);
    d.counts.push_back({names[i], i + 1 < kNames ? 2 : 1});
  }
  d.counts.push_back({value, 1});
  d.spec.question = StrFormat(
      " Question: Find all variables that are assigned the value %s in the text above. Answer: "
      "According to the chain(s) of variable assignment in the text above, %d variables are "
      "assigned the value %s, they are:",
      value.c_str(), kNames, value.c_str());
  d.spec.next_sentence = NoiseHaystack();
  d.expected = names;
  d.max_new_tokens = 32;
  return d;
}

Prompt ToPrompt(const std::string& task, BuiltPrompt b, std::vector<std::string> expected,
                int max_new_tokens, double depth) {
  Prompt p;
  p.task = task;
  p.context = std::move(b.context);
  p.question = std::move(b.question);
  p.expected = std::move(expected);
  p.max_new_tokens = max_new_tokens;
  p.needle_token = b.needle_tokens.empty() ? -1 : b.needle_tokens[0];
  p.depth = depth;
  return p;
}

// A list prompt: bos, prefix, pieces, | question; no needles.
Prompt ListPrompt(const std::string& task, PieceEncoder& enc, const std::string& prefix,
                  const std::vector<std::string>& pieces, const std::string& question) {
  BuiltPrompt b;
  b.context = enc.Bos();
  const std::vector<int32_t>& p = enc.Encode(prefix, true);
  b.context.insert(b.context.end(), p.begin(), p.end());
  for (const std::string& piece : pieces) {
    const std::vector<int32_t>& t = enc.Encode(piece);
    b.context.insert(b.context.end(), t.begin(), t.end());
  }
  b.question = enc.Encode(question);
  return ToPrompt(task, std::move(b), {}, 0, 0);
}

Status TooSmall(const std::string& task, int length, int64_t needed) {
  return Status::Error(
      StrFormat("%s: length %d is too small (the fixed text alone takes %lld "
                "tokens)",
                task.c_str(), length, static_cast<long long>(needed)));
}

// Common words extraction: a numbered list " 1. word 2. word ..." where 10
// words occur c times and the others at most u < c times.
Result<Prompt> MakeCwe(PieceEncoder& enc, Rng& rng, const Corpus& corpus, int length) {
  const std::string prefix =
      "Below is a numbered list of words. In these words, some appear more often than others. "
      "Memorize the ones that appear most often.";
  const std::string question =
      " Question: What are the 10 most common words in the above list? Answer: The top 10 words "
      "that appear most often in the list are:";
  const std::string avoid = prefix + question;
  const int64_t fixed =
      static_cast<int64_t>(enc.Bos().size() + enc.Count(prefix, true) + enc.Count(question));
  const int64_t budget = length - fixed;
  if (budget <= 0) return TooSmall("cwe", length, fixed);

  std::set<std::string> used;
  std::vector<std::string> common;
  for (int guard = 0; common.size() < 10 && guard < 100000; ++guard) {
    const std::string& w = Word(rng, corpus);
    if (avoid.find(w) != std::string::npos || used.count(w)) continue;
    bool clash = false;  // no common word inside another, so recall is unambiguous
    for (const std::string& c : common)
      clash |= c.find(w) != std::string::npos || w.find(c) != std::string::npos;
    if (clash) continue;
    used.insert(w);
    common.push_back(w);
  }
  if (common.size() < 10) return Status::Error("cwe: the corpus has too few distinct words");

  auto num_tokens = [&](int64_t i) {
    return static_cast<int64_t>(enc.Count(" " + std::to_string(i) + "."));
  };
  int64_t word_tokens = 0;
  for (const std::string& w : common) word_tokens += static_cast<int64_t>(enc.Count(" " + w));
  const double entry_tokens = static_cast<double>(num_tokens(100)) + word_tokens / 10.0;
  // RULER's 30 / 3 at long lengths; fewer repeats where 10 * c entries would
  // take more than half the list.
  static const int kFreqs[][2] = {{30, 3}, {20, 3}, {10, 2}, {6, 2}, {4, 1}, {3, 1}, {2, 1}};
  int c = 2, u = 1;
  for (const auto& f : kFreqs) {
    if (10 * f[0] * entry_tokens <= budget / 2.0) {
      c = f[0];
      u = f[1];
      break;
    }
  }
  std::vector<std::string> entries;
  int64_t total = 0;
  auto add = [&](const std::string& w, int k) {
    for (int j = 0; j < k; ++j) {
      entries.push_back(w);
      total += num_tokens(static_cast<int64_t>(entries.size())) +
               static_cast<int64_t>(enc.Count(" " + w));
    }
  };
  for (const std::string& w : common) add(w, c);
  if (total > budget) return TooSmall("cwe", length, fixed + total);
  // Uncommon words, u times each; the last ones fewer times to fill the gap.
  for (int fails = 0, guard = 0; fails < 64 && total < budget && guard < 1000000; ++guard) {
    const std::string& w = Word(rng, corpus);
    if (used.count(w) || avoid.find(w) != std::string::npos) continue;
    bool clash = false;
    for (const std::string& cw : common) clash |= w.find(cw) != std::string::npos;
    if (clash) continue;
    const int64_t wt = static_cast<int64_t>(enc.Count(" " + w));
    int k = u;
    auto cost = [&](int kk) {
      int64_t s = 0;
      for (int j = 1; j <= kk; ++j) s += num_tokens(static_cast<int64_t>(entries.size()) + j) + wt;
      return s;
    };
    while (k > 0 && total + cost(k) > budget) --k;
    if (k == 0) {
      ++fails;
      continue;
    }
    used.insert(w);
    add(w, k);
  }
  if (budget - total > kLengthSlack) {
    return Status::Error(
        StrFormat("cwe: cannot fill length %d to within %d tokens (corpus of "
                  "%zu words)",
                  length, kLengthSlack, corpus.words.size()));
  }
  rng.Shuffle(entries);
  std::vector<std::string> pieces;
  pieces.reserve(2 * entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    pieces.push_back(" " + std::to_string(i + 1) + ".");
    pieces.push_back(" " + entries[i]);
  }
  Prompt p = ListPrompt("cwe", enc, prefix, pieces, question);
  p.expected = common;
  p.max_new_tokens = 48;
  return p;
}

// Frequent words extraction: random 6-letter coded words, counts apportioned
// to Zipf weights r^-2 by D'Hondt (so counts never increase with rank), the
// three most frequent strictly ahead of the rest.
Result<Prompt> MakeFwe(PieceEncoder& enc, Rng& rng, int length) {
  const std::string prefix =
      "Read the following coded text and track the frequency of each coded word. Find the three "
      "most frequently appeared coded words.";
  const std::string question =
      " Question: What are the three most frequently appeared words in the above coded text? "
      "Answer: According to the coded text above, the three most frequently appeared words are:";
  const std::string avoid = prefix + question;
  const int64_t fixed =
      static_cast<int64_t>(enc.Bos().size() + enc.Count(prefix, true) + enc.Count(question));
  const int64_t budget = length - fixed;
  if (budget <= 0) return TooSmall("fwe", length, fixed);
  const int vocab = std::clamp(length / 50, 10, 2000);
  const std::vector<std::string> words = Distinct(vocab, [&] {
    std::string w;
    do {
      w.clear();
      for (int i = 0; i < 6; ++i) w += static_cast<char>('a' + rng.Uniform(0, 25));
    } while (avoid.find(w) != std::string::npos);
    return w;
  });
  // D'Hondt: the next occurrence goes to the rank maximizing r^-2 / (count + 1),
  // ties to the lower rank.
  std::vector<int64_t> counts(vocab, 0);
  using Item = std::pair<double, int>;  // (-priority, rank)
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  for (int r = 0; r < vocab; ++r) queue.push({static_cast<double>(r + 1) * (r + 1), r});
  std::vector<std::string> entries;
  int64_t total = 0;
  while (true) {
    const int r = queue.top().second;
    const int64_t wt = static_cast<int64_t>(enc.Count(" " + words[r]));
    if (total + wt > budget) break;
    queue.pop();
    total += wt;
    entries.push_back(words[r]);
    ++counts[r];
    queue.push({static_cast<double>(r + 1) * (r + 1) * static_cast<double>(counts[r] + 1), r});
  }
  if (counts[2] <= counts[3]) {
    return Status::Error(
        StrFormat("fwe: length %d is too small to make the 3 most frequent "
                  "words stand out (%zu words fit)",
                  length, entries.size()));
  }
  if (budget - total > kLengthSlack) {
    return Status::Error(
        StrFormat("fwe: cannot fill length %d to within %d tokens", length, kLengthSlack));
  }
  rng.Shuffle(entries);
  for (std::string& e : entries) e.insert(0, " ");
  Prompt p = ListPrompt("fwe", enc, prefix, entries, question);
  p.expected = {words[0], words[1], words[2]};
  p.max_new_tokens = 24;
  return p;
}

}  // namespace

std::vector<std::string> RulerTasks() {
  return {"niah_single_number",
          "niah_single_word",
          "niah_single_uuid",
          "niah_essay_number",
          "niah_multikey",
          "niah_multivalue",
          "niah_multiquery",
          "vt",
          "cwe",
          "fwe"};
}

Result<Prompt> MakeRuler(const std::string& task, const Tokenizer& tok, const Corpus& corpus,
                         int length, double depth, uint64_t seed) {
  static const std::vector<std::pair<std::string, NiahShape>> kNiah = {
      {"niah_single_number", {false, 1, 1, 1, ValueKind::kNumber}},
      {"niah_single_word", {false, 1, 1, 1, ValueKind::kWord}},
      {"niah_single_uuid", {false, 1, 1, 1, ValueKind::kUuid}},
      {"niah_essay_number", {true, 1, 1, 1, ValueKind::kNumber}},
      {"niah_multikey", {true, 4, 1, 1, ValueKind::kNumber}},
      {"niah_multivalue", {true, 1, 4, 1, ValueKind::kNumber}},
      {"niah_multiquery", {true, 4, 1, 4, ValueKind::kNumber}},
  };
  const std::vector<std::string> tasks = RulerTasks();
  if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) {
    std::string known;
    for (const std::string& t : tasks) known += (known.empty() ? "" : ", ") + t;
    return Status::Error(
        StrFormat("unknown RULER task '%s' (known: %s)", task.c_str(), known.c_str()));
  }
  if (!(depth >= 0 && depth <= 1)) {
    return Status::Error(StrFormat("%s: depth %g is outside [0, 1]", task.c_str(), depth));
  }
  if (corpus.words.size() < 20) {
    return Status::Error(StrFormat("%s: the corpus has %zu words; need at least 20", task.c_str(),
                                   corpus.words.size()));
  }
  Rng rng(TaskSeed(task, seed));
  PieceEncoder enc(tok);
  if (task == "cwe") return MakeCwe(enc, rng, corpus, length);
  if (task == "fwe") return MakeFwe(enc, rng, length);

  const NiahShape* shape = nullptr;
  for (const auto& [name, s] : kNiah) {
    if (name == task) shape = &s;
  }
  if (shape != nullptr && shape->essay &&
      corpus.essay.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::Error(StrFormat("%s: the corpus has no essay text", task.c_str()));
  }
  for (int attempt = 0; attempt < kDrawAttempts; ++attempt) {
    Draw d = shape != nullptr ? DrawNiah(*shape, rng, corpus, depth) : DrawVt(rng, depth);
    Result<BuiltPrompt> built = BuildHaystackPrompt(enc, length, d.spec);
    if (!built.ok()) return Status::Error(task + ": " + built.status().message());
    bool ok = true;
    for (const auto& [s, n] : d.counts) ok &= CountOccurrences(built->text, s) == n;
    if (ok) return ToPrompt(task, std::move(*built), d.expected, d.max_new_tokens, depth);
  }
  return Status::Error(StrFormat("%s: %d draws of keys and values all collided with the text",
                                 task.c_str(), kDrawAttempts));
}

}  // namespace quest::eval
