"""Bad requests get a 4xx and an OpenAI error object naming the field: malformed JSON,
wrong types, missing fields, unknown model, n > 1, bad max_tokens, sampling values and quest
options, prompts over the context, bodies over the limit, and the API key."""
import json
import subprocess
import unittest

import openai

from quest_server import (MODEL_ID, QUEST_BIN, QUEST_MODEL, QuestServer, count_prompt_tokens,
                          kjv_text)

CTX = 256
MAX_BODY = 16384
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MESSAGES = [{"role": "user", "content": "Hello"}]


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--ctx-size", CTX, "--max-body-bytes", MAX_BODY,
                                 "--page-size", 16, "--kv-type", "f16")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def expect_error(self, path, body, status, param, code=None):
        """Posts body and checks the status and the error object's param and code."""
        r = self.server.post(path, body)
        self.assertEqual(r.status, status, f"{body!r:.200}: {r.text}")
        err = r.json()["error"]
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"])
        self.assertIn("type", err)
        self.assertEqual(err["param"], param, f"{body!r:.200}: {err}")
        if code is not None:
            self.assertEqual(err["code"], code, err)
        if status == 400:
            self.assertEqual(err["type"], "invalid_request_error", err)
        return err

    def test_malformed_json(self):
        for body in ('{"prompt": "a", ', "not json", "", "[1, 2]"):
            r = self.server.post(COMPLETIONS, body, headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, f"{body!r}: {r.text}")
            err = r.json()["error"]
            self.assertEqual(err["type"], "invalid_request_error")
            if body != "[1, 2]":  # a valid JSON value that is not an object may name no field
                self.assertIsNone(err["param"], err)

    def test_wrong_types(self):
        cases = [
            (COMPLETIONS, {"prompt": 5}, "prompt"),
            (COMPLETIONS, {"prompt": ["a", "b"]}, "prompt"),
            (COMPLETIONS, {"prompt": "a", "max_tokens": "10"}, "max_tokens"),
            (COMPLETIONS, {"prompt": "a", "max_tokens": 2.5}, "max_tokens"),
            (COMPLETIONS, {"prompt": "a", "temperature": "hot"}, "temperature"),
            (COMPLETIONS, {"prompt": "a", "stream": "yes"}, "stream"),
            (COMPLETIONS, {"prompt": "a", "stop": 5}, "stop"),
            (COMPLETIONS, {"prompt": "a", "seed": "x"}, "seed"),
            (COMPLETIONS, {"prompt": "a", "quest": "dense"}, "quest"),
            (CHAT, {"messages": "hi"}, "messages"),
        ]
        for path, body, param in cases:
            with self.subTest(body=body):
                self.expect_error(path, body, 400, param)
        # A bad message may be named by its index ("messages[0].content").
        for messages in ([{"role": "user", "content": 5}], [{"role": "wizard", "content": "hi"}],
                         [{"content": "hi"}], ["hi"],
                         [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]):
            with self.subTest(messages=messages):
                self.expect_param_prefix(CHAT, {"messages": messages}, "messages")

    def expect_param_prefix(self, path, body, prefix):
        r = self.server.post(path, body)
        self.assertEqual(r.status, 400, f"{body}: {r.text}")
        err = r.json()["error"]
        self.assertEqual(err["type"], "invalid_request_error")
        self.assertIsNotNone(err["param"], err)
        self.assertTrue(err["param"].startswith(prefix), err)
        return err

    def test_missing_messages_and_prompt(self):
        self.expect_error(CHAT, {"model": MODEL_ID}, 400, "messages")
        self.expect_error(CHAT, {"messages": []}, 400, "messages")
        self.expect_error(COMPLETIONS, {"max_tokens": 3}, 400, "prompt")

    def test_conversation_the_chat_template_refuses(self):
        # The model's own template (Gemma 3's) raises unless turns alternate: a 400 quoting it.
        r = self.server.post(CHAT, {"messages": [{"role": "user", "content": "a"},
                                                 {"role": "user", "content": "b"}]})
        self.assertEqual(r.status, 400, r.text)
        err = r.json()["error"]
        self.assertEqual(err["param"], "messages", err)
        self.assertIn("Conversation roles must alternate user/assistant/user/assistant/...",
                      err["message"])
        self.assertRegex(err["message"], r"line \d+, column \d+")

    def test_unknown_model(self):
        for path, body in ((CHAT, {"messages": MESSAGES}), (COMPLETIONS, {"prompt": "a"})):
            self.expect_error(path, {**body, "model": "gpt-4o"}, 404, "model", "model_not_found")

    def test_n_greater_than_one(self):
        self.expect_error(COMPLETIONS, {"prompt": "a", "n": 2}, 400, "n")
        self.expect_error(CHAT, {"messages": MESSAGES, "n": 3}, 400, "n")
        r = self.server.post(COMPLETIONS, {"prompt": "a", "n": 1, "max_tokens": 1})
        self.assertEqual(r.status, 200, r.text)

    def test_max_tokens_not_positive(self):
        for v in (0, -1):
            self.expect_error(COMPLETIONS, {"prompt": "a", "max_tokens": v}, 400, "max_tokens")
            self.expect_error(CHAT, {"messages": MESSAGES, "max_completion_tokens": v}, 400,
                              "max_completion_tokens")

    def test_bad_sampling_values(self):
        cases = [
            ({"temperature": -0.5}, "temperature"),
            ({"top_p": 0}, "top_p"),
            ({"top_p": 1.5}, "top_p"),
            ({"top_k": -1}, "top_k"),
            ({"min_p": 1.5}, "min_p"),
            ({"repetition_penalty": 0}, "repetition_penalty"),
            ({"frequency_penalty": 3}, "frequency_penalty"),
            ({"presence_penalty": -2.5}, "presence_penalty"),
            ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
            ({"logprobs": True}, "logprobs"),
        ]
        for fields, param in cases:
            with self.subTest(fields=fields):
                self.expect_error(COMPLETIONS, {"prompt": "a", "max_tokens": 1, **fields}, 400,
                                  param)

    def test_bad_quest_options(self):
        cases = [
            ({"budget": -1}, "quest.budget"),
            ({"budget": "many"}, "quest.budget"),
            ({"attention": "psychic"}, "quest.attention"),
            ({"semantics": "fast"}, "quest.semantics"),
            ({"gqa": "per-token"}, "quest.gqa"),
            ({"page_size": 32}, "quest.page_size"),  # the pool's page size is 16
            ({"kv_type": "q8_0"}, "quest.kv_type"),  # the pool holds f16
            ({"dense_layers": -3}, "quest.dense_layers"),
            ({"sink_pages": -1}, "quest.sink_pages"),
        ]
        for quest, param in cases:
            with self.subTest(quest=quest):
                self.expect_error(COMPLETIONS, {"prompt": "a", "max_tokens": 1, "quest": quest},
                                  400, param)
        err = self.expect_param_prefix(COMPLETIONS, {"prompt": "a", "quest": {"bogus": 1}},
                                       "quest")
        self.assertIn("bogus", err["message"] + err["param"], err)
        ok = self.server.post(COMPLETIONS, {"prompt": "a", "max_tokens": 1, "quest": {
            "attention": "dense", "page_size": 16, "kv_type": "f16"}})
        self.assertEqual(ok.status, 200, ok.text)

    def test_prompt_longer_than_context(self):
        prompt = kjv_text(100, 2000)
        n = count_prompt_tokens(prompt)
        self.assertGreater(n, CTX)
        r = self.server.post(COMPLETIONS, {"prompt": prompt, "max_tokens": 4})
        self.assertEqual(r.status, 400, r.text)
        err = r.json()["error"]
        self.assertEqual(err["code"], "context_length_exceeded", err)
        self.assertIn(str(n), err["message"])
        self.assertIn(str(CTX), err["message"])

    def test_prompt_plus_max_tokens_over_context(self):
        prompt = kjv_text(200, 940)  # ~220 tokens, so that filling the context is quick
        n = count_prompt_tokens(prompt)
        self.assertLess(n, CTX - 4)
        r = self.server.post(COMPLETIONS, {"prompt": prompt, "max_tokens": CTX - n + 1})
        self.assertEqual(r.status, 400, r.text)
        err = r.json()["error"]
        self.assertEqual(err["code"], "context_length_exceeded", err)
        self.assertIn(str(n), err["message"])
        self.assertIn(str(CTX), err["message"])
        # Exactly full is allowed.
        r = self.server.post(COMPLETIONS, {"prompt": prompt, "max_tokens": CTX - n})
        self.assertEqual(r.status, 200, r.text)

    def test_body_over_the_limit(self):
        body = json.dumps({"prompt": "a" * (MAX_BODY + 100), "max_tokens": 1})
        r = self.server.post(COMPLETIONS, body, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r.text[:300])
        # And the server still serves.
        r = self.server.post(COMPLETIONS, {"prompt": "a", "max_tokens": 1})
        self.assertEqual(r.status, 200, r.text)

    def test_errors_are_counted_by_status(self):
        before = self.server.metrics()["quest_requests_total"].get('{code="400"}', 0)
        self.server.post(COMPLETIONS, {"prompt": "a", "n": 2})
        after = self.server.metrics()["quest_requests_total"].get('{code="400"}', 0)
        self.assertEqual(after, before + 1)

    def test_openai_client_raises_bad_request(self):
        client = openai.OpenAI(base_url=self.server.base_url + "/v1", api_key="x",
                               max_retries=0)
        with self.assertRaises(openai.BadRequestError) as cm:
            client.completions.create(model=MODEL_ID, prompt="a", max_tokens=0)
        self.assertEqual(cm.exception.status_code, 400)
        with self.assertRaises(openai.NotFoundError):
            client.completions.create(model="nope", prompt="a", max_tokens=1)


