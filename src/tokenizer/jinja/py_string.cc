// Python string semantics over UTF-8 bytes.
#include "src/tokenizer/jinja/py_string.h"

#include <algorithm>

#include "src/tokenizer/jinja/error.h"

namespace quest::jinja {
namespace {

bool IsPySpace(std::string_view cp) {
  if (cp.size() != 1) return cp == "\xC2\x85" || cp == "\xC2\xA0";
  const char c = cp[0];
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}
char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s.size()) n = 1;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) n = 1;
    }
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right) {
  const std::vector<std::string_view> cps = CodePoints(s);
  std::vector<std::string_view> set;
  if (chars) set = CodePoints(*chars);
  const auto strip = [&](std::string_view cp) {
    return chars ? std::find(set.begin(), set.end(), cp) != set.end() : IsPySpace(cp);
  };
  size_t begin = 0, end = cps.size();
  if (left) {
    while (begin < end && strip(cps[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strip(cps[end - 1])) --end;
  }
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

std::vector<std::string> PySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) Fail("split: empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t at = s.find(*sep, pos);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, at - pos));
      pos = at + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  const std::vector<std::string_view> cps = CodePoints(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && IsPySpace(cps[i])) ++i;
    if (i == cps.size()) break;
    std::string word;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      // The rest, less trailing whitespace, is the last item.
      size_t end = cps.size();
      while (end > i && IsPySpace(cps[end - 1])) --end;
      for (; i < end; ++i) word += cps[i];
      out.push_back(std::move(word));
      break;
    }
    while (i < cps.size() && !IsPySpace(cps[i])) word += cps[i++];
    out.push_back(std::move(word));
  }
  return out;
}

std::string PyReplace(std::string_view s, std::string_view from, std::string_view to,
                      int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` around every code point
    const std::vector<std::string_view> cps = CodePoints(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) out += cps[i];
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(from, pos);
    if (at == std::string_view::npos) break;
    out.append(s.substr(pos, at - pos));
    out.append(to);
    pos = at + from.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

std::string PyUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Upper(c);
  return out;
}

std::string PyLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::string PyTitle(std::string_view s) {
  std::string out(s);
  bool previous_cased = false;
  for (char& c : out) {
    const bool alpha = IsAlpha(c);
    c = alpha ? (previous_cased ? Lower(c) : Upper(c)) : c;
    previous_cased = alpha;
  }
  return out;
}

std::string PyCapitalize(std::string_view s) {
  std::string out = PyLower(s);
  if (!out.empty()) out[0] = Upper(out[0]);
  return out;
}

void SliceIndices(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop,
                  std::optional<int64_t> step, std::vector<int64_t>* out) {
  if (step.value_or(1) == 0) Fail("slice step cannot be zero");
  // A step longer than the sequence selects one item either way; the clamp
  // keeps i + s from overflowing.
  const int64_t s = std::clamp<int64_t>(step.value_or(1), -(n + 1), n + 1);
  const auto clamp = [n, s](int64_t i) {
    if (i < 0) i += n;
    if (s > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t first = start ? clamp(*start) : (s > 0 ? 0 : n - 1);
  const int64_t last = stop ? clamp(*stop) : (s > 0 ? n : -1);
  for (int64_t i = first; s > 0 ? i < last : i > last; i += s) out->push_back(i);
}

}  // namespace quest::jinja
