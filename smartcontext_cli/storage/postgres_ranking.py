"""Search on PostgreSQL: GIN-indexed tsvector matching, BM25 scored exactly as FTS5 scores it.

Why not ``ts_rank``: it is not BM25, and the other backends (SQLite FTS5, the JSON index) rank
by FTS5's ``bm25()``; a team moving a namespace between backends must get the same memories in
the same order. So PostgreSQL does what it is best at, finding the rows that hold a query term
through the GIN index over ``(ns, tsv)``, and scores each match with FTS5's formula over the
stored term frequencies, in SQL, with the same double-precision operations in the same order as
``fts5_aux.c``, so scores are the same doubles and ties stay ties (then newest first, then id).

Terms are the ones every backend indexes (``text.document_terms``: folded, stemmed in Python), so
PostgreSQL's own stemming (``to_tsvector('english', ...)``) is deliberately not used: it stems
differently from ours and would make backends disagree. Query terms become a ``tsquery`` by
quoting each one as a lexeme (``'redi' | 'cach'``), never by parsing user text, which is the safe
equivalent of ``websearch_to_tsquery``: no input can become query syntax.

Typos: ``vocabulary`` is exact (a b-tree range over the terms), so the expansions every backend
computes from it are identical. On top, ``near_terms`` asks the GIN trigram index (pg_trgm) for
terms close to a typo whatever their first letter, which the other backends cannot afford to
scan; ``search.expand_typos`` uses it only when no term sharing the first two letters is close,
so it changes results only where the other backends find no correction at all.

A term longer than ``MAX_TERM_BYTES`` (a pasted key, a base64 blob) is stored under a surrogate
(its first bytes, ``#`` and an MD5 of the whole), because a tsvector lexeme and a b-tree key have
size limits; it still matches and counts exactly, only ``vocabulary`` lists the surrogate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

MAX_TERM_BYTES = 400
NEAR_LIMIT = 20  # trigram neighbours fetched for one typo; the caller keeps the best few
# FTS5's constants (fts5_aux.c). Spelled as float8 literals in SQL, so PostgreSQL computes
# exactly what C computes with doubles.
_K1 = "1.2::float8"
_B = "0.75::float8"


def pg_term(term: str) -> str:
    """The key a term is stored under: itself, or a surrogate when it is too long (see above)."""
    if len(term) <= MAX_TERM_BYTES // 4:  # UTF-8 needs at most 4 bytes a character
        return term
    raw = term.encode("utf-8")
    if len(raw) <= MAX_TERM_BYTES:
        return term
    head = raw[: MAX_TERM_BYTES - 40].decode("utf-8", "ignore")
    return f"{head}#{hashlib.md5(raw).hexdigest()}"


def _quote_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(distinct_terms: Sequence[str]) -> str:
    """A tsvector literal holding these lexemes exactly (no parser, no stemming)."""
    raw = "".join(distinct_terms)
    if "'" not in raw and "\\" not in raw:
        # Terms are letters and digits (text.terms), so quoting is nearly always this join,
        # which costs a tenth of quoting one by one on an import.
        return "'" + "' '".join(distinct_terms) + "'" if distinct_terms else ""
    return " ".join(_quote_lexeme(t) for t in distinct_terms)


def tsquery_text(query_terms: Sequence[str]) -> str:
    """``'a' | 'b'``: OR of the terms as quoted lexemes."""
    return " | ".join(_quote_lexeme(pg_term(t)) for t in dict.fromkeys(query_terms))


# Why a prebuilt encoder: json.dumps with options builds a new encoder on every call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_tf(counts: dict[str, int]) -> str:
    """The ``tf`` column: the counts of the terms a text holds more than once, as JSON.

    Why only those: a term held once (most of them) is known from ``tsv`` already, and a full
    object cost 412 of a memory row's 964 bytes at 100,000 memories; a search reads the rows of
    every match, so their size is its cost (a third less time for a three-word query).
    """
    return _encode({t: n for t, n in counts.items() if n > 1})


def fts5_idf(n_rows: int, hits: int) -> float:
    """FTS5's IDF (fts5_aux.c), floor included."""
    import math

    value = math.log((n_rows - hits + 0.5) / (hits + 0.5))
    return 1e-6 if value <= 0.0 else value


