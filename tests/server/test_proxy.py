"""Two replicas of `quest serve` behind HAProxy with docs/haproxy.cfg, on loopback: both
replicas serve, each document keeps to one replica, and a repeated document hits that
replica's prefix cache."""
import os
import shutil
import socket
import subprocess
import time
import unittest
import urllib.request

import openai

from quest_server import MODEL_ID, QUEST_REPO, QuestServer, kjv_text

CONFIG = os.path.join(QUEST_REPO, "docs", "haproxy.cfg")
REPLICAS = ("replica1", "replica2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not os.path.exists(haproxy):
            raise RuntimeError("haproxy is not installed (scripts/setup.sh installs it)")
        cls.replicas = {}
        cls.proxy = None
        try:
            for name in REPLICAS:
                cls.replicas[name] = QuestServer("--threads", "1", "--parallel", "2")
                cls.replicas[name].start()
            cls.port = free_port()
            env = dict(os.environ, QUEST_PROXY_BIND=f"127.0.0.1:{cls.port}",
                       QUEST_REPLICA_1=f"127.0.0.1:{cls.replicas['replica1'].port}",
                       QUEST_REPLICA_2=f"127.0.0.1:{cls.replicas['replica2'].port}")
            cls.proxy = subprocess.Popen([haproxy, "-db", "-f", CONFIG], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            cls.base_url = f"http://127.0.0.1:{cls.port}"
            cls.wait_proxy_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proxy and cls.proxy.poll() is None:
            cls.proxy.kill()
            cls.proxy.wait()
        for r in cls.replicas.values():
            r.kill()

    @classmethod
    def wait_proxy_up(cls):
        # The replicas answered /health before HAProxy started, so both start up in it.
        deadline = time.monotonic() + 30
        while True:
            if cls.proxy.poll() is not None:
                raise RuntimeError("haproxy exited: " + cls.proxy.stderr.read().decode())
            try:
                with urllib.request.urlopen(cls.base_url + "/health", timeout=5) as r:
                    if r.status == 200 and r.headers["X-Quest-Replica"] in REPLICAS:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("HAProxy never answered /health")
            time.sleep(0.2)

    def complete(self, prompt, max_tokens=1):
        client = openai.OpenAI(base_url=self.base_url + "/v1", api_key="unused", max_retries=0)
        raw = client.completions.with_raw_response.create(model=MODEL_ID, prompt=prompt,
                                                          max_tokens=max_tokens)
        return raw.headers["x-quest-replica"], raw.parse()

    def ok_count(self, name):
        return self.replicas[name].metrics().get("quest_requests_total", {}).get('{code="200"}', 0)

    def test_documents_spread_and_repeat_on_their_replica(self):
        # Documents until both replicas have one; each replica's own counter confirms the
        # header the proxy adds.
        homes = {}
        for i in range(16):
            doc = kjv_text(4000 + 1500 * i, 2000)
            before = {n: self.ok_count(n) for n in REPLICAS}
            name, _ = self.complete(doc + "\nWho is named first?")
            after = {n: self.ok_count(n) for n in REPLICAS}
            self.assertEqual({n: after[n] - before[n] for n in REPLICAS},
                             {n: int(n == name) for n in REPLICAS})
            homes.setdefault(name, doc)
            if len(homes) == 2:
                break
        self.assertEqual(set(homes), set(REPLICAS), "every document went to one replica")

        for name, doc in homes.items():
            hits = {n: self.replicas[n].metrics()["quest_prefix_cache_hits_total"]
                    for n in REPLICAS}
            again, r = self.complete(doc + "\nWho is named last?")
            self.assertEqual(again, name, "a repeated document moved to another replica")
            self.assertGreater(r.usage.prompt_tokens_details.cached_tokens,
                               r.usage.prompt_tokens // 2)
            for n in REPLICAS:
                after = self.replicas[n].metrics()["quest_prefix_cache_hits_total"]
                self.assertEqual(after - hits[n], int(n == name), n)

    def test_chat_streams_through_the_proxy(self):
        doc = kjv_text(20000, 3000)
        client = openai.OpenAI(base_url=self.base_url + "/v1", api_key="unused", max_retries=0)
        answers = []
        for question in ("Summarise this.", "Who speaks here?"):
            stream = client.chat.completions.create(
                model=MODEL_ID, max_tokens=4, stream=True,
                stream_options={"include_usage": True},
                messages=[{"role": "user", "content": doc + "\n\n" + question}])
            chunks = list(stream)
            self.assertIsNotNone(chunks[-1].usage)
            answers.append(chunks[-1].usage)
        self.assertEqual(answers[0].prompt_tokens_details.cached_tokens, 0)
        self.assertGreater(answers[1].prompt_tokens_details.cached_tokens,
                           answers[1].prompt_tokens // 2)


if __name__ == "__main__":
    unittest.main()
