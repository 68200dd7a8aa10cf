"""k-nearest-neighbour graph: exact blocked search against FAISS (HNSW, IVF) measured side by side in one run.

    python benchmarks/knn_ann.py                                  # N = 50,000, k = 20 (a few minutes on 2 cores)
    python benchmarks/knn_ann.py --methods hnsw:pca=64,M=16       # FAISS options after a colon
    python benchmarks/knn_ann.py --n 1000000 --no-exact           # a million points: ANN time, recall on a sample,
                                                                  # exact's time extrapolated from the measured N^2 law
    python benchmarks/knn_ann.py --out reports/knn_ann            # also write results.json and README.md
    python benchmarks/knn_ann.py --repeat 3                       # each timing the median of 3 (exact too)

Points: the MiniLM embeddings of the data directory's timeline (the repository's data/ sample by default, 7,000
real records; `--data-dir ../shared/data` for 136k), then seeded jittered copies up to N (Gaussian noise of `--jitter`
relative to the norm; marked synthetic in the output). Recall@k is the mean share of each point's exact k nearest
neighbours that the method found: over all points when exact ran, else over `--sample` random points whose exact
neighbours are computed by brute force against all N. Times are wall-clock of `insbank.neighbours.nearest_neighbours`
(index build + search) on this machine's cores (`faiss.omp_get_max_threads()`). nndescent (pynndescent) compiles its
numba kernels in each new process: that one-time cost is measured first, on 2,000 points, and reported apart; the
table gives the speed-up with and without it.
"""
from __future__ import annotations
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np

def points(data_dir, n, jitter, seed, embedder="minilm"):
    "Real embeddings of the timeline, then jittered copies up to n; returns (X, real)."
    from insbank.core import load_timeline
    from insbank.embed import embed, default_cache_dir
    X = np.concatenate([embed(r, embedder, cache_dir=default_cache_dir(), progress=sys.stderr.isatty()) for _, r in load_timeline(data_dir)])
    rng = np.random.default_rng(seed)
    real = min(len(X), n); parts = [X[:real]]; have = real
    while have < n:
        m = min(len(X), n - have)
        src = X[rng.choice(len(X), m, replace=False)]
        noise = rng.standard_normal(src.shape).astype(np.float32) * (jitter / np.sqrt(src.shape[1]))
        parts.append(src + noise); have += m
    return np.concatenate(parts), real

