"""The search index over session events: what it covers, and an in-memory index for backends
that have no full-text engine of their own.

Why in the storage layer: session events are documents (``session`` for main,
``session-<branch id>`` for other branches; key = the zero-padded global sequence number; the
text in ``data["content"]``), and every path that writes them (add, pop, merge, branch delete,
import, migrate) goes through ``put_doc``/``delete_doc``/``delete_collection``. A backend that
indexes there can never drift from the events, whoever the caller. Compaction never deletes a raw
event (it stores a view that replaces them), so an archived event stays indexed; whether it is
archived is derived at query time from its branch's view.

Terms are exactly the memories' (``text.terms``), and scores are FTS5's BM25 (k1=1.2, b=0.75)
on every backend, so the ranking above them (search.py) is shared and backends agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from smartcontext_cli.text import document_terms

EVENT_COLLECTION = re.compile(r"session(-[0-9]+)?\Z")
K1 = 1.2
B = 0.75

EventKey = tuple[str, str]  # (collection, key)


def is_event_collection(collection: str) -> bool:
    return EVENT_COLLECTION.match(collection) is not None


def event_terms(data: dict[str, Any]) -> list[str]:
    """The index terms of one stored event: its content's, and the times it refers to."""
    content = data.get("content")
    if not isinstance(content, str):
        return []
    stamp = data.get("created_at")
    return document_terms(content, created_at=stamp if isinstance(stamp, str) else "")


def fts5_idf(n_rows: int, hits: int) -> float:
    """FTS5's IDF (fts5_aux.c), floor included."""
    value = math.log((n_rows - hits + 0.5) / (hits + 0.5))
    return 1e-6 if value <= 0.0 else value


def order_hits(hits: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Best first; equal scores newest first (higher key), then by collection: every backend."""
    hits.sort(key=lambda h: h[0])
    hits.sort(key=lambda h: h[1], reverse=True)
    hits.sort(key=lambda h: h[2], reverse=True)
    return hits


class EventIndex:
    """Term statistics and postings of events, scored exactly as FTS5's ``bm25()`` does."""

    def __init__(self) -> None:
        self.freqs: dict[EventKey, Counter[str]] = {}
        self.lengths: dict[EventKey, int] = {}
        self.postings: dict[str, set[EventKey]] = {}
        self.total = 0

    def put(self, collection: str, key: str, data: dict[str, Any]) -> None:
        doc = (collection, key)
        self.discard(collection, key)
        toks = event_terms(data)
        freqs = Counter(toks)
        self.freqs[doc] = freqs
        self.lengths[doc] = len(toks)
        self.total += len(toks)
        for term in freqs:
            self.postings.setdefault(term, set()).add(doc)

    def discard(self, collection: str, key: str) -> None:
        doc = (collection, key)
        freqs = self.freqs.pop(doc, None)
        if freqs is None:
            return
        for term in freqs:
            docs = self.postings[term]
            docs.discard(doc)
            if not docs:
                del self.postings[term]
        self.total -= self.lengths.pop(doc)

    def discard_collection(self, collection: str) -> None:
        for doc in [d for d in self.freqs if d[0] == collection]:
            self.discard(*doc)

    def stats(self) -> tuple[int, float]:
        n = len(self.freqs)
        return n, (self.total / n if n else 0.0)

    def doc_freq(self, term: str) -> int:
        return len(self.postings.get(term, ()))

    def vocabulary(self, first_char: str) -> list[str]:
        return sorted(t for t in self.postings if t.startswith(first_char))

    def bm25(
        self, query_terms: Sequence[str], limit: int, collections: Iterable[str] | None = None
    ) -> list[tuple[str, str, float]]:
        """The ``limit`` best (collection, key, score), as FTS5's bm25() over ``OR`` of terms.

        Why the arithmetic is spelled as in C: same operations in the same order give the same
        doubles, so ties stay ties on every backend.
        """
        n_rows, avgdl = self.stats()
        if not n_rows or limit <= 0:
            return []
        allowed = None if collections is None else set(collections)
        idfs = [fts5_idf(n_rows, self.doc_freq(t)) for t in query_terms]
        candidates: set[EventKey] = set()
        for term in query_terms:
            candidates |= self.postings.get(term, set())
        hits = []
        for doc in candidates:
            if allowed is not None and doc[0] not in allowed:
                continue
            freqs, dl = self.freqs[doc], float(self.lengths[doc])
            score = 0.0
            for term, idf in zip(query_terms, idfs, strict=True):
                tf = float(freqs.get(term, 0))
                score += idf * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * dl / avgdl)))
            hits.append((doc[0], doc[1], score))
        return order_hits(hits)[:limit]
