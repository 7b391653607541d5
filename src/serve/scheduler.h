// Runs many sequences on one model: a bounded queue, --parallel slots, and one
// engine thread that steps every active sequence together (continuous
// batching). Each step decodes one token of every decoding sequence and
// prefills at most one chunk of prompt tokens, so a long prompt never stalls
// the other streams for more than one chunk. Prompts begin from the prefix
// cache's pages where they can. Knows nothing of HTTP.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "src/engine/forward.h"
#include "src/engine/kv_store.h"
#include "src/engine/model.h"
#include "src/engine/sampler.h"
#include "src/serve/prefix_cache.h"
#include "src/serve/stream.h"

namespace quest {

struct SchedulerOptions {
  int parallel = 4;      // sequences decoded at once
  int queue_size = 64;   // requests waiting for a slot; more are refused
  int ctx_size = 8192;   // tokens one sequence may hold
  int prefill_chunk = 256;  // prompt tokens per step
  int threads = 0;       // 0: all OpenMP threads
  int cache_pages = 0;   // pages kept for the prefix cache beyond the slots' (0: one context)
  int page_size = 16;
  KvType kv_type = KvType::kF16;
  std::vector<int32_t> end_tokens;  // end-of-generation ids
};

struct GenerationRequest {
  std::vector<int32_t> prompt;
  int max_tokens = 0;  // >= 1
  SamplerOptions sampling;
  AttentionPolicy policy;
  bool ignore_eos = false;  // end-of-generation tokens do not end it
};

// What /metrics reports of the engine.
struct SchedulerStats {
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int64_t prefix_hits = 0, prefix_tokens = 0;
  double prefill_tok_s = 0, decode_tok_s = 0;
  int active = 0, queued = 0;
  int pages_used = 0, pages_cached = 0, pages_free = 0, pages_total = 0;
  double kv_bytes_per_token = 0;
  double step_seconds_max = 0;
};

class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> Create(const Model& model,
                                                   const SchedulerOptions& options);
  ~Scheduler();

  enum class Admission { kQueued, kQueueFull, kStopped };
  // Queues a request; its tokens arrive on `stream`. Refused when every slot
  // is busy and --queue-size requests already wait, or after Stop.
  Admission Submit(GenerationRequest request, std::shared_ptr<TokenStream>* stream);
  // Ends the engine thread: queued and active requests end as cancelled.
  void Stop();
  SchedulerStats Stats() const;
  const SchedulerOptions& options() const { return opts_; }

 private:
  struct Active {
    std::shared_ptr<TokenStream> stream;
    GenerationRequest request;
    SequenceState state;
    std::unique_ptr<Sampler> sampler;
    std::vector<int32_t> tokens;  // prompt, then the generated tokens
    int prefilled = 0;            // prompt tokens in the cache
    int generated = 0;
    std::vector<float> logits;
  };
  struct Queued {
    std::shared_ptr<TokenStream> stream;
    GenerationRequest request;
  };

  struct Planned {
    ForwardItem item;
    Active* owner;
  };

  Scheduler(const Model& model, const SchedulerOptions& options, std::unique_ptr<KvStore> store);
  void Loop();
  // This step's items, decode items first; retires cancelled sequences and
  // those the KV pool cannot grow.
  std::vector<Planned> Plan();
  // One step over the active sequences; false when there was nothing to do.
  bool Step();
  void Admit();
  void Retire(Active* a, FinishReason reason, const std::string& error = "");
  // Samples the next token of a sequence whose logits are fresh, emits it,
  // and ends the sequence where it stops.
  void Emit(Active* a);
  void UpdatePageStats();

  const Model& model_;
  SchedulerOptions opts_;
  std::unique_ptr<KvStore> store_;
  PrefixCache prefix_;
  Forward forward_;
  std::vector<std::unique_ptr<Active>> active_;  // engine thread only

  mutable std::mutex mu_;  // guards queue_, stop_, stats_
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  bool stop_ = false;
  int slots_used_ = 0;  // active sequences
  SchedulerStats stats_;
  std::thread thread_;
};

}  // namespace quest
