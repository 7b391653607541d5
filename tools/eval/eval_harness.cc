// quest eval: passkey / RULER accuracy, fidelity to dense (KL, top-1) and
// perplexity, for every method and budget, from one dense prefill per sample.
#include "tools/eval/eval_harness.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "src/engine/policy_flags.h"
#include "src/engine/session.h"
#include "src/eval/divergence.h"
#include "src/eval/passkey.h"
#include "src/eval/ruler.h"
#include "src/eval/scoring.h"
#include "src/eval/stats.h"
#include "src/tokenizer/vocab.h"
#include "src/util/subprocess.h"
#include "src/util/threads.h"
#include "src/util/timing.h"

namespace quest::eval {
namespace {

// "[eval passkey] 12/75  3m20s left" on stderr: redrawn in place on a
// terminal, a line per 10% otherwise.
class Progress {
 public:
  Progress(std::string label, int64_t total)
      : label_(std::move(label)), total_(total), start_(NowSeconds()), tty_(isatty(2)) {}
  void Tick(int64_t n = 1) {
    done_ += n;
    const double el = NowSeconds() - start_;
    const double left = done_ > 0 ? el / done_ * (total_ - done_) : 0;
    const int pct = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
    if (!tty_ && pct / 10 == last_decile_ && done_ < total_) return;
    last_decile_ = pct / 10;
    std::fprintf(stderr, "%s[eval %s] %lld/%lld (%d%%)  %.0fs elapsed, %.0fs left%s",
                 tty_ ? "\r" : "", label_.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), pct, el, left,
                 tty_ && done_ < total_ ? "   " : "\n");
  }

 private:
  std::string label_;
  int64_t total_, done_ = 0;
  double start_;
  bool tty_;
  int last_decile_ = -1;
};

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  return x ^ (x >> 29);
}

int32_t Argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

AttentionPolicy PolicyOf(const MethodConfig& c, int dense_layers) {
  AttentionPolicy p;
  p.method = c.method;
  p.quest.budget = c.method == AttentionMethod::kDense ? 1 << 30 : c.budget;
  p.quest.semantics = c.semantics;
  p.quest.gqa = c.gqa;
  p.dense_layers = dense_layers;
  p.page_size = c.page_size;
  p.kv_type = c.kv_type;
  p.quest.sink_pages = c.sink_pages;
  if (c.method == AttentionMethod::kQuest && c.eps >= 0) {
    p.certify = CertifyParams{c.eps, c.budget, c.budget_max};
  }
  return p;
}

// Two sessions of one cache shape and context: the dense prefilled base and
// the one each method forks into.
struct SessionPair {
  std::unique_ptr<Session> base, work;
};

// The cache of a session pair: configurations fork only within one.
struct CacheShape {
  int page_size;
  KvType kv_type;
  bool Holds(const MethodConfig& c) const {
    return c.page_size == page_size && c.kv_type == kv_type;
  }
};

// The cache shapes of configs, by page size; within one, the K/V types in
// --kv-types order (configs are expanded type-major), so the first is the
// one whose dense run is fidelity's reference.
std::vector<CacheShape> ShapesOf(const std::vector<MethodConfig>& configs) {
  std::vector<CacheShape> out;
  for (const MethodConfig& c : configs) {
    if (std::none_of(out.begin(), out.end(), [&](const CacheShape& s) { return s.Holds(c); })) {
      out.push_back({c.page_size, c.kv_type});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const CacheShape& a, const CacheShape& b) {
    return a.page_size < b.page_size;
  });
  return out;
}

Result<SessionPair> MakePair(const Model& m, int context, const CacheShape& shape, int threads) {
  SessionOptions so;
  so.context = context;
  so.threads = threads;
  so.attention.method = AttentionMethod::kDense;
  so.attention.page_size = shape.page_size;
  so.attention.kv_type = shape.kv_type;
  SessionPair p;
  QE_ASSIGN_OR_RETURN(p.base, Session::Create(m, so));
  QE_ASSIGN_OR_RETURN(p.work, Session::Create(m, so));
  return p;
}

