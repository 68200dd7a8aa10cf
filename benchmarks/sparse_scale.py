"""One sparse PIBE round over several hundred thousand records: time of each phase and peak memory.

    python benchmarks/sparse_scale.py --data-dir /work/shared/data                    # 300,000 candidates, k = 50
    python benchmarks/sparse_scale.py --data-dir /work/shared/data --n 500000 --out reports/sparse_scale
    python benchmarks/sparse_scale.py --data-dir /work/shared/data --n 1000000 --neighbours hnsw --out reports/sparse_scale/n1m

Dense AP over N points needs 12 N^2 bytes (S, R, A in float32): 1.08 TB at N = 300,000. Sparse PIBE
(`PIBE(knn=k)`, `insbank.sparse`) keeps messages on the edges of a k-nearest-neighbour graph. This runs the round the
issue asks about, with the history: round 0 selects a bank of `--bank-size` from the first timeline dataset (Natural
Instructions, 20,258 records); round 1 is `partial_fit` with every other record, so its candidates are the bank plus
the new items. The shared data hold 136,292 records; to reach `--n` candidates the script adds copies of them with
seeded Gaussian jitter of `--jitter` (relative to the embedding norm), marked in the output as synthetic. Embeddings
come from the content cache (`--embedder`, MiniLM by default); quality is left out (all equal).

Reported per round: wall time of the PIBE call (kNN search, history, AP, scores) and the process's peak resident set
during it (VmHWM, reset before the call), with the number of edges and AP iterations.
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time
from pathlib import Path
import numpy as np
from insbank.reproduce import peak_rss_bytes, reset_peak_rss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=None, help="shared data folder (default: $INSBANK_DATA, else ./data)")
    ap.add_argument("--n", type=int, default=300_000, help="candidates of round 1 (bank + new items)")
    ap.add_argument("--knn", type=int, default=50)
    ap.add_argument("--neighbours", default="exact", help="kNN search of the graph: exact, hnsw, ivf (insbank.neighbours)")
    ap.add_argument("--preset", default="paper", choices=["paper", "insbank"], help="PIBE preset (the committed run measured the paper's method)")
    ap.add_argument("--bank-size", type=int, default=6000)
    ap.add_argument("--jitter", type=float, default=0.05, help="relative noise of the synthetic copies")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embedder", default="minilm", help="embedder spec (insbank.embed.get_embedder)")
    ap.add_argument("--out", default=None, help="folder for results.json and README.md")
    a = ap.parse_args(argv)
    if a.knn < 1 or a.bank_size < 1 or a.jitter < 0: ap.error("--knn and --bank-size must be >= 1, --jitter >= 0")
    from insbank.core import load_timeline
    from insbank.embed import embed, default_cache_dir
    from insbank.pibe import PIBE
    t_all = time.perf_counter(); load0 = os.getloadavg()
    timeline = load_timeline(a.data_dir)
    Xs = [embed(recs, a.embedder, cache_dir=default_cache_dir(), progress=sys.stderr.isatty()) for _, recs in timeline]
    X0, Xr = Xs[0], np.concatenate(Xs[1:])
    need = a.n - a.bank_size
    if need < 1: ap.error(f"--n must exceed --bank-size ({a.bank_size})")
    rng = np.random.default_rng(a.seed)
    real = min(len(Xr), need); parts = [Xr[:real]]; synthetic = need - real
    while sum(len(p) for p in parts) < need:                    # jittered copies of the real records
        m = min(len(Xr), need - sum(len(p) for p in parts))
        src = Xr[rng.choice(len(Xr), m, replace=False)]
        noise = rng.standard_normal(src.shape).astype(np.float32)
        noise *= a.jitter * np.linalg.norm(src, axis=1, keepdims=True) / np.sqrt(src.shape[1])
        parts.append(src + noise)
    X1 = np.concatenate(parts)
    del parts, Xs, Xr
    print(f"round 0: {len(X0)} records; round 1: {len(X1)} new ({real} real, {synthetic} synthetic) + bank {a.bank_size}", flush=True)
    pibe = PIBE(bank_size=a.bank_size, preset=a.preset, knn=a.knn, neighbours=a.neighbours)
    rounds = []
    for t, X in enumerate((X0, X1)):
        reset_peak_rss(); t0 = time.perf_counter()
        (pibe.fit if t == 0 else pibe.partial_fit)(X)
        r = dict(round=t, new=len(X), candidates=int(len(pibe.candidates_)), edges=int(pibe.n_edges_), n_iter=int(pibe.n_iter_),
                 seconds=round(time.perf_counter() - t0, 1), peak_rss_mib=round(peak_rss_bytes() / 2**20, 1),
                 new_in_bank=int((pibe.bank_ >= len(X0)).sum()) if t else int(len(pibe.bank_)))
        rounds.append(r); print(json.dumps(r), flush=True)
    n = rounds[-1]["candidates"]
    res = dict(n=n, knn=a.knn, neighbours=a.neighbours, bank_size=a.bank_size, real_new=real, synthetic_new=synthetic, jitter=a.jitter, rounds=rounds,
               dense_gib=round(12 * n * n / 2**30, 1), total_seconds=round(time.perf_counter() - t_all, 1),
               machine=dict(cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform(),
                            loadavg_start=[round(x, 2) for x in load0], loadavg_end=[round(x, 2) for x in os.getloadavg()]))
    print(f"round 1 over {n} candidates: {rounds[-1]['seconds']} s, peak RSS {rounds[-1]['peak_rss_mib']:.0f} MiB "
          f"(dense S, R, A would need {res['dense_gib']} GiB)", flush=True)
    if a.out:
        out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
        lines = [f"# One sparse PIBE round over {n:,} candidates", "",
                 f"Written by `benchmarks/sparse_scale.py` ({' '.join(sys.argv[1:])}). k = {a.knn} ({a.neighbours} neighbours), bank {a.bank_size}, "
                 f"history on, quality off, {os.cpu_count()} CPUs (load average {res['machine']['loadavg_start'][0]} at the start, "
                 f"{res['machine']['loadavg_end'][0]} at the end). Round 1's new items: {real:,} real records of the shared "
                 f"timeline and {synthetic:,} synthetic copies (seeded jitter {a.jitter}). Dense S, R, A at this N: "
                 f"{res['dense_gib']} GiB.", "",
                 "| round | new items | candidates | edges | AP iters | seconds | peak RSS (MiB) | new items in bank |",
                 "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['round']} | {r['new']} | {r['candidates']} | {r['edges']} | {r['n_iter']} | {r['seconds']} | "
                  f"{r['peak_rss_mib']} | {r['new_in_bank']} |" for r in rounds]
        lines += ["", f"Whole run {res['total_seconds']} s (embeddings from the cache)."]
        (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
