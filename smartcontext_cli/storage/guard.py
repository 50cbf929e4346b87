"""The store ``MemoryStore`` hands to the domain code: created by the first write, checked on read.

Two rules of issue 13 live here, once, for every backend:

* A command that fails never creates a namespace. Until something is written, a namespace that
  does not exist reads as empty and nothing appears on disk; the first write (in a transaction
  or not) creates the store, and a transaction that started before it continues in the new
  store's own transaction, so it stays all or nothing.
* Documents are checked against the shape the code reads (``schemas``) as they are read: a
  damaged or hand-edited record is one ``StoreCorruptError`` naming the file or record, never a
  ``KeyError`` far from its cause.
* A freshly numbered record never overwrites an existing one: when a counter has fallen behind
  its records (``numbering``), the write is refused (and its transaction rolled back) instead.

Everything else is passed through to the backend unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from smartcontext_cli import numbering, schemas
from smartcontext_cli.errors import StoreCorruptError
from smartcontext_cli.models import Memory

from .base import Storage

# What the session-event index (issue 8) reads when no store exists yet.
_EMPTY_READS: dict[str, Any] = {
    "event_bm25": [],
    "event_doc_freq": 0,
    "event_index_stats": (0, 0.0),
    "event_vocabulary": [],
}


def describe(storage: Any, collection: str, key: str) -> str:
    """Where a document lives, for a message: its file (JSON) or its record in a database."""
    locate = getattr(storage, "doc_path", None)
    if locate is not None:
        return str(locate(collection, key))
    return f"record {collection}/{key} of {storage.path}"


def checked(storage: Any, collection: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    found = schemas.problems(collection, key, data)
    if found:
        raise StoreCorruptError(
            f"{describe(storage, collection, key)} is damaged: {'; '.join(found)}; "
            "fix or remove it, or run `smartcontext doctor`"
        )
    return data


class GuardedStorage:
    """A ``Storage`` over a namespace that may not exist yet (see the module docstring)."""

    def __init__(self, opener: Callable[[], Storage], exists: bool, backend: str, where: Path):
        self._opener = opener
        self._real: Storage | None = opener() if exists else None
        self._lazy: ExitStack | None = None  # an open transaction begun before the store existed
        self.backend = backend
        self._where = where
        # Numbers handed out by next_counter whose record has not been written yet.
        self._fresh: set[tuple[str, int]] = set()

    # the backend -----------------------------------------------------------------------------

    @property
    def path(self) -> Any:
        return self._real.path if self._real is not None else self._where

    @path.setter
    def path(self, value: Any) -> None:  # the protocol declares a plain attribute
        self._store().path = value

    @property
    def created(self) -> bool:
        return self._real is not None

    def _store(self) -> Storage:
        """The real store, created now if it does not exist (the first write)."""
        if self._real is None:
            self._real = self._opener()
            if self._lazy is not None:
                self._lazy.enter_context(self._real.transaction())
        return self._real

    def __getattr__(self, name: str) -> Any:
        # Backend-specific API (``db``, ``applied_migrations``, newer protocol methods).
        if self._real is None and name in _EMPTY_READS:
            value = _EMPTY_READS[name]
            return lambda *args, **kwargs: value
        return getattr(self._store(), name)

    def close(self) -> None:
        if self._real is not None:
            self._real.close()
            self._real = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._lazy is not None:  # nested in a transaction begun before the store existed
            yield
            return
        if self._real is not None:
            with self._real.transaction():
                yield
            return
        self._lazy = ExitStack()
        try:
            yield
        except BaseException:
            lazy, self._lazy = self._lazy, None
            if not lazy.__exit__(*sys.exc_info()):
                raise
        else:
            lazy, self._lazy = self._lazy, None
            lazy.close()  # commits the store's transaction, if a write opened one

    # memories --------------------------------------------------------------------------------

    def add_memories(self, memories: Sequence[Memory]) -> None:
        if memories:
            self._store().add_memories(memories)

    def upsert_memories(self, memories: Sequence[Memory]) -> None:
        if memories:
            self._store().upsert_memories(memories)

    def get_memory(self, memory_id: str) -> Memory | None:
        return self._real.get_memory(memory_id) if self._real else None

    def find_memory_ids(self, prefix: str, limit: int = 10) -> list[str]:
        return self._real.find_memory_ids(prefix, limit) if self._real else []

    def update_memory(self, memory: Memory) -> None:
        if self._real:
            self._real.update_memory(memory)

    def delete_memories(self, ids: Iterable[str]) -> int:
        return self._real.delete_memories(ids) if self._real else 0

    def list_memories(
        self,
        limit: int | None = None,
        offset: int = 0,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[Memory]:
        return self._real.list_memories(limit, offset, tags, kind) if self._real else []

    def iter_memories(self) -> Iterator[Memory]:
        return self._real.iter_memories() if self._real else iter(())

    def count_memories(self) -> int:
        return self._real.count_memories() if self._real else 0

    def bm25(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[tuple[Memory, float]]:
        return self._real.bm25(query_terms, limit, tags, kind) if self._real else []

    def doc_freq(self, term: str) -> int:
        return self._real.doc_freq(term) if self._real else 0

    def index_stats(self) -> tuple[int, float]:
        return self._real.index_stats() if self._real else (0, 0.0)

    def vocabulary(self, first_char: str) -> list[str]:
        return self._real.vocabulary(first_char) if self._real else []

    def set_token_counts(self, counts: dict[str, tuple[str, int]]) -> None:
        if self._real:
            self._real.set_token_counts(counts)

    # documents -------------------------------------------------------------------------------

    def get_doc(self, collection: str, key: str) -> dict[str, Any] | None:
        if self._real is None:
            return None
        data = self._real.get_doc(collection, key)
        return None if data is None else checked(self._real, collection, key, data)

    def put_doc(self, collection: str, key: str, data: dict[str, Any]) -> None:
        store = self._store()
        claim = numbering.claim(collection, key)
        if claim is not None and claim in self._fresh:
            self._fresh.discard(claim)
            if store.get_doc(collection, key) is not None:
                raise StoreCorruptError(
                    f"counter '{claim[0]}' is behind the stored records: "
                    f"{describe(store, collection, key)} already exists and numbering a new "
                    "record the same would overwrite it; nothing was written. Run "
                    "`smartcontext doctor --repair` to move the counter past the records"
                )
        store.put_doc(collection, key, data)

    def delete_doc(self, collection: str, key: str) -> bool:
        return self._real.delete_doc(collection, key) if self._real else False

    def list_docs(
        self,
        collection: str,
        start: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, dict[str, Any]]]:
        if self._real is None:
            return []
        docs = self._real.list_docs(collection, start, limit, reverse)
        if schemas.known(collection):
            for key, data in docs:
                checked(self._real, collection, key, data)
        return docs

    def collections(self) -> list[str]:
        return self._real.collections() if self._real else []

    def delete_collection(self, collection: str) -> int:
        return self._real.delete_collection(collection) if self._real else 0

    # counters and metadata -------------------------------------------------------------------

    def next_counter(self, name: str) -> int:
        n = self._store().next_counter(name)
        if len(self._fresh) > 1000:  # numbers used elsewhere than as a key (a view's items)
            self._fresh.clear()
        self._fresh.add((name, n))
        return n

    def get_counters(self) -> dict[str, int]:
        return self._real.get_counters() if self._real else {}

    def set_counter(self, name: str, value: int) -> None:
        self._store().set_counter(name, value)

    def get_meta(self, key: str) -> str | None:
        return self._real.get_meta(key) if self._real else None

    def set_meta(self, key: str, value: str) -> None:
        self._store().set_meta(key, value)

    # transfer (the spec's methods on every store object) ---------------------------------------

    def export_all(self) -> dict[str, Any]:
        from .transfer import export_all

        return export_all(self)

    def import_all(self, data: dict[str, Any]) -> dict[str, int]:
        from .transfer import import_all

        return import_all(self, data)
