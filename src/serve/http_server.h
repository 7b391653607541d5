// quest serve's HTTP layer: OpenAI's endpoints over cpp-httplib. It parses
// and validates requests, turns text into tokens and back, streams
// server-sent events, and counts requests; the scheduler does the rest. It
// knows no tensors.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "src/serve/api_request.h"
#include "src/serve/scheduler.h"
#include "src/tokenizer/chat_template.h"
#include "src/tokenizer/tokenizer.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace quest {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  std::string api_key;  // "" : no key needed
  size_t max_body_bytes = 8 << 20;
  int threads = 16;  // connections served at once
};

// What the HTTP layer serves once the model is loaded.
struct ServingEngine {
  std::string model_id;
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat = nullptr;  // null: the model has no chat template
  Scheduler* scheduler = nullptr;
  ApiRequest defaults;  // the server's sampling and policy flags
  // The checks of a request's policy that need the model (e.g. dense layers).
  std::function<Status(const AttentionPolicy&)> check_policy;
};

class HttpServer {
 public:
  explicit HttpServer(HttpOptions options);
  ~HttpServer();
  // Binds the socket; port() is then the bound port.
  Status Bind();
  int port() const { return port_; }
  // Serves until Stop; requests in flight finish first.
  void Serve();
  // From now on the POST endpoints serve with `engine` and /health says ok.
  void SetEngine(ServingEngine* engine) { engine_.store(engine); }
  // New generation requests get 503 from now on; Stop ends Serve.
  void Drain() { draining_.store(true); }
  void Stop();

 private:
  void Routes();
  void Complete(const httplib::Request& req, httplib::Response& res, bool chat);
  std::string Metrics() const;

  HttpOptions opts_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<ServingEngine*> engine_{nullptr};
  std::atomic<bool> draining_{false};
  std::atomic<bool> served_{false};  // Serve has returned
  mutable std::mutex mu_;
  std::map<int, int64_t> by_status_;  // POST endpoints' responses by status
};

}  // namespace quest
