#include "src/serve/api_request.h"

#include <algorithm>
#include <cmath>

#include "nlohmann/json.hpp"

namespace quest {

namespace {

using json = nlohmann::json;

ApiError Bad(const std::string& param, const std::string& message) {
  ApiError e;
  e.param = param;
  e.message = message;
  return e;
}

ApiError WrongType(const std::string& param, const char* want) {
  return Bad(param, "'" + param + "' must be " + want);
}

// Each reader: absent or null leaves *out as it is.
std::optional<ApiError> ReadBool(const json& j, const char* key, bool* out) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_boolean()) return WrongType(key, "a boolean");
  *out = j[key].get<bool>();
  return std::nullopt;
}

std::optional<ApiError> ReadInt(const json& j, const char* key, const std::string& name, int* out) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) {
    return WrongType(name, "an integer");
  }
  const double d = v.get<double>();
  if (d < -2147483648.0 || d > 2147483647.0) return Bad(name, "'" + name + "' is out of range");
  *out = static_cast<int>(d);
  return std::nullopt;
}

std::optional<ApiError> ReadFloat(const json& j, const char* key, float* out) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_number()) return WrongType(key, "a number");
  const double d = j[key].get<double>();
  if (!std::isfinite(d)) return Bad(key, std::string("'") + key + "' must be finite");
  *out = static_cast<float>(d);
  return std::nullopt;
}

std::optional<ApiError> ReadString(const json& j, const char* key, const std::string& name,
                                   std::string* out) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_string()) return WrongType(name, "a string");
  *out = j[key].get<std::string>();
  return std::nullopt;
}

std::optional<ApiError> ReadMessages(const json& j, std::vector<ChatMessage>* out) {
  if (!j.contains("messages")) return Bad("messages", "'messages' is required");
  const json& m = j["messages"];
  if (!m.is_array() || m.empty()) return Bad("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m[i].is_object()) return WrongType(at, "an object");
    ChatMessage msg;
    if (!m[i].contains("role") || !m[i]["role"].is_string()) {
      return Bad(at + ".role", "'" + at + ".role' must be a string");
    }
    msg.role = m[i]["role"].get<std::string>();
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant") {
      return Bad(at + ".role", "'" + at + ".role' must be system, user or assistant, not '" +
                                   msg.role + "'");
    }
    const json* c = m[i].contains("content") ? &m[i]["content"] : nullptr;
    if (c == nullptr || c->is_null()) return Bad(at + ".content", "'" + at + ".content' is required");
    if (c->is_string()) {
      msg.content = c->get<std::string>();
    } else if (c->is_array()) {
      // Content parts: only text.
      for (size_t p = 0; p < c->size(); ++p) {
        const json& part = (*c)[p];
        const std::string pat = at + ".content[" + std::to_string(p) + "]";
        const bool text_part = part.is_object() && part.contains("type") &&
                               part["type"].is_string() && part["type"] == "text" &&
                               part.contains("text") && part["text"].is_string();
        if (!text_part) {
          return Bad(pat, "'" + pat + "' must be {\"type\": \"text\", \"text\": string}");
        }
        msg.content += part["text"].get<std::string>();
      }
    } else {
      return WrongType(at + ".content", "a string or an array of text parts");
    }
    out->push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> ReadPrompt(const json& j, std::string* out) {
  if (!j.contains("prompt") || j["prompt"].is_null()) return Bad("prompt", "'prompt' is required");
  const json& p = j["prompt"];
  if (p.is_string()) {
    *out = p.get<std::string>();
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    *out = p[0].get<std::string>();
  } else {
    return WrongType("prompt", "a string (or an array of one string)");
  }
  return std::nullopt;
}

std::optional<ApiError> ReadStop(const json& j, std::vector<std::string>* out) {
  if (!j.contains("stop") || j["stop"].is_null()) return std::nullopt;
  const json& s = j["stop"];
  if (s.is_string()) {
    out->push_back(s.get<std::string>());
  } else if (s.is_array() && s.size() <= 4) {
    for (const json& x : s) {
      if (!x.is_string()) return WrongType("stop", "a string or an array of at most 4 strings");
      out->push_back(x.get<std::string>());
    }
  } else {
    return WrongType("stop", "a string or an array of at most 4 strings");
  }
  for (const std::string& x : *out) {
    if (x.empty()) return Bad("stop", "'stop' strings must not be empty");
  }
  return std::nullopt;
}

std::optional<ApiError> ReadQuest(const json& j, PolicyFlags* f) {
  if (!j.contains("quest") || j["quest"].is_null()) return std::nullopt;
  const json& q = j["quest"];
  if (!q.is_object()) return WrongType("quest", "an object");
  static const char* kKeys[] = {"attention",    "budget",       "semantics",  "gqa",
                                "sink_pages",   "dense_layers", "page_size",  "kv_type",
                                "eps",          "budget_min",   "budget_max"};
  for (auto it = q.begin(); it != q.end(); ++it) {
    if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) == std::end(kKeys)) {
      return Bad("quest." + it.key(), "unknown field 'quest." + it.key() + "'");
    }
  }
  if (auto e = ReadString(q, "attention", "quest.attention", &f->attention)) return e;
  if (auto e = ReadInt(q, "budget", "quest.budget", &f->budget)) return e;
  if (auto e = ReadString(q, "semantics", "quest.semantics", &f->semantics)) return e;
  if (auto e = ReadString(q, "gqa", "quest.gqa", &f->gqa)) return e;
  if (auto e = ReadInt(q, "sink_pages", "quest.sink_pages", &f->sink_pages)) return e;
  if (auto e = ReadInt(q, "dense_layers", "quest.dense_layers", &f->dense_layers)) return e;
  if (q.contains("eps") && !q["eps"].is_null()) {
    if (!q["eps"].is_number()) return WrongType("quest.eps", "a number");
    f->eps = q["eps"].get<double>();
  }
  if (auto e = ReadInt(q, "budget_min", "quest.budget_min", &f->budget_min)) return e;
  if (auto e = ReadInt(q, "budget_max", "quest.budget_max", &f->budget_max)) return e;
  const PolicyFlags server = *f;
  if (auto e = ReadInt(q, "page_size", "quest.page_size", &f->page_size)) return e;
  if (auto e = ReadString(q, "kv_type", "quest.kv_type", &f->kv_type)) return e;
  if (f->page_size != server.page_size) {
    return Bad("quest.page_size", StrFormat("'quest.page_size' must be the server's %d (the KV "
                                            "pool has one page size)", server.page_size));
  }
  if (f->kv_type != server.kv_type) {
    return Bad("quest.kv_type", "'quest.kv_type' must be the server's " + server.kv_type);
  }
  Result<AttentionPolicy> p = MakePolicy(*f, "quest.");
  if (!p.ok()) {
    // "invalid quest.budget 0: ..." names the field after "invalid ".
    const std::string& m = p.status().message();
    const size_t end = m.find_first_of(" :", 8);
    return Bad(m.substr(8, end - 8), m);
  }
  return std::nullopt;
}

