"""The PostgreSQL backend's writes, each one statement: rows, index statistics and all.

Why one statement: a write changes a row and the statistics BM25 reads (document frequencies,
row count, total length), and every round trip to the server is paid by a writer holding its
namespace's lock, so each costs every queued writer too. Data-modifying CTEs apply it all in one
round trip, on one snapshot. Every statement takes named parameters and is scoped by ``%(ns)s``.

A term's count changes by ``n`` (from a CTE of ``(term, n)``, each term once, ``n`` not 0):
rising counts are upserted, falling ones updated, and those that reach 0 deleted, in three
disjoint sets, since one statement may not modify a row twice.
"""

from __future__ import annotations

from smartcontext_cli.models import MEMORY_FIELDS

_COLUMNS = ", ".join(MEMORY_FIELDS)


def _term_deltas(table: str, source: str) -> str:
    """CTEs applying the ``(term, n)`` rows of CTE ``source`` to ``sc_<table>_terms``."""
    terms = f"sc_{table}_terms"
    return f"""
    {table}_up AS (
        INSERT INTO {terms} (ns, term, docs) SELECT %(ns)s, term, n FROM {source} WHERE n > 0
        ON CONFLICT (ns, term) DO UPDATE SET docs = {terms}.docs + excluded.docs),
    {table}_down AS (
        UPDATE {terms} t SET docs = t.docs + s.n FROM {source} s
        WHERE s.n < 0 AND t.ns = %(ns)s::int AND t.term = s.term AND t.docs + s.n > 0),
    {table}_drop AS (
        DELETE FROM {terms} t USING {source} s
        WHERE s.n < 0 AND t.ns = %(ns)s::int AND t.term = s.term AND t.docs + s.n <= 0)"""


def _stats(table: str, rows: str, tokens: str, where: str = "") -> str:
    """A CTE moving ``sc_<table>_stats`` by ``rows`` and ``tokens`` (SQL expressions)."""
    stats = f"sc_{table}_stats"
    return f"""
    {table}_stats AS (
        INSERT INTO {stats} (ns, n_rows, n_tokens) SELECT %(ns)s, {rows}, {tokens} {where}
        ON CONFLICT (ns) DO UPDATE SET n_rows = {stats}.n_rows + excluded.n_rows,
            n_tokens = {stats}.n_tokens + excluded.n_tokens)"""


_NOT_TAKEN = "WHERE NOT EXISTS (SELECT 1 FROM taken)"
_GONE_ROWS = "-(SELECT count(*) FROM gone)"
_GONE_TOKENS = "-(SELECT coalesce(sum(dl), 0) FROM gone)"
_ANY_GONE = "WHERE EXISTS (SELECT 1 FROM gone)"
# A row's distinct terms are its tsvector's lexemes (``tf`` holds only the repeated ones).
_GONE_TERMS = (
    "SELECT k AS term, -count(*)::int AS n FROM gone, unnest(tsvector_to_array(gone.tsv)) k "
    "GROUP BY k"
)

_MEMORY_DELTAS = _term_deltas("memory", "d")
_EVENT_DELTAS = _term_deltas("event", "d")
_ADD_STATS = _stats("memory", "%(rows)s", "%(tokens)s", _NOT_TAKEN)
_DELETE_STATS = _stats("memory", _GONE_ROWS, _GONE_TOKENS, _ANY_GONE)
_PUT_EVENT_STATS = _stats(
    "event", "1 - (SELECT count(*) FROM old)", "%(dl)s - (SELECT coalesce(sum(dl), 0) FROM old)"
)
_DELETE_EVENT_STATS = _stats("event", _GONE_ROWS, _GONE_TOKENS, _ANY_GONE)

# Parameters: ns; one array per column (ids, contents, tags as JSON arrays, ...); the batch's
# distinct terms with their document counts; rows and tokens. Returns one row, the first id
# already stored, when there is one, and then writes nothing.
_INSERT_ROWS = f"""
    INSERT INTO sc_memories (ns, {_COLUMNS}, tf, dl, tsv)
    SELECT %(ns)s, u.id, u.content, ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)),
        u.kind, u.source, u.importance, u.created_at, u.updated_at, u.token_count,
        u.token_encoding, u.tf::jsonb, u.dl, u.tsv::tsvector
    FROM unnest(%(ids)s::text[], %(contents)s::text[], %(tags)s::text[], %(kinds)s::text[],
        %(sources)s::text[], %(importances)s::float8[], %(created)s::text[],
        %(updated)s::text[], %(token_counts)s::bigint[], %(token_encodings)s::text[],
        %(tfs)s::text[], %(dls)s::int[], %(tsvs)s::text[])
        AS u(id, content, tags, kind, source, importance, created_at, updated_at, token_count,
             token_encoding, tf, dl, tsv)"""