def exact_sample(X, rows, k):
    "Exact k nearest others of the given rows, by brute force against all points: (squared distances, indices)."
    import torch
    I = np.empty((len(rows), k), np.int64); D = np.empty((len(rows), k), np.float32); sq = np.einsum("ij,ij->i", X, X)
    for lo in range(0, len(rows), 256):
        r = rows[lo:lo + 256]
        d2 = sq[None, :] - 2 * (X[r] @ X.T) + sq[r, None]; d2[np.arange(len(r)), r] = np.inf
        v, i = torch.topk(torch.from_numpy(d2), k, dim=1, largest=False)
        I[lo:lo + 256], D[lo:lo + 256] = i.numpy(), np.maximum(v.numpy(), 0)
    return D, I

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000); ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--data-dir", default=None); ap.add_argument("--jitter", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--no-exact", action="store_true", help="skip the exact search (extrapolate its time from a 20,000-point run)")
    ap.add_argument("--repeat", type=int, default=1, help="time each method (and exact) this many times; the median is reported")
    ap.add_argument("--methods", nargs="*", default=["hnsw", "hnsw:ef_search=40", "hnsw:pca=96,refine=4", "ivf", "nndescent", "nndescent:n_iters=6"],
                    help="methods with options after a colon: hnsw, hnsw:pca=64,M=16, ivf:nprobe=8 ..."); ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    import faiss
    from insbank.neighbours import nearest_neighbours, recall
    X, real = points(a.data_dir, a.n, a.jitter, a.seed)
    print(f"N = {len(X):,} points (d {X.shape[1]}): {real:,} real, {len(X) - real:,} synthetic (jitter {a.jitter}); k = {a.k}; "
          f"{faiss.omp_get_max_threads()} threads", flush=True)
    res = dict(n=len(X), d=int(X.shape[1]), k=a.k, real=real, synthetic=len(X) - real, jitter=a.jitter,
               threads=faiss.omp_get_max_threads(), faiss=faiss.__version__, repeat=a.repeat, methods={})
    jit = 0.0
    if any(m.startswith("nndescent") for m in a.methods):    # numba compiles pynndescent's kernels once per process
        t = time.perf_counter(); nearest_neighbours(X[:2000], a.k, "nndescent"); jit = time.perf_counter() - t
        res["nndescent_compile_s"] = jit; print(f"nndescent: first call in this process (compile) {jit:.1f} s", flush=True)
    def timed(f):
        "Median wall time of --repeat calls, and the last result."
        ts = []
        for _ in range(a.repeat): t = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t)
        return float(np.median(ts)), r
    if a.no_exact:
        n0 = min(20_000, len(X)); t = time.perf_counter(); nearest_neighbours(X[:n0], a.k, "exact")
        t_exact = (time.perf_counter() - t) * (len(X) / n0) ** 2; I_exact = None
        res["exact"] = dict(seconds=t_exact, extrapolated_from=n0)
        rows = np.random.default_rng(a.seed).choice(len(X), min(a.sample, len(X)), replace=False)
        D_ref, I_ref = exact_sample(X, rows, a.k)
    else:
        t_exact, (D_ref, I_exact) = timed(lambda: nearest_neighbours(X, a.k, "exact"))
        res["exact"] = dict(seconds=t_exact); rows, I_ref = None, I_exact
    print(f"exact: {t_exact:.1f} s" + (" (extrapolated)" if a.no_exact else ""), flush=True)
    for m in a.methods:
        name, _, opts = m.partition(":")                  # e.g. hnsw, hnsw:pca=64, ivf:pca=64,nprobe=8
        kw = {k: int(v) for k, v in (o.split("=") for o in opts.split(",") if o)}
        s, (D, I) = timed(lambda: nearest_neighbours(X, a.k, name, **kw))
        r = recall(I if rows is None else I[rows], I_ref)
        # distance ratio: the found neighbours' mean distance over the true ones' (1 = as near; near-ties make recall low but this ~1)
        dr = float(np.sqrt(D if rows is None else D[rows]).mean() / max(np.sqrt(D_ref).mean(), 1e-12))
        once = jit if name == "nndescent" else 0.0
        res["methods"][m] = dict(seconds=s, recall=r, distance_ratio=dr, speedup=t_exact / s, speedup_with_compile=t_exact / (s + once))
        print(f"{m}: {s:.1f} s, recall@{a.k} {r:.4f}, distance ratio {dr:.4f}, {t_exact / s:.1f}x exact"
              + (f" ({t_exact / (s + once):.1f}x counting the compile)" if once else ""), flush=True)
    if a.out:
        out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
        lines = [f"# k-nearest-neighbour graph: exact vs FAISS", "", f"`python benchmarks/knn_ann.py {' '.join(argv or sys.argv[1:])}`", "",
                 f"N = {res['n']:,} (d {res['d']}; {real:,} real MiniLM embeddings, {res['synthetic']:,} synthetic jittered copies, jitter {a.jitter}), "
                 f"k = {a.k}, {res['threads']} threads, FAISS {res['faiss']}. Recall over " + ("all points." if rows is None else f"{len(rows):,} random points.")
                 + (f" Times: median of {a.repeat} runs each." if a.repeat > 1 else ""), "",
                 "| method | recall@k | distance ratio | speed-up over exact | counting nndescent's compile |", "|---|---|---|---|---|",
                 f"| exact (blocked matmul + top-k) | 1 | 1 | 1 ({'extrapolated from ' + format(res['exact']['extrapolated_from'], ',') + ' points' if a.no_exact else 'measured'}) | |"]
        lines += [f"| {m} | {v['recall']:.4f} | {v['distance_ratio']:.4f} | {v['speedup']:.1f}x | "
                  + (f"{v['speedup_with_compile']:.1f}x |" if m.startswith("nndescent") else "|") for m, v in res["methods"].items()]
        if jit: lines += ["", f"nndescent compiles its numba kernels on its first call in a process: {jit:.1f} s here (measured on 2,000 points, "
                          "the same whatever the size), paid once per process."]
        lines += ["", "Distance ratio: mean distance of the neighbours found over that of the true k nearest (1: as near; "
                  "where many points are nearly equidistant, recall drops while this stays near 1).",
                  "", "Times are in results.json (they vary run to run; the ratios are measured side by side in one run)."]
        (out / "README.md").write_text("\n".join(lines) + "\n")
    return res

if __name__ == "__main__": main()
