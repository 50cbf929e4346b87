"""Namespaces of a data directory: which exist, which one is in force, and deleting one.

A namespace is a directory ``<home>/namespaces/<name>/`` holding one store (see ``storage``).
Listing opens each store read-only in effect (counts only); deleting removes the directory
after the caller has confirmed. Nothing here prints or asks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import NAMESPACE_RE, Settings, git_root, validate_namespace
from .errors import NotFoundError, StoreCorruptError
from .storage import existing_backend, namespace_dir


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


def describe(
    settings: Settings, name: str | None = None, problems: list[str] | None = None
) -> dict[str, Any]:
    """One namespace (default: the one in force): where it is, its backend and its sizes.

    A store that cannot be read raises its one-line error naming the file; with ``problems``
    given, the error is appended there instead and the counts are None (``listing``: one
    damaged namespace must not hide the others).
    """
    from .memory import MemoryStore

    current = settings.namespace()
    chosen = validate_namespace(name) if name is not None else current
    directory = namespace_dir(settings.home, chosen)
    backend = existing_backend(directory)
    info: dict[str, Any] = {
        "name": chosen,
        "current": chosen == current,
        "source": source_of(settings) if chosen == current else None,
        "exists": backend is not None,
        "backend": backend,
        "path": str(directory),
        "memories": 0,
        "artifacts": 0,
        "bytes": 0,
    }
    if backend is not None:
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
    """Every namespace, plus the one in force even when it has no store yet.

    A damaged one is listed with None counts and its error appended to ``problems``.
    """
    current = settings.namespace()
    found = names(settings.home)
    if current not in found:
        found = sorted([*found, current])
    problems = [] if problems is None else problems
    return [describe(settings, n, problems) for n in found]


def delete(settings: Settings, name: str) -> dict[str, Any]:
    """Remove a namespace's directory and everything in it; what was removed.

    The namespace is backed up first, as before import and compact (``backups``; ``info``
    gets ``"backup"``, the file or None): a rotating JSONL export under
    ``<home>/backups/<name>/`` that ``smartcontext import`` restores.
    """
    info = describe(settings, name)
    if not info["exists"]:
        known = ", ".join(names(settings.home)) or "none"
        raise NotFoundError(f"no namespace {name!r} (namespaces: {known})")
    info["backup"] = _backup(settings, info["name"])
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
    known = ", ".join(names(settings.home)) or "none yet"
    return f"no namespace {name!r} (namespaces: {known}; the first write creates it)"
