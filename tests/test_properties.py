"Property-based tests: the readers round-trip records and name bad lines; AP's validation never lets another exception through."
import json, gzip, tempfile, warnings
from pathlib import Path
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from hypothesis.extra import numpy as hnp
from insbank.core import read_records, DataError, InsbankError
from insbank.ap import affinity_propagation, check_ap_inputs
from insbank.sparse import sparse_affinity_propagation, graph_from_edges

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)   # any Unicode but lone surrogates
nonblank = text.filter(lambda s: s.strip())
record = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=8), "instruction": nonblank, "input": text, "output": text},
                               optional={"source": st.text(min_size=1, max_size=8), "level": st.integers() | st.none()})

def _unique(recs): return len({r["id"] for r in recs}) == len(recs)

@FAST
@given(recs=st.lists(record, min_size=1, max_size=8), layout=st.sampled_from(["jsonl", "array", "pretty", "gz"]),
       ascii_=st.booleans())
def test_records_round_trip(tmp_path, recs, layout, ascii_):
    "Records written as JSON Lines, a JSON array (compact, pretty-printed or gzipped) read back as the same records."
    p = tmp_path / {"jsonl": "d.jsonl", "array": "d.json", "pretty": "d.json", "gz": "d.jsonl.gz"}[layout]
    if layout == "jsonl": p.write_text("\n".join(json.dumps(r, ensure_ascii=ascii_) for r in recs) + "\n", encoding="utf-8")
    elif layout == "gz":
        with gzip.open(p, "wt", encoding="utf-8") as f: f.write("\n".join(json.dumps(r, ensure_ascii=ascii_) for r in recs))
    else: p.write_text(json.dumps(recs, ensure_ascii=ascii_, indent=2 if layout == "pretty" else None), encoding="utf-8")
    got = read_records(p)
    assert [(g.id, g.instruction, g.input, g.output) for g in got] == [(r["id"], r["instruction"], r["input"], r["output"]) for r in recs]
    assert [g.source for g in got] == [r.get("source", "d") for r in recs]
    assert [g.extra for g in got] == [{k: v for k, v in r.items() if k == "level"} for r in recs]

@FAST
@given(rec=record)
def test_one_pretty_object(tmp_path, rec):
    "One pretty-printed JSON object is one record, not a malformed first line."
    p = tmp_path / "one.json"; p.write_text(json.dumps(rec, indent=2), encoding="utf-8")
    assert [r.id for r in read_records(p)] == [rec["id"]]

garbage = st.one_of(st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b.strip()),
                    st.text(min_size=1, max_size=40).filter(lambda s: "\n" not in s and s.strip()).map(lambda s: s.encode("utf-8", "surrogatepass")),
                    st.sampled_from([b"{", b"}", b"[1, 2]", b'{"id": 1}', b'"x"', b"null", b'{"id": 1, "instruction": "\\ud800"}',
                                     b'{"id": 2, "instruction": ""}', b"\xff\xfe", b'{"id": 3, "instruction": 5}']))

@FAST
@given(good=st.lists(record, min_size=1, max_size=4), bad=garbage, where=st.integers(0, 4))
def test_garbage_line_is_named(tmp_path, good, bad, where):
    "A garbage line among good ones is a DataError naming file and line (or is read, if it happens to be a record); never another exception."
    lines = [json.dumps(r).encode() for r in good]
    k = min(where, len(lines)); lines.insert(k, bad)
    p = tmp_path / "g.jsonl"; p.write_bytes(b"\n".join(lines) + b"\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try: read_records(p)
        except DataError as e:
            msg = str(e)
            assert "\n" not in msg and msg.startswith(str(p)), msg
            if k > 0: assert f"{p}:{k + 1}" in msg or f"{p}:" in msg, msg   # names the line (a first line may read as a document)
            if k > 0 and not msg.startswith(f"{p}:1"): assert msg.startswith(f"{p}:{k + 1}"), msg

@FAST
@given(size=st.integers(1, 300), cap=st.integers(1, 300))
def test_max_chars(tmp_path, size, cap):
    "A record is refused exactly when its line is longer than max_chars, and the refusal names line, size and option."
    line = json.dumps({"id": "x", "instruction": "y" * size})
    p = tmp_path / "m.jsonl"; p.write_text(line + "\n")
    if len(line) <= cap: assert read_records(p, max_chars=cap)[0].instruction == "y" * size
    else:
        with pytest.raises(DataError, match=rf"m.jsonl:1: record of [\d,]+ (characters|bytes) is over max_chars={cap:,}"): read_records(p, max_chars=cap)

# AP: random shapes, dtypes and values give a clean result or an InsbankError, never another exception
dtypes = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.bool_, np.complex64, np.uint8])
arrays = dtypes.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)))
scalar = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 300), st.none(), st.text(max_size=3),
                   st.booleans())

