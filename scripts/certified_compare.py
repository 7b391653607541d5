#!/usr/bin/env python3
"""Certified Quest against fixed-budget Quest at the same mean pages read.

Reads an eval output directory's summary.json holding fixed-budget Quest rows
(no "eps") at several budgets and certified rows ("eps", "pages_read_mean").
For each certified row: its metric, the fixed-budget metric interpolated at
the same mean pages per list (linear in log pages and log metric for kl_mean,
linear otherwise), and their ratio. Markdown on stdout.

Usage: certified_compare.py OUT_DIR [--metric kl_mean] [--length N]
"""
import argparse
import json
import math
import os


def interpolate(points, x, log_y):
    """points: sorted [(pages, value)]; value at pages x (None outside)."""
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            f = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            if log_y and y0 > 0 and y1 > 0:
                return math.exp(math.log(y0) + f * (math.log(y1) - math.log(y0)))
            return y0 + f * (y1 - y0)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--metric", default="kl_mean")
    ap.add_argument("--length", type=int)
    a = ap.parse_args()
    rows = json.load(open(os.path.join(a.out, "summary.json")))
    rows = [r for r in rows if r.get("metric") == a.metric and r["method"] == "quest"]
    rows = [r for r in rows if r.get("depth", "all") in ("all", None, "")]
    if a.length is not None:
        rows = [r for r in rows if r.get("length") == a.length]
    fixed = sorted((r["budget"] / r["page_size"], r["value"]) for r in rows if "eps" not in r)
    cert = sorted((r for r in rows if "eps" in r), key=lambda r: -r["eps"])
    log_y = a.metric == "kl_mean"
    print(f"| eps | first round | pages read (mean) | capped | T mean | T max | {a.metric} "
          f"| fixed Quest at same pages | fixed / certified |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in cert:
        pages = r.get("pages_read_mean")
        f = interpolate(fixed, pages, log_y) if pages else None
        ratio = f / r["value"] if f is not None and r["value"] > 0 else None
        print(f"| {r['eps']:g} | {r['budget']} | {pages:.1f} | {r.get('capped_share', 0):.3f} "
              f"| {r.get('certified_tail_mean', 0):.3f} | {r.get('certified_tail_max', 0):.3f} "
              f"| {r['value']:.4g} | {'-' if f is None else f'{f:.4g}'} "
              f"| {'-' if ratio is None else f'{ratio:.2f}x'} |")
    print()
    print("fixed Quest: " + ", ".join(f"{p:g} pages {v:.4g}" for p, v in fixed))


if __name__ == "__main__":
    main()
