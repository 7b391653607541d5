"""Faults: a client that disconnects mid-stream has its sequence cancelled and its pages
returned, and SIGTERM lets in-flight requests finish before exiting with code 0."""
import threading
import time
import unittest

from quest_server import QuestServer, kjv_text, streamed_text


def wait_for(predicate, timeout):
    """Polls predicate() until it is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


class DisconnectTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--parallel", "4")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def check_disconnect(self, path, body):
        # Two identical greedy streams: the one that stays connected shows that the one
        # that disconnects would still be decoding if it were not cancelled.
        body = {**body, "max_tokens": 1000, "stream": True, "temperature": 0}
        leaving = self.server.open_stream(path, body)
        staying = self.server.open_stream(path, body)
        times = []
        for s in (leaving, staying):
            self.assertEqual(s.status, 200)
            for _ in range(4):
                self.assertIsInstance(s.next_event(), dict)
                times.append(time.monotonic())
        self.assertEqual(self.server.metrics()["quest_sequences_active"], 2)
        # A few decode steps, at least 2 s: the server learns of the close when a write
        # fails, a token or two after it. Not cancelled, it would decode ~1000 steps more.
        step = (times[-1] - times[-3]) / 2
        leaving.close()
        m = wait_for(lambda: self.server.metrics()["quest_sequences_active"] == 1,
                     max(2.0, 5 * step))
        self.assertTrue(m, f"the disconnected sequence still decodes: {self.server.metrics()}")
        more = staying.next_event()
        self.assertIsInstance(more, dict)
        self.assertIsNone(more["choices"][0]["finish_reason"])
        staying.close()
        idle = self.server.wait_idle(timeout=2.0)
        self.assertEqual(idle["quest_sequences_active"], 0, idle)
        self.assertEqual(idle["quest_kv_pages_used"], 0, idle)
        self.assertEqual(idle["quest_kv_pages_used"] + idle["quest_kv_pages_cached"]
                         + idle["quest_kv_pages_free"], idle["quest_kv_pages_total"])
        self.assertTrue(self.server.alive())

    def test_completion_stream_disconnect(self):
        self.check_disconnect("/v1/completions", {"prompt": kjv_text(2000, 1500)})

    def test_chat_stream_disconnect(self):
        self.check_disconnect("/v1/chat/completions", {"messages": [
            {"role": "user", "content": "Write a very long story about a lighthouse keeper."}]})

    def test_disconnect_during_prefill(self):
        # A ~6K-token prompt, closed before any answer came. Prefill takes a few seconds here;
        # decoding its 1000 tokens would take far longer than the 10 s allowed.
        s = self.server.open_stream("/v1/completions", {
            "prompt": kjv_text(9000, 24000), "max_tokens": 1000, "stream": True},
            wait_headers=False)
        self.assertTrue(wait_for(
            lambda: self.server.metrics()["quest_sequences_active"] == 1, 5.0))
        s.close()
        idle = self.server.wait_idle(timeout=10.0)
        self.assertEqual(idle["quest_sequences_active"], 0, idle)
        self.assertEqual(idle["quest_kv_pages_used"], 0, idle)
        r = self.server.post("/v1/completions", {"prompt": "a", "max_tokens": 1})
        self.assertEqual(r.status, 200, r.text)


class SigtermTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_requests_and_exits_0(self):
        # A drain long enough for a machine busy with other work.
        with QuestServer("--parallel", "2", "--drain-seconds", "300") as server:
            n = 40
            results = {}

            def whole():
                results["whole"] = server.post("/v1/completions", {
                    "prompt": kjv_text(300, 400), "max_tokens": n})

            def streamed():
                s = server.open_stream("/v1/completions", {
                    "prompt": kjv_text(600, 400), "max_tokens": n, "stream": True,
                    "stream_options": {"include_usage": True}})
                results["stream"] = s.events()
                s.close()

            threads = [threading.Thread(target=whole), threading.Thread(target=streamed)]
            for t in threads:
                t.start()
            self.assertTrue(wait_for(
                lambda: server.metrics()["quest_sequences_active"] == 2, 30.0),
                server.metrics())
            code = server.terminate_and_wait(timeout=45)
            for t in threads:
                t.join(timeout=10)
            self.assertEqual(code, 0, server.log())
            r = results["whole"]
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.json()["usage"]["completion_tokens"], n)
            events = results["stream"]
            self.assertEqual(events[-1], "[DONE]")
            self.assertEqual(events[-2]["usage"]["completion_tokens"], n)
            self.assertEqual(streamed_text(events, chat=False)[1], "length")

    def test_sigterm_cuts_in_flight_requests_after_the_drain(self):
        with QuestServer("--drain-seconds", "1") as server:
            result = {}
            t = threading.Thread(target=lambda: result.update(r=server.post(
                "/v1/completions", {"prompt": kjv_text(900, 300), "max_tokens": 2000})))
            t.start()
            self.assertTrue(wait_for(
                lambda: server.metrics()["quest_sequences_active"] == 1, 30.0))
            code = server.terminate_and_wait(timeout=20)
            t.join(timeout=10)
            self.assertEqual(code, 0, server.log())
            self.assertFalse(t.is_alive(), "the request in flight never ended")
            r = result["r"]
            self.assertEqual(r.status, 200, r.text)
            self.assertLess(r.json()["usage"]["completion_tokens"], 2000)

    def test_sigterm_when_idle_exits_0_promptly(self):
        with QuestServer() as server:
            t0 = time.monotonic()
            code = server.terminate_and_wait(timeout=10)
            self.assertEqual(code, 0, server.log())
            self.assertLess(time.monotonic() - t0, 5)


if __name__ == "__main__":
    unittest.main()
