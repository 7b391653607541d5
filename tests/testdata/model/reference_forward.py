"""An independent float64 forward pass of llama, qwen2, qwen3, phi3 and gemma3
GGUF models in numpy, written from the architectures' definitions (Hugging
Face's modeling code: Qwen 2's q/k/v biases, Qwen 3's per-head q/k RMSNorm
before RoPE, Phi-3's fused qkv and gate_up projections, rotate-half RoPE for
all but llama, whose GGUF q/k rows are permuted for adjacent pairs; YaRN as
transformers' _compute_yarn_parameters; llama 3's rope_freqs tensor;
Phi-3's LongRoPE as transformers' _compute_longrope_parameters);
weights dequantized by the `gguf` package (gguf-py), not by quest. It makes
the goldens that quest's model tests compare against:
    .venv/bin/python tests/testdata/model/reference_forward.py models/
        reference_<model>.json for the real models, with the token ids of the
        llama.cpp goldens (<model>.json);
    .venv/bin/python tests/testdata/model/reference_forward.py --tiny build/release/quest
        reference_tiny_<preset>.json for each family's tiny make-model file
        (tiny_cases.py: presets, seed, token ids).
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np


def yarn(dim, base, factor, original_context, beta_fast=32.0, beta_slow=1.0):
    """transformers' _compute_yarn_parameters: (inv_freq, attention_factor)."""
    def correction_dim(rotations):
        return dim * math.log(original_context / (rotations * 2 * math.pi)) / (2 * math.log(base))
    low = max(math.floor(correction_dim(beta_fast)), 0)
    high = min(math.ceil(correction_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2) - low) / (high - low), 0, 1)
    pos_freqs = base ** (np.arange(0, dim, 2) / dim)
    extrapolation, interpolation = 1.0 / pos_freqs, 1.0 / (factor * pos_freqs)
    keep = 1 - ramp
    inv_freq = interpolation * (1 - keep) + extrapolation * keep
    attention_factor = 1.0 if factor <= 1 else 0.1 * math.log(factor) + 1.0
    return inv_freq, attention_factor


def longrope(dim, base, long_factor, short_factor, seq_len, context, original_context,
             attention_factor=None):
    """transformers' _compute_longrope_parameters: (inv_freq, attention_factor).
    The long factors when the sequence (seq_len, the largest position + 1)
    exceeds the original context, else the short ones; the attention factor
    (cos/sin magnitude) is the config's, else derived from context /
    original_context, whichever set is used."""
    factor = context / original_context
    if attention_factor is None:
        attention_factor = 1.0 if factor <= 1 else \
            math.sqrt(1 + math.log(factor) / math.log(original_context))
    ext = np.asarray(long_factor if seq_len > original_context else short_factor, np.float64)
    inv_freq = 1.0 / (ext * base ** (np.arange(0, dim, 2) / dim))
    return inv_freq, attention_factor


