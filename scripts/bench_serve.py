#!/usr/bin/env python3
"""Load generator for any OpenAI-compatible server (quest serve, llama.cpp's llama-server):
streaming completions at several concurrencies, reporting aggregate decode tok/s and p50/p99
time to first token (TTFT) and inter-token latency (ITL); or, with --prefix-cache, the TTFT of
two questions about the same long document, one after the other.

  scripts/bench_serve.py --url http://127.0.0.1:8080 --concurrency 1,4,8,16 \
      --prompt-tokens 128 --max-tokens 128 [--json]
  scripts/bench_serve.py --url http://127.0.0.1:8080 --prefix-cache --doc-tokens 16384

Prompts are King James Bible text (data/kjv.txt), sized to the wanted token count by asking
the server itself (usage.prompt_tokens of a one-token completion). Every stream gets its own
text, so that no prompt is served from another's prefix cache. Only the standard library.
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Server:
    """Minimal HTTP client for one OpenAI-compatible base URL."""

    def __init__(self, url, api_key=None, timeout=600):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.prefix = u.path.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = "Bearer " + api_key

    def _conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def get_json(self, path):
        c = self._conn()
        try:
            c.request("GET", self.prefix + path, headers=self.headers)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {path}: {r.status} {body[:300]!r}")
            return json.loads(body)
        finally:
            c.close()

    def post_json(self, path, body):
        c = self._conn()
        try:
            c.request("POST", self.prefix + path, body=json.dumps(body), headers=self.headers)
            r = c.getresponse()
            data = r.read()
            if r.status != 200:
                raise RuntimeError(f"POST {path}: {r.status} {data[:300]!r}")
            return json.loads(data)
        finally:
            c.close()

    def stream(self, path, body):
        """One streaming request, timed. Returns a dict: ok, status, t_send, event times of
        the text pieces, completion and prompt tokens from usage when the server sent it."""
        out = {"ok": False, "status": None, "piece_times": [], "usage": None, "finish": None}
        c = self._conn()
        try:
            out["t_send"] = time.perf_counter()
            c.request("POST", self.prefix + path, body=json.dumps(body), headers=self.headers)
            r = c.getresponse()
            out["status"] = r.status
            if r.status != 200:
                out["error"] = r.read()[:300].decode("utf-8", "replace")
                return out
            while True:
                line = r.readline()
                if not line:
                    break
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    out["ok"] = True
                    break
                now = time.perf_counter()
                event = json.loads(data)
                if event.get("usage"):
                    out["usage"] = event["usage"]
                for choice in event.get("choices") or []:
                    piece = choice.get("text")
                    if piece is None:
                        piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        out["piece_times"].append(now)
                    if choice.get("finish_reason"):
                        out["finish"] = choice["finish_reason"]
        except (OSError, http.client.HTTPException, ValueError) as e:
            out["error"] = f"{type(e).__name__}: {e}"
        finally:
            c.close()
        return out


class Corpus:
    """Text from data/kjv.txt, cut at any character offset, sized in tokens by the server."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.chars_per_token = None

    def slice(self, offset, n_chars):
        offset %= len(self.text) - n_chars - 1
        return self.text[offset:offset + n_chars]

    def calibrate(self, server, model, offset=0):
        """chars/token of this text for the server's tokenizer, from a ~1K-token sample (small
        enough for a llama-server slot, which holds --ctx-size / --parallel tokens)."""
        sample = self.slice(offset, 4000)
        r = server.post_json("/v1/completions", {"model": model, "prompt": sample,
                                                 "max_tokens": 1})
        self.chars_per_token = len(sample) / r["usage"]["prompt_tokens"]

    def prompt(self, offset, tokens):
        return self.slice(offset, max(1, int(tokens * self.chars_per_token)))


