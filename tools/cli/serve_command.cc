// `quest serve`: the OpenAI-compatible server. The socket listens first (so
// /health can say "loading"), then the model loads; SIGTERM or SIGINT stop
// new requests, let those in flight finish (cancelling them after a grace
// period), and exit 0.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "src/engine/model.h"
#include "src/serve/http_server.h"
#include "src/serve/scheduler.h"
#include "src/tokenizer/vocab.h"
#include "src/util/threads.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"

namespace quest {
namespace {

struct ServeOptions {
  std::string model;
  std::string alias;
  HttpOptions http;
  SchedulerOptions sched;
  int ctx_size = 0;
  int64_t max_body_bytes = 8 << 20;
  int drain_seconds = 30;
  bool repack = false;
  PolicyFlags policy;
  SamplerOptions sampler;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "quest serve: %s\n", message.c_str());
  return kExitBadInput;
}

// Every check that needs no model, before anything is bound or loaded.
Status Validate(const ServeOptions& o) {
  if (o.http.port < 0 || o.http.port > 65535) {
    return Status::Error(StrFormat("invalid --port %d: must be in [0, 65535]", o.http.port));
  }
  if (o.sched.parallel <= 0 || o.sched.parallel > 256) {
    return Status::Error(StrFormat("invalid --parallel %d: must be in [1, 256]", o.sched.parallel));
  }
  if (o.sched.queue_size < 0 || o.sched.queue_size > 4096) {
    return Status::Error(StrFormat("invalid --queue-size %d: must be in [0, 4096]", o.sched.queue_size));
  }
  if (o.ctx_size < 0) return Status::Error(StrFormat("invalid --ctx-size %d: must be >= 0", o.ctx_size));
  if (o.max_body_bytes <= 0) {
    return Status::Error(StrFormat("invalid --max-body-bytes %lld: must be > 0",
                                   static_cast<long long>(o.max_body_bytes)));
  }
  if (o.drain_seconds < 0) {
    return Status::Error(StrFormat("invalid --drain-seconds %d: must be >= 0", o.drain_seconds));
  }
  QE_RETURN_IF_ERROR(o.sampler.Validate());
  Result<AttentionPolicy> p = MakePolicy(o.policy);
  if (!p.ok()) return p.status();
  return Status();
}

std::string ModelId(const ServeOptions& o) {
  if (!o.alias.empty()) return o.alias;
  std::string name = std::filesystem::path(o.model).filename().string();
  if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
  return name;
}

// Waits for SIGTERM or SIGINT (blocked in every thread, taken here).
void WaitForSignal(const sigset_t& set) {
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  std::fprintf(stderr, "quest serve: %s, finishing the requests in flight\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

int RunServe(ServeOptions o) {
  if (Status s = Validate(o); !s.ok()) return Fail(s.message());
  Result<int> threads = ResolveThreads(o.sched.threads);
  if (!threads.ok()) return Fail(threads.status().message());
  o.sched.threads = *threads;
  if (o.model.empty()) o.model = DefaultModelPath();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts
  signal(SIGPIPE, SIG_IGN);  // a client that leaves is a failed write, not a signal

  o.http.max_body_bytes = static_cast<size_t>(o.max_body_bytes);
  o.http.threads = std::clamp(o.sched.parallel + o.sched.queue_size + 8, 16, 1024);
  HttpServer http(o.http);
  if (Status s = http.Bind(); !s.ok()) return Fail(s.message());
  std::thread serving([&http] { http.Serve(); });
  std::fprintf(stderr, "quest serve: listening on http://%s:%d\n", o.http.host.c_str(), http.port());
  std::fflush(stderr);
  auto fail_after_bind = [&](const std::string& message) {
    http.Stop();
    serving.join();
    return Fail(message);
  };

  Result<std::unique_ptr<Model>> model = Model::Load(o.model, LoadOptions{o.repack, o.sched.threads});
  if (!model.ok()) return fail_after_bind(model.status().message());
  const ModelConfig& c = (*model)->config();
  Result<Vocab> vocab = LoadVocab((*model)->gguf());
  if (!vocab.ok()) return fail_after_bind(vocab.status().message());
  Result<Tokenizer> tok = Tokenizer::Create(std::move(*vocab));
  if (!tok.ok()) return fail_after_bind(tok.status().message());
  Result<ChatTemplate> chat = ChatTemplate::FromGguf((*model)->gguf(), tok->vocab());
  if (!chat.ok()) {
    std::fprintf(stderr, "quest serve: no chat template (%s): /v1/chat/completions is refused\n",
                 chat.status().message().c_str());
  }
  o.sched.ctx_size = o.ctx_size > 0 ? o.ctx_size : std::min(c.context_length, 8192);
  if (o.sched.ctx_size > c.context_length) {
    return fail_after_bind(StrFormat("invalid --ctx-size %d: the model's context is %d tokens",
                                     o.sched.ctx_size, c.context_length));
  }
  const AttentionPolicy policy = *MakePolicy(o.policy);
  if (Status st = CheckPolicyForModel(policy, c); !st.ok()) return fail_after_bind(st.message());
  o.sched.page_size = policy.page_size;
  o.sched.kv_type = policy.kv_type;
  for (int32_t id = 0; id < c.vocab_size; ++id) {
    if (tok->IsEndOfGeneration(id)) o.sched.end_tokens.push_back(id);
  }
  Result<std::unique_ptr<Scheduler>> sched = Scheduler::Create(**model, o.sched);
  if (!sched.ok()) return fail_after_bind(sched.status().message());

  ServingEngine engine;
  engine.model_id = ModelId(o);
  engine.tokenizer = &*tok;
  engine.chat = chat.ok() ? &*chat : nullptr;
  engine.scheduler = sched->get();
  engine.defaults.sampling = o.sampler;
  engine.defaults.policy = o.policy;
  engine.check_policy = [&c](const AttentionPolicy& p) {
    return CheckPolicyForModel(p, c, "quest.");
  };
  http.SetEngine(&engine);
  std::fprintf(stderr, "quest serve: ready (%s, %d slots of %d tokens, %d KV pages)\n",
               engine.model_id.c_str(), o.sched.parallel, o.sched.ctx_size,
               (*sched)->Stats().pages_total);
  if (const std::string rope = LongRopeChoiceText(c.rope_scaling, o.sched.ctx_size); !rope.empty()) {
    std::fprintf(stderr, "quest serve: %s\n", rope.c_str());
  }
  std::fflush(stderr);

  WaitForSignal(set);
  http.Drain();
  // Requests in flight finish; past the grace period they are cancelled.
  std::thread watchdog([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o.drain_seconds);
    while (std::chrono::steady_clock::now() < until && (*sched)->Stats().active +
                                                               (*sched)->Stats().queued > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*sched)->Stop();
    http.Stop();
  });
  watchdog.join();
  serving.join();
  std::fprintf(stderr, "quest serve: stopped\n");
  return 0;
}

}  // namespace

Command AddServeCommand(CLI::App* app) {
  CLI::App* s = app->add_subcommand("serve", "an OpenAI-compatible HTTP server (many sequences at once)");
  auto o = std::make_shared<ServeOptions>();
  s->add_option("-m,--model", o->model, "GGUF model (default: the Gemma 3 270M of make setup)");
  s->add_option("--alias", o->alias, "the model's name in the API (default: the file's name)");
  s->add_option("--host", o->http.host, "address to listen on")->capture_default_str();
  s->add_option("--port", o->http.port, "port (0: any free port)")->capture_default_str();
  s->add_option("--parallel", o->sched.parallel, "sequences decoded at once")->capture_default_str();
  s->add_option("--ctx-size", o->ctx_size,
                "tokens one sequence may hold (0: the model's context, at most 8192)")
      ->capture_default_str();
  s->add_option("--queue-size", o->sched.queue_size, "requests that may wait for a slot")
      ->capture_default_str();
  s->add_option("--api-key", o->http.api_key, "require Authorization: Bearer KEY");
  s->add_option("--max-body-bytes", o->max_body_bytes, "largest request body")->capture_default_str();
  s->add_option("--prefill-chunk", o->sched.prefill_chunk,
                "prompt tokens per step (bounds the stall of the other streams)")
      ->capture_default_str();
  s->add_option("--cache-pages", o->sched.cache_pages,
                "KV pages for the prefix cache beyond the slots' (0: one context's worth)")
      ->capture_default_str();
  s->add_option("--threads", o->sched.threads, "threads (0: all)")->capture_default_str();
  s->add_option("--drain-seconds", o->drain_seconds,
                "on SIGTERM, how long requests in flight may finish")
      ->capture_default_str();
  s->add_flag("--repack", o->repack,
              "copy the Q4_0 matrices into a layout 8 rows wide for decode (faster; more memory)");
  AddPolicyFlags(s, &o->policy);
  AddSamplerFlags(s, &o->sampler);
  return {s, [o]() { return RunServe(*o); }};
}

}  // namespace quest
