#include "src/serve/http_server.h"

#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include "httplib.h"
#include "nlohmann/json.hpp"
#include "src/serve/text_assembler.h"

namespace quest {

namespace {

using json = nlohmann::json;

std::string Dump(const json& j) {
  // Invalid UTF-8 (a model can emit a lone byte) must not throw mid-stream.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SendError(httplib::Response& res, const ApiError& e) {
  json err = {{"message", e.message},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  res.status = e.status;
  res.set_content(Dump(json{{"error", err}}), "application/json");
}

ApiError Error(int status, std::string message, std::string code = "",
               std::string type = "invalid_request_error") {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.code = std::move(code);
  e.type = std::move(type);
  return e;
}

// Constant-time comparison of the presented and the configured key.
bool SameKey(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0 && !b.empty();
}

std::string NewId(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-%016llx", prefix,
                static_cast<unsigned long long>(salt ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL)));
  return buf;
}

// One request's answer as it is generated: text, finish reason, usage.
struct Answer {
  bool chat;
  std::string id;
  int64_t created;
  std::string model;
  int prompt_tokens;
  int completion_tokens = 0;
  std::string finish = "length";

  json Usage(int cached) const {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", cached}}}};
  }
  json Envelope(const char* object) const {
    return {{"id", id}, {"object", object}, {"created", created}, {"model", model}};
  }
  // A streamed chunk carrying `text` (and the finish reason when given).
  json Chunk(const std::string& text, const char* finish_reason, bool first = false) const {
    json j = Envelope(chat ? "chat.completion.chunk" : "text_completion");
    json choice = {{"index", 0},
                   {"finish_reason", finish_reason ? json(finish_reason) : json(nullptr)}};
    if (chat) {
      json delta = json::object();
      if (first) delta["role"] = "assistant";
      if (first || !text.empty()) delta["content"] = text;
      choice["delta"] = delta;
    } else {
      choice["text"] = text;
      choice["logprobs"] = nullptr;
    }
    j["choices"] = json::array({choice});
    return j;
  }
  json Whole(const std::string& text, int cached) const {
    json j = Envelope(chat ? "chat.completion" : "text_completion");
    json choice = {{"index", 0}, {"finish_reason", finish}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", text}};
    } else {
      choice["text"] = text;
      choice["logprobs"] = nullptr;
    }
    j["choices"] = json::array({choice});
    j["usage"] = Usage(cached);
    return j;
  }
};

const char* FinishName(FinishReason r, bool stopped_by_text) {
  if (stopped_by_text || r == FinishReason::kStop) return "stop";
  return "length";  // max_tokens, a full context, or a server that shuts down
}

// Reads the stream into text until it ends; `on_text` gets each final part
// and returns false to cancel (the client is gone).
template <typename OnText>
void Drive(TokenStream& stream, const Tokenizer& tok, TextAssembler& text, Answer& answer,
           OnText on_text) {
  for (;;) {
    TokenStream::Batch b = stream.Next(std::chrono::milliseconds(200));
    std::string out;
    for (int32_t t : b.tokens) {
      if (text.stopped()) break;
      ++answer.completion_tokens;
      out += text.Add(tok.TokenToPiece(t));
    }
    if (text.stopped()) {
      stream.Cancel();  // a stop string: nothing more is needed
      answer.finish = "stop";
      on_text(out);
      return;
    }
    if (b.finished) {
      out += text.Flush();
      answer.finish = FinishName(b.reason, false);
      on_text(out);
      return;
    }
    if (!on_text(out)) {
      stream.Cancel();
      return;
    }
  }
}

}  // namespace

HttpServer::HttpServer(HttpOptions options)
    : opts_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  Routes();
}

HttpServer::~HttpServer() = default;

Status HttpServer::Bind() {
  if (opts_.port == 0) {
    port_ = server_->bind_to_any_port(opts_.host);
    if (port_ < 0) return Status::Error("cannot bind " + opts_.host + " to a free port");
  } else {
    if (!server_->bind_to_port(opts_.host, opts_.port)) {
      return Status::Error(StrFormat("cannot listen on %s:%d (in use, or not an address here)",
                                     opts_.host.c_str(), opts_.port));
    }
    port_ = opts_.port;
  }
  return Status();
}

void HttpServer::Serve() {
  server_->listen_after_bind();
  served_.store(true);
}