class ServeFlagsTest(unittest.TestCase):
    def test_bad_flags_exit_2_naming_the_flag(self):
        cases = [(["--parallel", "0"], "--parallel"), (["--port", "70000"], "--port"),
                 (["--queue-size", "-1"], "--queue-size"), (["--ctx-size", "-5"], "--ctx-size"),
                 (["--max-body-bytes", "0"], "--max-body-bytes"), (["--budget", "-1"], "--budget"),
                 (["--attention", "psychic"], "--attention"), (["--temp", "-1"], "--temp"),
                 (["--no-such-flag"], "--no-such-flag")]
        for flags, named in cases:
            with self.subTest(flags=flags):
                port = [] if "--port" in flags else ["--port", "0"]
                r = subprocess.run([QUEST_BIN, "serve", "-m", QUEST_MODEL, *port, *flags],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(named, r.stderr)

    def test_missing_model_exits_2_naming_the_file(self):
        r = subprocess.run([QUEST_BIN, "serve", "-m", "/nonexistent/m.gguf", "--port", "0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("/nonexistent/m.gguf", r.stderr)


class ApiKeyTest(unittest.TestCase):
    KEY = "sk-test-4f1c"

    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--api-key", cls.KEY)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def test_health_needs_no_key(self):
        self.assertEqual(self.server.request("GET", "/health").status, 200)

    def test_requests_without_or_with_a_wrong_key_get_401(self):
        body = {"prompt": "a", "max_tokens": 1}
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": "Bearer " + self.KEY + "x"},
                        {"Authorization": "Bearer " + self.KEY[:-1]},
                        {"Authorization": self.KEY}):
            for method, path, b in (("POST", COMPLETIONS, body), ("GET", "/v1/models", None),
                                    ("GET", "/metrics", None)):
                with self.subTest(headers=headers, path=path):
                    r = self.server.request(method, path, b, headers)
                    self.assertEqual(r.status, 401, r.text)
                    self.assertEqual(r.json()["error"]["code"], "invalid_api_key")

    def test_the_right_key_is_served(self):
        auth = {"Authorization": "Bearer " + self.KEY}
        r = self.server.post(COMPLETIONS, {"prompt": "a", "max_tokens": 1}, headers=auth)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.server.request("GET", "/v1/models", headers=auth).status, 200)
        self.assertEqual(self.server.request("GET", "/metrics", headers=auth).status, 200)
        client = openai.OpenAI(base_url=self.server.base_url + "/v1", api_key=self.KEY,
                               max_retries=0)
        self.assertEqual(client.models.list().data[0].id, MODEL_ID)
        bad = openai.OpenAI(base_url=self.server.base_url + "/v1", api_key="nope", max_retries=0)
        with self.assertRaises(openai.AuthenticationError):
            bad.models.list()


if __name__ == "__main__":
    unittest.main()
