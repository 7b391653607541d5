"""Many sequences at once: requests decoded together give the text each gives alone, a full
queue answers 503 with Retry-After, and a reader that stops reading stalls no other stream."""
import json
import socket
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from quest_server import QuestServer, kjv_text, send_queue_bytes, streamed_text

N = 16


def prompts(k):
    # Different lengths, so that the batch mixes prefill and decode steps.
    return [kjv_text(1000 + 700 * i, 200 + 300 * i) for i in range(k)]


class BatchingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--parallel", "4")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def complete(self, prompt, stream=False):
        body = {"prompt": prompt, "max_tokens": N, "temperature": 0}
        if not stream:
            r = self.server.post("/v1/completions", body)
            self.assertEqual(r.status, 200, r.text)
            return r.json()["choices"][0]["text"]
        s = self.server.open_stream("/v1/completions", {**body, "stream": True})
        try:
            self.assertEqual(s.status, 200)
            return streamed_text(s.events(), chat=False)[0]
        finally:
            s.close()

    def chat(self, prompt):
        r = self.server.post("/v1/chat/completions", {
            "messages": [{"role": "user", "content": prompt}], "max_tokens": N})
        self.assertEqual(r.status, 200, r.text)
        return r.json()["choices"][0]["message"]["content"]

    def test_four_at_once_equal_each_alone(self):
        ps = prompts(4)
        alone = [self.complete(p) for p in ps]
        for stream in (False, True):
            with ThreadPoolExecutor(4) as pool:
                together = list(pool.map(lambda p: self.complete(p, stream), ps))
            for i in range(4):
                self.assertEqual(together[i], alone[i], f"prompt {i}, stream={stream}")
        m = self.server.wait_idle()
        self.assertEqual(m["quest_kv_pages_used"], 0)

    def test_chat_and_completions_mixed(self):
        questions = ["What is the capital of France?", "Count from one to five.",
                     "Say hello in Spanish."]
        doc = prompts(1)[0]
        alone = [self.chat(q) for q in questions] + [self.complete(doc)]
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(self.chat, q) for q in questions]
            futures.append(pool.submit(self.complete, doc))
            together = [f.result() for f in futures]
        self.assertEqual(together, alone)


class QueueTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--parallel", "1", "--queue-size", "1")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def wait_metric(self, name, value, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.metrics()[name] == value:
                return
            time.sleep(0.05)
        self.fail(f"{name} never reached {value}: {self.server.metrics()}")

    def test_third_request_gets_503_with_retry_after(self):
        body = {"prompt": kjv_text(0, 300), "max_tokens": 2000, "stream": True}
        running = self.server.open_stream("/v1/completions", body)
        self.assertIsNotNone(running.next_event())  # it holds the only slot
        waiting = self.server.open_stream("/v1/completions", body, wait_headers=False)
        try:
            self.wait_metric("quest_sequences_queued", 1)
            r = self.server.post("/v1/completions", {"prompt": "a", "max_tokens": 1})
            self.assertEqual(r.status, 503, r.text)
            self.assertIn("retry-after", r.headers)
            self.assertGreaterEqual(int(r.headers["retry-after"]), 1)
            err = r.json()["error"]
            self.assertEqual(err["code"], "queue_full", err)
            r = self.server.post("/v1/chat/completions", {
                "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1})
            self.assertEqual(r.status, 503, r.text)
            self.assertEqual(self.server.metrics()["quest_requests_total"]['{code="503"}'], 2)
        finally:
            running.close()
        # The queued one then gets the slot and streams.
        self.assertIsInstance(waiting.next_event(), dict)
        self.assertEqual(waiting.status, 200)
        waiting.close()
        m = self.server.wait_idle()
        self.assertEqual(m["quest_kv_pages_used"], 0)
        self.assertEqual(m["quest_sequences_queued"], 0)
        r = self.server.post("/v1/completions", {"prompt": "a", "max_tokens": 1})
        self.assertEqual(r.status, 200, r.text)


class SlowReaderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = QuestServer("--parallel", "2")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def timed_stream(self, max_tokens):
        t0 = time.monotonic()
        s = self.server.open_stream("/v1/completions", {
            "prompt": kjv_text(5000, 300), "max_tokens": max_tokens, "stream": True})
        try:
            events = s.events()
        finally:
            s.close()
        self.assertEqual(events[-1], "[DONE]")
        return time.monotonic() - t0, streamed_text(events, chat=False)[0]

    def wait_unread(self, client_port, nbytes, timeout=60.0):
        """Waits until the server has written nbytes the client has not read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queued = send_queue_bytes(self.server.port, client_port) or 0
            if queued >= nbytes:
                return
            time.sleep(0.1)
        self.fail(f"the slow reader's stream never queued {nbytes} bytes: {queued}")

    def test_a_reader_that_stops_does_not_stall_others(self):
        alone_s, alone_text = self.timed_stream(32)
        # A raw client with a tiny receive window that reads nothing while its stream decodes.
        # Its window closes at once; the server's send buffer for it grows to megabytes on
        # loopback, more than a test can fill, so this checks that tokens for a reader that
        # has stopped never wait on it in the scheduler, not the blocking of a full socket.
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        slow.connect((self.server.host, self.server.port))
        body = json.dumps({"prompt": kjv_text(0, 300), "max_tokens": 4000,
                           "stream": True}).encode()
        slow.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        try:
            self.wait_unread(slow.getsockname()[1], 8192)
            self.assertEqual(self.server.metrics()["quest_sequences_active"], 1)
            result = {}
            t = threading.Thread(target=lambda: result.update(r=self.timed_stream(32)))
            t.start()
            t.join(timeout=60)
            self.assertFalse(t.is_alive(), "a stream stalled behind a reader that stopped")
            took, text = result["r"]
            self.assertEqual(text, alone_text)
            # Sharing the batch with one more sequence costs some speed, never a stall.
            self.assertLess(took, 3 * alone_s + 2, f"alone {alone_s:.2f} s, with it {took:.2f} s")
        finally:
            slow.close()
        m = self.server.wait_idle(timeout=5)
        self.assertEqual(m["quest_kv_pages_used"], 0, m)


if __name__ == "__main__":
    unittest.main()
