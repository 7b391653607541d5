#!/usr/bin/env python3
"""Writes the dequantization fixtures for quest_quant_tests: one random row per
ggml weight type, dequantized by gguf-py (an implementation independent of
quest's), so DequantizeRowRef / DequantizeRow are checked against a second
reading of ggml's block layouts.

Usage (from the repository root, with the project venv):
  .venv/bin/python src/kernels/quant/testdata/make_fixtures.py

File <type>.bin, little-endian:
  u32 magic 'QFIX' (0x58494651), u32 ggml type id, u32 cols,
  row bytes (cols / block_size * type_size), cols x f32 expected values.
"""
import pathlib
import struct

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

SEED = 20240607
MAGIC = 0x58494651

# Byte offsets of the f16 scales inside each block: these are overwritten with
# finite values in a sane range (random bytes would give inf/nan scales).
SCALE_OFFSETS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
# Values per row: a few blocks of each type, a few KB per file.
COLS = {T.F32: 96, T.F16: 160, T.BF16: 160, T.Q4_0: 256, T.Q4_1: 256, T.Q5_0: 256,
        T.Q5_1: 256, T.Q8_0: 256, T.Q4_K: 768, T.Q5_K: 768, T.Q6_K: 768}


def random_row(qtype, cols, rng):
    if qtype == T.F32:
        return rng.uniform(-4, 4, cols).astype("<f4").tobytes()
    if qtype == T.F16:
        v = rng.uniform(-4, 4, cols).astype("<f2")
        v[0] = np.float16(3.0e-6)  # a subnormal half
        return v.tobytes()
    if qtype == T.BF16:
        bits = rng.uniform(-4, 4, cols).astype("<f4").view("<u4") >> 16
        return bits.astype("<u2").tobytes()
    block, size = GGML_QUANT_SIZES[qtype]
    data = bytearray(rng.integers(0, 256, cols // block * size, dtype=np.uint8).tobytes())
    for b in range(cols // block):
        for k, off in enumerate(SCALE_OFFSETS[qtype]):
            scale = rng.uniform(-0.1, 0.1) if k == 0 else rng.uniform(-0.05, 0.05)
            if b == 0 and k == 0:
                scale = 4.0e-6  # subnormal half: exercises the slow conversion path
            struct.pack_into("<e", data, b * size + off, scale)
    return bytes(data)


def main():
    out_dir = pathlib.Path(__file__).resolve().parent
    rng = np.random.default_rng(SEED)
    for qtype, cols in COLS.items():
        row = random_row(qtype, cols, rng)
        want = dequantize(np.frombuffer(row, dtype=np.uint8), qtype).astype("<f4").reshape(-1)
        assert want.size == cols and np.all(np.isfinite(want)), qtype
        name = qtype.name.lower().replace("_k", "_K")
        path = out_dir / f"{name}.bin"
        path.write_bytes(struct.pack("<III", MAGIC, int(qtype), cols) + row + want.tobytes())
        print(f"{path.name}: type {int(qtype)}, {cols} values, {len(row)} row bytes")


if __name__ == "__main__":
    main()
