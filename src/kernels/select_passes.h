// The linear passes of Quest's top-k page selection (quest/page_select.cc),
// in SIMD (Highway, runtime dispatch): counting, compacting and emitting the
// scores above a threshold. Scalar twins in reference.h; select_passes_test.cc
// compares. As scalar loops they were ~12 cycles per page, 7 us per head for
// 2048 pages (32K context), about 5% of a Quest attention step.
#pragma once

#include <cstdint>

namespace quest {

// Extra capacity the output arrays below need beyond n: whole vectors are
// stored past the last element written.
inline constexpr int kSelectPad = 64;

// How many x[i] > t, i < n.
int CountAbove(const float* x, int n, float t);

// Copies the x[i] >= t to out in order; returns how many. out holds n +
// kSelectPad floats.
int CompactAtLeast(const float* x, int n, float t, float* out);

// Writes base + i for every i < n with x[i] > t and for the first *ties
// (in index order) with x[i] == t, ascending; *ties is decremented by the
// equal ones taken. Returns how many were written. out holds n + kSelectPad.
int IndicesAbove(const float* x, int n, float t, int* ties, int32_t base, int32_t* out);

}  // namespace quest
