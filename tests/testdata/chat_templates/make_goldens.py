#!/usr/bin/env python3
"""Writes goldens.json: the chat templates in this directory rendered by jinja2.

  python3 tests/testdata/chat_templates/make_goldens.py

Needs only jinja2 (Debian: python3-jinja2). The environment is the one
transformers' apply_chat_template builds (chat_template_utils.py):
ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
loopcontrols extension, a tojson filter that is json.dumps(ensure_ascii=False),
and the globals raise_exception and strftime_now (here at a fixed time, which
the C++ test passes too). Each template gets every conversation below, with
add_generation_prompt as given, and the bos/eos token texts of its model.
"""
import datetime
import json
import os

import jinja2
import jinja2.ext
import jinja2.sandbox

HERE = os.path.dirname(os.path.abspath(__file__))
GEMMA3 = os.path.join(HERE, "..", "tokenizer", "gemma3_chat_template.jinja")

# 2024-07-26 12:00 UTC; the C++ test renders strftime_now at this instant.
NOW_UNIX = 1721995200
NOW = datetime.datetime.fromtimestamp(NOW_UNIX)

# template file -> (bos_token, eos_token) of its model (tokenizer_config.json).
TEMPLATES = {
    "Qwen-Qwen2.5-7B-Instruct.jinja": ("", "<|im_end|>"),
    "Qwen-Qwen3-0.6B.jinja": ("", "<|im_end|>"),
    "meta-llama-Llama-3.1-8B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": ("<s>", "</s>"),
    "microsoft-Phi-3.5-mini-instruct.jinja": ("<s>", "<|endoftext|>"),
    "HuggingFaceTB-SmolLM2-135M-Instruct.jinja": ("<|im_start|>", "<|im_end|>"),
    GEMMA3: ("<bos>", "<eos>"),
    # Further families, for the constructs they use (macros, indent, dictsort, strftime_now).
    "Qwen-QwQ-32B.jinja": ("", "<|im_end|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja":
        ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "google-gemma-2-2b-it.jinja": ("<bos>", "<eos>"),
    "Mistral-Small-3.2-24B-Instruct-2506.jinja": ("<s>", "</s>"),
    "ibm-granite-granite-3.3-2B-Instruct.jinja": ("<|end_of_text|>", "<|end_of_text|>"),
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": ("<|begin_of_text|>", "<|im_end|>"),
    "CohereForAI-c4ai-command-r-plus-tool_use.jinja": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "ByteDance-Seed-OSS.jinja": ("<seed:bos>", "<seed:eos>"),
}


def sys(c):
    return {"role": "system", "content": c}


def user(c):
    return {"role": "user", "content": c}


def bot(c):
    return {"role": "assistant", "content": c}


CONVERSATIONS = [
    ([user("Hello!")], True),
    ([user("Hello!")], False),
    ([sys("You are terse."), user("Hi")], True),
    ([sys("You are terse."), user("Hi")], False),
    ([user("  What is 2+2?\n"), bot("4"), user("And 3+3?")], True),
    ([sys("Answer in French."), user("Good morning"), bot("Bonjour"), user("Thanks\n\n"),
      bot(" De rien. ")], False),
    ([user("Line one\nline two\n\n\ttabbed \\ backslash \"quotes\" 'single'")], True),
    ([user("日本語で 🤖 — café, Ελληνικά, emoji 👍🏽")], True),
    ([user("{{ not a tag }} {% neither %} <|im_end|> [INST] </s>")], True),
    ([user("")], True),
    ([sys("  padded system  \n")], True),
    ([user("Why?"), bot("<think>\nBecause.\n</think>\n\nIt is so."), user("Sure?")], True),
    ([user("Q"), bot("A"), user("Q2"), bot("<think>\nhmm\n</think>\n\nA2")], False),
    ([], True),
    ([bot("I speak first")], True),
    ([user("a"), user("b")], True),
    ([sys("S1"), sys("S2"), user("u")], True),
]


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = NOW.strftime
    return env


def main():
    env = environment()
    out = {"now_unix": NOW_UNIX, "templates": []}
    for path, (bos, eos) in TEMPLATES.items():
        with open(os.path.join(HERE, path), encoding="utf-8") as f:
            compiled = env.from_string(f.read())
        cases = []
        for messages, gen in CONVERSATIONS:
            case = {"messages": messages, "add_generation_prompt": gen}
            try:
                case["expected"] = compiled.render(messages=messages, add_generation_prompt=gen,
                                                   bos_token=bos, eos_token=eos)
            except jinja2.exceptions.TemplateError as e:
                case["error"] = str(e)
            cases.append(case)
        out["templates"].append({"file": os.path.relpath(os.path.join(HERE, path), HERE),
                                 "bos_token": bos, "eos_token": eos, "cases": cases})
    with open(os.path.join(HERE, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