std::optional<ApiError> ReadSampling(const json& j, ApiRequest* r) {
  SamplerOptions& s = r->sampling;
  if (auto e = ReadFloat(j, "temperature", &s.temperature)) return e;
  if (!(s.temperature >= 0)) return Bad("temperature", "'temperature' must be >= 0");
  if (auto e = ReadFloat(j, "top_p", &s.top_p)) return e;
  if (!(s.top_p > 0 && s.top_p <= 1)) return Bad("top_p", "'top_p' must be in (0, 1]");
  if (auto e = ReadInt(j, "top_k", "top_k", &s.top_k)) return e;
  if (s.top_k < 0) return Bad("top_k", "'top_k' must be >= 0");
  if (auto e = ReadFloat(j, "min_p", &s.min_p)) return e;
  if (!(s.min_p >= 0 && s.min_p < 1)) return Bad("min_p", "'min_p' must be in [0, 1)");
  if (auto e = ReadFloat(j, "repetition_penalty", &s.repeat_penalty)) return e;
  if (!(s.repeat_penalty > 0)) return Bad("repetition_penalty", "'repetition_penalty' must be > 0");
  if (auto e = ReadFloat(j, "frequency_penalty", &s.frequency_penalty)) return e;
  if (!(s.frequency_penalty >= -2 && s.frequency_penalty <= 2)) {
    return Bad("frequency_penalty", "'frequency_penalty' must be in [-2, 2]");
  }
  if (auto e = ReadFloat(j, "presence_penalty", &s.presence_penalty)) return e;
  if (!(s.presence_penalty >= -2 && s.presence_penalty <= 2)) {
    return Bad("presence_penalty", "'presence_penalty' must be in [-2, 2]");
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) return WrongType("seed", "an integer");
    s.seed = j["seed"].is_number_unsigned() ? j["seed"].get<uint64_t>()
                                            : static_cast<uint64_t>(j["seed"].get<int64_t>());
  }
  return std::nullopt;
}

std::optional<ApiError> ParseFields(const std::string& body, bool chat, ApiRequest* out) {
  out->chat = chat;
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("", "the request body is not valid JSON");
  if (!j.is_object()) return Bad("", "the request body must be a JSON object");
  if (auto e = ReadString(j, "model", "model", &out->model)) return e;
  if (chat) {
    if (auto e = ReadMessages(j, &out->messages)) return e;
  } else {
    if (auto e = ReadPrompt(j, &out->prompt)) return e;
  }
  int n = 1;
  if (auto e = ReadInt(j, "n", "n", &n)) return e;
  if (n != 1) return Bad("n", "only n = 1 is supported");
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    int m = 0;
    if (!j.contains(key) || j[key].is_null()) continue;
    if (auto e = ReadInt(j, key, key, &m)) return e;
    if (m <= 0) return Bad(key, std::string("'") + key + "' must be >= 1");
    out->max_tokens = m;
  }
  if (auto e = ReadSampling(j, out)) return e;
  if (auto e = ReadStop(j, &out->stop)) return e;
  if (auto e = ReadBool(j, "stream", &out->stream)) return e;
  if (j.contains("stream_options") && !j["stream_options"].is_null()) {
    if (!j["stream_options"].is_object()) return WrongType("stream_options", "an object");
    if (auto e = ReadBool(j["stream_options"], "include_usage", &out->include_usage)) return e;
  }
  // logprobs: false, null or 0 (the completions API's count) only.
  if (j.contains("logprobs") && !j["logprobs"].is_null() && j["logprobs"] != false &&
      j["logprobs"] != 0) {
    return Bad("logprobs", "logprobs are not supported");
  }
  if (auto e = ReadBool(j, "ignore_eos", &out->ignore_eos)) return e;
  if (auto e = ReadQuest(j, &out->policy)) return e;
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ParseApiRequest(const std::string& body, bool chat,
                                        const ApiRequest& defaults, ApiRequest* out) {
  *out = defaults;
  // Every field is type-checked before it is read; a JSON type error that
  // slips past a check is still the client's mistake, never a 500.
  try {
    return ParseFields(body, chat, out);
  } catch (const nlohmann::json::exception& e) {
    return Bad("", std::string("malformed request: ") + e.what());
  }
}

}  // namespace quest
