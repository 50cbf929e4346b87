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
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}-{reason}.jsonl"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{n}-{reason}.jsonl"
    write_jsonl_file(storage, path, namespace)
    rotate(folder, keep)
    return path


def listing(home: Path, namespace: str) -> list[Path]:
    """The namespace's backups, oldest first."""
    folder = directory(home, namespace)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime_ns, p.name))


def rotate(folder: Path, keep: int) -> None:
    files = sorted(folder.glob("*.jsonl"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in files[: max(0, len(files) - keep)]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old)


def keep_setting(settings: Any) -> int:
    value = settings.get("backups", DEFAULT_KEEP)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_KEEP
