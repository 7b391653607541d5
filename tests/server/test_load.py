"""A bounded load test: 32 clients in two rounds of at most 25 s each, prompts of 100 to ~7.5K
tokens (some repeated, so the prefix cache is used and evicted), streaming and not, some
disconnecting mid-stream. No 5xx but 503, no crash, every page back afterwards, and the
server's resident memory no larger after the second round than after the first."""
import http.client
import json
import random
import threading
import time
import unittest

from quest_server import QuestServer, kjv_text

CLIENTS = 32
ROUND_S = 25.0
DOCUMENTS = 6  # repeated document starts, so that prefixes are shared
MAX_PROMPT_TOKENS = 7500  # + max_tokens stays under the default context of 8192


class LoadTest(unittest.TestCase):
    def setUp(self):
        self.server = QuestServer("--parallel", "4", "--queue-size", "8")
        self.server.start()
        self.lock = threading.Lock()
        self.statuses = {}
        self.disconnects = 0
        self.failures = []
        self.peak_rss_kib = 0

    def tearDown(self):
        self.server.kill()

    def chars_per_token(self):
        text = kjv_text(0, 4000)
        r = self.server.post("/v1/completions", {"prompt": text, "max_tokens": 1})
        self.assertEqual(r.status, 200, r.text)
        return len(text) / r.json()["usage"]["prompt_tokens"]

    def pick_request(self, rng, cpt):
        # Mostly short prompts, some long ones: a 2-core machine prefills ~1-2K tokens/s.
        u = rng.random()
        tokens = (rng.randint(100, 500) if u < 0.6 else rng.randint(500, 2000) if u < 0.9
                  else rng.randint(2000, MAX_PROMPT_TOKENS))
        start = rng.randrange(DOCUMENTS) * 5000 if rng.random() < 0.5 else rng.randrange(30000)
        text = kjv_text(start, int(tokens * cpt * 0.95))
        body = {"max_tokens": rng.randint(4, 24), "stream": rng.random() < 0.75}
        chat = rng.random() < 0.2
        if chat:
            body["messages"] = [{"role": "user", "content": text}]
        else:
            body["prompt"] = text
        disconnect_after = rng.randint(1, 3) if body["stream"] and rng.random() < 0.3 else None
        return ("/v1/chat/completions" if chat else "/v1/completions"), body, disconnect_after

    def one_request(self, path, body, disconnect_after):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=180)
        try:
            conn.request("POST", path, body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            with self.lock:
                self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            if r.status != 200:
                r.read()
                return float(r.getheader("Retry-After", "1")) if r.status == 503 else 0
            if disconnect_after is None:
                data = r.read()
                if body["stream"] and not data.rstrip().endswith(b"data: [DONE]"):
                    raise AssertionError(f"stream without [DONE]: {data[-200:]!r}")
                return 0
            events = 0
            while events < disconnect_after:
                line = r.readline()
                if not line:
                    break
                events += line.startswith(b"data:")
            with self.lock:
                self.disconnects += 1
            return 0
        finally:
            conn.close()

    def client(self, seed, cpt, deadline):
        rng = random.Random(seed)
        try:
            while time.monotonic() < deadline:
                wait = self.one_request(*self.pick_request(rng, cpt))
                if wait:  # a full queue: back off as Retry-After asks, jittered
                    time.sleep(max(0.0, min(wait, deadline - time.monotonic())) * (0.5 + rng.random()))
        except Exception as e:  # noqa: BLE001 - any client failure fails the test below
            with self.lock:
                self.failures.append(f"client {seed}: {type(e).__name__}: {e}")

    def sample_rss(self, stop):
        while not stop.is_set() and self.server.alive():
            try:
                self.peak_rss_kib = max(self.peak_rss_kib, self.server.rss_kib())
            except (OSError, RuntimeError):
                return  # the process is gone; run_round reports it
            stop.wait(0.25)

    def run_round(self, seed0, cpt):
        deadline = time.monotonic() + ROUND_S
        threads = [threading.Thread(target=self.client, args=(seed0 + i, cpt, deadline))
                   for i in range(CLIENTS)]
        stop = threading.Event()
        sampler = threading.Thread(target=self.sample_rss, args=(stop,))
        sampler.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=ROUND_S + 180)
            self.assertFalse(t.is_alive(), "a client hung")
        stop.set()
        sampler.join()
        self.assertTrue(self.server.alive(), f"the server died with exit status "
                        f"{self.server.proc.returncode}:\n{self.server.log()}")
        idle = self.server.wait_idle(timeout=5.0)
        self.assertEqual(idle["quest_sequences_active"], 0, idle)
        self.assertEqual(idle["quest_sequences_queued"], 0, idle)
        self.assertEqual(idle["quest_kv_pages_used"], 0, idle)
        self.assertEqual(idle["quest_kv_pages_cached"] + idle["quest_kv_pages_free"],
                         idle["quest_kv_pages_total"], idle)
        return self.server.rss_kib()

    def test_load(self):
        cpt = self.chars_per_token()
        rss_start = self.server.rss_kib()
        rss1 = self.run_round(0, cpt)
        rss2 = self.run_round(1000, cpt)
        summary = (f"statuses {self.statuses}, disconnects {self.disconnects}, RSS start "
                   f"{rss_start // 1024} MiB, after round 1 {rss1 // 1024} MiB, after round 2 "
                   f"{rss2 // 1024} MiB, peak {self.peak_rss_kib // 1024} MiB")
        print(summary)
        self.assertEqual(self.failures, [], summary)
        self.assertEqual(set(self.statuses) - {200, 503}, set(), summary)
        # Enough traffic to mean something even on a busy 2-core machine.
        self.assertGreaterEqual(self.statuses.get(200, 0), 20, summary)
        self.assertGreaterEqual(self.disconnects, 3, summary)
        m = self.server.metrics()
        self.assertGreater(m["quest_prefix_cache_hits_total"], 0, summary)
        # The pool and the weights are sized at start; the second round may not grow memory
        # beyond allocator slack, which a per-request leak would.
        self.assertLessEqual(rss2, rss1 * 1.10 + 64 * 1024, summary)
        self.assertLess(self.peak_rss_kib, 4 * 1024 * 1024, summary)


if __name__ == "__main__":
    unittest.main()
