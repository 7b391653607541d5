"""An independent float64 forward pass of llama and gemma3 GGUF models in numpy,
written from the architectures' definitions; weights dequantized by the `gguf`
package (gguf-py), not by quest. It makes the goldens that quest's model tests
compare against (reference_<model>.json):
    .venv/bin/python tests/testdata/model/reference_forward.py models/
Uses the same token ids as the llama.cpp goldens (<model>.json).
"""
import json
import sys
from pathlib import Path

import gguf
import numpy as np


class Reference:
    def __init__(self, path):
        r = gguf.GGUFReader(path)
        self.t = {t.name: t for t in r.tensors}
        f = lambda k: r.fields[k].contents()
        self.arch = a = f("general.architecture")
        self.gemma = a == "gemma3"
        self.L = f(a + ".block_count")
        self.d = f(a + ".embedding_length")
        self.H = f(a + ".attention.head_count")
        self.KV = f(a + ".attention.head_count_kv")
        self.eps = f(a + ".attention.layer_norm_rms_epsilon")
        self.base = f(a + ".rope.freq_base")
        self.hd = f(a + ".attention.key_length") if a + ".attention.key_length" in r.fields \
            else self.d // self.H
        self.window = f(a + ".attention.sliding_window") if self.gemma else 0
        self.cache = {}

    def w(self, name):
        if name not in self.cache:
            t = self.t[name]
            x = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)
            shape = [int(s) for s in reversed(t.shape)]
            self.cache[name] = x.reshape(shape) if len(shape) > 1 else x.reshape(-1)
        return self.cache[name]

    def rms(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * w

    def rope(self, x, pos, base):
        hd = self.hd
        i = np.arange(hd // 2)
        theta = pos[:, None] * base ** (-2.0 * i / hd)
        c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
        out = np.empty_like(x)
        if self.gemma:  # rotate (i, i + hd/2)
            a, b = x[..., : hd // 2], x[..., hd // 2:]
            out[..., : hd // 2], out[..., hd // 2:] = a * c - b * s, a * s + b * c
        else:  # llama GGUFs: adjacent pairs (2i, 2i+1)
            a, b = x[..., 0::2], x[..., 1::2]
            out[..., 0::2], out[..., 1::2] = a * c - b * s, a * s + b * c
        return out

    def hidden(self, toks):
        """Final-normed hidden states of every position."""
        n, d, H, KV, hd = len(toks), self.d, self.H, self.KV, self.hd
        x = self.w("token_embd.weight")[toks] * (np.sqrt(d) if self.gemma else 1.0)
        pos = np.arange(n, dtype=np.float64)
        causal = np.triu(np.full((n, n), -np.inf), 1)
        for l in range(self.L):
            p = f"blk.{l}."
            h = self.rms(x, self.w(p + "attn_norm.weight"))
            q = (h @ self.w(p + "attn_q.weight").T).reshape(n, H, hd)
            k = (h @ self.w(p + "attn_k.weight").T).reshape(n, KV, hd)
            v = (h @ self.w(p + "attn_v.weight").T).reshape(n, KV, hd)
            local = self.gemma and (l % 6) < 5
            if self.gemma:
                q = self.rms(q, self.w(p + "attn_q_norm.weight"))
                k = self.rms(k, self.w(p + "attn_k_norm.weight"))
            base = 10000.0 if local else self.base
            q, k = self.rope(q, pos, base), self.rope(k, pos, base)
            mask = causal.copy()
            if local:  # key j visible to query i when i - j < window
                mask[np.subtract.outer(np.arange(n), np.arange(n)) >= self.window] = -np.inf
            out = np.zeros((n, H, hd))
            for hh in range(H):
                s = q[:, hh] @ k[:, hh // (H // KV)].T / np.sqrt(hd) + mask
                pr = np.exp(s - s.max(-1, keepdims=True))
                pr /= pr.sum(-1, keepdims=True)
                out[:, hh] = pr @ v[:, hh // (H // KV)]
            o = out.reshape(n, H * hd) @ self.w(p + "attn_output.weight").T
            if self.gemma:
                o = self.rms(o, self.w(p + "post_attention_norm.weight"))
            x = x + o
            h = self.rms(x, self.w(p + "ffn_norm.weight"))
            g = h @ self.w(p + "ffn_gate.weight").T
            u = h @ self.w(p + "ffn_up.weight").T
            if self.gemma:  # GELU, tanh approximation
                a = 0.5 * g * (1 + np.tanh(0.7978845608028654 * (g + 0.044715 * g ** 3))) * u
            else:  # SiLU
                a = g / (1 + np.exp(-g)) * u
            o = a @ self.w(p + "ffn_down.weight").T
            if self.gemma:
                o = self.rms(o, self.w(p + "post_ffw_norm.weight"))
            x = x + o
        return self.rms(x, self.w("output_norm.weight"))

    def logits(self, h):
        out = self.w("output.weight") if "output.weight" in self.t else self.w("token_embd.weight")
        return out @ h


def main(models_dir):
    here = Path(__file__).parent
    for name in ["gemma3", "smollm2"]:
        golden = json.loads((here / f"{name}.json").read_text())
        ref = Reference(str(Path(models_dir) / golden["model"]))
        cases = []
        for c in golden["cases"]:
            toks = c["tokens"]
            h = ref.hidden(toks)
            top = []
            for at in c["logits"]:
                lg = ref.logits(h[at["position"]])
                ids = np.argsort(-lg)[:5]
                top.append({"position": at["position"],
                            "top5": [[int(i), float(lg[i])] for i in ids]})
            greedy = []
            if c["greedy"]:
                seq = list(toks)
                for _ in range(32):
                    nxt = int(np.argmax(ref.logits(ref.hidden(seq)[-1])))
                    greedy.append(nxt)
                    seq.append(nxt)
            cases.append({"text": c["text"], "tokens": toks, "logits": top, "greedy": greedy})
            print(name, len(toks), "tokens done", flush=True)
        (here / f"reference_{name}.json").write_text(json.dumps(
            {"model": golden["model"],
             "oracle": "tests/testdata/model/reference_forward.py (numpy float64, gguf-py "
                       "dequantization)", "cases": cases}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
