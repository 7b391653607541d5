// Public API of the decode kernels: each call dispatches at run time to the best
// SIMD target Highway compiled (AVX-512, AVX2, SSE4, ... scalar). Every kernel
// has a plain double-accumulating twin in reference.h, and a test comparing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "src/kernels/paged_kv.h"

namespace quest {

// ---- KV append --------------------------------------------------------------

// dst[i] = src[i] in the storage type (f16: round to nearest even; not q8).
void ConvertToKv(const float* src, size_t n, KvType type, void* dst);

// q8: one row of n floats (n % 16 == 0) as int8 with a symmetric absmax
// scale; returns the scale (max |src| / 127). The row stands for dst[i] *
// scale, dst[i] = round_even(src[i] * 127 / max |src|), so each value is off
// by at most scale / 2. Rows of zeros, or of magnitudes below ~4e-37, store
// zeros with scale 0. src must be finite.
// limit: values beyond +-limit are clipped (the scale is at most limit / 127).
float QuantizeQ8(const float* src, int n, int8_t* dst,
                 float limit = std::numeric_limits<float>::infinity());

// dst[i] = src[i] * scale in f32: the values a q8 row stands for.
void DequantizeQ8(const int8_t* src, int n, float scale, float* dst);

// q8: folds one dequantized key row (f32) into a page's f16 metadata, each
// channel rounded outward (kmax to the nearest f16 >= the key, kmin to the
// nearest f16 <= it), so that the metadata bounds the stored keys. Keys must
// lie within kQ8KeyLimit. first == true starts a new page.
void UpdatePageMinMaxOutward(const float* key, int head_dim, bool first, uint16_t* kmax,
                             uint16_t* kmin);

// Folds one stored key row (head_dim elements of `type`) into a page's
// channel-wise max / min. first == true starts a new page (the row itself).
// Values are exact: a max/min of stored values is itself representable. Not
// q8: its keys fold in with UpdatePageMinMaxOutward.
void UpdatePageMinMax(const void* key, KvType type, int head_dim, bool first, void* kmax,
                      void* kmin);

// ---- Quest page scoring -----------------------------------------------------

// For num_q queries (rows of q, each head_dim floats, stride q_stride) that share
// kv_head, and each page pages[j]:
//   scores[g * num_pages + j] = sum_i max(q_g[i] * kmax[i], q_g[i] * kmin[i])
// the upper bound of q_g . k over every key of the page (fp32, no scaling).
void ScorePages(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                const int32_t* pages, int num_pages, float* scores);

// Pages [first, first + count) of the list pages[0, num_pages), bit for bit
// the scores ScorePages gives them over the whole list (its page tiles are
// kept, so the summation order is the same): two-level selection scores the
// pages of a few blocks and must rank them as the flat scan does.
//   scores: [num_q][count]
void ScorePagesRange(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                     const int32_t* pages, int num_pages, int first, int count, float* scores);

// The exponent ExpOfBounds clamps to: exp(80) ~ 5.5e34 exceeds any softmax
// normaliser of a context (at most its token count), so the clamped mass still
// gives a tail share of 1 in double.
inline constexpr float kMaxBoundExponent = 80.0f;

// out[j] = exp(min(max(scale * u[j] - m, -80), 80)): the most unnormalised
// softmax mass (relative to the running max m) one token of page j can hold
// when u[j] bounds its q . k (ScorePages). The certified mode's inner pass.
void ExpOfBounds(const float* u, int n, float scale, float m, float* out);

// ---- Decode attention ----------------------------------------------------------

// Exact softmax attention of one decode token over the pages of `pages`.
//   q:   [num_heads][head_dim] queries (post-RoPE); head h uses KV head h / G,
//        G = num_heads / kv.num_kv_heads.
//   out: [num_heads][head_dim]
//   pages.num_lists() is num_kv_heads (shared lists) or num_heads (per head).
//   probs (optional): per head, the softmax probability of each token read, in
//        list order (pages in order, tokens in page order).
// Work is split over lists and page chunks on num_threads OpenMP threads; the
// partial (max, sum, acc) states are merged exactly.
void AttendPages(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                 float scale, int num_threads, float* out,
                 std::vector<std::vector<float>>* probs = nullptr);

// The running softmax state of one decode token's heads over the keys read so
// far: what the certified mode (quest/certified_attention.h) carries between
// its rounds of pages, so that no page is read twice.
struct AttentionState {
  std::vector<float> m;    // [num_heads] max logit (scaled) seen; -inf before any key
  std::vector<float> l;    // [num_heads] sum of exp(logit - m)
  std::vector<float> acc;  // [num_heads][head_dim] sum of exp(logit - m) v, unnormalised
  void Reset(int num_heads, int head_dim);
};

// Folds the keys of `pages` into state (exactly as AttendPages merges its
// chunks); lists may be empty. AttendPages is Reset, this, FinishAttention.
void AttendPagesAccumulate(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                           float scale, int num_threads, AttentionState* state);

// out[h] = acc[h] / l[h] ([num_heads][head_dim]; zero for a head with no keys).
void FinishAttention(const AttentionState& state, int head_dim, float* out);

// The same over an arbitrary token list (eviction baselines).
void AttendTokens(const float* q, int num_heads, const PagedKv& kv, const TokenList& tokens,
                  float scale, int num_threads, float* out,
                  std::vector<std::vector<float>>* probs = nullptr);

// ---- Prefill attention ----------------------------------------------------------

// Causal softmax attention of a chunk of n consecutive query tokens over their
// sequence's keys (the chunk's own keys already written to the cache).
//   q:      [n][num_heads][head_dim] post-RoPE queries; token t is at position
//           pos0 + t and sees the keys at positions p <= pos0 + t, and, when
//           window > 0, p > pos0 + t - window (the last `window` tokens).
//   pages:  [ceil((pos0 + n) / page_size)] the sequence's physical page ids in
//           token order (the same for every KV head).
//   out:    [n][num_heads][head_dim]
// Work is split over (KV head, block of queries) tasks on num_threads OpenMP
// threads; each task converts each K/V row it reads to f32 once for all of its
// queries and heads (online softmax over blocks of 64 keys).
void AttendCausal(const float* q, int n, int num_heads, int pos0, const PagedKv& kv,
                  const int32_t* pages, int window, float scale, int num_threads, float* out);

// ---- Arithmetic peak ------------------------------------------------------------

// f32 GFLOP/s of iters_per_thread steps of independent register FMA chains on
// num_threads threads (2 FLOPs per lane and FMA): the ceiling a GEMM or
// attention kernel of this target can reach.
double FmaPeakGflops(int num_threads, int64_t iters_per_thread);

// 8-bit integer dot GOPS (2 per u8 x i8 multiply-add) of iters_per_thread
// steps of independent register chains on num_threads threads, by pmaddubsw +
// pmaddwd (AVX2, AVX-512 BW): what an 8-bit GEMM of those instructions could
// reach. 0: no probe for this target.
double IntDotPeakGops(int num_threads, int64_t iters_per_thread);
// One thread's chains (IntDotPeakGops' work, for tests): the multiply-adds
// done (0: no probe for this target); *sink = the sum of the chains' first
// lanes, iters * 4 * (1 + 2) * (1 + 2 + 3 + 4).
int64_t IntDotChains(int64_t iters, int32_t* sink);

// ---- Memory bandwidth -----------------------------------------------------------

// Sum of n floats read once, on num_threads threads (a STREAM-like read).
double SumFloats(const float* p, size_t n, int num_threads);

// Sum of num_runs runs of run_floats floats, run r starting at base + starts[r]
// (scattered runs: the read pattern of Quest's selected pages), each thread
// taking a contiguous range of runs.
double SumRuns(const float* base, const int64_t* starts, size_t num_runs, size_t run_floats,
               int num_threads);

}  // namespace quest
