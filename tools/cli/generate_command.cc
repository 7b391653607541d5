// `quest generate`: prompt in, tokens streamed to stdout, speed and KV traffic
// to stderr.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "src/engine/model.h"
#include "src/engine/sampler.h"
#include "src/engine/session.h"
#include "src/tokenizer/chat_template.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/vocab.h"
#include "src/util/threads.h"
#include "src/util/timing.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"

namespace quest {
namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  bool prompt_given = false;  // -p was on the command line (maybe empty)
  std::string prompt_file;
  int n_predict = 64;
  int context = 0;
  int threads = 0;
  bool repack = false;
  PolicyFlags policy;
  bool truncate = false;
  bool ignore_eos = false;
  bool chat = false;
  std::string system;
  SamplerOptions sampler;
  std::string save_kv;  // write the prefilled context here
  std::string load_kv;  // continue from this prefilled context
  std::string kv_file;  // the K/V pages in this scratch file
};


int Fail(const std::string& message) {
  std::fprintf(stderr, "quest generate: %s\n", message.c_str());
  return kExitBadInput;
}

// Loads a K/V file whose tokens begin the prompt into the empty session s.
// Returns how many prompt tokens it holds; when that is the whole prompt,
// *logits receives the stored last-token logits.
Result<size_t> RestoreContext(Session& s, const std::string& path,
                              const std::vector<int32_t>& tokens, std::vector<float>* logits) {
  Result<KvSnapshot> snap = s.LoadKv(path, tokens);
  if (!snap.ok()) return snap.status();
  if (snap->tokens.size() == tokens.size()) *logits = std::move(snap->logits);
  return snap->tokens.size();
}

// Prefills tokens [from, end) in chunks, with a progress bar on a terminal.
Status PrefillRest(Session& s, const std::vector<int32_t>& tokens, size_t from, float* logits) {
  const bool tty = isatty(STDERR_FILENO);
  const size_t chunk = 512;
  const size_t todo = tokens.size() - from;
  for (size_t done = from; done < tokens.size();) {
    const int n = static_cast<int>(std::min(chunk, tokens.size() - done));
    const bool last = done + n == tokens.size();
    QE_RETURN_IF_ERROR(s.Prefill(tokens.data() + done, n, last ? logits : nullptr));
    done += n;
    if (tty && todo > chunk) {
      const int width = 40;
      const int filled = static_cast<int>(width * (done - from) / todo);
      std::fprintf(stderr, "\rprefill [%s%s] %zu/%zu tokens", std::string(filled, '#').c_str(),
                   std::string(width - filled, ' ').c_str(), done - from, todo);
    }
  }
  if (tty && todo > chunk) std::fputc('\n', stderr);
  return Status();
}

