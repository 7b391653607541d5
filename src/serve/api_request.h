// The OpenAI-shaped request bodies of /v1/chat/completions and
// /v1/completions: parsed and checked field by field, every error naming the
// field (OpenAI's `param`) with a 4xx status. Knows JSON and nothing of
// tokens or tensors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/engine/policy_flags.h"
#include "src/engine/sampler.h"
#include "src/tokenizer/chat_template.h"

namespace quest {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;  // "" -> null
  std::string code;   // "" -> null
  std::string type = "invalid_request_error";
};

struct ApiRequest {
  bool chat = false;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions
  std::string model;                  // "" when absent
  std::optional<int> max_tokens;
  SamplerOptions sampling;            // the server's defaults, overridden by the body
  float frequency_penalty = 0, presence_penalty = 0;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  PolicyFlags policy;                 // the server's defaults, overridden by "quest"
  bool ignore_eos = false;
};

// Parses `body`; `defaults` holds the server's sampling and policy defaults
// (its flags). Unknown top-level fields are ignored, as OpenAI's clients send
// extras; unknown fields of the "quest" object are an error.
std::optional<ApiError> ParseApiRequest(const std::string& body, bool chat,
                                        const ApiRequest& defaults, ApiRequest* out);

}  // namespace quest
