"""Memory vectors for the semantic extra: derived data beside the store, never inside it.

Why a side file (``<namespace dir>/vectors.db``, SQLite, whatever the backend): vectors are
derived from the memories, so they need no backup, no migration code of their own and no
change to any backend (sqlite, json, and PostgreSQL later, alike). Each row is keyed by
(memory id, sha256 of its text, model id); a vector whose key no longer matches a memory is
stale and is dropped, a memory without one is embedded.

How they stay in sync (``VectorIndex.sync``, run before every semantic search): the store's
version (``store_version``: SQLite's commit sequence and file inode; the JSON store's
generation) is compared with the one recorded at the last check; when they differ, every
memory's (id, text hash) is compared with the vectors', and what is missing is embedded and
what is stale dropped. So writes, imports, compaction, migration and deletes by any process
are caught by the next semantic search; ``remember`` embeds on write (``add``) so that cost
is paid once, when the text arrives. A backend without a cheap version is checked in full.

The vectors are kept in memory while they do not change (``VectorIndex._load``) and scanned
by ``vector_scan.Scan``: exact nearest neighbours, read from an int8 copy on large stores
(100,000 memories: about 2 ms of CPU a scan, against 15 ms for the float32 matrix product).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import Memory
from .storage.base import Storage

if TYPE_CHECKING:
    from .embedding import Embedder
    from .vector_scan import Scan

VECTORS_FILE = "vectors.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, model TEXT NOT NULL, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def store_version(storage: Storage) -> str | None:
    """A value that changes whenever the store's memories may have changed, or None.

    SQLite: the commit sequence (bumped by every write transaction) and the file's inode (a
    migrated or restored store is another file). JSON: the generation every memory write
    bumps, and the memories directory's inode. Other backends: None (checked in full).
    """
    backend = getattr(storage, "backend", None)
    try:
        if backend == "sqlite":
            from .storage.sqlite_checks import db_commit

            db = storage.db  # type: ignore[attr-defined]
            return f"sqlite:{db_commit(db)}:{os.stat(storage.path).st_ino}"
        if backend == "json":
            state = storage._state()  # type: ignore[attr-defined]
            return f"json:{state['generation']}:{os.stat(Path(storage.path) / 'memories').st_ino}"
    except (AttributeError, OSError, KeyError, sqlite3.Error):
        return None
    return None


def _private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (SQLite's journals take its mode), as the
    store's own files are: vectors are derived from the memories' text."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _next(version: str | None) -> str | None:
    """The version one write after ``version`` (for ``add``: was ours the only write?)."""
    if version is None:
        return None
    kind, number, inode = version.split(":")
    return f"{kind}:{int(number) + 1}:{inode}"


class VectorIndex:
    """One namespace's vectors for one model: sync, add, nearest."""

    def __init__(self, directory: Path, model: Embedder) -> None:
        self.path = Path(directory) / VECTORS_FILE
        self.model = model
        self.model_id = model.info.id
        self._db: sqlite3.Connection | None = None
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._scan: Scan | None = None
        self._loaded_rev: str | None = None

    # the file ----------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            from .files import private_dirs

            private_dirs(self.path.parent)
            _private_file(self.path)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._conn().execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._conn().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _bump_rev(self) -> None:
        rev = int(self._meta("rev") or "0") + 1
        self._set_meta("rev", str(rev))

    def stored(self) -> dict[str, str]:
        """memory id -> text hash of the vectors of this model."""
        rows = self._conn().execute(
            "SELECT id, hash FROM vectors WHERE model = ?", (self.model_id,)
        )
        return dict(rows.fetchall())

    def _write(self, memories: Sequence[Memory]) -> None:
        if not memories:
            return
        vectors = self.model.embed([m.content for m in memories])
        rows = [
            (m.id, text_hash(m.content), self.model_id, vectors[i].astype("float16").tobytes())
            for i, m in enumerate(memories)
        ]
        self._conn().executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)

    # keeping in sync ---------------------------------------------------------------------------

    def sync(self, storage: Storage) -> dict[str, int]:
        """Make the vectors agree with the memories (module docstring); what it did."""
        version = store_version(storage)
        db = self._conn()
        if version is not None and self._meta(f"version:{self.model_id}") == version:
            return {"embedded": 0, "dropped": 0, "checked": 0}
        memories = {m.id: m for m in storage.iter_memories()}
        have = self.stored()
        wanted = {mid: text_hash(m.content) for mid, m in memories.items()}
        stale = [mid for mid, h in have.items() if wanted.get(mid) != h]
        missing = [memories[mid] for mid, h in wanted.items() if have.get(mid) != h]
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM vectors WHERE model != ?", (self.model_id,))
            db.executemany("DELETE FROM vectors WHERE id = ?", [(mid,) for mid in stale])
            self._write(missing)
            self._set_meta(f"version:{self.model_id}", version)
            if stale or missing:
                self._bump_rev()
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return {"embedded": len(missing), "dropped": len(stale), "checked": len(memories)}

    def add(
        self, memories: Sequence[Memory], before: str | None = None, after: str | None = None
    ) -> None:
        """Embed memories just written (``remember``). ``before``/``after``: the store's version
        around that write; when the index was in sync before it and it was the only write, the
        index is recorded as in sync after it, so the next search skips the full check."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            self._write(memories)
            key = f"version:{self.model_id}"
            synced = before is not None and self._meta(key) == before and after == _next(before)
            self._set_meta(key, after if synced else None)
            self._bump_rev()
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    # searching ---------------------------------------------------------------------------------

    def _load(self) -> None:
        import numpy as np

        rev = self._meta("rev") or "0"
        if self._scan is not None and rev == self._loaded_rev:
            return
        rows = self._conn().execute(
            "SELECT id, vec FROM vectors WHERE model = ? ORDER BY id", (self.model_id,)
        )
        ids, blobs = [], []
        for mid, blob in rows:
            ids.append(mid)
            blobs.append(blob)
        from .embedding import DIMENSIONS
        from .vector_scan import Scan

        raw = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(ids), DIMENSIONS)
        self._scan = Scan(raw)
        self._ids = ids
        self._row = {mid: i for i, mid in enumerate(ids)}
        self._loaded_rev = rev

    def cosines(self, vector: Any, ids: Iterable[str]) -> dict[str, float]:
        """The cosine of ``vector`` with each of ``ids`` that has a vector."""
        import numpy as np

        self._load()
        rows = [(mid, self._row[mid]) for mid in ids if mid in self._row]
        if not rows or self._scan is None:
            return {}
        sims = self._scan.exact(vector, np.array([r for _, r in rows], dtype=np.int64))
        return {mid: float(s) for (mid, _), s in zip(rows, sims, strict=True)}

    def nearest(self, vector: Any, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` memories closest to ``vector`` (cosine), best first; equal cosines in
        id order (``vector_scan.Scan.nearest``)."""
        self._load()
        if not self._ids or limit <= 0 or self._scan is None:
            return []
        rows, sims = self._scan.nearest(vector, limit)
        return [(self._ids[i], float(s)) for i, s in zip(rows, sims, strict=True)]

    def count(self) -> int:
        row = (
            self._conn()
            .execute("SELECT COUNT(*) FROM vectors WHERE model = ?", (self.model_id,))
            .fetchone()
        )
        return int(row[0])


def carry_over(old_dir: Path, new_dir: Path) -> None:
    """Copy the vectors into a migrated namespace (``migrate``): they are keyed by memory id
    and text, which a migration keeps, so nothing needs embedding again (the new store's
    version differs, so the next search checks them, and finds them all)."""
    source = Path(old_dir) / VECTORS_FILE
    if not source.is_file():
        return
    target = Path(new_dir) / VECTORS_FILE
    _private_file(target)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
