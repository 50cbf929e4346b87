"""JSON backend: a namespace as a directory of small, human-readable JSON files.

Why it exists: some people want to read, grep, diff and hand-fix what their tools remember,
or keep it next to a project in version control. Every record is one pretty-printed file::

    <ns>/store.json                     marker, schema version, metadata, change journal
    <ns>/memories/<id>.json             one memory (``Memory.to_dict()``)
    <ns>/docs/<collection>/<key>.json   one document
    <ns>/counters.json                  {"name": value}
    <ns>/.lock                          advisory lock (``fcntl.flock``)

Guarantees, matching ``SQLiteStorage`` wherever JSON files allow:

* Every file is written atomically (temp file in the same directory, fsync, ``os.replace``), so
  neither a reader nor a crash ever sees half a file. Files are 0600, directories 0700. As with
  SQLite's ``synchronous=NORMAL``, a power cut may lose the latest writes, never tear a file.
* Every write, and every ``transaction()`` body, holds an exclusive ``flock`` on ``.lock``, so
  concurrent processes queue instead of losing writes; multi-file reads hold a shared lock.
* No rollback: a transaction that raises keeps the writes made before the exception (each of
  them complete). SQLite would undo them; callers may rely only on what both guarantee.
* Adding a memory writes its own file plus the small ``store.json``; cost does not grow with the
  store. Reads use an in-process cache of every memory and its BM25 statistics, loaded on first
  use. Each memory write bumps ``generation`` in ``store.json`` and lists the changed ids in a
  short journal, so another process re-reads only those files (or everything, if it fell
  further behind than the journal reaches).
* ``bm25`` reproduces SQLite FTS5's ``bm25()`` over the very terms SQLite indexes
  (``sqlite_store.index_terms``), so both backends return the same memories, scores and order.
* A memory reads back exactly as written, as from SQLite: files are type-checked, not normalised.
* A file that cannot be parsed raises ``StoreCorruptError`` naming it; we never rewrite, repair
  or delete it. Memory ids, collections and keys must be safe file names (``UsageError``
  otherwise), so nothing is ever written outside the namespace directory. A name that could
  not have been stored simply does not exist for reads and deletes.

Edit files by hand only while no smartcontext process has the namespace open: a hand edit does
not bump ``generation``, so a running process would keep its cached copy. One instance per thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import tempfile
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from smartcontext_cli.errors import SmartContextError, StoreCorruptError, UsageError
from smartcontext_cli.models import MEMORY_FIELDS, Memory
from smartcontext_cli.storage.base import SCHEMA_VERSION
from smartcontext_cli.storage.events import EventIndex, is_event_collection
from smartcontext_cli.storage.sqlite_store import index_terms
from smartcontext_cli.storage.transfer import TransferMixin

if TYPE_CHECKING:
    from smartcontext_cli.storage import StorageConfig

STORE_FILE = "store.json"
COUNTERS_FILE = "counters.json"
LOCK_FILE = ".lock"
MEMORIES_DIR = "memories"
DOCS_DIR = "docs"

# FTS5's constants (fts5_aux.c); changing them would break parity with SQLite.
K1 = 1.2
B = 0.75
# How many changed memory ids store.json remembers for other processes' caches. Bounded so a
# write's cost stays constant; a reader further behind than this reloads everything.
JOURNAL_LIMIT = 256

# Why this strict: the name becomes a file name, so separators, '..' and hidden files must never
# pass; ASCII only, so case-folding file systems are the only way two names can meet.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def is_safe_name(name: object) -> bool:
    return isinstance(name, str) and _SAFE_NAME.fullmatch(name) is not None


def check_name(name: str, what: str) -> str:
    if not is_safe_name(name):
        raise UsageError(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return name


def _window(items: list[Any], limit: int | None, offset: int = 0) -> list[Any]:
    """SQL's ``LIMIT ? OFFSET ?``: a negative limit means all, a negative offset means 0."""
    start = max(offset, 0)
    if limit is None or limit < 0:
        return items[start:]
    return items[start : start + limit]


