// The SIGBUS handler that names the mapped file (mapped_file_fault.h). The
// handler only reads a fixed table and calls write() and _exit(), which are
// async-signal-safe.
#include "src/util/mapped_file_fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

namespace quest {
namespace {

struct Mapping {
  std::atomic<const uint8_t*> data{nullptr};
  size_t size = 0;
  char path[512] = {};
};
constexpr int kMaxMappings = 32;  // more are mapped unnamed: a bare SIGBUS
Mapping g_mappings[kMaxMappings];

void Write(const char* s) {
  const ssize_t ignored = write(STDERR_FILENO, s, std::strlen(s));
  (void)ignored;
}

void OnSigbus(int sig, siginfo_t* info, void*) {
  const uint8_t* at = static_cast<const uint8_t*>(info->si_addr);
  for (Mapping& m : g_mappings) {
    const uint8_t* d = m.data.load(std::memory_order_acquire);
    if (d == nullptr || at < d || at >= d + m.size) continue;
    char offset[32];
    int n = 0;  // the offset in decimal, without printf (not async-signal-safe)
    for (size_t v = static_cast<size_t>(at - d); n == 0 || v > 0; v /= 10) offset[n++] = '0' + v % 10;
    char digits[32];
    for (int i = 0; i < n; ++i) digits[i] = offset[n - 1 - i];
    digits[n] = '\0';
    Write("quest: ");
    Write(m.path);
    Write(": the file changed while in use (truncated or replaced?): reading offset ");
    Write(digits);
    Write(" failed\n");
    _exit(1);
  }
  signal(sig, SIG_DFL);  // not ours: the default action
  raise(sig);
}

}  // namespace

void InstallMappedFileFaultHandler() {
  struct sigaction sa = {};
  sa.sa_sigaction = OnSigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, nullptr);
}

void RegisterMapping(const uint8_t* data, size_t size, const std::string& path) {
  for (Mapping& m : g_mappings) {
    if (m.data.load(std::memory_order_relaxed) != nullptr) continue;
    m.size = size;
    std::snprintf(m.path, sizeof(m.path), "%s", path.c_str());
    m.data.store(data, std::memory_order_release);
    return;
  }
}

void UnregisterMapping(const uint8_t* data) {
  for (Mapping& m : g_mappings) {
    if (m.data.load(std::memory_order_relaxed) == data) {
      m.data.store(nullptr, std::memory_order_release);
      return;
    }
  }
}

}  // namespace quest
