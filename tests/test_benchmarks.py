"""The evolution benchmarks on a small timeline the test writes: resuming after an interrupt gives the same rounds,
and bad checkpoints, settings and comparisons are refused with messages that name the file and what differs."""
import gzip, json, sys
from pathlib import Path
import numpy as np
import pytest
from insbank.core import TIMELINE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import full_evolution, sparse_scale  # noqa: E402

WORDS = "write explain list code poem story sum sort reverse translate summarise classify".split()
SMALL = ["--embedder", "hash:64", "--quality", "none", "--bank-size", "12", "--knn", "5", "--chunk-size", "25"]


@pytest.fixture
def data(tmp_path, monkeypatch):
    "Every timeline file, 40 records each, and an embedding cache of the test's own."
    monkeypatch.setenv("INSBANK_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for d, ds in enumerate(TIMELINE):
        p = tmp_path / "data" / ds.path; p.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(p, "wt") as f:
            for i in range(40):
                f.write(json.dumps({"instruction": " ".join(rng.choice(WORDS, 6)) + f" {d}-{i}", "input": "", "output": "ok"}) + "\n")
    return tmp_path / "data"


def rounds(out):
    with np.load(out / "rounds.npz") as z: return {k: z[k] for k in z.files}


def test_interrupted_run_resumes_to_the_same_rounds(data, tmp_path, monkeypatch):
    full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(tmp_path / "a")])
    whole = rounds(tmp_path / "a")
    assert not (tmp_path / "a" / "checkpoint.pkl").exists()
    assert len(json.loads((tmp_path / "a" / "results.json").read_text())["rounds"]) == len(whole) // 3 == 8 * 2

    from insbank.pibe import PIBE
    calls = []
    orig = PIBE.partial_fit
    def flaky(self, *a, **k):                    # Ctrl-C in the fifth round
        calls.append(1)
        if len(calls) == 4: raise KeyboardInterrupt
        return orig(self, *a, **k)
    monkeypatch.setattr(PIBE, "partial_fit", flaky)
    with pytest.raises(KeyboardInterrupt):
        full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(tmp_path / "b")])
    assert (tmp_path / "b" / "checkpoint.pkl").exists() and not (tmp_path / "b" / "rounds.npz").exists()
    monkeypatch.setattr(PIBE, "partial_fit", orig)

    other = [x if x != "5" else "6" for x in SMALL]          # --knn 6: not the run the checkpoint holds
    with pytest.raises(SystemExit, match=r"checkpoint\.pkl: checkpoint written with other settings \{'knn': \(5, 6\)\}"):
        full_evolution.main(["--data-dir", str(data), *other, "--out", str(tmp_path / "b")])

    full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(tmp_path / "b")])
    resumed = rounds(tmp_path / "b")
    assert resumed.keys() == whole.keys()
    for k in whole: np.testing.assert_array_equal(resumed[k], whole[k], err_msg=k)
    assert json.loads((tmp_path / "b" / "results.json").read_text())["resumed_after_round"] == 3


def test_unreadable_checkpoint_and_missing_reference(data, tmp_path):
    out = tmp_path / "c"; out.mkdir()
    (out / "checkpoint.pkl").write_bytes(b"not a pickle")
    with pytest.raises(SystemExit, match=r"c/checkpoint\.pkl: unreadable checkpoint .*delete it or pass --restart"):
        full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(out)])
    with pytest.raises(SystemExit, match=r"--compare: .*nowhere/rounds\.npz does not exist"):
        full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(out), "--restart", "--compare", str(tmp_path / "nowhere")])


def test_compare_refuses_other_chunking_and_agrees_with_itself(data, tmp_path):
    full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(tmp_path / "ref")])
    full_evolution.main(["--data-dir", str(data), *SMALL, "--out", str(tmp_path / "same"), "--compare", str(tmp_path / "ref")])
    fid = json.loads((tmp_path / "same" / "results.json").read_text())["fidelity"]
    assert len(fid) == 16 and all(f["overlap"] == 12 and f["spearman_new"] > 0.999 for f in fid)
    one = [x if x != "25" else "40" for x in SMALL]           # one round per dataset: 8 rounds, other new items
    with pytest.raises(SystemExit, match=r"--compare: round 0 saw different new items in .*ref/rounds\.npz"):
        full_evolution.main(["--data-dir", str(data), *one, "--out", str(tmp_path / "one"), "--compare", str(tmp_path / "ref")])


def test_sparse_scale_adds_jittered_copies(data, tmp_path, capsys):
    sparse_scale.main(["--data-dir", str(data), "--embedder", "hash:64", "--n", "400", "--bank-size", "12", "--knn", "5",
                       "--out", str(tmp_path / "s")])
    res = json.loads((tmp_path / "s" / "results.json").read_text())
    assert res["n"] == 400 and res["real_new"] == 7 * 40 and res["synthetic_new"] == 400 - 12 - 280
    assert [r["candidates"] for r in res["rounds"]] == [40, 400]
    with pytest.raises(SystemExit):
        sparse_scale.main(["--data-dir", str(data), "--embedder", "hash:64", "--n", "12", "--bank-size", "12"])
    assert "--n must exceed --bank-size (12)" in capsys.readouterr().err


def test_bank_cost_reports_the_ratio_of_its_medians(data, tmp_path):
    import bank_cost
    rows, ratios = bank_cost.main(["--data-dir", str(data), "--per-dataset", "20", "--sizes", "10", "30", "--repeat", "2",
                                   "--embedder", "hash:64", "--out", str(tmp_path / "cost")])
    med = {(r["setting"], r["bank"]): r["median_s"] for r in rows}
    assert set(med) == {(s, b) for s in ratios for b in (10, 30)}
    for s, v in ratios.items(): assert v == pytest.approx(med[(s, 30)] / med[(s, 10)])
    text = (tmp_path / "cost" / "README.md").read_text()
    assert "bank 30 takes" in text and all(r["min_s"] <= r["median_s"] <= r["max_s"] for r in rows)
