"""Search's candidates on SQLite: the best memories by BM25, read within a bounded cost.

Why not ``sqlite_ranking.top_k`` alone: its early stop needs a bound that every unread memory
stays under, and a query of several mid-frequency words ("slack payments data work": four
words in 3-10% of 100,000 memories each) keeps that bound high, because any unread memory
might hold every word. So the stream reads nearly all 26,000 matches and FTS5 computes
``bm25()`` for each (~100 ms). ``Storage.bm25`` stays exact for every caller that asks; search
only needs candidates to re-rank, and takes them from here.

How (``candidate_rowids``), for a query of two or more terms, or of a stopword (which cells
ignore), whose matches add up to more than ``EXACT_POSTINGS``:

1. A few rowid-only reads (no ``bm25()``: FTS5's ranking function is what costs), each in
   rowid order, which is impact-cell order (``sqlite_ranking``: short memories with dense
   terms first), each capped: memories holding every term (``ALL_CAP``), memories holding
   each pair of the ``PAIR_TERMS`` rarest terms, and each term's own first memories
   (``TERM_CAP``; they scale with the number asked for).
2. Each memory read is estimated from what the reads say: the IDFs of the terms it is known to
   hold times its cell's BM25 factor for one occurrence (its length bucket).
3. The ``PICK`` (at least twice the number asked for) best estimates are scored exactly (FTS5's
   formula on their stored terms, ``sqlite_ranking.exact_score``) and the best returned.

Effect (``bench_search.py --pool-recall 300 --sizes 100000``: 300 queries of 1-4 words taken
from random memories of the 100,000-memory corpus, each searched as shipped and with every read
exact): 97.9% of the exact top 5 is returned, the memory the words came from is in the top 5
as often (38.0% either way: the corpus repeats its templates), at about a quarter of the CPU
time (9.9 against 37.4 ms a search, on a loaded machine). Small stores never take this path:
a query whose terms' matches add up to at most ``EXACT_POSTINGS`` is ranked exactly (every
BEAM conversation, every test store).
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections.abc import Sequence

from .sqlite_ranking import _CELLS, _DL_EDGES, CELL_SHIFT, K1, B, fts_query

EXACT_POSTINGS = 3000
ALL_CAP = 1000
TERM_CAP = 300
PAIR_TERMS = 5
PICK = 200


def approximate(live: Sequence[tuple[str, int]], stop: bool) -> bool:
    """Whether a query's candidates come from bounded reads (module docstring) or exact BM25."""
    # One word that is no stopword is read exactly: its stream stops early (sqlite_ranking).
    return (stop or len(live) >= 2) and sum(n for _, n in live) > EXACT_POSTINGS


def _rowids(db: sqlite3.Connection, match: str, cap: int) -> list[int]:
    sql = "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rowid LIMIT ?"
    return [r for (r,) in db.execute(sql, (match, cap))]


def candidate_rowids(
    db: sqlite3.Connection,
    weighted: Sequence[tuple[str, float]],
    k: int,
    avgdl: float,
) -> list[tuple[int, float]]:
    """(rowid, bm25) of about the ``k`` best memories for the (term, IDF) pairs ``weighted``.

    bm25 values are FTS5's (negative, lower is better) for the memories returned, computed in
    Python from their stored terms; which memories are returned is the bounded search of the
    module docstring. Unsorted, as ``sqlite_ranking.top_k``.
    """
    terms = [t for t, _ in weighted]
    idf = dict(weighted)
    bit = {t: 1 << i for i, t in enumerate(terms)}
    held: dict[int, int] = {}  # rowid -> bit set of the terms it is known to hold

    def read(group: Sequence[str], cap: int) -> None:
        mask = 0
        for t in group:
            mask |= bit[t]
        op = "AND" if len(group) > 1 else "OR"
        for rowid in _rowids(db, fts_query(group, op), cap):
            held[rowid] = held.get(rowid, 0) | mask

    term_cap = max(TERM_CAP, k)
    read(terms, max(ALL_CAP, 2 * k))
    if len(terms) >= 3:
        rarest = sorted(terms, key=lambda t: -idf[t])[:PAIR_TERMS]
        for pair in itertools.combinations(rarest, 2):
            read(pair, term_cap)
    for t in terms:
        read((t,), term_cap)

    # The estimate of each memory read: the IDFs of the terms it is known to hold times its
    # cell's factor for one occurrence at the cell's shortest length. Why per mask and per
    # cell: thousands of memories share a few dozen of each.
    weight = {mask: sum(w for t, w in weighted if mask & bit[t]) for mask in set(held.values())}
    factor = {cell: _cell_factor(cell, avgdl) for cell in {r >> CELL_SHIFT for r in held}}
    # Equal estimates: the smaller rowid first (the better cell, then the earlier write).
    keyed = [(weight[m] * factor[rowid >> CELL_SHIFT], -rowid) for rowid, m in held.items()]
    picked = [-neg for _, neg in heapq.nlargest(max(PICK, 2 * k), keyed)]
    out: list[tuple[int, float]] = []
    padded = [(" " + t + " ", w) for t, w in weighted]
    for start in range(0, len(picked), 500):
        part = picked[start : start + 500]
        marks = ",".join("?" * len(part))
        sql = f"SELECT rowid, terms FROM memories WHERE rowid IN ({marks})"
        for rowid, text in db.execute(sql, part):
            out.append((rowid, -_score(padded, text, avgdl)))
    return cut(out, k)


def _cell_factor(cell: int, avgdl: float) -> float:
    """BM25's factor for one occurrence in a memory of the cell's shortest length."""
    # Rowids of stores older than cells (cell 0) or past the table: a mean length.
    shortest = float(_DL_EDGES[_CELLS[cell - 1][1]]) if 0 < cell <= len(_CELLS) else avgdl
    dl = max(1.0, shortest)
    return (K1 + 1.0) / (1.0 + K1 * (1.0 - B + B * dl / avgdl))


def cut(ranked: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The ``k`` best (rowid, bm25) and every one tied with the k-th, unsorted."""
    if len(ranked) <= k:
        return ranked
    kth = heapq.nsmallest(k, (r for _, r in ranked))[-1]
    return [(rowid, r) for rowid, r in ranked if r <= kth]


def _score(padded: Sequence[tuple[str, float]], text: str, avgdl: float) -> float:
    """``sqlite_ranking.exact_score`` on a stored terms text, without splitting it: the same
    doubles (terms in query order, FTS5's operations in its order), counted by ``str.count``."""
    if not text:
        return 0.0
    dl = float(text.count(" ") + 1)
    # Two spaces between terms: str.count does not overlap, and " a " must be found three
    # times in "a a a".
    line = "  " + text.replace(" ", "  ") + "  "
    score = 0.0
    for term, weight in padded:
        tf = float(line.count(term))
        if tf:
            score += weight * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * dl / avgdl)))
    return score
