"""Private files and directories: everything smartcontext writes is 0600, every directory 0700.

Why a module: the data directory holds what people paste (notes, logs, tokens that slipped
through), so nothing in it may be readable by other users whatever the umask; the same holds
for the file ``export -o`` writes. Modes are given when a file or directory is created (the
umask can only narrow them), never fixed afterwards, so no window exists where one is open.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dirs(path: Path) -> None:
    """Create ``path`` and every missing parent, each 0700 (``mkdir(parents=True)`` makes the
    parents with the default mode, 0755 under the usual umask)."""
    missing = []
    node = path
    while not node.exists():
        missing.append(node)
        if node.parent == node:
            break
        node = node.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=DIR_MODE)


def write_private(path: Path, data: bytes | str) -> None:
    """Replace ``path`` atomically with ``data``, as a 0600 file (temp file beside it, rename)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    import tempfile  # here: it imports shutil and random, which reads never need

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
