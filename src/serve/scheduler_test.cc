// The scheduler on the default model (label `model`): a repeated prompt takes
// its pages from the prefix cache and greedy decoding then gives the same
// tokens; a cancelled sequence gives its pages back; the queue refuses past
// its size; requests decoded together give the tokens each gives alone.
#include "src/serve/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace quest {
namespace {

std::unique_ptr<Model> LoadDefault() {
  auto m = Model::Load(std::string(QUEST_MODELS_DIR) + "/gemma-3-270m-q4_k_m.gguf");
  EXPECT_TRUE(m.ok()) << m.status().message() << " (run `make setup`)";
  return m.ok() ? std::move(*m) : nullptr;
}

std::vector<int32_t> Prompt(int n, int seed) {
  std::vector<int32_t> t(n);
  t[0] = 2;  // <bos>
  for (int i = 1; i < n; ++i) t[i] = 300 + (i * 7919 + seed * 104729) % 100000;
  return t;
}

GenerationRequest Greedy(std::vector<int32_t> prompt, int max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  return r;
}

// Every token of a stream, until it ends.
std::vector<int32_t> Collect(TokenStream& s, FinishReason* reason = nullptr) {
  std::vector<int32_t> out;
  for (;;) {
    TokenStream::Batch b = s.Next(std::chrono::milliseconds(1000));
    out.insert(out.end(), b.tokens.begin(), b.tokens.end());
    if (b.finished) {
      if (reason != nullptr) *reason = b.reason;
      return out;
    }
  }
}

std::shared_ptr<TokenStream> Submit(Scheduler& s, GenerationRequest r) {
  std::shared_ptr<TokenStream> stream;
  EXPECT_EQ(s.Submit(std::move(r), &stream), Scheduler::Admission::kQueued);
  return stream;
}

void ExpectPagesBack(Scheduler& s) {
  for (int i = 0; i < 1500 && s.Stats().pages_used != 0; ++i) {  // up to 30 s on a busy machine
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const SchedulerStats st = s.Stats();
  EXPECT_EQ(st.pages_used, 0);
  EXPECT_EQ(st.pages_used + st.pages_cached + st.pages_free, st.pages_total);
}

TEST(SchedulerModelTest, ARepeatedPromptReusesItsPagesAndDecodesTheSame) {
  auto m = LoadDefault();
  ASSERT_NE(m, nullptr);
  SchedulerOptions o;
  o.parallel = 2;
  o.ctx_size = 1024;
  auto sched = Scheduler::Create(*m, o);
  ASSERT_TRUE(sched.ok()) << sched.status().message();
  const std::vector<int32_t> doc = Prompt(300, 1);
  auto first = Submit(**sched, Greedy(doc, 8));
  const std::vector<int32_t> a = Collect(*first);
  EXPECT_EQ(first->cached_tokens(), 0);
  auto second = Submit(**sched, Greedy(doc, 8));
  const std::vector<int32_t> b = Collect(*second);
  EXPECT_EQ(second->cached_tokens(), (300 - 1) / 16 * 16);  // all but the last partial page
  EXPECT_EQ(a, b);
  EXPECT_EQ((*sched)->Stats().prefix_hits, 1);
  ExpectPagesBack(**sched);
}

TEST(SchedulerModelTest, SequencesTogetherGiveTheTokensEachGivesAlone) {
  auto m = LoadDefault();
  ASSERT_NE(m, nullptr);
  SchedulerOptions o;
  o.parallel = 3;
  o.ctx_size = 512;
  // Two schedulers, so that the batched run finds no cached pages.
  auto one = Scheduler::Create(*m, o), batched = Scheduler::Create(*m, o);
  ASSERT_TRUE(one.ok() && batched.ok());
  std::vector<std::vector<int32_t>> alone;
  for (int s = 0; s < 3; ++s) {
    alone.push_back(Collect(*Submit(**one, Greedy(Prompt(40 + 30 * s, s + 5), 10))));
  }
  std::vector<std::shared_ptr<TokenStream>> streams;
  for (int s = 0; s < 3; ++s) {
    streams.push_back(Submit(**batched, Greedy(Prompt(40 + 30 * s, s + 5), 10)));
  }
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(Collect(*streams[s]), alone[s]) << "sequence " << s;
    EXPECT_EQ(streams[s]->cached_tokens(), 0);
  }
  ExpectPagesBack(**batched);
}

TEST(SchedulerModelTest, CancelledSequencesGiveTheirPagesBackAndTheQueueIsBounded) {
  auto m = LoadDefault();
  ASSERT_NE(m, nullptr);
  SchedulerOptions o;
  o.parallel = 1;
  o.queue_size = 1;
  o.ctx_size = 512;
  auto sched = Scheduler::Create(*m, o);
  ASSERT_TRUE(sched.ok());
  auto running = Submit(**sched, Greedy(Prompt(100, 2), 400));
  while (running->Next(std::chrono::milliseconds(1000)).tokens.empty()) {
  }
  auto waiting = Submit(**sched, Greedy(Prompt(50, 3), 400));
  std::shared_ptr<TokenStream> refused;
  EXPECT_EQ((*sched)->Submit(Greedy(Prompt(20, 4), 4), &refused),
            Scheduler::Admission::kQueueFull);
  // The stats are a snapshot the engine takes after each step.
  for (int i = 0; i < 1500 && (*sched)->Stats().pages_used == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT((*sched)->Stats().pages_used, 0);
  running->Cancel();
  waiting->Cancel();
  FinishReason reason;
  Collect(*running, &reason);
  EXPECT_EQ(reason, FinishReason::kCancelled);
  Collect(*waiting, &reason);
  EXPECT_EQ(reason, FinishReason::kCancelled);
  ExpectPagesBack(**sched);
  (*sched)->Stop();
  EXPECT_EQ((*sched)->Submit(Greedy(Prompt(20, 4), 4), &refused), Scheduler::Admission::kStopped);
}

}  // namespace
}  // namespace quest