def _scored(
    table: str, query_terms: Sequence[str], idfs: Sequence[float], avgdl: float
) -> tuple[str, list[Any], str, list[Any]]:
    """(FROM clause, score expression) of FTS5's bm25 over ``table``'s ``tf`` and ``dl``.

    One addend per query term, in query order, duplicates included (FTS5 scores ``a OR a``
    twice): ``idf * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + b * dl / avgdl)))``. A term's
    frequency is its count in ``tf`` when it repeats, else 1 when ``tsv`` holds it, else 0
    (``encode_tf``). Each frequency and the length factor are computed once per row (a LATERAL
    subquery, kept apart by ``OFFSET 0``): scoring, not matching, is most of a search's cost.
    Returns the parameters of each part, the FROM clause's and the expression's.
    """
    freqs = [
        "coalesce((r.tf -> %s)::float8, "
        f"CASE WHEN r.tsv @@ %s::tsquery THEN 1::float8 ELSE 0::float8 END) AS f{i}"
        for i in range(len(idfs))
    ]
    norm = f"{_K1} * (1.0::float8 - {_B} + {_B} * r.dl::float8 / %s::float8) AS norm"
    source = f"{table} r, LATERAL (SELECT {', '.join(freqs)}, {norm} OFFSET 0) x"
    source_params: list[Any] = []
    for t in query_terms:
        source_params += [pg_term(t), _quote_lexeme(pg_term(t))]
    source_params.append(avgdl)
    score = " + ".join(
        f"(%s::float8 * ((x.f{i} * ({_K1} + 1.0::float8)) / (x.f{i} + x.norm)))"
        for i in range(len(idfs))
    )
    return source, source_params, score, list(idfs)


def memory_bm25_sql(
    ns: int,
    query_terms: Sequence[str],
    idfs: Sequence[float],
    avgdl: float,
    limit: int,
    tags: Sequence[str],
    kind: str | None,
    columns: str,
) -> tuple[str, list[Any]]:
    """One statement: the ``limit`` best memories with ``columns`` and their score.

    Order as every backend: score descending, then ``created_at`` descending, then id. Only the
    winners' whole rows are read; the ranking reads (id, created_at, tf, dl) of the matches.
    """
    source, source_params, score, params = _scored("sc_memories", query_terms, idfs, avgdl)
    where = "r.ns = %s::int AND r.tsv @@ %s::tsquery"
    params += [*source_params, ns, tsquery_text(query_terms)]
    if tags:
        where += " AND r.tags @> %s::text[]"
        params.append(list(tags))
    if kind:
        where += " AND r.kind = %s"
        params.append(kind)
    params += [limit, ns]
    sql = (
        f"WITH best AS (SELECT r.id, r.created_at, {score} AS score FROM {source} WHERE {where} "
        "ORDER BY score DESC, r.created_at DESC, r.id LIMIT %s) "
        f"SELECT {columns}, best.score FROM best "
        "JOIN sc_memories m ON m.ns = %s::int AND m.id = best.id "
        "ORDER BY best.score DESC, best.created_at DESC, best.id"
    )
    return sql, params


def event_bm25_sql(
    ns: int,
    query_terms: Sequence[str],
    idfs: Sequence[float],
    avgdl: float,
    limit: int,
    collections: Sequence[str] | None,
) -> tuple[str, list[Any]]:
    """(collection, key, score) of the ``limit`` best events: score, then newest key, then name."""
    source, source_params, score, params = _scored("sc_events", query_terms, idfs, avgdl)
    where = "r.ns = %s::int AND r.tsv @@ %s::tsquery"
    params += [*source_params, ns, tsquery_text(query_terms)]
    if collections is not None:
        where += " AND r.collection = ANY(%s::text[])"
        params.append(list(collections))
    params.append(limit)
    sql = (
        f"SELECT r.collection, r.key, {score} AS score FROM {source} WHERE {where} "
        "ORDER BY score DESC, r.key DESC, r.collection LIMIT %s"
    )
    return sql, params


def near_terms_sql(trgm: str) -> str:
    """The ``limit`` terms most similar to ``q`` by trigrams, through the GIN trigram index.

    ``%`` keeps pairs above pg_trgm's ``similarity_threshold`` (0.3 unless the DBA changed
    it); ``trgm`` is pg_trgm's schema, so the operator resolves whatever the search_path.
    """
    return (
        "SELECT term FROM sc_memory_terms "
        f"WHERE ns = %(ns)s::int AND term OPERATOR({trgm}.%%) %(q)s "
        f"ORDER BY {trgm}.similarity(term, %(q)s) DESC, term LIMIT %(n)s"
    )