# files ---------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    """Parse ``path``; ``FileNotFoundError`` passes through, anything else names the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreCorruptError(
            f"cannot parse {path}: {exc}; fix or move the file by hand"
        ) from None
    except OSError as exc:
        raise StoreCorruptError(f"cannot read {path}: {exc.strerror}") from None


def _dumps(data: Any, sort_keys: bool = False) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=sort_keys) + "\n"


def _write_json(path: Path, data: Any, sort_keys: bool = False) -> None:
    # Serialise first, so data that cannot be written leaves no temp file behind.
    _write_text(path, _dumps(data, sort_keys))


def _write_text(path: Path, text: str) -> None:
    # mkstemp creates the file 0600; the leading dot keeps it out of every listing we make.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mkdir(path: Path) -> None:
    # mode is masked by the umask, which can only remove bits: the result is never wider than 0700.
    path.mkdir(mode=0o700, exist_ok=True)


def _record(memory: Memory) -> dict[str, Any]:
    data = memory.to_dict()
    # SQLite's REAL column hands back 1.0 for 1; keep exports of both backends identical.
    if isinstance(data["importance"], int):
        data["importance"] = float(data["importance"])
    # The column order, id first: what a person opening the file looks for.
    return {k: data[k] for k in MEMORY_FIELDS}


def _to_memory(record: dict[str, Any]) -> Memory:
    # A fresh object (and tags list) per call: callers may mutate what they get, not our cache.
    return Memory(**{**record, "tags": list(record["tags"])})


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_optional_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


# The types SQLite's columns would hold. Required fields have no sensible default.
_REQUIRED = ("id", "content", "created_at")
_FIELD_TYPES: dict[str, Callable[[Any], bool]] = {
    "id": _is_str,
    "content": _is_str,
    "tags": lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v),
    "kind": _is_str,
    "source": _is_str,
    "importance": _is_number,
    "created_at": _is_str,
    "updated_at": _is_str,
    "token_count": _is_optional_int,
    "token_encoding": lambda v: v is None or isinstance(v, str),
}


