"""Dense affinity propagation: time per iteration and peak memory of each engine, against scikit-learn and the
memory-bandwidth floor measured in the same run.

    python benchmarks/bench_ap.py                                   # N = 2000 5000 10000, all engines
    python benchmarks/bench_ap.py --out reports/ap_benchmark        # also write results.csv and README.md there
    python benchmarks/bench_ap.py --n 40000 --engines numba         # dense AP over 40,000 points (19.2 GB of S, R, A)

Engines: "sklearn" (scikit-learn's AffinityPropagation, float64), "numpy" (insbank.ap.ap_numpy, float32),
"numba" and "torch" (insbank.engine; torch runs where `insbank.engine.torch_device()` says: CUDA when available).
All run on the same S (negative euclidean distances of random unit vectors, preference 0 as in PIBE), damping 0.5
(scikit-learn's `damping` is also the weight of the previous message), convergence off, a fixed number of iterations.

Time per iteration leaves each engine's one-off work out. For insbank's engines it is the marginal cost
(T(iters) - T(1)) / (iters - 1); for scikit-learn it is the time of its message-passing loop (timestamps of the loop's
first and first-after lines, taken by a line tracer on that one function) / iters, because its one-off work (copy of
S, noise, and a label post-processing whose cost depends on the number of exemplars at the end) is not constant. The
plain T(iters) / iters (whole call) is reported too. The floor is 20 N^2 bytes (read S, R, A; write R, A in float32) divided by
the best bandwidth measured in this run: a NumPy copy of 256 MB and a parallel numba stream over the very S, R, A
arrays with the same access pattern as one AP iteration.

Peak memory is measured in a fresh subprocess per engine and N: the process's peak resident set (VmHWM, reset
just after S was built) minus its resident set at that point ("extra", what the engine allocates: R, A and any
temporaries), and minus its resident set before S was built ("total", S included). Both divided by N^2.
"""
from __future__ import annotations
import argparse, csv, gc, inspect, json, os, platform, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np
from insbank.reproduce import peak_rss_bytes, reset_peak_rss

ENGINES = ("sklearn", "numpy", "numba", "torch")


