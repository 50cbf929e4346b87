"""PostgreSQL backend: namespaces shared by a team, many writers on many machines.

One database holds any number of namespaces (schema: ``postgres_schema``); every row carries its
namespace's id and every statement here is scoped by it, so two namespaces never see each
other's data. Guarantees, matching ``SQLiteStorage``:

* Every public write, and every ``transaction()`` body, is one PostgreSQL transaction that first
  takes the namespace's advisory lock (``pg_advisory_xact_lock``): writers of one namespace
  queue, as on SQLite's ``BEGIN IMMEDIATE``, so a read-modify-write inside a transaction is never
  interleaved with another writer and no write is lost; a body that raises rolls everything back.
  Readers never wait; namespaces never wait for each other. A lock held longer than 30 s (a stuck
  process) ends the wait with one clear error instead of a hang.
* Reads outside a transaction run in autocommit mode: one statement, one snapshot.
* Search ranks exactly as the other backends (``postgres_ranking``); the term statistics BM25
  needs (document frequencies, row count, total length) are kept in the same transaction.
* A namespace is created by its first write: reading a namespace that does not exist finds
  nothing and writes nothing.
* Long-lived processes pass a pool (``postgres_connection.shared_pool``): each read and each
  transaction borrows its own connection, so threads can share one store. Without a pool the
  store holds one connection and, like the other backends, serves one thread.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from smartcontext_cli.config import validate_namespace
from smartcontext_cli.errors import SmartContextError, UsageError
from smartcontext_cli.models import MEMORY_FIELDS, Memory
from smartcontext_cli.storage.base import MAX_INT
from smartcontext_cli.text import document_terms

from .postgres_connection import connect, database_error, psycopg_module, require_url
from .postgres_docs import PostgresDocsMixin
from .postgres_events import PostgresEventsMixin
from .postgres_namespaces import PostgresNamespacesMixin
from .postgres_ranking import (
    MAX_TERM_BYTES,
    NEAR_LIMIT,
    encode_tf,
    fts5_idf,
    memory_bm25_sql,
    near_terms_sql,
    pg_term,
    tsvector_text,
)
from .postgres_schema import applied_migrations, ensure_schema, extension_schema
from .postgres_writes import (
    ADD_MEMORIES,
    ADD_STATISTICS,
    COPY_MEMORIES,
    DELETE_MEMORIES,
    FIRST_TAKEN,
    INSERT_MEMORIES,
)
from .transfer import TransferMixin

_COLUMNS = ", ".join(MEMORY_FIELDS)
_M_COLUMNS = ", ".join(f"m.{c}" for c in MEMORY_FIELDS)
# A memory's index terms beside its columns: the tsvector's lexemes (each term once) and ``tf``
# (the counts above 1).
_M_TERMS = "tsvector_to_array(m.tsv), m.tf"
# The previous and next memory of the same source by (created_at, id), for each asked: both
# walk the (ns, source, created_at, id) index of p003 one step.
_ADJACENT = """
    SELECT u.id,
        (SELECT p.id FROM sc_memories p
         WHERE p.ns = %(ns)s::int AND p.source = u.source
           AND (p.created_at, p.id) < (u.created_at COLLATE "C", u.id COLLATE "C")
         ORDER BY p.created_at DESC, p.id DESC LIMIT 1),
        (SELECT n.id FROM sc_memories n
         WHERE n.ns = %(ns)s::int AND n.source = u.source
           AND (n.created_at, n.id) > (u.created_at COLLATE "C", u.id COLLATE "C")
         ORDER BY n.created_at, n.id LIMIT 1)
    FROM unnest(%(ids)s::text[], %(sources)s::text[], %(created)s::text[])
        AS u(id, source, created_at)"""
ITER_PAGE = 2000
COPY_FROM = 100  # memories in one add from which COPY beats the one-statement form


_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE, without importing psycopg at module level
_SCHEMA_CHECKED: set[int] = set()  # pools (by id) whose database schema is known current


def _sql_limit(limit: int | None) -> int | None:
    """SQL's LIMIT: None (all) for a negative limit; past 2^63-1 means all as well."""
    return None if limit is None or limit < 0 else min(limit, MAX_INT)