std::string Basename(const std::string& path) {
  const size_t s = path.find_last_of('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

// Certified Quest's means over (sparse layer, query head, step).
void DescribeCertified(const CertifyReport::Cell& c, nlohmann::json* row) {
  const double n = std::max<int64_t>(1, c.steps);
  (*row)["certified_tail_mean"] = c.tail_sum / n;
  (*row)["certified_tail_max"] = c.tail_max;
  (*row)["pages_read_mean"] = c.pages_sum / n;
  (*row)["capped_share"] = c.capped / n;
}

}  // namespace

void MethodConfig::Describe(nlohmann::json* row) const {
  (*row)["method"] = Name(method);
  (*row)["budget"] = method == AttentionMethod::kDense ? 0 : budget;
  const bool quest = SelectsPages(method);
  (*row)["semantics"] = quest ? Name(semantics) : "";
  (*row)["gqa"] = quest ? Name(gqa) : "";
  (*row)["page_size"] = page_size;
  if (kv_type != KvType::kF16) (*row)["kv_type"] = KvTypeName(kv_type);
  (*row)["sink_pages"] = method == AttentionMethod::kQuest ? sink_pages : 0;
  if (method == AttentionMethod::kQuest && eps >= 0) {
    (*row)["eps"] = eps;
    (*row)["budget_max"] = budget_max;
  }
}

Result<std::vector<MethodConfig>> ExpandConfigs(const HarnessOptions& o) {
  if (o.methods.empty()) return Status::Error("--methods is empty");
  if (o.page_sizes.empty()) return Status::Error("--page-sizes is empty");
  for (int ps : o.page_sizes) {
    if (ps < 4 || ps > 128 || (ps & (ps - 1))) {
      return Status::Error(
          StrFormat("invalid --page-sizes %d: must be a power of two in [4, 128]", ps));
    }
  }
  if (o.sink_pages.empty()) return Status::Error("--sink-pages is empty");
  for (int sp : o.sink_pages) {
    if (sp < 0) return Status::Error(StrFormat("invalid --sink-pages %d: must be >= 0", sp));
  }
  if (o.eps.empty()) return Status::Error("--eps is empty");
  for (double e : o.eps) {
    if (e != -1 && !(e >= 0 && std::isfinite(e))) {
      return Status::Error(StrFormat("invalid --eps %g: must be >= 0 (or -1: fixed budget)", e));
    }
  }
  if (o.budget_max < 0) {
    return Status::Error(StrFormat("invalid --budget-max %d: must be >= 0", o.budget_max));
  }
  if (o.kv_types.empty()) return Status::Error("--kv-types is empty");
  std::vector<KvType> kv_types;
  for (const std::string& name : o.kv_types) {
    KvType t;
    if (!ParseKvType(name, &t)) {
      return Status::Error("invalid --kv-types " + name + " (expected f16, f32 or q8)");
    }
    kv_types.push_back(t);
  }
  std::vector<MethodConfig> out;
  for (const std::string& name : o.methods) {
    Result<AttentionMethod> m = ParseAttentionMethod(name);
    if (!m.ok()) return Status::Error("invalid --methods: " + m.status().message());
    if (*m == AttentionMethod::kDense) {
      out.push_back(MethodConfig{*m, 0, Semantics::kPaper, GqaMode::kPerKvHead, o.page_sizes[0]});
      continue;
    }
    if (o.budgets.empty()) return Status::Error("--budgets is empty");
    for (int b : o.budgets) {
      if (b <= 0) return Status::Error(StrFormat("invalid --budgets %d: must be > 0", b));
    }
    if (!SelectsPages(*m)) {
      for (int b : o.budgets) {
        out.push_back(MethodConfig{*m, b, Semantics::kPaper, GqaMode::kPerKvHead, o.page_sizes[0]});
      }
      continue;
    }
    for (const std::string& sn : o.semantics) {
      Result<Semantics> s = ParseSemantics(sn);
      if (!s.ok()) return Status::Error("invalid --semantics: " + s.status().message());
      for (const std::string& gn : o.gqa) {
        Result<GqaMode> g = ParseGqaMode(gn);
        if (!g.ok()) return Status::Error("invalid --gqa: " + g.status().message());
        for (int ps : o.page_sizes) {
          // The oracle picks by true attention mass: sink pages do not apply.
          const std::vector<int> sinks =
              *m == AttentionMethod::kQuest ? o.sink_pages : std::vector<int>{0};
          for (int sp : sinks) {
            for (int b : o.budgets) {
              if (sp > MaxSinkPages(b, ps)) {
                return Status::Error(StrFormat(
                    "invalid --sink-pages %d: %d-token pages leave no room for selection within "
                    "--budgets %d (at most %d sink pages)",
                    sp, ps, b, MaxSinkPages(b, ps)));
              }
              if (*m != AttentionMethod::kQuest) {
                out.push_back(MethodConfig{*m, b, *s, *g, ps, sp});
                continue;
              }
              for (double e : o.eps) {
                if (e >= 0 && o.budget_max > 0 && o.budget_max < b) {
                  return Status::Error(StrFormat(
                      "invalid --budget-max %d: below the first round's --budgets %d",
                      o.budget_max, b));
                }
                out.push_back(MethodConfig{*m, b, *s, *g, ps, sp, e, e >= 0 ? o.budget_max : 0});
              }
            }
          }
        }
      }
    }
  }
  // Every configuration once per K/V type, type-major (ShapesOf relies on it).
  std::vector<MethodConfig> typed;
  for (KvType t : kv_types) {
    for (MethodConfig c : out) {
      c.kv_type = t;
      typed.push_back(c);
    }
  }
  return typed;
}

Result<std::unique_ptr<Harness>> Harness::Create(const HarnessOptions& o) {
  std::vector<MethodConfig> configs;
  QE_ASSIGN_OR_RETURN(configs, ExpandConfigs(o));
  if (o.out_dir.empty()) return Status::Error("--out is required");
  QE_RETURN_IF_ERROR(ResolveThreads(o.threads).status());
  if (o.dense_layers < 0) {
    return Status::Error(StrFormat("invalid --dense-layers %d: must be >= 0", o.dense_layers));
  }
  const std::string path = o.model_path.empty() ? DefaultModelPath() : o.model_path;
  std::unique_ptr<Model> model;
  QE_ASSIGN_OR_RETURN(model, Model::Load(path));
  AttentionPolicy layers;
  layers.dense_layers = o.dense_layers;
  QE_RETURN_IF_ERROR(CheckPolicyForModel(layers, model->config()));
  Result<Vocab> vocab = LoadVocab(model->gguf());
  if (!vocab.ok()) return vocab.status();
  Result<Tokenizer> tok = Tokenizer::Create(std::move(*vocab));
  if (!tok.ok()) return tok.status();
  // The output directory last: a bad flag or model leaves nothing behind.
  std::unique_ptr<ResultWriter> writer;
  QE_ASSIGN_OR_RETURN(writer, ResultWriter::Open(o.out_dir, o.overwrite));
  auto h = std::unique_ptr<Harness>(
      new Harness(o, std::move(configs), std::move(model), std::move(*tok), std::move(writer)));
  h->model_name_ = Basename(path);
  return h;
}

Harness::Harness(HarnessOptions o, std::vector<MethodConfig> configs, std::unique_ptr<Model> model,
                 Tokenizer tok, std::unique_ptr<ResultWriter> writer)
    : opts_(std::move(o)),
      configs_(std::move(configs)),
      model_(std::move(model)),
      tok_(std::move(tok)),
      writer_(std::move(writer)) {}

int Harness::max_context() const { return model_->config().context_length; }

Result<const std::vector<int32_t>*> Harness::EssayTokens() {
  if (essay_tokens_.empty()) {
    const std::string path = DefaultEssayPath();
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::Error("cannot read the essay text " + path + " (run `make setup`)");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    essay_tokens_ = tok_.Encode(text, /*add_special=*/false, /*parse_special=*/false);
  }
  return &essay_tokens_;
}

Status Harness::RunQa(const std::vector<std::string>& tasks, const std::vector<int>& lengths,
                      const std::vector<double>& depths, int samples) {
  const std::vector<std::string> ruler = RulerTasks();
  for (const std::string& t : tasks) {
    if (t != "passkey" && std::find(ruler.begin(), ruler.end(), t) == ruler.end()) {
      std::string all = "passkey";
      for (const std::string& r : ruler) all += ", " + r;
      return Status::Error("invalid task '" + t + "' (expected one of: " + all + ")");
    }
  }
  for (int len : lengths) {
    if (len <= 0 || len > max_context() - 64) {  // not len + 64: it may overflow
      return Status::Error(StrFormat(
          "invalid --lengths %d: must be in (0, %d] (the model's context %d minus 64 tokens for "
          "the answer)",
          len, max_context() - 64, max_context()));
    }
  }
  for (double d : depths) {
    if (!(d >= 0 && d <= 1))
      return Status::Error(StrFormat("invalid --depths %g: must be in [0, 1]", d));
  }
  if (samples <= 0) return Status::Error(StrFormat("invalid --samples %d: must be > 0", samples));
  Corpus corpus;
  bool need_corpus = false;
  for (const std::string& t : tasks) need_corpus |= t != "passkey";
  if (need_corpus) {
    QE_ASSIGN_OR_RETURN(corpus, LoadCorpus(DefaultWordsPath(), DefaultEssayPath()));
  }
  binary_scores_ = tasks.size() == 1 && tasks[0] == "passkey";
  const std::vector<CacheShape> shapes = ShapesOf(configs_);
  const int vocab = model_->config().vocab_size;
  const int64_t total = static_cast<int64_t>(tasks.size()) * lengths.size() * depths.size() *
                        samples * configs_.size();
  Progress progress(tasks.size() == 1 ? tasks[0] : "ruler", total);
  std::vector<float> logits(vocab);
  for (int length : lengths) {
    const int context = length + 64;
    std::vector<SessionPair> pairs(shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      QE_ASSIGN_OR_RETURN(pairs[i], MakePair(*model_, context, shapes[i], opts_.threads));
    }
    for (const std::string& task : tasks) {
      for (double depth : depths) {
        for (int s = 0; s < samples; ++s) {
          const uint64_t seed =
              Mix(Mix(opts_.seed, static_cast<uint64_t>(length)),
                  Mix(static_cast<uint64_t>(depth * 1e6), static_cast<uint64_t>(s)));
          Result<Prompt> pr = task == "passkey"
                                  ? MakePasskey(tok_, length, depth, seed)
                                  : MakeRuler(task, tok_, corpus, length, depth, seed);
          if (!pr.ok()) return Status::Error(task + ": " + pr.status().message());
          const Prompt& p = *pr;
          for (size_t si = 0; si < shapes.size(); ++si) {
            SessionPair& sp = pairs[si];
            sp.base->Reset();  // a new dense prefill of this sample's context
            const double tp = NowSeconds();
            QE_RETURN_IF_ERROR(sp.base->Prefill(
                p.context.data(), static_cast<int>(p.context.size()), /*logits=*/nullptr));
            if (opts_.verbose) {
              const double dt = NowSeconds() - tp;
              std::fprintf(stderr,
                           "\n%s, %d tokens, depth %.2f: dense prefill %.1f s (%.0f tok/s)\n",
                           task.c_str(), length, depth, dt, p.context.size() / dt);
            }
            for (const MethodConfig& c : configs_) {
              if (!shapes[si].Holds(c)) continue;
              const double t0 = NowSeconds();
              QE_RETURN_IF_ERROR(sp.work->SetAttentionPolicy(PolicyOf(c, opts_.dense_layers)));
              QE_RETURN_IF_ERROR(sp.work->CopyStateFrom(*sp.base));
              sp.work->ResetCertifyReport();
              for (int32_t t : p.question) QE_RETURN_IF_ERROR(sp.work->Decode(t, logits.data()));
              std::vector<int32_t> answer;
              for (int i = 0; i < p.max_new_tokens; ++i) {
                const int32_t next = Argmax(logits);
                if (tok_.IsEndOfGeneration(next)) break;
                answer.push_back(next);
                if (i + 1 < p.max_new_tokens) {
                  QE_RETURN_IF_ERROR(sp.work->Decode(next, logits.data()));
                }
              }
              const std::string text = tok_.Decode(answer);
              const double score = task == "passkey" ? ScorePasskey(text, p.expected[0])
                                                     : ScoreRecall(text, p.expected);
              nlohmann::json row = {
                  {"model", model_name_}, {"task", task}, {"length", length}, {"depth", depth}};
              c.Describe(&row);
              row["seed"] = opts_.seed;
              row["sample"] = s;
              row["expected"] = p.expected;
              row["answer"] = text;
              row["score"] = score;
              row["needle_token"] = p.needle_token;
              row["seconds"] = NowSeconds() - t0;
              if (c.method == AttentionMethod::kQuest && c.eps >= 0) {
                DescribeCertified(sp.work->diagnostics().certify.Total(), &row);
              }
              QE_RETURN_IF_ERROR(writer_->AppendRow(row));
              if (opts_.verbose) {
                std::string ans = text;
                for (char& ch : ans) ch = ch == '\n' ? ' ' : ch;
                std::fprintf(stderr,
                             "  %-9s budget %5d: %-5s \"%s\" (expected %s; %zu question + %zu "
                             "answer tokens in %.2f s)\n",
                             Name(c.method), c.budget, score > 0.5 ? "right" : "wrong", ans.c_str(),
                             p.expected[0].c_str(), p.question.size(), answer.size(),
                             row["seconds"].get<double>());
              }
              rows_.push_back(row);
              progress.Tick();
            }
          }
        }
      }
    }
  }
  return Status();
}

Status Harness::RunFidelity(const std::vector<int>& lengths, int steps, int samples) {
  if (steps <= 0) return Status::Error(StrFormat("invalid --steps %d: must be > 0", steps));
  if (samples <= 0) return Status::Error(StrFormat("invalid --samples %d: must be > 0", samples));
  for (int len : lengths) {
    if (len <= 0 || int64_t{len} + steps + 1 > max_context()) {
      return Status::Error(StrFormat("invalid --length %d: length + steps must fit the context %d",
                                     len, max_context()));
    }
  }
  const std::vector<int32_t>* essay_ptr = nullptr;
  QE_ASSIGN_OR_RETURN(essay_ptr, EssayTokens());
  const std::vector<int32_t>& essay = *essay_ptr;
  const int vocab = model_->config().vocab_size;
  const std::vector<CacheShape> shapes = ShapesOf(configs_);
  Progress progress("fidelity", static_cast<int64_t>(lengths.size()) * samples *
                                    (configs_.size() + shapes.size()));
  // Per configuration (and length): every step's KL and top-1 match.
  std::map<std::pair<int, size_t>, std::vector<double>> kl_all, top1_all;
  std::map<std::pair<int, size_t>, CertifyReport::Cell> certify_all;
  std::vector<float> logits(vocab);
  std::vector<double> lp_method;
  for (int length : lengths) {
    const int n = length + steps;
    if (static_cast<int>(essay.size()) < n + 1) {
      return Status::Error(StrFormat("the essay has %zu tokens, fewer than %d", essay.size(), n));
    }
    for (int s = 0; s < samples; ++s) {
      const uint64_t seed = Mix(Mix(opts_.seed, static_cast<uint64_t>(length)), s);
      const size_t offset = seed % (essay.size() - n);
      std::vector<int32_t> text;
      if (tok_.vocab().add_bos) text.push_back(tok_.bos());
      text.insert(text.end(), essay.begin() + offset, essay.begin() + offset + n);
      const int prefix = static_cast<int>(text.size()) - steps;
      // Dense reference distributions of every step: per page size, those of
      // its first K/V type (--kv-types order), so that the other types' KL
      // includes their own error.
      std::vector<std::vector<double>> lp_dense(steps);
      std::vector<int32_t> top_dense(steps);
      int reference_ps = -1;
      for (const CacheShape& shape : shapes) {
        SessionPair sp;
        QE_ASSIGN_OR_RETURN(sp, MakePair(*model_, n + 2, shape, opts_.threads));
        QE_RETURN_IF_ERROR(sp.base->Prefill(text.data(), prefix, /*logits=*/nullptr));
        if (shape.page_size != reference_ps) {
          reference_ps = shape.page_size;
          QE_RETURN_IF_ERROR(sp.work->CopyStateFrom(*sp.base));
          for (int i = 0; i < steps; ++i) {
            QE_RETURN_IF_ERROR(sp.work->Decode(text[prefix + i], logits.data()));
            LogSoftmax(logits, &lp_dense[i]);
            top_dense[i] = Argmax(logits);
          }
        }
        progress.Tick();
        for (size_t ci = 0; ci < configs_.size(); ++ci) {
          const MethodConfig& c = configs_[ci];
          if (!shape.Holds(c)) continue;
          const double t0 = NowSeconds();
          QE_RETURN_IF_ERROR(sp.work->SetAttentionPolicy(PolicyOf(c, opts_.dense_layers)));
          QE_RETURN_IF_ERROR(sp.work->CopyStateFrom(*sp.base));
          sp.work->ResetCertifyReport();
          std::vector<double> kl(steps), top1(steps);
          for (int i = 0; i < steps; ++i) {
            QE_RETURN_IF_ERROR(sp.work->Decode(text[prefix + i], logits.data()));
            LogSoftmax(logits, &lp_method);
            kl[i] = KlDivergence(lp_dense[i], lp_method);
            top1[i] = Argmax(logits) == top_dense[i];
          }
          auto& K = kl_all[{length, ci}];
          auto& T = top1_all[{length, ci}];
          K.insert(K.end(), kl.begin(), kl.end());
          T.insert(T.end(), top1.begin(), top1.end());
          nlohmann::json row = {{"model", model_name_}, {"task", "fidelity"}, {"length", length}};
          c.Describe(&row);
          row["seed"] = opts_.seed;
          row["sample"] = s;
          row["steps"] = steps;
          row["kl_mean"] = MeanWithStdErr(kl).value;
          row["top1_agreement"] = MeanWithStdErr(top1).value;
          row["seconds"] = NowSeconds() - t0;
          if (c.method == AttentionMethod::kQuest && c.eps >= 0) {
            const CertifyReport::Cell cell = sp.work->diagnostics().certify.Total();
            DescribeCertified(cell, &row);
            certify_all[{length, ci}].Add(cell);
          }
          QE_RETURN_IF_ERROR(writer_->AppendRow(row));
          progress.Tick();
        }
      }
    }
  }
  for (int length : lengths) {
    for (size_t ci = 0; ci < configs_.size(); ++ci) {
      const auto it = kl_all.find({length, ci});
      if (it == kl_all.end()) continue;
      const std::vector<double>& T = top1_all[{length, ci}];
      int64_t agree = 0;
      for (double t : T) agree += t > 0.5;
      Interval kl = MeanWithStdErr(it->second);
      kl.low = std::max(0.0, kl.low);  // KL >= 0
      const Interval top1 = Wilson(agree, static_cast<int64_t>(T.size()));
      for (const auto& [metric, iv] : {std::pair<const char*, Interval>{"kl_mean", kl},
                                       std::pair<const char*, Interval>{"top1_agreement", top1}}) {
        nlohmann::json row = {{"model", model_name_}, {"task", "fidelity"}, {"length", length}};
        configs_[ci].Describe(&row);
        row["metric"] = metric;
        row["value"] = iv.value;
        row["ci_low"] = iv.low;
        row["ci_high"] = iv.high;
        row["n"] = iv.n;
        const auto cert = certify_all.find({length, ci});
        if (cert != certify_all.end()) DescribeCertified(cert->second, &row);
        summary_.push_back(row);
      }
    }
  }
  return Status();
}

Status Harness::RunPpl(int tokens, int samples) {
  if (tokens < 2 || tokens > max_context() - 1) {
    return Status::Error(
        StrFormat("invalid --tokens %d: must be in [2, %d]", tokens, max_context() - 1));
  }
  if (samples <= 0) return Status::Error(StrFormat("invalid --samples %d: must be > 0", samples));
  const std::vector<int32_t>* essay_ptr = nullptr;
  QE_ASSIGN_OR_RETURN(essay_ptr, EssayTokens());
  const std::vector<int32_t>& essay = *essay_ptr;
  if (static_cast<int>(essay.size()) < tokens + 1) {
    return Status::Error(
        StrFormat("the essay has %zu tokens, fewer than %d", essay.size(), tokens));
  }
  const int vocab = model_->config().vocab_size;
  const std::vector<CacheShape> shapes = ShapesOf(configs_);
  // Work in tokens decoded, for the progress bar.
  int64_t work = 0;
  for (const MethodConfig& c : configs_) {
    const bool late = c.method != AttentionMethod::kDense && c.method != AttentionMethod::kH2O;
    work += late ? std::max(0, tokens - c.budget) : tokens;
  }
  Progress progress("ppl", work * samples);
  // nll[config][sample][i] = -log p(text[i + 1] | text[0..i]).
  std::map<size_t, std::vector<std::vector<double>>> nll_all;
  std::vector<float> logits(vocab);
  std::vector<double> lp;
  for (int s = 0; s < samples; ++s) {
    const uint64_t seed = Mix(opts_.seed, s);
    const size_t offset = seed % (essay.size() - tokens);
    std::vector<int32_t> text;
    if (tok_.vocab().add_bos) text.push_back(tok_.bos());
    text.insert(text.end(), essay.begin() + offset, essay.begin() + offset + tokens);
    text.resize(tokens);
    // Decodes text[from..to) at positions from..to-1, scoring the next token.
    auto run = [&](Session* sess, int from, int to, std::vector<double>* nll) -> Status {
      for (int i = from; i < to; ++i) {
        QE_RETURN_IF_ERROR(sess->Decode(text[i], logits.data()));
        LogSoftmax(logits, &lp);
        (*nll)[i] = -lp[text[i + 1]];
        if ((i - from) % 64 == 63) progress.Tick(64);
      }
      return Status();
    };
    const int last = tokens - 1;  // positions 0..last-1 are scored
    for (const CacheShape& shape : shapes) {
      // The base decodes densely from the start. Methods that act only once the
      // context exceeds their budget (Quest, StreamingLLM, TOVA: no state before
      // that) fork from it there; H2O, whose scores accumulate from the first
      // step, runs from the start.
      SessionPair sp;
      QE_ASSIGN_OR_RETURN(sp, MakePair(*model_, tokens + 2, shape, opts_.threads));
      std::vector<size_t> index;
      for (size_t ci = 0; ci < configs_.size(); ++ci) {
        if (shape.Holds(configs_[ci])) index.push_back(ci);
      }
      std::stable_sort(index.begin(), index.end(),
                       [&](size_t a, size_t b) { return configs_[a].budget < configs_[b].budget; });
      std::vector<double> base_nll(last, 0.0);
      int base_pos = 0;
      auto emit = [&](size_t ci, std::vector<double> nll, double seconds) -> Status {
        const Interval iv = MeanWithStdErr(nll);
        nlohmann::json row = {{"model", model_name_}, {"task", "ppl"}, {"length", tokens}};
        configs_[ci].Describe(&row);
        row["seed"] = opts_.seed;
        row["sample"] = s;
        row["ppl"] = std::exp(iv.value);
        row["nll_mean"] = iv.value;
        row["seconds"] = seconds;
        nll_all[ci].push_back(std::move(nll));
        return writer_->AppendRow(row);
      };
      std::vector<size_t> dense_configs;
      for (size_t ci : index) {
        const MethodConfig& c = configs_[ci];
        const double t0 = NowSeconds();
        if (c.method == AttentionMethod::kDense) {
          dense_configs.push_back(ci);
          continue;
        }
        std::vector<double> nll(last, 0.0);
        if (c.method == AttentionMethod::kH2O) {
          sp.work->Reset();  // from the start, in the work session's own cache
          QE_RETURN_IF_ERROR(sp.work->SetAttentionPolicy(PolicyOf(c, opts_.dense_layers)));
          QE_RETURN_IF_ERROR(run(sp.work.get(), 0, last, &nll));
        } else {
          const int fork_at = std::min(c.budget, last);
          QE_RETURN_IF_ERROR(run(sp.base.get(), base_pos, fork_at, &base_nll));
          base_pos = std::max(base_pos, fork_at);
          std::copy(base_nll.begin(), base_nll.begin() + fork_at, nll.begin());
          QE_RETURN_IF_ERROR(sp.work->SetAttentionPolicy(PolicyOf(c, opts_.dense_layers)));
          QE_RETURN_IF_ERROR(sp.work->CopyStateFrom(*sp.base));
          QE_RETURN_IF_ERROR(run(sp.work.get(), fork_at, last, &nll));
        }
        QE_RETURN_IF_ERROR(emit(ci, std::move(nll), NowSeconds() - t0));
      }
      if (!dense_configs.empty()) {
        const double t0 = NowSeconds();
        QE_RETURN_IF_ERROR(run(sp.base.get(), base_pos, last, &base_nll));
        for (size_t ci : dense_configs) QE_RETURN_IF_ERROR(emit(ci, base_nll, NowSeconds() - t0));
      }
    }
  }
  // Summary and curves: every scored token of every sample pooled.
  const MethodConfig* dense = nullptr;
  size_t dense_ci = 0;
  for (size_t ci = 0; ci < configs_.size(); ++ci) {
    if (configs_[ci].method == AttentionMethod::kDense) {
      dense = &configs_[ci];
      dense_ci = ci;
    }
  }
  const int last = tokens - 1;
  const int stride = std::max(1, last / 128);
  for (const auto& [ci, per_sample] : nll_all) {
    std::vector<double> pooled;
    for (const auto& v : per_sample) pooled.insert(pooled.end(), v.begin(), v.end());
    const Interval iv = PerplexityOf(pooled);
    nlohmann::json row = {{"model", model_name_}, {"task", "ppl"}, {"length", tokens}};
    configs_[ci].Describe(&row);
    row["metric"] = "ppl";
    row["value"] = iv.value;
    row["ci_low"] = iv.low;
    row["ci_high"] = iv.high;
    row["n"] = iv.n;
    summary_.push_back(row);
    if (dense != nullptr && ci != dense_ci) {
      // Paired per-token difference to dense: the precise comparison.
      std::vector<double> diff;
      const auto& d = nll_all[dense_ci];
      for (size_t smp = 0; smp < per_sample.size(); ++smp) {
        for (size_t i = 0; i < per_sample[smp].size(); ++i) {
          diff.push_back(per_sample[smp][i] - d[smp][i]);
        }
      }
      const Interval dv = MeanWithStdErr(diff);
      nlohmann::json r2 = row;
      r2["metric"] = "ppl_increase_pct";
      r2["value"] = 100 * (std::exp(dv.value) - 1);
      r2["ci_low"] = 100 * (std::exp(dv.low) - 1);
      r2["ci_high"] = 100 * (std::exp(dv.high) - 1);
      r2["n"] = dv.n;
      summary_.push_back(r2);
    }
    // Cumulative perplexity against position.
    nlohmann::json curve;
    configs_[ci].Describe(&curve);
    std::vector<int> positions;
    std::vector<double> ppl, lo, hi;
    double sum = 0, sum2 = 0;
    int64_t n = 0;
    for (int i = 0; i < last; ++i) {
      for (const auto& v : per_sample) {
        sum += v[i];
        sum2 += v[i] * v[i];
        ++n;
      }
      if ((i + 1) % stride == 0 || i + 1 == last) {
        const double mean = sum / n;
        const double var = n > 1 ? std::max(0.0, (sum2 - n * mean * mean) / (n - 1)) : 0.0;
        const double se = std::sqrt(var / n);
        positions.push_back(i + 1);
        ppl.push_back(std::exp(mean));
        lo.push_back(std::exp(mean - 1.96 * se));
        hi.push_back(std::exp(mean + 1.96 * se));
      }
    }
    curve["positions"] = positions;
    curve["ppl"] = ppl;
    curve["ci_low"] = lo;
    curve["ci_high"] = hi;
    curves_.push_back(curve);
  }
  return Status();
}

Status Harness::Finish() {
  std::vector<nlohmann::json> summary = summary_;
  std::vector<nlohmann::json> qa;
  for (const nlohmann::json& r : rows_) {
    if (r.contains("score")) qa.push_back(r);
  }
  if (!qa.empty()) {
    std::vector<nlohmann::json> s = SummarizeScores(qa, binary_scores_);
    // Pooled over depths too: the accuracy-vs-budget view.
    std::vector<nlohmann::json> pooled;
    for (nlohmann::json r : qa) {
      r.erase("depth");
      pooled.push_back(r);
    }
    for (nlohmann::json& r : SummarizeScores(pooled, binary_scores_)) {
      r["depth"] = "all";
      s.push_back(r);
    }
    summary.insert(summary.end(), s.begin(), s.end());
  }
  if (!curves_.empty()) QE_RETURN_IF_ERROR(writer_->WriteFile("curves.json", curves_.dump(1) + "\n"));
  QE_RETURN_IF_ERROR(writer_->Finish(summary));
  if (opts_.json) std::printf("%s\n", nlohmann::json(summary).dump(1).c_str());
  if (opts_.plots) {
    const std::string repo = QUEST_REPO_DIR;
    const std::string py = repo + "/.venv/bin/python";
    if (access(py.c_str(), X_OK) == 0) {
      // An argument vector, no shell: --out may hold any character.
      Result<int> rc = RunProgram({py, repo + "/scripts/plot_eval.py", writer_->dir()},
                                  /*stdout_to_stderr=*/true);
      if (!rc.ok() || *rc != 0) {
        std::fprintf(stderr, "quest eval: plotting failed (the results are written)\n");
      }
    } else {
      std::fprintf(stderr, "quest eval: no %s; run `make setup` for the plots\n", py.c_str());
    }
  }
  std::fprintf(stderr, "quest eval: results in %s\n", writer_->dir().c_str());
  return Status();
}

}  // namespace quest::eval
