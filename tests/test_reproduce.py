"""The papermill runner on throwaway experiment notebooks: outputs, index, parameters, and failing checks."""
import json
from pathlib import Path

import nbformat
import pytest

from insbank.core import InsbankError
from insbank.reproduce import reproduce, register_check, CHECKS


def _experiment(root: Path, name: str, body: str, full_yaml: str | None = None):
    d = root / "nbs" / "experiments"
    (d / "params").mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(f"OUT_DIR = 'reports/{name}'\nN = 3\nM = 2")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, d / f"{name}.ipynb")
    if full_yaml is not None:
        (d / "params" / f"{name}.full.yaml").write_text(full_yaml)


WRITE = ("import json, pathlib\np = pathlib.Path(OUT_DIR); p.mkdir(parents=True, exist_ok=True)\n"
         "(p / 'table.csv').write_text('a,b\\n1,2\\n')\n"
         "(p / 'metrics.json').write_text(json.dumps({'n': N, 'overlap': M, 'peak_rss_gib': 0.25}))\n")


@pytest.fixture
def toy_check():
    @register_check("toy")
    def _overlap_within_n(metrics, out):
        return [] if 0 <= metrics["overlap"] <= metrics["n"] else [f"overlap {metrics['overlap']} outside 0..{metrics['n']}"]
    yield
    CHECKS.pop("toy", None)


def test_runs_defaults_and_full_params(tmp_path, toy_check):
    _experiment(tmp_path, "toy", WRITE, full_yaml="N: 9\nM: 4\n")
    out = tmp_path / "reports"
    res = reproduce(out, check=True, root=tmp_path, log=None)
    assert [r["status"] for r in res] == ["ok"]
    assert json.loads((out / "toy" / "metrics.json").read_text()) == {"n": 3, "overlap": 2, "peak_rss_gib": 0.25}
    assert (out / "toy" / "toy.ipynb").exists() and (out / "toy" / "table.csv").exists()
    idx = json.loads((out / "index.json").read_text())
    assert idx[0]["experiment"] == "toy" and idx[0]["parameters"] == "defaults"
    assert set(idx[0]["outputs"]) == {"metrics.json", "table.csv"}
    # what changes on every run (wall time, peak memory) is in toy/run.json, not in the committed index
    run = json.loads((out / "toy" / "run.json").read_text())
    assert run["wall_s"] > 0 and run["peak_rss_gib"] == 0.25 and res[0]["wall_s"] == run["wall_s"]
    assert "wall_s" not in idx[0] and "peak_rss_gib" not in idx[0] and "0.25" not in (out / "index.md").read_text()
    assert "| toy |" in (out / "index.md").read_text()
    reproduce(out, full=True, check=True, root=tmp_path, log=None)
    assert json.loads((out / "toy" / "metrics.json").read_text()) == {"n": 9, "overlap": 4, "peak_rss_gib": 0.25}
    assert json.loads((out / "index.json").read_text())[0]["parameters"] == "params/toy.full.yaml"


def test_failing_sanity_check_fails(tmp_path, toy_check):
    _experiment(tmp_path, "toy", WRITE, full_yaml="N: 1\nM: 5\n")   # overlap 5 > n 1
    with pytest.raises(InsbankError, match="did not pass their checks"):
        reproduce(tmp_path / "r", full=True, check=True, root=tmp_path, log=None)
    e = json.loads((tmp_path / "r" / "index.json").read_text())[0]
    assert e["status"] == "check failed" and "overlap 5 outside 0..1" in e["problems"][0]
    # without check=True the same run passes
    reproduce(tmp_path / "r2", full=True, root=tmp_path, log=None)


def test_missing_metrics_and_failing_notebook(tmp_path):
    _experiment(tmp_path, "a_nometrics", "x = 1")
    _experiment(tmp_path, "b_raises", "raise RuntimeError('boom')")
    _experiment(tmp_path, "c_fine", WRITE)
    stale = tmp_path / "r" / "a_nometrics"; stale.mkdir(parents=True)
    (stale / "metrics.json").write_text("{}")    # left by an earlier run: must not count
    with pytest.raises(InsbankError, match=r"\['a_nometrics', 'b_raises'\]"):
        reproduce(tmp_path / "r", check=True, root=tmp_path, log=None)
    idx = {e["experiment"]: e for e in json.loads((tmp_path / "r" / "index.json").read_text())}
    assert idx["a_nometrics"]["status"] == "check failed" and "missing" in idx["a_nometrics"]["problems"][0]
    assert idx["b_raises"]["status"] == "failed" and "boom" in idx["b_raises"]["error"]
    assert idx["c_fine"]["status"] == "ok"
    # --only keeps the other entries of the index
    reproduce(tmp_path / "r", only=["c_fine"], root=tmp_path, log=None)
    assert len(json.loads((tmp_path / "r" / "index.json").read_text())) == 3


def test_unknown_name(tmp_path):
    _experiment(tmp_path, "toy", WRITE)
    with pytest.raises(InsbankError, match="unknown experiment"):
        reproduce(tmp_path / "r", only=["nope"], root=tmp_path, log=None)


def test_pool_arrays_in_a_fresh_process_equal_in_process(tmp_path):
    import gzip
    import numpy as np
    from insbank.core import TIMELINE
    from insbank.reproduce import pool_arrays
    for ds in TIMELINE:
        (tmp_path / ds.path).parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(tmp_path / ds.path, "wt") as f:
            for i in range(3):
                f.write(json.dumps(dict(id=f"{ds.name}-{i}", instruction=f"explain {ds.name} item {i}", output="word " * (i + 2))) + "\n")
    kw = dict(data_dir=tmp_path, embedder="hash:16", scorer="heuristic", cache_dir=tmp_path / "cache")
    child = pool_arrays(10, seeds=[0, 3], **kw)
    here = pool_arrays(10, seeds=[0, 3], fresh_process=False, **kw)
    assert len(child) == 2
    for a, b in zip(child, here):
        assert list(a["ids"]) == list(b["ids"]) and list(a["sources"]) == list(b["sources"])
        np.testing.assert_array_equal(a["X"], b["X"]); np.testing.assert_array_equal(a["quality"], b["quality"])
        assert a["X"].shape == (10, 16) and a["complexity"] is None
