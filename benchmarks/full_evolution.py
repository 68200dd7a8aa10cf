"""A full gradual evolution over all the shared data with sparse PIBE: time and peak memory of every round.

    python benchmarks/full_evolution.py --data-dir /work/shared/data                 # bank 6000, knn 50, one round per dataset
    python benchmarks/full_evolution.py --data-dir /work/shared/data --out reports/full_evolution
    python benchmarks/full_evolution.py --data-dir /work/shared/data --embed-only    # fill the embedding cache, nothing else
    python benchmarks/full_evolution.py --data-dir /work/shared/data --preset insbank --out reports/full_evolution/insbank-k50
    # fidelity: the same chunked evolution dense and sparse, then compare round by round
    python benchmarks/full_evolution.py --data-dir /work/shared/data --knn 0 --chunk-size 27000 --out reports/full_evolution/dense-27k
    python benchmarks/full_evolution.py --data-dir /work/shared/data --knn 50 --chunk-size 27000 --out reports/full_evolution/sparse-27k \
        --compare reports/full_evolution/dense-27k
    # the same at exactly 200 AP iterations per round (no stopping rule)
    python benchmarks/full_evolution.py --data-dir /work/shared/data --knn 0 --chunk-size 27000 --convergence-iter 0 \
        --out reports/full_evolution/dense-27k-200it

The eight timeline datasets (`insbank.core.TIMELINE`, about 136k records) arrive in release order: round 0 selects a
bank of `--bank-size` from the first dataset, each later dataset is one `partial_fit` (candidates = bank + the new
dataset; with `--chunk-size` a dataset is cut into rounds of at most that many items, as the authors' code did with
27,000). Every round is sparse AP on a `--knn` nearest-neighbour graph (`insbank.sparse`) with the history momentum:
dense AP cannot run these rounds on this machine (the T0 round has 61k candidates; dense S, R, A need 12 N^2 bytes, 45 GB).
`--knn 0` runs dense PIBE instead, which fits with `--chunk-size 27000` (33k candidates: S, R, A take 13 GB, the
history H 4.4 GB more; 19.6 GB peak).

`--convergence-iter 0` runs exactly `--max-iter` AP iterations every round. Compare dense and sparse that way: with
the history, the weight a of Eq. 6 decays every iteration, so a round that stops after 16 iterations (the stopping
rule) keeps much more history than one that runs 200, and a tiny difference between two runs decides which happens.

With `--out`, `rounds.npz` keeps every round's bank, candidates and scores. `--compare DIR` reads another run's
`rounds.npz` (same data, same chunking) and reports, round by round, the overlap of the two banks and of their top
tenths, and the Spearman correlation of the scores both runs gave to that round's new items (the candidates they share
by construction; the old-bank candidates differ once the banks differ).

Embeddings (MiniLM by default) come from the shared content-addressed cache (`insbank.embed.default_cache_dir()`); the
time to embed what was not cached is reported apart from the selection time. Quality: `--quality heuristic` (the
cheap default scorer) or `none` (all equal).

With `--out`, the run is resumable: after every round the PIBE state, the rounds so far and the totals go to
`DIR/checkpoint.pkl` (written to a temporary file, then renamed, so an interrupt leaves the last finished round intact).
Running the same command again resumes after that round (`--restart` ignores it); the finished run deletes it. A
checkpoint written with other settings is refused, naming what differs.

Per round: wall time of the PIBE call (kNN graph, history, AP, scores) and the process's peak resident set during it
(VmHWM, reset before the call through /proc/self/clear_refs), the number of candidates, graph edges, AP iterations,
and how many new items entered the bank. Totals: selection time, embedding time, whole run.
"""
from __future__ import annotations
import argparse, json, os, pickle, platform, sys, time
from pathlib import Path
import numpy as np
from insbank.reproduce import peak_rss_bytes, reset_peak_rss


_SAME = ("data_dir", "bank_size", "knn", "chunk_size", "preset", "variant", "no_history", "max_iter", "convergence_iter", "quality",
         "embedder", "per_dataset")

def _load_checkpoint(path, a):
    "The checkpoint at `path` if it exists and was written with the same settings as `a`, else None."
    if a.restart or not path.exists(): return None
    try:
        with open(path, "rb") as f: ck = pickle.load(f)
    except Exception as e:
        raise SystemExit(f"{path}: unreadable checkpoint ({type(e).__name__}: {e}); delete it or pass --restart")
    diff = {k: (ck["args"].get(k), getattr(a, k)) for k in _SAME if ck["args"].get(k) != getattr(a, k)}
    if diff: raise SystemExit(f"{path}: checkpoint written with other settings {diff} (saved, now); pass --restart to start over")
    return ck

