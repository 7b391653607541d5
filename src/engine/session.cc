// One sequence on its own store, through the batched forward pass.
#include "src/engine/session.h"

#include <algorithm>

namespace quest {

namespace {
// Tokens per Write of FillSynthetic (so also a bound on the ring's chunk).
constexpr int kSyntheticChunk = 256;

// The checks of an attention policy's values, for Create and for
// SetAttentionPolicy alike.
Status ValidatePolicy(const AttentionPolicy& p) {
  if (p.quest.budget <= 0) {
    return Status::Error(StrFormat("invalid budget %d: must be > 0 tokens", p.quest.budget));
  }
  if (p.dense_layers < 0) {
    return Status::Error(StrFormat("invalid dense layers %d: must be >= 0", p.dense_layers));
  }
  if (p.quest.sink_pages < 0) {
    return Status::Error(StrFormat("invalid sink pages %d: must be >= 0", p.quest.sink_pages));
  }
  if (IsEviction(p.method) && p.sink_tokens < 0) {
    return Status::Error(StrFormat("invalid sink tokens %d: must be >= 0", p.sink_tokens));
  }
  return Status();
}
}  // namespace

Result<std::unique_ptr<Session>> Session::Create(const Model& model, const SessionOptions& opts) {
  const ModelConfig& c = model.config();
  const int context = opts.context > 0 ? opts.context : c.context_length;
  if (opts.context < 0) {
    return Status::Error(StrFormat("invalid context %d: must be >= 0", opts.context));
  }
  if (opts.prefill_chunk <= 0) {
    return Status::Error(StrFormat("invalid prefill chunk %d: must be > 0", opts.prefill_chunk));
  }
  QE_RETURN_IF_ERROR(ValidatePolicy(opts.attention));
  KvStoreOptions ko;
  ko.page_size = opts.attention.page_size;
  ko.type = opts.attention.kv_type;
  ko.num_pages = (context + ko.page_size - 1) / ko.page_size;
  ko.window_rings = true;
  ko.max_sequences = 1;
  ko.max_chunk = std::max(opts.prefill_chunk, kSyntheticChunk);
  ko.pool_file = opts.kv_file;
  Result<std::unique_ptr<KvStore>> store = KvStore::Create(c, ko);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Session>(new Session(model, opts, std::move(*store), context));
}

Session::Session(const Model& model, const SessionOptions& opts, std::unique_ptr<KvStore> store,
                 int context)
    : model_(model),
      opts_(opts),
      store_(std::move(store)),
      forward_(model, store_.get(), opts.threads, context),
      context_(context) {
  state_.policy = opts.attention;
  state_.policy.quest.scale = model.config().attn_scale;
  state_.ResetEviction(model.config().num_layers);
  forward_.diagnostics().check_attention = opts.check_attention;
  forward_.diagnostics().measure_selection_recall = opts.measure_selection_recall;
  forward_.diagnostics().compare_selection = opts.compare_selection;
  QE_CHECK(store_->Open(&state_).ok(), "a fresh store has a ring for its one sequence");
}

int Session::kept_tokens(int layer) const {
  const std::vector<TokenEviction>& ev = state_.eviction;
  if (layer < 0 || layer >= static_cast<int>(ev.size()) || !ev[layer].initialized()) return -1;
  return static_cast<int>(ev[layer].kept(0).size());
}

void Session::Reset() {
  store_->pool().Release(&state_.seq);
  state_.ring_seq = Sequence();
  state_.page_blocks.clear();
  state_.ResetEviction(model_.config().num_layers);
}

Status Session::CopyStateFrom(const Session& src) {
  if (&src.model_ != &model_ || src.context_ != context_) {
    return Status::Error("session copy: the sessions differ in model or context");
  }
  QE_RETURN_IF_ERROR(store_->CopyFrom(*src.store_));
  const AttentionPolicy mine = state_.policy;
  const std::vector<TokenEviction> src_eviction = src.state_.eviction;
  state_ = src.state_;
  state_.policy = mine;
  const AttentionPolicy& theirs = src.state_.policy;
  if (theirs.method == mine.method && theirs.quest.budget == mine.quest.budget &&
      theirs.sink_tokens == mine.sink_tokens) {
    state_.eviction = src_eviction;
  } else {
    state_.ResetEviction(model_.config().num_layers);
  }
  return Status();
}

Status Session::SaveKv(const std::string& path, std::span<const int32_t> tokens,
                       std::span<const float> logits) const {
  if (static_cast<int>(tokens.size()) != position()) {
    return Status::Error(StrFormat("saving K/V: %zu tokens given for a sequence of %d",
                                   tokens.size(), position()));
  }
  return SaveKvFile(path, model_, *store_, state_, context_, tokens, logits);
}

Result<KvSnapshot> Session::LoadKv(const std::string& path, std::span<const int32_t> prompt) {
  if (position() != 0) {
    return Status::Error(StrFormat("loading K/V: the session already holds %d tokens", position()));
  }
  return LoadKvFile(path, model_, store_.get(), &state_, context_, prompt);
}

Status Session::Prefill(const int32_t* tokens, int n, float* logits) {
  const int vocab = model_.config().vocab_size;
  for (int i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return Status::Error(StrFormat("token id %d at index %d is outside the vocabulary (0..%d)",
                                     tokens[i], i, vocab - 1));
    }
  }
  if (position() + n > context_) {
    return Status::Error(StrFormat("%d tokens at position %d exceed the context of %d tokens", n,
                                   position(), context_));
  }
  for (int done = 0; done < n;) {
    const int m = std::min(opts_.prefill_chunk, n - done);
    Run(tokens + done, m, /*decode=*/false, done + m == n ? logits : nullptr);
    done += m;
  }
  return Status();
}

