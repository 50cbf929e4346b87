"""Export and import: every record of a namespace as plain data, backend-independent.

``export_all`` is deterministic (memories oldest first, documents by collection and key,
counters by name), so exporting from one backend, importing into another and exporting again
gives identical data. ``import_all`` merges: records with the same id or key are replaced,
counters only move forward (an import never makes ``#a3`` point at a different artifact).

Token counts are the compiler's own: an import drops every cached count it carries (memories'
``token_count``/``token_encoding``, session events' and artifacts' counts, the compiler's count
cache document), because a count is trusted by the fingerprint of the text it was made for, and
anyone can write a matching fingerprint next to a wrong count. They are recounted on first use.
Only ``migrate``, which copies the user's own store, keeps them (``keep_counts``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from smartcontext_cli.errors import UsageError
from smartcontext_cli.gcpause import paused_gc
from smartcontext_cli.models import Memory

from .base import SCHEMA_VERSION, Storage
from .events import is_event_collection

FORMAT = "smartcontext-export"
# Memories per upsert: large enough that per-statement costs vanish, small enough that a
# progress bar moves and memory stays flat (measured: 2,000 -> 5,000 saves ~5% of an import).
BATCH = 5000


def iter_records(storage: Storage, namespace: str | None = None) -> Iterator[dict[str, Any]]:
    yield {"type": "header", "format": FORMAT, "version": SCHEMA_VERSION, "namespace": namespace}
    for memory in storage.iter_memories():
        yield {"type": "memory", **memory.to_dict()}
    for collection in storage.collections():
        for key, data in storage.list_docs(collection):
            yield {"type": "doc", "collection": collection, "key": key, "data": data}
    for name, value in sorted(storage.get_counters().items()):
        yield {"type": "counter", "name": name, "value": value}


def export_all(storage: Storage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": SCHEMA_VERSION,
        "memories": [],
        "docs": [],
        "counters": {},
    }
    for record in iter_records(storage):
        kind = record.pop("type")
        if kind == "memory":
            data["memories"].append(record)
        elif kind == "doc":
            data["docs"].append(record)
        elif kind == "counter":
            data["counters"][record["name"]] = record["value"]
    return data


def data_to_records(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict):
        raise UsageError("import data must be an object with memories, docs and counters")
    for m in data.get("memories", []):
        yield {"type": "memory", **m}
    for d in data.get("docs", []):
        yield {"type": "doc", **d}
    for name, value in dict(data.get("counters", {})).items():
        yield {"type": "counter", "name": name, "value": value}


def _doc_fields(record: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A document record's fields, or one clear error: imports come from outside."""
    collection, key, data = record.get("collection"), record.get("key"), record.get("data")
    if not (isinstance(collection, str) and collection and isinstance(key, str) and key):
        raise UsageError("a doc record needs text 'collection' and 'key' fields")
    if not isinstance(data, dict):
        raise UsageError(f"doc {collection}/{key}: 'data' must be a JSON object")
    return collection, key, data


MAX_INT = 2**63 - 1  # SQLite's largest integer; the JSON backend keeps to it too
MEMORY_ID = re.compile(r"[0-9a-f]{32}")


def _counter_fields(record: dict[str, Any]) -> tuple[str, int]:
    name, value = record.get("name"), record.get("value")
    if not isinstance(name, str) or not name:
        raise UsageError("a counter record needs a text 'name' field")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise UsageError(
            f"counter {name!r}: 'value' must be a whole number from 0 to 2^63-1, got {value!r}"
        )
    return name, value


# Where documents carry cached token counts (gather.COMPILER, branching.VIEWS, memory.ARTIFACTS;
# tests/storage/test_transfer_counts.py keeps these names in step with those modules).
COUNT_CACHE_COLLECTION, COUNT_CACHE_PREFIX = "compiler", "counts-"
VIEWS_COLLECTION = "session_views"
ARTIFACTS_COLLECTION = "artifacts"


def _uncounted_item(item: Any) -> Any:
    """A stored session item (event or view item) without its cached count."""
    if not isinstance(item, dict):
        return item
    out = {k: v for k, v in item.items() if k != "token_count"}
    if "token_count" in item:
        out["token_count"] = None
    meta = item.get("meta")
    if isinstance(meta, dict) and "token_encoding" in meta:
        out["meta"] = {k: v for k, v in meta.items() if k != "token_encoding"}
    return out


