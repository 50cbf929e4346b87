"""The JSON memory index on disk (layout and guarantees: ``json_index``).

Every file here is derived. Readers never trust one they cannot verify: a missing, unparsable or
mismatching file, a gap in the delta, or a ``memories/`` directory changed behind our back make
``load`` return None and the caller rebuild from the memory files. Writers replace files
atomically (temp file, rename) but do not fsync them: after a power cut a file may be missing
or stale, which its checksum or the generations reveal, and the next reader rebuilds.

Two processes may rebuild at once (readers share the lock): each writes a base directory of its
own name and renames its manifest into place, so the last one wins whole; a reader whose base
was replaced meanwhile sees ``IndexDamaged`` on its next shard and reloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import Any

from smartcontext_cli.gcpause import paused_gc

from .json_index import MemoryIndex, Postings

INDEX_DIR = "index"
MANIFEST = "manifest.json"
DELTA = "delta.jsonl"
FORMAT = "smartcontext-json-index"
# 2: text.TERMS_VERSION 2 (Snowball stems, identifier, kind and time terms) and each memory's
# source in the catalog; an index of another version is rebuilt from the memory files.
VERSION = 2
SHARDS = 256
# Memories put or deleted since the base before a writer folds them into a new one: reads scan
# the delta's memories per query term, a new base costs a pass over the whole index.
DELTA_MAX = 2000


class IndexDamaged(Exception):
    """A base file is missing or does not match the manifest: reload or rebuild."""


def shard_of(term: str) -> int:
    return zlib.crc32(term.encode("utf-8", "surrogatepass")) % SHARDS


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def memories_mtime(root: Path) -> int:
    try:
        return os.stat(root / "memories").st_mtime_ns
    except FileNotFoundError:
        return 0


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _checked(path: Path, digest: str | None) -> Any:
    raw = _read(path)
    if raw is None or digest is None or hashlib.sha256(raw).hexdigest() != digest:
        raise IndexDamaged(str(path))
    try:
        return json.loads(raw)
    except ValueError:
        raise IndexDamaged(str(path)) from None


def _manifest(root: Path) -> dict[str, Any] | None:
    raw = _read(root / INDEX_DIR / MANIFEST)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not (
        isinstance(data, dict)
        and data.get("format") == FORMAT
        and data.get("version") == VERSION
        and isinstance(data.get("generation"), int)
        and isinstance(data.get("base"), str)
        and isinstance(data.get("files"), dict)
    ):
        return None
    return data


def _delta_lines(root: Path) -> list[dict[str, Any]]:
    """The delta's complete lines; a torn last line (a writer killed mid-append) is dropped."""
    raw = _read(root / INDEX_DIR / DELTA) or b""
    lines = []
    for line in raw.split(b"\n")[:-1]:  # the part after the last newline is never complete
        try:
            lines.append(json.loads(line))
        except ValueError:
            break
    return lines


def load(root: Path, generation: int, check_mtime: bool = True) -> MemoryIndex | None:
    """The saved index brought to ``generation`` through the delta, or None (rebuild).

    ``check_mtime=False`` is for a writer that has just changed the memories directory itself.
    """
    manifest = _manifest(root)
    if manifest is None:
        return None
    base = root / INDEX_DIR / manifest["base"]
    files: dict[str, str] = manifest["files"]
    try:
        with paused_gc():
            catalog = _checked(base / "catalog.json", files.get("catalog.json"))
            terms = _checked(base / "terms.json", files.get("terms.json"))
    except IndexDamaged:
        return None

    def shard(number: int) -> Postings:
        name = f"postings/{number:02x}.json"
        if name not in files:
            return {}
        with paused_gc():
            postings: Postings = _checked(base / name, files[name])
        return postings

    try:
        ids = catalog["ids"]
        columns = (
            catalog["created_at"],
            catalog["kinds"],
            catalog["tags"],
            catalog["lengths"],
            catalog["sources"],
        )
        rows = zip(*columns, strict=True)
        with paused_gc():  # 50,000 tuples and none of them in a cycle
            entries = dict(zip(ids, rows, strict=True))
    except (KeyError, TypeError, ValueError):
        return None
    index = MemoryIndex(
        generation=manifest["generation"],
        base_ids=ids,
        entries=entries,
        df=terms,
        tokens=int(manifest.get("tokens", 0)),
        shard_loader=shard,
    )
    index.base_name = manifest["base"]
    index.mtime = _catch_up(root, index, manifest)
    if index.generation != generation or (check_mtime and index.mtime != memories_mtime(root)):
        return None  # behind the store, or files added, removed or replaced by hand
    return index


