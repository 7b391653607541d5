// Turns the pieces of generated tokens into text that can be sent: it ends
// at the first stop string (which is not sent) and holds back whatever might
// still become one, or an incomplete UTF-8 sequence, until the next piece
// decides it.
#pragma once

#include <string>
#include <vector>

namespace quest {

class TextAssembler {
 public:
  explicit TextAssembler(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // The text that is final after adding `piece` (empty once stopped).
  std::string Add(const std::string& piece);
  // At the end of generation: whatever was held back.
  std::string Flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace quest
