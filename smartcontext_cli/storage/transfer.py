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

import contextlib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from smartcontext_cli.errors import UsageError
from smartcontext_cli.gcpause import paused_gc
from smartcontext_cli.models import Memory

from .base import MAX_INT, SCHEMA_VERSION, Storage
from .events import is_event_collection

FORMAT = "smartcontext-export"
# Memories per upsert: large enough that per-statement costs vanish, small enough that a
# progress bar moves and memory stays flat (measured: 2,000 -> 5,000 saves ~5% of an import).
BATCH = 5000
# Records per commit of a migration's copy (``copy_records``): the progress bar's step. Each
# commit of a JSON store costs one syncfs (journal.py), ~0.1 s: 1,000 keeps that a few percent.
COPY_CHUNK = 1000


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
    memories, docs, counters = data.get("memories", []), data.get("docs", []), data.get("counters")
    if not (isinstance(memories, list) and isinstance(docs, list)):
        raise UsageError("import data: 'memories' and 'docs' must be lists")
    if not isinstance(counters, (dict, type(None))):
        raise UsageError("import data: 'counters' must map names to numbers")
    for kind, items in (("memory", memories), ("doc", docs)):
        for item in items:
            if not isinstance(item, dict):
                raise UsageError(f"import data: every {kind} must be a JSON object")
            yield {"type": kind, **item}
    for name, value in (counters or {}).items():
        yield {"type": "counter", "name": name, "value": value}


def _doc_fields(record: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A document record's fields, checked as the code will read them: imports come from outside."""
    from smartcontext_cli import schemas
    from smartcontext_cli.storage.json_store import is_safe_name

    collection, key, data = record.get("collection"), record.get("key"), record.get("data")
    if not (isinstance(collection, str) and collection and isinstance(key, str) and key):
        raise UsageError("a doc record needs text 'collection' and 'key' fields")
    # Names must be safe file names on every backend, so any store can migrate to JSON.
    for what, name in (("collection", collection), ("key", key)):
        if not is_safe_name(name):
            raise UsageError(
                f"doc {collection!r:.60}/{key!r:.60}: invalid {what}: use 1-128 letters, "
                "digits, '.', '_' or '-', not starting with '.'"
            )
    if not isinstance(data, dict):
        raise UsageError(f"doc {collection}/{key}: 'data' must be a JSON object")
    found = schemas.problems(collection, key, data)
    if found:
        raise UsageError(f"doc {collection}/{key} is not a valid record: {'; '.join(found)}")
    return collection, key, data


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


def _check_header(record: dict[str, Any]) -> None:
    if record.get("format") != FORMAT:
        raise UsageError("not a smartcontext export (header format differs)")
    version = record.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UsageError(f"export header: 'version' must be a whole number, got {version!r:.40}")
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"written by a newer smartcontext (export version {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade smartcontext to import it"
        )
    namespace = record.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise UsageError("export header: 'namespace' must be text")


@dataclass
class Plan:
    """An import, checked whole before anything is written."""

    memories: list[Memory] = field(default_factory=list)
    docs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


def prepare(records: Iterable[dict[str, Any]], where: Callable[[int], str] | None = None) -> Plan:
    """Check every record against what the code reads; the first bad one is named by ``where``.

    Why all before writing: a failed import must write nothing, and must not even create the
    namespace it was aimed at (the store is created by its first write).
    """
    plan = Plan()
    seen: dict[str, int] = {}  # memory id -> its place in plan.memories
    docs: dict[tuple[str, str], int] = {}
    headers = 0
    for n, record in enumerate(records):
        try:
            kind = record.get("type")
            if kind == "memory":
                memory = _memory(record)
                # The same id twice: the later record replaces the earlier, as it replaces
                # the stored one (one write per id, so the counts say what is stored).
                if memory.id in seen:
                    plan.memories[seen[memory.id]] = memory
                else:
                    seen[memory.id] = len(plan.memories)
                    plan.memories.append(memory)
            elif kind == "doc":
                collection, key, data = _doc_fields(record)
                if (collection, key) in docs:
                    plan.docs[docs[collection, key]] = (collection, key, data)
                else:
                    docs[collection, key] = len(plan.docs)
                    plan.docs.append((collection, key, data))
            elif kind == "counter":
                name, value = _counter_fields(record)
                plan.counters[name] = max(plan.counters.get(name, 0), value)
            elif kind == "header":
                headers += 1
                if headers > 1:
                    raise UsageError("a second export header: concatenated exports?")
                _check_header(record)
            else:
                raise UsageError(f"unknown record type {kind!r:.40} in import")
        except UsageError as exc:
            raise UsageError(f"{_where(where, n)}: {exc}") from None
    return plan


def _where(where: Callable[[int], str] | None, n: int) -> str:
    return where(n) if where else f"record {n + 1}"


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
    where: Callable[[int], str] | None = None,
    *,
    keep_counts: bool = False,
) -> dict[str, int]:
    """Import records in one transaction, all or nothing; returns counts per record type.

    Every record is checked before anything is written (``prepare``); cached token counts
    are dropped (module docstring) unless ``keep_counts`` (``migrate``).
    """
    with paused_gc():
        plan = prepare(records, where)
        if not keep_counts:
            drop_counts(plan)
        return write_plan(storage, plan, progress)


def drop_counts(plan: Plan) -> None:
    """The plan without the cached token counts its records carry (see the module docstring)."""
    for memory in plan.memories:
        memory.token_count = memory.token_encoding = None
    docs = []
    for collection, key, data in plan.docs:
        kept = without_counts(collection, key, data)
        if kept is not None:
            docs.append((collection, key, kept))
    plan.docs = docs