def _rss():
    "Current resident set size in bytes."
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def make_S(n, dim=64, seed=0):
    "Float32 similarity matrix of n random unit vectors, diagonal (preference) 0."
    from insbank.ap import neg_euclidean_similarity
    X = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return neg_euclidean_similarity(X, block=max(1, (1 << 22) // n))   # row blocks of ~16 MB


def _sklearn_fit(S64, iters, loop_time=False):
    "Fit scikit-learn's AffinityPropagation for exactly `iters` iterations; with `loop_time`, return its loop's seconds."
    from sklearn.cluster import AffinityPropagation
    from sklearn.cluster import _affinity_propagation as m
    from sklearn.exceptions import ConvergenceWarning
    # convergence_iter > max_iter: the stopping rule never runs, exactly `iters` iterations
    ap = AffinityPropagation(affinity="precomputed", damping=0.5, max_iter=iters, convergence_iter=iters + 1,
                             preference=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if not loop_time: ap.fit(S64); return None
        # time the message-passing loop alone: its one-off work (copy of S, noise, and a label post-processing whose
        # cost depends on how many exemplars the last iteration has) would not divide by the iterations
        src, first = inspect.getsourcelines(m._affinity_propagation)
        find = lambda text: first + next(i for i, l in enumerate(src) if text in l)
        try: start, end = find("for it in range(max_iter)"), find("I = np.flatnonzero(E)")
        except StopIteration: raise RuntimeError("scikit-learn's _affinity_propagation changed: cannot time its loop")
        marks = {}
        def local(frame, event, arg):
            if event == "line" and frame.f_lineno in (start, end): marks.setdefault(frame.f_lineno, time.perf_counter())
            return local
        sys.settrace(lambda frame, event, arg: local if frame.f_code is m._affinity_propagation.__code__ else None)
        try: ap.fit(S64)
        finally: sys.settrace(None)
    return marks[end] - marks[start]

def _kernel(name):
    import insbank.engine  # noqa: F401  registers numba and torch
    from insbank.ap import ENGINES as K
    return K[name]

def warm_up(engines):
    "Compile / load what each engine needs on a tiny problem, so that neither timing nor memory counts it."
    S = make_S(64)
    for e in engines:
        if e == "sklearn": _sklearn_fit(S.astype(np.float64), 2)
        else: _kernel(e)(S, np.zeros_like(S), np.zeros_like(S), damping=0.5, max_iter=2, convergence_iter=None)


def run_engine(name, S, S64, R, A, iters):
    "(seconds per iteration, total seconds / iters) of engine `name` on S (R, A reset to zero before each run)."
    if name == "sklearn":
        t = time.perf_counter(); loop = _sklearn_fit(S64, iters, loop_time=True)
        return loop / iters, (time.perf_counter() - t) / iters
    k = _kernel(name)
    def once(it):
        R.fill(0); A.fill(0)
        t = time.perf_counter(); k(S, R, A, damping=0.5, max_iter=it, convergence_iter=None)
        return time.perf_counter() - t
    t1 = once(1); tk = once(iters)
    return (tk - t1) / (iters - 1), tk / iters


def copy_bandwidth(nbytes=256 << 20, reps=3):
    "Best bytes/s (read + write) of a NumPy copy of `nbytes`."
    src = np.ones(nbytes // 4, dtype=np.float32); dst = np.zeros_like(src)
    return 2 * nbytes / min(_timed(np.copyto, dst, src) for _ in range(reps))

def stream_bandwidth(S, R, A, reps=3):
    "Best bytes/s of a parallel stream reading S, R, A and writing R, A (20 N^2 bytes), the access pattern of AP."
    from numba import njit, prange
    @njit(parallel=True, cache=False)
    def stream(S, R, A, c):
        n = S.shape[0]
        for i in prange(n):
            for k in range(n):
                R[i, k] = R[i, k] * c + S[i, k]
                A[i, k] = A[i, k] * c - S[i, k]
    c = np.float32(0.5)
    stream(S[:8, :8].copy(), R[:8, :8].copy(), A[:8, :8].copy(), c)
    return 20 * S.size / min(_timed(stream, S, R, A, c) for _ in range(reps))

def _timed(f, *a):
    t = time.perf_counter(); f(*a); return time.perf_counter() - t


def child(engine, n, iters):
    "Peak-memory measurement in this (fresh) process; prints one JSON line."
    warm_up([engine])
    gc.collect()
    rss0 = _rss()
    S = make_S(n)
    if engine == "sklearn": S = S.astype(np.float64)
    gc.collect()
    rss1 = _rss()
    reset = reset_peak_rss()       # without it the peak may be an earlier one (imports, warm-up): an upper bound
    if engine == "sklearn": _sklearn_fit(S, iters)
    else:
        from insbank.ap import affinity_propagation
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            affinity_propagation(S, max_iter=iters, convergence_iter=None, engine=engine)
    print(json.dumps(dict(engine=engine, n=n, rss_before_S=rss0, rss_after_S=rss1, peak=peak_rss_bytes(), peak_reset=reset)))

def peak_memory(engine, n, iters=2):
    "Peak bytes of `engine` on N = n, measured in a fresh subprocess: (extra over S, total with S)."
    out = subprocess.run([sys.executable, __file__, "--child", engine, str(n), str(iters)],
                         check=True, capture_output=True, text=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    if not m["peak_reset"]: print(f"  warning: could not reset the peak RSS; {engine} N={n} peak is an upper bound")
    return m["peak"] - m["rss_after_S"], m["peak"] - m["rss_before_S"]


def machine():
    import numba, sklearn, torch
    from insbank.engine import torch_device
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return dict(cpu=cpu, cores=os.cpu_count(), memory_gib=round(mem / 2**30, 1), numba_threads=numba.get_num_threads(),
                torch_threads=torch.get_num_threads(), torch_device=str(torch_device()), python=platform.python_version(),
                numpy=np.__version__, numba=numba.__version__, torch=torch.__version__, sklearn=sklearn.__version__)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[2000, 5000, 10000], help="problem sizes N")
    p.add_argument("--iters", type=int, default=10, help="iterations per timed run (convergence off)")
    p.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    p.add_argument("--out", type=Path, default=None, help="folder for results.csv and README.md")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--child", nargs=3, metavar=("ENGINE", "N", "ITERS"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child: return child(a.child[0], int(a.child[1]), int(a.child[2]))
    if a.iters < 2: p.error("--iters must be >= 2 (time per iteration is a difference of two runs)")

    info = machine()
    info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]   # other work on the machine skews timings
    print("machine:", json.dumps(info), flush=True)
    warm_up(a.engines)
    bw_copy = copy_bandwidth()
    rows, peaks = [], {}
    for n in a.n:
        gc.collect(); reset_peak_rss(); rss0 = _rss()
        S = make_S(n); R = np.zeros_like(S); A = np.zeros_like(S)
        bw_stream = stream_bandwidth(S, R, A)
        floor = 20 * n * n / max(bw_copy, bw_stream)
        print(f"N={n}: bandwidth copy {bw_copy / 1e9:.1f} GB/s, stream {bw_stream / 1e9:.1f} GB/s, "
              f"floor {floor:.4f} s/iter", flush=True)
        S64 = S.astype(np.float64) if "sklearn" in a.engines else None
        times = {}
        for e in a.engines:
            times[e] = run_engine(e, S, S64, R, A, a.iters)
            print(f"  {e:8s} {times[e][0]:.4f} s/iter (total/iters {times[e][1]:.4f})", flush=True)
        grown = peak_rss_bytes() - rss0
        print(f"  peak growth of this process during N={n}: {grown / 2**30:.2f} GiB = {grown / n**2:.2f} N^2 "
              f"(S, R, A{', float64 S' if S64 is not None else ''} and the engines' temporaries)", flush=True)
        peaks[n] = grown
        del S, S64, R, A; gc.collect()
        for e in a.engines:
            extra, total = (np.nan, np.nan) if a.no_memory else peak_memory(e, n)
            sk = times.get("sklearn", (np.nan,))[0]
            rows.append(dict(engine=e, N=n, iters=a.iters, s_per_iter=times[e][0], total_per_iter=times[e][1],
                             speedup_vs_sklearn=sk / times[e][0], ratio_to_floor=times[e][0] / floor,
                             floor_s=floor, bw_copy_gbs=bw_copy / 1e9, bw_stream_gbs=bw_stream / 1e9,
                             peak_extra_per_N2=extra / n**2, peak_total_per_N2=total / n**2))
            if not a.no_memory: print(f"  {e:8s} peak extra {extra / n**2:.2f} N^2, total {total / n**2:.2f} N^2", flush=True)

    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print("load average at the end:", info["loadavg_end"])
    table = _markdown(rows)
    print("\n" + table)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        with open(a.out / "results.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
        cmd = "python benchmarks/bench_ap.py " + " ".join(argv if argv is not None else sys.argv[1:])
        (a.out / "README.md").write_text(
            f"# Dense AP benchmark\n\nCommand: `{cmd}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
            f"Machine: {json.dumps(info)}\n\n{table}\n\n" + _LEGEND +
            "\nPeak growth of the timing process per N (S, R, A, scikit-learn's float64 S when it runs, and every "
            "engine's temporaries, one after the other): " +
            ", ".join(f"N={n}: {g / 2**30:.2f} GiB ({g / n**2:.1f} N^2)" for n, g in peaks.items()) + "\n")
        print(f"wrote {a.out / 'results.csv'} and {a.out / 'README.md'}")
    return rows

_LEGEND = """s/iter: time of one iteration without one-off work: (T(iters) - T(1)) / (iters - 1) for insbank's engines, the
time of scikit-learn's message-passing loop / iters for sklearn; total/iter: whole call / iters.
x sklearn: scikit-learn's s/iter divided by the engine's (higher is faster). x floor: the engine's s/iter divided by
the bandwidth floor, 20 N^2 bytes / best measured bandwidth (copy or stream, same run). Peak extra / total: growth of
the peak resident set (VmHWM, reset once S was built) over the process after / before S was built, in bytes per
N^2, each engine in a fresh process (2 iterations through `affinity_propagation`); float32 S is 4 N^2, scikit-learn gets a float64 S (8 N^2). Timings share the machine with other work.
"""

def _markdown(rows):
    h = "| engine | N | s/iter | total/iter | x sklearn | x floor | floor s/iter | peak extra / N^2 | peak total / N^2 |"
    out = [h, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['engine']} | {r['N']} | {r['s_per_iter']:.4f} | {r['total_per_iter']:.4f} | "
                   f"{r['speedup_vs_sklearn']:.1f} | {r['ratio_to_floor']:.2f} | {r['floor_s']:.4f} | "
                   f"{r['peak_extra_per_N2']:.2f} | {r['peak_total_per_N2']:.2f} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