def _load_memory(path: Path) -> Memory:
    """A memory file read back exactly as written (as SQLite returns its row).

    Why not ``Memory.from_dict``: it normalises (tags are lower-cased), so a memory stored
    through the protocol could read back different from SQLite's copy. We check types only,
    which is what the rest of the program needs to not fail far from the bad file.
    """
    data = _read_json(path)
    if not isinstance(data, dict):
        raise StoreCorruptError(f"{path} is not a memory record: expected a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    wrong = [k for k, ok in _FIELD_TYPES.items() if k in data and not ok(data[k])]
    if missing or wrong:
        raise StoreCorruptError(
            f"{path} is not a memory record: "
            + "; ".join(
                [f"{k} is missing" for k in missing] + [f"{k} has the wrong type" for k in wrong]
            )
        )
    if data["id"] != path.name[: -len(".json")]:
        raise StoreCorruptError(f"{path} is not a memory record: its id differs from the file name")
    return Memory(**{k: data[k] for k in _FIELD_TYPES if k in data})


# the in-process cache ------------------------------------------------------------------------


class _MemoryIndex:
    """Every memory of the namespace with the statistics FTS5's bm25 reads, kept incrementally."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.records: dict[str, dict[str, Any]] = {}
        self.freqs: dict[str, Counter[str]] = {}
        self.lengths: dict[str, int] = {}
        self.postings: dict[str, set[str]] = {}
        self.total_tokens = 0
        # Sorted keys, kept with insort (a memmove) so a write never re-sorts the whole store.
        self.by_time: list[tuple[str, str]] = []  # (created_at, id) ascending
        self.ids: list[str] = []
        self.by_source: dict[str, list[tuple[str, str]]] = {}  # source -> (created_at, id)
        self._vocab: list[str] | None = None

    def put(self, memory: Memory) -> None:
        self.discard(memory.id)
        record = _record(memory)
        mid = record["id"]
        terms = index_terms(memory).split()
        freqs = Counter(terms)
        self.records[mid] = record
        self.freqs[mid] = freqs
        self.lengths[mid] = len(terms)
        self.total_tokens += len(terms)
        for term in freqs:
            docs = self.postings.get(term)
            if docs is None:
                self.postings[term] = docs = set()
                self._vocab = None
            docs.add(mid)
        insort(self.by_time, (record["created_at"], mid))
        insort(self.ids, mid)
        insort(self.by_source.setdefault(record["source"], []), (record["created_at"], mid))

    def discard(self, mid: str) -> None:
        record = self.records.pop(mid, None)
        if record is None:
            return
        for term in self.freqs.pop(mid):
            docs = self.postings[term]
            docs.discard(mid)
            if not docs:
                # fts5vocab drops a term with the last row holding it; so do we.
                del self.postings[term]
                self._vocab = None
        self.total_tokens -= self.lengths.pop(mid)
        del self.by_time[bisect_left(self.by_time, (record["created_at"], mid))]
        del self.ids[bisect_left(self.ids, mid)]
        thread = self.by_source[record["source"]]
        del thread[bisect_left(thread, (record["created_at"], mid))]
        if not thread:
            del self.by_source[record["source"]]

    def vocabulary(self) -> list[str]:
        if self._vocab is None:
            self._vocab = sorted(self.postings)
        return self._vocab

    @staticmethod
    def matches(record: dict[str, Any], tags: Sequence[str], kind: str | None) -> bool:
        # As SQLiteStorage._filters: every tag present; an empty kind filters nothing.
        return all(t in record["tags"] for t in tags) and (not kind or record["kind"] == kind)

    def bm25(
        self, query_terms: Sequence[str], tags: Sequence[str], kind: str | None
    ) -> list[tuple[dict[str, Any], float]]:
        """All matching records, best first, scored exactly as fts5_aux.c's fts5Bm25Function.

        Why the arithmetic is spelled as in C: same operations in the same order give the same
        doubles, so exact ties stay ties and fall back to the same tie-break as SQL.
        """
        n_rows = len(self.records)
        if not n_rows:
            return []
        avgdl = self.total_tokens / n_rows
        idfs = []
        # One IDF per query phrase, duplicates included: FTS5 scores "a OR a" twice.
        for term in query_terms:
            hits = len(self.postings.get(term, ()))
            idf = math.log((n_rows - hits + 0.5) / (hits + 0.5))
            idfs.append(1e-6 if idf <= 0.0 else idf)
        candidates: set[str] = set()
        for term in query_terms:
            candidates |= self.postings.get(term, set())
        scored = []
        for mid in candidates:
            record = self.records[mid]
            if not self.matches(record, tags, kind):
                continue
            freqs = self.freqs[mid]
            dl = float(self.lengths[mid])
            score = 0.0
            for term, idf in zip(query_terms, idfs, strict=True):
                tf = float(freqs.get(term, 0))
                score += idf * ((tf * (K1 + 1.0)) / (tf + K1 * (1 - B + B * dl / avgdl)))
            scored.append((record, score))
        # ORDER BY bm25 (negated score), created_at DESC, id: stable sorts, last key first.
        scored.sort(key=lambda hit: hit[0]["id"])
        scored.sort(key=lambda hit: hit[0]["created_at"], reverse=True)
        scored.sort(key=lambda hit: hit[1], reverse=True)
        return scored


# the backend ---------------------------------------------------------------------------------


def _m001_initial(storage: JSONStorage) -> None:
    _mkdir(storage.path / MEMORIES_DIR)
    _mkdir(storage.path / DOCS_DIR)
    if not (storage.path / COUNTERS_FILE).exists():
        _write_json(storage.path / COUNTERS_FILE, {})


def _m002_snowball_terms(storage: JSONStorage) -> None:
    # Why nothing to rewrite: this backend keeps no terms on disk; it tokenises every memory and
    # event when it loads them, so the new terms (text.TERMS_VERSION 2) apply on first read. The
    # record says which terms the store was last opened with, as SQLite's m008 does.
    storage.path.joinpath(MEMORIES_DIR).mkdir(mode=0o700, exist_ok=True)


# Named, ordered upgrades of the layout; each runs once and is recorded in store.json.
MIGRATIONS: list[tuple[str, Callable[[JSONStorage], None]]] = [
    ("m001_initial", _m001_initial),
    ("m002_snowball_terms", _m002_snowball_terms),
]


class JSONStorage(TransferMixin):
    backend = "json"

    def __init__(self, target: Path | str | StorageConfig) -> None:
        if isinstance(target, (str, os.PathLike)):
            path = Path(target)
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        else:
            from smartcontext_cli.storage import _private_dirs

            path = target.directory
            _private_dirs(target.home, path)
        self.path = path
        self._cache: _MemoryIndex | None = None
        self._events: tuple[int, EventIndex] | None = None
        self._depth = 0
        self._exclusive = False
        # A file object rather than a bare descriptor: a handle nobody closed is still released
        # when it is garbage-collected, as an sqlite3 connection would be.
        self._lock_file: IO[bytes] | None = open(  # noqa: SIM115 - lives as long as self
            path / LOCK_FILE, "ab", opener=lambda p, flags: os.open(p, flags, 0o600)
        )
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # also releases any lock still held
            self._lock_file = None
        self._cache = None
        self._events = None
        self._depth = 0

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Hold ``.lock`` (re-entrant); nested calls join the outermost hold."""
        lock = self._lock_file
        if lock is None:
            raise SmartContextError(f"the store at {self.path} is closed")
        if self._depth:
            if exclusive and not self._exclusive:
                # Upgrading a shared flock is not atomic (it releases first): refuse, it's a bug.
                raise RuntimeError("cannot write while holding a read lock")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        self._depth, self._exclusive = 1, exclusive
        try:
            yield
        finally:
            self._depth = 0
            if not lock.closed:  # close() inside the body already released it
                fcntl.flock(lock, fcntl.LOCK_UN)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Hold the exclusive lock for the whole body: no other process writes in between.

        Unlike SQLite this cannot roll back: if the body raises, the writes it already made stay
        (each one complete). Nested transactions join the outer one.
        """
        return self._locked(exclusive=True)

    def _migrate(self) -> None:
        state = self._read_state(missing_ok=True)
        if state is not None and not self._pending(state):
            return
        with self.transaction():
            # Re-read under the lock: another process may have created or upgraded it meanwhile.
            state = self._read_state(missing_ok=True) or {
                "backend": "json",
                "schema_version": SCHEMA_VERSION,
                "migrations": [],
                "generation": 0,
                "journal": [],
                "meta": {},
            }
            for name, upgrade in MIGRATIONS:
                if name not in state["migrations"]:
                    upgrade(self)
                    state["migrations"].append(name)
            state["schema_version"] = SCHEMA_VERSION
            state["meta"]["schema_version"] = str(SCHEMA_VERSION)
            self._write_state(state)

    @staticmethod
    def _pending(state: dict[str, Any]) -> bool:
        done = set(state["migrations"])
        return any(name not in done for name, _ in MIGRATIONS) or state["meta"].get(
            "schema_version"
        ) != str(SCHEMA_VERSION)

    def applied_migrations(self) -> list[str]:
        return sorted(self._state()["migrations"])

    # store.json ------------------------------------------------------------------------------

    def _read_state(self, missing_ok: bool = False) -> dict[str, Any] | None:
        path = self.path / STORE_FILE
        try:
            data = _read_json(path)
        except FileNotFoundError:
            if missing_ok:
                return None
            raise StoreCorruptError(f"{path} is missing; the store cannot be read") from None
        if not isinstance(data, dict) or data.get("backend") != "json":
            raise StoreCorruptError(f"{path} is not a smartcontext JSON store marker")
        version = data.get("schema_version")
        if not isinstance(version, int):
            raise StoreCorruptError(f"{path}: schema_version must be an integer")
        if version > SCHEMA_VERSION:
            raise SmartContextError(
                f"{path} has schema version {version}, newer than this smartcontext supports "
                f"({SCHEMA_VERSION}); upgrade smartcontext"
            )
        # Missing fields take defaults, so a hand-written minimal marker still opens; fields we
        # do not know are kept, so our next write does not silently drop them.
        state = {
            **data,
            "migrations": data.get("migrations", []),
            "generation": data.get("generation", 0),
            "journal": data.get("journal", []),
            "meta": data.get("meta", {}),
        }
        if not (
            isinstance(state["generation"], int)
            and isinstance(state["journal"], list)
            and all(
                isinstance(e, list)
                and len(e) == 2
                and isinstance(e[0], int)
                and (e[1] is None or (isinstance(e[1], list) and all(map(is_safe_name, e[1]))))
                for e in state["journal"]
            )
            and isinstance(state["migrations"], list)
            and isinstance(state["meta"], dict)
            and all(isinstance(v, str) for v in state["meta"].values())
        ):
            raise StoreCorruptError(f"{path}: unexpected generation, journal, migrations or meta")
        return state

    def _state(self) -> dict[str, Any]:
        state = self._read_state()
        assert state is not None  # missing_ok=False raises instead
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        # One line per field: the journal stays a single line instead of hundreds.
        lines = [
            f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in state.items()
        ]
        _write_text(self.path / STORE_FILE, "{\n" + ",\n".join(lines) + "\n}\n")

    def _bump(self, ids: Sequence[str]) -> int:
        """Announce a memory change before making it; returns the generation it supersedes.

        Why before: if we die half-way, readers still re-read these ids and see what is on disk.
        """
        state = self._state()
        old: int = state["generation"]
        journal = state["journal"]
        journal.append([old + 1, sorted(set(ids)) if len(ids) <= JOURNAL_LIMIT else None])
        size = sum(len(e[1] or ()) + 1 for e in journal)
        while len(journal) > 1 and size > JOURNAL_LIMIT:
            size -= len(journal.pop(0)[1] or ()) + 1
        state["generation"] = old + 1
        self._write_state(state)
        return old

    # the cache -------------------------------------------------------------------------------

    def _index(self) -> _MemoryIndex:
        """The memory cache, brought up to date with the files (under a shared lock)."""
        with self._locked(exclusive=False):
            state = self._state()
            generation = state["generation"]
            cache = self._cache
            if cache is not None and cache.generation == generation:
                return cache
            changed = None if cache is None else _changed_since(state, cache.generation)
            if cache is None or changed is None:
                cache = self._load_all(generation)
            else:
                for mid in sorted(changed):
                    try:
                        cache.put(_load_memory(self._memory_path(mid)))
                    except FileNotFoundError:
                        cache.discard(mid)
                cache.generation = generation
            self._cache = cache
            return cache

    def _load_all(self, generation: int) -> _MemoryIndex:
        cache = _MemoryIndex(generation)
        with os.scandir(self.path / MEMORIES_DIR) as entries:
            for entry in entries:
                # Temp files start with '.', and other stray files are not ours to judge.
                if entry.name.endswith(".json") and is_safe_name(entry.name[: -len(".json")]):
                    cache.put(_load_memory(Path(entry.path)))
        return cache

    def _memory_path(self, memory_id: str) -> Path:
        return self.path / MEMORIES_DIR / f"{memory_id}.json"

    def _write_memories(self, memories: Sequence[Memory], deleted: Sequence[str] = ()) -> None:
        """Write and delete memory files (caller holds the lock), keeping our cache current."""
        texts = [(self._memory_path(m.id), _dumps(_record(m))) for m in memories]
        old = self._bump([m.id for m in memories] + list(deleted))
        for path, text in texts:
            _write_text(path, text)
        for mid in deleted:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._memory_path(mid))
        cache = self._cache
        # Only a cache that was current before our change may apply it directly; a stale one
        # catches up through the journal, which lists these ids too.
        if cache is not None and cache.generation == old:
            for m in memories:
                cache.put(m)
            for mid in deleted:
                cache.discard(mid)
            cache.generation = old + 1

    # memories --------------------------------------------------------------------------------

    @staticmethod
    def _check_batch(memories: Sequence[Memory]) -> None:
        seen: set[str] = set()
        for m in memories:
            check_name(m.id, "memory id")
            if m.id in seen:
                raise UsageError(f"memory {m.id} appears twice in one batch")
            seen.add(m.id)

    def add_memories(self, memories: Sequence[Memory]) -> None:
        memories = list(memories)
        self._check_batch(memories)
        if not memories:
            return
        with self.transaction():
            for m in memories:
                if self._memory_path(m.id).exists():
                    raise UsageError(f"memory {m.id} already exists")
            self._write_memories(memories)

    def upsert_memories(self, memories: Sequence[Memory]) -> None:
        memories = list(memories)
        self._check_batch(memories)
        if not memories:
            return
        with self.transaction():
            self._write_memories(memories)

    def get_memory(self, memory_id: str) -> Memory | None:
        # One file, replaced atomically: no lock and no cache needed, and always current.
        if not is_safe_name(memory_id):
            return None
        try:
            return _load_memory(self._memory_path(memory_id))
        except FileNotFoundError:
            return None

    def find_memory_ids(self, prefix: str, limit: int = 10) -> list[str]:
        ids = self._index().ids
        # The same range SQLite scans: prefix <= id < prefix + U+FFFF.
        start, end = bisect_left(ids, prefix), bisect_left(ids, prefix + "\uffff")
        return _window(ids[start:end], limit)

    def update_memory(self, memory: Memory) -> None:
        if not is_safe_name(memory.id):
            return  # never stored, so nothing to update (SQLite: UPDATE of no rows)
        with self.transaction():
            if self._memory_path(memory.id).exists():
                self._write_memories([memory])

    def delete_memories(self, ids: Iterable[str]) -> int:
        with self.transaction():
            existing = sorted(
                {mid for mid in ids if is_safe_name(mid) and self._memory_path(mid).exists()}
            )
            if existing:
                self._write_memories([], deleted=existing)
        return len(existing)

    def list_memories(
        self,
        limit: int | None = None,
        offset: int = 0,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[Memory]:
        cache = self._index()
        records = cache.records
        newest_first = (records[mid] for _, mid in reversed(cache.by_time))
        chosen = (r for r in newest_first if cache.matches(r, tags, kind))
        start = max(offset, 0)
        stop = None if limit is None or limit < 0 else start + limit
        return [_to_memory(r) for r in islice(chosen, start, stop)]

    def iter_memories(self) -> Iterator[Memory]:
        cache = self._index()
        # Snapshot first: the caller may write between two items.
        records = [cache.records[mid] for _, mid in cache.by_time]
        for record in records:
            yield _to_memory(record)

    def count_memories(self) -> int:
        return len(self._index().records)

    def bm25(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[tuple[Memory, float]]:
        """FTS5's bm25 over the terms SQLite indexes; query terms match index terms verbatim."""
        if not query_terms or limit <= 0:
            return []
        hits = self._index().bm25(list(query_terms), tags, kind)
        return [(_to_memory(record), score) for record, score in hits[:limit]]

    def doc_freq(self, term: str) -> int:
        return len(self._index().postings.get(term, ()))

    def index_stats(self) -> tuple[int, float]:
        index = self._index()
        n_rows = len(index.records)
        return n_rows, (index.total_tokens / n_rows if n_rows else 0.0)

    def vocabulary(self, first_char: str) -> list[str]:
        vocab = self._index().vocabulary()
        start = bisect_left(vocab, first_char)
        return vocab[start : bisect_left(vocab, first_char + "\uffff")]

    def candidates(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> dict[str, tuple[Memory, Counter[str]]]:
        # Always exact here: the whole index is in memory, and this backend serves small stores.
        terms = list(dict.fromkeys(query_terms))
        return self.indexed([m.id for m, _ in self.bm25(terms, limit, tags, kind)])

    def indexed(self, ids: Sequence[str]) -> dict[str, tuple[Memory, Counter[str]]]:
        index = self._index()
        return {
            mid: (_to_memory(index.records[mid]), index.freqs[mid])
            for mid in dict.fromkeys(ids)
            if mid in index.records
        }

    def adjacent(self, memories: Sequence[Memory]) -> dict[str, tuple[str | None, str | None]]:
        index = self._index()
        out: dict[str, tuple[str | None, str | None]] = {}
        for m in memories:
            thread = index.by_source.get(m.source, [])
            key = (m.created_at, m.id)
            i = bisect_left(thread, key)
            prev = thread[i - 1][1] if i > 0 else None
            j = i + 1 if i < len(thread) and thread[i] == key else i
            nxt = thread[j][1] if j < len(thread) else None
            out[m.id] = (prev, nxt)
        return out

    def set_token_counts(self, counts: dict[str, tuple[str, int]]) -> None:
        with self.transaction():
            updated = []
            # Read everything first: a corrupt file stops us before anything is written.
            for mid, (encoding, count) in counts.items():
                if not is_safe_name(mid):
                    continue
                try:
                    memory = _load_memory(self._memory_path(mid))
                except FileNotFoundError:
                    continue
                memory.token_encoding, memory.token_count = encoding, count
                updated.append(memory)
            if updated:
                self._write_memories(updated)

    # documents -------------------------------------------------------------------------------

    def _doc_dir(self, collection: str) -> Path:
        return self.path / DOCS_DIR / collection

    def get_doc(self, collection: str, key: str) -> dict[str, Any] | None:
        if not (is_safe_name(collection) and is_safe_name(key)):
            return None
        try:
            data: dict[str, Any] = _read_json(self._doc_dir(collection) / f"{key}.json")
        except FileNotFoundError:
            return None
        return data

    def put_doc(self, collection: str, key: str, data: dict[str, Any]) -> None:
        check_name(collection, "collection name")
        check_name(key, "document key")
        # sort_keys as SQLite stores it, so both hand back dicts in the same key order. Serialised
        # before anything is created: data JSON cannot hold leaves no trace.
        text = _dumps(data, sort_keys=True)
        with self.transaction():
            index = self._event_change(collection)
            directory = self._doc_dir(collection)
            _mkdir(directory)
            _write_text(directory / f"{key}.json", text)
            if index is not None:
                index.put(collection, key, data)

    def delete_doc(self, collection: str, key: str) -> bool:
        if not (is_safe_name(collection) and is_safe_name(key)):
            return False
        with self.transaction():
            path = self._doc_dir(collection) / f"{key}.json"
            if not path.exists():
                return False
            index = self._event_change(collection)
            os.unlink(path)
            if index is not None:
                index.discard(collection, key)
            self._prune(collection)
        return True

    def _prune(self, collection: str) -> None:
        # An emptied collection disappears, as it does from SQLite's SELECT DISTINCT collection.
        with contextlib.suppress(OSError):
            self._doc_dir(collection).rmdir()

    def _doc_keys(self, collection: str) -> list[str]:
        try:
            with os.scandir(self._doc_dir(collection)) as entries:
                names = [e.name[: -len(".json")] for e in entries if e.name.endswith(".json")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(k for k in names if is_safe_name(k))

    def list_docs(
        self,
        collection: str,
        start: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, dict[str, Any]]]:
        if not is_safe_name(collection):
            return []
        with self._locked(exclusive=False):
            keys = self._doc_keys(collection)
            if start is not None:
                keys = keys[bisect_left(keys, start) :]
            if reverse:
                keys.reverse()
            directory = self._doc_dir(collection)
            return [(k, _read_json(directory / f"{k}.json")) for k in _window(keys, limit)]

    def collections(self) -> list[str]:
        with self._locked(exclusive=False):
            try:
                with os.scandir(self.path / DOCS_DIR) as entries:
                    names = [e.name for e in entries if is_safe_name(e.name) and e.is_dir()]
            except FileNotFoundError:
                return []
            return sorted(c for c in names if self._doc_keys(c))

    def delete_collection(self, collection: str) -> int:
        if not is_safe_name(collection):
            return 0
        with self.transaction():
            directory = self._doc_dir(collection)
            keys = self._doc_keys(collection)
            index = self._event_change(collection) if keys else None
            for key in keys:
                os.unlink(directory / f"{key}.json")
            if index is not None:
                index.discard_collection(collection)
            self._prune(collection)
        return len(keys)

    # the session-event index (storage/events.py) ---------------------------------------------

    def _event_change(self, collection: str) -> EventIndex | None:
        """Announce a change of session events (caller holds the lock) before making it.

        Returns the cached index when it was current, for the caller to update in place; a
        process holding an older index rebuilds it on its next read (``events_generation``).
        """
        if not is_event_collection(collection):
            return None
        state = self._state()
        old = state.get("events_generation", 0)
        old = old if isinstance(old, int) and not isinstance(old, bool) else -1
        state["events_generation"] = old + 1
        self._write_state(state)
        cached, self._events = self._events, None
        if cached is not None and cached[0] == old:
            self._events = (old + 1, cached[1])
            return cached[1]
        return None

    def _event_index(self) -> EventIndex:
        with self._locked(exclusive=False):
            generation = self._state().get("events_generation", 0)
            if self._events is not None and self._events[0] == generation:
                return self._events[1]
            index = EventIndex()
            try:
                with os.scandir(self.path / DOCS_DIR) as entries:
                    names = sorted(e.name for e in entries if is_event_collection(e.name))
            except FileNotFoundError:
                names = []
            for collection in names:
                for key, data in self.list_docs(collection):
                    index.put(collection, key, data)
            if isinstance(generation, int):
                self._events = (generation, index)
            return index

    def event_bm25(
        self, query_terms: Sequence[str], limit: int, collections: Sequence[str] | None = None
    ) -> list[tuple[str, str, float]]:
        if not query_terms or limit <= 0:
            return []
        return self._event_index().bm25(query_terms, limit, collections)

    def event_doc_freq(self, term: str) -> int:
        return self._event_index().doc_freq(term)

    def event_index_stats(self) -> tuple[int, float]:
        return self._event_index().stats()

    def event_vocabulary(self, first_char: str) -> list[str]:
        return self._event_index().vocabulary(first_char)

    # counters and metadata -------------------------------------------------------------------

    def _counters(self) -> dict[str, int]:
        path = self.path / COUNTERS_FILE
        try:
            data = _read_json(path)
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in data.values()
        ):
            raise StoreCorruptError(f"{path} must map counter names to integers")
        return data

    def next_counter(self, name: str) -> int:
        # Read under the exclusive lock: the value another process just wrote is the one we bump.
        with self.transaction():
            counters = self._counters()
            counters[name] = counters.get(name, 0) + 1
            _write_json(self.path / COUNTERS_FILE, counters, sort_keys=True)
            return counters[name]

    def get_counters(self) -> dict[str, int]:
        return dict(sorted(self._counters().items()))

    def set_counter(self, name: str, value: int) -> None:
        # Checked here because a bad value would make counters.json unreadable for everyone.
        if not isinstance(name, str) or not isinstance(value, int) or isinstance(value, bool):
            raise UsageError(f"counter {name!r} needs a text name and an integer value")
        with self.transaction():
            counters = self._counters()
            counters[name] = value
            _write_json(self.path / COUNTERS_FILE, counters, sort_keys=True)

    def get_meta(self, key: str) -> str | None:
        value: str | None = self._state()["meta"].get(key)
        return value

    def set_meta(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not isinstance(value, str):
            raise UsageError(f"metadata {key!r} needs a text key and a text value")
        with self.transaction():
            state = self._state()
            state["meta"][key] = value
            self._write_state(state)


def _changed_since(state: dict[str, Any], since: int) -> set[str] | None:
    """Ids changed after generation ``since``, or None when the journal no longer reaches back."""
    generation = state["generation"]
    if since > generation or generation - since > len(state["journal"]):
        return None  # store replaced under us, or we fell further behind than the journal
    entries = {g: ids for g, ids in state["journal"]}
    changed: set[str] = set()
    for g in range(since + 1, generation + 1):
        ids = entries.get(g)
        if ids is None:  # trimmed away, or a batch too large to list
            return None
        changed.update(ids)
    return changed
