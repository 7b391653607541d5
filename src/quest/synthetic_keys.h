// Keys and queries with the structure real post-RoPE keys have, for tests and
// benchmarks of page selection: a few channels much larger than the rest, a
// content part that shifts from passage to passage, and RoPE's rotation of
// each channel pair by position (fast pairs sweep their circle within a page,
// slow ones drift over thousands of tokens). Uniform random keys lack all of
// it: every page then bounds alike, and no block can be ruled out.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace quest {

struct SyntheticKeys {
  int num_kv_heads = 8;
  int head_dim = 64;
  int passage = 512;     // tokens between content shifts
  float large = 12.0f;   // mean of the large channels
  int num_large = 4;     // large channels (slow pairs), per head
  float content = 2.0f;  // scale of a passage's content direction
  float noise = 0.5f;    // per-token noise
  uint32_t seed = 1;

  // RoPE angle of channel pair i at position pos.
  double Angle(int i, int pos) const { return pos * std::pow(10000.0, -2.0 * i / head_dim); }
  // Rotates each channel pair (i, i + head_dim / 2) of x by position pos
  // (the NeoX layout).
  void Rotate(float* x, int pos) const {
    const int half = head_dim / 2;
    for (int i = 0; i < half; ++i) {
      const double a = Angle(i, pos), c = std::cos(a), s = std::sin(a);
      const double x0 = x[i], x1 = x[i + half];
      x[i] = static_cast<float>(x0 * c - x1 * s);
      x[i + half] = static_cast<float>(x0 * s + x1 * c);
    }
  }

  // The keys of tokens 0, 1, ... one row ([num_kv_heads][head_dim]) at a time.
  class Stream {
   public:
    explicit Stream(const SyntheticKeys& p) : p_(p), rng_(p.seed), mean_(Row()), dir_(Row()) {
      const int half = p.head_dim / 2;
      for (int h = 0; h < p.num_kv_heads; ++h) {
        for (int i = 0; i < p.head_dim; ++i) mean_[h * p.head_dim + i] = 0.3f * normal_(rng_);
        // The slowest pairs carry the large channels.
        for (int j = 0; j < p.num_large; ++j) {
          mean_[h * p.head_dim + half - 1 - j / 2 + (j % 2) * half] =
              p.large * (j % 3 == 0 ? -1 : 1);
        }
      }
    }
    void Next(float* row) {
      if (t_ % p_.passage == 0) {
        for (float& d : dir_) d = p_.content * normal_(rng_);
      }
      const int half = p_.head_dim / 2;
      for (size_t i = 0; i < mean_.size(); ++i) {
        row[i] = mean_[i] + dir_[i] + p_.noise * normal_(rng_);
      }
      for (int i = 0; i < half; ++i) {
        const double a = p_.Angle(i, t_), c = std::cos(a), s = std::sin(a);
        for (int h = 0; h < p_.num_kv_heads; ++h) {
          float* x = row + h * p_.head_dim;
          const double x0 = x[i], x1 = x[i + half];
          x[i] = static_cast<float>(x0 * c - x1 * s);
          x[i + half] = static_cast<float>(x0 * s + x1 * c);
        }
      }
      ++t_;
    }

   private:
    size_t Row() const { return static_cast<size_t>(p_.num_kv_heads) * p_.head_dim; }
    const SyntheticKeys& p_;
    std::mt19937 rng_;
    std::normal_distribution<float> normal_{0.0f, 1.0f};
    std::vector<float> mean_, dir_;
    int t_ = 0;
  };

  // Keys of tokens [0, length): [length][num_kv_heads][head_dim].
  std::vector<float> Keys(int length) const {
    const size_t row = static_cast<size_t>(num_kv_heads) * head_dim;
    std::vector<float> k(row * length);
    Stream stream(*this);
    for (int t = 0; t < length; ++t) stream.Next(&k[t * row]);
    return k;
  }

  // num_q queries at position pos: [num_q][head_dim], aligned with the large
  // channels and one random passage's content (a query that looks for it).
  std::vector<float> Queries(int num_q, int pos, uint32_t query_seed) const {
    std::mt19937 rng(query_seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int half = head_dim / 2;
    std::vector<float> q(static_cast<size_t>(num_q) * head_dim);
    for (int g = 0; g < num_q; ++g) {
      float* qg = &q[static_cast<size_t>(g) * head_dim];
      for (int i = 0; i < head_dim; ++i) qg[i] = normal(rng);
      for (int j = 0; j < num_large; ++j) qg[half - 1 - j / 2 + (j % 2) * half] *= 0.2f;
      Rotate(qg, pos);
    }
    return q;
  }
};

}  // namespace quest
