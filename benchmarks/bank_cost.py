"""Cost of the default preset against the bank size, measured side by side in one process: a gradual run over the
8 x 1,000 timeline (seed 0, release order, MiniLM from the shared cache, heuristic quality) with banks of 1,000 and
3,000 (issue 23's target: bank 3,000 at most 2x the time of bank 1,000), and the score ranking (`rank_by="score"`,
dense AP while it fits: the default before greedy coverage) as the named reference.

    python benchmarks/bank_cost.py --data-dir ../shared/data --out reports/bank_cost

Each setting runs `--repeat` times after one warm-up run (numba kernels compiled and cached); the table gives the
median and the spread (min-max) of the wall time of `gradual_select`, and the ratios of medians.
"""
from __future__ import annotations
import argparse, json, time
from pathlib import Path
import numpy as np

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=None); ap.add_argument("--out", default=None)
    ap.add_argument("--per-dataset", type=int, default=1000); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000]); ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--embedder", default="minilm")
    a = ap.parse_args(argv)
    from insbank.core import load_timeline
    from insbank.embed import get_embedder, embed, default_cache_dir
    from insbank.quality import get_scorer
    from insbank.selectors import gradual_select
    tl = load_timeline(a.data_dir, per_dataset=a.per_dataset, seed=a.seed)
    emb, sc = get_embedder(a.embedder), get_scorer("heuristic")
    chunks = [(embed(rs, emb, cache_dir=default_cache_dir()), np.asarray(sc.score(rs), float)) for _, rs in tl]
    settings = [("default", {}), ("rank_by='score' (reference)", dict(rank_by="score"))]
    gradual_select("pibe", chunks[:2], min(a.sizes))                         # warm-up: compile or load the kernels
    rows = []
    for m in a.sizes:
        for name, kw in settings:
            gradual_select("pibe", chunks, m, **kw)                          # warm-up at this size
            ts = []
            for _ in range(a.repeat):
                t0 = time.perf_counter(); gradual_select("pibe", chunks, m, **kw); ts.append(time.perf_counter() - t0)
            rows.append(dict(setting=name, bank=m, median_s=float(np.median(ts)), min_s=min(ts), max_s=max(ts)))
            print(rows[-1], flush=True)
    med = {(r["setting"], r["bank"]): r["median_s"] for r in rows}
    lo, hi = min(a.sizes), max(a.sizes)
    ratios = {name: med[(name, hi)] / med[(name, lo)] for name, _ in settings}
    lines = [f"Gradual runs over {len(tl)} datasets x {a.per_dataset} records (seed {a.seed}), {a.repeat} repeats after a warm-up, one process.\n",
             "| setting | bank | median s | min-max s |", "|---|---:|---:|---:|"]
    lines += [f"| {r['setting']} | {r['bank']:,} | {r['median_s']:.1f} | {r['min_s']:.1f}-{r['max_s']:.1f} |" for r in rows]
    lines += ["", *[f"- {name}: bank {hi:,} takes {v:.2f}x the time of bank {lo:,}" for name, v in ratios.items()]]
    print("\n".join(lines))
    if a.out:
        out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
        (out / "README.md").write_text("\n".join(lines) + "\n")
        (out / "run.json").write_text(json.dumps(dict(rows=rows, ratios=ratios, sizes=a.sizes, repeat=a.repeat), indent=2) + "\n")
    return rows, ratios

if __name__ == "__main__":
    main()
