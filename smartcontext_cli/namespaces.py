"""Namespaces of a data directory: which exist, which one is in force, and deleting one.

A namespace is a directory ``<home>/namespaces/<name>/`` holding one store (see ``storage``),
or, on the postgres backend, rows of the team's database: when the backend in force is postgres
(and a database URL is set), the database's namespaces are listed beside the local ones, even
those no file on this machine mentions. Listing opens each store read-only in effect (counts
only); deleting removes the directory, or the namespace's rows, after the caller has
confirmed. Nothing here prints or asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import NAMESPACE_RE, Settings, git_root, validate_namespace
from .errors import NotFoundError, SmartContextError, StoreCorruptError
from .storage import Storage, existing_backend, namespace_dir, open_storage


def names(home: Path) -> list[str]:
    """Every namespace with a store under ``home``, sorted."""
    root = home / "namespaces"
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and NAMESPACE_RE.fullmatch(p.name) and existing_backend(p) is not None
    )


def source_of(settings: Settings) -> str:
    """Where the namespace in force comes from: flag, env, user, project, git or default."""
    if settings.values.get("namespace") is not None:
        return settings.sources.get("namespace", "flag")
    return "git" if git_root() is not None else "default"


def _database_url(settings: Settings) -> str | None:
    url = settings.get("database_url")
    return str(url) if url else None


def _uses_database(settings: Settings) -> bool:
    """Whether the database's namespaces count as this data directory's too."""
    return settings.get("backend") == "postgres" and _database_url(settings) is not None


def _open_postgres(settings: Settings, name: str) -> Storage:
    return open_storage(settings.home, name, "postgres", database_url=_database_url(settings))


def database_names(settings: Settings) -> list[str]:
    """The namespaces of the database in force (none unless the backend is postgres)."""
    if not _uses_database(settings):
        return []
    storage = _open_postgres(settings, settings.namespace())
    try:
        found: list[str] = storage.namespaces()  # type: ignore[attr-defined]
        return found
    finally:
        storage.close()


def describe(
    settings: Settings, name: str | None = None, problems: list[str] | None = None
) -> dict[str, Any]:
    """One namespace (default: the one in force): where it is, its backend and its sizes.

    ``database`` names the PostgreSQL server of a postgres namespace (no password), else None;
    its ``bytes`` are the size of its rows there, and ``path`` its (maybe absent) local pointer.
    A store that cannot be read raises its one-line error naming the file; with ``problems``
    given, the error is appended there instead and the counts are None (``listing``: one
    damaged namespace must not hide the others).
    """
    from .memory import MemoryStore

    current = settings.namespace()
    chosen = validate_namespace(name) if name is not None else current
    directory = namespace_dir(settings.home, chosen)
    backend = existing_backend(directory)
    if backend is None and _uses_database(settings):
        backend = "postgres"  # if the database holds it (checked below)
    info: dict[str, Any] = {
        "name": chosen,
        "current": chosen == current,
        "source": source_of(settings) if chosen == current else None,
        "exists": backend is not None,
        "backend": backend,
        "path": str(directory),
        "database": None,
        "memories": 0,
        "artifacts": 0,
        "bytes": 0,
    }
    if backend == "postgres":
        from .storage.postgres_connection import describe as where

        storage = _open_postgres(settings, chosen)
        try:
            info["database"] = f"PostgreSQL at {where(getattr(storage, 'url', ''))}"
            info["exists"] = bool(storage.has_namespace())  # type: ignore[attr-defined]
            if not info["exists"]:
                info["backend"] = existing_backend(directory)
                return info
            info["memories"] = storage.count_memories()
            info["artifacts"] = len(storage.list_docs("artifacts"))
            info["bytes"] = storage.stored_bytes()  # type: ignore[attr-defined]
        finally:
            storage.close()
    elif backend is not None:
        store = MemoryStore(namespace=chosen, base_dir=settings.home)
        try:
            info["memories"] = store.count()
            info["artifacts"] = len(store.storage.list_docs("artifacts"))
        except StoreCorruptError as exc:
            if problems is None:
                raise
            info["memories"] = info["artifacts"] = None
            problems.append(f"namespace {chosen!r}: {exc}")
        finally:
            store.close()
        info["bytes"] = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    return info


def listing(settings: Settings, problems: list[str] | None = None) -> list[dict[str, Any]]:
    """Every namespace (local, and the database's on postgres), plus the one in force even
    when it has no store yet.

    A damaged one is listed with None counts and its error appended to ``problems``.
    """
    found = {*names(settings.home), *database_names(settings), settings.namespace()}
    problems = [] if problems is None else problems
    rows = []
    for name in sorted(found):
        try:
            rows.append(describe(settings, name, problems))
        except SmartContextError:
            # A namespace moved to PostgreSQL on a machine with no URL set: listed, not counted
            # (show and delete say what is missing).
            info = {"name": name, "current": name == settings.namespace(), "source": None}
            info |= {"exists": True, "backend": "postgres", "database": None}
            info |= {"path": str(namespace_dir(settings.home, name))}
            rows.append(info | {"memories": 0, "artifacts": 0, "bytes": 0})
    return rows


def delete(settings: Settings, name: str) -> dict[str, Any]:
    """Remove a namespace's directory (or its rows in the database) and everything in it;
    what was removed.

    The namespace is backed up first, as before import and compact (``backups``; ``info``
    gets ``"backup"``, the file or None): a rotating JSONL export under
    ``<home>/backups/<name>/`` that ``smartcontext import`` restores.
    """
    info = describe(settings, name)
    if not info["exists"]:
        known = ", ".join(sorted({*names(settings.home), *database_names(settings)})) or "none"
        raise NotFoundError(f"no namespace {name!r} (namespaces: {known})")
    info["backup"] = _backup(settings, info["name"])
    if info["database"] is not None:
        storage = _open_postgres(settings, info["name"])
        try:
            storage.drop_namespace()  # type: ignore[attr-defined]
        finally:
            storage.close()
    if Path(info["path"]).exists():
        import shutil

        shutil.rmtree(info["path"])
    return info


def _backup(settings: Settings, name: str) -> Path | None:
    from .memory import MemoryStore

    store = MemoryStore(namespace=name, base_dir=settings.home)
    try:
        return store.backup("namespace-delete")
    finally:
        store.close()


def missing_hint(settings: Settings, name: str) -> str:
    """ "no namespace 'x' (namespaces: a, b)": for reads that name a namespace with no store."""
    known = ", ".join(sorted({*names(settings.home), *database_names(settings)})) or "none yet"
    return f"no namespace {name!r} (namespaces: {known}; the first write creates it)"
