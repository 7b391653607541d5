// A streaming 64-bit hash for checksums and identities (not cryptographic):
// catches truncated and corrupted files and tells models apart. The result
// does not depend on how the bytes are split between Update calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quest {

class Hash64 {
 public:
  void Update(const void* data, size_t n) {
    if (n == 0) return;  // data may be null then (an empty vector's)
    const auto* p = static_cast<const uint8_t*>(data);
    length_ += n;
    if (pending_ > 0) {  // finish the word the last call split
      const size_t take = n < 8 - pending_ ? n : 8 - pending_;
      std::memcpy(buf_ + pending_, p, take);
      pending_ += take;
      p += take;
      n -= take;
      if (pending_ < 8) return;
      Word(Load(buf_));
      pending_ = 0;
    }
    for (; n >= 8; p += 8, n -= 8) Word(Load(p));
    std::memcpy(buf_, p, n);
    pending_ = n;
  }

  uint64_t Digest() const {
    uint64_t h = state_;
    uint8_t last[8] = {};
    std::memcpy(last, buf_, pending_);
    h = Mix(h ^ Load(last) ^ (length_ * 0x9E3779B97F4A7C15ULL));
    return h;
  }

 private:
  static uint64_t Load(const uint8_t* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  static uint64_t Mix(uint64_t h) {  // MurmurHash3's finaliser
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
  }
  void Word(uint64_t w) {
    state_ ^= w * 0x87C37B91114253D5ULL;
    state_ = ((state_ << 31) | (state_ >> 33)) * 0x4CF5AD432745937FULL + 0x52DCE729;
  }

  uint64_t state_ = 0x243F6A8885A308D3ULL;
  uint64_t length_ = 0;
  uint8_t buf_[8] = {};
  size_t pending_ = 0;
};

}  // namespace quest
