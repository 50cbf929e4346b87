"""The JSON memory index on disk (layout and guarantees: ``json_index``).

Every file here is derived. Readers never trust one they cannot verify: a missing, unparsable or
mismatching file, or a gap in the delta files, make ``load`` return None and the caller rebuild
from the memory files.

Two kinds of writes, and why each is safe under SIGKILL:

* a commit's delta file (``delta/<generation>.json``, one per committed memory change) is staged
  in the transaction's write set (``delta_file``) and reaches the disk through the journal with
  the memory files and the ``store.json`` generation it describes: all or nothing;
* a base (a rebuild, or a writer folding the delta) is written outside any transaction, as new
  files, then the manifest is renamed into place (the switch), then older bases and delta files
  are removed. A crash before the rename leaves the old manifest, still valid or stale (behind
  the store's generation, so rebuilt); a crash after it leaves only garbage, removed next time.

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
DELTA_DIR = "delta"
FORMAT = "smartcontext-json-index"
# 2: text.TERMS_VERSION 2 (Snowball stems, identifier, kind and time terms) and each memory's
# source in the catalog. 3: one journaled delta file per commit instead of an appended
# delta.jsonl. An index of another version is rebuilt from the memory files.
VERSION = 3
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
    """The delta files' records in commit order; an unreadable one ends the chain (rebuild)."""
    directory = root / INDEX_DIR / DELTA_DIR
    try:
        with os.scandir(directory) as entries:
            names = sorted(e.name for e in entries if _is_delta_name(e.name))
    except (FileNotFoundError, NotADirectoryError):
        return []
    lines = []
    for name in names:
        raw = _read(directory / name)
        try:
            line = json.loads(raw) if raw else None
        except ValueError:
            line = None
        if not (
            isinstance(line, dict)
            and isinstance(line.get("from"), int)
            and isinstance(line.get("to"), int)
        ):
            break
        lines.append(line)
    return lines


def _is_delta_name(name: str) -> bool:
    return name.endswith(".json") and name[: -len(".json")].isdigit()


def load(root: Path, generation: int) -> MemoryIndex | None:
    """The saved index brought to ``generation`` through the delta, or None (rebuild)."""
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
    _catch_up(root, index, manifest)
    if index.generation != generation:
        return None  # behind the store (a writer found it stale, or a crash mid-rebuild)
    return index


def _catch_up(root: Path, index: MemoryIndex, manifest: dict[str, Any]) -> None:
    """Apply the delta records past ``index.generation``, without a gap."""
    for line in _delta_lines(root):
        if line.get("base") != manifest["base"] or line["to"] <= index.generation:
            continue
        if line["from"] != index.generation:
            break  # a commit whose record never arrived: the index stays behind
        index.apply_record(line)
        index.generation = line["to"]


def catch_up(root: Path, index: MemoryIndex, generation: int) -> bool:
    """Bring a loaded index to ``generation`` from the delta, if it still extends its base."""
    manifest = _manifest(root)
    if manifest is None or manifest["base"] != index.base_name:
        return False
    _catch_up(root, index, manifest)
    return index.generation == generation


def save(root: Path, index: MemoryIndex) -> None:
    """Write ``index`` as a new base (rebased first); drop older bases and delta files."""
    with paused_gc():  # a million postings, none of them in a cycle (transfer.paused_gc)
        shards = index.rebase(SHARDS, shard_of)
        _write_base(root, index, shards)


def _write_base(root: Path, index: MemoryIndex, shards: list[Postings]) -> None:
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
        "files": files,
    }
    _replace(directory / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8") + b"\n")
    index.base_name = name
    for old in directory.glob("base-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    for line in _delta_names(root):
        with contextlib.suppress(OSError):
            os.unlink(directory / DELTA_DIR / line)
    with contextlib.suppress(OSError):
        os.unlink(directory / "delta.jsonl")  # version 2's delta


def _delta_names(root: Path) -> list[str]:
    try:
        with os.scandir(root / INDEX_DIR / DELTA_DIR) as entries:
            return sorted(e.name for e in entries if _is_delta_name(e.name))
    except (FileNotFoundError, NotADirectoryError):
        return []


def saved_state(root: Path) -> tuple[str, int, int] | None:
    """(base, generation, memories changed since the base) of the saved index, or None.

    From the manifest and the last delta file: what a writer needs to stage the next one.
    """
    manifest = _manifest(root)
    if manifest is None:
        return None
    names = _delta_names(root)
    last = None
    if names:
        raw = _read(root / INDEX_DIR / DELTA_DIR / names[-1])
        try:
            last = json.loads(raw) if raw else None
        except ValueError:
            last = None
    if (
        not isinstance(last, dict)
        or last.get("base") != manifest["base"]
        or not isinstance(last.get("to"), int)
        or last["to"] <= manifest["generation"]
    ):
        return manifest["base"], manifest["generation"], 0
    return manifest["base"], int(last["to"]), int(last.get("changes", 0))


def delta_file(root: Path, base: str, record: dict[str, Any]) -> tuple[Path, str]:
    """The delta file of one commit (``record`` holds from, to and changes), to be staged."""
    name = f"{record['to']:012d}.json"
    text = json.dumps({**record, "base": base}, ensure_ascii=False, separators=(",", ":"))
    return root / INDEX_DIR / DELTA_DIR / name, text + "\n"
