"""Backend migration: copy a namespace into another backend without ever losing the original.

One protocol for every direction. The new store is *staged* and verified (same records, streamed
and compared one by one), then a commit marker ``.migration.json`` is written (and fsynced)
into the staging directory ``namespaces/.migrating-<ns>``, then the switch is made: the old
local store moves to ``<home>/backups/`` and the staging directory becomes the namespace.

* Into SQLite or JSON, the staged store is the new store itself, built in the staging directory.
* Into PostgreSQL, the staged step is the copy into the database: one database transaction,
  atomic by itself, that also records a token naming this migration (namespace meta
  ``migration_token``). The staging directory holds the pointer file ``store.postgres`` that
  keeps this machine on the database and ``.migration-intent.json`` with that token, written
  before the copy. The marker then means "destination committed, local switch pending".
* Out of PostgreSQL, the database copy is left in place (other machines may use it); what moves
  to backups is the local pointer, if there is one.

Recoverable from a crash at any point: until the marker exists the old store is the namespace
and a staging directory left behind is deleted (into PostgreSQL: unless the database holds the
intent's token, which proves its transaction committed: then the marker is written and the
switch finished); after it, the switch is finished by whoever opens the namespace next
(``recover``, called by ``MemoryStore``):

======================  =====================================  ===============================
killed after            on disk                                recovery
======================  =====================================  ===============================
(copying)               old store, partial staging              staging deleted
``migrate.staged``      old store, verified staging, no marker  staging deleted (postgres: the
                                                                database holds the token, so
                                                                the switch is finished)
``migrate.committed``   old store, staging with marker          old moved to backups, swap
``migrate.moved``       no namespace dir, staging with marker   swap
``migrate.swapped``     new store holding the marker            marker removed
======================  =====================================  ===============================

Writers are kept out while the copy is made (the old local store's write lock is held
throughout; a PostgreSQL source is read inside one transaction), and a process that opened the
old local store before the swap finds it moved at its next write (``StoreMovedError``) instead
of writing into the backup.
Progress comes in two steps, copying then checking, each counted in records (memories and
documents) and moving at one speed from its start to its end, so the time it implies is the
time it takes: the copy is committed in chunks and counted as each commit lands, and its
last step, saving the JSON backend's search index, is counted at its measured cost
(``INDEX_SHARE``); the check's last record is counted once the switch is made.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import faults
from .errors import SmartContextError, StoreCorruptError, UsageError
from .files import private_dirs
from .storage import BACKENDS, MARKERS, Storage, namespace_dir, open_at, open_storage
from .storage.journal import fsync_dir, write_file
from .storage.transfer import copy_records, iter_records

if TYPE_CHECKING:
    from .memory import MemoryStore

MARKER = ".migration.json"
INTENT = ".migration-intent.json"  # into PostgreSQL: the token its transaction records
TOKEN_KEY = "migration_token"
LOCK = ".migrate.lock"
ProgressFactory = Callable[[int, str], Any]
# Progress callbacks are batched: a bar redrawn per memory would cost more than the copy.
PROGRESS_STEP = 1000
# Saving the JSON memory index at the end of the copy (``JSONStorage.bulk_load``) costs about
# this share of copying the memories, so the copying bar counts it as that many records.
INDEX_SHARE = 0.1


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


def recover(home: Path, namespace: str, database_url: str | None = None) -> str | None:
    """Finish or undo an interrupted migration of ``namespace``; says what it did, if anything.

    Blocks while a migration of this data directory is running, so nobody opens a namespace in
    the middle of its swap.
    """
    if not pending(home, namespace):
        return None
    with _migration_lock(home):
        return _recover_locked(home, namespace, database_url)


def _recover_locked(home: Path, namespace: str, database_url: str | None = None) -> str | None:
    staging = staging_dir(home, namespace)
    ns_dir = namespace_dir(home, namespace)
    said = _recover_old(ns_dir, old_copies(home, namespace))
    marker = staging / MARKER
    if staging.exists() and not marker.exists():
        if not _postgres_committed(staging, namespace, database_url):
            shutil.rmtree(staging)
            return f"removed the unfinished migration copy {staging}"
        # The database's transaction committed (its token is there): finish the switch.
        _write_marker(staging, str(_intent(staging)["backup"]))
    if staging.exists():
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
        with contextlib.suppress(FileNotFoundError):
            (ns_dir / INTENT).unlink()
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


def _intent(staging: Path) -> dict[str, Any]:
    try:
        data = json.loads((staging / INTENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("token"), str) and "backup" in data):
        raise StoreCorruptError(f"{staging / INTENT} is damaged: the migration cannot be checked")
    return data


def _write_marker(staging: Path, backup: str) -> None:
    """The commit point of the local switch: written and fsynced into the staged directory."""
    write_file(staging, staging / MARKER, json.dumps({"backup": backup}) + "\n")
    fsync_dir(staging)


def _postgres_committed(staging: Path, namespace: str, database_url: str | None) -> bool:
    """Whether a staged copy into PostgreSQL committed (the database holds its token)."""
    if not (staging / INTENT).exists():
        return False
    token = _intent(staging)["token"]
    url = database_url or os.environ.get("SMARTCONTEXT_DATABASE_URL")
    if not url:
        raise SmartContextError(
            f"the migration of '{namespace}' into PostgreSQL was interrupted and cannot be "
            "finished or undone without the database: set database_url (or "
            "SMARTCONTEXT_DATABASE_URL) as it was for `migrate`"
        )
    db = open_storage(staging.parent.parent, namespace, "postgres", database_url=url)
    try:
        return bool(db.get_meta(TOKEN_KEY) == token)
    finally:
        db.close()


def same_records(old: Storage, new: Storage, namespace: str, progress: Any = None) -> None:
    """Raise unless both stores export the very same records (streamed: memory stays flat).

    ``progress`` is told of every memory and document compared, in steps of ``PROGRESS_STEP``.
    """
    done = 0
    pairs: Iterator[tuple[Any, Any]] = zip_longest(
        iter_records(old, namespace), iter_records(new, namespace)
    )
    for a, b in pairs:
        if a != b:
            raise UsageError(
                "migration check failed: the new store differs (run `smartcontext doctor` on "
                "the namespace); nothing was changed"
            )
        if progress and a.get("type") in ("memory", "doc"):
            done += 1
            if done % PROGRESS_STEP == 0:
                progress(PROGRESS_STEP)
    if progress and done % PROGRESS_STEP:
        progress(done % PROGRESS_STEP)


class _Checking:
    """The checking bar: holds back its last step until the switch is made (``finish``), so
    it reaches 100% only when the migration is done."""

    def __init__(self, progress: Callable[[int], Any], total: int) -> None:
        self.progress, self.left = progress, total

    def __call__(self, n: int) -> None:
        n = min(n, self.left - 1)
        if n > 0:
            self.left -= n
            self.progress(n)

    def finish(self) -> None:
        if self.left > 0:
            self.progress(self.left)
            self.left = 0


def _copy_and_check(
    old: Storage,
    new: Storage,
    namespace: str,
    progress_factory: ProgressFactory | None,
) -> tuple[dict[str, int], _Checking | None]:
    """Copy in chunks and compare; returns the counts and the checking bar, left one step short
    of its end for the caller to finish after the switch."""
    records = old.count_memories() + old.count_docs()
    index = round(INDEX_SHARE * records) if hasattr(new, "bulk_load") else 0
    copying = progress_factory(records + index, "copying (1/2)") if progress_factory else None
    counts = copy_records(new, iter_records(old, namespace), progress=copying)
    if copying and index:
        copying(index)  # the index is saved: copy_records has returned
    checking = None
    if progress_factory:
        bar = progress_factory(records + 1, "checking (2/2)")
        checking = _Checking(bar, records + 1) if bar else None
    same_records(old, new, namespace, checking)
    return counts, checking


def _stage_local(
    old: Storage,
    staging: Path,
    target: str,
    namespace: str,
    progress_factory: ProgressFactory | None,
) -> tuple[dict[str, int], _Checking | None]:
    new = open_at(staging, target)
    try:
        done = _copy_and_check(old, new, namespace, progress_factory)
    except BaseException:
        new.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    new.close()
    return done


def _stage_postgres(
    store: MemoryStore,
    old: Storage,
    staging: Path,
    backup: Path,
    progress_factory: ProgressFactory | None,
) -> tuple[dict[str, int], _Checking | None]:
    """Copy into the database in one transaction that records this migration's token."""
    from .storage.postgres_connection import describe

    url = store.settings.get("database_url")
    new = open_storage(store.home, store.namespace, "postgres", database_url=url)
    try:
        where = f"PostgreSQL at {describe(getattr(new, 'url', ''))}"
        if new.count_memories() or new.collections() or new.get_counters():
            raise UsageError(
                f"namespace '{store.namespace}' already holds data on {where}; nothing was "
                "changed (migrate into an empty namespace, or use export and import to merge)"
            )
        token = uuid.uuid4().hex
        private_dirs(staging)
        try:
            _write_pointer(staging, where)
            intent = {"token": token, "backup": str(backup), "database": where}
            write_file(staging, staging / INTENT, json.dumps(intent) + "\n")
            fsync_dir(staging)
            with new.transaction():  # a failed check or a kill rolls the whole copy back
                done = _copy_and_check(old, new, store.namespace, progress_factory)
                new.set_meta(TOKEN_KEY, token)
                faults.point("migrate.postgres_copied")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        new.close()
    return done


