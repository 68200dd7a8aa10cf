"""A hostile-but-ordinary user against the command line (issue 13): every mistake is one line on stderr and exit 2, a
failed command changes nothing that was committed, nothing is written outside the bank or the named output, and the
bank is the same byte for byte on any thread count.

Each test drives the real `insbank` entry point in a subprocess, as a user would, on small data with the hash embedder.
"""
import json, os, resource, signal, stat, subprocess, sys, threading, time
from pathlib import Path
import pytest

INSBANK = str(Path(sys.executable).parent / "insbank")
FAST = ["--embedder", "hash:64", "--quiet"]


def cli(*args, env=None, preexec_fn=None, timeout=300):
    p = subprocess.run([INSBANK, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
    return p.returncode, p.stdout, p.stderr


def one_line_error(rc, err, *needles):
    assert rc == 2, (rc, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles: assert n in err, (n, err)


def snapshot(d: Path):
    "Every file under d with its bytes (run.json aside: it holds timings)."
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and p.name != "run.json"}


def write_jsonl(path, n, prefix="r", seed=0):
    import random
    rnd = random.Random(seed)
    words = "write explain list code poem story sum sort reverse translate summarise classify".split()
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"{prefix}{i}", "instruction": " ".join(rnd.choice(words) for _ in range(6)) + f" {i}",
                                "output": "ok " * rnd.randint(1, 30)}) + "\n")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    a, b = write_jsonl(d / "a.jsonl", 60, "a", 0), write_jsonl(d / "b.jsonl", 40, "b", 1)
    rc, out, err = cli("init", d / "bank", a, "--size", 12, *FAST); assert rc == 0, err
    rc, out, err = cli("evolve", d / "bank", b, "--quiet"); assert rc == 0, err
    return d


# --- a failed command leaves nothing behind ------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["bad.jsonl", "--size", 5], "bad.jsonl:2"),                  # a malformed line
    (["a.jsonl", "--size", 5, "--damping", 1.5], "damping must be"),   # a bad option value
    (["missing.jsonl", "--size", 5], "missing.jsonl"),            # no such file
])
def test_failed_init_leaves_nothing(world, args, needle):
    (world / "bad.jsonl").write_text('{"id": "x", "instruction": "i", "output": "o"}\n{"id": \n')
    target = world / f"fresh-{needle[:6].replace(' ', '_').replace(':', '')}"
    rc, out, err = cli("init", target, *[world / x if str(x).endswith(".jsonl") else x for x in args], *FAST)
    one_line_error(rc, err, needle)
    assert not target.exists(), sorted(target.rglob("*"))
    rc, out, err = cli("init", target, world / "a.jsonl", "--size", 7, "--preset", "paper", *FAST)   # a retry with other settings
    assert rc == 0, err


def test_failed_evolve_changes_nothing(world):
    before = snapshot(world / "bank")
    (world / "bad2.jsonl").write_text('{"id": "a1", "instruction": "clash", "output": "o"}\n')
    rc, out, err = cli("evolve", world / "bank", world / "bad2.jsonl", "--quiet")
    one_line_error(rc, err, "already in the bank")
    assert snapshot(world / "bank") == before


# --- damaged files: one line naming the file -----------------------------------------------------------------------

def _copy(world, name):
    import shutil
    shutil.copytree(world / "bank", world / name)
    return world / name


@pytest.mark.parametrize("damage,needle", [
    (lambda b: (b / "bank.json").write_text("{not json"), "bank.json: damaged"),
    (lambda b: (b / "bank.json").write_text('{"bank_size": 3}'), "not an insbank configuration"),
    (lambda b: (sorted((b / "rounds").iterdir())[-1] / "meta.json").write_text('{"round": '), "meta.json: damaged"),
    (lambda b: (sorted((b / "rounds").iterdir())[-1] / "bank.parquet").write_bytes(b"PAR1 truncated"), "bank.parquet: damaged"),
])
def test_damaged_bank_files(world, damage, needle):
    b = _copy(world, f"hurt-{abs(hash(needle)) % 10**6}")
    damage(b)
    rc, out, err = cli("info", b)
    one_line_error(rc, err, needle)