int RunGenerate(GenerateOptions o) {
  if (o.prompt_given && !o.prompt_file.empty()) return Fail("give one of -p PROMPT and -f FILE");
  if (!o.prompt_given && o.prompt_file.empty()) return Fail("give a prompt: -p PROMPT or -f FILE");
  if (o.prompt_given && o.prompt.empty()) return Fail("invalid -p '': the prompt is empty");
  if (!o.prompt_file.empty()) {
    std::ifstream in(o.prompt_file, std::ios::binary);
    if (!in) return Fail("cannot read prompt file " + o.prompt_file);
    std::stringstream ss;
    ss << in.rdbuf();
    o.prompt = ss.str();
    if (o.prompt.empty()) return Fail("the prompt file " + o.prompt_file + " is empty");
  }
  if (!o.system.empty() && !o.chat) return Fail("--system needs --chat (the chat template)");
  if (o.n_predict < 0) return Fail(StrFormat("invalid -n %d: must be >= 0", o.n_predict));
  if (o.context < 0) return Fail(StrFormat("invalid -c %d: must be >= 0", o.context));
  Result<int> threads = ResolveThreads(o.threads);
  if (!threads.ok()) return Fail(threads.status().message());
  o.threads = *threads;
  if (Status s = o.sampler.Validate(); !s.ok()) return Fail(s.message());
  Result<AttentionPolicy> policy = MakePolicy(o.policy);
  if (!policy.ok()) return Fail(policy.status().message());
  if (o.model.empty()) o.model = DefaultModelPath();

  Result<std::unique_ptr<Model>> model = Model::Load(o.model, LoadOptions{o.repack, o.threads});
  if (!model.ok()) return Fail(model.status().message());
  const ModelConfig& c = (*model)->config();
  if (Status st = CheckPolicyForModel(*policy, c); !st.ok()) return Fail(st.message());
  Result<Vocab> vocab = LoadVocab((*model)->gguf());
  if (!vocab.ok()) return Fail(vocab.status().message());
  Result<Tokenizer> tok = Tokenizer::Create(std::move(*vocab));
  if (!tok.ok()) return Fail(tok.status().message());

  std::vector<int32_t> tokens;
  if (o.chat) {
    // The prompt as one user turn in the model's chat template (the template
    // text holds every special token, so no add_special).
    Result<ChatTemplate> tmpl = ChatTemplate::FromGguf((*model)->gguf(), tok->vocab());
    if (!tmpl.ok()) return Fail("--chat: " + tmpl.status().message());
    std::vector<ChatMessage> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    messages.push_back({"user", o.prompt});
    Result<std::string> text = tmpl->Apply(messages, /*add_generation_prompt=*/true);
    if (!text.ok()) return Fail("--chat: " + text.status().message());
    tokens = tok->Encode(*text, /*add_special=*/false, /*parse_special=*/true);
  } else {
    tokens = tok->Encode(o.prompt, /*add_special=*/true, /*parse_special=*/true);
  }
  if (tokens.empty()) return Fail("the prompt encodes to no tokens");
  // In 64 bits: -n may be as large as an int holds.
  const int64_t max_context = c.context_length;
  const int64_t wanted = static_cast<int64_t>(tokens.size()) + o.n_predict;
  const int64_t context = o.context > 0 ? o.context : std::min(max_context, wanted);
  if (context > max_context) {
    return Fail(StrFormat("invalid -c %lld: the model's context is %lld tokens",
                          static_cast<long long>(context), static_cast<long long>(max_context)));
  }
  if (wanted > context) {
    if (!o.truncate) {
      return Fail(StrFormat(
          "the prompt is %zu tokens and -n %d more do not fit the context of %lld tokens (use -c, "
          "or --truncate to keep the prompt's end)",
          tokens.size(), o.n_predict, static_cast<long long>(context)));
    }
    const int64_t keep = context - o.n_predict;
    if (keep <= 0) return Fail(StrFormat("-n %d leaves no room for the prompt", o.n_predict));
    tokens.erase(tokens.begin(), tokens.end() - keep);
  }

  SessionOptions so;
  so.context = static_cast<int>(context);
  so.threads = o.threads;
  so.attention = *policy;
  so.kv_file = o.kv_file;
  Result<std::unique_ptr<Session>> session = Session::Create(**model, so);
  if (!session.ok()) return Fail(session.status().message());
  Session& s = **session;

  std::vector<float> logits(c.vocab_size);
  const double t0 = NowSeconds();
  size_t restored = 0;
  if (!o.load_kv.empty()) {
    Result<size_t> r = RestoreContext(s, o.load_kv, tokens, &logits);
    if (!r.ok()) return Fail(r.status().message());
    restored = *r;
  }
  if (Status st = PrefillRest(s, tokens, restored, logits.data()); !st.ok()) {
    return Fail(st.message());
  }
  const double t_prefill = NowSeconds() - t0;
  if (!o.save_kv.empty()) {
    if (Status st = s.SaveKv(o.save_kv, tokens, logits); !st.ok()) return Fail(st.message());
  }

  Sampler sampler(o.sampler);
  std::vector<int32_t> history = tokens;
  double kv_bytes = 0;
  int generated = 0;
  const double t1 = NowSeconds();
  for (int i = 0; i < o.n_predict; ++i) {
    const int32_t next = sampler.Sample(logits.data(), c.vocab_size, history);
    if (!o.ignore_eos && tok->IsEndOfGeneration(next)) break;
    history.push_back(next);
    const std::string piece = tok->TokenToPiece(next);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    ++generated;
    if (i + 1 == o.n_predict) break;
    if (Status st = s.Decode(next, logits.data()); !st.ok()) return Fail(st.message());
    kv_bytes += s.last_kv_bytes_read();
  }
  const double t_decode = NowSeconds() - t1;
  std::fputc('\n', stdout);
  const int decode_steps = std::max(0, generated - 1);
  std::fprintf(
      stderr,
      "\nmodel %s (%s), attention %s (budget %d, page %d, %s, %s, sink pages %d, dense layers %d)\n"
      "prefill: %zu tokens in %.2f s = %.1f tok/s (%zu restored from the K/V file)\n"
      "decode:  %d tokens in %.2f s = %.2f tok/s, KV read %.2f MB/token (context %d)\n",
      o.model.c_str(), c.arch_name.c_str(), Name(policy->method), policy->quest.budget,
      policy->page_size, Name(policy->quest.semantics), Name(policy->quest.gqa),
      policy->quest.sink_pages, policy->dense_layers, tokens.size() - restored, t_prefill,
      t_prefill > 0 ? (tokens.size() - restored) / t_prefill : 0.0, restored, decode_steps, t_decode,
      decode_steps > 0 ? decode_steps / t_decode : 0.0,
      decode_steps > 0 ? kv_bytes / decode_steps / 1e6 : 0.0, static_cast<int>(context));
  if (const std::string rope = LongRopeChoiceText(c.rope_scaling, static_cast<int>(context));
      !rope.empty()) {
    std::fprintf(stderr, "rope: %s\n", rope.c_str());
  }
  if (o.repack) {
    std::fprintf(stderr, "repacked Q4_0 weights for decode: %.2f GB in memory\n",
                 (*model)->weights().repacked_bytes / 1e9);
  }
  return 0;
}

}  // namespace