def _write_pointer(directory: Path, where: str) -> None:
    """The local trace of a namespace moved to PostgreSQL: it names the server, not secrets."""
    text = json.dumps(
        {
            "backend": "postgres",
            "database": where,
            "note": "this namespace lives in PostgreSQL; its URL comes from database_url",
        },
        indent=2,
    )
    write_file(directory, directory / MARKERS["postgres"], text + "\n")


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
    home, namespace = store.home, store.namespace
    with _migration_lock(home):
        _recover_locked(home, namespace, store.settings.get("database_url"))
        staging = staging_dir(home, namespace)
        if staging.exists():
            shutil.rmtree(staging)
        old = store.storage
        backup = _free(home / "backups" / f"{namespace}-{source}-{time.strftime('%Y%m%d-%H%M%S')}")
        kept = str(backup)
        if source == "postgres":
            from .storage.postgres_connection import describe

            database = describe(str(getattr(old, "url", "")))
            kept = f"PostgreSQL at {database} (left in place)"
        with old.transaction():  # no other process writes while we copy and swap
            if target == "postgres":
                counts, checking = _stage_postgres(store, old, staging, backup, progress_factory)
            else:
                counts, checking = _stage_local(old, staging, target, namespace, progress_factory)
            from .vectors import carry_over

            carry_over(store.directory, staging)  # derived vectors: copied, not re-embedded
            faults.point("migrate.staged")
            _write_marker(staging, str(backup))
            faults.point("migrate.committed")
            if store.directory.exists():  # a postgres namespace may have no local pointer
                private_dirs(backup.parent)
                os.rename(store.directory, backup)
            faults.point("migrate.moved")
            os.rename(staging, store.directory)
            fsync_dir(store.directory.parent)
            faults.point("migrate.swapped")
            with contextlib.suppress(FileNotFoundError):
                (store.directory / MARKER).unlink()
            with contextlib.suppress(FileNotFoundError):
                (store.directory / INTENT).unlink()
        store.close()
    if checking is not None:
        checking.finish()
    store.backend = target
    return {
        "namespace": namespace,
        "from": source,
        "to": target,
        "memories": counts["memories"],
        "docs": counts["docs"],
        "backup": kept,
    }