Status Session::Decode(int32_t token, float* logits) {
  if (token < 0 || token >= model_.config().vocab_size) {
    return Status::Error(StrFormat("token id %d is outside the vocabulary", token));
  }
  if (position() + 1 > context_) {
    return Status::Error(StrFormat("the context of %d tokens is full", context_));
  }
  Run(&token, 1, /*decode=*/true, logits);
  return Status();
}

void Session::Run(const int32_t* tokens, int n, bool decode, float* logits) {
  QE_CHECK(store_->Reserve(&state_, n).ok(), "context checked by the caller");
  const ForwardItem item{&state_, tokens, n, decode, logits};
  forward_.Run({&item, 1});
}

Status Session::FillSynthetic(int depth, uint64_t seed) {
  if (depth < 0 || position() + depth > context_) {
    return Status::Error(StrFormat("cannot fill %d tokens at position %d into a context of %d",
                                   depth, position(), context_));
  }
  const ModelConfig& c = model_.config();
  const size_t row = static_cast<size_t>(c.num_kv_heads) * c.head_dim;
  const int chunk = kSyntheticChunk;
  std::vector<float> k(row * chunk), v(row * chunk);
  QE_RETURN_IF_ERROR(store_->Reserve(&state_, depth));
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  auto next = [&s]() {  // xorshift64*, uniform in [-1, 1)
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<float>(static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 40)) *
               (2.0f / 16777216.0f) -
           1.0f;
  };
  for (int l = 0; l < c.num_layers; ++l) {
    Sequence at = store_->TableOf(state_, l);
    for (int done = 0; done < depth; done += chunk) {
      const int n = std::min(chunk, depth - done);
      for (size_t i = 0; i < row * n; ++i) {
        k[i] = next();
        v[i] = next();
      }
      store_->CacheOf(l).Write(at, store_->SlotOf(l), n, k.data(), v.data(), forward_.threads());
      at.length += n;
    }
  }
  store_->Advance(&state_, depth);
  return Status();
}

Status Session::SetAttentionPolicy(const AttentionPolicy& policy) {
  const AttentionPolicy& cur = state_.policy;
  if (policy.page_size != cur.page_size || policy.kv_type != cur.kv_type) {
    return Status::Error("the page size and KV type of a session cannot change");
  }
  QE_RETURN_IF_ERROR(ValidatePolicy(policy));
  state_.policy = policy;
  state_.policy.quest.scale = model_.config().attn_scale;
  state_.ResetEviction(model_.config().num_layers);
  return Status();
}

}  // namespace quest
