#!/usr/bin/env python3
"""Rebuild the embedded sample in data/ from the shared pool (../shared/data, see its MANIFEST.md).

For each dataset of `insbank.core.TIMELINE` whose license allows redistribution, the lines kept are exactly
the records `load_timeline(per_dataset=1000, seed=0)` draws, copied verbatim (every field kept), gzip-compressed
with mtime 0, so a rerun gives byte-identical files. Usage: python data/make_sample.py [SHARED_DATA_DIR]
"""
import gzip, hashlib, io, sys
from pathlib import Path
import numpy as np
from insbank.core import TIMELINE

N, SEED = 1000, 0
SKIP = {"lima": "no license stated for the copy in the shared pool; upstream (GAIR/lima) could not be checked"}

def sample_lines(path:Path, n:int, seed:int) -> list[bytes]:
    "The lines `insbank.core._subsample` keeps: a sorted seeded choice of n record indices (all if fewer)."
    with gzip.open(path, "rb") as f: lines = [l for l in f if l.strip()]
    if len(lines) <= n: return lines
    idx = np.sort(np.random.default_rng(seed).choice(len(lines), n, replace=False))
    return [lines[i] for i in idx]

def write_gz(path:Path, lines:list[bytes]):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as g: g.writelines(lines)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()

def main(src=None):
    src, out = Path(src or Path(__file__).resolve().parents[2] / "shared" / "data"), Path(__file__).resolve().parent
    (out / "sample").mkdir(exist_ok=True)
    for d in TIMELINE:
        if d.name in SKIP: print(f"skip {d.name}: {SKIP[d.name]}"); continue
        lines = sample_lines(src / d.path, N, SEED)
        dest = out / "sample" / f"{d.name}.jsonl.gz"
        sha = write_gz(dest, lines)
        print(f"{dest.relative_to(out)}  {len(lines)} records  {dest.stat().st_size} bytes  sha256 {sha}")

if __name__ == "__main__": main(*sys.argv[1:])
