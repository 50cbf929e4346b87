"""The session-event search index on PostgreSQL (see storage/events.py for what it covers).

``sc_events`` holds one row per event document of the collections ``session`` and
``session-<n>``: its terms' counts (``tf``), length (``dl``) and lexemes (``tsv``, GIN-indexed
with the namespace), exactly as memories are indexed; ``sc_event_terms`` and ``sc_event_stats``
keep document frequencies and totals. ``PostgresStorage.put_doc``, ``delete_doc`` and
``delete_collection`` call in here inside their own transaction, so the index commits with the
events or not at all, whoever writes them (add, pop, branch delete, import, migrate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .events import event_terms, order_hits
from .postgres_ranking import encode_tf, event_bm25_sql, fts5_idf, pg_term, tsvector_text

AddStats = Callable[[Any, str, int, Counter[str], int, int], None]


def index_event(
    conn: Any, ns: int, collection: str, key: str, data: dict[str, Any], add_stats: AddStats
) -> None:
    unindex_events(conn, ns, collection, [key], add_stats)
    toks = event_terms(data)
    counts = Counter(map(pg_term, toks))
    conn.execute(
        "INSERT INTO sc_events (ns, collection, key, tf, dl, tsv) "
        "VALUES (%s, %s, %s, %s::jsonb, %s, %s::tsvector)",
        (ns, collection, key, encode_tf(counts), len(toks), tsvector_text(list(counts))),
    )
    add_stats(conn, "event", ns, Counter(dict.fromkeys(counts, 1)), 1, len(toks))


def unindex_events(
    conn: Any, ns: int, collection: str, keys: Iterable[str] | None, add_stats: AddStats
) -> None:
    """Drop events of ``collection`` from the index (all of them when ``keys`` is None)."""
    if keys is None:
        gone = conn.execute(
            "DELETE FROM sc_events WHERE ns = %s AND collection = %s RETURNING tf, dl",
            (ns, collection),
        ).fetchall()
    else:
        gone = conn.execute(
            "DELETE FROM sc_events WHERE ns = %s AND collection = %s AND key = ANY(%s::text[]) "
            "RETURNING tf, dl",
            (ns, collection, list(keys)),
        ).fetchall()
    if not gone:
        return
    df: Counter[str] = Counter()
    for tf, _ in gone:
        df.update(dict.fromkeys(tf, -1))
    add_stats(conn, "event", ns, df, -len(gone), -sum(dl for _, dl in gone))


class _Host(Protocol):
    """What the mixin needs of ``PostgresStorage``."""

    def _read(self) -> AbstractContextManager[Any]: ...
    def _ns(self, conn: Any) -> int | None: ...
    def _stats(self, table: str) -> tuple[int, float]: ...
    def _doc_freqs(self, table: str, query_terms: Sequence[str]) -> dict[str, int]: ...
    def _vocabulary(self, table: str, first_char: str) -> list[str]: ...


class PostgresEventsMixin:
    """The protocol's ``event_*`` reads for ``PostgresStorage``."""

    def event_bm25(
        self: _Host,
        query_terms: Sequence[str],
        limit: int,
        collections: Sequence[str] | None = None,
    ) -> list[tuple[str, str, float]]:
        if not query_terms or limit <= 0 or (collections is not None and not list(collections)):
            return []
        n_rows, avgdl = self._stats("event")
        if not n_rows:
            return []
        df = self._doc_freqs("event", query_terms)
        idfs = [fts5_idf(n_rows, df.get(pg_term(t), 0)) for t in query_terms]
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            sql, params = event_bm25_sql(ns, query_terms, idfs, avgdl, limit, collections)
            rows = conn.execute(sql, params).fetchall()
        return order_hits([(c, k, float(s)) for c, k, s in rows])

    def event_doc_freq(self: _Host, term: str) -> int:
        return self._doc_freqs("event", [term]).get(pg_term(term), 0)

    def event_index_stats(self: _Host) -> tuple[int, float]:
        return self._stats("event")

    def event_vocabulary(self: _Host, first_char: str) -> list[str]:
        return self._vocabulary("event", first_char)
