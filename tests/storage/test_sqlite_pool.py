"""Search's bounded candidate reads on SQLite (storage/sqlite_pool.py).

What a user would notice if it were wrong: on a large store, a multi-word search that misses
the memory holding every word, returns fewer results than match, or ranks them in another
order than the exact BM25 when everything was read. Stores here are small, so the line where
bounded reads start (``EXACT_POSTINGS``) and the caps are moved to exercise them.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.models import Memory
from smartcontext_cli.storage import sqlite_pool
from smartcontext_cli.storage.sqlite_store import SQLiteStorage
from smartcontext_cli.text import terms

WORDS = ["redis", "cache", "deploy", "the", "postgres", "pool", "token", "a", "timeout", "auth"]


def corpus(texts: list[tuple[list[int], int]]) -> list[Memory]:
    out = []
    for i, (word_ids, minute) in enumerate(texts):
        stamp = f"2025-01-01T00:{minute:02d}:00.000000+00:00"
        out.append(
            Memory(
                content=" ".join(WORDS[w] for w in word_ids),
                id=uuid.UUID(int=i + 1).hex,
                created_at=stamp,
                updated_at=stamp,
            )
        )
    return out


def bounded(monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    """Every query of two or more words takes the bounded path, with reads capped at ``cap``."""
    monkeypatch.setattr(sqlite_pool, "EXACT_POSTINGS", 0)
    for name in ("TERM_CAP", "ALL_CAP", "PICK"):
        monkeypatch.setattr(sqlite_pool, name, cap)


texts = st.lists(
    st.tuples(st.lists(st.integers(0, len(WORDS) - 1), min_size=1, max_size=30), st.integers(0, 3)),
    min_size=1,
    max_size=50,
)
queries = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=texts, query=queries, limit=st.integers(1, 8))
def test_reading_everything_gives_the_exact_ranking(
    tmp_path: Path, monkeypatch, docs, query, limit
):
    # Caps above the store's size: the bounded reads see every match, so they must rank exactly
    # as bm25 (order, ties broken by created_at DESC then id), stopwords included.
    bounded(monkeypatch, 10**6)
    storage = SQLiteStorage(tmp_path / f"{uuid.uuid4().hex}.db")
    try:
        storage.add_memories(corpus(docs))
        q = list(dict.fromkeys(terms(" ".join(query))))
        exact = [m.id for m, _ in storage.bm25(q, limit)]
        assert list(storage.candidates(q, limit)) == exact
    finally:
        storage.close()


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=texts, query=queries, limit=st.integers(1, 8), cap=st.integers(1, 4))
def test_tight_caps_still_fill_the_pool_with_matches(
    tmp_path: Path, monkeypatch, docs, query, limit, cap
):
    bounded(monkeypatch, cap)
    storage = SQLiteStorage(tmp_path / f"{uuid.uuid4().hex}.db")
    try:
        storage.add_memories(corpus(docs))
        q = list(dict.fromkeys(terms(" ".join(query))))
        got = storage.candidates(q, limit)
        matching = {m.id for m, _ in storage.bm25(q, 10**6)}
        assert set(got) <= matching
        assert len(got) == min(limit, len(matching))
        for memory, counts in got.values():
            assert counts == storage.indexed([memory.id])[memory.id][1]
    finally:
        storage.close()


def test_the_memory_holding_every_word_is_found_behind_thousands(tmp_path: Path, monkeypatch):
    # 600 short memories hold one of the words each; the one long memory holding all three
    # sits in a late impact cell, far behind them in every word's own read. The read of
    # memories holding every word finds it, and exact scoring puts it first, as bm25 does.
    bounded(monkeypatch, 50)
    words = ["redis", "postgres", "timeout"]
    docs = [Memory(content=f"{words[i % 3]} note" if i % 5 == 0 else "other") for i in range(3000)]
    target = Memory(content="redis postgres timeout and some more filler words")
    storage = SQLiteStorage(tmp_path / "pool.db")
    try:
        storage.add_memories([*docs, target])
        query = terms("redis postgres timeout")
        assert storage.bm25(query, 5)[0][0].id == target.id
        assert next(iter(storage.candidates(query, 5))) == target.id
    finally:
        storage.close()


def test_small_stores_are_ranked_exactly():
    # The line below which no read is bounded: a query whose terms match at most this many
    # memories in all is ranked exactly (every BEAM conversation and test store).
    assert not sqlite_pool.approximate([("redi", 1500), ("cach", 1500)], stop=False)
    assert sqlite_pool.approximate([("redi", 1501), ("cach", 1500)], stop=False)
    assert not sqlite_pool.approximate([("redi", 10**6)], stop=False)  # one word: exact, pruned
    # A stopword: cells cannot bound it, so past the line it is read within caps too.
    assert not sqlite_pool.approximate([("the", 3000)], stop=True)
    assert sqlite_pool.approximate([("the", 3001)], stop=True)