class Reference:
    def __init__(self, path):
        r = gguf.GGUFReader(path)
        self.t = {t.name: t for t in r.tensors}
        self.cache = {}
        f = lambda k: r.fields[k].contents()
        self.arch = a = f("general.architecture")
        self.gemma = a == "gemma3"
        has = lambda k: a + k in r.fields
        self.L = f(a + ".block_count")
        self.d = f(a + ".embedding_length")
        self.H = f(a + ".attention.head_count")
        self.KV = f(a + ".attention.head_count_kv")
        self.eps = f(a + ".attention.layer_norm_rms_epsilon")
        self.base = f(a + ".rope.freq_base")
        self.hd = f(a + ".attention.key_length") if a + ".attention.key_length" in r.fields \
            else self.d // self.H
        self.rot = f(a + ".rope.dimension_count") if has(".rope.dimension_count") else self.hd
        # Gemma 3: 5 of 6 layers local; llama (Mistral 7B v0.1): every layer.
        self.window = f(a + ".attention.sliding_window") \
            if has(".attention.sliding_window") and a in ("gemma3", "llama") else 0
        ctx = f(a + ".context_length")
        if self.window >= ctx:
            self.window = 0
        # Rotate-half ("NeoX") pairs (i, i + d/2): every family but llama.
        self.neox = a != "llama"
        # inv_freq[i] for pair i, and the cos/sin magnitude (YaRN).
        i = np.arange(self.rot // 2)
        self.inv_freq = self.base ** (-2.0 * i / self.rot)
        self.rope_mag = 1.0
        scaling = f(a + ".rope.scaling.type") if has(".rope.scaling.type") else "none"
        if "rope_freqs.weight" in self.t:  # llama 3: divisors of each frequency
            self.inv_freq = self.inv_freq / self.w("rope_freqs.weight")
        if scaling == "linear":
            self.inv_freq = self.inv_freq / f(a + ".rope.scaling.factor")
        elif scaling == "yarn":
            orig = f(a + ".rope.scaling.original_context_length") \
                if has(".rope.scaling.original_context_length") else ctx
            self.inv_freq, self.rope_mag = yarn(self.rot, self.base, f(a + ".rope.scaling.factor"),
                                                orig)
        elif scaling != "none":
            raise ValueError("rope scaling " + scaling)
        # LongRoPE (Phi-3 128K): the factor set depends on the sequence length,
        # so rope() computes the frequencies per call.
        self.longrope = None
        if "rope_factors_long.weight" in self.t:
            self.longrope = dict(
                long_factor=self.w("rope_factors_long.weight"),
                short_factor=self.w("rope_factors_short.weight"), context=ctx,
                original_context=f(a + ".rope.scaling.original_context_length"),
                attention_factor=f(a + ".rope.scaling.attn_factor")
                if has(".rope.scaling.attn_factor") else None)

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
        rot = self.rot
        inv = base ** (-2.0 * np.arange(rot // 2) / rot) if base != self.base else self.inv_freq
        mag = self.rope_mag
        if self.longrope is not None:
            inv, mag = longrope(rot, base, seq_len=int(pos.max()) + 1, **self.longrope)
        theta = pos[:, None] * inv
        c = np.cos(theta)[:, None, :] * mag
        s = np.sin(theta)[:, None, :] * mag
        out = x.copy()
        if self.gemma or self.neox:  # rotate (i, i + rot/2)
            a, b = x[..., : rot // 2], x[..., rot // 2: rot]
            out[..., : rot // 2], out[..., rot // 2: rot] = a * c - b * s, a * s + b * c
        else:  # llama GGUFs: adjacent pairs (2i, 2i+1)
            a, b = x[..., 0:rot:2], x[..., 1:rot:2]
            out[..., 0:rot:2], out[..., 1:rot:2] = a * c - b * s, a * s + b * c
        return out

    def qkv(self, p, h):
        n, H, KV, hd = len(h), self.H, self.KV, self.hd
        if self.arch == "phi3":  # one matrix: q rows, then k, then v
            qkv = h @ self.w(p + "attn_qkv.weight").T
            q, k, v = np.split(qkv, [H * hd, H * hd + KV * hd], axis=1)
        else:
            q = h @ self.w(p + "attn_q.weight").T
            k = h @ self.w(p + "attn_k.weight").T
            v = h @ self.w(p + "attn_v.weight").T
        if self.arch == "qwen2":
            q, k, v = (q + self.w(p + "attn_q.bias"), k + self.w(p + "attn_k.bias"),
                       v + self.w(p + "attn_v.bias"))
        return q.reshape(n, H, hd), k.reshape(n, KV, hd), v.reshape(n, KV, hd)

    def gate_up(self, p, h):
        if self.arch == "phi3":  # gate_up_proj: gate rows, then up rows
            return np.split(h @ self.w(p + "ffn_up.weight").T, 2, axis=1)
        return h @ self.w(p + "ffn_gate.weight").T, h @ self.w(p + "ffn_up.weight").T

    def hidden(self, toks):
        """Final-normed hidden states of every position."""
        n, d, H, KV, hd = len(toks), self.d, self.H, self.KV, self.hd
        x = self.w("token_embd.weight")[toks] * (np.sqrt(d) if self.gemma else 1.0)
        pos = np.arange(n, dtype=np.float64)
        causal = np.triu(np.full((n, n), -np.inf), 1)
        for l in range(self.L):
            p = f"blk.{l}."
            h = self.rms(x, self.w(p + "attn_norm.weight"))
            q, k, v = self.qkv(p, h)
            local = self.window > 0 and (not self.gemma or (l % 6) < 5)
            if self.gemma or self.arch == "qwen3":
                q = self.rms(q, self.w(p + "attn_q_norm.weight"))
                k = self.rms(k, self.w(p + "attn_k_norm.weight"))
            base = 10000.0 if local and self.gemma else self.base
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
            g, u = self.gate_up(p, h)
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


# The tiny families: make-model preset, and for each a short prompt and one of
# 300 tokens, which passes the scaled RoPE's original context (256 in tiny
# files) where the preset has one.
TINY_PRESETS = ["llama3.1-8b", "mistral-7b", "mistral-7b-v0.1", "qwen2.5-7b", "qwen3-8b",
                "phi3-mini", "phi3-mini-128k"]
TINY_SEED = 7


def tiny_tokens(n, salt):
    return [(i * 7919 + salt * 104729 + (i * i) % 31) % 700 + 3 for i in range(n)]


def tiny_case(ref, toks, positions):
    # context: what quest's test and llama-server give the sequence (prompt
    # + 40), which picks LongRoPE's factor set there; this pass picks it by
    # the sequence's length (transformers' rule), the same set for these cases.
    h = ref.hidden(toks)
    top = []
    for p in positions:
        lg = ref.logits(h[p])
        ids = np.argsort(-lg)[:5]
        top.append({"position": p, "top5": [[int(i), float(lg[i])] for i in ids]})
    seq, greedy = list(toks), []
    for _ in range(32):
        nxt = int(np.argmax(ref.logits(ref.hidden(seq)[-1])))
        greedy.append(nxt)
        seq.append(nxt)
    return {"tokens": toks, "context": len(toks) + 40, "logits": top, "greedy": greedy}


def main_tiny(quest, only=None):
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        for preset in only or TINY_PRESETS:
            path = str(Path(tmp) / (preset + ".gguf"))
            subprocess.run([quest, "make-model", "--preset", preset, "--tiny", "--seed",
                            str(TINY_SEED), "-o", path], check=True)
            ref = Reference(path)
            cases = [tiny_case(ref, tiny_tokens(8, 1), [0, 4, 7]),
                     tiny_case(ref, tiny_tokens(300, 2), [0, 150, 255, 256, 299])]
            (here / f"reference_tiny_{preset}.json").write_text(json.dumps(
                {"make_model": {"preset": preset, "tiny": True, "seed": TINY_SEED,
                                "type": "f16"}, "sliding_window": ref.window,
                 "oracle": "tests/testdata/model/reference_forward.py (numpy float64, gguf-py "
                           "dequantization)", "cases": cases}, indent=1))
            print(preset, "done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--tiny":
        main_tiny(sys.argv[2], sys.argv[3:])
    else:
        main(sys.argv[1])