def percentile(values, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def request_body(args, model, prompt):
    body = {"model": model, "max_tokens": args.max_tokens, "stream": True, "temperature": 0,
            "stream_options": {"include_usage": True}}
    if args.ignore_eos:
        body["ignore_eos"] = True  # llama-server honours it; quest serve ignores unknown fields
    if args.endpoint == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    return body


def endpoint_path(args):
    return "/v1/chat/completions" if args.endpoint == "chat" else "/v1/completions"


def run_level(server, corpus, args, model, concurrency, offset0):
    """concurrency streams at once, each running args.rounds requests back to back."""
    results, lock = [], threading.Lock()
    barrier = threading.Barrier(concurrency)
    stride = int(args.prompt_tokens * corpus.chars_per_token) + 7919

    def worker(w):
        barrier.wait()
        for k in range(args.rounds):
            offset = offset0 + (w * args.rounds + k) * stride
            res = server.stream(endpoint_path(args),
                                request_body(args, model, corpus.prompt(offset, args.prompt_tokens)))
            with lock:
                results.append(res)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return summarize(results, concurrency, wall), offset0 + concurrency * args.rounds * stride


def summarize(results, concurrency, wall):
    ok = [r for r in results if r["ok"] and r["piece_times"]]
    ttft = [(r["piece_times"][0] - r["t_send"]) * 1e3 for r in ok]
    itl = [(b - a) * 1e3 for r in ok for a, b in zip(r["piece_times"], r["piece_times"][1:])]
    tokens = [r["usage"]["completion_tokens"] if r["usage"] else len(r["piece_times"])
              for r in ok]
    prompt_tokens = [r["usage"]["prompt_tokens"] for r in ok if r["usage"]]
    # Decode throughput: tokens after each stream's first, over the span from the earliest
    # first token to the latest last token (prefill before the first token is excluded).
    decode_tokens = sum(max(0, n - 1) for n in tokens)
    span = (max(r["piece_times"][-1] for r in ok) - min(r["piece_times"][0] for r in ok)
            if ok else 0)
    return {
        "concurrency": concurrency,
        "requests": len(results),
        "failed": len(results) - len(ok),
        "errors": sorted({str(r.get("error") or r["status"]) for r in results if r not in ok})[:3],
        "stopped_early": sum(1 for r in ok if r["finish"] == "stop"),
        "prompt_tokens_mean": statistics.mean(prompt_tokens) if prompt_tokens else None,
        "completion_tokens": sum(tokens),
        "wall_s": wall,
        "total_tok_s": sum(tokens) / wall if wall > 0 else 0,
        "decode_tok_s": decode_tokens / span if span > 0 else 0,
        "ttft_p50_ms": percentile(ttft, 50),
        "ttft_p99_ms": percentile(ttft, 99),
        "itl_p50_ms": percentile(itl, 50),
        "itl_p99_ms": percentile(itl, 99),
    }


def print_table(rows, out=sys.stdout):
    cols = [("conc", "concurrency", "d"), ("reqs", "requests", "d"), ("fail", "failed", "d"),
            ("early", "stopped_early", "d"), ("prompt", "prompt_tokens_mean", ".0f"),
            ("gen", "completion_tokens", "d"), ("wall s", "wall_s", ".1f"),
            ("decode tok/s", "decode_tok_s", ".1f"), ("total tok/s", "total_tok_s", ".1f"),
            ("TTFT p50 ms", "ttft_p50_ms", ".0f"), ("TTFT p99 ms", "ttft_p99_ms", ".0f"),
            ("ITL p50 ms", "itl_p50_ms", ".1f"), ("ITL p99 ms", "itl_p99_ms", ".1f")]
    cells = [[h for h, _, _ in cols]]
    for row in rows:
        cells.append(["-" if row[k] is None else format(row[k], f) for _, k, f in cols])
    widths = [max(len(r[i]) for r in cells) for i in range(len(cols))]
    for r in cells:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)), file=out)
    for row in rows:
        if row["errors"]:
            print(f"concurrency {row['concurrency']}: errors {row['errors']}", file=out)


