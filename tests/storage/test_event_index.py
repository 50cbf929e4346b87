"""The session-event search index, part of the storage contract: every backend keeps it in sync
with the event documents on every write, and ranks them alike (FTS5's BM25 over the memories'
terms). Runs against every backend of ``conftest.BACKEND_NAMES``.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.storage import Storage, open_storage
from smartcontext_cli.storage.events import is_event_collection
from smartcontext_cli.text import query_terms, terms

from .test_contract import fresh_stores


def event(content: str, seq: int, role: str = "user") -> dict[str, Any]:
    return {"role": role, "content": content, "seq": seq, "branch": "main", "meta": {}}


def key(seq: int) -> str:
    return f"{seq:012d}"


def hits(storage: Storage, query: str, limit: int = 10, collections=None) -> list[tuple[str, int]]:
    return [(c, int(k)) for c, k, _ in storage.event_bm25(query_terms(query), limit, collections)]


def test_only_session_collections_are_events():
    assert is_event_collection("session") and is_event_collection("session-12")
    for name in ("session_views", "session_state", "sessions", "session-", "session-1a", "tasks"):
        assert not is_event_collection(name)


def test_events_are_searchable_as_they_are_written(storage: Storage, reopen: Callable[[], Storage]):
    storage.put_doc("session", key(1), event("We deploy the API with Docker on Fridays", 1))
    storage.put_doc("session", key(2), event("ok thanks", 2))
    storage.put_doc("session-3", key(3), event("Docker builds are cached in CI", 3, "tool"))
    storage.put_doc("session_views", "00000001", {"content": "docker docker docker"})
    assert set(hits(storage, "docker")) == {("session", 1), ("session-3", 3)}
    assert hits(storage, "docker", collections=["session-3"]) == [("session-3", 3)]
    assert hits(storage, "docker", collections=[]) == []
    assert hits(storage, "thanks") == [("session", 2)]
    assert storage.event_doc_freq("docker") == 2
    assert storage.event_index_stats()[0] == 3
    assert terms("docker")[0] in storage.event_vocabulary("d")
    # Another handle (another process) sees the same index.
    other = reopen()
    assert set(hits(other, "docker")) == {("session", 1), ("session-3", 3)}
    # Rewriting, deleting and dropping a collection follow at once, on both handles.
    storage.put_doc("session", key(1), event("We deploy with Kubernetes now", 1))
    assert hits(storage, "docker") == [("session-3", 3)] == hits(other, "docker")
    assert hits(other, "kubernetes") == [("session", 1)]
    assert storage.delete_doc("session", key(2))
    assert hits(other, "thanks") == [] and other.event_index_stats()[0] == 2
    assert storage.delete_collection("session-3") == 1
    assert hits(other, "docker") == [] and other.event_doc_freq("docker") == 0
    assert other.event_vocabulary("d") == terms("deploy")


def test_empty_queries_and_limits(storage: Storage):
    assert storage.event_bm25([], 10) == [] and storage.event_index_stats() == (0, 0.0)
    storage.put_doc("session", key(1), event("alpha", 1))
    assert storage.event_bm25(["alpha"], 0) == []
    assert storage.event_bm25(["nothing"], 10) == []


def test_event_scores_follow_the_fts5_formula_and_ties_go_newest_first(storage: Storage):
    docs = ["alpha beta", "alpha alpha gamma delta", "beta beta beta", "epsilon", "alpha beta"]
    for i, d in enumerate(docs, 1):
        storage.put_doc("session", key(i), event(d, i))
    n, avgdl = 5, 12 / 5

    def expected(tf: int, dl: int, df: int) -> float:
        idf = math.log((n - df + 0.5) / (df + 0.5))
        idf = idf if idf > 0 else 1e-6
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl))

    got = storage.event_bm25(["gamma", "epsilon"], 10)
    assert [(k, s) for _, k, s in got] == [
        (key(4), pytest.approx(expected(1, 1, 1), rel=1e-12)),
        (key(2), pytest.approx(expected(1, 4, 1), rel=1e-12)),
    ]
    tied = storage.event_bm25(["beta"], 10)
    assert [k for _, k, _ in tied][:2] == [key(3), key(5)]  # tf 3, then the newest tie
    assert [k for _, k, _ in tied][2] == key(1)


def test_an_import_indexes_events_and_an_export_round_trip_keeps_them(
    storage: Storage, open_store: Callable[..., Storage], backend: str
):
    storage.put_doc("session", key(1), event("The cache lives in Redis", 1))
    copy = open_store("json" if backend == "sqlite" else "sqlite", "copy")
    copy.import_all(storage.export_all())
    assert hits(copy, "redis") == [("session", 1)]


def test_sqlite_upgrade_indexes_events_stored_before_the_index(tmp_path: Path):
    store = open_storage(tmp_path, "old", "sqlite")
    store.put_doc("session", key(1), event("The release train leaves on Tuesday", 1))
    store.put_doc("session-2", key(2), event("Tuesday is also demo day", 2))
    store.close()
    # Make the store what a version before the index left behind.
    db = sqlite3.connect(tmp_path / "namespaces" / "old" / "store.db")
    db.executescript(
        "DROP TABLE events_fts; DROP TABLE events; DROP TABLE events_terms;"
        "DELETE FROM migrations WHERE name = 'm007_session_events';"
    )
    db.close()
    store = open_storage(tmp_path, "old", "sqlite")
    try:
        assert set(hits(store, "tuesday")) == {("session", 1), ("session-2", 2)}
        assert "m007_session_events" in store.applied_migrations()
    finally:
        store.close()


# the index agrees with the data after any sequence of writes, on every backend ------------------

WORDS = ["deploy", "docker", "redis", "cache", "the", "thanks", "ok", "api", "tuesday", "lock"]
texts = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)
collections = st.sampled_from(["session", "session-1", "session-2", "tasks"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), collections, st.integers(1, 12), texts),
        st.tuples(st.just("delete"), collections, st.integers(1, 12), st.just("")),
        st.tuples(st.just("drop"), collections, st.just(0), st.just("")),
    ),
    max_size=25,
)


def brute_force(storage: Storage, qterms: list[str]) -> dict[tuple[str, str], float]:
    """BM25 over the event documents as stored, computed from scratch."""
    docs = {
        (c, k): terms(d.get("content", ""))
        for c in storage.collections()
        if is_event_collection(c)
        for k, d in storage.list_docs(c)
    }
    n = len(docs)
    if not n:
        return {}
    avgdl = sum(len(t) for t in docs.values()) / n
    df = Counter(t for toks in docs.values() for t in set(toks))
    out = {}
    for doc, toks in docs.items():
        tf = Counter(toks)
        if not any(t in tf for t in qterms):
            continue
        score = 0.0
        for t in qterms:
            idf = math.log((n - df[t] + 0.5) / (df[t] + 0.5))
            idf = idf if idf > 0 else 1e-6
            score += idf * tf[t] * 2.2 / (tf[t] + 1.2 * (0.25 + 0.75 * len(toks) / avgdl))
        out[doc] = score
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_the_index_agrees_with_the_events_after_any_writes(ops: list[tuple[str, str, int, str]]):
    from smartcontext_cli.storage import BACKENDS

    with fresh_stores(*BACKENDS) as stores:
        for store in stores:
            for op, collection, seq, text in ops:
                if op == "put":
                    store.put_doc(collection, key(seq), event(text, seq))
                elif op == "delete":
                    store.delete_doc(collection, key(seq))
                else:
                    store.delete_collection(collection)
        reference = stores[0]
        for store in stores:
            # A second handle builds its index from what is stored, not from the writes it saw.
            ns_dir = Path(store.path) if Path(store.path).is_dir() else Path(store.path).parent
            cold = open_storage(ns_dir.parents[1], ns_dir.name, store.backend)
            try:
                for handle in (store, cold):
                    for word in ("docker", "redis cache", "the thanks", "tuesday lock api"):
                        qterms = query_terms(word)
                        want = brute_force(store, qterms)
                        got = {(c, k): s for c, k, s in handle.event_bm25(qterms, 100)}
                        assert got == pytest.approx(want, rel=1e-9), word
                        assert [h[:2] for h in handle.event_bm25(qterms, 100)] == [
                            h[:2] for h in reference.event_bm25(qterms, 100)
                        ]
                    for word in WORDS:
                        (term,) = terms(word)
                        assert handle.event_doc_freq(term) == reference.event_doc_freq(term)
                    assert handle.event_index_stats()[0] == reference.event_index_stats()[0]
            finally:
                cold.close()
