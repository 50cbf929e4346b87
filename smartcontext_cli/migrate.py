"""Backend migration: copy a namespace into another backend without ever losing the original.

The new store is built beside the old one in ``namespaces/.migrating-<ns>``, verified (same
export), then swapped in; the old store is moved to ``<home>/backups/`` rather than deleted.

Recoverable from a crash at any point. The commit point is the marker ``.migration.json``
written (and fsynced) into the verified staging directory; until then the old store is the
namespace and a staging directory left behind is deleted, after it the swap is finished by
whoever opens the namespace next (``recover``, called by ``MemoryStore``):

====================  =====================================  ===============================
killed after          on disk                                recovery
====================  =====================================  ===============================
(copying)             old store, partial staging              staging deleted
``migrate.staged``    old store, verified staging, no marker  staging deleted
``migrate.committed`` old store, staging with marker          old moved to backups, swap
``migrate.moved``     no namespace dir, staging with marker   swap
``migrate.swapped``   new store holding the marker            marker removed
====================  =====================================  ===============================

Writers are kept out while the copy is made (the old store's write lock is held throughout),
and a process that opened the old store before the swap finds it moved at its next write
(``StoreMovedError``) instead of writing into the backup.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import faults
from .errors import StoreCorruptError, UsageError
from .files import private_dirs
from .storage import BACKENDS, namespace_dir, open_at
from .storage.journal import fsync_dir, write_file
from .storage.transfer import export_all, import_records, iter_records

if TYPE_CHECKING:
    from .memory import MemoryStore

MARKER = ".migration.json"
LOCK = ".migrate.lock"


def staging_dir(home: Path, namespace: str) -> Path:
    # A leading dot: no valid namespace can ever collide with the staging directory.
    return home / "namespaces" / f".migrating-{namespace}"


@contextmanager
def _migration_lock(home: Path) -> Iterator[None]:
    """One migration (or recovery) at a time in a data directory."""
    private_dirs(home)
    fd = os.open(home / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def old_copies(home: Path, namespace: str) -> list[Path]:
    """Copies left by versions before this one, named ``.migrating-<ns>-<time>``."""
    prefix = f".migrating-{namespace}-"
    try:
        with os.scandir(home / "namespaces") as entries:
            return sorted(Path(e.path) for e in entries if e.name.startswith(prefix))
    except FileNotFoundError:
        return []


def pending(home: Path, namespace: str) -> bool:
    """Whether a migration of ``namespace`` was left unfinished (cheap enough for every open)."""
    return (
        staging_dir(home, namespace).exists()
        or (home / "namespaces" / namespace / MARKER).exists()
        or bool(old_copies(home, namespace))
    )


def recover(home: Path, namespace: str) -> str | None:
    """Finish or undo an interrupted migration of ``namespace``; says what it did, if anything.

    Blocks while a migration of this data directory is running, so nobody opens a namespace in
    the middle of its swap.
    """
    if not pending(home, namespace):
        return None
    with _migration_lock(home):
        return _recover_locked(home, namespace)


def _recover_locked(home: Path, namespace: str) -> str | None:
    staging = staging_dir(home, namespace)
    ns_dir = namespace_dir(home, namespace)
    said = _recover_old(ns_dir, old_copies(home, namespace))
    marker = staging / MARKER
    if staging.exists():
        if not marker.exists():
            shutil.rmtree(staging)
            return f"removed the unfinished migration copy {staging}"
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            backup = Path(info["backup"])
        except (OSError, ValueError, KeyError, TypeError):
            raise StoreCorruptError(
                f"{marker} is damaged: the migration of '{namespace}' cannot be finished; "
                f"the old store is {ns_dir if ns_dir.exists() else 'already in backups'}"
            ) from None
        if ns_dir.exists():
            private_dirs(backup.parent)
            os.rename(ns_dir, _free(backup))
        os.rename(staging, ns_dir)
        fsync_dir(ns_dir.parent)
    done = ns_dir / MARKER
    if done.exists():
        done.unlink()
        return f"finished the interrupted migration of '{namespace}'"
    return said


def _recover_old(ns_dir: Path, copies: list[Path]) -> str | None:
    """An older version's copy: verified before it moved the old store away, so it is the
    namespace when the namespace directory is missing, and a leftover otherwise."""
    said = None
    for copy in copies:
        if ns_dir.exists():
            shutil.rmtree(copy)
            said = f"removed an older version's unfinished migration copy {copy}"
        else:
            os.rename(copy, ns_dir)
            said = f"finished an older version's interrupted migration ({copy})"
    return said


def _free(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... whichever does not exist yet.

    Why a suffix: two migrations in one second would otherwise move the store *into* the
    earlier backup, and the path reported would not be where the old store went.
    """
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


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
    home, namespace = store.home, store.namespace
    with _migration_lock(home):
        _recover_locked(home, namespace)
        staging = staging_dir(home, namespace)
        if staging.exists():
            shutil.rmtree(staging)
        old = store.storage
        backup = _free(home / "backups" / f"{namespace}-{source}-{time.strftime('%Y%m%d-%H%M%S')}")
        with old.transaction():  # no other process writes while we copy and swap
            total = old.count_memories()
            advance = progress_factory(total, "migrating") if progress_factory else None
            new = open_at(staging, target)
            try:
                counts = import_records(
                    new, iter_records(old, namespace), progress=advance, keep_counts=True
                )
                if export_all(new) != export_all(old):
                    raise UsageError(
                        "migration check failed: the new store differs (run `smartcontext "
                        "doctor` on the namespace); nothing was changed"
                    )
            except BaseException:
                new.close()
                shutil.rmtree(staging, ignore_errors=True)
                raise
            new.close()
            from .vectors import carry_over

            carry_over(store.directory, staging)  # derived vectors: copied, not re-embedded
            faults.point("migrate.staged")
            write_file(staging, staging / MARKER, json.dumps({"backup": str(backup)}) + "\n")
            fsync_dir(staging)
            faults.point("migrate.committed")
            private_dirs(backup.parent)
            os.rename(store.directory, backup)
            faults.point("migrate.moved")
            os.rename(staging, store.directory)
            fsync_dir(store.directory.parent)
            faults.point("migrate.swapped")
            with contextlib.suppress(FileNotFoundError):
                (store.directory / MARKER).unlink()
        store.close()
    store.backend = target
    return {
        "namespace": namespace,
        "from": source,
        "to": target,
        "memories": counts["memories"],
        "docs": counts["docs"],
        "backup": str(backup),
    }
