"""The JSON backend's write-ahead journal: a transaction's files change all together or not at all.

Protocol, for one namespace directory ``root`` whose exclusive lock the caller holds:

1. A transaction collects its writes in a ``WriteSet`` (path -> new text, or None to delete).
   Nothing on disk changes while the body runs, so an exception or a kill leaves no trace.
2. ``commit``: when more than one file changes, the whole write set is first written to
   ``wal.json`` (temp file, fsync, rename, fsync of the directory). That rename is the commit
   point. Then every file is replaced (temp file, fsync, rename), the touched directories are
   fsynced, and ``wal.json`` is removed. One changed file needs no journal: replacing a file is
   atomic already.

   A large write set (``BULK_FILES`` files or more: an import, a migration's copy) is made
   durable with one ``syncfs`` of the store's file system instead of an fsync per file, where
   Linux offers it. Why that keeps the guarantee: until ``wal.json`` is removed, a file a power
   cut left empty or stale is rewritten from the journal, so the files need only be durable
   before that removal, which ``syncfs`` (it returns once everything written is on disk)
   ensures. Why it matters: each fsync of a new file made ext4 commit its journal, 1-3 ms a
   file, most of a 5,000-memory migration; fsyncs issued after all the writes cost as much.
3. ``recover``, run by whoever takes the lock next: a ``wal.json`` found there belongs to a
   writer that died after its commit point, so it is applied again (every step is idempotent)
   and removed. Temp files (``.tmp-*`` in ``root``) of a killed writer are deleted.

A ``wal.json`` that fails its checksum was not written by this protocol (we rename only complete,
fsynced files into place): it is damage, reported by name and left alone.

Other modules that keep files in a JSON namespace (a derived index, say) write through the same
``WriteSet``, so their files commit with the data they derive from.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from smartcontext_cli import faults
from smartcontext_cli.errors import StoreCorruptError

WAL_FILE = "wal.json"
TMP_PREFIX = ".tmp-"
FORMAT = "smartcontext-wal"
VERSION = 1
# Journaled write sets this large are made durable by one syncfs (module docstring).
BULK_FILES = 64


class WriteSet:
    """The pending writes of one transaction, readable before they reach the disk."""

    def __init__(self) -> None:
        self.files: dict[Path, str | None] = {}
        self._by_dir: dict[Path, dict[str, str | None]] = {}

    def __bool__(self) -> bool:
        return bool(self.files)

    def put(self, path: Path, text: str) -> None:
        self.files[path] = text
        self._by_dir.setdefault(path.parent, {})[path.name] = text

    def delete(self, path: Path) -> None:
        self.files[path] = None
        self._by_dir.setdefault(path.parent, {})[path.name] = None

    def touches(self, path: Path) -> bool:
        return path in self.files

    def get(self, path: Path) -> str | None:
        """The pending text (None: pending deletion); only call when ``touches(path)``."""
        return self.files[path]

    def names(self, directory: Path) -> dict[str, str | None]:
        """Pending file names in ``directory`` -> text (None: deleted)."""
        return self._by_dir.get(directory, {})

    def directories(self) -> list[Path]:
        return list(self._by_dir)


# files ---------------------------------------------------------------------------------------


def write_file(root: Path, path: Path, text: str, sync: bool = True) -> None:
    """Replace ``path`` atomically with ``text`` (a 0600 temp file in ``root``, fsync, rename).

    ``sync=False``: no fsync; the caller makes the batch durable (``sync_filesystem``).
    """
    fd, tmp = tempfile.mkstemp(dir=root, prefix=TMP_PREFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fsync_dir(path: Path) -> None:
    # Why: a rename is durable only once its directory is; not every platform can open one.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs`` (Linux), or None where there is none (then files are fsynced)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only for a bulk commit: not worth its import time otherwise

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
    return cast(Callable[[int], int], function)


def sync_filesystem(root: Path) -> bool:
    """Flush everything written to ``root``'s file system to disk; False if it cannot be done."""
    function = _syncfs()
    if function is None:
        return False
    try:
        fd = os.open(root, os.O_RDONLY)
    except OSError:
        return False
    try:
        return function(fd) == 0
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(root: Path, directory: Path) -> None:
    """Create ``directory`` (inside ``root``) and any missing parents, each 0700."""
    missing = []
    node = directory
    while node != root and not node.exists():
        missing.append(node)
        node = node.parent
    for d in reversed(missing):
        # The umask can only remove bits: never wider than 0700.
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)