def _clean(res):
    assert np.isfinite(res.R).all() and np.isfinite(res.A).all()
    assert res.n_iter >= 0 and set(res.exemplars.tolist()) <= set(range(res.graph.n if hasattr(res, "graph") else len(res.R)))

@FAST
@given(S=arrays, H=st.none() | arrays, damping=st.one_of(st.just(0.5), scalar), max_iter=st.one_of(st.just(20), scalar),
       convergence_iter=st.one_of(st.just(5), scalar))
def test_ap_result_or_insbank_error(S, H, damping, max_iter, convergence_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try: res = affinity_propagation(S, history=H, damping=damping, max_iter=max_iter if not isinstance(max_iter, int) or isinstance(max_iter, bool) else min(max_iter, 30),
                                        convergence_iter=convergence_iter, engine="numpy")
        except InsbankError as e: assert "\n" not in str(e); return
    _clean(res)

@FAST
@given(n=st.integers(2, 6), data=st.data())
def test_ap_square_floats(n, data):
    "Square real matrices, any finite values: a finite result, or an InsbankError that says to rescale."
    w = data.draw(st.sampled_from([32, 64]))
    S = data.draw(hnp.arrays(np.float32 if w == 32 else np.float64, (n, n), elements=st.floats(allow_nan=False, allow_infinity=False, width=w)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try: res = affinity_propagation(S, max_iter=30, engine="numpy")
        except InsbankError as e: assert "rescale" in str(e) or "NaN or inf" in str(e), e; return
    _clean(res)

@FAST
@given(n=st.integers(1, 5), data=st.data(), H=st.none() | arrays, max_iter=st.one_of(st.just(10), scalar))
def test_sparse_ap_result_or_insbank_error(n, data, H, max_iter):
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = data.draw(st.lists(st.sampled_from(pairs), unique=True) if pairs else st.just([]))
    sims = data.draw(hnp.arrays(np.float64, len(edges), elements=st.floats(-1e6, 1e6)))
    g = graph_from_edges(n, [e[0] for e in edges], [e[1] for e in edges], sims, preference=-1.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try: res = sparse_affinity_propagation(g, history=H, max_iter=max_iter if not isinstance(max_iter, int) or isinstance(max_iter, bool) else min(max_iter, 30))
        except InsbankError as e: assert "\n" not in str(e); return
    _clean(res)

turn_text = nonblank.filter(lambda s: len(s.strip()) > 0)
conversation = st.builds(
    lambda sys_, pairs: ([{"from": "system", "value": sys_}] if sys_ else []) +
                        [t for q, a in pairs for t in ({"from": "human", "value": q}, {"from": "gpt", "value": a})],
    st.one_of(st.none(), turn_text), st.lists(st.tuples(turn_text, turn_text), min_size=1, max_size=3))

@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(convs=st.lists(conversation, min_size=3, max_size=8), m=st.integers(1, 3),
       fmt=st.sampled_from(["messages", "sharegpt", "alpaca"]))
def test_bank_round_trip(tmp_path_factory, convs, m, fmt):
    "Records through a bank and out of its export come back with every turn and the system prompt, in rank order."
    from insbank.core import Record
    from insbank.bank import InsBank
    from insbank.formats import messages
    d = tmp_path_factory.mktemp("rt")
    recs = [Record.from_dict({"id": f"c{i}", "conversations": c}) for i, c in enumerate(convs)]
    bank = InsBank.create(d / "bank", bank_size=min(m, len(recs)), embedder="hash:32")
    bank.add(recs, "convs", progress=False, log=lambda *a: None)
    out = bank.export(d / f"out.{'json' if fmt == 'sharegpt' else 'jsonl'}", fmt=fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = read_records(out, fmt="sharegpt" if fmt != "alpaca" else "auto") if fmt != "messages" else \
            [Record.from_dict(json.loads(l)) for l in out.read_text(encoding="utf-8").split("\n") if l]   # JSON Lines: \n only
    by_id = {r.id: r for r in recs}
    assert [r.id for r in back] == bank.top()["id"].tolist()
    for r in back: assert messages(r) == messages(by_id[r.id]), (fmt, r.id)
