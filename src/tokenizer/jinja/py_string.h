// Python str operations on UTF-8 text, as chat templates call them: indexing
// and slicing by code point, strip/split/replace, and case mapping (ASCII
// letters only; other letters keep their case).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quest::jinja {

// The code points of `s`, each as its UTF-8 bytes (a stray byte stands alone).
std::vector<std::string_view> CodePoints(std::string_view s);

// str.strip/lstrip/rstrip: `chars` absent strips whitespace.
std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right);
// str.split(sep, maxsplit): sep absent splits on whitespace runs.
std::vector<std::string> PySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit);
// str.replace(old, new, count); count < 0: all.
std::string PyReplace(std::string_view s, std::string_view from, std::string_view to,
                      int64_t count);
std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
std::string PyTitle(std::string_view s);
std::string PyCapitalize(std::string_view s);

// Python's slice [start:stop:step] indices over `n` items (absent -> default);
// appends the selected indices. Throws on step 0.
void SliceIndices(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop,
                  std::optional<int64_t> step, std::vector<int64_t>* out);

}  // namespace quest::jinja
