"""A killed or interrupted round leaves the last committed round intact, and re-running resumes.

These run the real `insbank` command in a subprocess and kill it: SIGKILL at two points inside the commit
(injected with INSBANK_FAULT, as a power cut would), and Ctrl-C (SIGINT) while AP is running.
"""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest

CLI = [str(Path(sys.executable).parent / "insbank")]
WORDS = "write explain list code poem story sum sort reverse translate summarise classify".split()


def write_jsonl(path, prefix, n, seed):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"{prefix}{i}", "instruction": " ".join(rng.choice(WORDS, 6)) + f" {i}",
                                "input": "", "output": "ok " * int(rng.integers(1, 30))}) + "\n")
    return path


def run(*args, env=None, **kw):
    e = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([*CLI, *map(str, args)], env=e, capture_output=True, text=True, **kw)


def snapshot(bank):
    "Bytes of every committed file, except the embedding cache and the lock."
    return {str(p.relative_to(bank)): p.read_bytes() for p in sorted(bank.rglob("*"))
            if p.is_file() and "cache" not in p.parts and p.name != ".lock"}


@pytest.fixture
def two_sets(tmp_path):
    return write_jsonl(tmp_path / "a.jsonl", "a", 60, 0), write_jsonl(tmp_path / "b.jsonl", "b", 50, 1)


@pytest.mark.parametrize("point", ["mid-write", "before-commit"])
def test_sigkill_inside_commit_keeps_last_round(tmp_path, two_sets, point):
    a, b = two_sets
    bank = tmp_path / "bank"
    assert run("init", bank, a, "--size", 20, "--embedder", "hash:64", "--quiet").returncode == 0
    before = snapshot(bank)
    r = run("evolve", bank, b, "--quiet", env={"INSBANK_FAULT": point})
    assert r.returncode == -signal.SIGKILL
    assert list((bank / "rounds").glob(".tmp-*")), "the killed round should have left its debris"
    after = snapshot(bank)
    assert all(after.get(k) == v for k, v in before.items()), "a committed file changed"
    assert not [k for k in after if k not in before and not k.startswith("rounds/.tmp-")], "an uncommitted round appeared"
    info = json.loads(run("info", bank, "--json").stdout)
    assert [r["dataset"] for r in info["rounds"]] == ["a"]
    # re-running resumes: the round is computed again and equals an uninterrupted run
    assert run("evolve", bank, b, "--quiet").returncode == 0
    assert not list((bank / "rounds").glob(".tmp-*"))
    clean = tmp_path / "clean"
    run("init", clean, a, "--size", 20, "--embedder", "hash:64", "--quiet"); run("evolve", clean, b, "--quiet")
    s1, s2 = snapshot(bank), snapshot(clean)
    keep = [k for k in s1 if not k.endswith("run.json")]
    assert {k: s1[k] for k in keep} == {k: s2[k] for k in keep}


def test_ctrl_c_during_ap_keeps_last_round_and_resumes(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", "a", 300, 0)
    b = write_jsonl(tmp_path / "b.jsonl", "b", 1500, 1)
    bank = tmp_path / "bank"
    # fixed, long AP (no convergence rule) so that the interrupt lands inside it
    assert run("init", bank, a, "--size", 200, "--embedder", "hash:64", "--quiet",
               "--convergence-iter", 0, "--max-iter", 3000, "--engine", "numpy").returncode == 0
    before = snapshot(bank)
    p = subprocess.Popen([*CLI, "evolve", str(bank), str(b), "--quiet"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                         # a job started in the background of a non-interactive shell (as CI may run us) inherits
                         # SIGINT ignored, and Python then installs no KeyboardInterrupt handler: restore the default
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in p.stdout:
        if "round 1 over" in line: break
    time.sleep(3.0)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, (out, err)
    assert "interrupted" in err
    assert snapshot(bank) == before
    assert not list((bank / "rounds").glob(".tmp-*"))
