// Scalar double-accumulating references for the decode kernels.
#include "src/kernels/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "src/util/check.h"
#include "src/util/f16.h"

namespace quest::ref {

float LoadElement(const void* base, KvType type, size_t index) {
  QE_CHECK(type != KvType::kQ8, "q8 elements need their scale: LoadKey / LoadValue");
  if (type == KvType::kF16) return F16ToF32(static_cast<const uint16_t*>(base)[index]);
  return static_cast<const float*>(base)[index];
}

float LoadKey(const PagedKv& kv, int32_t page, int kv_head, int t, int i) {
  const size_t at = kv.KOffset(page, kv_head, t, i);
  if (kv.type != KvType::kQ8) return LoadElement(kv.k, kv.type, at);
  return static_cast<float>(static_cast<const int8_t*>(kv.k)[at]) * kv.KScales(page, kv_head)[t];
}

float LoadValue(const PagedKv& kv, int32_t page, int kv_head, int t, int i) {
  const size_t at = kv.VOffset(page, kv_head, t, i);
  if (kv.type != KvType::kQ8) return LoadElement(kv.v, kv.type, at);
  return static_cast<float>(static_cast<const int8_t*>(kv.v)[at]) * kv.VScales(page, kv_head)[t];
}

float QuantizeQ8(const float* src, int n, int8_t* dst, float limit) {
  float absmax = 0.0f;
  for (int i = 0; i < n; ++i) absmax = std::max(absmax, std::fabs(src[i]));
  absmax = std::min(absmax, limit);
  const float inv = 127.0f / absmax;
  if (!(absmax > 0.0f) || !std::isfinite(inv)) {
    std::fill(dst, dst + n, int8_t{0});
    return 0.0f;
  }
  for (int i = 0; i < n; ++i) {
    const float y = std::min(127.0f, std::max(-127.0f, src[i] * inv));
    dst[i] = static_cast<int8_t>(std::nearbyint(y));
  }
  return absmax / 127.0f;
}

// Every finite f16 value as a float, ascending (-65504 .. 65504, one zero).
static const std::vector<float>& FiniteF16s() {
  static const std::vector<float> all = [] {
    std::vector<float> v;
    for (uint32_t h = 0; h < 0x10000u; ++h) {
      if ((h & 0x7C00u) != 0x7C00u && h != 0x8000u) v.push_back(F16ToF32(static_cast<uint16_t>(h)));
    }
    std::sort(v.begin(), v.end());
    return v;
  }();
  return all;
}

float F16AtLeast(float x) {
  const std::vector<float>& v = FiniteF16s();
  return *std::lower_bound(v.begin(), v.end(), x);
}

float F16AtMost(float x) {
  const std::vector<float>& v = FiniteF16s();
  return *(std::upper_bound(v.begin(), v.end(), x) - 1);
}

void ConvertToKv(const float* src, size_t n, KvType type, void* dst) {
  QE_CHECK(type != KvType::kQ8, "q8 rows are stored with QuantizeQ8");
  for (size_t i = 0; i < n; ++i) {
    if (type == KvType::kF16) {
      static_cast<uint16_t*>(dst)[i] = F32ToF16(src[i]);
    } else {
      static_cast<float*>(dst)[i] = src[i];
    }
  }
}

void PageMinMax(const void* keys, KvType type, int rows, int head_dim, std::vector<float>* kmax,
                std::vector<float>* kmin) {
  kmax->assign(head_dim, -std::numeric_limits<float>::infinity());
  kmin->assign(head_dim, std::numeric_limits<float>::infinity());
  for (int t = 0; t < rows; ++t) {
    for (int i = 0; i < head_dim; ++i) {
      const float k = LoadElement(keys, type, static_cast<size_t>(t) * head_dim + i);
      (*kmax)[i] = std::max((*kmax)[i], k);
      (*kmin)[i] = std::min((*kmin)[i], k);
    }
  }
}

void ScorePages(const float* q, int num_q, int q_stride, const PagedKv& kv, int kv_head,
                const int32_t* pages, int num_pages, float* scores) {
  for (int g = 0; g < num_q; ++g) {
    for (int j = 0; j < num_pages; ++j) {
      const size_t off = kv.MetaOffset(pages[j], kv_head);
      double u = 0;
      for (int i = 0; i < kv.head_dim; ++i) {
        const double qi = q[static_cast<size_t>(g) * q_stride + i];
        u += std::max(qi * LoadElement(kv.kmax, KvMetaType(kv.type), off + i),
                      qi * LoadElement(kv.kmin, KvMetaType(kv.type), off + i));
      }
      scores[static_cast<size_t>(g) * num_pages + j] = static_cast<float>(u);
    }
  }
}

void ExpOfBounds(const float* u, int n, float scale, float m, float* out) {
  constexpr double kMax = 80.0;  // quest::kMaxBoundExponent
  for (int j = 0; j < n; ++j) {
    const double x = static_cast<double>(scale) * u[j] - m;
    out[j] = static_cast<float>(std::exp(std::min(std::max(x, -kMax), kMax)));
  }
}

TokenList PagesToTokens(const PageList& pages, int page_size) {
  TokenList tokens;
  tokens.indptr.push_back(0);
  for (int l = 0; l < pages.num_lists(); ++l) {
    for (int j = pages.indptr[l]; j < pages.indptr[l + 1]; ++j) {
      const int len = j + 1 == pages.indptr[l + 1] ? pages.last_page_len[l] : page_size;
      for (int t = 0; t < len; ++t) tokens.slots.push_back(pages.indices[j] * page_size + t);
    }
    tokens.indptr.push_back(static_cast<int32_t>(tokens.slots.size()));
  }
  return tokens;
}

void AttendTokens(const float* q, int num_heads, const PagedKv& kv, const TokenList& tokens,
                  float scale, float* out, std::vector<std::vector<float>>* probs) {
  const int num_lists = tokens.num_lists();
  const int G = num_heads / kv.num_kv_heads;
  const bool shared = num_lists == kv.num_kv_heads;
  QE_CHECK(shared || num_lists == num_heads, "lists %d", num_lists);
  const int D = kv.head_dim;
  const int S = kv.page_size;
  if (probs != nullptr) probs->assign(num_heads, {});
  for (int h = 0; h < num_heads; ++h) {
    const int kv_head = h / G;
    const int list = shared ? kv_head : h;
    const int begin = tokens.indptr[list];
    const int n = tokens.indptr[list + 1] - begin;
    std::vector<double> logit(n);
    double m = -std::numeric_limits<double>::infinity();
    for (int t = 0; t < n; ++t) {
      const int32_t slot = tokens.slots[begin + t];
      double dot = 0;
      for (int i = 0; i < D; ++i) {
        dot += static_cast<double>(q[static_cast<size_t>(h) * D + i]) *
               LoadKey(kv, slot / S, kv_head, slot % S, i);
      }
      logit[t] = dot * scale;
      m = std::max(m, logit[t]);
    }
    double sum = 0;
    for (int t = 0; t < n; ++t) sum += std::exp(logit[t] - m);
    std::vector<double> o(D, 0.0);
    for (int t = 0; t < n; ++t) {
      const double p = std::exp(logit[t] - m) / sum;
      logit[t] = p;
      const int32_t slot = tokens.slots[begin + t];
      for (int i = 0; i < D; ++i) o[i] += p * LoadValue(kv, slot / S, kv_head, slot % S, i);
    }
    for (int i = 0; i < D; ++i) out[static_cast<size_t>(h) * D + i] = static_cast<float>(o[i]);
    if (probs != nullptr) (*probs)[h].assign(logit.begin(), logit.end());
  }
}

void AttendPages(const float* q, int num_heads, const PagedKv& kv, const PageList& pages,
                 float scale, float* out, std::vector<std::vector<float>>* probs) {
  AttendTokens(q, num_heads, kv, PagesToTokens(pages, kv.page_size), scale, out, probs);
}

CertificateCheck CheckCertificate(const float* q, int num_heads, const PagedKv& kv,
                                  const int32_t* pages, int length, const PageList& read,
                                  float scale) {
  const int G = num_heads / kv.num_kv_heads;
  const int D = kv.head_dim;
  const int S = kv.page_size;
  const int n = (length + S - 1) / S;
  const bool shared = read.num_lists() == kv.num_kv_heads;
  CertificateCheck r;
  for (int h = 0; h < num_heads; ++h) {
    const int kv_head = h / G;
    const int list = shared ? kv_head : h;
    std::vector<char> is_read(n, 0);
    for (int j = read.indptr[list]; j < read.indptr[list + 1]; ++j) {
      for (int p = 0; p < n; ++p) is_read[p] |= pages[p] == read.indices[j];
    }
    const float* qh = q + static_cast<size_t>(h) * D;
    std::vector<double> logit(length);
    double m_all = -std::numeric_limits<double>::infinity(), m_read = m_all;
    for (int t = 0; t < length; ++t) {
      double dot = 0;
      for (int i = 0; i < D; ++i) {
        dot += static_cast<double>(qh[i]) *
               LoadKey(kv, pages[t / S], kv_head, t % S, i);
      }
      logit[t] = dot * scale;
      m_all = std::max(m_all, logit[t]);
      if (is_read[t / S]) m_read = std::max(m_read, logit[t]);
    }
    double z_all = 0, z_read = 0, skipped = 0;
    for (int t = 0; t < length; ++t) {
      z_all += std::exp(logit[t] - m_all);
      if (is_read[t / S]) {
        z_read += std::exp(logit[t] - m_read);
      } else {
        skipped += std::exp(logit[t] - m_all);
      }
    }
    double q_norm = 0;
    for (int i = 0; i < D; ++i) q_norm += static_cast<double>(qh[i]) * qh[i];
    q_norm = std::sqrt(q_norm);
    double w = 0, w_norm = 0, slack = 0, slack_norm = 0;
    int skipped_pages = 0;
    for (int p = 0; p < n; ++p) {
      if (is_read[p]) continue;
      const size_t off = kv.MetaOffset(pages[p], kv_head);
      double u = 0;
      for (int i = 0; i < D; ++i) {
        const double qi = qh[i];
        u += std::max(qi * LoadElement(kv.kmax, KvMetaType(kv.type), off + i),
                      qi * LoadElement(kv.kmin, KvMetaType(kv.type), off + i));
      }
      double k_norm = 0, page_max = -std::numeric_limits<double>::infinity();
      for (int t = p * S; t < std::min(length, (p + 1) * S); ++t) {
        double kk = 0;
        for (int i = 0; i < D; ++i) {
          const double k = LoadKey(kv, pages[p], kv_head, t % S, i);
          kk += k * k;
        }
        k_norm = std::max(k_norm, std::sqrt(kk));
        page_max = std::max(page_max, logit[t]);
      }
      const double u_norm = std::min(u, q_norm * k_norm);
      w += S * std::exp(scale * u - m_read);
      w_norm += S * std::exp(scale * u_norm - m_read);
      slack += scale * u - page_max;
      slack_norm += scale * u_norm - page_max;
      ++skipped_pages;
    }
    const auto share = [z_read](double x) {
      return x <= 0 ? 0.0 : std::isfinite(x) ? x / (z_read + x) : 1.0;
    };
    r.tail.push_back(share(w));
    r.tail_norm.push_back(share(w_norm));
    r.slack.push_back(skipped_pages > 0 ? slack / skipped_pages : 0.0);
    r.slack_norm.push_back(skipped_pages > 0 ? slack_norm / skipped_pages : 0.0);
    r.tv.push_back(skipped / z_all);
    std::vector<double> o_read(D, 0.0), o_all(D, 0.0);
    double vmax = 0;
    for (int t = 0; t < length; ++t) {
      const double pa = std::exp(logit[t] - m_all) / z_all;
      const double pr = is_read[t / S] ? std::exp(logit[t] - m_read) / z_read : 0.0;
      for (int i = 0; i < D; ++i) {
        const double v = LoadValue(kv, pages[t / S], kv_head, t % S, i);
        o_all[i] += pa * v;
        o_read[i] += pr * v;
        vmax = std::max(vmax, std::abs(v));
      }
    }
    double err = 0;
    for (int i = 0; i < D; ++i) err = std::max(err, std::abs(o_read[i] - o_all[i]));
    r.out_err.push_back(err);
    r.vmax.push_back(vmax);
  }
  return r;
}

void AttendCausal(const float* q, int n, int num_heads, int pos0, const PagedKv& kv,
                  const int32_t* pages, int window, float scale, float* out) {
  const int G = num_heads / kv.num_kv_heads;
  const int D = kv.head_dim;
  const int S = kv.page_size;
  for (int t = 0; t < n; ++t) {
    const int pos = pos0 + t;
    const int first = window > 0 ? std::max(0, pos - window + 1) : 0;
    for (int h = 0; h < num_heads; ++h) {
      const float* qh = q + (static_cast<size_t>(t) * num_heads + h) * D;
      std::vector<double> logit(pos + 1 - first);
      double m = -std::numeric_limits<double>::infinity();
      for (int p = first; p <= pos; ++p) {
        double dot = 0;
        for (int i = 0; i < D; ++i) {
          dot += static_cast<double>(qh[i]) *
                 LoadKey(kv, pages[p / S], h / G, p % S, i);
        }
        logit[p - first] = dot * scale;
        m = std::max(m, logit[p - first]);
      }
      double sum = 0;
      for (double x : logit) sum += std::exp(x - m);
      std::vector<double> o(D, 0.0);
      for (int p = first; p <= pos; ++p) {
        const double w = std::exp(logit[p - first] - m) / sum;
        for (int i = 0; i < D; ++i) o[i] += w * LoadValue(kv, pages[p / S], h / G, p % S, i);
      }
      float* oh = out + (static_cast<size_t>(t) * num_heads + h) * D;
      for (int i = 0; i < D; ++i) oh[i] = static_cast<float>(o[i]);
    }
  }
}

double SumFloats(const float* p, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += p[i];
  return s;
}

double SumRuns(const float* base, const int64_t* starts, size_t num_runs, size_t run_floats) {
  double s = 0;
  for (size_t r = 0; r < num_runs; ++r) s += SumFloats(base + starts[r], run_floats);
  return s;
}

void RmsNorm(const float* x, const float* w, int n, float eps, float* out) {
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
}

void Rope(float* x, int rope_dim, bool adjacent_pairs, int64_t pos, float base, float scale,
          const float* freq_factors) {
  const int half = rope_dim / 2;
  for (int i = 0; i < half; ++i) {
    double theta =
        static_cast<double>(pos) * scale * std::pow(static_cast<double>(base), -2.0 * i / rope_dim);
    if (freq_factors != nullptr) theta /= freq_factors[i];
    const float c = static_cast<float>(std::cos(theta));
    const float s = static_cast<float>(std::sin(theta));
    const int a = adjacent_pairs ? 2 * i : i;
    const int b = adjacent_pairs ? 2 * i + 1 : i + half;
    const float x0 = x[a];
    const float x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}

void AddSoftmax(const float* s, int n, float scale, float* agg) {
  if (n == 0) return;
  const double m = *std::max_element(s, s + n);
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += std::exp(scale * (s[j] - m));
  for (int j = 0; j < n; ++j) agg[j] += static_cast<float>(std::exp(scale * (s[j] - m)) / sum);
}

void SiluMul(float* gate, const float* up, int n) {
  for (int i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void GeluMul(float* gate, const float* up, int n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * up[i];
  }
}

int CountAbove(const float* x, int n, float t) {
  int count = 0;
  for (int i = 0; i < n; ++i) count += x[i] > t;
  return count;
}

int CompactAtLeast(const float* x, int n, float t, float* out) {
  int m = 0;
  for (int i = 0; i < n; ++i) {
    if (x[i] >= t) out[m++] = x[i];
  }
  return m;
}

int IndicesAbove(const float* x, int n, float t, int* ties, int32_t base, int32_t* out) {
  int m = 0;
  for (int i = 0; i < n; ++i) {
    if (x[i] > t || (x[i] == t && *ties > 0 && (--*ties, true))) out[m++] = base + i;
  }
  return m;
}

}  // namespace quest::ref