void HttpServer::Stop() {
  // listen_after_bind marks the server running as it starts: a stop before
  // that would be overwritten and Serve would never return.
  while (!server_->is_running() && !served_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
}

void HttpServer::Routes() {
  httplib::Server& s = *server_;
  const int threads = opts_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(opts_.max_body_bytes);
  s.set_keep_alive_timeout(5);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string bearer = "Bearer ";
    if (auth.rfind(bearer, 0) == 0 && SameKey(auth.substr(bearer.size()), opts_.api_key)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    SendError(res, Error(401, "a valid API key is required (Authorization: Bearer KEY)",
                         "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      SendError(res, Error(413, "the request body is larger than the server accepts", "body_too_large"));
    } else if (res.status == 404) {
      SendError(res, Error(404, "no route " + req.method + " " + req.path, "not_found"));
    } else {
      SendError(res, Error(res.status, "HTTP error " + std::to_string(res.status)));
    }
  });
  // Counted before the response is written (the logger runs after it), so a client that reads
  // /metrics right after its answer sees its own request counted.
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST") return;
    std::lock_guard<std::mutex> lock(mu_);
    ++by_status_[res.status];
  });
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = engine_.load() != nullptr;
    res.status = ready ? 200 : 503;
    res.set_content(ready ? R"({"status":"ok"})" : R"({"status":"loading"})", "application/json");
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    ServingEngine* e = engine_.load();
    json data = json::array();
    if (e != nullptr) {
      data.push_back({{"id", e->model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "quest"}});
    }
    res.set_content(Dump(json{{"object", "list"}, {"data", data}}), "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(Metrics(), "text/plain; version=0.0.4");
  });
  s.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Complete(req, res, /*chat=*/true);
  });
  s.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Complete(req, res, /*chat=*/false);
  });
}

void HttpServer::Complete(const httplib::Request& req, httplib::Response& res, bool chat) {
  ServingEngine* e = engine_.load();
  if (e == nullptr || draining_.load()) {
    res.set_header("Retry-After", "1");
    SendError(res, Error(503, e == nullptr ? "the model is loading" : "the server is shutting down",
                         e == nullptr ? "loading" : "shutting_down", "server_error"));
    return;
  }
  ApiRequest r;
  if (auto err = ParseApiRequest(req.body, chat, e->defaults, &r)) return SendError(res, *err);
  if (!r.model.empty() && r.model != e->model_id) {
    ApiError err = Error(404, "the model '" + r.model + "' does not exist (this server has '" +
                                  e->model_id + "')", "model_not_found");
    err.param = "model";
    return SendError(res, err);
  }
  std::vector<int32_t> tokens;
  if (chat) {
    if (e->chat == nullptr) {
      ApiError err = Error(400, "this model has no chat template; use /v1/completions");
      err.param = "messages";
      return SendError(res, err);
    }
    Result<std::string> text = e->chat->Apply(r.messages, /*add_generation_prompt=*/true);
    if (!text.ok()) {
      ApiError err = Error(400, text.status().message());
      err.param = "messages";
      return SendError(res, err);
    }
    tokens = e->tokenizer->Encode(*text, /*add_special=*/false, /*parse_special=*/true);
  } else {
    tokens = e->tokenizer->Encode(r.prompt, /*add_special=*/true, /*parse_special=*/true);
  }
  if (tokens.empty()) {
    ApiError err = Error(400, "the prompt encodes to no tokens");
    err.param = chat ? "messages" : "prompt";
    return SendError(res, err);
  }
  const int ctx = e->scheduler->options().ctx_size;
  const int prompt = static_cast<int>(tokens.size());
  const int max_tokens = r.max_tokens.value_or(ctx - prompt);
  if (prompt >= ctx || prompt + max_tokens > ctx) {
    ApiError err = Error(400, StrFormat("this server's context is %d tokens; the prompt is %d tokens "
                                        "and max_tokens %d (together %d)", ctx, prompt, max_tokens,
                                        prompt + max_tokens), "context_length_exceeded");
    err.param = chat ? "messages" : "prompt";
    return SendError(res, err);
  }
  const AttentionPolicy policy = *MakePolicy(r.policy, "quest.");
  if (e->check_policy) {
    if (Status st = e->check_policy(policy); !st.ok()) {
      ApiError err = Error(400, st.message());
      err.param = "quest.dense_layers";
      return SendError(res, err);
    }
  }
  GenerationRequest g;
  g.prompt = std::move(tokens);
  g.max_tokens = max_tokens;
  g.sampling = r.sampling;
  g.ignore_eos = r.ignore_eos;
  g.policy = policy;
  std::shared_ptr<TokenStream> stream;
  const Scheduler::Admission a = e->scheduler->Submit(std::move(g), &stream);
  if (a != Scheduler::Admission::kQueued) {
    res.set_header("Retry-After", "1");
    const bool full = a == Scheduler::Admission::kQueueFull;
    return SendError(res, Error(503, full ? "every slot is busy and the queue is full"
                                          : "the server is shutting down",
                                full ? "queue_full" : "shutting_down", "server_error"));
  }
  auto answer = std::make_shared<Answer>(
      Answer{chat, NewId(chat ? "chatcmpl" : "cmpl"), static_cast<int64_t>(std::time(nullptr)),
             e->model_id, prompt});
  const Tokenizer* tok = e->tokenizer;
  if (!r.stream) {
    TextAssembler text(r.stop);
    std::string all;
    Drive(*stream, *tok, text, *answer, [&all](const std::string& s) {
      all += s;
      return true;
    });
    res.set_content(Dump(answer->Whole(all, stream->cached_tokens())), "application/json");
    return;
  }
  auto text = std::make_shared<TextAssembler>(r.stop);
  const bool include_usage = r.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream, text, answer, tok, include_usage](size_t, httplib::DataSink& sink) {
        auto send = [&sink](const json& j) {
          const std::string event = "data: " + Dump(j) + "\n\n";
          return sink.write(event.data(), event.size());
        };
        if (!send(answer->Chunk("", nullptr, /*first=*/answer->chat))) {
          stream->Cancel();
          return false;
        }
        bool alive = true;
        Drive(*stream, *tok, *text, *answer, [&](const std::string& s) {
          // An empty part still probes the connection, so a client that left
          // is noticed while it waits too.
          alive = s.empty() ? sink.is_writable() : send(answer->Chunk(s, nullptr));
          return alive;
        });
        if (!alive) return false;
        send(answer->Chunk("", answer->finish.c_str()));
        if (include_usage) {
          json u = answer->Envelope(answer->chat ? "chat.completion.chunk" : "text_completion");
          u["choices"] = json::array();
          u["usage"] = answer->Usage(stream->cached_tokens());
          send(u);
        }
        const std::string done = "data: [DONE]\n\n";
        sink.write(done.data(), done.size());
        sink.done();
        return true;
      },
      [stream](bool) { stream->Cancel(); });
}