def without_counts(collection: str, key: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """An imported document with its cached token counts dropped; None: not imported at all
    (the compiler's count cache is nothing but counts)."""
    if collection == COUNT_CACHE_COLLECTION and key.startswith(COUNT_CACHE_PREFIX):
        return None
    if is_event_collection(collection):
        event: dict[str, Any] = _uncounted_item(data)
        return event
    if collection == VIEWS_COLLECTION and isinstance(data.get("items"), list):
        return {**data, "items": [_uncounted_item(i) for i in data["items"]]}
    if collection == ARTIFACTS_COLLECTION:
        return {**data, **{k: None for k in ("token_count", "token_encoding") if k in data}}
    return data


def _memory(record: dict[str, Any]) -> Memory:
    """A memory record, held to what ``show`` and ``forget`` can address: 32 hex digits.

    Why here and not in ``Memory.from_dict``: stores written by earlier versions are read
    through it too, and must stay readable; an import is where new ids come in.
    """
    memory_id = record.get("id")
    if memory_id is not None and not (
        isinstance(memory_id, str) and MEMORY_ID.fullmatch(memory_id)
    ):
        raise UsageError(
            f"invalid memory id {memory_id!r}: ids are 32 lower-case hex digits, as "
            "smartcontext makes them (leave 'id' out to get a new one)"
        )
    count = record.get("token_count")
    if isinstance(count, int) and not isinstance(count, bool) and not 0 <= count <= MAX_INT:
        raise UsageError(f"token_count must be from 0 to 2^63-1, got {count!r}")
    # from_dict reads only the memory fields, so "type" needs no copy without it.
    return Memory.from_dict(record)


def import_records(
    storage: Storage,
    records: Iterable[dict[str, Any]],
    progress: Any = None,
    origin: tuple[str, list[int]] | None = None,
    *,
    keep_counts: bool = False,
) -> dict[str, int]:
    """Import records in one transaction; returns counts per record type.

    ``origin`` (a file name and each record's line number) puts ``FILE:LINE:`` in front of
    an error about a record, so a bad line of a large export can be found. Cached token
    counts are dropped (module docstring) unless ``keep_counts`` (``migrate``).
    """
    with paused_gc():
        position = [0]
        try:
            return _import_records(storage, records, progress, position, keep_counts)
        except UsageError as exc:
            if origin is None or position[0] >= len(origin[1]):
                raise
            name, lines = origin
            raise UsageError(f"{name}:{lines[position[0]]}: {exc}") from None


def _import_records(
    storage: Storage,
    records: Iterable[dict[str, Any]],
    progress: Any,
    position: list[int],
    keep_counts: bool,
) -> dict[str, int]:
    counts = {"memories": 0, "docs": 0, "counters": 0}
    batch: list[Memory] = []
    with storage.transaction():
        for index, record in enumerate(records):
            position[0] = index
            kind = record.get("type")
            if kind == "memory":
                memory = _memory(record)
                if not keep_counts:
                    memory.token_count = memory.token_encoding = None
                batch.append(memory)
                if len(batch) >= BATCH:
                    storage.upsert_memories(batch)
                    counts["memories"] += len(batch)
                    if progress:
                        progress(len(batch))
                    batch = []
            elif kind == "doc":
                collection, key, data = _doc_fields(record)
                if not keep_counts:
                    kept = without_counts(collection, key, data)
                    if kept is None:
                        continue
                    data = kept
                storage.put_doc(collection, key, data)
                counts["docs"] += 1
            elif kind == "counter":
                name, value = _counter_fields(record)
                current = storage.get_counters().get(name, 0)
                storage.set_counter(name, max(current, value))
                counts["counters"] += 1
            elif kind == "header":
                if record.get("format") != FORMAT:
                    raise UsageError("not a smartcontext export (header format differs)")
            else:
                raise UsageError(f"unknown record type {kind!r} in import")
        if batch:
            storage.upsert_memories(batch)
            counts["memories"] += len(batch)
            if progress:
                progress(len(batch))
    return counts


def import_all(storage: Storage, data: dict[str, Any]) -> dict[str, int]:
    return import_records(storage, data_to_records(data))


def read_jsonl(
    stream: IO[str], name: str = "<stdin>", lines: list[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Parse JSONL lines; a bad line is reported with its file name and line number.

    ``lines`` receives each record's line number (for ``import_records``' ``origin``).

    The cyclic GC is paused until the generator is exhausted or closed: a reader that keeps
    every record (``list(read_jsonl(...))``) otherwise pays full collections over all of them.
    """
    with paused_gc():
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{name}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise UsageError(f"{name}:{number}: expected a JSON object")
            if lines is not None:
                lines.append(number)
            yield record


def write_jsonl(storage: Storage, stream: IO[str], namespace: str | None = None) -> int:
    n = 0
    for record in iter_records(storage, namespace):
        stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


class TransferMixin:
    """The spec's ``export_all`` / ``import_all`` on every backend object."""

    def export_all(self) -> dict[str, Any]:
        return export_all(self)  # type: ignore[arg-type]

    def import_all(self, data: dict[str, Any]) -> dict[str, int]:
        return import_all(self, data)  # type: ignore[arg-type]
