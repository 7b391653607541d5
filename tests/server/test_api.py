"""The official `openai` client against `quest serve`: chat and completions, streaming and
not, greedy output equal to `quest generate`, /v1/models, /health and /metrics."""
import unittest

import openai

from quest_server import (MODEL_ID, QuestServer, kjv_text, parse_metrics, quest_generate,
                          streamed_text)

COMPLETION_PROMPT = kjv_text(0, 400)
CHAT_PROMPT = "Name three colours of the rainbow."
N = 16

METRIC_NAMES = [
    "quest_requests_total", "quest_prompt_tokens_total", "quest_completion_tokens_total",
    "quest_prefix_cache_hits_total", "quest_prefix_cache_tokens_total",
    "quest_prefill_tokens_per_second", "quest_decode_tokens_per_second",
    "quest_sequences_active", "quest_sequences_queued", "quest_kv_pages_used",
    "quest_kv_pages_cached", "quest_kv_pages_free", "quest_kv_pages_total",
    "quest_kv_bytes_read_per_token", "quest_step_seconds_max",
]


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--parallel", "2")
        cls.server.start()
        cls.client = openai.OpenAI(base_url=cls.server.base_url + "/v1", api_key="unused",
                                   max_retries=0, timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def test_completion_equals_quest_generate(self):
        expected = quest_generate(COMPLETION_PROMPT, N)
        r = self.client.completions.create(model=MODEL_ID, prompt=COMPLETION_PROMPT,
                                           max_tokens=N, temperature=0)
        self.assertEqual(r.object, "text_completion")
        self.assertTrue(r.id.startswith("cmpl-"), r.id)
        self.assertEqual(r.model, MODEL_ID)
        self.assertEqual(len(r.choices), 1)
        self.assertEqual(r.choices[0].text, expected)
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, N)
        self.assertGreater(r.usage.prompt_tokens, 50)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + N)

    def test_chat_equals_quest_generate_chat(self):
        expected = quest_generate(CHAT_PROMPT, N, chat=True)
        r = self.client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": CHAT_PROMPT}], max_tokens=N,
            temperature=0)
        self.assertEqual(r.object, "chat.completion")
        self.assertTrue(r.id.startswith("chatcmpl-"), r.id)
        self.assertEqual(r.choices[0].message.role, "assistant")
        self.assertEqual(r.choices[0].message.content, expected)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        if r.choices[0].finish_reason == "length":
            self.assertEqual(r.usage.completion_tokens, N)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens)

    def test_chat_content_parts_equal_plain_content(self):
        plain = self.client.chat.completions.create(
            messages=[{"role": "user", "content": CHAT_PROMPT}], model=MODEL_ID, max_tokens=8)
        parts = self.client.chat.completions.create(
            messages=[{"role": "user", "content": [{"type": "text", "text": CHAT_PROMPT}]}],
            model=MODEL_ID, max_tokens=8)
        self.assertEqual(parts.choices[0].message.content, plain.choices[0].message.content)

    def test_streaming_completion_equals_non_streaming(self):
        whole = self.client.completions.create(model=MODEL_ID, prompt=COMPLETION_PROMPT,
                                               max_tokens=N)
        chunks = list(self.client.completions.create(
            model=MODEL_ID, prompt=COMPLETION_PROMPT, max_tokens=N, stream=True,
            stream_options={"include_usage": True}))
        text = "".join(c.choices[0].text for c in chunks if c.choices)
        self.assertEqual(text, whole.choices[0].text)
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
        self.assertEqual(finishes[-1], "length")
        self.assertTrue(all(f is None for f in finishes[:-1]), finishes)
        self.assertTrue(all(c.object == "text_completion" for c in chunks))
        # include_usage: the last chunk has no choices and carries the usage.
        self.assertEqual(chunks[-1].choices, [])
        self.assertEqual(chunks[-1].usage.completion_tokens, N)
        self.assertEqual(chunks[-1].usage.prompt_tokens, whole.usage.prompt_tokens)

    def test_streaming_chat_shape(self):
        whole = self.client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": CHAT_PROMPT}], max_tokens=N)
        chunks = list(self.client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": CHAT_PROMPT}], max_tokens=N,
            stream=True))
        self.assertTrue(all(c.object == "chat.completion.chunk" for c in chunks))
        first = chunks[0].choices[0].delta
        self.assertEqual(first.role, "assistant")
        self.assertEqual(first.content or "", "")
        last = chunks[-1].choices[0]
        self.assertIn(last.finish_reason, ("stop", "length"))
        self.assertIsNone(last.delta.content)
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        self.assertEqual(text, whole.choices[0].message.content)
        self.assertEqual(len({c.id for c in chunks}), 1)  # one id for the whole stream

    def test_sse_framing(self):
        s = self.server.open_stream("/v1/completions", {"prompt": COMPLETION_PROMPT,
                                                        "max_tokens": 4, "stream": True})
        try:
            self.assertEqual(s.status, 200)
            self.assertTrue(s.headers["content-type"].startswith("text/event-stream"),
                            s.headers)
            events = s.events()
        finally:
            s.close()
        self.assertEqual(events[-1], "[DONE]")
        text, finish = streamed_text(events, chat=False)
        self.assertEqual(finish, "length")
        self.assertTrue(text)

    def test_stop_string_ends_the_text_before_it(self):
        full = self.client.completions.create(model=MODEL_ID, prompt=COMPLETION_PROMPT,
                                              max_tokens=N).choices[0].text
        words = full.split()
        self.assertGreater(len(words), 3, full)
        stop = words[2]
        cut = full[: full.index(stop)]
        for stream in (False, True):
            r = self.client.completions.create(model=MODEL_ID, prompt=COMPLETION_PROMPT,
                                               max_tokens=N, stop=[stop], stream=stream)
            if stream:
                chunks = list(r)
                text = "".join(c.choices[0].text for c in chunks if c.choices)
                finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
            else:
                text, finish = r.choices[0].text, r.choices[0].finish_reason
            self.assertEqual(text, cut, f"stream={stream}")
            self.assertEqual(finish, "stop", f"stream={stream}")

    def test_seeded_sampling_is_reproducible(self):
        def sample():
            return self.client.completions.create(
                model=MODEL_ID, prompt=COMPLETION_PROMPT, max_tokens=16, temperature=1.0,
                top_p=0.95, seed=1234, extra_body={"top_k": 40}).choices[0].text

        self.assertEqual(sample(), sample())

    def test_model_field_is_optional(self):
        r = self.server.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 2})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["model"], MODEL_ID)
        self.assertEqual(r.json()["choices"][0]["logprobs"], None)

    def test_unknown_top_level_fields_are_ignored(self):
        r = self.server.post("/v1/completions", {"prompt": "In the beginning", "max_tokens": 2,
                                                 "user": "u1", "some_new_field": {"a": 1}})
        self.assertEqual(r.status, 200, r.text)

    def test_models(self):
        models = self.client.models.list().data
        self.assertEqual([m.id for m in models], [MODEL_ID])
        self.assertEqual(models[0].owned_by, "quest")
        raw = self.server.request("GET", "/v1/models").json()
        self.assertEqual(raw["object"], "list")
        self.assertEqual(raw["data"][0]["object"], "model")
        self.assertIsInstance(raw["data"][0]["created"], int)

    def test_health(self):
        r = self.server.request("GET", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})

    def test_unknown_route_is_404(self):
        self.assertEqual(self.server.request("GET", "/v1/nothing").status, 404)

    def test_metrics(self):
        before = self.server.metrics()
        r = self.client.completions.create(model=MODEL_ID, prompt=COMPLETION_PROMPT,
                                           max_tokens=5)
        raw = self.server.request("GET", "/metrics")
        self.assertEqual(raw.status, 200)
        self.assertTrue(raw.headers["content-type"].startswith("text/plain"), raw.headers)
        after = parse_metrics(raw.text)
        for name in METRIC_NAMES:
            self.assertIn(name, after, name)
        self.assertIn("# TYPE quest_requests_total counter", raw.text)
        self.assertIn("# TYPE quest_kv_pages_used gauge", raw.text)
        ok = '{code="200"}'
        self.assertGreaterEqual(after["quest_requests_total"][ok],
                                before.get("quest_requests_total", {}).get(ok, 0) + 1)
        self.assertGreaterEqual(after["quest_prompt_tokens_total"],
                                before["quest_prompt_tokens_total"] + r.usage.prompt_tokens
                                - r.usage.prompt_tokens_details.cached_tokens)
        self.assertGreaterEqual(after["quest_completion_tokens_total"],
                                before["quest_completion_tokens_total"] + 5)
        self.assertGreater(after["quest_decode_tokens_per_second"], 0)
        self.assertGreater(after["quest_prefill_tokens_per_second"], 0)
        self.assertGreater(after["quest_kv_bytes_read_per_token"], 0)
        self.assertGreater(after["quest_step_seconds_max"], 0)
        idle = self.server.wait_idle()
        self.assertEqual(idle["quest_kv_pages_used"], 0)
        self.assertEqual(idle["quest_kv_pages_used"] + idle["quest_kv_pages_cached"]
                         + idle["quest_kv_pages_free"], idle["quest_kv_pages_total"])
        self.assertGreater(idle["quest_kv_pages_total"], 0)

    def test_repeated_prompt_hits_the_prefix_cache(self):
        doc = kjv_text(3000, 1500)
        first = self.client.completions.create(model=MODEL_ID, prompt=doc + "\nQ1", max_tokens=2)
        m0 = self.server.metrics()
        second = self.client.completions.create(model=MODEL_ID, prompt=doc + "\nQ2",
                                                max_tokens=2)
        m1 = self.server.metrics()
        cached = second.usage.prompt_tokens_details.cached_tokens
        self.assertGreater(cached, first.usage.prompt_tokens // 2)
        self.assertLess(cached, second.usage.prompt_tokens)
        self.assertEqual(m1["quest_prefix_cache_hits_total"],
                         m0["quest_prefix_cache_hits_total"] + 1)
        self.assertEqual(m1["quest_prefix_cache_tokens_total"],
                         m0["quest_prefix_cache_tokens_total"] + cached)
        # The cache changes what is computed, not the answer.
        alone = quest_generate(doc + "\nQ2", 2)
        self.assertEqual(second.choices[0].text, alone)


if __name__ == "__main__":
    unittest.main()
