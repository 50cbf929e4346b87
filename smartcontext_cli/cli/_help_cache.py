"""The root ``--help``, rendered once per version of the code and kept under the data directory.

Why: the root help lists every command, so Typer must build all ~80 of them from their
signatures (most of a cold ``smartcontext --help``), to print the same text every time. The
text is what click renders from the full tree (the one source of truth); the cache only
remembers it, keyed by everything it depends on:

- the code: size and mtime of every module of this package and of Typer's main module (a new
  version or an edited checkout is a new key);
- the width click wraps to (``COLUMNS``, else the terminal's, else 80).

The file is ``<home>/cache/help/<key>.txt`` (0700/0600, like the rest of the data directory);
a cache that cannot be read or written only costs the slow path. Nothing here imports Typer.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT_HELP_ARGS = ([], ["--help"], ["-h"])


def _width() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns


def key() -> str:
    """A digest of what the root help depends on (see the module docstring)."""
    package = Path(__file__).resolve().parents[1]
    parts = [sys.version, str(_width())]
    files = sorted(package.glob("*.py")) + sorted(package.glob("cli/*.py"))
    # Typer renders the text: its version counts too (found without importing it).
    files += [Path(p) / "typer" / "main.py" for p in sys.path if p]
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        parts.append(f"{path.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _path(home: Path) -> Path:
    return home / "cache" / "help" / f"{key()}.txt"


def load(home: Path) -> str | None:
    try:
        return _path(home).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def store(home: Path, text: str) -> None:
    """Write the help text atomically; never raises (the cache is an optimisation)."""
    try:
        path = _path(home)
        for d in (home, home / "cache", path.parent):
            if not d.exists():
                d.mkdir(mode=0o700, exist_ok=True)
        for old in path.parent.glob("*.txt"):  # one version at a time
            if old != path:
                old.unlink(missing_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        pass
