"""The SQLite backend's early-stopping BM25 (storage/sqlite_ranking.py) ranks exactly like FTS5.

What a user would notice if it were wrong: a memory missing from search, or ranked out of the
``bm25, created_at DESC, id`` order, only on large stores. The reference here is the plain
query that scores every match; stores are small but built to tie, repeat words and vary in
length, so every impact cell and the stopping rule are exercised.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.models import MEMORY_FIELDS, Memory
from smartcontext_cli.storage import sqlite_ranking, sqlite_store
from smartcontext_cli.storage.sqlite_ranking import (
    _CELLS,
    _DL_EDGES,
    _TF_EDGES,
    CELL_SHIFT,
    _bucket,
    _cell_bound,
    _factor,
    cell_of,
    index_totals,
)
from smartcontext_cli.storage.sqlite_store import (
    SQLiteStorage,
    _row_to_memory,
    fts_query,
    memory_terms,
)
from smartcontext_cli.text import MEMORY_EXTRA_TERMS, terms

WORDS = ["redis", "cache", "deploy", "the", "postgres", "pool", "token", "a", "timeout", "auth"]


def reference(storage: SQLiteStorage, query: list[str], limit: int) -> list[tuple[str, float]]:
    """Score every match, order as the contract says: what bm25() must equal."""
    cols = ", ".join("m." + c for c in MEMORY_FIELDS)
    rows = storage.db.execute(
        f"SELECT {cols}, bm25(memories_fts) AS r FROM memories_fts "
        "JOIN memories m ON m.rowid = memories_fts.rowid WHERE memories_fts MATCH ? "
        "ORDER BY r, m.created_at DESC, m.id LIMIT ?",
        (fts_query(query), limit),
    )
    return [(_row_to_memory(r[:-1]).id, -float(r[-1])) for r in rows]


def found(storage: SQLiteStorage, query: list[str], limit: int) -> list[tuple[str, float]]:
    return [(m.id, score) for m, score in storage.bm25(query, limit)]


def corpus(draw_texts: list[tuple[list[int], int]]) -> list[Memory]:
    """Memories from word indexes; many share a text and a time, so ties are common."""
    out = []
    for i, (word_ids, minute) in enumerate(draw_texts):
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


texts = st.lists(
    st.tuples(st.lists(st.integers(0, len(WORDS) - 1), min_size=1, max_size=40), st.integers(0, 3)),
    min_size=1,
    max_size=60,
)
queries = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    docs=texts,
    query=queries,
    limit=st.integers(1, 8),
    rare=st.sampled_from([0.0, 0.2, 0.5]),
    decompose=st.sampled_from([0, 10**9]),
)
def test_early_stopping_ranks_exactly_like_scoring_every_match(
    tmp_path: Path, docs, query, limit, rare, decompose
):
    # ``rare`` moves the line between terms scored in Python and terms streamed by FTS5
    # (top_k_split), ``decompose`` switches the per-term streams (top_k_common) on or off:
    # they must change the speed only, never the result.
    storage = SQLiteStorage(tmp_path / f"{uuid.uuid4().hex}.db")
    saved = sqlite_store.RARE_FRACTION, sqlite_store.DECOMPOSE_POSTINGS
    sqlite_store.RARE_FRACTION = rare
    sqlite_store.DECOMPOSE_POSTINGS = sqlite_ranking.DECOMPOSE_POSTINGS = decompose
    try:
        storage.add_memories(corpus(docs))
        q = list(dict.fromkeys(terms(" ".join(query))))
        assert found(storage, q, limit) == reference(storage, q, limit)
    finally:
        sqlite_store.RARE_FRACTION, sqlite_store.DECOMPOSE_POSTINGS = saved
        sqlite_ranking.DECOMPOSE_POSTINGS = saved[1]
        storage.close()


def test_a_large_skewed_store_still_ranks_exactly(tmp_path: Path, monkeypatch):
    # Enough memories that the read stops long before the last match of a common word.
    docs = [([3, 1, 3, 0] + [i % 10] * (i % 5), i % 4) for i in range(3000)]
    docs += [([1] * (1 + i % 7) + [3] * (i % 30), i % 4) for i in range(3000)]
    storage = SQLiteStorage(tmp_path / "big.db")
    try:
        storage.add_memories(corpus(docs))
        for rare, decompose in ((0.0, 10**9), (0.0, 0), (0.01, 10**9), (0.3, 0)):
            monkeypatch.setattr(sqlite_store, "RARE_FRACTION", rare)
            monkeypatch.setattr(sqlite_store, "DECOMPOSE_POSTINGS", decompose)
            monkeypatch.setattr(sqlite_ranking, "DECOMPOSE_POSTINGS", decompose)
            for query in (["cach"], ["redi"], ["cach", "redi"], ["deploi", "the"], ["the"]):
                for limit in (1, 5, 40):
                    assert found(storage, query, limit) == reference(storage, query, limit)
    finally:
        storage.close()


@given(tf=st.integers(1, 400), extra=st.integers(0, 400), avgdl=st.floats(1.0, 500.0))
def test_a_cell_bounds_the_bm25_factor_of_every_memory_in_it(tf, extra, avgdl):
    dl = tf + extra  # a term cannot occur more often than the memory has terms
    cell = _CELLS.index((_bucket(_TF_EDGES, tf), _bucket(_DL_EDGES, dl)))
    assert _factor(tf, dl, avgdl) <= _cell_bound(*_CELLS[cell], avgdl) * (1 + 1e-12)


def test_rowids_carry_the_cell_and_follow_an_edit(tmp_path: Path):
    storage = SQLiteStorage(tmp_path / "cells.db")
    try:
        short, long = Memory(content="redis"), Memory(content="redis " + "cache " * 30)
        storage.add_memories([short, long])

        def cell(memory_id: str) -> int:
            row = storage.db.execute("SELECT rowid FROM memories WHERE id = ?", (memory_id,))
            return int(row.fetchone()[0]) >> CELL_SHIFT

        def expected(memory: Memory) -> int:
            toks = memory_terms(memory)  # words, kind and time terms: what FTS5 holds
            return cell_of(Counter(toks), len(toks))

        assert cell(short.id) == expected(short) != cell(long.id)
        short.content = "redis " + "cache " * 30
        storage.update_memory(short)
        assert cell(short.id) == expected(short) == cell(long.id)
        assert found(storage, ["cach"], 5) == reference(storage, ["cach"], 5)
        assert {mid for mid, _ in found(storage, ["cach"], 5)} == {short.id, long.id}
    finally:
        storage.close()


def test_index_totals_are_the_row_count_and_mean_length(tmp_path: Path):
    storage = SQLiteStorage(tmp_path / "totals.db")
    try:
        keep, gone = Memory(content="a b c"), Memory(content="redis")
        storage.add_memories([keep, gone])
        # Lengths count the kind and the three time terms of each memory too.
        assert index_totals(storage.db) == (2, 2.0 + MEMORY_EXTRA_TERMS)
        storage.delete_memories([gone.id])
        assert index_totals(storage.db) == (1, 3.0 + MEMORY_EXTRA_TERMS)
    finally:
        storage.close()


def test_an_old_store_is_rekeyed_and_ranks_the_same(tmp_path: Path):
    # A store as m004 left it: plain 1, 2, 3 rowids. Reopening runs m005.
    path = tmp_path / "old.db"
    storage = SQLiteStorage(path)
    storage.add_memories(corpus([([i % 10, 1, 3], i % 4) for i in range(200)]))
    queries = (["cach"], ["redi", "the"])
    before = [reference(storage, q, 10) for q in queries]
    old_rowids = [r[0] for r in storage.db.execute("SELECT rowid FROM memories ORDER BY rowid")]
    with storage.transaction():
        storage.db.executemany(
            "UPDATE memories SET rowid = ? WHERE rowid = ?",
            [(n, rowid) for n, rowid in enumerate(old_rowids, 1)],
        )
        storage.db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')")
        storage.db.execute("DELETE FROM migrations WHERE name = 'm005_impact_rowids'")
    storage.close()
    storage = SQLiteStorage(path)
    try:
        low = storage.db.execute("SELECT min(rowid) FROM memories").fetchone()[0]
        assert low >> CELL_SHIFT >= 1
        assert [found(storage, q, 10) for q in queries] == before
    finally:
        storage.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=texts, drop=st.sets(st.integers(0, 59)), edit=st.sets(st.integers(0, 59)))
def test_index_and_term_counts_stay_exact_through_deletes_and_edits(
    tmp_path: Path, docs, drop, edit
):
    storage = SQLiteStorage(tmp_path / f"{uuid.uuid4().hex}.db")
    try:
        memories = corpus(docs)
        storage.add_memories(memories)
        for i in edit & set(range(len(memories))):
            memories[i].content = "cache " + memories[i].content
            storage.update_memory(memories[i])
        storage.delete_memories([memories[i].id for i in drop if i < len(memories)])
        # FTS5 checks its index against the content table (raises when they disagree).
        storage.db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
        vocab = dict(storage.db.execute("SELECT term, doc FROM memories_vocab"))
        assert dict(storage.db.execute("SELECT term, docs FROM memories_terms")) == vocab
        for query in (["cach"], ["redi", "the"]):
            assert found(storage, query, 5) == reference(storage, query, 5)
    finally:
        storage.close()


def test_a_rare_term_memory_lifted_by_a_common_term_is_not_missed(tmp_path: Path, monkeypatch):
    # The best memory holds the rare term *and* a common one, in a later cell than memories
    # holding the rare term alone: reading rare-term memories may not stop on the rare term's
    # IDF alone (top_k_split's bound must count every term).
    monkeypatch.setattr(sqlite_store, "RARE_FRACTION", 0.05)
    texts = ["redis"] * 20 + ["redis cache zzz"] * 5 + ["cache zzz qqq"] * 200
    texts += [f"other longer words number{i} fill the average length to ten" for i in range(775)]
    storage = SQLiteStorage(tmp_path / "lift.db")
    try:
        storage.add_memories([Memory(content=t) for t in texts])
        for limit in (1, 3, 10):
            expected = reference(storage, ["redi", "cach"], limit)
            assert found(storage, ["redi", "cach"], limit) == expected
        top = storage.bm25(["redi", "cach"], 1)[0][0]
        assert top.content == "redis cache zzz"
    finally:
        storage.close()


def test_a_memory_missing_one_common_term_can_still_win(tmp_path: Path, monkeypatch):
    # top_k_common reads memories holding every term first; the best memory here lacks one
    # ("alpha" three times in a short memory), and its stream's bound must still reach it.
    monkeypatch.setattr(sqlite_store, "RARE_FRACTION", 0.0)
    monkeypatch.setattr(sqlite_store, "DECOMPOSE_POSTINGS", 0)
    monkeypatch.setattr(sqlite_ranking, "DECOMPOSE_POSTINGS", 0)
    texts = ["alpha beta " + " ".join(f"w{i}x{j}" for j in range(8)) for i in range(30)]
    texts += ["alpha alpha alpha"]
    texts += ["beta " + " ".join(f"v{i}y{j}" for j in range(6)) for i in range(60)]
    texts += [" ".join(f"u{i}z{j}" for j in range(9)) for i in range(200)]
    storage = SQLiteStorage(tmp_path / "missing.db")
    try:
        storage.add_memories([Memory(content=t) for t in texts])
        query = ["alpha", "beta"]
        for limit in (1, 2, 5):
            assert found(storage, query, limit) == reference(storage, query, limit)
        assert storage.bm25(["alpha", "beta"], 1)[0][0].content == "alpha alpha alpha"
    finally:
        storage.close()
