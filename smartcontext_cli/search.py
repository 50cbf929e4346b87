"""Ranked memory search: BM25 over stemmed words, typo tolerance, and a small prior.

Pipeline: the query's content words are stemmed (``text.query_terms``); a term no memory contains
is widened to close indexed terms with rapidfuzz ("kubernets" -> "kubernet"); the backend ranks
candidates by BM25 with OR semantics; we then boost exact phrases and tag hits and break
near-ties by importance and recency. Any text is a valid query: terms reach FTS5 quoted, so
``?``, ``"``, ``NEAR(``, ``col:x`` and friends are just words or nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from .clock import parse
from .models import Memory
from .stemmer import stem
from .storage.base import Storage
from .text import fold, query_terms, terms, words

RESCORE_K1 = 1.5
RESCORE_B = 1.0
FUZZY_CUTOFF = 75.0
FUZZY_PER_TERM = 3
PHRASE_BOOST = 0.5
TAG_BOOST = 0.25
IMPORTANCE_WEIGHT = 0.10
RECENCY_WEIGHT = 0.05
RECENCY_HALF_LIFE_DAYS = 30.0


def expand_typos(
    storage: Storage,
    qterms: Sequence[str],
    doc_freq: Callable[[str], int] | None = None,
    vocabulary: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """Add close indexed terms for query terms that match nothing (typos, partial words).

    ``doc_freq`` and ``vocabulary`` name another index than the memories' (session events).
    """
    doc_freq = doc_freq or storage.doc_freq
    vocabulary = vocabulary or storage.vocabulary
    out = list(qterms)
    for term in qterms:
        if len(term) < 4 or doc_freq(term):
            continue
        from rapidfuzz import fuzz, process

        # Why only terms sharing the first letter: scanning a 1M-memory vocabulary on every
        # typo would cost more than the search itself, and first letters are rarely mistyped.
        vocab = vocabulary(term[0])
        matches = [
            m
            for m, _score, _ in process.extract(
                term, vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=FUZZY_PER_TERM
            )
        ]
        # Abbreviations and longer forms: "authentication" finds "auth", "postg" finds
        # "postgres"; the closest in length first, as the likeliest meant.
        related = [v for v in vocab if len(v) >= 4 and (term.startswith(v) or v.startswith(term))]
        related.sort(key=lambda v: (abs(len(v) - len(term)), v))
        for match in matches + related[:FUZZY_PER_TERM]:
            if match not in out:
                out.append(match)
    return out


def prior(memory: Memory, now: datetime) -> float:
    """A multiplier in about [0.95, 1.10]: importance and recency break near-ties only."""
    try:
        age_days = max(0.0, (now - parse(memory.created_at)).total_seconds() / 86400)
    except ValueError:
        age_days = 365.0
    recency: float = 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
    return 1.0 + IMPORTANCE_WEIGHT * (memory.importance - 0.5) + RECENCY_WEIGHT * recency


def query_phrase(query: str) -> str | None:
    """The phrase to boost: quoted text if any, else the whole query when it has 2+ words."""
    if query.count('"') >= 2:
        inner = query.split('"')[1]
        return " ".join(words(inner)) or None
    ws = words(query)
    return " ".join(ws) if len(ws) >= 2 else None


def search(
    storage: Storage,
    query: str,
    limit: int = 5,
    tags: Sequence[str] = (),
    kind: str | None = None,
    now: datetime | None = None,
) -> list[Memory]:
    """The ``limit`` best memories for ``query``, each with ``.score`` set (higher is better)."""
    if limit <= 0:
        return []
    now = now or datetime.now(timezone.utc)
    qterms = query_terms(query)
    if not qterms:
        # Nothing searchable (empty, or only punctuation): the best of the filtered memories.
        recent = storage.list_memories(limit=max(limit * 4, 50), tags=tags, kind=kind)
        for m in recent:
            m.score = round(prior(m, now) - 1.0, 6)
        return _best_first(recent)[:limit]
    expanded = expand_typos(storage, qterms)
    # The re-scored pool: four times the limit (at least 40), but at most 200 more than asked,
    # since a compile asks for hundreds and re-scoring reads every pooled memory.
    pool_size = max(40, limit + min(limit * 3, 200))
    pool = storage.bm25(expanded, limit=pool_size, tags=tags, kind=kind)
    candidates = rescore(storage, pool, expanded)
    phrase = query_phrase(query)
    qset = set(qterms)
    ranked: list[Memory] = []
    for memory, base in candidates:
        boost = phrase_boost(phrase, memory.content)
        if memory.tags and qset.intersection(terms(" ".join(memory.tags))):
            boost += TAG_BOOST
        memory.score = round(base * boost * prior(memory, now), 6)
        ranked.append(memory)
    return _best_first(ranked)[:limit]


def rescore(
    storage: Storage, pool: Sequence[tuple[Memory, float]], qterms: Sequence[str]
) -> list[tuple[Memory, float]]:
    """The pool re-scored by BM25 with k1=1.5 and full length normalisation (b=1).

    Why: FTS5 fixes k1=1.2, b=0.75, which lets a long text that repeats the query's words
    outrank the short note that answers it. On BEAM-100K (real long chats; see
    tests/benchmarks/bench_beam_retrieval.py) these values raised recall@1 from 21% to 37% and
    recall@5 from 46% to 59%. The pool is still chosen by FTS5 (four times the limit, at least
    40); N, avgdl and document frequencies are the index's own, on every backend alike.
    """
    if not pool:
        return []
    texts = [m.content + " " + " ".join(m.tags) for m, _ in pool]
    scores = score_texts(texts, qterms, storage.index_stats(), storage.doc_freq)
    if scores is None:
        return list(pool)
    return [(m, s) for (m, _), s in zip(pool, scores, strict=True)]


def score_texts(
    texts: Sequence[str],
    qterms: Sequence[str],
    stats: tuple[int, float],
    doc_freq: Callable[[str], int],
) -> list[float] | None:
    """Each text's BM25 (k1=1.5, b=1; ``rescore``) against an index's ``stats`` (N, avgdl) and
    document frequencies; None when the index is empty. Memories and session events alike."""
    n_rows, avgdl = stats
    if n_rows <= 0 or avgdl <= 0:
        return None
    idfs = {t: _idf(n_rows, doc_freq(t)) for t in dict.fromkeys(qterms)}
    firsts = {t[0] for t in idfs}
    out = []
    for text in texts:
        ws = words(text)
        norm = RESCORE_K1 * (1.0 - RESCORE_B + RESCORE_B * len(ws) / avgdl)
        # Why only some words are stemmed: stemming keeps a word's first letter, so only words
        # that start like a query term can count for it (a cold process pays ~5 us a stem).
        counts = Counter(stem(w) for w in ws if w[0] in firsts)
        score = 0.0
        for term, count in counts.items():
            weight = idfs.get(term)
            if weight is not None:
                score += weight * count * (RESCORE_K1 + 1.0) / (count + norm)
        out.append(score)
    return out


def phrase_boost(phrase: str | None, text: str) -> float:
    """The multiplier for a text holding the query's phrase (``query_phrase``) word for word."""
    return 1.0 + PHRASE_BOOST if phrase and phrase in " ".join(words(text)) else 1.0


def _idf(n_rows: int, hits: int) -> float:
    """FTS5's IDF (fts5_aux.c), floor included, so scores stay comparable with bm25()."""
    value = math.log((n_rows - hits + 0.5) / (hits + 0.5))
    return 1e-6 if value <= 0.0 else value


def _best_first(memories: list[Memory]) -> list[Memory]:
    """Highest score first; equal scores newest first, then by id: identical on every backend."""
    memories.sort(key=lambda m: m.id)
    memories.sort(key=lambda m: m.created_at, reverse=True)
    memories.sort(key=lambda m: m.score, reverse=True)
    return memories


def relevance(scores: Sequence[float]) -> list[float]:
    """Scale raw scores into [0, 1] (max-normalised), for consumers that mix sections."""
    top = max(scores, default=0.0)
    if top <= 0 or math.isnan(top):
        return [0.0 for _ in scores]
    return [s / top for s in scores]


__all__ = ["expand_typos", "fold", "phrase_boost", "prior", "relevance", "score_texts", "search"]
