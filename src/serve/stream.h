// The channel between the scheduler (producer of tokens) and whoever serves
// one request (the HTTP layer): tokens in order, then the end and its reason.
// The scheduler never blocks on it; the consumer waits with a timeout, and may
// cancel at any time (the sequence then ends within one step).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace quest {

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };

inline const char* Name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
    case FinishReason::kNone:
      break;
  }
  return "none";
}

class TokenStream {
 public:
  struct Batch {
    std::vector<int32_t> tokens;
    bool finished = false;
    FinishReason reason = FinishReason::kNone;
    std::string error;  // kError only
  };

  // Producer side.
  void Push(int32_t token);
  void Finish(FinishReason reason, std::string error = "");
  void SetCachedTokens(int n) { cached_tokens_.store(n); }

  // Consumer side: the tokens since the last call (waiting up to `timeout`
  // for at least one, or the end).
  Batch Next(std::chrono::milliseconds timeout);
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  int cached_tokens() const { return cached_tokens_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int32_t> pending_;
  bool finished_ = false;
  FinishReason reason_ = FinishReason::kNone;
  std::string error_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int> cached_tokens_{0};
};

}  // namespace quest
