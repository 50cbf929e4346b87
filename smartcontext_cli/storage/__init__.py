"""Storage backends behind one protocol (``base.Storage``) and the function that opens them.

A namespace lives in ``<home>/namespaces/<name>/``: ``store.db`` for SQLite, ``store.json`` plus
one file per record for JSON. The file present decides the backend of an existing namespace.
A PostgreSQL namespace lives in the database (``database_url``); locally it has at most
``store.postgres``, a pointer left by ``migrate --to postgres`` so the machine keeps using the
database for it (it holds no data and no credentials).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartcontext_cli.config import home_dir, validate_namespace
from smartcontext_cli.errors import StoreCorruptError, UsageError

from .base import SCHEMA_VERSION, Storage

BACKENDS = ("sqlite", "json", "postgres")
MARKERS = {"sqlite": "store.db", "json": "store.json", "postgres": "store.postgres"}

__all__ = [
    "BACKENDS",
    "SCHEMA_VERSION",
    "JSONStorage",
    "PostgresStorage",
    "SQLiteStorage",
    "Storage",
    "StorageConfig",
    "existing_backend",
    "namespace_dir",
    "open_at",
    "open_storage",
]


def namespace_dir(home: Path, namespace: str) -> Path:
    """The namespace's directory, proven to sit inside ``home/namespaces``."""
    validate_namespace(namespace)
    root = (home / "namespaces").resolve()
    path = (root / namespace).resolve()
    if path.parent != root:  # belt and braces: validation already forbids separators
        raise UsageError(f"namespace {namespace!r} would leave the data directory")
    return path


# Files that only a store of that backend leaves behind: evidence of a store whose marker is gone.
EVIDENCE = {
    "sqlite": ("store.db-wal", "store.db.commit"),
    "json": ("counters.json", "wal.json", "memories", "docs"),
}


def existing_backend(ns_dir: Path) -> str | None:
    """The backend of the store in ``ns_dir``, or None when there is none.

    A directory holding a store's files without its marker (``store.db``, ``store.json``) is
    a damaged store, not an empty namespace: it is reported by the backend that opens it, and
    never taken for a new namespace (which would create a second store beside the first).
    """
    found = [backend for backend, marker in MARKERS.items() if (ns_dir / marker).exists()]
    if len(found) > 1:
        raise StoreCorruptError(
            f"{ns_dir} holds both store.db and store.json; move the one not in use elsewhere"
        )
    if found:
        return found[0]
    for backend, names in EVIDENCE.items():
        if any(_holds(ns_dir / name) for name in names):
            return backend
    return None


def _holds(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()


def _private_dirs(home: Path, ns_dir: Path) -> None:
    from smartcontext_cli.files import private_dirs

    private_dirs(ns_dir)


def open_storage(
    home: Path,
    namespace: str,
    backend: str,
    create: bool = True,
    *,
    database_url: str | None = None,
    pool: Any = None,
) -> Storage:
    """Open (creating if asked) the store of ``namespace`` with ``backend``.

    PostgreSQL needs ``database_url`` (else ``$SMARTCONTEXT_DATABASE_URL``) and may borrow its
    connections from ``pool`` (``postgres_connection.shared_pool``); it creates nothing locally,
    and its namespace only with its first write.
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}: choose {', '.join(BACKENDS)}")
    ns_dir = namespace_dir(home, namespace)
    if backend == "postgres":
        from .postgres_store import PostgresStorage as _Postgres

        marker = ns_dir / MARKERS["postgres"]
        if not (database_url or os.environ.get("SMARTCONTEXT_DATABASE_URL")) and marker.exists():
            from .postgres_connection import URL_HINT

            raise UsageError(f"namespace '{namespace}' lives in PostgreSQL: {URL_HINT}")
        return _Postgres(database_url, namespace, path=marker, pool=pool)
    if create:
        _private_dirs(home, ns_dir)
    return open_at(ns_dir, backend)


def open_at(ns_dir: Path, backend: str) -> Storage:
    """Open a store in a directory the caller has already validated (migration staging)."""
    if backend not in ("sqlite", "json"):
        raise UsageError(f"a {backend} store does not live in a directory")
    from smartcontext_cli.files import private_dirs

    private_dirs(ns_dir)
    if backend == "sqlite":
        from .sqlite_store import SQLiteStorage

        return SQLiteStorage(ns_dir / MARKERS["sqlite"])
    from .json_store import JSONStorage as _JSON

    return _JSON(ns_dir)


@dataclass
class StorageConfig:
    """The spec's name for 'where a namespace's store lives' (``base_dir`` + ``namespace``)."""

    base_dir: Path | None = None
    namespace: str = "default"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return home_dir(self.base_dir)

    @property
    def directory(self) -> Path:
        return namespace_dir(self.home, self.namespace)


def __getattr__(name: str) -> Any:
    # The spec's classes, importable without paying for both backends on every start.
    if name == "SQLiteStorage":
        from .sqlite_store import SQLiteStorage as _SQLite

        return _SQLite
    if name == "JSONStorage":
        from .json_store import JSONStorage as _JSON

        return _JSON
    if name == "PostgresStorage":
        from .postgres_store import PostgresStorage as _Postgres

        return _Postgres
    raise AttributeError(name)