def test_truncated_state_on_evolve(world):
    b = _copy(world, "hurt-state")
    npy = sorted((sorted((b / "rounds").iterdir())[-1] / "state").glob("*.npy"))[0]
    npy.write_bytes(npy.read_bytes()[:20])
    before = snapshot(b)
    rc, out, err = cli("evolve", b, write_jsonl(world / "c.jsonl", 10, "c", 2), "--quiet")
    one_line_error(rc, err, npy.name, "damaged")
    assert snapshot(b) == before


def test_round_number_comes_from_the_directory(world):
    b = _copy(world, "renumbered")
    meta = sorted((b / "rounds").iterdir())[-1] / "meta.json"
    m = json.loads(meta.read_text()); m["round"] = -7; meta.write_text(json.dumps(m))
    rc, out, err = cli("evolve", b, write_jsonl(world / "d.jsonl", 10, "d", 3), "--quiet")
    assert rc == 0, err
    assert [p.name[:4] for p in sorted((b / "rounds").iterdir())] == ["0000", "0001", "0002"]


# --- nothing written outside the bank or the named output ----------------------------------------------------------

def test_lock_symlink_is_not_followed(world):
    b = _copy(world, "locklink")
    victim = world / "victim-lock.txt"; victim.write_text("precious")
    (b / ".lock").unlink(missing_ok=True); (b / ".lock").symlink_to(victim)
    rc, out, err = cli("evolve", b, write_jsonl(world / "e.jsonl", 10, "e", 4), "--quiet")
    one_line_error(rc, err, ".lock")
    assert victim.read_text() == "precious"


def test_planted_temporary_is_not_followed(world):
    victim = world / "victim-tmp.txt"; victim.write_text("precious")
    out = world / "exp" / "top.jsonl"; out.parent.mkdir(exist_ok=True)
    (out.parent / "top.jsonl.tmp").symlink_to(victim)
    rc, _, err = cli("export", world / "bank", out, "-b", 5)
    assert rc == 0, err
    assert victim.read_text() == "precious" and len(out.read_text().splitlines()) == 5
    assert sorted(p.name for p in out.parent.iterdir()) == ["dataset_info.json", "top.jsonl", "top.jsonl.tmp"]


def test_export_to_a_symlink_is_refused(world):
    victim = world / "victim-link.txt"; victim.write_text("precious")
    (world / "link.jsonl").symlink_to(victim)
    rc, out, err = cli("export", world / "bank", world / "link.jsonl", "-b", 3)
    one_line_error(rc, err, "symbolic link")
    assert victim.read_text() == "precious"


def test_export_to_a_fifo_streams(world):
    fifo = world / "pipe"; os.mkfifo(fifo); got = []
    t = threading.Thread(target=lambda: got.append(open(fifo).read())); t.start()
    rc, out, err = cli("export", world / "bank", fifo, "-b", 4, "--format", "messages")
    t.join(30)
    assert rc == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and len(got[0].splitlines()) == 4


def test_export_to_stdout_and_a_closed_pipe(world):
    rc, out, err = cli("export", world / "bank", "-", "-b", 3)
    assert rc == 0 and len(out.splitlines()) == 3, err
    p = subprocess.run(f"'{INSBANK}' top '{world / 'bank'}' -b 12 --json | head -1", shell=True, capture_output=True, text=True)
    assert p.stderr == "" and len(p.stdout.splitlines()) == 1, p.stderr


def test_unwritable_export_path(world):
    (world / "afile").write_text("x")
    rc, out, err = cli("export", world / "bank", world / "afile" / "out.jsonl", "-b", 3)
    one_line_error(rc, err, "afile")


