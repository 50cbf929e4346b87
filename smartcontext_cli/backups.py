"""Automatic, rotating backups taken before an operation that replaces or rewrites records.

Before ``import`` into a namespace that already holds records, and before ``compact``, the
namespace is exported (the same JSONL as ``smartcontext export``, so ``smartcontext import``
restores it) to ``<home>/backups/<namespace>/<time>-<reason>.jsonl``, 0600. The newest
``backups`` of them (a setting, default 5; 0 turns them off) are kept per namespace. ``migrate``
needs none: it moves the whole old store to ``<home>/backups/`` itself.

``doctor --repair`` restores the newest one when a store cannot be read at all.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from .files import private_dirs

DEFAULT_KEEP = 5


def directory(home: Path, namespace: str) -> Path:
    return home / "backups" / namespace


def snapshot(storage: Any, home: Path, namespace: str, reason: str, keep: int) -> Path | None:
    """Export ``storage`` before ``reason``; returns the file, or None when backups are off."""
    if keep <= 0:
        return None
    from .storage.transfer import write_jsonl_file

    folder = directory(home, namespace)
    private_dirs(folder)
    # The process id keeps two processes backing up in the same second apart (compacts
    # running side by side wrote one file, and one of them failed).
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    path = folder / f"{stamp}-{reason}.jsonl"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{n}-{reason}.jsonl"
    write_jsonl_file(storage, path, namespace, verbatim=True)
    rotate(folder, keep)
    return path


def listing(home: Path, namespace: str) -> list[Path]:
    """The namespace's backups, oldest first."""
    folder = directory(home, namespace)
    if not folder.is_dir():
        return []
    return _by_age(folder)


def _by_age(folder: Path) -> list[Path]:
    """The backups in ``folder``, oldest first; one another process just rotated away is left
    out (it was a FileNotFoundError when two processes backed up at once)."""
    found = []
    for path in folder.glob("*.jsonl"):
        with contextlib.suppress(FileNotFoundError):
            found.append((path.stat().st_mtime_ns, path.name, path))
    return [path for _, _, path in sorted(found)]


def rotate(folder: Path, keep: int) -> None:
    files = _by_age(folder)
    for old in files[: max(0, len(files) - keep)]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old)


def keep_setting(settings: Any) -> int:
    value = settings.get("backups", DEFAULT_KEEP)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_KEEP
