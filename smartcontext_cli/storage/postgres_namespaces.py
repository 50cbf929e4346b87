"""Namespaces as the database knows them: which exist, how much each holds, dropping one.

On PostgreSQL a namespace is a row of ``sc_namespaces`` (every other row refers to it), not a
directory: a teammate's namespace exists here without any file on this machine. ``namespaces``
and ``stored_bytes`` answer ``namespace list|show``; ``drop_namespace`` answers ``namespace
delete``: one statement under the namespace's write lock, so a writer of it either finished
before (its rows go too) or waits and then starts the namespace afresh.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

# Tables holding a namespace's rows; their sizes (as PostgreSQL stores the rows, before
# indexes) are what ``stored_bytes`` adds up.
_DATA_TABLES = ("sc_memories", "sc_docs", "sc_events", "sc_counters", "sc_meta")


class _Host(Protocol):
    """What the mixin needs of ``PostgresStorage``."""

    namespace: str
    _ns_id: int | None

    def _read(self) -> AbstractContextManager[Any]: ...
    def _ns(self, conn: Any) -> int | None: ...
    def _write(
        self, sql: str, params: dict[str, Any], create: bool = True
    ) -> tuple[Any, ...] | None: ...


class PostgresNamespacesMixin:
    """``namespaces``, ``stored_bytes`` and ``drop_namespace`` for ``PostgresStorage``."""

    _ns_id: int | None

    def namespaces(self: _Host) -> list[str]:
        """Every namespace of the database, sorted (byte order, as the names are ``C``)."""
        with self._read() as conn:
            return [str(r[0]) for r in conn.execute("SELECT name FROM sc_namespaces ORDER BY 1")]

    def stored_bytes(self: _Host) -> int:
        """The size of this namespace's rows in the database (0 when it does not exist)."""
        with self._read() as conn:
            ns = self._ns(conn)
            if ns is None:
                return 0
            sizes = " + ".join(
                f"(SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t "
                "WHERE t.ns = %(ns)s::int)"
                for table in _DATA_TABLES
            )
            row = conn.execute(f"SELECT {sizes}", {"ns": ns}).fetchone()
        return int(row[0]) if row else 0

    def drop_namespace(self: _Host) -> bool:
        """Delete the namespace and every row of it; False when it did not exist."""
        row = self._write(
            "DELETE FROM sc_namespaces WHERE id = %(ns)s RETURNING id", {}, create=False
        )
        self._ns_id = None  # a later write creates it anew
        return row is not None