def _catch_up(root: Path, index: MemoryIndex, manifest: dict[str, Any]) -> Any:
    """Apply the delta lines past ``index.generation``; returns the last recorded mtime."""
    mtime = manifest.get("mtime")
    for line in _delta_lines(root):
        if line.get("base") != manifest["base"] or line["to"] <= index.generation:
            continue
        if line["from"] != index.generation:
            break  # a write whose line never arrived: the index stays behind
        index.apply_record(line)
        index.generation = line["to"]
        mtime = line.get("mtime")
    return mtime


def catch_up(root: Path, index: MemoryIndex, generation: int) -> bool:
    """Bring a loaded index to ``generation`` from the delta, if it still extends its base."""
    manifest = _manifest(root)
    if manifest is None or manifest["base"] != index.base_name:
        return False
    index.mtime = _catch_up(root, index, manifest)
    return index.generation == generation and index.mtime == memories_mtime(root)


def save(root: Path, index: MemoryIndex, mtime: int) -> None:
    """Write ``index`` as a new base (rebased first) with an empty delta; drop older bases."""
    with paused_gc():  # a million postings, none of them in a cycle (transfer.paused_gc)
        shards = index.rebase(SHARDS, shard_of)
        _write_base(root, index, shards, mtime)


def _write_base(root: Path, index: MemoryIndex, shards: list[Postings], mtime: int) -> None:
    directory = root / INDEX_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    name = f"base-{index.generation:012d}-{uuid.uuid4().hex[:8]}"
    base = directory / name
    base.mkdir(mode=0o700)
    (base / "postings").mkdir(mode=0o700)
    files: dict[str, str] = {}

    def put(rel: str, data: Any) -> None:
        raw = _dumps(data)
        # Private like every file of the namespace, whatever the umask.
        fd = os.open(base / rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        files[rel] = hashlib.sha256(raw).hexdigest()

    put("catalog.json", index.catalog())
    put("terms.json", dict(sorted(index.df.items())))
    for number, postings in enumerate(shards):
        if postings:
            put(f"postings/{number:02x}.json", postings)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "generation": index.generation,
        "base": name,
        "memories": index.count(),
        "tokens": index.tokens,
        "mtime": mtime,
        "files": files,
    }
    _replace(directory / DELTA, b"")
    _replace(directory / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8") + b"\n")
    index.base_name = name
    index.mtime = mtime
    for old in directory.glob("base-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def _last_line(root: Path) -> dict[str, Any] | None:
    """The delta's last complete line, read from its end (a write must not parse it all)."""
    path = root / INDEX_DIR / DELTA
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            chunk = b""
            step = 65536
            while True:
                start = max(0, size - step)
                fh.seek(start)
                chunk = fh.read(size - start)
                complete = chunk[: chunk.rfind(b"\n") + 1] if b"\n" in chunk else b""
                lines = complete.split(b"\n")[:-1]
                if len(lines) >= 2 or start == 0:
                    break
                step *= 4
    except OSError:
        return None
    if not lines:
        return None
    try:
        last: dict[str, Any] = json.loads(lines[-1])
    except ValueError:
        return None
    return last


def saved_state(root: Path) -> tuple[str, int, int, Any] | None:
    """(base, generation, memories changed since the base, memories mtime) of the saved index.

    From the manifest and the delta's last line: what a writer needs to append the next line.
    """
    manifest = _manifest(root)
    if manifest is None:
        return None
    last = _last_line(root)
    if last is None or last.get("base") != manifest["base"] or last["to"] <= manifest["generation"]:
        return manifest["base"], manifest["generation"], 0, manifest.get("mtime")
    return manifest["base"], int(last["to"]), int(last.get("changes", 0)), last.get("mtime")


def append(root: Path, base: str, record: dict[str, Any]) -> None:
    """Append one committed change (``record`` holds from, to, changes, mtime)."""
    line = _dumps({**record, "base": base}) + b"\n"
    # One write of a whole line: a reader (under the lock, so never concurrently) sees it all or,
    # after a crash, a torn tail that _delta_lines drops.
    fd = os.open(root / INDEX_DIR / DELTA, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as fh:
        fh.write(line)
