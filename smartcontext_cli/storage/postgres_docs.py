"""Documents, counters and metadata on PostgreSQL: one row each, scoped by namespace.

Documents are JSON text (``sort_keys``, as SQLite stores them, so every backend hands back dicts
in the same key order); documents of the session collections are indexed as events in the same
statement (``postgres_writes.PUT_EVENT``). Every write goes through ``PostgresStorage._write``:
one transaction under the namespace's lock, pipelined with BEGIN and COMMIT.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .base import MAX_INT, SCHEMA_VERSION
from .events import is_event_collection
from .postgres_events import event_params
from .postgres_writes import PUT_EVENT, delete_docs


class _Host(Protocol):
    """What the mixin needs of ``PostgresStorage``."""

    def _read(self) -> AbstractContextManager[Any]: ...
    def _ns(self, conn: Any) -> int | None: ...
    def _write(
        self, sql: str, params: dict[str, Any], create: bool = True
    ) -> tuple[Any, ...] | None: ...


class PostgresDocsMixin:
    """The protocol's documents, counters and metadata for ``PostgresStorage``."""

    def get_doc(self: _Host, collection: str, key: str) -> dict[str, Any] | None:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return None
            row = conn.execute(
                "SELECT data FROM sc_docs WHERE ns = %s::int AND collection = %s AND key = %s",
                (ns, collection, key),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put_doc(self: _Host, collection: str, key: str, data: dict[str, Any]) -> None:
        # sort_keys as SQLite stores it, so every backend hands back dicts in the same order.
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        if is_event_collection(collection):
            self._write(PUT_EVENT, event_params(collection, key, text, data))
            return
        self._write(
            "INSERT INTO sc_docs (ns, collection, key, data) VALUES (%(ns)s, %(c)s, %(k)s, %(d)s) "
            "ON CONFLICT (ns, collection, key) DO UPDATE SET data = excluded.data",
            {"c": collection, "k": key, "d": text},
        )

    def delete_doc(self: _Host, collection: str, key: str) -> bool:
        row = self._write(delete_docs(keyed=True), {"c": collection, "keys": [key]}, create=False)
        return bool(row and row[0])

    def list_docs(
        self: _Host,
        collection: str,
        start: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, dict[str, Any]]]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            sql = "SELECT key, data FROM sc_docs WHERE ns = %s::int AND collection = %s"
            params: list[Any] = [ns, collection]
            if start is not None:
                sql += " AND key >= %s"
                params.append(start)
            sql += " ORDER BY key" + (" DESC" if reverse else "") + " LIMIT %s"
            params.append(None if limit is None or limit < 0 else min(limit, MAX_INT))
            rows = conn.execute(sql, params).fetchall()
        return [(k, json.loads(d)) for k, d in rows]

    def collections(self: _Host) -> list[str]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return []
            rows = conn.execute(
                "SELECT DISTINCT collection FROM sc_docs WHERE ns = %s::int ORDER BY 1", (ns,)
            ).fetchall()
        return [r[0] for r in rows]

    def count_docs(self: _Host) -> int:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return 0
            row = conn.execute("SELECT count(*) FROM sc_docs WHERE ns = %s::int", (ns,)).fetchone()
        return int(row[0])

    def delete_collection(self: _Host, collection: str) -> int:
        row = self._write(delete_docs(keyed=False), {"c": collection}, create=False)
        return int(row[0]) if row else 0

    # counters and metadata -------------------------------------------------------------------

    def next_counter(self: _Host, name: str) -> int:
        row = self._write(
            "INSERT INTO sc_counters (ns, name, value) VALUES (%(ns)s, %(name)s, 1) "
            "ON CONFLICT (ns, name) DO UPDATE SET value = sc_counters.value + 1 RETURNING value",
            {"name": name},
        )
        assert row is not None
        return int(row[0])

    def get_counters(self: _Host) -> dict[str, int]:
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return {}
            rows = conn.execute(
                "SELECT name, value FROM sc_counters WHERE ns = %s::int ORDER BY name", (ns,)
            ).fetchall()
        return {n: int(v) for n, v in rows}

    def set_counter(self: _Host, name: str, value: int) -> None:
        self._write(
            "INSERT INTO sc_counters (ns, name, value) VALUES (%(ns)s, %(name)s, %(value)s) "
            "ON CONFLICT (ns, name) DO UPDATE SET value = excluded.value",
            {"name": name, "value": value},
        )

    def get_meta(self: _Host, key: str) -> str | None:
        with self._read() as conn:
            ns = self._ns(conn)
            row = None
            if ns is not None:
                row = conn.execute(
                    "SELECT value FROM sc_meta WHERE ns = %s::int AND key = %s", (ns, key)
                ).fetchone()
        if row is None and key == "schema_version":
            # The schema is the database's (sc_migrations); every namespace reads its version.
            return str(SCHEMA_VERSION)
        return str(row[0]) if row else None

    def set_meta(self: _Host, key: str, value: str) -> None:
        self._write(
            "INSERT INTO sc_meta (ns, key, value) VALUES (%(ns)s, %(key)s, %(value)s) "
            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
            {"key": key, "value": value},
        )
