#!/usr/bin/env python3
"""Markdown table of an eval output directory's summary.json: one row per method
(with semantics / GQA mode / page size where they vary), one column per budget,
cells "value [ci_low, ci_high]" of one metric at one length (and depth "all").

Usage: summary_table.py OUT_DIR --metric accuracy|recall|ppl|ppl_increase_pct|kl_mean|top1_agreement
                        [--length N] [--digits 3]
"""
import argparse
import json
import os
from collections import OrderedDict


def label(r, vary):
    s = r["method"]
    if s not in ("quest", "oracle"):  # the settings vary only for page selection
        return s
    extra = [str(r[k]) for k in vary if r.get(k) not in (None, "")]
    return s + (" (" + ", ".join(extra) + ")" if extra else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--metric", required=True)
    ap.add_argument("--length", type=int)
    ap.add_argument("--digits", type=int, default=3)
    a = ap.parse_args()
    rows = json.load(open(os.path.join(a.out, "summary.json")))
    rows = [r for r in rows if r.get("metric") == a.metric]
    rows = [r for r in rows if r.get("depth", "all") in ("all", None, "")]
    if a.length is not None:
        rows = [r for r in rows if r.get("length") == a.length]
    vary = [k for k in ("semantics", "gqa", "page_size", "sink_pages")
            if len({r.get(k) for r in rows if r["method"] == "quest"}) > 1]
    budgets = sorted({r["budget"] for r in rows if r["budget"]})
    table = OrderedDict()
    for r in rows:
        table.setdefault(label(r, vary), {})[r["budget"]] = r
    f = f"{{:.{a.digits}f}}"
    print("| method | " + " | ".join(f"budget {b}" for b in budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    for name, cells in table.items():
        if 0 in cells:  # dense: the same in every column
            r = cells[0]
            c = f"{f.format(r['value'])} [{f.format(r['ci_low'])}, {f.format(r['ci_high'])}]"
            print(f"| {name} | " + " | ".join([c] * len(budgets)) + " |")
            continue
        out = []
        for b in budgets:
            r = cells.get(b)
            out.append("" if r is None else
                       f"{f.format(r['value'])} [{f.format(r['ci_low'])}, {f.format(r['ci_high'])}]")
        print(f"| {name} | " + " | ".join(out) + " |")
    n = {r.get("n") for r in rows}
    print(f"\n{a.metric}, 95% interval in brackets; n = {', '.join(str(x) for x in sorted(n))} per cell.")


if __name__ == "__main__":
    main()
