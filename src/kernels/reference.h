// Scalar references for every kernel in kernels.h: plain loops accumulating in
// double, written for clarity, not speed. Tests compare the SIMD paths to these.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "src/kernels/paged_kv.h"

namespace quest::ref {

// One stored element of an f16 or f32 array (K/V of those types, metadata of
// KvMetaType) as a float.
float LoadElement(const void* base, KvType type, size_t index);

// Channel i of token t of (page, kv_head)'s key or value as stored, any type
// (q8: the int8 value times its row's scale, an f32 product).
float LoadKey(const PagedKv& kv, int32_t page, int kv_head, int t, int i);
float LoadValue(const PagedKv& kv, int32_t page, int kv_head, int t, int i);

void ConvertToKv(const float* src, size_t n, KvType type, void* dst);
// As quest::QuantizeQ8 (nearbyint: round half to even).
float QuantizeQ8(const float* src, int n, int8_t* dst,
                 float limit = std::numeric_limits<float>::infinity());
// The smallest f16 value >= x and the largest <= x, searched in the sorted
// list of all finite f16 values (|x| <= 65504): what q8 metadata holds.
float F16AtLeast(float x);
float F16AtMost(float x);

// Channel-wise max / min over `rows` stored key rows (a page, from scratch).
void PageMinMax(const void* keys, KvType type, int rows, int head_dim, std::vector<float>* kmax,
                std::vector<float>* kmin);

// scores[g * num_pages + j] as in quest::ScorePages.
void ScorePages(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                const int32_t* pages, int num_pages, float* scores);

// out as in quest::ExpOfBounds, in double.
void ExpOfBounds(const float* u, int n, float scale, float m, float* out);

// Softmax attention of every head over the tokens of its list: the full
// softmax computed at once in double (no online rescaling, no chunking).
void AttendPages(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                 float scale, float* out, std::vector<std::vector<float>>* probs = nullptr);
void AttendTokens(const float* q, int num_heads, const PagedKv& kv, const TokenList& tokens,
                  float scale, float* out, std::vector<std::vector<float>>* probs = nullptr);

// The certificate of a decode step computed from scratch, and what it bounds.
// `read` lists the pages attended (one list per KV head or per query head)
// out of the sequence's pages[0..ceil(length / page_size)). Per query head,
// in double from exact logits: tail, the certified share W / (z + W) (z over
// the read tokens, W from the skipped pages' bounds, each counted as a full
// page); tv, dense attention's softmax share of the tokens not read (the
// total-variation distance to attention over the read tokens); out_err,
// max_i |o_read[i] - o_dense[i]|; vmax, max |v| over the sequence.
// Also, to see how loose the bound is: slack, the mean over skipped pages of
// scale * U(p) - (the page's largest true logit), in nats; and tail_norm /
// slack_norm, the same with the bound min(U(p), |q| max_t |k_t|) (Cauchy-
// Schwarz per page: valid, not kept in the metadata today).
struct CertificateCheck {
  std::vector<double> tail, tv, out_err, vmax;  // [num_heads]
  std::vector<double> slack, tail_norm, slack_norm;  // [num_heads]; slack 0 with no page skipped
};
CertificateCheck CheckCertificate(const float* q, int num_heads, const PagedKv& kv,
                                  const int32_t* pages, int length, const PageList& read,
                                  float scale);

// out as in quest::AttendCausal: per query and head, the full softmax over the
// keys of its causal window, in double.
void AttendCausal(const float* q, int n, int num_heads, int pos0, const PagedKv& kv,
                  const int32_t* pages, int window, float scale, float* out);

// The tokens of each page list, as token slots (page * page_size + offset).
TokenList PagesToTokens(const PageList& pages, int page_size);

double SumFloats(const float* p, size_t n);
double SumRuns(const float* base, const int64_t* starts, size_t num_runs, size_t run_floats);

// The transformer ops of ops.h as the plain scalar loops they were before the
// SIMD versions (float math through libm; RmsNorm sums squares in double).
void RmsNorm(const float* x, const float* w, int n, float eps, float* out);
// Rotates the first rope_dim channels of one head vector in place for
// position pos. adjacent_pairs: pairs (2i, 2i+1) (llama GGUFs); otherwise
// (i, i + rope_dim/2) (Gemma, "NeoX"). theta_i = pos * scale * base^(-2i/rope_dim)
// / freq_factors[i] (llama 3 frequency factors; nullptr for none), in double.
void Rope(float* x, int rope_dim, bool adjacent_pairs, int64_t pos, float base, float scale,
          const float* freq_factors);
void SiluMul(float* gate, const float* up, int n);
void AddSoftmax(const float* s, int n, float scale, float* agg);
void GeluMul(float* gate, const float* up, int n);

// Selection passes (select_passes.h).
int CountAbove(const float* x, int n, float t);
int CompactAtLeast(const float* x, int n, float t, float* out);
int IndicesAbove(const float* x, int n, float t, int* ties, int32_t base, int32_t* out);

}  // namespace quest::ref