def _save_checkpoint(path, ck):
    "Write `ck` to `path` atomically: a temporary file, flushed to disk, then renamed over the old one."
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(ck, f, protocol=pickle.HIGHEST_PROTOCOL); f.flush(); os.fsync(f.fileno())
    os.replace(tmp, path)


def compare(saved, other_dir, m):
    "Round-by-round agreement of this run's `saved` rounds with those in `other_dir/rounds.npz`."
    from scipy.stats import spearmanr
    path = Path(other_dir) / "rounds.npz"
    if not path.exists(): raise SystemExit(f"--compare: {path} does not exist (run the reference first with --out {other_dir})")
    other = np.load(path)
    out, top = [], max(1, m // 10)
    for t in range(len([k for k in saved if k.startswith("bank")])):
        if f"bank{t}" not in other: raise SystemExit(f"--compare: {path} has no round {t}: was it run with the same data and --chunk-size?")
        b, ob = saved[f"bank{t}"], other[f"bank{t}"]
        c, s, oc, os_ = saved[f"cand{t}"], saved[f"scores{t}"], other[f"cand{t}"], other[f"scores{t}"]
        new = np.setdiff1d(c, saved[f"bank{t-1}"]) if t else c      # this round's new items: candidates of both runs
        _, i, _ = np.intersect1d(c, new, return_indices=True); _, j, _ = np.intersect1d(oc, new, return_indices=True)
        if len(i) != len(new) or len(j) != len(new): raise SystemExit(f"--compare: round {t} saw different new items in {path}")
        out.append(dict(round=t, overlap=int(len(np.intersect1d(b, ob))), overlap_top=int(len(np.intersect1d(b[:top], ob[:top]))),
                        spearman_new=float(spearmanr(s[i], os_[j])[0])))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="shared data folder (default: $INSBANK_DATA, else ./data)")
    ap.add_argument("--bank-size", type=int, default=6000)
    ap.add_argument("--knn", type=int, default=50, help="neighbours per point of the sparse graph; 0: dense AP")
    ap.add_argument("--chunk-size", type=int, default=None, help="cut each dataset into rounds of at most this many items")
    ap.add_argument("--variant", default="paper", choices=["paper", "code"])
    ap.add_argument("--preset", default="paper", choices=["paper", "insbank"], help="PIBE preset (the committed runs measured the paper's method)")
    ap.add_argument("--no-history", action="store_true", help="PIBE without history")
    ap.add_argument("--max-iter", type=int, default=200, help="AP iteration cap")
    ap.add_argument("--convergence-iter", type=int, default=15,
                    help="AP stopping rule (exemplars unchanged this long); 0: run exactly --max-iter iterations every round")
    ap.add_argument("--quality", default="heuristic", help="'none' or a quality spec for insbank.quality.get_scorer")
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--per-dataset", type=int, default=None, help="seeded sample of at most this many records per dataset (smoke runs)")
    ap.add_argument("--embed-only", action="store_true", help="only fill the embedding cache")
    ap.add_argument("--out", default=None, help="folder for results.json, rounds.npz and README.md")
    ap.add_argument("--compare", default=None, help="folder of another run (its rounds.npz) to compare with, round by round")
    ap.add_argument("--restart", action="store_true", help="ignore a checkpoint in --out and start from round 0")
    a = ap.parse_args(argv)

    from insbank.core import load_timeline
    from insbank.embed import embed, default_cache_dir
    from insbank.pibe import PIBE
    t_all = time.perf_counter()
    timeline = load_timeline(a.data_dir, per_dataset=a.per_dataset)
    print(f"timeline: {sum(len(r) for _, r in timeline)} records in {len(timeline)} datasets", flush=True)
    scorer = None
    if a.quality != "none":
        from insbank.quality import get_scorer
        scorer = get_scorer(a.quality)
    if a.knn < 0: ap.error("--knn must be >= 0")
    if a.max_iter < 1 or a.convergence_iter < 0: ap.error("--max-iter must be >= 1 and --convergence-iter >= 0")
    pibe = PIBE(bank_size=a.bank_size, preset=a.preset, knn=a.knn or None, variant=a.variant, use_history=False if a.no_history else None,
                max_iter=a.max_iter, convergence_iter=a.convergence_iter)
    rounds, saved, embed_s, quality_s, select_s, seen = [], {}, 0.0, 0.0, 0.0, 0
    ck_path = Path(a.out) / "checkpoint.pkl" if a.out and not a.embed_only else None
    ck = _load_checkpoint(ck_path, a) if ck_path else None
    resumed_after = len(ck["rounds"]) - 1 if ck else None
    if ck:
        pibe.load_state_dict(ck["pibe"])
        rounds, saved, select_s, quality_s, seen = ck["rounds"], ck["saved"], ck["select_s"], ck["quality_s"], ck["seen"]
        print(f"resuming after round {resumed_after} from {ck_path}", flush=True)
    done = {(r["dataset"], r["items"]) for r in rounds}
    for ds, recs in timeline:
        step = a.chunk_size or len(recs)
        if all((ds.name, f"{lo}:{min(lo + step, len(recs))}") in done for lo in range(0, len(recs), step)): continue
        t0 = time.perf_counter()
        X = embed(recs, a.embedder, cache_dir=default_cache_dir(), progress=sys.stderr.isatty())
        te = time.perf_counter() - t0; embed_s += te
        print(f"[{ds.name}] {len(recs)} records embedded in {te:.1f}s", flush=True)
        if a.embed_only: continue
        t0 = time.perf_counter()
        q = scorer.score(recs) if scorer else np.zeros(len(recs))
        tq = time.perf_counter() - t0; quality_s += tq
        for lo in range(0, len(recs), step):
            hi = min(lo + step, len(recs)); t = len(rounds)
            if (ds.name, f"{lo}:{hi}") in done: continue
            reset_peak_rss()
            t0 = time.perf_counter()
            (pibe.fit if t == 0 else pibe.partial_fit)(X[lo:hi], q[lo:hi])
            ts = time.perf_counter() - t0; select_s += ts
            n = len(pibe.candidates_)
            r = dict(round=t, dataset=ds.name, released=ds.released, items=f"{lo}:{hi}", new=hi - lo, candidates=int(n),
                     edges=int(getattr(pibe, "n_edges_", n * n) if a.knn else n * n), n_iter=int(pibe.n_iter_),
                     seconds=round(ts, 2), peak_rss_mib=round(peak_rss_bytes() / 2**20, 1),
                     new_in_bank=int((pibe.bank_ >= seen).sum()) if t else int(len(pibe.bank_)))
            saved.update({f"bank{t}": pibe.bank_.copy(), f"cand{t}": pibe.candidates_.copy(),
                          f"scores{t}": pibe.scores_.astype(np.float32)})
            seen += hi - lo
            rounds.append(r)
            print(json.dumps(r), flush=True)
            if ck_path:
                ck_path.parent.mkdir(parents=True, exist_ok=True)
                _save_checkpoint(ck_path, dict(args={k: getattr(a, k) for k in _SAME}, pibe=pibe.state_dict(), rounds=rounds,
                                               saved=saved, select_s=select_s, quality_s=quality_s, seen=seen))
    total = time.perf_counter() - t_all
    res = dict(bank_size=a.bank_size, preset=a.preset, knn=a.knn or "dense", chunk_size=a.chunk_size, variant=a.variant, history=pibe.resolved_params()["use_history"], mass=pibe.resolved_params()["mass"],
               max_iter=a.max_iter, convergence_iter=a.convergence_iter or None,
               quality=a.quality, embedder=a.embedder, records=seen, rounds=rounds,
               selection_seconds=round(select_s, 1), embed_seconds=round(embed_s, 1), quality_seconds=round(quality_s, 1),
               total_seconds=round(total, 1), resumed_after_round=resumed_after,
               # VmHWM is reset before each round, so the process peak is the largest of the rounds' peaks and what came before
               peak_rss_mib=round(max([peak_rss_bytes() / 2**20] + [r['peak_rss_mib'] for r in rounds]), 1),
               machine=dict(cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform()))
    if not a.embed_only:
        sources = np.array([r.source for _, recs in timeline for r in recs])
        u, c = np.unique(sources[pibe.bank_], return_counts=True)
        res["bank_sources"] = {k: int(v) for k, v in zip(u, c)}
        # the bank yardstick over every record seen (embeddings from the cache; a proxy, not downstream quality)
        from insbank.yardstick import bank_yardstick
        t0 = time.perf_counter()
        Xall = np.concatenate([embed(recs, a.embedder, cache_dir=default_cache_dir(), progress=False) for _, recs in timeline])
        qall = np.concatenate([scorer.score(recs) if scorer else np.zeros(len(recs)) for _, recs in timeline])
        rnd = np.repeat(np.arange(len(timeline)), [len(recs) for _, recs in timeline])
        y = bank_yardstick(Xall, pibe.bank_, qall, sources, rnd)
        res["yardstick"] = dict(coverage=round(y["coverage"], 4), mean_quality=round(y["mean_quality"], 3),
                                first_share=round(y["round_shares"].get(0, 0.0), 4), evenness=round(y["source_evenness"], 3),
                                random_coverage=round(float(np.mean([bank_yardstick(Xall, np.random.default_rng(s).choice(len(Xall), a.bank_size, replace=False))["coverage"] for s in range(3)])), 4),
                                seconds=round(time.perf_counter() - t0, 1))
        del Xall
    fid = compare(saved, a.compare, a.bank_size) if a.compare and not a.embed_only else None
    if fid is not None:
        res["fidelity_vs"] = a.compare; res["fidelity"] = fid
        for f in fid: print(json.dumps(f), flush=True)
    print(f"selection {select_s:.1f}s, embedding {embed_s:.1f}s, quality {quality_s:.1f}s, total {total:.1f}s, "
          f"peak RSS {res['peak_rss_mib']:.0f} MiB", flush=True)
    if a.out:
        out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(res, indent=1) + "\n")
        if saved: np.savez_compressed(out / "rounds.npz", **saved)
        lines = [f"# Full gradual evolution with {'sparse PIBE (k = %d)' % a.knn if a.knn else 'dense PIBE'}", "",
                 f"Written by `benchmarks/full_evolution.py` ({' '.join(sys.argv[1:])}). {seen} records, bank {a.bank_size}, "
                 f"knn {a.knn or 'dense'}, chunk {a.chunk_size}, variant {a.variant}, history {pibe.resolved_params()['use_history']}, mass {pibe.resolved_params()['mass']}, "
                 f"AP {'exactly %d iterations' % a.max_iter if not a.convergence_iter else 'at most %d iterations, stop after %d unchanged' % (a.max_iter, a.convergence_iter)}, quality {a.quality}, "
                 f"{os.cpu_count()} CPUs.", "",
                 "| round | dataset | items | candidates | edges | AP iters | seconds | peak RSS (MiB) | new items in bank |",
                 "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['round']} | {r['dataset']} | {r['items']} | {r['candidates']} | {r['edges']} | {r['n_iter']} | "
                  f"{r['seconds']} | {r['peak_rss_mib']} | {r['new_in_bank']} |" for r in rounds]
        lines += ["", f"Selection {res['selection_seconds']} s, embedding {res['embed_seconds']} s (uncached texts only), "
                  f"quality {res['quality_seconds']} s, whole run {res['total_seconds']} s"
                  + (f" (this process, which resumed after round {resumed_after}; selection counts every round)" if resumed_after is not None else "")
                  + f", peak RSS {res['peak_rss_mib']} MiB."]
        if res.get("yardstick"):
            y = res["yardstick"]
            lines += ["", f"Yardstick of the final bank over all {seen} records: coverage {y['coverage']} (a random bank of the same size: "
                      f"{y['random_coverage']}), mean quality {y['mean_quality']}, share of the first dataset {y['first_share']}, "
                      f"source evenness {y['evenness']} (a proxy for how well the bank represents the data)."]
        if res.get("bank_sources"):
            lines += ["", "Final bank by source: " + ", ".join(f"{k} {v}" for k, v in sorted(res["bank_sources"].items(), key=lambda kv: -kv[1])) + "."]
        if fid is not None:
            lines += ["", f"## Fidelity against `{a.compare}`", "",
                      "Overlap of the two banks after each round (of their top tenths), and Spearman correlation of the scores "
                      "the two runs gave to that round's new items.", "",
                      "| round | bank overlap | top-tenth overlap | Spearman, new items |", "|---|---|---|---|"]
            lines += [f"| {f['round']} | {f['overlap']} ({100 * f['overlap'] / a.bank_size:.1f}%) | {f['overlap_top']} | "
                      f"{f['spearman_new']:.4f} |" for f in fid]
        (out / "README.md").write_text("\n".join(lines) + "\n")
        if ck_path and ck_path.exists(): ck_path.unlink()
    return res


if __name__ == "__main__":
    main()
