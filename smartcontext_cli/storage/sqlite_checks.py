"""Damage checks for ``store.db``, run when it is opened: cheap, and never writing over damage.

SQLite itself accepts a lot of damage silently: a 0-byte file is a new, empty database; a
``-wal`` file with a bad frame is read up to that frame and the commits after it vanish; a
truncated file reads fine until a query reaches a missing page. Three checks catch these:

* the file header (magic, page size) and its length against the page count the header records
  (skipped while a ``-wal`` file holds pages not yet copied back, when the file may be short);
* a commit sequence: every write transaction bumps ``meta.commit_seq`` and, once committed,
  writes the new value to ``store.db.commit`` beside the database. A database that reads back
  fewer commits than that file records has lost committed writes (a damaged, truncated or
  deleted ``-wal``, or an older file copied over the store). Writers finish in any order, so
  the file may lag the database, never lead it: only a database *behind* it is damage;
* while a non-empty ``-wal`` exists, that comparison runs on a read-only connection first:
  closing a read-write connection checkpoints and deletes the WAL, which would destroy the
  evidence of the damage we are about to report.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from smartcontext_cli.errors import StoreCorruptError

MAGIC = b"SQLite format 3\x00"
COMMIT_SUFFIX = ".commit"
SEQ_KEY = "commit_seq"
# Bumped by every change to the memories or their index (``SQLiteStorage.memories_changed``).
MEMORIES_KEY = "memories_generation"


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def commit_path(db: Path) -> Path:
    return db.with_name(db.name + COMMIT_SUFFIX)


def wal_has_frames(db: Path) -> bool:
    try:
        return wal_path(db).stat().st_size > 0
    except FileNotFoundError:
        return False


def check_file(path: Path) -> None:
    """Raise ``StoreCorruptError`` unless ``path`` can be a whole SQLite database."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise StoreCorruptError(f"cannot read {path}: {exc.strerror}") from None
    hint = "nothing was changed; run `smartcontext doctor`"
    if size == 0:
        # Why an error: SQLite would silently start a new, empty database in it.
        raise StoreCorruptError(f"{path} is empty (0 bytes): the store was truncated; {hint}")
    if len(head) < 100 or not head.startswith(MAGIC):
        raise StoreCorruptError(f"{path} is not an SQLite database (damaged header); {hint}")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise StoreCorruptError(f"{path} has a damaged header (page size {page_size}); {hint}")
    pages = int.from_bytes(head[28:32], "big")
    # The header's page count is valid when its two change counters agree (fileformat2.html).
    valid = head[24:28] == head[92:96] and pages > 0
    if valid and size < pages * page_size and not _pages_in_wal(path, size // page_size, pages):
        raise StoreCorruptError(
            f"{path} is truncated: {size} bytes where its header records {pages} pages of "
            f"{page_size}; {hint}"
        )


def _pages_in_wal(db: Path, first_missing: int, last: int) -> bool:
    """Whether the WAL holds every page the database file lacks.

    Why: a checkpoint interrupted by a crash writes page 1 (with the new page count) before
    the pages after it, so a short file is legitimate while the WAL still holds those pages.
    Reads only the frame headers (24 bytes each), and only when the file is short.
    """
    try:
        with open(wal_path(db), "rb") as fh:
            header = fh.read(32)
            if len(header) < 32:
                return False
            page_size = int.from_bytes(header[8:12], "big")
            salt = header[16:24]
            held: set[int] = set()
            offset = 32
            while True:
                fh.seek(offset)
                frame = fh.read(24)
                if len(frame) < 24:
                    break
                if frame[8:16] == salt:
                    held.add(int.from_bytes(frame[0:4], "big"))
                offset += 24 + page_size
    except OSError:
        return False
    return all(page in held for page in range(first_missing + 1, last + 1))


def _parse_commit(raw: bytes) -> int | None:
    # Two copies of the number: a reader racing a writer's pwrite sees them disagree.
    parts = raw.split()
    if len(parts) == 2 and parts[0] == parts[1] and parts[0].isdigit():
        return int(parts[0])
    return None


def read_commit(db: Path) -> int | None:
    """The commit sequence recorded beside ``db``; None when there is no record yet."""
    path = commit_path(db)
    for _ in range(3):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            break
        if not raw:
            # Created but not yet written: a writer killed between the two. Nothing recorded.
            return None
        seq = _parse_commit(raw)
        if seq is not None:
            return seq
    raise StoreCorruptError(
        f"{path} (the commit record of {db.name}) is damaged; "
        "`smartcontext doctor --repair` rewrites it from the database"
    )


def write_commit(db: Path, seq: int) -> None:
    """Record ``seq`` beside ``db``, overwriting the fixed-width record in place.

    Why in place and not a temp file renamed over it: ext4 flushes a file renamed over another
    (``auto_da_alloc``), which cost 0.6 ms, more than the whole commit it records.
    """
    fd = os.open(commit_path(db), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, f"{seq:020d} {seq:020d}\n".encode("ascii"), 0)
    finally:
        os.close(fd)


def db_commit(db: sqlite3.Connection) -> int:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (SEQ_KEY,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # a brand-new file, before its first migration
            return 0
        raise
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def lost_commits(path: Path, expected: int | None, actual: int) -> StoreCorruptError | None:
    if expected is None or actual >= expected:
        return None
    wal = wal_path(path)
    where = f"{wal.name} was damaged" if wal_has_frames(path) else f"{wal.name} was lost"
    return StoreCorruptError(
        f"{path} is missing its last {expected - actual} committed write(s) ({where}, or an "
        "older copy of the file replaced it); nothing was changed: run `smartcontext doctor`"
    )


def check_commits_read_only(path: Path, expected: int | None) -> None:
    """The commit check on a read-only connection, which leaves a damaged WAL as it is."""
    if expected is None or not wal_has_frames(path):
        return
    try:
        ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.DatabaseError:
        return  # the read-write open reports what is wrong
    try:
        actual = db_commit(ro)
    except sqlite3.DatabaseError:
        return
    finally:
        ro.close()
    error = lost_commits(path, expected, actual)
    if error is not None:
        raise error
