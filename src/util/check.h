// Two error channels: QE_CHECK for programmer bugs (abort with file:line), and
// Status / Result<T> for untrusted input (CLI flags, files), whose message names
// the offending field and value.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace quest {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond,
                                     const char* fmt = nullptr, ...) {
  std::fprintf(stderr, "%s:%d: check failed: %s", file, line, cond);
  if (fmt != nullptr) {
    std::fputs(": ", stderr);
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
  }
  std::fputc('\n', stderr);
  std::abort();
}

// printf-style formatting into a std::string.
std::string StrFormat(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string StrFormat(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(s.data(), s.size() + 1, fmt, args);
  va_end(args);
  return s;
}

// A success or an error message meant for the user.
class Status {
 public:
  Status() = default;
  static Status Error(std::string message) { return Status(std::move(message)); }
  bool ok() const { return !message_.has_value(); }
  const std::string& message() const {
    static const std::string kOk = "ok";
    return message_ ? *message_ : kOk;
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

// A value or an error Status. Misuse is a programmer bug and aborts with
// file:line: a Result made from an ok Status (it would hold neither), and
// reading the value of an error.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) CheckFailed(__FILE__, __LINE__, "!status.ok()", "Result from an ok Status");
  }
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return Checked(); }
  const T& value() const { return Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &Checked(); }
  T& operator*() { return Checked(); }
  const T& operator*() const { return Checked(); }

 private:
  T& Checked() {
    if (!value_) CheckFailed(__FILE__, __LINE__, "ok()", "value of an error: %s", Msg());
    return *value_;
  }
  const T& Checked() const {
    if (!value_) CheckFailed(__FILE__, __LINE__, "ok()", "value of an error: %s", Msg());
    return *value_;
  }
  const char* Msg() const { return status_.message().c_str(); }
  std::optional<T> value_;
  Status status_;
};

}  // namespace quest

#define QE_CHECK(cond, ...)                                                \
  do {                                                                     \
    if (__builtin_expect(!(cond), 0))                                      \
      ::quest::CheckFailed(__FILE__, __LINE__, #cond, ##__VA_ARGS__);      \
  } while (0)

#ifdef NDEBUG
#define QE_DCHECK(cond, ...) \
  do {                       \
  } while (0)
#else
#define QE_DCHECK(cond, ...) QE_CHECK(cond, ##__VA_ARGS__)
#endif

#define QE_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::quest::Status qe_status_ = (expr);     \
    if (!qe_status_.ok()) return qe_status_; \
  } while (0)

// Assigns the value of a Result<T> expression to lhs, or returns its error.
#define QE_ASSIGN_OR_RETURN(lhs, expr)      \
  do {                                      \
    auto qe_result_ = (expr);               \
    if (!qe_result_.ok()) return qe_result_.status(); \
    lhs = std::move(*qe_result_);           \
  } while (0)
