#include "src/serve/scheduler.h"

#include <algorithm>

#include "src/util/timing.h"

namespace quest {

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const Model& model,
                                                     const SchedulerOptions& o) {
  if (o.parallel <= 0) return Status::Error(StrFormat("invalid --parallel %d: must be > 0", o.parallel));
  if (o.queue_size < 0) {
    return Status::Error(StrFormat("invalid --queue-size %d: must be >= 0", o.queue_size));
  }
  if (o.ctx_size <= 1) return Status::Error(StrFormat("invalid --ctx-size %d: must be > 1", o.ctx_size));
  if (o.prefill_chunk <= 0) {
    return Status::Error(StrFormat("invalid --prefill-chunk %d: must be > 0", o.prefill_chunk));
  }
  if (o.cache_pages < 0) {
    return Status::Error(StrFormat("invalid --cache-pages %d: must be >= 0", o.cache_pages));
  }
  KvStoreOptions ko;
  ko.page_size = o.page_size;
  ko.type = o.kv_type;
  const int64_t per_ctx = (static_cast<int64_t>(o.ctx_size) + o.page_size - 1) / o.page_size;
  const int64_t pages = per_ctx * o.parallel + (o.cache_pages > 0 ? o.cache_pages : per_ctx);
  if (pages > (int64_t{1} << 30)) {
    return Status::Error(StrFormat("--parallel %d x --ctx-size %d is too many KV pages", o.parallel,
                                   o.ctx_size));
  }
  ko.num_pages = static_cast<int>(pages);
  // Every token of every layer in the shared pool, so that the prefix cache
  // can share sliding-window layers' pages too.
  ko.window_rings = false;
  ko.max_chunk = o.prefill_chunk;
  Result<std::unique_ptr<KvStore>> store = KvStore::Create(model.config(), ko);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Scheduler>(new Scheduler(model, o, std::move(*store)));
}

Scheduler::Scheduler(const Model& model, const SchedulerOptions& o,
                     std::unique_ptr<KvStore> store)
    : model_(model),
      opts_(o),
      store_(std::move(store)),
      prefix_(&store_->pool()),
      forward_(model, store_.get(), o.threads, o.ctx_size) {
  UpdatePageStats();
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() { Stop(); }

Scheduler::Admission Scheduler::Submit(GenerationRequest request,
                                       std::shared_ptr<TokenStream>* stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Admission::kStopped;
    const int waiting = static_cast<int>(queue_.size());
    const int free_slots = opts_.parallel - slots_used_;
    if (waiting >= free_slots + opts_.queue_size) return Admission::kQueueFull;
    *stream = std::make_shared<TokenStream>();
    queue_.push_back({*stream, std::move(request)});
    stats_.queued = static_cast<int>(queue_.size());
  }
  cv_.notify_all();
  return Admission::kQueued;
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SchedulerStats Scheduler::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Scheduler::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!stop_ && queue_.empty() && active_.empty()) {
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      }
      if (stop_) break;
    }
    Admit();
    Step();
  }
  std::deque<Queued> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued.swap(queue_);
  }
  for (Queued& q : queued) q.stream->Finish(FinishReason::kCancelled);
  for (auto& a : active_) Retire(a.get(), FinishReason::kCancelled);
  active_.clear();
}

void Scheduler::Admit() {
  const ModelConfig& c = model_.config();
  const int S = opts_.page_size;
  for (;;) {
    Queued q;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty() || static_cast<int>(active_.size()) >= opts_.parallel) break;
      q = std::move(queue_.front());
      queue_.pop_front();
      ++slots_used_;
      stats_.queued = static_cast<int>(queue_.size());
      stats_.active = slots_used_;
    }
    auto a = std::make_unique<Active>();
    a->stream = std::move(q.stream);
    a->request = std::move(q.request);
    a->tokens = a->request.prompt;
    a->state.policy = a->request.policy;
    a->state.policy.quest.scale = c.attn_scale;
    a->state.ResetEviction(c.num_layers);
    a->sampler = std::make_unique<Sampler>(a->request.sampling);
    a->logits.resize(c.vocab_size);
    // At least one prompt token is prefilled: its logits start the answer.
    const int prompt = static_cast<int>(a->tokens.size());
    a->prefilled = prefix_.Acquire(a->tokens, (prompt - 1) / S, &a->state.seq);
    a->stream->SetCachedTokens(a->prefilled);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.prompt_tokens += prompt;
      if (a->prefilled > 0) {
        ++stats_.prefix_hits;
        stats_.prefix_tokens += a->prefilled;
      }
    }
    if (Status st = store_->Open(&a->state); !st.ok()) {
      Retire(a.get(), FinishReason::kError, st.message());
      continue;
    }
    active_.push_back(std::move(a));
  }
  UpdatePageStats();
}