std::string HttpServer::Metrics() const {
  std::string out;
  auto line = [&out](const char* name, const char* type, const char* help, double v) {
    out += StrFormat("# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
  };
  out += "# HELP quest_requests_total Generation requests by HTTP status.\n"
         "# TYPE quest_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [status, n] : by_status_) {
      out += StrFormat("quest_requests_total{code=\"%d\"} %lld\n", status, static_cast<long long>(n));
    }
  }
  ServingEngine* e = engine_.load();
  if (e == nullptr) return out;
  const SchedulerStats s = e->scheduler->Stats();
  line("quest_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", s.prompt_tokens);
  line("quest_completion_tokens_total", "counter", "Tokens generated.", s.completion_tokens);
  line("quest_prefix_cache_hits_total", "counter", "Requests that reused cached prefix pages.",
       s.prefix_hits);
  line("quest_prefix_cache_tokens_total", "counter", "Prompt tokens served from the prefix cache.",
       s.prefix_tokens);
  line("quest_prefill_tokens_per_second", "gauge", "Prefill rate of the last step that prefilled.",
       s.prefill_tok_s);
  line("quest_decode_tokens_per_second", "gauge", "Tokens decoded per second, all sequences, last step.",
       s.decode_tok_s);
  line("quest_sequences_active", "gauge", "Sequences in slots.", s.active);
  line("quest_sequences_queued", "gauge", "Requests waiting for a slot.", s.queued);
  line("quest_kv_pages_used", "gauge", "KV pages held by active sequences.", s.pages_used);
  line("quest_kv_pages_cached", "gauge", "Unreferenced KV pages kept by the prefix cache.",
       s.pages_cached);
  line("quest_kv_pages_free", "gauge", "Free KV pages.", s.pages_free);
  line("quest_kv_pages_total", "gauge", "KV pages in the pool.", s.pages_total);
  line("quest_kv_bytes_read_per_token", "gauge",
       "K/V and page metadata bytes attention read per decoded token, last step.",
       s.kv_bytes_per_token);
  line("quest_step_seconds_max", "gauge", "The longest scheduler step (the stall a prefill chunk causes).",
       s.step_seconds_max);
  return out;
}

}  // namespace quest
