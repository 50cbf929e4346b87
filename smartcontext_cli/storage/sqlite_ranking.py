"""Exact top-k BM25 on SQLite FTS5 without scoring every match.

Why: FTS5 computes ``bm25()`` for every row a query matches (about 0.7 µs each), so one common
word on 1,000,000 memories (125,000 matches) cost ~100 ms, while merely stepping through the
matches costs ~25x less. So the order in which FTS5 returns matches is made to carry a bound:

* every memory's rowid starts with its *impact cell* (``rowid >> CELL_SHIFT``): the largest
  frequency of a non-stopword term in it and its length in terms, both bucketed. BM25's
  per-term factor ``tf(k1+1) / (tf + k1(1 - b + b dl/avgdl))`` grows with tf and shrinks with
  dl, so within a cell it is at most the factor at the cell's largest tf and smallest length;
* cells are numbered by decreasing bound, and FTS5 returns matches in rowid order, so the
  memories that can score highest come first;
* ``top_k`` reads (rowid, bm25) in that order and stops at the first cell whose bound, and that
  of every later cell, times the sum of the query terms' IDFs, is below the k-th best score
  read so far.

Queries mixing terms read less with two refinements: memories holding a rare term are scored
first, in Python, and FTS5 streams only ``common NOT rare`` (``top_k_split``); two or three
common terms are read as "all of them", then "all but one" per term (``top_k_common``). In each
stream the bound carries only the IDFs of terms its memories can hold.

Guarantee: the result is exactly what ``ORDER BY bm25`` would give: every memory not read
scores strictly below the k-th best, so the k best and every memory tied with the k-th are
returned. A query holding a stopword term is read in full, as cells ignore stopwords.

The cell numbering is stored in rowids: changing ``_TF_EDGES``, ``_DL_EDGES`` or the reference
length needs a migration that re-keys every memory (see ``sqlite_migrations._m005_impact_rowids``).
"""

from __future__ import annotations

import functools
import heapq
import math
import sqlite3
from collections import Counter
from collections.abc import Sequence

from smartcontext_cli.stemmer import stem
from smartcontext_cli.text import STOPWORDS

K1 = 1.2
B = 0.75
CELL_SHIFT = 40  # 2**40 memories per cell before rowids of two cells could meet
# Lower edges of the buckets: largest non-stopword term frequency, and length in terms.
_TF_EDGES = (0, 1, 2, 3, 4, 5, 7)
_DL_EDGES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128, 256)
_REFERENCE_AVGDL = 24.0  # orders the cells; the bounds themselves use the store's real avgdl
# Relative safety margin on a bound: our float arithmetic need not match FTS5's to the last bit.
_MARGIN = 1e-9

STOP_STEMS = frozenset(stem(w) for w in STOPWORDS)
# A query term in at most this share of memories is "rare": top_k_split scores its memories in
# Python (a few microseconds each) and streams the others; a tuning knob, never a semantic one.
RARE_FRACTION = 0.01
# Common terms whose documents add up to at least this many are read with top_k_common (one
# statement per term) rather than one stream: another tuning knob, never a semantic one.
DECOMPOSE_POSTINGS = 50_000
# ... and only for 2 or 3 of them: with more, a memory missing one term keeps most of the
# bound, and overlapping streams re-read memories (1M, four common words: 320 -> 475 ms).
DECOMPOSE_MAX_TERMS = 3


def _factor(tf: float, dl: float, avgdl: float) -> float:
    return tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / avgdl))


def _edges(edges: tuple[int, ...], i: int) -> tuple[int, float]:
    """The bucket's smallest value and largest value (inf for the last, open bucket)."""
    return edges[i], (edges[i + 1] - 1 if i + 1 < len(edges) else math.inf)


def _cell_bound(tf_bucket: int, dl_bucket: int, avgdl: float) -> float:
    tf_hi = min(_edges(_TF_EDGES, tf_bucket)[1], _edges(_DL_EDGES, dl_bucket)[1])  # tf <= dl
    if tf_hi == 0:
        return 0.0  # no non-stopword term: no non-stopword query term can match
    if math.isinf(tf_hi):
        return K1 + 1.0  # the factor's supremum
    return _factor(tf_hi, max(_DL_EDGES[dl_bucket], tf_hi), avgdl)


# Cells by decreasing bound at the reference length; cell numbers start at 1, so new rowids
# never meet the plain 1, 2, 3 ... rowids of stores created before cells existed.
_CELLS = sorted(
    ((t, d) for t in range(len(_TF_EDGES)) for d in range(len(_DL_EDGES))),
    key=lambda cell: -_cell_bound(cell[0], cell[1], _REFERENCE_AVGDL),
)
_CELL_NUMBER = {cell: n for n, cell in enumerate(_CELLS, 1)}


def _bucket(edges: tuple[int, ...], value: int) -> int:
    i = len(edges) - 1
    while edges[i] > value:
        i -= 1
    return i


