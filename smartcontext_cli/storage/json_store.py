"""JSON backend: a namespace as a directory of small, human-readable JSON files.

Why it exists: some people want to read, grep, diff and hand-fix what their tools remember,
or keep it next to a project in version control. Every record is one pretty-printed file::

    <ns>/store.json                     marker, schema version, metadata, change journal
    <ns>/memories/<id>.json             one memory (``Memory.to_dict()``)
    <ns>/docs/<collection>/<key>.json   one document
    <ns>/counters.json                  {"name": value}
    <ns>/.lock                          advisory lock (``fcntl.flock``)
    <ns>/wal.json                       only while a multi-file commit is under way (journal.py)

Guarantees, matching ``SQLiteStorage`` wherever JSON files allow:

* Transactions are all or nothing, also under SIGKILL: a transaction's writes are collected in
  memory (reads inside it see them) and committed together through a write-ahead journal
  (``journal.py``); a body that raises writes nothing. A commit a killed process left half
  applied is finished by the next process to take the lock, before it reads anything.
* Every file is replaced atomically (temp file, fsync, ``os.replace``), so no reader and no crash
  ever sees half a file. Files are 0600, directories 0700. As with SQLite's
  ``synchronous=NORMAL``, a power cut may lose the latest writes, never tear a file.
* Every write, and every ``transaction()`` body, holds an exclusive ``flock`` on ``.lock``, so
  concurrent processes queue instead of losing writes; every read holds a shared lock, so no
  reader sees a commit half applied.
* Adding a memory writes its own file plus the small ``store.json``; cost does not grow with the
  store. Reads use an in-process cache of every memory and its BM25 statistics, loaded on first
  use. Each memory write bumps ``generation`` in ``store.json`` and lists the changed ids in a
  short journal, so another process re-reads only those files (or everything, if it fell
  further behind than the journal reaches).
* ``bm25`` reproduces SQLite FTS5's ``bm25()`` over the very terms SQLite indexes
  (``sqlite_store.index_terms``), so both backends return the same memories, scores and order.
* A memory reads back exactly as written, as from SQLite: files are type-checked, not normalised.
* Damage is named, never reset: a file that cannot be parsed or has the wrong shape, and a
  ``store.json`` or ``counters.json`` missing while the store holds data, raise
  ``StoreCorruptError`` naming the file; nothing rewrites, repairs or deletes it (``smartcontext
  doctor --repair`` does, saying what). Memory ids, collections and keys must be safe file
  names (``UsageError`` otherwise), so nothing is ever written outside the namespace directory.
  A name that could not have been stored simply does not exist for reads and deletes.

Edit files by hand only while no smartcontext process has the namespace open: a hand edit does
not bump ``generation``, so a running process would keep its cached copy. One instance per thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from smartcontext_cli.errors import SmartContextError, StoreCorruptError, UsageError
from smartcontext_cli.files import private_dirs
from smartcontext_cli.models import MEMORY_FIELDS, Memory
from smartcontext_cli.storage import journal
from smartcontext_cli.storage.base import (
    MAX_INT,
    SCHEMA_VERSION,
    check_not_moved,
    counter_exhausted,
)
from smartcontext_cli.storage.events import EventIndex, is_event_collection
from smartcontext_cli.storage.journal import WAL_FILE, WriteSet, clean_temps
from smartcontext_cli.storage.json_memories import JSONMemoryReads
from smartcontext_cli.storage.transfer import TransferMixin

if TYPE_CHECKING:
    from smartcontext_cli.storage import StorageConfig

STORE_FILE = "store.json"
COUNTERS_FILE = "counters.json"
LOCK_FILE = ".lock"
MEMORIES_DIR = "memories"
DOCS_DIR = "docs"
# Each collection's keys as the last commit stored them (derived, committed with the documents):
# a document file deleted by hand is then damage, not a smaller collection.
LISTINGS_DIR = ("index", "docs")
LISTING_VERSION = 1

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


def _parse(path: Path, raw: bytes | str) -> Any:
    """Parse a store file's text; damage names the file."""
    if not raw.strip():
        raise StoreCorruptError(f"{path} is empty; restore it or run `smartcontext doctor`")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreCorruptError(
            f"cannot parse {path}: {exc}; fix or move the file by hand, "
            "or run `smartcontext doctor`"
        ) from None


