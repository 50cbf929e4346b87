"""The session-event search index on PostgreSQL (see storage/events.py for what it covers).

``sc_events`` holds one row per event document of the collections ``session`` and
``session-<n>``: its terms' counts (``tf``), length (``dl``) and lexemes (``tsv``, GIN-indexed
with the namespace), exactly as memories are indexed; ``sc_event_terms`` and ``sc_event_stats``
keep document frequencies and totals. ``PostgresStorage.put_doc``, ``delete_doc`` and
``delete_collection`` write documents and index entries in one statement (``postgres_writes``),
so the index commits with the events or not at all, whoever writes them (add, pop, branch
delete, import, migrate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .events import event_terms, order_hits
from .postgres_ranking import encode_tf, event_bm25_sql, fts5_idf, pg_term, tsvector_text


def event_params(collection: str, key: str, text: str, data: dict[str, Any]) -> dict[str, Any]:
    """The parameters of ``postgres_writes.PUT_EVENT`` for one event document (but ``ns``)."""
    toks = event_terms(data)
    counts = Counter(map(pg_term, toks))
    return {
        "c": collection,
        "k": key,
        "data": text,
        "tf": encode_tf(counts),
        "dl": len(toks),
        "tsv": tsvector_text(list(counts)),
        "terms": list(counts),
    }


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