Command AddGenerateCommand(CLI::App* app) {
  CLI::App* g = app->add_subcommand("generate", "generate text with dense or Quest attention");
  auto o = std::make_shared<GenerateOptions>();
  g->add_option("-m,--model", o->model, "GGUF model (default: the Gemma 3 270M of make setup)");
  CLI::Option* prompt = g->add_option("-p,--prompt", o->prompt, "prompt text");
  g->add_option("-f,--file", o->prompt_file, "read the prompt from a file");
  g->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->capture_default_str();
  g->add_option("-c,--context", o->context, "context size in tokens (0: prompt + n)")
      ->capture_default_str();
  g->add_option("--threads", o->threads, "threads (0: all)")->capture_default_str();
  AddPolicyFlags(g, &o->policy);
  g->add_flag("--repack", o->repack,
              "copy the Q4_0 matrices into a layout 8 rows wide for decode (faster; more memory)");
  g->add_flag("--truncate", o->truncate, "drop the prompt's start if it does not fit");
  g->add_flag("--ignore-eos", o->ignore_eos, "keep generating after end-of-generation tokens");
  g->add_flag("--chat", o->chat, "wrap the prompt in the model's chat template (one user turn)");
  g->add_option("--system", o->system, "with --chat: a system message");
  g->add_option("--save-kv", o->save_kv,
                "write the prefilled context (tokens, K/V pages, metadata) to this file");
  g->add_option("--load-kv", o->load_kv,
                "continue from a context saved by --save-kv: only prompt tokens past the "
                "stored ones are prefilled");
  g->add_option("--kv-file", o->kv_file,
                "keep the K/V pages in a scratch file mapped into memory (contexts beyond RAM; "
                "created, and removed at exit)");
  AddSamplerFlags(g, &o->sampler);
  return {g, [o, prompt]() {
            o->prompt_given = prompt->count() > 0;
            return RunGenerate(*o);
          }};
}

}  // namespace quest
