"""Backend migration: copy a namespace into another backend without ever losing the original.

The new store is built beside the old one, verified (same export), then swapped in; the old
store is moved to ``<home>/backups/`` rather than deleted.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

from .errors import UsageError
from .memory import MemoryStore
from .storage import BACKENDS, open_at
from .storage.transfer import export_all, import_records, iter_records


def migrate_namespace(
    store: MemoryStore, target: str, progress_factory: Callable[[int, str], Any] | None = None
) -> dict[str, Any]:
    if target not in BACKENDS:
        raise UsageError(f"unknown backend {target!r}: choose sqlite or json")
    if not store.exists:
        raise UsageError(f"namespace '{store.namespace}' has no store yet")
    source = store.backend
    if source == target:
        raise UsageError(f"namespace '{store.namespace}' already uses {target}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    namespaces = store.directory.parent
    # A leading dot: no valid namespace can ever collide with the staging directory.
    staging = namespaces / f".migrating-{store.namespace}-{stamp}"
    if staging.exists():
        shutil.rmtree(staging)
    old = store.storage
    total = old.count_memories()
    advance = progress_factory(total, "migrating") if progress_factory else None
    new = open_at(staging, target)
    try:
        counts = import_records(
            new, iter_records(old, store.namespace), progress=advance, keep_counts=True
        )
        if export_all(new) != export_all(old):
            raise UsageError("migration check failed: the new store differs; nothing was changed")
    except BaseException:
        new.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    new.close()
    store.close()
    backups = store.home / "backups"
    backups.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup = backups / f"{store.namespace}-{source}-{stamp}"
    # Why a suffix: two migrations in one second would otherwise move the store *into* the
    # earlier backup, and the path reported would not be where the old store went.
    n = 1
    while backup.exists():
        n += 1
        backup = backups / f"{store.namespace}-{source}-{stamp}-{n}"
    shutil.move(str(store.directory), str(backup))
    staging.rename(store.directory)
    store.backend = target
    return {
        "namespace": store.namespace,
        "from": source,
        "to": target,
        "memories": counts["memories"],
        "docs": counts["docs"],
        "backup": str(backup),
    }