// Decode items first: Forward gives their rows the per-row dot of a sequence
// decoding alone (ProjectDecodeRows), prefill chunks the MatMul. Prefill
// chunks share --prefill-chunk tokens in arrival order.
std::vector<Scheduler::Planned> Scheduler::Plan() {
  std::vector<Planned> decode, prefill;
  int budget = opts_.prefill_chunk;
  for (auto& a : active_) {
    if (a->stream->cancelled()) {
      Retire(a.get(), FinishReason::kCancelled);
      continue;
    }
    const int prompt = static_cast<int>(a->request.prompt.size());
    ForwardItem it;
    it.state = &a->state;
    if (a->prefilled < prompt) {
      if (budget == 0) continue;
      it.n = std::min(budget, prompt - a->prefilled);
      it.tokens = a->tokens.data() + a->prefilled;
      it.decode = false;
      it.logits = a->prefilled + it.n == prompt ? a->logits.data() : nullptr;
      budget -= it.n;
    } else {
      it.n = 1;
      it.tokens = &a->tokens.back();
      it.decode = true;
      it.logits = a->logits.data();
    }
    const int S = opts_.page_size;
    const int new_pages = (a->state.seq.length + it.n + S - 1) / S - a->state.seq.num_pages();
    if (!prefix_.MakeFree(new_pages) || !store_->Reserve(&a->state, it.n).ok()) {
      Retire(a.get(), FinishReason::kError, "the KV pool is exhausted");
      continue;
    }
    (it.decode ? decode : prefill).push_back({it, a.get()});
  }
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->stream == nullptr; });
  decode.insert(decode.end(), prefill.begin(), prefill.end());
  return decode;
}

bool Scheduler::Step() {
  const std::vector<Planned> plan = Plan();
  if (plan.empty()) {
    UpdatePageStats();
    return false;
  }
  std::vector<ForwardItem> items;
  int decode_tokens = 0, prefill_tokens = 0;
  for (const Planned& p : plan) {
    items.push_back(p.item);
    (p.item.decode ? decode_tokens : prefill_tokens) += p.item.n;
  }
  const double t0 = NowSeconds();
  forward_.Run(items);
  const double dt = NowSeconds() - t0;
  double kv_bytes = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    Active* a = plan[i].owner;
    if (!items[i].decode) {
      a->prefilled += items[i].n;
      if (items[i].logits == nullptr) continue;
      prefix_.Publish(a->tokens, a->state.seq);  // the prompt's pages, for the next request
    } else {
      kv_bytes += a->state.last_kv_bytes;
    }
    Emit(a);
  }
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->stream == nullptr; });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.step_seconds_max = std::max(stats_.step_seconds_max, dt);
    if (prefill_tokens > 0) stats_.prefill_tok_s = prefill_tokens / dt;
    if (decode_tokens > 0) {
      stats_.decode_tok_s = decode_tokens / dt;
      stats_.kv_bytes_per_token = kv_bytes / decode_tokens;
    }
  }
  UpdatePageStats();
  return true;
}

void Scheduler::Emit(Active* a) {
  const int vocab = model_.config().vocab_size;
  const int32_t token = a->sampler->Sample(a->logits.data(), vocab, a->tokens);
  if (!a->request.ignore_eos && std::find(opts_.end_tokens.begin(), opts_.end_tokens.end(),
                                          token) != opts_.end_tokens.end()) {
    Retire(a, FinishReason::kStop);
    return;
  }
  a->tokens.push_back(token);
  ++a->generated;
  a->stream->Push(token);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.completion_tokens;
  }
  if (a->generated >= a->request.max_tokens || a->state.position() + 1 >= opts_.ctx_size) {
    Retire(a, FinishReason::kLength);
  }
}

void Scheduler::Retire(Active* a, FinishReason reason, const std::string& error) {
  if (a->stream == nullptr) return;
  a->stream->Finish(reason, error);
  a->stream = nullptr;  // marks the slot for removal
  // Only prompt pages are shared: they were prefilled densely, while the
  // generated tokens' K/V depend on this request's attention policy.
  Sequence prompt_part = a->state.seq;
  prompt_part.length = std::min(prompt_part.length, a->prefilled);
  prefix_.Publish(a->tokens, prompt_part);
  prefix_.Release(&a->state.seq);
  store_->Close(&a->state);
  std::lock_guard<std::mutex> lock(mu_);
  --slots_used_;
  stats_.active = slots_used_;
}

void Scheduler::UpdatePageStats() {
  const KvCache& pool = store_->pool();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.pages_total = pool.config().num_pages;
  stats_.pages_free = pool.free_pages();
  stats_.pages_cached = prefix_.cached_pages();
  stats_.pages_used = stats_.pages_total - stats_.pages_free - stats_.pages_cached;
}

}  // namespace quest
