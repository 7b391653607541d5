#!/usr/bin/env python3
"""Writes the tokenizer and chat-template goldens in this directory.

Run with an oracle venv OUTSIDE the repository (never a quest dependency):
  python3 -m venv /root/oracle-venv
  /root/oracle-venv/bin/pip install transformers tokenizers sentencepiece protobuf jinja2 gguf numpy
  CMAKE_ARGS="-DGGML_NATIVE=OFF" /root/oracle-venv/bin/pip install llama-cpp-python
  /root/oracle-venv/bin/python tests/testdata/tokenizer/make_goldens.py models/

Oracles (see README.md): every text is encoded by two independent
implementations, llama.cpp (llama-cpp-python, `ids`: the expected ids, as
llama.cpp is the reference for GGUF tokenizer metadata) and transformers' GGUF
tokenizer converter on HF `tokenizers` (`hf_ids`, written only where it
differs from `ids`). Chat prompts are rendered by jinja2
from the GGUF's tokenizer.chat_template (Gemma's GGUF has none: the official
Gemma 3 template is kept in gemma3_chat_template.jinja).
"""
import json
import os
import sys

import gguf

HERE = os.path.dirname(os.path.abspath(__file__))

TEXTS = [
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n\n",
    " \n \n",
    "\t\tindented\n\t\tblock",
    "Hello world",
    " Hello world",
    "  Hello  world  ",
    "Hello, World! How are you?",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see they've done it, didn't they? We'd go.",
    "HELLO WORLD hello world HeLLo WoRlD",
    "0",
    "1234567890",
    " 3.14159 2.71828 -42 +7",
    "In 2024, 1,000,000 people paid $19.99 (or 20%).",
    "  1  22   333",
    "12345678901234567890123456789012345678901234567890",
    "x² + y³ = z½ ① Ⅻ",
    "café naïve résumé façade",
    "e\u0301 a\u0308 n\u0303 (combining marks)",
    "Ελληνικά Русский текст العربية עברית",
    "日本語のテキストです。中文文本。한국어 텍스트.",
    "emoji 🤖🚀👍🏽 family 👨‍👩‍👧 flag 🇫🇷",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "non\u00a0breaking space",
    "def f(x):\n    return x * 2  # double\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "#include <stdio.h>\nint main() { printf(\"%d\\n\", 42); }",
    "<html><body><table><tr><td>cell</td></tr></table></body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "https://example.com/path?query=1&b=two#frag",
    "user@example.org, ftp://files.example.net/a_b-c.tar.gz",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
    "!!!???...,,,;;;:::---___===+++",
    "''' \"\"\" ``` ~~~ ^^^ |||",
    "a" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Mixed\tTabs\tand  spaces\n\nand newlines\r\nwith CRLF",
    "line1\nline2\n\nline4\n\n\n\nline8",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos>",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>after",
    "<unk> <pad> <mask>",
    "not special: <start_of_turn <|im_start| </s>",
    "<<<>>> <0x41> <0xFF>",
    "▁ already escaped ▁▁ spaces",
    "Ġ Ċ ĉ byte-level characters",
    "\u2581\u2581x",
    "\x00\x01\x02 control \x7f chars",
    "trailing spaces   ",
    "  leading spaces",
    "The year 1999 and the 21st century; 3rd, 4th.",
    "Σ(x_i)^2 / n ≈ 0.5 ± 0.1 → ∞ ≤ ≥ ≠",
    "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ　１２３",
]


def field_value(f):
    t = f.types
    if t[0] == gguf.GGUFValueType.ARRAY:
        if t[-1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i].tolist()[0] for i in f.data]
    if t[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]].tolist()[0]


def metadata(path):
    r = gguf.GGUFReader(path)
    return {k: field_value(f) for k, f in r.fields.items()
            if k.startswith("tokenizer") or k == "general.architecture"}


def hf_encoder(path):
    """transformers' GGUF tokenizer converter, fed by the gguf package (its own
    reader needs torch). Returns encode(text, parse_special) with BOS added as
    tokenizer.ggml.add_bos_token says (the converted backend adds none)."""
    from transformers.integrations.gguf.gguf_tokenizer_mapping import (
        GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer)
    md = metadata(path)
    grouped = {g: {n: md[f"tokenizer.{k}"] for k, n in ren.items() if f"tokenizer.{k}" in md}
               for g, ren in GGUF_TOKENIZER_MAPPING.items()}
    tok, cfg = grouped["tokenizer"], grouped["tokenizer_config"]
    if tok.get("tokenizer_type") == "llama":
        cfg.setdefault("add_bos_token", True)
    backend, _ = convert_gguf_tokenizer(md["general.architecture"], tok)
    bos = [tok["bos_token_id"]] if cfg.get("add_bos_token") else []

    def encode(text, parse_special):
        backend.encode_special_tokens = not parse_special
        return bos + backend.encode(text, add_special_tokens=False).ids
    return encode


def llama_cpp_encoder(path):
    import llama_cpp
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)

    def encode(text, parse_special):
        return llm.tokenize(text.encode("utf-8"), add_bos=True, special=parse_special)
    return encode


def write_tokens(name, encode, cross_check):
    cases = []
    for text in TEXTS:
        for parse_special in (True, False):
            ids = [int(i) for i in encode(text, parse_special)]
            case = {"text": text, "parse_special": parse_special, "ids": ids}
            hf_ids = [int(i) for i in cross_check(text, parse_special)]
            if hf_ids != ids:
                case["hf_ids"] = hf_ids
            cases.append(case)
    with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
        f.write("\n")


CONVERSATIONS = [
    ([{"role": "user", "content": "Hello!"}], True),
    ([{"role": "user", "content": "Hello!"}], False),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}], True),
    ([{"role": "user", "content": "  What is 2+2?\n"}, {"role": "assistant", "content": "4"},
      {"role": "user", "content": "And 3+3?"}], True),
    ([{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Good morning"},
      {"role": "assistant", "content": "Bonjour"}, {"role": "user", "content": "Thanks\n\n"}], False),
    ([{"role": "user", "content": "日本語で 🤖"}], True),
    ([], True),
    ([{"role": "assistant", "content": "I speak first"}], True),
    ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], True),
]


def write_chat(name, template, bos):
    import jinja2

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers renders
    env.globals["raise_exception"] = raise_exception
    compiled = env.from_string(template)
    cases = []
    for messages, gen in CONVERSATIONS:
        case = {"messages": messages, "add_generation_prompt": gen}
        try:
            case["expected"] = compiled.render(messages=messages, add_generation_prompt=gen,
                                               bos_token=bos)
        except jinja2.exceptions.TemplateError as e:
            case["error"] = str(e)
        cases.append(case)
    with open(os.path.join(HERE, name + "_chat.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else "models"
    gemma = os.path.join(models, "gemma-3-270m-q4_k_m.gguf")
    smol = os.path.join(models, "smollm2-135m-instruct-q4_1.gguf")
    write_tokens("gemma3", llama_cpp_encoder(gemma), hf_encoder(gemma))
    write_tokens("smollm2", llama_cpp_encoder(smol), hf_encoder(smol))
    with open(os.path.join(HERE, "gemma3_chat_template.jinja"), encoding="utf-8") as f:
        write_chat("gemma3", f.read(), "<bos>")
    write_chat("smollm2", metadata(smol)["tokenizer.chat_template"], "<|im_start|>")


if __name__ == "__main__":
    main()