def write_plan(storage: Storage, plan: Plan, progress: Any = None) -> dict[str, int]:
    from smartcontext_cli import numbering

    # Counters move forward only (an import never makes ``#a3`` point at a different
    # artifact), and at least past every imported record's number, so the next one is free.
    wanted = dict(plan.counters)
    for counter, n in numbering.highest(plan.docs).items():
        wanted[counter] = max(wanted.get(counter, 0), n)
    # A backend whose cost is per file (JSON) takes smaller batches: the same speed, and a
    # progress bar that moves, so its estimate rests on more than a few points.
    size = int(getattr(storage, "import_batch", BATCH))
    last = 0
    with storage.transaction():
        for start in range(0, len(plan.memories), size):
            batch = plan.memories[start : start + size]
            storage.upsert_memories(batch)
            if progress and start + size < len(plan.memories):
                progress(len(batch))
            else:
                last = len(batch)
        for collection, key, data in plan.docs:
            storage.put_doc(collection, key, data)
        current = storage.get_counters() if wanted else {}
        for name, value in wanted.items():
            if name not in current or value > current[name]:
                storage.set_counter(name, value)
    # The last batch is counted once committed: the commit is part of the work (JSON writes its
    # files then), and a bar at 100% must mean done.
    if progress and last:
        progress(last)
    return {
        "memories": len(plan.memories),
        "docs": len(plan.docs),
        "counters": len(plan.counters),
    }


def copy_records(
    storage: Storage,
    records: Iterable[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
) -> dict[str, int]:
    """Copy a store's records into a new, empty store, ``chunk`` records per commit (migrate).

    Not all or nothing, unlike ``import_records``: for a store nobody opens before it is
    complete and checked (a migration's staging copy, deleted if the copy stops half way).
    Why in chunks: every chunk does the same work (read, check, encode, write, commit), so a
    progress bar counted per committed chunk moves at one speed from start to end; one commit
    of everything left the bar at 100% through the longest step, the commit. Cached token
    counts are kept (the user's own store), and counters end as ``import_records`` leaves them
    (each only moves forward, to at least every copied record's number).
    """
    size = chunk or COPY_CHUNK
    counts = {"memories": 0, "docs": 0, "counters": 0}
    bulk = getattr(storage, "bulk_load", None)
    iterator = iter(records)
    with bulk() if bulk is not None else contextlib.nullcontext(), paused_gc():
        while group := list(itertools.islice(iterator, size)):
            # The header, if any, comes first, so each chunk holds at most the one.
            plan = prepare(group)
            for name, n in write_plan(storage, plan).items():
                counts[name] += n
            if progress:
                progress(len(plan.memories) + len(plan.docs))
    return counts


def import_all(storage: Storage, data: dict[str, Any]) -> dict[str, int]:
    return import_records(storage, data_to_records(data))


def read_jsonl(
    stream: IO[str], name: str = "<stdin>", lines: list[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Parse JSONL lines; a bad line is reported with its file name and line number.

    ``lines``, when given, receives each yielded record's line number (for ``where``).

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


# One encoder for every line: ``json.dumps`` with options builds a new one per call.
_encode_line = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def write_jsonl(
    storage: Storage, stream: IO[str], namespace: str | None = None, verbatim: bool = False
) -> int:
    """Write the export lines of ``storage`` to ``stream``; returns how many.

    ``verbatim`` (backups): documents are copied as the backend stores them when it can hand
    out their JSON text (SQLite), without parsing, shape-checking and re-encoding each one. A
    backup is a copy of the store as it is; ``import`` checks every line when it is restored.
    The lines are the ones the parsed path writes (documents are stored with sorted keys).
    """
    texts = getattr(storage, "doc_texts", None) if verbatim else None
    if texts is None:
        n = 0
        for record in iter_records(storage, namespace):
            stream.write(_encode_line(record) + "\n")
            n += 1
        return n
    header = {"type": "header", "format": FORMAT, "version": SCHEMA_VERSION, "namespace": namespace}
    stream.write(_encode_line(header) + "\n")
    n = 1
    for memory in storage.iter_memories():
        stream.write(_encode_line({"type": "memory", **memory.to_dict()}) + "\n")
        n += 1
    for collection in storage.collections():
        name = _encode_line(collection)
        for key, text in texts(collection):
            key_text = _encode_line(key)
            stream.write(
                f'{{"collection": {name}, "data": {text}, "key": {key_text}, "type": "doc"}}\n'
            )
            n += 1
    for counter, value in sorted(storage.get_counters().items()):
        stream.write(_encode_line({"type": "counter", "name": counter, "value": value}) + "\n")
        n += 1
    return n


def write_jsonl_file(
    storage: Storage, path: Path, namespace: str | None = None, verbatim: bool = False
) -> int:
    """Export to ``path``: a 0600 file (it holds everything the store holds), written beside the
    target and renamed, so a failed export never leaves half a file."""
    import tempfile

    # A temp name of its own (mkstemp: 0600, created exclusively): two processes exporting to
    # one path (concurrent compacts' backups) used to share "<path>.tmp" and break each other.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            n = write_jsonl(storage, fh, namespace, verbatim)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


class TransferMixin:
    """The spec's ``export_all`` / ``import_all`` on every backend object."""

    def export_all(self) -> dict[str, Any]:
        return export_all(self)  # type: ignore[arg-type]

    def import_all(self, data: dict[str, Any]) -> dict[str, int]:
        return import_all(self, data)  # type: ignore[arg-type]