def clean_temps(root: Path) -> list[str]:
    """Delete temp files a killed writer left in ``root``; returns their names."""
    removed = []
    try:
        with os.scandir(root) as entries:
            names = [e.name for e in entries if e.name.startswith(TMP_PREFIX)]
    except FileNotFoundError:
        return []
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root / name)
            removed.append(name)
    return removed


# commit and recovery -------------------------------------------------------------------------


def _apply(
    root: Path,
    writes: Sequence[tuple[Path, str | None]],
    prunable: Callable[[Path], bool],
    bulk: bool = False,
) -> set[Path]:
    """Apply ``writes`` in order, each file durable; returns the directories touched.

    ``bulk`` (journaled write sets of ``BULK_FILES`` or more): written without an fsync each,
    then made durable together (module docstring).
    """
    bulk = bulk and len(writes) >= BULK_FILES and _syncfs() is not None
    touched: set[Path] = set()
    written: list[Path] = []
    for path, text in writes:
        faults.point("json.apply")
        if text is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            if prunable(path.parent):
                # An emptied collection disappears; OSError: it still holds files.
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
                    touched.add(path.parent.parent)
        else:
            make_dirs(root, path.parent)
            write_file(root, path, text, sync=not bulk)
            if bulk:
                written.append(path)
        touched.add(path.parent)
    if written and not sync_filesystem(root):
        for path in written:  # syncfs failed (an I/O error it reports): fsync each one
            fsync_file(path)
    return touched


def commit(
    root: Path,
    writes: WriteSet,
    prunable: Callable[[Path], bool],
    first: Path | None = None,
    journal: bool = True,
) -> None:
    """Make ``writes`` durable, all or nothing (see the module docstring).

    ``first`` is applied before the others; ``journal=False`` skips the journal, for write sets
    whose only other change is ``first`` announcing it (the caller vouches that applying them
    in order is safe at every crash point).
    """
    items = list(writes.files.items())
    if first is not None and writes.touches(first):
        items.sort(key=lambda item: item[0] != first)  # stable: the rest keep their order
    if not journal or len(items) <= 1:
        _apply(root, items, prunable)
        return
    body = json.dumps(
        [[path.relative_to(root).as_posix(), text] for path, text in items], ensure_ascii=False
    )
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    header = json.dumps({"format": FORMAT, "version": VERSION, "sha256": digest})
    write_file(root, root / WAL_FILE, header + "\n" + body)
    fsync_dir(root)
    faults.point("json.journal")
    touched = _apply(root, items, prunable, bulk=True)
    for directory in touched:
        fsync_dir(directory)
    faults.point("json.applied")
    os.unlink(root / WAL_FILE)


def read_journal(root: Path, safe: Callable[[str], bool]) -> list[tuple[Path, str | None]] | None:
    """The writes recorded in ``root/wal.json``; None when there is none; damage is named."""
    path = root / WAL_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    what = f"{path} (the JSON store's commit journal)"
    head, _, body = raw.partition(b"\n")
    try:
        header = json.loads(head)
        ok = (
            isinstance(header, dict)
            and header.get("format") == FORMAT
            and header.get("version") == VERSION
            and header.get("sha256") == hashlib.sha256(body).hexdigest()
        )
        entries = json.loads(body) if ok else None
    except (ValueError, UnicodeDecodeError):
        ok, entries = False, None
    if not ok or not isinstance(entries, list):
        raise StoreCorruptError(
            f"{what} is damaged: it cannot be replayed and was left in place; "
            "run `smartcontext doctor` (a commit may be half applied)"
        )
    out: list[tuple[Path, str | None]] = []
    for entry in entries:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and all(safe(part) for part in entry[0].split("/"))
            and (entry[1] is None or isinstance(entry[1], str))
        ):
            raise StoreCorruptError(f"{what} names a file outside the store: {entry!r:.80}")
        out.append((root.joinpath(*entry[0].split("/")), entry[1]))
    return out


def recover(root: Path, safe: Callable[[str], bool], prunable: Callable[[Path], bool]) -> bool:
    """Finish a commit a killed writer left behind; True when there was one."""
    writes = read_journal(root, safe)
    clean_temps(root)
    if writes is None:
        return False
    touched = _apply(root, writes, prunable, bulk=True)
    for directory in touched:
        fsync_dir(directory)
    os.unlink(root / WAL_FILE)
    return True