def cell_of(counts: Counter[str], length: int) -> int:
    """The impact cell of a memory whose ``length`` terms occur ``counts`` times each."""
    # Set difference and map run in C: this is per memory on every import.
    top = max(map(counts.__getitem__, counts.keys() - STOP_STEMS), default=0)
    return _CELL_NUMBER[(_bucket(_TF_EDGES, top), _bucket(_DL_EDGES, length))]


@functools.lru_cache(maxsize=16)
def suffix_bounds(avgdl: float) -> tuple[float, ...]:
    """``out[c]``: the largest factor bound of cell ``c`` or any later cell (index 0: inf).

    Cached: a store's mean length changes only with its writes, and this is 160 cells."""
    bounds = [_cell_bound(t, d, avgdl) for t, d in _CELLS]
    out = [math.inf, *bounds, 0.0]
    for i in range(len(bounds), 0, -1):
        out[i] = max(out[i], out[i + 1])
    return tuple(out)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """SQLite's big-endian varint (FTS5 uses the same encoding)."""
    value = 0
    for _ in range(8):
        byte = buf[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i
    return (value << 8) | buf[i], i + 1


def index_totals(db: sqlite3.Connection) -> tuple[int, float]:
    """FTS5's own row count and mean length in terms: the N and avgdl its bm25() uses.

    Read from the index's averages record (id 1 of ``memories_fts_data``: the row count, then
    the total number of tokens per column), so the bounds use the very numbers FTS5 does.
    """
    return read_totals(db, "memories_fts_data")


def read_totals(db: sqlite3.Connection, data_table: str) -> tuple[int, float]:
    """Row count and mean length from an FTS5 index's averages record (``index_totals``)."""
    row = db.execute(f"SELECT block FROM {data_table} WHERE id = 1").fetchone()
    if not row or not row[0]:
        return 0, 0.0
    n_rows, i = _varint(row[0], 0)
    tokens, _ = _varint(row[0], i)
    return n_rows, (tokens / n_rows if n_rows else 0.0)


class IndexDamage(ValueError):
    """The search index's statistics contradict each other (a damaged or hand-edited store)."""


def idf(n_rows: int, hits: int) -> float:
    """FTS5's IDF for a term found in ``hits`` of ``n_rows`` rows (fts5_aux.c)."""
    if not 0 <= hits <= n_rows:
        raise IndexDamage(f"a term is counted in {hits} of {n_rows} memories")
    value = math.log((n_rows - hits + 0.5) / (hits + 0.5))
    return 1e-6 if value <= 0.0 else value


def fts_query(terms: Sequence[str], op: str = "OR") -> str:
    """Terms joined by ``op`` for MATCH, each quoted.

    Why quoted: terms are letters and digits only, but quoting makes any token a plain string
    for FTS5, so no user text can ever become query syntax (NEAR, AND, col:, ^, *).
    """
    return f" {op} ".join('"' + t.replace('"', '""') + '"' for t in terms)


class TopK:
    """The k best (rowid, bm25) hits seen so far, plus every hit tied with the k-th."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.best: list[float] = []  # min-heap of the k best scores (positive)
        self.kept: list[tuple[int, float]] = []
        self.seen: set[int] = set()  # streams may overlap (top_k_common); count a memory once

    @property
    def full(self) -> bool:
        return len(self.best) == self.k

    @property
    def theta(self) -> float:
        """The k-th best score: nothing scoring below it can enter."""
        return self.best[0]

    def offer(self, rowid: int, r: float) -> None:
        if rowid in self.seen:
            return
        self.seen.add(rowid)
        score = -r
        if len(self.best) < self.k:
            heapq.heappush(self.best, score)
        elif score > self.best[0]:
            heapq.heapreplace(self.best, score)
        elif score < self.best[0]:
            return
        # Equal to the k-th best: a tie that must be returned, so it is kept too.
        self.kept.append((rowid, r))

    def result(self) -> list[tuple[int, float]]:
        if not self.full:
            return self.kept
        return [(rowid, r) for rowid, r in self.kept if -r >= self.theta]


def top_k(
    db: sqlite3.Connection,
    match: str,
    k: int,
    idf_sum: float | None,
    avgdl: float,
    into: TopK | None = None,
) -> list[tuple[int, float]]:
    """(rowid, bm25) of the ``k`` best matches and of every match tied with the k-th.

    ``idf_sum`` is the sum of the IDFs of the query terms found in the index, or None to read
    every match (a stopword among the query terms). bm25 values are FTS5's: negative, lower
    is better. The result is not sorted. ``into`` continues a search begun elsewhere.
    """
    suffix = suffix_bounds(avgdl) if idf_sum is not None and avgdl > 0 else None
    scale = (idf_sum or 0.0) * (1.0 + _MARGIN)
    found = into or TopK(k)
    cell = -1
    cursor = db.execute(
        "SELECT rowid, bm25(memories_fts) FROM memories_fts "
        "WHERE memories_fts MATCH ? ORDER BY rowid",
        (match,),
    )
    try:
        for rowid, r in cursor:
            if suffix is not None and rowid >> CELL_SHIFT != cell:
                cell = rowid >> CELL_SHIFT
                bound = suffix[cell] if cell < len(suffix) else 0.0
                if found.full and bound * scale < found.theta:
                    break
            found.offer(rowid, r)
    finally:
        cursor.close()
    return found.result()


def exact_score(weighted: Sequence[tuple[str, float]], toks: list[str], avgdl: float) -> float:
    """FTS5's bm25 of one memory, as a positive score, computed in Python.

    The same operations in the same order as fts5_aux.c (and the JSON backend), so the double
    is the one FTS5 returns: terms in query order, absent terms adding nothing.
    """
    dl = float(len(toks))
    score = 0.0
    for term, weight in weighted:
        tf = float(toks.count(term))
        if tf:
            score += weight * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * dl / avgdl)))
    return score


def top_k_split(
    db: sqlite3.Connection,
    k: int,
    weighted: Sequence[tuple[str, float]],
    rare: set[str],
    avgdl: float,
    common_postings: int = 0,
) -> list[tuple[int, float]]:
    """Top k for a query mixing rare and common terms, without reading most common matches.

    Why: one stream over all matches can only stop when no later cell reaches the k-th best
    with *every* term's IDF, and common terms keep that bound high. Memories holding a rare
    term are few: they are read first, best cell first, and scored exactly in Python. The
    rest hold only common terms, so FTS5 streams ``common NOT rare`` with the common terms'
    IDFs alone in the bound, and usually stops within its first cells.
    """
    found = TopK(k)
    suffix = suffix_bounds(avgdl)
    scale = sum(w for _, w in weighted) * (1.0 + _MARGIN)
    rare_terms = [t for t, _ in weighted if t in rare]
    common = [(t, w) for t, w in weighted if t not in rare]

    def score(rowids: list[int]) -> None:
        marks = ",".join("?" * len(rowids))
        for rowid, terms in db.execute(
            f"SELECT rowid, terms FROM memories WHERE rowid IN ({marks})", rowids
        ):
            found.offer(rowid, -exact_score(weighted, terms.split(" "), avgdl))

    pending: list[int] = []
    cell = -1
    cursor = db.execute(
        "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? ORDER BY rowid",
        (fts_query(rare_terms),),
    )
    try:
        for (rowid,) in cursor:
            if rowid >> CELL_SHIFT != cell:
                cell = rowid >> CELL_SHIFT
                bound = suffix[cell] if cell < len(suffix) else 0.0
                # Scoring is batched (one read per ~200 memories), so the k-th best may lag;
                # a lagging k-th best is lower, so stopping on it is still exact.
                if found.full and bound * scale < found.theta:
                    break
                if len(pending) >= 200 or (not found.full and pending):
                    score(pending)
                    pending = []
                    if found.full and bound * scale < found.theta:
                        break
            pending.append(rowid)
    finally:
        cursor.close()
    if pending:
        score(pending)
    if 2 <= len(common) <= DECOMPOSE_MAX_TERMS and common_postings >= DECOMPOSE_POSTINGS:
        return top_k_common(db, k, common, avgdl, excluded=rare_terms, into=found)
    others = f"({fts_query([t for t, _ in common])}) NOT ({fts_query(rare_terms)})"
    return top_k(db, others, k, sum(w for _, w in common), avgdl, into=found)


def top_k_common(
    db: sqlite3.Connection,
    k: int,
    weighted: Sequence[tuple[str, float]],
    avgdl: float,
    excluded: Sequence[str] = (),
    into: TopK | None = None,
) -> list[tuple[int, float]]:
    """Top k for several common terms: memories with all of them first, then those missing one.

    Why: with every term common, the bound of one stream (all IDFs) stays above the k-th
    best for most cells. Memories holding every term are streamed as ``a AND b AND c``; each
    memory missing a term ``t`` is then in a stream ``(others) NOT t`` whose bound lacks t's
    IDF, and which mostly stops at once. Each expression names every phrase once, so FTS5's
    bm25 is the exact score (absent phrases add nothing). ``excluded`` terms (already read
    elsewhere) are kept out of every stream. Costs one statement per term: FTS5 recomputes
    IDFs per statement, which is why small queries keep the single stream.
    """
    found = into or TopK(k)
    terms = [t for t, _ in weighted]
    total = sum(w for _, w in weighted)

    def without(extra: Sequence[str]) -> str:
        gone = [*extra, *excluded]
        return f" NOT ({fts_query(gone)})" if gone else ""

    top_k(db, f"({fts_query(terms, 'AND')}){without(())}", k, total, avgdl, into=found)
    for term, weight in sorted(weighted, key=lambda tw: tw[1]):
        others = [t for t in terms if t != term]
        top_k(db, f"({fts_query(others)}){without((term,))}", k, total - weight, avgdl, found)
    return found.result()