def prefix_cache(server, corpus, args, model):
    """TTFT of two questions about one document, asked one after the other."""
    # A quarter into the corpus: away from the throughput runs' prompts, which start at
    # --offset, so that the first question finds nothing of the document cached.
    doc = corpus.prompt(args.offset + len(corpus.text) // 4, args.doc_tokens)
    questions = ["\n\nQuestion: Which person is named first in the text above?\nAnswer:",
                 "\n\nQuestion: Which place is named last in the text above?\nAnswer:"]
    rows = []
    for q in questions:
        body = request_body(args, model, doc + q)
        body["max_tokens"] = args.max_tokens
        r = server.stream(endpoint_path(args), body)
        if not r["ok"] or not r["piece_times"]:
            raise RuntimeError(f"request failed: {r.get('error') or r['status']}")
        usage = r["usage"] or {}
        details = usage.get("prompt_tokens_details") or {}
        rows.append({"ttft_ms": (r["piece_times"][0] - r["t_send"]) * 1e3,
                     "prompt_tokens": usage.get("prompt_tokens"),
                     "cached_tokens": details.get("cached_tokens")})
    return {"doc_tokens_requested": args.doc_tokens, "first": rows[0], "second": rows[1],
            "ttft_ratio": rows[0]["ttft_ms"] / rows[1]["ttft_ms"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080", help="server base URL")
    p.add_argument("--model", help="model id (default: the first of /v1/models)")
    p.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"))
    p.add_argument("--endpoint", choices=["completions", "chat"], default="completions")
    p.add_argument("--concurrency", default="1,4,8,16", help="comma-separated stream counts")
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--rounds", type=int, default=1, help="requests per stream, back to back")
    p.add_argument("--no-ignore-eos", dest="ignore_eos", action="store_false",
                   help="do not send ignore_eos (on by default, for fixed-length outputs)")
    p.add_argument("--warmup", type=int, default=1, help="untimed requests first")
    p.add_argument("--offset", type=int, default=0,
                   help="where in the corpus the prompts start (vary it between runs of a "
                        "server that keeps a prefix cache)")
    p.add_argument("--prefix-cache", action="store_true",
                   help="measure the TTFT of a second question about the same document")
    p.add_argument("--doc-tokens", type=int, default=16384)
    p.add_argument("--corpus", default=os.path.join(REPO, "data", "kjv.txt"))
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args()
    for name in ("prompt_tokens", "max_tokens", "rounds", "doc_tokens"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    try:
        levels = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        p.error(f"--concurrency {args.concurrency!r}: expected integers like 1,4,8")
    if any(c < 1 for c in levels):
        p.error(f"--concurrency {args.concurrency!r}: every level must be >= 1")

    server = Server(args.url, args.api_key)
    model = args.model or server.get_json("/v1/models")["data"][0]["id"]
    corpus = Corpus(args.corpus)
    # Calibrate far from the measured text, so that its pages are not in any cache.
    corpus.calibrate(server, model, offset=len(corpus.text) // 2 + args.offset)

    if args.prefix_cache:
        args.max_tokens = min(args.max_tokens, 16)
        result = {"url": args.url, "model": model, **prefix_cache(server, corpus, args, model)}
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            f, s = result["first"], result["second"]
            print(f"document ~{args.doc_tokens} tokens ({f['prompt_tokens']} with the question)")
            print(f"first question:  TTFT {f['ttft_ms']:.0f} ms (cached {f['cached_tokens']})")
            print(f"second question: TTFT {s['ttft_ms']:.0f} ms (cached {s['cached_tokens']})")
            print(f"ratio {result['ttft_ratio']:.1f}x")
        return

    offset = args.offset
    for _ in range(args.warmup):
        server.stream(endpoint_path(args), request_body(
            args, model, corpus.prompt(len(corpus.text) // 3 + offset, args.prompt_tokens)))
    rows = []
    for c in levels:
        row, offset = run_level(server, corpus, args, model, c, offset)
        rows.append(row)
        if not args.json:
            print(f"# concurrency {c}: done in {row['wall_s']:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps({"url": args.url, "model": model, "endpoint": args.endpoint,
                          "prompt_tokens": args.prompt_tokens, "max_tokens": args.max_tokens,
                          "ignore_eos": args.ignore_eos, "rows": rows}, indent=1))
    else:
        print(f"{model} at {args.url}: {args.endpoint}, prompt ~{args.prompt_tokens} tokens, "
              f"max_tokens {args.max_tokens}, ignore_eos {args.ignore_eos}")
        print_table(rows)


if __name__ == "__main__":
    main()
