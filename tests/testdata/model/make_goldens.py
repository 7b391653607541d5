"""Logit and greedy-generation goldens for quest's model tests, from llama.cpp.

Run with the oracle venv described in README.md (llama-cpp-python is never a
quest dependency):
    /root/oracle-venv/bin/python tests/testdata/model/make_goldens.py models/
Writes gemma3.json and smollm2.json beside this script: for a few prompts, the
token ids (llama.cpp's tokenization), the top-5 (id, logit) at chosen
positions, and 32 greedy tokens after the prompt.

    /root/oracle-venv/bin/python tests/testdata/model/make_goldens.py --tiny build/release/quest
writes tiny_<preset>.json for each reference_tiny_<preset>.json: the same
make-model file, token ids and positions, through llama.cpp.

    python3 tests/testdata/model/make_goldens.py --tiny-server LLAMA_SERVER build/release/quest [PRESET...]
does the same through a llama-server binary of the same llama.cpp tree (no
Python bindings needed): log-probabilities of the raw logits (the server's
n_probs with post_sampling_probs off), one request per position, and the
greedy tokens. The sampled token at each position is forced by logit_bias to
an ASCII byte token, because the server drops the probabilities of a token
that ends in an incomplete UTF-8 sequence; the raw logits it reports are
those before any bias.

    python3 tests/testdata/model/make_goldens.py --tiny-server LLAMA_SERVER build/release/quest q4_k_m
does the same on the files written with `--type q4_k_m` (every matrix Q4_K or
Q6_K), into tiny_q4_k_m_<preset>.json, without the tokenizer cases (the
vocabulary does not depend on the weight type).
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
try:  # the oracle venv; --tiny-server needs only a llama-server binary
    from llama_cpp import Llama
except ImportError:
    Llama = None

MODELS = {
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
    "smollm2": "smollm2-135m-instruct-q4_1.gguf",
}

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
    "Once upon a time, in a small village by the sea, there lived",
]


def long_prompt():
    # About 2K tokens of varied text, so positions up to 2K are checked.
    words = ("the grass is green and the sky is blue while the sun is yellow; "
             "rivers run to the sea, numbers like 1234 and 56789 appear, "
             "and Paris, Tokyo and Lagos are cities. ")
    return (words * 60).strip()


def main(models_dir):
    out_dir = Path(__file__).parent
    for name, file in MODELS.items():
        llm = Llama(model_path=str(Path(models_dir) / file), n_ctx=4096, logits_all=True,
                    n_threads=2, verbose=False, seed=0)
        cases = []
        for text in PROMPTS + [long_prompt()]:
            tokens = llm.tokenize(text.encode(), add_bos=True, special=False)
            tokens = tokens[:2048]
            llm.reset()
            llm.eval(tokens)
            n = len(tokens)
            positions = sorted({0, n // 2, n - 1} | ({511, 1023, 2047} & set(range(n))))
            top = []
            for p in positions:
                logits = np.array(llm.scores[p], dtype=np.float64)
                ids = np.argsort(-logits)[:5]
                top.append({"position": int(p),
                            "top5": [[int(i), float(logits[i])] for i in ids]})
            greedy = []
            if n < 600:  # greedy continuation for the short prompts
                llm.reset()
                llm.eval(tokens)
                for _ in range(32):
                    nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
                    greedy.append(nxt)
                    llm.eval([nxt])
            cases.append({"text": text, "tokens": [int(t) for t in tokens], "logits": top,
                          "greedy": greedy})
        (out_dir / f"{name}.json").write_text(json.dumps(
            {"model": file, "oracle": "llama-cpp-python 0.3.36 (llama.cpp, CPU)", "cases": cases},
            indent=1))
        print(name, "done")


def top5(llm, positions):
    out = []
    for p in positions:
        logits = np.array(llm.scores[p], dtype=np.float64)
        ids = np.argsort(-logits)[:5]
        out.append({"position": int(p), "top5": [[int(i), float(logits[i])] for i in ids]})
    return out


def main_tiny(quest):
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        for ref_file in sorted(here.glob("reference_tiny_*.json")):
            ref = json.loads(ref_file.read_text())
            mm = ref["make_model"]
            path = str(Path(tmp) / (mm["preset"] + ".gguf"))
            subprocess.run([quest, "make-model", "--preset", mm["preset"], "--tiny", "--seed",
                            str(mm["seed"]), "--type", mm["type"], "-o", path], check=True)
            llm = Llama(model_path=path, n_ctx=1024, logits_all=True, n_threads=2,
                        verbose=False, seed=0)
            cases = []
            for c in ref["cases"]:
                tokens = c["tokens"]
                llm.reset()
                llm.eval(tokens)
                top = top5(llm, [at["position"] for at in c["logits"]])
                greedy = []
                for _ in range(32):
                    nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
                    greedy.append(nxt)
                    llm.eval([nxt])
                cases.append({"tokens": tokens, "logits": top, "greedy": greedy})
            (here / ref_file.name.replace("reference_", "")).write_text(json.dumps(
                {"make_model": mm, "oracle": "llama-cpp-python 0.3.36 (llama.cpp, CPU)",
                 "cases": cases}, indent=1))
            del llm
            print(mm["preset"], "done", flush=True)


def post(port, request):
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/completion",
                                 data=json.dumps(request).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def wait_healthy(port, proc):
    import time
    import urllib.request
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("llama-server exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
                if json.loads(r.read()).get("status") == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("llama-server did not start")


def tokenize_cases(port):
    """llama.cpp's ids for the varied strings of the tokenizer goldens (no
    special tokens added, special tokens not parsed)."""
    import urllib.request
    texts = [c["text"] for c in json.loads(
        (Path(__file__).parent.parent / "tokenizer" / "smollm2.json").read_text())
        if not c["parse_special"]]
    out = []
    for t in texts:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/tokenize",
                                     data=json.dumps({"content": t, "add_special": False,
                                                      "parse_special": False}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            out.append({"text": t, "ids": json.loads(r.read())["tokens"]})
    return out


WEIGHT_TYPES = ("f16", "q8_0", "q4_0", "q4_k", "q4_k_m")


def start_server(server, path, port, context):
    proc = subprocess.Popen([server, "-m", path, "--port", str(port), "-t", "2", "-c",
                             str(context), "-np", "1", "--no-warmup", "-fa", "off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, proc)
    except RuntimeError:
        proc.terminate()
        proc.wait()
        raise
    return proc


def server_case(port, c):
    ascii_bias = [[97, 100.0], [100, 100.0]]  # bytes 'a' / 'd' (BPE), '^' / 'a' (SentencePiece)
    tokens = c["tokens"]
    top = []
    for at in c["logits"]:
        p = at["position"]
        d = post(port, {"prompt": tokens[:p + 1], "n_predict": 1, "temperature": 0,
                        "n_probs": 5, "cache_prompt": False, "post_sampling_probs": False,
                        "logit_bias": ascii_bias})
        probs = d["completion_probabilities"][0]["top_logprobs"]
        top.append({"position": p,
                    "top5": [[int(t["id"]), float(t["logprob"])] for t in probs]})
    d = post(port, {"prompt": tokens, "n_predict": 32, "temperature": 0, "top_k": 1,
                    "cache_prompt": False, "return_tokens": True})
    # Up to 32: the server stops at an end-of-generation token (its ignore_eos
    # would bias those to -inf, changing the argmax).
    out = {"tokens": tokens, "logits": top, "greedy": d["tokens"]}
    if "context" in c:
        out["context"] = c["context"]
    return out


def main_tiny_server(server, quest, weight_type=None, only=None, port=18931):
    """A case that names its context (LongRoPE: the context picks the factor
    set) gets a server of that context (-c); the others share one of 1024."""
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        for ref_file in sorted(here.glob("reference_tiny_*.json")):
            ref = json.loads(ref_file.read_text())
            if ref.get("sliding_window"):
                continue  # llama.cpp ignores a llama file's sliding window
            mm = dict(ref["make_model"])
            if only and mm["preset"] not in only:
                continue
            if weight_type:
                mm["type"] = weight_type
            path = str(Path(tmp) / (mm["preset"] + ".gguf"))
            subprocess.run([quest, "make-model", "--preset", mm["preset"], "--tiny", "--seed",
                            str(mm["seed"]), "--type", mm["type"], "-o", path], check=True)
            cases = []
            tokenized = None
            for context in sorted({c.get("context", 1024) for c in ref["cases"]} | {1024}):
                proc = start_server(server, path, port, context)
                try:
                    for i, c in enumerate(ref["cases"]):
                        if c.get("context", 1024) == context:
                            cases.append((i, server_case(port, c)))
                    if context == 1024 and not weight_type:
                        tokenized = tokenize_cases(port)
                finally:
                    proc.terminate()
                    proc.wait()
            golden = {"make_model": mm, "values": "logprobs"}
            if tokenized is not None:
                golden["tokenize"] = tokenized
            golden["oracle"] = ("llama-server of the llama.cpp tree vendored in llama-cpp-python "
                                "0.3.36 (CPU, f16 KV cache, flash attention off)")
            golden["cases"] = [c for _, c in sorted(cases, key=lambda ic: ic[0])]
            name = ref_file.name.replace("reference_tiny_", "tiny_" + (
                weight_type + "_" if weight_type else ""))
            (here / name).write_text(json.dumps(golden, indent=1))
            print(mm["preset"], "done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--tiny":
        main_tiny(sys.argv[2])
    elif sys.argv[1] == "--tiny-server":
        # --tiny-server SERVER QUEST [WEIGHT_TYPE] [PRESET...]
        rest = sys.argv[4:]
        weight_type = rest.pop(0) if rest and rest[0] in WEIGHT_TYPES else None
        main_tiny_server(sys.argv[2], sys.argv[3], weight_type, rest)
    else:
        main(sys.argv[1])