def _read_json(path: Path) -> Any:
    """Parse ``path``; ``FileNotFoundError`` passes through, anything else names the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise StoreCorruptError(f"{path} is a directory, not a store file") from None
    except OSError as exc:
        raise StoreCorruptError(f"cannot read {path}: {exc.strerror}") from None
    return _parse(path, raw)


def _dumps(data: Any, sort_keys: bool = False) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=sort_keys) + "\n"


_encode = json.JSONEncoder(ensure_ascii=False).encode  # C-encoded, as one value
_SCALARS = (str, int, float, bool, type(None))


def _memory_text(record: dict[str, Any]) -> str:
    """``_dumps(record)`` for a memory record (scalars and a list of tags), byte for byte.

    Why: ``indent`` sends ``json.dumps`` through its pure-Python encoder, a tenth of a
    migration's CPU; here each value goes through the C encoder and only the layout is ours.
    """
    parts = []
    for key, value in record.items():
        if type(value) is list and all(type(t) is str for t in value):
            items = ",\n".join("    " + _encode(t) for t in value)
            text = f"[\n{items}\n  ]" if value else "[]"
        elif type(value) in _SCALARS:
            text = _encode(value)
        else:
            return _dumps(record)  # anything else: the general encoder
        parts.append(f"  {_encode(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


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
    """A memory file read back exactly as written (as SQLite returns its row)."""
    return _check_memory(path, _read_json(path))


def _check_memory(path: Path, data: Any) -> Memory:
    """The memory in ``data`` (read from ``path``), or ``StoreCorruptError`` naming the file.

    Why not ``Memory.from_dict``: it normalises (tags are lower-cased), so a memory stored
    through the protocol could read back different from SQLite's copy. We check types only,
    which is what the rest of the program needs to not fail far from the bad file.
    """
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


# the backend ---------------------------------------------------------------------------------


def _m001_initial(storage: JSONStorage) -> None:
    _mkdir(storage.path / MEMORIES_DIR)
    _mkdir(storage.path / DOCS_DIR)
    counters = storage.path / COUNTERS_FILE
    if not storage._exists(counters):
        storage._write(counters, _dumps({}))


def _m002_memory_index(storage: JSONStorage) -> None:
    # Why: reads parsed every memory file in each new process (8.5 s at 50,000 memories); the
    # index (json_index) makes them proportional to what they return. Built from the files now
    # (outside the transaction: it is derived, and records the generation it covers).
    _mkdir(storage.path / MEMORIES_DIR)
    state = storage._read_state(missing_ok=True)  # None while the store is being created
    storage._rebuilt(int(state["generation"]) if state else 0)


def _m002_snowball_terms(storage: JSONStorage) -> None:
    # Why nothing to rewrite here: the terms changed (text.TERMS_VERSION 2) and the only place
    # this backend keeps terms is its derived memory index, whose VERSION changed with them, so
    # an index of the old terms is rebuilt from the memory files on first read. Session events
    # are tokenised when they load. The record says which terms the store was last opened with,
    # as SQLite's m008 does.
    _mkdir(storage.path / MEMORIES_DIR)


# Named, ordered upgrades of the layout; each runs once and is recorded in store.json. Both
# m002s came from branches developed side by side; each is independent of the other, so a
# store that has either runs just the one it lacks.
MIGRATIONS: list[tuple[str, Callable[[JSONStorage], None]]] = [
    ("m001_initial", _m001_initial),
    ("m002_memory_index", _m002_memory_index),
    ("m002_snowball_terms", _m002_snowball_terms),
]


class JSONStorage(JSONMemoryReads, TransferMixin):
    backend = "json"
    import_batch = 500  # memories per upsert of an import (transfer.py): writes cost per file

    def __init__(self, target: Path | str | StorageConfig) -> None:
        if isinstance(target, (str, os.PathLike)):
            path = Path(target)
            private_dirs(path)
        else:
            from smartcontext_cli.storage import _private_dirs

            path = target.directory
            _private_dirs(target.home, path)
        self.path = path
        self._inode = os.stat(path).st_ino
        self._index_init()
        self._events: tuple[int, EventIndex] | None = None
        self._depth = 0
        self._exclusive = False
        # The open transaction's pending writes (None outside one), and whether store.json
        # changed beyond the generation bump that announces a memory write.
        self._tx: WriteSet | None = None
        self._state_changed = False
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
        self._drop_caches()
        self._depth = 0
        self._tx = None

    def _drop_caches(self) -> None:
        """Forget everything derived from the files (after a rollback or a recovery)."""
        self._mindex = None
        self._events = None

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        """Hold ``.lock`` (re-entrant); nested calls join the outermost hold.

        The outermost exclusive hold is a transaction: its writes are collected and committed
        when the body returns, or dropped when it raises.
        """
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
            self._settle(lock, exclusive)
            if exclusive:
                self._tx, self._state_changed = WriteSet(), False
            try:
                yield
                if exclusive:
                    self._commit()
            except BaseException:
                if self._tx:
                    # Our cache may hold writes that never reached the disk.
                    self._drop_caches()
                raise
        finally:
            self._tx = None
            self._index_reset()
            self._depth = 0
            if not lock.closed:  # close() inside the body already released it
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _settle(self, lock: IO[bytes], exclusive: bool) -> None:
        """Finish what a killed writer left (its journal, its temp files) before anything else.

        Under the lock no live writer is mid-commit, so a journal found now is a dead one's.
        """
        wal = self.path / WAL_FILE
        if exclusive:
            check_not_moved(self.path, self._inode)
            if wal.exists():
                self._recover()
            clean_temps(self.path)
            return
        while wal.exists():
            # Recovery writes: trade the shared lock for the exclusive one and back.
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if wal.exists():
                    self._recover()
            finally:
                fcntl.flock(lock, fcntl.LOCK_SH)

    def _recover(self) -> None:
        if journal.recover(self.path, is_safe_name, self._prunable):
            self._drop_caches()

    def _prunable(self, directory: Path) -> bool:
        # An emptied collection disappears, as it does from SQLite's SELECT DISTINCT collection.
        return directory.parent == self.path / DOCS_DIR

    def _commit(self) -> None:
        tx = self._tx
        if not tx:
            return
        state = self.path / STORE_FILE
        # A memory write is its file plus the generation bump announcing it: applied bump first,
        # a crash between the two leaves readers re-reading an unchanged file (see ``_bump``).
        # The memory index's change joins the same commit (json_memories), so data and index
        # reach the disk together; a fold of the index into a new base follows it, outside.
        fold = self._index_stage()
        bump_and_one = len(tx.files) == 2 and tx.touches(state) and not self._state_changed
        journal.commit(self.path, tx, self._prunable, first=state, journal=not bump_and_one)
        if fold is not None:
            self._index_fold(*fold)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Hold the exclusive lock for the whole body: all or nothing, nobody writes in between.

        Writes inside the body are visible to reads inside it and reach the disk together when
        it returns (see ``journal.py``); if it raises, none of them do. Nested transactions
        join the outer one.
        """
        return self._locked(exclusive=True)

    def _migrate(self) -> None:
        state = self._read_state(missing_ok=True)
        if state is not None and not self._pending(state):
            return
        with self.transaction():
            # Re-read under the lock: another process may have created or upgraded it meanwhile,
            # and a killed creator's commit was finished when we took the lock.
            state = self._read_state(missing_ok=True)
            if state is None:
                held = self._orphans()
                if held:
                    raise StoreCorruptError(
                        f"{self.path / STORE_FILE} is missing although the namespace holds "
                        f"{held}; nothing was changed: restore the file, or run "
                        "`smartcontext doctor --repair` to rebuild it"
                    )
                state = new_state()
            elif not self._pending(state):
                return
            for name, upgrade in MIGRATIONS:
                if name not in state["migrations"]:
                    upgrade(self)
                    state["migrations"].append(name)
            state["schema_version"] = SCHEMA_VERSION
            state["meta"]["schema_version"] = str(SCHEMA_VERSION)
            self._write_state(state)

    def _orphans(self) -> str:
        """What store files exist besides the marker (a store whose store.json went missing)."""
        held = []
        if (self.path / COUNTERS_FILE).exists():
            held.append(COUNTERS_FILE)
        for name in (MEMORIES_DIR, DOCS_DIR):
            with contextlib.suppress(OSError), os.scandir(self.path / name) as entries:
                if any(True for _ in entries):
                    held.append(f"{name}/")
        return " and ".join(held)

    @staticmethod
    def _pending(state: dict[str, Any]) -> bool:
        done = set(state["migrations"])
        return any(name not in done for name, _ in MIGRATIONS) or state["meta"].get(
            "schema_version"
        ) != str(SCHEMA_VERSION)

    def applied_migrations(self) -> list[str]:
        with self._locked(exclusive=False):
            return sorted(self._state()["migrations"])

    # files through the open transaction --------------------------------------------------------

    def _read(self, path: Path) -> Any:
        """Parse ``path`` as this transaction sees it; ``FileNotFoundError`` when absent."""
        tx = self._tx
        if tx is not None and tx.touches(path):
            text = tx.get(path)
            if text is None:
                raise FileNotFoundError(path)
            return json.loads(text)
        return _read_json(path)

    def _exists(self, path: Path) -> bool:
        tx = self._tx
        if tx is not None and tx.touches(path):
            return tx.get(path) is not None
        return path.exists()

    def _write(self, path: Path, text: str) -> None:
        if self._tx is None:
            raise RuntimeError("store files are written inside a transaction only")
        self._tx.put(path, text)

    def _remove(self, path: Path) -> bool:
        """Delete ``path`` at commit; False when it does not exist (as this transaction sees)."""
        if not self._exists(path):
            return False
        assert self._tx is not None  # _write's rule: callers hold a transaction
        self._tx.delete(path)
        return True

    def _json_names(self, directory: Path) -> list[str]:
        """Stems of the record files in ``directory`` (unsorted), pending writes included."""
        try:
            with os.scandir(directory) as entries:
                # Temp files start with '.', and other stray files are not ours to judge.
                names = {e.name for e in entries if e.name.endswith(".json")}
        except (FileNotFoundError, NotADirectoryError):
            names = set()
        if self._tx is not None:
            for name, text in self._tx.names(directory).items():
                if text is None:
                    names.discard(name)
                else:
                    names.add(name)
        stems = (n[: -len(".json")] for n in names)
        return [k for k in stems if is_safe_name(k)]

    # store.json ------------------------------------------------------------------------------

    def _read_state(self, missing_ok: bool = False) -> dict[str, Any] | None:
        path = self.path / STORE_FILE
        try:
            data = self._read(path)
        except FileNotFoundError:
            if missing_ok:
                return None
            raise StoreCorruptError(
                f"{path} is missing; the store cannot be read (run `smartcontext doctor`)"
            ) from None
        if not isinstance(data, dict) or data.get("backend") != "json":
            raise StoreCorruptError(f"{path} is not a smartcontext JSON store marker")
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
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
            and all(isinstance(m, str) for m in state["migrations"])
            and isinstance(state["meta"], dict)
            and all(isinstance(v, str) for v in state["meta"].values())
        ):
            raise StoreCorruptError(f"{path}: unexpected generation, journal, migrations or meta")
        return state

    def _state(self) -> dict[str, Any]:
        state = self._read_state()
        assert state is not None  # missing_ok=False raises instead
        return state

    def _write_state(self, state: dict[str, Any], bump_only: bool = False) -> None:
        # One line per field: the journal stays a single line instead of hundreds.
        lines = [
            f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in state.items()
        ]
        self._write(self.path / STORE_FILE, "{\n" + ",\n".join(lines) + "\n}\n")
        if not bump_only:
            self._state_changed = True

    def _bump(self, ids: Sequence[str]) -> int:
        """Announce a memory change; returns the generation it supersedes.

        Why the announcement is applied before the files it lists: if we die between the two,
        readers still re-read these ids and see what is on disk.
        """
        state = self._state()
        old: int = state["generation"]
        journal_ = state["journal"]
        journal_.append([old + 1, sorted(set(ids)) if len(ids) <= JOURNAL_LIMIT else None])
        size = sum(len(e[1] or ()) + 1 for e in journal_)
        while len(journal_) > 1 and size > JOURNAL_LIMIT:
            size -= len(journal_.pop(0)[1] or ()) + 1
        state["generation"] = old + 1
        self._write_state(state, bump_only=True)
        return old

    def memories_generation(self) -> str:
        """A value that changes with every committed memory write, in any process: the
        generation each one bumps, and the memories folder (a restored store is another)."""
        state = self._state()
        return f"json:{os.stat(self.path / MEMORIES_DIR).st_ino}:{state['generation']}"

    def _memory_path(self, memory_id: str) -> Path:
        return self.path / MEMORIES_DIR / f"{memory_id}.json"

    def _memory_ids(self) -> list[str]:
        return self._json_names(self.path / MEMORIES_DIR)

    def _load_memory_at(self, memory_id: str) -> Memory:
        path = self._memory_path(memory_id)
        tx = self._tx
        if tx is not None and tx.touches(path):
            return _check_memory(path, self._read(path))
        return _load_memory(path)

    def _write_memories(self, memories: Sequence[Memory], deleted: Sequence[str] = ()) -> None:
        """Write and delete memory files (caller holds the lock); the index follows them."""
        texts = [(self._memory_path(m.id), _memory_text(_record(m))) for m in memories]
        old = self._bump([m.id for m in memories] + list(deleted))
        self._index_note(memories, deleted, old)  # reads the old versions before they go
        for path, text in texts:
            self._write(path, text)
        for mid in deleted:
            self._remove(self._memory_path(mid))

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
                if self._exists(self._memory_path(m.id)):
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
        # One file: no cache needed, and always current.
        if not is_safe_name(memory_id):
            return None
        with self._locked(exclusive=False):
            try:
                return self._load_memory_at(memory_id)
            except FileNotFoundError:
                # Only a miss costs the index's read: an id it lists was deleted by hand, and
                # ``show`` would call that "not found" although every search still finds it.
                if not self._retrying(lambda index: memory_id in index.entries):
                    return None
        return next(self._memories([memory_id]))  # names the missing file

    def update_memory(self, memory: Memory) -> None:
        if not is_safe_name(memory.id):
            return  # never stored, so nothing to update (SQLite: UPDATE of no rows)
        with self.transaction():
            if self._exists(self._memory_path(memory.id)):
                self._write_memories([memory])

    def delete_memories(self, ids: Iterable[str]) -> int:
        with self.transaction():
            existing = sorted(
                {mid for mid in ids if is_safe_name(mid) and self._exists(self._memory_path(mid))}
            )
            if existing:
                self._write_memories([], deleted=existing)
        return len(existing)

    def set_token_counts(self, counts: dict[str, tuple[str, int]]) -> None:
        with self.transaction():
            updated = []
            # Read everything first: a corrupt file stops us before anything is written.
            for mid, (encoding, count) in counts.items():
                if not is_safe_name(mid):
                    continue
                try:
                    memory = self._load_memory_at(mid)
                except FileNotFoundError:
                    continue
                memory.token_encoding, memory.token_count = encoding, count
                updated.append(memory)
            if updated:
                self._write_memories(updated)

    # documents -------------------------------------------------------------------------------

    def _doc_dir(self, collection: str) -> Path:
        return self.path / DOCS_DIR / collection

    def doc_path(self, collection: str, key: str) -> Path:
        """The file holding a document (for messages that name it)."""
        return self._doc_dir(collection) / f"{key}.json"

    def get_doc(self, collection: str, key: str) -> dict[str, Any] | None:
        if not (is_safe_name(collection) and is_safe_name(key)):
            return None
        with self._locked(exclusive=False):
            try:
                data: dict[str, Any] = self._read(self.doc_path(collection, key))
            except FileNotFoundError:
                # Only a miss costs the listing's read: a key it holds was deleted by hand.
                if key in (self._listing(collection) or ()):
                    self._check_listed(collection, self._doc_keys(collection))
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
            self._write(self.doc_path(collection, key), text)
            self._note_key(collection, key, present=True)
            if index is not None:
                index.put(collection, key, data)

    def delete_doc(self, collection: str, key: str) -> bool:
        if not (is_safe_name(collection) and is_safe_name(key)):
            return False
        with self.transaction():
            path = self.doc_path(collection, key)
            if not self._exists(path):
                return False
            index = self._event_change(collection)
            self._remove(path)
            self._note_key(collection, key, present=False)
            if index is not None:
                index.discard(collection, key)
        return True

    def _doc_keys(self, collection: str) -> list[str]:
        return sorted(self._json_names(self._doc_dir(collection)))

    # the listing of each collection's keys ---------------------------------------------------

    def _listing_path(self, collection: str) -> Path:
        return self.path.joinpath(*LISTINGS_DIR, f"{collection}.json")

    def _listing(self, collection: str) -> set[str] | None:
        """The keys the last commit stored in ``collection``; None when there is no listing
        (a store written before listings existed, or one deleted: derived, so rebuilt)."""
        try:
            data = self._read(self._listing_path(collection))
        except (FileNotFoundError, StoreCorruptError, ValueError):
            return None
        if not (
            isinstance(data, dict)
            and data.get("version") == LISTING_VERSION
            and isinstance(data.get("keys"), list)
            and all(isinstance(k, str) for k in data["keys"])
        ):
            return None
        return set(data["keys"])

    def _write_listing(self, collection: str, keys: Iterable[str]) -> None:
        ordered = sorted(keys)
        if not ordered:
            self._remove(self._listing_path(collection))
            return
        text = json.dumps({"version": LISTING_VERSION, "keys": ordered}, ensure_ascii=False)
        self._write(self._listing_path(collection), text + "\n")

    def _note_key(self, collection: str, key: str, present: bool) -> None:
        """Keep the listing in step with a put or delete of ``key`` (caller holds a transaction)."""
        listing = self._listing(collection)
        if listing is None:
            # No listing yet: derived from the files as this transaction sees them.
            self._write_listing(collection, self._doc_keys(collection))
            return
        if (key in listing) == present:
            return  # an update of a document that exists: the listing stays
        if present:
            listing.add(key)
        else:
            listing.discard(key)
        self._write_listing(collection, listing)

    def _check_listed(self, collection: str, keys: Sequence[str]) -> None:
        missing = self.missing_documents(collection, keys)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise StoreCorruptError(
                f"{self.doc_path(collection, missing[0])} is missing{more} although the store "
                "holds it; restore the file, or run `smartcontext doctor --repair` to drop it"
            )

    def missing_documents(self, collection: str, keys: Sequence[str] | None = None) -> list[str]:
        """Keys the listing of ``collection`` holds whose file is gone (deleted by hand)."""
        listing = self._listing(collection)
        if not listing:
            return []
        present = set(self._doc_keys(collection) if keys is None else keys)
        return sorted(listing - present)

    def listed_collections(self) -> list[str]:
        """Every collection with a listing (those whose files may all be gone included)."""
        names = self._json_names(self.path.joinpath(*LISTINGS_DIR))
        return sorted(names)

    def rebuild_listings(self) -> list[str]:
        """Rebuild every collection's listing from its files; returns the documents dropped."""
        dropped = []
        with self.transaction():
            for collection in sorted({*self.listed_collections(), *self.collections()}):
                dropped += [
                    str(self.doc_path(collection, k)) for k in self.missing_documents(collection)
                ]
                self._write_listing(collection, self._doc_keys(collection))
        return dropped

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
            self._check_listed(collection, keys)
            if start is not None:
                keys = keys[bisect_left(keys, start) :]
            if reverse:
                keys.reverse()
            return [(k, self._read(self.doc_path(collection, k))) for k in _window(keys, limit)]

    def collections(self) -> list[str]:
        with self._locked(exclusive=False):
            docs = self.path / DOCS_DIR
            try:
                with os.scandir(docs) as entries:
                    names = {e.name for e in entries if is_safe_name(e.name) and e.is_dir()}
            except FileNotFoundError:
                names = set()
            if self._tx is not None:
                names |= {d.name for d in self._tx.directories() if d.parent == docs}
            return sorted(c for c in names if self._doc_keys(c))

    def count_docs(self) -> int:
        with self._locked(exclusive=False):
            return sum(len(self._doc_keys(c)) for c in self.collections())

    def delete_collection(self, collection: str) -> int:
        if not is_safe_name(collection):
            return 0
        with self.transaction():
            keys = self._doc_keys(collection)
            index = self._event_change(collection) if keys else None
            for key in keys:
                self._remove(self.doc_path(collection, key))
            self._remove(self._listing_path(collection))
            if index is not None:
                index.discard_collection(collection)
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
            docs = self.path / DOCS_DIR
            try:
                with os.scandir(docs) as entries:
                    found = {e.name for e in entries if is_event_collection(e.name)}
            except FileNotFoundError:
                found = set()
            if self._tx is not None:  # collections this transaction is creating
                found |= {
                    d.name
                    for d in self._tx.directories()
                    if d.parent == docs and is_event_collection(d.name)
                }
            names = sorted(found)
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
            data = self._read(path)
        except FileNotFoundError:
            if "m001_initial" in self._state()["migrations"]:
                # Why an error and not {}: numbering again from 1 would overwrite the session
                # events, artifacts and tasks that already hold those numbers.
                raise StoreCorruptError(
                    f"{path} is missing: ids would be reused, so nothing is numbered until it "
                    "is back; run `smartcontext doctor --repair` to rebuild it from the records"
                ) from None
            return {}
        if not isinstance(data, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in data.values()
        ):
            raise StoreCorruptError(f"{path} must map counter names to whole numbers")
        return data

    def next_counter(self, name: str) -> int:
        # Read under the exclusive lock: the value another process just wrote is the one we bump.
        with self.transaction():
            counters = self._counters()
            if counters.get(name, 0) >= MAX_INT:
                raise counter_exhausted(name)
            counters[name] = counters.get(name, 0) + 1
            self._write(self.path / COUNTERS_FILE, _dumps(counters, sort_keys=True))
            return counters[name]

    def get_counters(self) -> dict[str, int]:
        with self._locked(exclusive=False):
            return dict(sorted(self._counters().items()))

    def set_counter(self, name: str, value: int) -> None:
        # Checked here because a bad value would make counters.json unreadable for everyone.
        if not isinstance(name, str) or not isinstance(value, int) or isinstance(value, bool):
            raise UsageError(f"counter {name!r} needs a text name and an integer value")
        if value < 0:
            raise UsageError(f"counter {name!r} cannot be negative")
        with self.transaction():
            counters = self._counters()
            counters[name] = value
            self._write(self.path / COUNTERS_FILE, _dumps(counters, sort_keys=True))

    def get_meta(self, key: str) -> str | None:
        with self._locked(exclusive=False):
            value: str | None = self._state()["meta"].get(key)
        return value

    def set_meta(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not isinstance(value, str):
            raise UsageError(f"metadata {key!r} needs a text key and a text value")
        with self.transaction():
            state = self._state()
            state["meta"][key] = value
            self._write_state(state)


def new_state() -> dict[str, Any]:
    return {
        "backend": "json",
        "schema_version": SCHEMA_VERSION,
        "migrations": [],
        "generation": 0,
        "journal": [],
        "meta": {},
    }


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