ADD_MEMORIES = f"""
WITH taken AS (
    SELECT id FROM sc_memories WHERE ns = %(ns)s::int AND id = ANY(%(ids)s::text[]) LIMIT 1),
ins AS ({_INSERT_ROWS}
    {_NOT_TAKEN}),
d AS (SELECT term, n FROM unnest(%(terms)s::text[], %(dfs)s::int[]) AS v(term, n) {_NOT_TAKEN}),
{_MEMORY_DELTAS},
{_ADD_STATS}
SELECT id FROM taken"""

# ADD_MEMORIES in two statements, for a write of its own: the rows first, before the
# namespace's lock (the costly part: index entries; no other writer can see them before our
# commit, and an id already stored fails on the primary key), then ADD_STATISTICS under it.
INSERT_MEMORIES = _INSERT_ROWS

# The bulk form of ADD_MEMORIES: FIRST_TAKEN, COPY_MEMORIES, then ADD_STATISTICS.
FIRST_TAKEN = (
    "SELECT id FROM sc_memories WHERE ns = %(ns)s::int AND id = ANY(%(ids)s::text[]) LIMIT 1"
)
COPY_MEMORIES = f"COPY sc_memories (ns, {_COLUMNS}, tf, dl, tsv) FROM STDIN"
ADD_STATISTICS = f"""
WITH d AS (SELECT term, n FROM unnest(%(terms)s::text[], %(dfs)s::int[]) AS v(term, n)),
{_MEMORY_DELTAS},
{_stats("memory", "%(rows)s", "%(tokens)s")}
SELECT 1"""

# Parameters: ns, ids. Returns the number of memories deleted.
DELETE_MEMORIES = f"""
WITH gone AS (
    DELETE FROM sc_memories WHERE ns = %(ns)s::int AND id = ANY(%(ids)s::text[]) RETURNING tsv, dl),
d AS ({_GONE_TERMS}),
{_MEMORY_DELTAS},
{_DELETE_STATS}
SELECT count(*) FROM gone"""

# Parameters: ns, c (collection), k (key), data (JSON text), tf (JSON), dl, tsv, terms (the
# distinct terms, those of tsv). Stores the
# document and (re)indexes it as an event; the old index entry is read on the statement's
# snapshot, before the upsert replaces it.
PUT_EVENT = f"""
WITH doc AS (
    INSERT INTO sc_docs (ns, collection, key, data) VALUES (%(ns)s, %(c)s, %(k)s, %(data)s)
    ON CONFLICT (ns, collection, key) DO UPDATE SET data = excluded.data),
old AS (
    SELECT tsv, dl FROM sc_events WHERE ns = %(ns)s::int AND collection = %(c)s AND key = %(k)s),
new AS (
    INSERT INTO sc_events (ns, collection, key, tf, dl, tsv)
    VALUES (%(ns)s, %(c)s, %(k)s, %(tf)s::jsonb, %(dl)s, %(tsv)s::tsvector)
    ON CONFLICT (ns, collection, key) DO UPDATE
        SET tf = excluded.tf, dl = excluded.dl, tsv = excluded.tsv),
d AS (
    SELECT term, sum(n)::int AS n FROM (
        SELECT unnest(%(terms)s::text[]) AS term, 1 AS n
        UNION ALL SELECT unnest(tsvector_to_array(tsv)), -1 FROM old) x
    GROUP BY term HAVING sum(n) <> 0),
{_EVENT_DELTAS},
{_PUT_EVENT_STATS}
SELECT 1"""


def delete_docs(keyed: bool) -> str:
    """Delete documents of a collection (the ``keys`` given, or all) and their event entries.

    Parameters: ns, c (collection), and keys when ``keyed``. Returns the number of documents
    deleted. Documents of other collections have no event entries, so this serves all.
    """
    match = "ns = %(ns)s::int AND collection = %(c)s"
    if keyed:
        match += " AND key = ANY(%(keys)s::text[])"
    return f"""
WITH docs_gone AS (DELETE FROM sc_docs WHERE {match} RETURNING 1),
gone AS (DELETE FROM sc_events WHERE {match} RETURNING tsv, dl),
d AS ({_GONE_TERMS}),
{_EVENT_DELTAS},
{_DELETE_EVENT_STATS}
SELECT count(*) FROM docs_gone"""
