"""Starts and stops a real `quest serve` on a free loopback port for the server tests,
and speaks to it over plain HTTP (status codes, headers, SSE events, /metrics).

The binary, the model and the repository come from the environment that ctest sets:
QUEST_BIN, QUEST_MODEL, QUEST_REPO.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

QUEST_BIN = os.environ.get("QUEST_BIN", "build/release/quest")
QUEST_REPO = os.environ.get("QUEST_REPO", os.getcwd())
QUEST_MODEL = os.environ.get(
    "QUEST_MODEL", os.path.join(QUEST_REPO, "models", "gemma-3-270m-q4_k_m.gguf"))
MODEL_ID = os.path.basename(QUEST_MODEL)[: -len(".gguf")]

_LISTENING = re.compile(r"quest serve: listening on http://([0-9.]+):(\d+)")


class QuestServer:
    """One `quest serve` process. Use as a context manager: the process is always
    killed on exit, and its stderr is kept (self.log()) for failure messages."""

    def __init__(self, *flags, model=QUEST_MODEL, start_timeout=120.0):
        self.flags = [str(f) for f in flags]
        self.model = model
        self.start_timeout = start_timeout
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self._log = []
        self._listening = threading.Event()

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()

    def start(self):
        cmd = [QUEST_BIN, "serve", "-m", self.model, "--host", self.host, "--port", "0",
               *self.flags]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, errors="replace")
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            self._wait_listening()
            self._wait_healthy()
        except BaseException:
            self.kill()
            raise

    def _read_stderr(self):
        for line in self.proc.stderr:
            self._log.append(line)
            m = _LISTENING.search(line)
            if m and not self._listening.is_set():
                self.port = int(m.group(2))
                self._listening.set()

    def _wait_listening(self):
        deadline = time.monotonic() + self.start_timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                raise RuntimeError(f"quest serve exited with {self.proc.returncode} before "
                                   f"listening:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"quest serve printed no 'listening on' line:\n{self.log()}")

    def _wait_healthy(self):
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"quest serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/health").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"/health never answered 200:\n{self.log()}")
            time.sleep(0.1)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def terminate_and_wait(self, timeout):
        """SIGTERM, then the exit code (None if it did not exit within timeout)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        return "".join(self._log[-80:])

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}"

    # -- HTTP --------------------------------------------------------------------------
    def connection(self, timeout=120.0):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=120.0):
        """One request; returns a Response (status, headers, parsed JSON or text)."""
        conn = self.connection(timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        finally:
            conn.close()

    def post(self, path, body, headers=None, timeout=120.0):
        return self.request("POST", path, body, headers, timeout)

    def open_stream(self, path, body, headers=None, timeout=120.0, wait_headers=True):
        """Sends a streaming POST and returns an SseStream; with wait_headers, positioned
        after the response headers (a server may send them only with the first token), else
        right after the request was sent."""
        conn = self.connection(timeout)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request("POST", path, body=json.dumps(body), headers=hdrs)
        s = SseStream(conn)
        if wait_headers:
            s.wait_headers()
        return s

    def metrics(self, headers=None):
        r = self.request("GET", "/metrics", headers=headers)
        if r.status != 200:
            raise RuntimeError(f"/metrics answered {r.status}: {r.text}")
        return parse_metrics(r.text)

    def wait_idle(self, timeout=5.0):
        """Polls /metrics until no sequence holds pages; returns the last metrics."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if (m["quest_kv_pages_used"] == 0 and m["quest_sequences_active"] == 0
                    and m["quest_sequences_queued"] == 0):
                return m
            if time.monotonic() > deadline:
                return m
            time.sleep(0.05)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)


class SseStream:
    """Reads `data: ...` events of a server-sent-event response one at a time."""

    def __init__(self, conn):
        self.conn = conn
        self.response = None
        self.status = None
        self.headers = None

    def wait_headers(self):
        if self.response is None:
            self.response = self.conn.getresponse()
            self.status = self.response.status
            self.headers = {k.lower(): v for k, v in self.response.getheaders()}

    def next_event(self):
        """The next event's data (a dict, or the string "[DONE]"), or None at the end."""
        self.wait_headers()
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode("utf-8").rstrip("\r\n")
            if not line.startswith("data:"):
                continue  # the blank separator line, or an SSE comment
            data = line[len("data:"):].strip()
            return data if data == "[DONE]" else json.loads(data)

    def events(self):
        """Every remaining event up to and including [DONE]."""
        out = []
        while True:
            e = self.next_event()
            if e is None:
                return out
            out.append(e)
            if e == "[DONE]":
                return out

    def close(self):
        self.conn.close()


def send_queue_bytes(server_port, client_port):
    """Bytes the server has written to a loopback connection that its client has not yet
    acknowledged (tx_queue in /proc/net/tcp), or None if the connection is not listed."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == server_port
                    and int(remote.split(":")[1], 16) == client_port):
                return int(fields[4].split(":")[0], 16)
    return None


def parse_metrics(text):
    """Prometheus text -> {name: value} for unlabelled samples and
    {name: {labels: value}} for labelled ones."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$", line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        name, labels, value = m.group(1), m.group(2), float(m.group(3))
        if labels:
            out.setdefault(name, {})[labels] = value
        else:
            out[name] = value
    return out


def streamed_text(events, chat):
    """The concatenated text of a stream's chunks, and the finish_reason."""
    text, finish = [], None
    for e in events:
        if e == "[DONE]" or not e["choices"]:
            continue
        c = e["choices"][0]
        if chat:
            text.append(c["delta"].get("content") or "")
        else:
            text.append(c.get("text") or "")
        finish = c.get("finish_reason") or finish
    return "".join(text), finish


def quest_generate(prompt, n, chat=False, extra=()):
    """`quest generate` with greedy decoding: the text it prints (stdout minus its final
    newline), which the server must reproduce."""
    cmd = [QUEST_BIN, "generate", "-m", QUEST_MODEL, "-p", prompt, "-n", str(n), "--temp", "0",
           *extra]
    if chat:
        cmd.append("--chat")
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} exited with {r.returncode}:\n{r.stderr.decode()}")
    out = r.stdout.decode("utf-8")
    assert out.endswith("\n"), repr(out)
    return out[:-1]


def count_prompt_tokens(prompt):
    """The prompt's token count as `quest generate` reports it (for a raw completion prompt)."""
    r = subprocess.run([QUEST_BIN, "generate", "-m", QUEST_MODEL, "-p", prompt, "-n", "0"],
                       capture_output=True, timeout=300)
    m = re.search(rb"prefill: (\d+) tokens", r.stderr)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"quest generate -n 0 failed:\n{r.stderr.decode()}")
    return int(m.group(1))


_KJV = None


def kjv_text(start_line, n_chars):
    """n_chars of the King James Bible from a line on: natural text that greedy decoding
    continues rather than ends."""
    global _KJV
    if _KJV is None:
        with open(os.path.join(QUEST_REPO, "data", "kjv.txt"), encoding="utf-8") as f:
            _KJV = f.read().splitlines()
    out, size, i = [], 0, start_line
    while size < n_chars:
        out.append(_KJV[i % len(_KJV)])
        size += len(out[-1]) + 1
        i += 1
    return "\n".join(out)[:n_chars]
