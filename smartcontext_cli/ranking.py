"""Lexical ranking: BM25 with neighbour context, over any documents with term counts.

Why a module of its own: memories (search.py) and session events (session_search.py) rank the
same way; each gathers candidate documents (term counts, length, its previous and next document
in the same conversation) and this module scores them.

The score of a document ``d`` with previous neighbour ``p`` and next neighbour ``n``:

* its *context bag*: term counts ``tf(d) + PREV * tf(p) * |d|/|p| + NEXT * tf(n) * |d|/|n|``
  at its own length ``|d|``, scored by BM25 (``k1``, ``b``); a turn that answers "yes, let's
  do that" is found by the words of the turn it answers, at the density they have there;
* plus ``SMOOTH`` times the plain BM25 (own words only) of each neighbour;
* IDF as Lucene's, ``ln(1 + (N - n + 0.5) / (n + 0.5))``: always positive, so a term in most
  documents still counts a little and scores never tie at a floor.

Each query term carries a weight (1 for words, less for typo widenings, more or less for time
and kind terms); scores are floats, never rounded. Parameters were chosen by leave-one-
conversation-out cross-validation on BEAM-100K (tests/benchmarks/bench_retrieval.py).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class RankParams:
    """BM25 and neighbour-context parameters (the defaults are the cross-validated choice)."""

    k1: float = 1.2
    b: float = 1.0
    prev: float = 0.0
    next: float = 0.0
    smooth: float = 0.2
    speaker: float = 1.0  # boost of a turn by the speaker a question names (search.speaker_of)

    def but(self, **changes: float) -> RankParams:
        return replace(self, **changes)


DEFAULT_PARAMS = RankParams()


@dataclass
class Doc(Generic[K]):
    """One candidate: its term counts, length in terms, and its neighbours' keys."""

    counts: Mapping[str, int]
    length: int
    prev: K | None = None
    next: K | None = None


@dataclass
class Scored:
    """A document's score and where it came from (``search --explain`` shows it)."""

    score: float
    own: float
    context: float
    smoothing: float
    terms: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    # term -> (weight, own tf, context tf)


def idf(n_docs: int, hits: int) -> float:
    """Lucene's BM25 IDF: positive for any share of documents."""
    return math.log(1.0 + (n_docs - hits + 0.5) / (hits + 0.5))


def bm25(tf: float, dl: float, avgdl: float, k1: float, b: float) -> float:
    """BM25's term factor, tf saturated by k1 and normalised by length with strength b."""
    if tf <= 0.0:
        return 0.0
    return tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl))


def score_docs(
    docs: Mapping[K, Doc[K]],
    candidates: Sequence[K],
    weights: Mapping[str, float],
    avgdl: float,
    params: RankParams = DEFAULT_PARAMS,
) -> dict[K, Scored]:
    """Each candidate's score; neighbours missing from ``docs`` count as absent."""
    if avgdl <= 0.0:
        avgdl = 1.0
    k1, b = params.k1, params.b
    plain: dict[K, float] = {}

    def own_score(key: K) -> float:
        if key not in plain:
            doc = docs[key]
            plain[key] = sum(
                w * bm25(doc.counts.get(t, 0), doc.length, avgdl, k1, b) for t, w in weights.items()
            )
        return plain[key]

    out: dict[K, Scored] = {}
    for key in candidates:
        doc = docs[key]
        prev = docs.get(doc.prev) if doc.prev is not None else None
        nxt = docs.get(doc.next) if doc.next is not None else None
        length = float(doc.length)
        # A neighbour lends its words at the document's own length (its counts scaled by
        # |d| / |neighbour|): a short reply to a long message borrows the message's topic,
        # not its length. Why not raw counts: in chats with long assistant turns, raw counts
        # made every short user turn look like its long neighbour (BEAM-100K: -10 points).
        prev_scale = params.prev * length / prev.length if prev is not None and prev.length else 0.0
        next_scale = params.next * length / nxt.length if nxt is not None and nxt.length else 0.0
        context = 0.0
        parts: dict[str, tuple[float, float, float]] = {}
        for term, weight in weights.items():
            tf_own = float(doc.counts.get(term, 0))
            tf = tf_own
            if prev_scale:
                tf += prev_scale * prev.counts.get(term, 0)  # type: ignore[union-attr]
            if next_scale:
                tf += next_scale * nxt.counts.get(term, 0)  # type: ignore[union-attr]
            if tf:
                context += weight * bm25(tf, length, avgdl, k1, b)
                parts[term] = (weight, tf_own, tf - tf_own)
        smoothing = 0.0
        if params.smooth:
            for side in (doc.prev, doc.next):
                if side is not None and side in docs:
                    smoothing += params.smooth * own_score(side)
        out[key] = Scored(
            score=context + smoothing,
            own=own_score(key),
            context=context,
            smoothing=smoothing,
            terms=parts,
        )
    return out


def term_weights(
    terms: Sequence[tuple[str, float]], doc_freq: Mapping[str, int], n_docs: int
) -> dict[str, float]:
    """Query term -> weight x IDF; a term given twice keeps its largest weight."""
    out: dict[str, float] = {}
    for term, weight in terms:
        value = weight * idf(n_docs, doc_freq.get(term, 0))
        if value > out.get(term, 0.0):
            out[term] = value
    return out
