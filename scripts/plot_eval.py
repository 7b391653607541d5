#!/usr/bin/env python3
"""Plots of one evaluation output directory (summary.json, rows.jsonl, curves.json).

Usage: plot_eval.py OUT_DIR [--to DIR]   (PNGs go to OUT_DIR/plots by default)

Writes, skipping any plot whose data is absent:
  accuracy_vs_budget_<task>.png  accuracy / recall vs budget, one panel per length, a line per method
  heatmap_<task>_<method>_b<budget>.png  mean score over length x depth (from rows.jsonl)
  ppl_vs_position.png            cumulative perplexity vs position with its interval (curves.json)
  <metric>_vs_budget.png         kl_mean / top1_agreement / ppl vs budget, a panel per length
Methods without a budget (dense) are drawn as horizontal dashed lines.
"""
import argparse
import json
import math
import os
import sys
from collections import defaultdict

os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SAMPLE_KEYS = {"seed", "sample", "expected", "answer", "score", "seconds", "needle_token"}


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def load_rows(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by a killed run
    return rows


def wilson(successes, n, z=1.96):
    if n == 0:
        return 0.0, 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, center - half), min(1.0, center + half)


def mean_se(xs, z=1.96):
    n = len(xs)
    if n == 0:
        return 0.0, 0.0, 0.0
    m = float(np.mean(xs))
    if n < 2:
        return m, m, m
    se = float(np.std(xs, ddof=1)) / math.sqrt(n)
    return m, m - z * se, m + z * se


def has_budget(b):
    return isinstance(b, (int, float)) and not isinstance(b, bool) and b > 0


def method_label(r):
    label = str(r.get("method", "?"))
    for k in ("semantics", "gqa"):
        if r.get(k) not in (None, ""):
            label += f" {r[k]}"
    if r.get("sink_pages"):
        label += f" +{r['sink_pages']} sink"
    return label


