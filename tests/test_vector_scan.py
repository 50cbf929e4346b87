"""The semantic scan's int8 copy (vector_scan.py): the nearest memories it returns are those a
full float32 scan finds, and a search made after another process's writes sees them.

Why these: the int8 copy is a derived structure kept in memory between searches, so it could
return a wrong neighbour (a bound too tight) or a stale one (a copy not rebuilt).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore, vector_scan
from smartcontext_cli.embedding import wheel_model
from smartcontext_cli.vector_scan import Scan

_EXTRA = "needs the semantic extra: pip install -e '.[test]'"
np = pytest.importorskip("numpy", reason=_EXTRA)
pytest.importorskip("onnxruntime", reason=_EXTRA)


def quantised(rows, monkeypatch) -> Scan:
    """A scan past its first search, reading the int8 copy whatever its size."""
    monkeypatch.setattr(vector_scan, "QUANTISE_MIN", 0)
    scan = Scan(rows)
    for _ in range(2):
        scan.nearest(np.ones(rows.shape[1], dtype=np.float32), 1)
    assert scan.quantised
    return scan


def assert_nearest(rows, vector, got_rows, got_sims, k):
    """``got`` are ``k`` best rows by cosine (float64 reference, float32 slack), best first."""
    ref = rows.astype(np.float64) @ vector.astype(np.float64)
    assert len(got_rows) == min(k, len(rows))
    assert len(set(got_rows.tolist())) == len(got_rows)
    assert np.allclose(got_sims, ref[got_rows], atol=1e-5)
    assert all(a >= b for a, b in itertools.pairwise(got_sims))
    left = np.setdiff1d(np.arange(len(rows)), got_rows)
    if len(left) and len(got_rows):
        assert ref[left].max() <= ref[got_rows].min() + 1e-5


def unit(matrix):
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float16)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    dims=st.integers(1, 48),
    k=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    twins=st.integers(0, 30),
    zeros=st.integers(0, 3),
)
def test_the_int8_scan_returns_the_float_scans_nearest(n, dims, k, seed, twins, zeros):
    rng = np.random.default_rng(seed)
    rows = unit(rng.standard_normal((n, dims)))
    # Exact duplicates (ties at the cut) and zero vectors (a step of its own).
    for _ in range(min(twins, n - 1)):
        rows[rng.integers(n)] = rows[0]
    rows[rng.integers(n, size=min(zeros, n))] = 0
    vector = rng.standard_normal(dims).astype(np.float32)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    with pytest.MonkeyPatch.context() as mp:
        scan = quantised(rows, mp)
    got_rows, got_sims = scan.nearest(vector, k)
    assert_nearest(rows, vector, got_rows, got_sims, k)
    plain_rows, plain_sims = Scan(rows).nearest(vector, k)  # the float32 scan: the same
    assert_nearest(rows, vector, plain_rows, plain_sims, k)
    assert np.allclose(np.sort(got_sims), np.sort(plain_sims), atol=1e-5)


def test_near_ties_at_the_cut_are_scored_exactly(monkeypatch):
    # Many vectors a hair apart around the k-th best: the int8 estimates cannot tell them
    # apart, the exact pass must.
    rng = np.random.default_rng(7)
    base = unit(rng.standard_normal((1, 384)))[0].astype(np.float32)
    rows = unit(base + rng.standard_normal((3000, 384)) * 1e-3)
    scan = quantised(rows, monkeypatch)
    for k in (1, 5, 50, 400):
        got_rows, got_sims = scan.nearest(base, k)
        assert_nearest(rows, base, got_rows, got_sims, k)


@pytest.mark.skipif(wheel_model() is None, reason=f"the model wheel is not installed; {_EXTRA}")
def test_searches_after_another_process_writes_see_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SMARTCONTEXT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(vector_scan, "QUANTISE_MIN", 0)
    reader = MemoryStore(namespace="w")
    writer = MemoryStore(namespace="w")  # its own connection: another process's writes
    for store in (reader, writer):
        store.settings.values["retrieval"] = "semantic"
    try:
        for text in ["Deploys go out on Tuesdays", "The cat sleeps on the sofa", "Lunch at noon"]:
            writer.remember(text)
        doomed = writer.remember("Billing runs on PostgreSQL 16")
        for _ in range(2):
            assert reader.search("which database holds invoices", limit=1)[0].id == doomed.id
        _, index = reader.semantic_index()
        assert index._scan is not None and index._scan.quantised

        writer.forget(doomed.id)
        top = reader.search("which database holds invoices", limit=4)
        assert doomed.id not in [m.id for m in top]

        fresh = writer.remember("Invoices are stored in the MySQL billing database")
        assert reader.search("which database holds invoices", limit=1)[0].id == fresh.id

        writer.storage.upsert_memories([replace(fresh, content="Lunch is soup")])
        top = reader.search("which database holds invoices", limit=4)
        assert all("MySQL" not in m.content for m in top)
    finally:
        reader.close()
        writer.close()