def test_full_disk_keeps_the_old_file(world):
    "A file-size limit stands in for a full disk: the write fails with one line, the old export and no temporary remain."
    out = world / "full" / "top.jsonl"; out.parent.mkdir()
    out.write_text("old\n")
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
    rc, _, err = cli("export", world / "bank", out, "-b", 12, "--no-dataset-info", preexec_fn=limit)
    one_line_error(rc, err, "top.jsonl")
    assert out.read_text() == "old\n" and sorted(p.name for p in out.parent.iterdir()) == ["top.jsonl"]


# --- input edge cases -----------------------------------------------------------------------------------------------

def test_pretty_printed_object_and_directory_and_surrogate(world):
    (world / "pretty.json").write_text(json.dumps({"id": "p1", "instruction": "one pretty record", "output": "fine"}, indent=2))
    rc, out, err = cli("select", "random", world / "pretty.json", "-m", 1, "--out", world / "sel.jsonl", *FAST)
    assert rc == 0, err
    (world / "emptydir").mkdir()
    rc, out, err = cli("init", world / "dirbank", world / "emptydir", "--size", 1, *FAST)
    one_line_error(rc, err, "emptydir")
    (world / "sur.jsonl").write_text('{"id": "s1", "instruction": "ok", "output": "o"}\n{"id": "s2", "instruction": "bad \\ud800", "output": "o"}\n')
    rc, out, err = cli("init", world / "surbank", world / "sur.jsonl", "--size", 1, *FAST)
    one_line_error(rc, err, "sur.jsonl:2", "surrogate")


def test_conversation_without_answer_warns(world):
    (world / "sg.jsonl").write_text("".join(json.dumps({"id": f"g{i}", "conversations": [{"from": "human", "value": f"q {i}"}]
                                                        + ([{"from": "gpt", "value": "a"}] if i else [])}) + "\n" for i in range(5)))
    rc, out, err = cli("init", world / "sgbank", world / "sg.jsonl", "--size", 2, *FAST)
    assert rc == 0 and "no assistant turn" in err and "g0" in err, err


def test_huge_record_is_refused_in_bounded_memory(world):
    big = world / "big.jsonl"
    with open(big, "w") as f: f.write(json.dumps({"id": "big", "instruction": "x" * 20_000_000, "output": "y"}) + "\n")
    def cap(): resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    rc, out, err = cli("init", world / "bigbank", big, "--size", 1, *FAST, preexec_fn=cap)
    one_line_error(rc, err, "big.jsonl:1", "max_chars")
    assert not (world / "bigbank").exists()


# --- races and determinism ------------------------------------------------------------------------------------------

def test_two_inits_at_once_make_one_round_zero(world):
    a = write_jsonl(world / "race.jsonl", 300, "q", 5)
    ps = [subprocess.Popen([INSBANK, "init", str(world / "race"), str(a), "--size", "20", *FAST], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True) for _ in range(2)]
    res = [(p.wait(300), p.stderr.read()) for p in ps]
    assert [p.name for p in sorted((world / "race" / "rounds").iterdir())] == ["0000-race"], res
    assert sum(rc == 0 for rc, _ in res) >= 1
    for rc, err in res:
        if rc: one_line_error(rc, err)


@pytest.mark.parametrize("preset", ["paper", "insbank"])
def test_same_bank_on_one_or_two_threads(world, preset):
    "Large enough that OpenBLAS splits the history's products by thread count (ranks swapped before the fix)."
    a, b = write_jsonl(world / "t1.jsonl", 1200, "t", 6), write_jsonl(world / "t2.jsonl", 800, "u", 7)
    banks = []
    for th in ("1", "2"):
        env = dict(OMP_NUM_THREADS=th, NUMBA_NUM_THREADS=th, OPENBLAS_NUM_THREADS=th, MKL_NUM_THREADS=th)
        d = world / f"threads-{preset}-{th}"
        assert cli("init", d, a, "--size", 150, "--preset", preset, "--embedder", "hash:256", "--quiet", env=env)[0] == 0
        assert cli("evolve", d, b, "--quiet", env=env)[0] == 0
        banks.append(snapshot(d / "rounds"))
    assert banks[0] == banks[1], [k for k in banks[0] if banks[0][k] != banks[1].get(k)]