def score_points(summary, rows):
    """(task, metric) -> length -> method -> [(budget, value, low, high)], depths pooled."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    if rows:
        task_metric = {r.get("task"): r["metric"] for r in summary or []
                       if r.get("metric") in ("accuracy", "recall")}
        groups = defaultdict(list)
        for r in rows:
            if not isinstance(r.get("score"), (int, float)):
                continue
            key = (r.get("task"), method_label(r), r.get("budget"), r.get("length"))
            groups[key].append(float(r["score"]))
        for (task, method, budget, length), xs in groups.items():
            metric = task_metric.get(task, "accuracy" if task == "passkey" else "recall")
            if metric == "accuracy":
                v, lo, hi = wilson(sum(1 for x in xs if x > 0.5), len(xs))
            else:
                v, lo, hi = mean_se(xs)
            out[(task, metric)][length][method].append((budget, v, lo, hi))
        return out
    # Summary only: pool depths weighting by n.
    groups = defaultdict(list)
    for r in summary or []:
        if r.get("metric") not in ("accuracy", "recall"):
            continue
        key = (r.get("task"), r["metric"], r.get("length"), method_label(r), r.get("budget"))
        groups[key].append(r)
    for (task, metric, length, method, budget), rs in groups.items():
        n = sum(int(r.get("n", 0)) for r in rs)
        if len(rs) == 1:
            r = rs[0]
            pt = (budget, r["value"], r.get("ci_low", r["value"]), r.get("ci_high", r["value"]))
        elif metric == "accuracy":
            s = sum(r["value"] * int(r.get("n", 0)) for r in rs)
            pt = (budget,) + wilson(round(s), n)
        else:
            v = sum(r["value"] * int(r.get("n", 0)) for r in rs) / max(n, 1)
            pt = (budget, v, v, v)
        out[(task, metric)][length][method].append(pt)
    return out


def lines_vs_budget(ax, by_method, ylabel):
    for i, (method, pts) in enumerate(sorted(by_method.items())):
        color = f"C{i % 10}"
        with_b = sorted((p for p in pts if has_budget(p[0])), key=lambda p: p[0])
        without = [p for p in pts if not has_budget(p[0])]
        if with_b:
            x = [p[0] for p in with_b]
            y = np.array([p[1] for p in with_b])
            lo = np.array([p[2] for p in with_b])
            hi = np.array([p[3] for p in with_b])
            ax.errorbar(x, y, yerr=[np.maximum(y - lo, 0), np.maximum(hi - y, 0)], marker="o",
                        capsize=3, label=method, color=color)
        for p in without:
            ax.axhline(p[1], linestyle="--", label=method, color=color)
            ax.axhspan(p[2], p[3], color=color, alpha=0.1)
    if any(has_budget(p[0]) for pts in by_method.values() for p in pts):
        ax.set_xscale("log", base=2)
    ax.set_xlabel("token budget")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def grid(n):
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def safe(s):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(s))


def plot_scores(summary, rows, to):
    written = []
    for (task, metric), by_length in sorted(score_points(summary, rows).items(), key=str):
        lengths = sorted(by_length, key=lambda l: (l is None, l))
        fig, axes = grid(len(lengths))
        for ax, length in zip(axes, lengths):
            lines_vs_budget(ax, by_length[length], metric)
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{task}, length {length}")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(to, f"{metric}_vs_budget_{safe(task)}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def plot_heatmaps(rows, to):
    written = []
    cells = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if not isinstance(r.get("score"), (int, float)) or r.get("depth") is None:
            continue
        key = (r.get("task"), method_label(r), r.get("budget"))
        cells[key][(r.get("length"), float(r["depth"]))].append(float(r["score"]))
    for (task, method, budget), data in sorted(cells.items(), key=str):
        lengths = sorted({l for l, _ in data})
        depths = sorted({d for _, d in data})
        m = np.full((len(depths), len(lengths)), np.nan)
        for (l, d), xs in data.items():
            m[depths.index(d), lengths.index(l)] = np.mean(xs)
        fig, ax = plt.subplots(figsize=(1.2 * len(lengths) + 2.5, 0.5 * len(depths) + 2))
        im = ax.imshow(m, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto", origin="upper")
        ax.set_xticks(range(len(lengths)), [str(l) for l in lengths])
        ax.set_yticks(range(len(depths)), [f"{d:.2f}" for d in depths])
        ax.set_xlabel("context length")
        ax.set_ylabel("depth")
        for i in range(len(depths)):
            for j in range(len(lengths)):
                if not np.isnan(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7)
        b = budget if has_budget(budget) else "dense"
        ax.set_title(f"{task}: {method}, budget {b}")
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        path = os.path.join(to, f"heatmap_{safe(task)}_{safe(method)}_b{safe(b)}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def plot_curves(curves, to):
    if not curves:
        return []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in curves:
        x = np.array(c.get("positions", []), dtype=float)
        y = np.array(c.get("ppl", []), dtype=float)
        if len(x) == 0 or len(x) != len(y):
            continue
        b = c.get("budget")
        label = f"{c.get('method', '?')}" + (f" b{b}" if has_budget(b) else "")
        line, = ax.plot(x, y, label=label)
        if len(c.get("ci_low", [])) == len(x) and len(c.get("ci_high", [])) == len(x):
            ax.fill_between(x, c["ci_low"], c["ci_high"], color=line.get_color(), alpha=0.15)
    ax.set_xlabel("position (tokens)")
    ax.set_ylabel("cumulative perplexity")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(to, "ppl_vs_position.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def plot_metric_vs_budget(summary, to):
    written = []
    for metric in ("kl_mean", "top1_agreement", "ppl"):
        by_length = defaultdict(lambda: defaultdict(list))
        for r in summary or []:
            if r.get("metric") != metric:
                continue
            v = r.get("value")
            by_length[r.get("length")][method_label(r)].append(
                (r.get("budget"), v, r.get("ci_low", v), r.get("ci_high", v)))
        if not by_length:
            continue
        lengths = sorted(by_length, key=lambda l: (l is None, l))
        fig, axes = grid(len(lengths))
        for ax, length in zip(axes, lengths):
            lines_vs_budget(ax, by_length[length], metric)
            ax.set_title(f"{metric}, length {length}")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(to, f"{metric}_vs_budget.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--to", help="directory for the PNGs (default OUT_DIR/plots)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.out_dir):
        print(f"plot_eval: {args.out_dir} is not a directory", file=sys.stderr)
        return 2
    summary = load_json(os.path.join(args.out_dir, "summary.json"))
    rows = load_rows(os.path.join(args.out_dir, "rows.jsonl"))
    curves = load_json(os.path.join(args.out_dir, "curves.json"))
    if summary is None and not rows and not curves:
        print(f"plot_eval: {args.out_dir} has no summary.json, rows.jsonl or curves.json",
              file=sys.stderr)
        return 2
    to = args.to or os.path.join(args.out_dir, "plots")
    os.makedirs(to, exist_ok=True)
    written = (plot_scores(summary, rows, to) + plot_heatmaps(rows, to) + plot_curves(curves, to)
               + plot_metric_vs_budget(summary, to))
    for p in written:
        print(p)
    if not written:
        print("plot_eval: nothing to plot", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
