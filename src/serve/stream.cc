#include "src/serve/stream.h"

namespace quest {

void TokenStream::Push(int32_t token) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back(token);
  }
  cv_.notify_all();
}

void TokenStream::Finish(FinishReason reason, std::string error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    reason_ = reason;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

TokenStream::Batch TokenStream::Next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return !pending_.empty() || finished_; });
  Batch b;
  b.tokens.swap(pending_);
  b.finished = finished_;
  b.reason = reason_;
  b.error = error_;
  return b;
}

}  // namespace quest
