// The template lexer: text, tag delimiters with whitespace control, and the
// expression tokens inside tags.
#include "src/tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "src/tokenizer/jinja/error.h"

namespace quest::jinja {
namespace {

// Python's str.isspace() for ASCII, which `-` delimiters strip.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(Normalize(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> Run() {
    size_t pos = 0;
    while (pos < src_.size()) pos = LexText(pos);
    Emit(Tok::kEnd, "", src_.size());
    return std::move(tokens_);
  }

 private:
  // jinja2 reads "\r\n" and "\r" as "\n" and, without keep_trailing_newline,
  // drops one newline at the very end.
  static std::string Normalize(std::string_view source) {
    std::string s;
    s.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        s += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        s += source[i];
      }
    }
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  void Position(size_t pos, int* line, int* column) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos) - 1;
    *line = static_cast<int>(it - line_starts_.begin()) + 1;
    *column = static_cast<int>(pos - *it) + 1;
  }

  [[noreturn]] void FailAtPos(size_t pos, std::string message) const {
    int line, column;
    Position(pos, &line, &column);
    FailAt(line, column, std::move(message));
  }

  Token& Emit(Tok kind, std::string text, size_t pos) {
    Token t{kind, std::move(text)};
    Position(pos, &t.line, &t.column);
    tokens_.push_back(std::move(t));
    return tokens_.back();
  }

  size_t SkipSpace(size_t pos) const {
    while (pos < src_.size() && IsSpace(src_[pos])) ++pos;
    return pos;
  }

  // Text up to the next tag, then the tag. Returns where lexing resumes.
  size_t LexText(size_t pos) {
    size_t tag = pos;
    while ((tag = src_.find('{', tag)) != std::string::npos) {
      if (tag + 1 < src_.size() && (src_[tag + 1] == '{' || src_[tag + 1] == '%' || src_[tag + 1] == '#')) {
        break;
      }
      ++tag;
    }
    if (tag == std::string::npos) {
      Emit(Tok::kText, src_.substr(pos), pos);
      return src_.size();
    }
    const char kind = src_[tag + 1];
    const char marker = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
    std::string text = src_.substr(pos, tag - pos);
    if (marker == '-') {
      while (!text.empty() && IsSpace(text.back())) text.pop_back();
    } else if (marker != '+' && kind != '{') {
      LstripBlock(pos, &text);
    }
    if (!text.empty()) Emit(Tok::kText, std::move(text), pos);
    if (kind == '#') return LexComment(tag);
    return LexTag(tag, kind == '{');
  }

  // lstrip_blocks: spaces and tabs between a line's start and a block or
  // comment tag are not output. `text` starts at `text_pos` in the source.
  void LstripBlock(size_t text_pos, std::string* text) const {
    const size_t newline = text->rfind('\n');
    const size_t line_start = newline == std::string::npos ? 0 : newline + 1;
    if (newline == std::string::npos && text_pos != 0 && src_[text_pos - 1] != '\n') return;
    if (text->find_first_not_of(" \t", line_start) == std::string::npos) text->resize(line_start);
  }

  // trim_blocks: the newline right after a block or comment tag is not output.
  size_t AfterBlockEnd(size_t pos, char marker) const {
    if (marker == '-') return SkipSpace(pos);
    if (marker != '+' && pos < src_.size() && src_[pos] == '\n') return pos + 1;
    return pos;
  }

  size_t LexComment(size_t tag) {
    const size_t end = src_.find("#}", tag + 2);
    if (end == std::string::npos) FailAtPos(tag, "unclosed comment: '{#' has no '#}'");
    const char marker = end > tag + 2 ? src_[end - 1] : '\0';
    return AfterBlockEnd(end + 2, marker);
  }

  size_t LexTag(size_t tag, bool is_var) {
    Emit(is_var ? Tok::kVarBegin : Tok::kBlockBegin, is_var ? "{{" : "{%", tag);
    size_t pos = tag + 2;
    if (pos < src_.size() && (src_[pos] == '-' || src_[pos] == '+')) ++pos;
    const char close = is_var ? '}' : '%';
    int depth = 0;  // open brackets: a '}}' inside {{ {'a': {}} }} does not close
    while (true) {
      pos = SkipSpace(pos);
      if (pos >= src_.size()) {
        FailAtPos(tag, is_var ? "unclosed '{{': no '}}' before the end of the template"
                              : "unclosed '{%': no '%}' before the end of the template");
      }
      if (depth == 0) {
        char marker = '\0';
        size_t at = pos;
        if ((src_[at] == '-' || src_[at] == '+') && at + 1 < src_.size() && src_[at + 1] == close) {
          marker = src_[at];
          ++at;
        }
        if (src_[at] == close && at + 1 < src_.size() && src_[at + 1] == '}') {
          Emit(is_var ? Tok::kVarEnd : Tok::kBlockEnd, is_var ? "}}" : "%}", pos);
          if (is_var) return marker == '-' ? SkipSpace(at + 2) : at + 2;
          return AfterBlockEnd(at + 2, marker);
        }
      }
      pos = LexExpressionToken(pos, &depth);
    }
  }

  size_t LexExpressionToken(size_t pos, int* depth) {
    const char c = src_[pos];
    if (IsNameStart(c)) {
      size_t end = pos;
      while (end < src_.size() && IsNameChar(src_[end])) ++end;
      Emit(Tok::kName, src_.substr(pos, end - pos), pos);
      return end;
    }
    if (IsDigit(c)) return LexNumber(pos);
    if (c == '\'' || c == '"') return LexString(pos);
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwo) {
      if (src_.compare(pos, 2, op) == 0) {
        Emit(Tok::kOperator, std::string(op), pos);
        return pos + 2;
      }
    }
    if (std::string_view("+-*/%~<>()[]{},.:|=").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[' || c == '{') ++*depth;
      if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
      Emit(Tok::kOperator, std::string(1, c), pos);
      return pos + 1;
    }
    FailAtPos(pos, std::string("unexpected character '") + c + "' in a tag");
  }

  size_t LexNumber(size_t pos) {
    size_t end = pos;
    const auto digits = [&] {
      while (end < src_.size() && (IsDigit(src_[end]) || (src_[end] == '_' && end + 1 < src_.size() &&
                                                           IsDigit(src_[end + 1])))) {
        ++end;
      }
    };
    digits();
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && IsDigit(src_[end + 1])) {
      is_float = true;
      ++end;
      digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t exp = end + 1;
      if (exp < src_.size() && (src_[exp] == '+' || src_[exp] == '-')) ++exp;
      if (exp < src_.size() && IsDigit(src_[exp])) {
        is_float = true;
        end = exp;
        digits();
      }
    }
    std::string text;
    for (size_t i = pos; i < end; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    errno = 0;
    Token& t = Emit(is_float ? Tok::kFloat : Tok::kInt, text, pos);
    if (is_float) {
      t.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      t.int_value = std::strtoll(text.c_str(), nullptr, 10);
    }
    if (errno == ERANGE) FailAtPos(pos, "number " + text + " is out of range");
    return end;
  }

  // A quoted string with Python's escapes (\n \t \\ \' \" \xhh \uhhhh ...).
  size_t LexString(size_t pos) {
    const char quote = src_[pos];
    std::string value;
    size_t i = pos + 1;
    while (true) {
      if (i >= src_.size()) FailAtPos(pos, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) FailAtPos(pos, "unterminated string literal");
      i = Escape(i, &value);
    }
    Emit(Tok::kString, std::move(value), pos);
    return i + 1;
  }

  // The escape at src_[i] == '\\'; returns the index after it.
  size_t Escape(size_t i, std::string* out) const {
    const char e = src_[i + 1];
    switch (e) {
      case 'n': *out += '\n'; return i + 2;
      case 't': *out += '\t'; return i + 2;
      case 'r': *out += '\r'; return i + 2;
      case 'a': *out += '\a'; return i + 2;
      case 'b': *out += '\b'; return i + 2;
      case 'f': *out += '\f'; return i + 2;
      case 'v': *out += '\v'; return i + 2;
      case '\\': case '\'': case '"': *out += e; return i + 2;
      case '\n': return i + 2;  // a backslash-newline joins lines
      case 'x': case 'u': case 'U': {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          const size_t at = i + 2 + k;
          const char h = at < src_.size() ? src_[at] : '\0';
          const int d = IsDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                             : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
          if (d < 0) FailAtPos(i, std::string("truncated \\") + e + " escape in a string literal");
          cp = cp * 16 + static_cast<uint32_t>(d);
        }
        if (cp > 0x10FFFF) FailAtPos(i, "escape beyond U+10FFFF in a string literal");
        AppendUtf8(cp, out);
        return i + 2 + n;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = 0;
          size_t k = i + 1;
          for (; k < i + 4 && k < src_.size() && src_[k] >= '0' && src_[k] <= '7'; ++k) {
            cp = cp * 8 + static_cast<uint32_t>(src_[k] - '0');
          }
          AppendUtf8(cp, out);
          return k;
        }
        *out += '\\';  // Python keeps unknown escapes as written
        return i + 1;
    }
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view source) { return Lexer(source).Run(); }

}  // namespace quest::jinja
