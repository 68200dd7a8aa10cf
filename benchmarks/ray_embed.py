"""`insbank embed` through Ray Data with 1 and 2 local workers, and in process, measured side by side in one run.

    python benchmarks/ray_embed.py                       # 2,000 records of data/, shards of 250, MiniLM
    python benchmarks/ray_embed.py --n 500 --embedder hash:64 --out reports/ray_embed

One local Ray (as many CPUs as the largest worker count) is started once, before the timed runs, so its start-up
(30-50 s on a loaded 2-core machine) is not counted; each run writes its shards into a fresh folder. Throughput is
records per second of wall time; the ratio of 2 workers to 1 is what adding a worker buys on this machine (each Ray
actor with one CPU runs its model on one thread; in process the model uses every core).
"""
from __future__ import annotations
import argparse, json, sys, tempfile, time
from pathlib import Path


def records(data_dir, n, seed):
    from insbank.core import load_timeline
    recs = [r for _, rs in load_timeline(data_dir, per_dataset=None, seed=seed) for r in rs]
    import random
    random.Random(seed).shuffle(recs)
    return recs[:n]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="data"); ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--shard-size", type=int, default=250); ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2]); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    import ray
    from insbank.precompute import embed_job, read_embeddings
    tmp = Path(tempfile.mkdtemp())
    src = tmp / "input.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for r in records(a.data_dir, a.n, a.seed): f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    res = dict(n=a.n, shard_size=a.shard_size, embedder=a.embedder, runs={})
    t = time.perf_counter(); embed_job([src], tmp / "inproc", embedder=a.embedder, shard_size=a.shard_size, progress=False)
    res["runs"]["in process"] = dict(seconds=time.perf_counter() - t)
    ref = read_embeddings(tmp / "inproc")["embedding"]
    ray.init(num_cpus=max(a.workers), include_dashboard=False, log_to_driver=False)
    try:
        for w in a.workers:
            t = time.perf_counter()
            embed_job([src], tmp / f"ray{w}", embedder=a.embedder, shard_size=a.shard_size, ray=True, workers=w)
            s = time.perf_counter() - t
            X = read_embeddings(tmp / f"ray{w}")["embedding"]
            res["runs"][f"ray, {w} worker{'s' if w > 1 else ''}"] = dict(seconds=s, max_abs_diff_vs_in_process=float(abs(X - ref).max()))
    finally: ray.shutdown()
    for k, v in res["runs"].items():
        v["records_per_s"] = a.n / v["seconds"]
        print(f"{k}: {v['seconds']:.1f} s, {v['records_per_s']:.1f} records/s" +
              (f", max |diff| vs in process {v['max_abs_diff_vs_in_process']:.1e}" if "max_abs_diff_vs_in_process" in v else ""), flush=True)
    one, two = res["runs"].get("ray, 1 worker"), res["runs"].get("ray, 2 workers")
    if one and two:
        res["ratio_2_vs_1_workers"] = two["records_per_s"] / one["records_per_s"]
        print(f"2 workers / 1 worker: {res['ratio_2_vs_1_workers']:.2f}x throughput")
    if a.out:
        out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
        lines = ["# insbank embed on a local Ray: 1 and 2 workers against in process", "",
                 f"`python benchmarks/ray_embed.py {' '.join(argv or sys.argv[1:])}`", "",
                 f"{a.n:,} records of `{a.data_dir}`, shards of {a.shard_size}, embedder `{a.embedder}`; Ray started once before the "
                 "timed runs. Seconds and rates are in results.json (they vary run to run).", "",
                 "| run | throughput relative to 1 Ray worker | max abs difference of the vectors vs in process |", "|---|---|---|"]
        base = one["records_per_s"] if one else 1.0
        for k, v in res["runs"].items():
            lines.append(f"| {k} | {v['records_per_s'] / base:.2f}x | {v.get('max_abs_diff_vs_in_process', 0):.1e} |")
        (out / "README.md").write_text("\n".join(lines) + "\n")
    return res


if __name__ == "__main__": main()