def _first(cursor: Any) -> tuple[Any, ...] | None:
    return cursor.fetchone() if cursor.description else None


def _row_to_memory(row: Sequence[Any]) -> Memory:
    return Memory(**dict(zip(MEMORY_FIELDS, row, strict=True)))


def _with_counts(row: Sequence[Any]) -> tuple[Memory, Counter[str]]:
    """A memory row ending in ``_M_TERMS``: a term's count is ``tf``'s when it repeats, else 1."""
    *columns, lexemes, tf = row
    repeated: dict[str, int] = tf or {}
    counts = Counter({t: int(repeated.get(t, 1)) for t in lexemes})
    return _row_to_memory(columns), counts


def indexed(memory: Memory) -> tuple[Counter[str], int]:
    """A memory's term counts (under their stored keys) and its length in terms: its content,
    tags, kind and time terms (``text.document_terms``), as every backend indexes them."""
    toks = document_terms(memory.content, list(memory.tags), memory.kind, memory.created_at)
    counts = Counter(toks)
    if any(len(t) > MAX_TERM_BYTES // 4 for t in counts):
        counts = Counter(map(pg_term, toks))
    return counts, len(toks)


class _ThreadState(threading.local):
    """The transaction of the current thread: its connection, depth, and what it created."""

    conn: Any = None
    depth: int = 0
    created_ns: bool = False


class PostgresStorage(
    PostgresDocsMixin, PostgresEventsMixin, PostgresNamespacesMixin, TransferMixin
):
    backend = "postgres"

    def __init__(
        self,
        url: str | None,
        namespace: str,
        *,
        path: Path | None = None,
        pool: Any = None,
    ) -> None:
        self.url = require_url(url)
        self.namespace = validate_namespace(namespace)
        # Where this namespace's local pointer file would be (``storage.MARKERS``); nothing
        # of the store lives there, the data is in the database.
        self.path = path
        self._pool = pool
        self._conn: Any = None
        self._state = _ThreadState()
        self._ns_id: int | None = None
        self._trgm: str | None = None  # the schema of pg_trgm, looked up on first use
        self._closed = False
        # The namespace's write lock; its name is validated (letters, digits, '._-'), so it is
        # safe as a literal, and a literal lets BEGIN and the lock travel in one simple query.
        self._lock = (
            f"SELECT pg_advisory_xact_lock(hashtextextended('smartcontext/{self.namespace}', 0))"
        )
        self._begin = "BEGIN; " + self._lock
        self._pipelined = bool(psycopg_module().Pipeline.is_supported())
        if pool is None:
            self._conn = connect(self.url)
        try:
            with self._read() as conn:
                if pool is None or id(pool) not in _SCHEMA_CHECKED:
                    ensure_schema(conn)
                    if pool is not None:
                        # A pooled process opens a store per request: check the schema once.
                        _SCHEMA_CHECKED.add(id(pool))
                self._ns_id = self._lookup_ns(conn)
        except BaseException:
            self.close()
            raise

    # connections and transactions ------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Server and driver failures as one clear ``SmartContextError``."""
        psycopg = psycopg_module()
        try:
            yield
        except psycopg.Error as exc:
            raise database_error(self.url, exc) from None

    @contextmanager
    def _borrow(self) -> Iterator[Any]:
        if self._closed:
            raise SmartContextError(f"the store of namespace '{self.namespace}' is closed")
        if self._pool is None:
            yield self._conn
            return
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """The connection for a read: the current transaction's, else one of our own."""
        state = self._state
        if state.depth:
            yield state.conn
            return
        with self._errors(), self._borrow() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One PostgreSQL transaction holding the namespace's write lock; nested calls join it."""
        state = self._state
        if state.depth:
            state.depth += 1
            try:
                yield
            finally:
                state.depth -= 1
            return
        with self._errors(), self._borrow() as conn:
            state.conn, state.depth, state.created_ns = conn, 1, False
            try:
                # BEGIN and the lock in one round trip: writers queued behind us pay for ours.
                conn.execute(self._begin)
                yield
                conn.execute("COMMIT")
            except BaseException:
                if state.created_ns:
                    self._ns_id = None  # its row was rolled back with everything else
                if not conn.closed:
                    with contextlib.suppress(psycopg_module().Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                state.conn, state.depth, state.created_ns = None, 0, False

    def _write(
        self,
        sql: str,
        params: dict[str, Any],
        create: bool = True,
        before_lock: tuple[str, dict[str, Any]] | None = None,
    ) -> tuple[Any, ...] | None:
        """Run one write statement (``%(ns)s`` filled in) under the namespace's lock.

        Inside a transaction it joins it. Alone, BEGIN, the lock, the statement and COMMIT go
        to the server in one pipelined round trip, so the lock is held for the server's work
        only, never across a network round trip: what lets many writers queue cheaply.
        ``before_lock`` runs first in the same transaction, before the lock is taken (work whose
        effects no other writer can see before the commit). Returns the statement's first row,
        or None (no row, or no namespace and not ``create``).
        """
        state = self._state
        if state.depth or self._ns_id is None or not self._pipelined:
            with self.transaction():
                conn = state.conn
                ns = self._ns_for_write(conn) if create else self._ns(conn)
                if ns is None:
                    return None
                if before_lock is not None:
                    conn.execute(before_lock[0], {**before_lock[1], "ns": ns})
                return _first(conn.execute(sql, {**params, "ns": ns}))
        with self._errors(), self._borrow() as conn:
            try:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    if before_lock is not None:
                        conn.execute(before_lock[0], {**before_lock[1], "ns": self._ns_id})
                    conn.execute(self._lock)
                    cur = conn.execute(sql, {**params, "ns": self._ns_id})
                    conn.execute("COMMIT")
            except BaseException:
                if not conn.closed and conn.info.transaction_status != _IDLE:
                    with contextlib.suppress(psycopg_module().Error):
                        conn.execute("ROLLBACK")
                raise
            return _first(cur)

    def _lookup_ns(self, conn: Any) -> int | None:
        row = conn.execute("SELECT id FROM sc_namespaces WHERE name = %s", (self.namespace,))
        found = row.fetchone()
        return None if found is None else int(found[0])

    def _ns(self, conn: Any) -> int | None:
        """The namespace's id for a read, or None while it does not exist."""
        if self._ns_id is None:
            self._ns_id = self._lookup_ns(conn)
        return self._ns_id

    def _ns_for_write(self, conn: Any) -> int:
        """The namespace's id, creating its row (inside the current transaction) if needed."""
        if self._ns_id is None:
            row = conn.execute(
                "INSERT INTO sc_namespaces (name) VALUES (%s) ON CONFLICT (name) DO NOTHING "
                "RETURNING id",
                (self.namespace,),
            ).fetchone()
            if row is not None:
                self._state.created_ns = True
                self._ns_id = int(row[0])
            else:
                self._ns_id = self._lookup_ns(conn)
        assert self._ns_id is not None
        return self._ns_id

    def has_namespace(self) -> bool:
        """True once the namespace holds (or held) anything: what ``MemoryStore.exists`` asks."""
        with self._read() as conn:
            return self._ns(conn) is not None

    def applied_migrations(self) -> list[str]:
        with self._read() as conn:
            return applied_migrations(conn)

    # memories --------------------------------------------------------------------------------

    def add_memories(self, memories: Sequence[Memory]) -> None:
        if not memories:
            return
        seen: set[str] = set()
        for m in memories:
            if m.id in seen:
                raise UsageError(f"memory {m.id} already exists")
            seen.add(m.id)
        params: dict[str, Any] = {
            "ids": [m.id for m in memories],
            "contents": [m.content for m in memories],
            "tags": [json.dumps(list(m.tags), ensure_ascii=False) for m in memories],
            "kinds": [m.kind for m in memories],
            "sources": [m.source for m in memories],
            "importances": [float(m.importance) for m in memories],
            "created": [m.created_at for m in memories],
            "updated": [m.updated_at for m in memories],
            "token_counts": [m.token_count for m in memories],
            "token_encodings": [m.token_encoding for m in memories],
        }
        tfs, dls, tsvs = [], [], []
        df: Counter[str] = Counter()
        for m in memories:
            counts, length = indexed(m)
            df.update(counts.keys())
            tfs.append(encode_tf(counts))
            dls.append(length)
            tsvs.append(tsvector_text(list(counts)))
        terms = sorted(df)
        stats = {"terms": terms, "dfs": [df[t] for t in terms], "rows": len(memories)}
        stats["tokens"] = sum(dls)
        params |= {"tfs": tfs, "dls": dls, "tsvs": tsvs}
        if len(memories) < COPY_FROM and not self._state.depth and self._ns_id is not None:
            # A write of its own: rows before the lock, statistics under it (postgres_writes).
            self._write(ADD_STATISTICS, stats, before_lock=(INSERT_MEMORIES, params))
            return
        if len(memories) < COPY_FROM:
            taken = self._write(ADD_MEMORIES, {**params, **stats})
            if taken:
                raise UsageError(f"memory {taken[0]} already exists")
            return
        # Bulk (imports, migrations): COPY, then the statistics in one statement. Why: the
        # one-statement form spends most of its time taking apart arrays of thousands of rows.
        with self.transaction():
            conn = self._state.conn
            ns = self._ns_for_write(conn)
            taken = conn.execute(FIRST_TAKEN, {"ns": ns, "ids": params["ids"]}).fetchone()
            if taken:
                raise UsageError(f"memory {taken[0]} already exists")
            with conn.cursor().copy(COPY_MEMORIES) as copy:
                for m, tf, dl, tsv in zip(memories, tfs, dls, tsvs, strict=True):
                    copy.write_row(
                        (ns, m.id, m.content, list(m.tags), m.kind, m.source, float(m.importance),
                         m.created_at, m.updated_at, m.token_count, m.token_encoding, tf, dl, tsv)
                    )  # fmt: skip
            conn.execute(ADD_STATISTICS, {**stats, "ns": ns})

    def upsert_memories(self, memories: Sequence[Memory]) -> None:
        with self.transaction():
            self.delete_memories([m.id for m in memories])
            self.add_memories(memories)

    def get_memory(self, memory_id: str) -> Memory | None:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return None
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM sc_memories WHERE ns = %s::int AND id = %s",
                (ns, memory_id),
            ).fetchone()
        return _row_to_memory(row) if row else None

    def find_memory_ids(self, prefix: str, limit: int = 10) -> list[str]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            rows = conn.execute(
                "SELECT id FROM sc_memories WHERE ns = %s::int AND id >= %s AND id < %s "
                "ORDER BY id LIMIT %s",
                (ns, prefix, prefix + "\uffff", _sql_limit(limit)),
            ).fetchall()
        return [r[0] for r in rows]

    def update_memory(self, memory: Memory) -> None:
        # An unknown id stays a no-op, as on the other backends.
        with self.transaction():
            if self.delete_memories([memory.id]):
                self.add_memories([memory])

    def delete_memories(self, ids: Iterable[str]) -> int:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        row = self._write(DELETE_MEMORIES, {"ids": wanted}, create=False)
        return int(row[0]) if row else 0

    @staticmethod
    def _filters(ns: int, tags: Sequence[str], kind: str | None) -> tuple[str, list[Any]]:
        where = "ns = %s::int"
        params: list[Any] = [ns]
        if tags:
            where += " AND tags @> %s::text[]"
            params.append(list(tags))
        if kind:
            where += " AND kind = %s"
            params.append(kind)
        return where, params

    def list_memories(
        self,
        limit: int | None = None,
        offset: int = 0,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[Memory]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            where, params = self._filters(ns, tags, kind)
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM sc_memories WHERE {where} "
                "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
                [*params, _sql_limit(limit), min(max(offset, 0), MAX_INT)],
            ).fetchall()
        return [_row_to_memory(r) for r in rows]

    def iter_memories(self) -> Iterator[Memory]:
        # Pages in (created_at, id) order, so an export of any size holds one page in memory
        # and no connection stays busy between two items.
        after: tuple[str, str] | None = None
        while True:
            with self._read() as conn:
                ns = self._ns(conn)
                if ns is None:
                    return
                sql = f"SELECT {_COLUMNS} FROM sc_memories WHERE ns = %s::int"
                params: list[Any] = [ns]
                if after is not None:
                    sql += " AND (created_at, id) > (%s, %s)"
                    params += list(after)
                sql += " ORDER BY created_at, id LIMIT %s"
                rows = conn.execute(sql, [*params, ITER_PAGE]).fetchall()
            for row in rows:
                yield _row_to_memory(row)
            if len(rows) < ITER_PAGE:
                return
            after = (rows[-1][MEMORY_FIELDS.index("created_at")], rows[-1][0])

    def count_memories(self) -> int:
        return self._totals("memory")[0]

    def _totals(self, table: str) -> tuple[int, int]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return 0, 0
            row = conn.execute(
                f"SELECT n_rows, n_tokens FROM sc_{table}_stats WHERE ns = %s::int", (ns,)
            ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def _stats(self, table: str) -> tuple[int, float]:
        n_rows, n_tokens = self._totals(table)
        return n_rows, (n_tokens / n_rows if n_rows else 0.0)

    def _doc_freqs(self, table: str, query_terms: Sequence[str]) -> dict[str, int]:
        keys = sorted({pg_term(t) for t in query_terms})
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None or not keys:
                return {}
            rows = conn.execute(
                f"SELECT term, docs FROM sc_{table}_terms "
                "WHERE ns = %s::int AND term = ANY(%s::text[])",
                (ns, keys),
            ).fetchall()
        return {t: int(n) for t, n in rows}

    def _vocabulary(self, table: str, first_char: str) -> list[str]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            rows = conn.execute(
                f"SELECT term FROM sc_{table}_terms "
                "WHERE ns = %s::int AND term >= %s AND term < %s ORDER BY term",
                (ns, first_char, first_char + "\uffff"),
            ).fetchall()
        return [r[0] for r in rows]

    def bm25(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[tuple[Memory, float]]:
        if not query_terms or limit <= 0:
            return []
        n_rows, avgdl = self._stats("memory")
        if not n_rows:
            return []
        df = self._doc_freqs("memory", query_terms)
        idfs = [fts5_idf(n_rows, df.get(pg_term(t), 0)) for t in query_terms]
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            sql, params = memory_bm25_sql(
                ns, query_terms, idfs, avgdl, limit, tags, kind, _M_COLUMNS
            )
            rows = conn.execute(sql, params).fetchall()
        return [(_row_to_memory(r[:-1]), float(r[-1])) for r in rows]

    def candidates(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> dict[str, tuple[Memory, Counter[str]]]:
        # Always exact: the GIN index finds every match and the scoring runs in the server, so
        # the best ``limit`` come back in one statement, with their terms.
        terms = list(dict.fromkeys(query_terms))
        if not terms or limit <= 0:
            return {}
        n_rows, avgdl = self._stats("memory")
        if not n_rows:
            return {}
        df = self._doc_freqs("memory", terms)
        idfs = [fts5_idf(n_rows, df.get(pg_term(t), 0)) for t in terms]
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return {}
            columns = f"{_M_COLUMNS}, {_M_TERMS}"
            sql, params = memory_bm25_sql(ns, terms, idfs, avgdl, limit, tags, kind, columns)
            rows = conn.execute(sql, params).fetchall()
        out: dict[str, tuple[Memory, Counter[str]]] = {}
        for row in rows:
            memory, counts = _with_counts(row[:-1])
            out[memory.id] = (memory, counts)
        return out

    def indexed(self, ids: Sequence[str]) -> dict[str, tuple[Memory, Counter[str]]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return {}
            rows = conn.execute(
                f"SELECT {_M_COLUMNS}, {_M_TERMS} FROM sc_memories m "
                "WHERE m.ns = %s::int AND m.id = ANY(%s::text[])",
                (ns, wanted),
            ).fetchall()
        by_id: dict[str, tuple[Memory, Counter[str]]] = {}
        for row in rows:
            memory, counts = _with_counts(row)
            by_id[memory.id] = (memory, counts)
        return {mid: by_id[mid] for mid in wanted if mid in by_id}

    def adjacent(self, memories: Sequence[Memory]) -> dict[str, tuple[str | None, str | None]]:
        if not memories:
            return {}
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return {m.id: (None, None) for m in memories}
            rows = conn.execute(
                _ADJACENT,
                {
                    "ns": ns,
                    "ids": [m.id for m in memories],
                    "sources": [m.source for m in memories],
                    "created": [m.created_at for m in memories],
                },
            ).fetchall()
        return {mid: (prev, nxt) for mid, prev, nxt in rows}

    def doc_freq(self, term: str) -> int:
        return self._doc_freqs("memory", [term]).get(pg_term(term), 0)

    def index_problems(self) -> list[str]:
        """Where the search statistics disagree with the rows they summarise (``doctor``)."""
        problems = []
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            for table, rows_of in (("memory", "sc_memories"), ("event", "sc_events")):
                kept = self._totals(table)
                row = conn.execute(
                    f"SELECT count(*), coalesce(sum(dl), 0) FROM {rows_of} WHERE ns = %s::int",
                    (ns,),
                ).fetchone()
                actual = (int(row[0]), int(row[1]))
                if kept != actual:
                    problems.append(
                        f"the {table} search statistics say {kept[0]} rows of {kept[1]} terms, "
                        f"the table holds {actual[0]} of {actual[1]}"
                    )
        return problems

    def index_stats(self) -> tuple[int, float]:
        return self._stats("memory")

    def vocabulary(self, first_char: str) -> list[str]:
        return self._vocabulary("memory", first_char)

    def near_terms(self, term: str, limit: int = NEAR_LIMIT) -> list[str]:
        """Indexed terms most similar to ``term`` by trigrams (pg_trgm), whatever their first
        letter: the typo correction only PostgreSQL's index makes cheap (``search.expand_typos``
        asks when no term sharing the first two letters is close). Most similar first."""
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            if self._trgm is None:
                self._trgm = extension_schema(conn, "pg_trgm")
            rows = conn.execute(
                near_terms_sql(self._trgm), {"ns": ns, "q": pg_term(term), "n": limit}
            ).fetchall()
        return [r[0] for r in rows]

    def set_token_counts(self, counts: dict[str, tuple[str, int]]) -> None:
        if not counts:
            return
        ids = list(counts)
        self._write(
            "UPDATE sc_memories m SET token_encoding = u.e, token_count = u.n "
            "FROM unnest(%(ids)s::text[], %(encs)s::text[], %(counts)s::bigint[]) AS u(id, e, n) "
            "WHERE m.ns = %(ns)s::int AND m.id = u.id",
            {
                "ids": ids,
                "encs": [counts[i][0] for i in ids],
                "counts": [counts[i][1] for i in ids],
            },
            create=False,
        )
