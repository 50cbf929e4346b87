"""Backend migration: copy a namespace into another backend without ever losing the original.

Into SQLite or JSON, the new store is built beside the old one, checked record by record against
it, then swapped in; the old store is moved to ``<home>/backups/`` rather than deleted. Into
PostgreSQL, the copy and the check run in one database transaction, so a failed check leaves the
database as it was; the old files go to ``<home>/backups/`` as well, and a small pointer file
(``store.postgres``) keeps this machine on the database. Out of PostgreSQL, the database copy is
left in place: other machines may be using it.

Progress comes in two steps, copying then checking, each counted in memories, so neither bar's
estimate has to guess at the other step.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

from .errors import UsageError
from .memory import MemoryStore
from .storage import BACKENDS, MARKERS, Storage, open_at, open_storage
from .storage.transfer import import_records, iter_records

ProgressFactory = Callable[[int, str], Any]
# Progress callbacks are batched: a bar redrawn per memory would cost more than the copy.
PROGRESS_STEP = 1000


def migrate_namespace(
    store: MemoryStore, target: str, progress_factory: ProgressFactory | None = None
) -> dict[str, Any]:
    if target not in BACKENDS:
        raise UsageError(f"unknown backend {target!r}: choose {', '.join(BACKENDS)}")
    if not store.exists:
        raise UsageError(f"namespace '{store.namespace}' has no store yet")
    source = store.backend
    if source == target:
        raise UsageError(f"namespace '{store.namespace}' already uses {target}")
    if target == "postgres":
        return _to_postgres(store, progress_factory)
    return _to_local(store, target, progress_factory)


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _copy_and_check(
    old: Storage, new: Storage, namespace: str, progress_factory: ProgressFactory | None
) -> dict[str, int]:
    total = old.count_memories()
    copying = progress_factory(total, "copying (1/2)") if progress_factory else None
    counts = import_records(new, iter_records(old, namespace), progress=copying, keep_counts=True)
    checking = progress_factory(total, "checking (2/2)") if progress_factory else None
    same_records(old, new, namespace, checking)
    return counts


def same_records(old: Storage, new: Storage, namespace: str, progress: Any = None) -> None:
    """Raise unless both stores export the very same records (streamed: memory stays flat)."""
    done = 0
    pairs: Iterator[tuple[Any, Any]] = zip_longest(
        iter_records(old, namespace), iter_records(new, namespace)
    )
    for a, b in pairs:
        if a != b:
            raise UsageError("migration check failed: the new store differs; nothing was changed")
        if progress and a.get("type") == "memory":
            done += 1
            if done % PROGRESS_STEP == 0:
                progress(PROGRESS_STEP)
    if progress and done % PROGRESS_STEP:
        progress(done % PROGRESS_STEP)


def _backup_dir(store: MemoryStore, source: str, stamp: str) -> Path:
    backups = store.home / "backups"
    backups.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup = backups / f"{store.namespace}-{source}-{stamp}"
    # Why a suffix: two migrations in one second would otherwise move the store *into* the
    # earlier backup, and the path reported would not be where the old store went.
    n = 1
    while backup.exists():
        n += 1
        backup = backups / f"{store.namespace}-{source}-{stamp}-{n}"
    return backup


def _to_local(
    store: MemoryStore, target: str, progress_factory: ProgressFactory | None
) -> dict[str, Any]:
    source = store.backend
    stamp = _stamp()
    namespaces = store.directory.parent
    namespaces.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A leading dot: no valid namespace can ever collide with the staging directory.
    staging = namespaces / f".migrating-{store.namespace}-{stamp}"
    if staging.exists():
        shutil.rmtree(staging)
    old = store.storage
    new = open_at(staging, target)
    try:
        counts = _copy_and_check(old, new, store.namespace, progress_factory)
    except BaseException:
        new.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    new.close()
    database = getattr(old, "url", None)
    store.close()
    if source == "postgres":
        # The database copy stays (others may use it); only the local pointer, if any, goes.
        from .storage.postgres_connection import describe

        kept = f"PostgreSQL at {describe(str(database))} (left in place)"
        if store.directory.exists():
            shutil.move(str(store.directory), str(_backup_dir(store, source, stamp)))
    else:
        backup = _backup_dir(store, source, stamp)
        shutil.move(str(store.directory), str(backup))
        kept = str(backup)
    staging.rename(store.directory)
    store.backend = target
    return {
        "namespace": store.namespace,
        "from": source,
        "to": target,
        "memories": counts["memories"],
        "docs": counts["docs"],
        "backup": kept,
    }


def _to_postgres(store: MemoryStore, progress_factory: ProgressFactory | None) -> dict[str, Any]:
    from .storage.postgres_connection import describe

    source = store.backend
    old = store.storage
    new = open_storage(
        store.home, store.namespace, "postgres", database_url=store.settings.get("database_url")
    )
    try:
        where = f"PostgreSQL at {describe(getattr(new, 'url', ''))}"
        if new.count_memories() or new.collections() or new.get_counters():
            raise UsageError(
                f"namespace '{store.namespace}' already holds data on {where}; nothing was "
                "changed (migrate into an empty namespace, or use export and import to merge)"
            )
        # One transaction: a failed check rolls the whole copy back.
        with new.transaction():
            counts = _copy_and_check(old, new, store.namespace, progress_factory)
    finally:
        new.close()
    store.close()
    backup = _backup_dir(store, source, _stamp())
    shutil.move(str(store.directory), str(backup))
    _write_pointer(store.directory, where)
    store.backend = "postgres"
    return {
        "namespace": store.namespace,
        "from": source,
        "to": "postgres",
        "memories": counts["memories"],
        "docs": counts["docs"],
        "backup": str(backup),
    }


def _write_pointer(directory: Path, where: str) -> None:
    """The local trace of a namespace moved to PostgreSQL: it names the server, not secrets."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(
        {
            "backend": "postgres",
            "database": where,
            "note": "this namespace lives in PostgreSQL; its URL comes from database_url",
        },
        indent=2,
    )
    fd = os.open(directory / MARKERS["postgres"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
