"""The storage protocol: every backend implements exactly this, and passes one contract suite.

One method per persisted operation. Domain classes receive a ``Storage`` and never reach a global.
Besides memories (which need ranked search), state lives in two generic shapes so later features
need no new storage code: documents (``collection``/``key`` -> JSON object) and counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from smartcontext_cli.errors import SmartContextError, StoreMovedError
from smartcontext_cli.models import Memory

SCHEMA_VERSION = 1
MAX_INT = 2**63 - 1  # SQLite's largest integer; the JSON backend keeps to it too


def counter_exhausted(name: str) -> SmartContextError:
    """The error of a counter that cannot give another number (it is at 2^63-1)."""
    return SmartContextError(
        f"counter {name!r} is at 2^63-1 (an import set it there): no new number can be given"
    )


def check_not_moved(path: Any, inode: int) -> None:
    """Refuse to write through a handle whose store was moved away (``migrate``) since it opened.

    Why: a process that opened the store before the swap would otherwise keep writing into the
    old copy, now in backups, and its writes would be lost to the namespace.
    """
    import os

    try:
        current = os.stat(path).st_ino
    except FileNotFoundError:
        current = -1
    if current != inode:
        raise StoreMovedError(
            f"{path} was replaced (by `smartcontext migrate`) after this process opened it; "
            "nothing was written: run the command again"
        )


class Storage(Protocol):
    backend: str
    path: Any

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all or nothing, and no other process writes in between."""
        ...

    # memories
    def add_memories(self, memories: Sequence[Memory]) -> None: ...
    def upsert_memories(self, memories: Sequence[Memory]) -> None: ...
    def get_memory(self, memory_id: str) -> Memory | None: ...
    def find_memory_ids(self, prefix: str, limit: int = 10) -> list[str]: ...
    def update_memory(self, memory: Memory) -> None: ...
    def delete_memories(self, ids: Iterable[str]) -> int: ...
    def list_memories(
        self,
        limit: int | None = None,
        offset: int = 0,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[Memory]:
        """Most recent first (created_at, then id, descending)."""
        ...

    def iter_memories(self) -> Iterator[Memory]:
        """Every memory, oldest first (created_at, then id): the export order."""
        ...

    def count_memories(self) -> int: ...
    def bm25(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[tuple[Memory, float]]:
        """FTS5-compatible BM25 (k1=1.2, b=0.75), best first, as positive scores."""
        ...

    def doc_freq(self, term: str) -> int: ...
    def index_stats(self) -> tuple[int, float]:
        """The search index's row count and mean length in terms (BM25's N and avgdl)."""
        ...

    def vocabulary(self, first_char: str) -> list[str]:
        """Indexed terms starting with ``first_char``, any prefix (the fuzzy matcher's candidates:
        search asks for one or two letters)."""
        ...

    def candidates(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> dict[str, tuple[Memory, Counter[str]]]:
        """Search's candidates: about the ``limit`` best memories by ``bm25``, best first, each
        with its term counts (as ``indexed``).

        Exact where that is cheap; a backend may bound its reads for a query matching very many
        memories and return the best of what it read (SQLite: ``sqlite_pool``), so this is a
        candidate set to re-rank, not a ranking to rely on.
        """
        ...

    def indexed(self, ids: Sequence[str]) -> dict[str, tuple[Memory, Counter[str]]]:
        """Memories by id with their index terms counted (ids not stored are left out).

        The counters may be shared with the backend's cache: read them, never change them.
        """
        ...

    def adjacent(self, memories: Sequence[Memory]) -> dict[str, tuple[str | None, str | None]]:
        """Each memory's previous and next memory id of the same ``source``, by
        (created_at, id): its neighbours in the conversation or session it came from."""
        ...

    def set_token_counts(self, counts: dict[str, tuple[str, int]]) -> None:
        """Cache token counts: memory id -> (encoding, count)."""
        ...

    # the session-event index (storage/events.py): documents of the collections ``session`` and
    # ``session-<n>`` are indexed by their ``content`` on every write, by the backend itself
    def event_bm25(
        self, query_terms: Sequence[str], limit: int, collections: Sequence[str] | None = None
    ) -> list[tuple[str, str, float]]:
        """(collection, key, score), FTS5-compatible BM25 over events, best first."""
        ...

    def event_doc_freq(self, term: str) -> int: ...
    def event_index_stats(self) -> tuple[int, float]: ...
    def event_vocabulary(self, first_char: str) -> list[str]: ...

    # documents
    def get_doc(self, collection: str, key: str) -> dict[str, Any] | None: ...
    def put_doc(self, collection: str, key: str, data: dict[str, Any]) -> None: ...
    def delete_doc(self, collection: str, key: str) -> bool: ...
    def list_docs(
        self,
        collection: str,
        start: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Documents in key order (keys >= ``start``), newest last unless ``reverse``."""
        ...

    def collections(self) -> list[str]: ...
    def count_docs(self) -> int:
        """Documents in every collection (a migration's progress counts them)."""
        ...

    def delete_collection(self, collection: str) -> int: ...

    # counters
    def next_counter(self, name: str) -> int:
        """Atomically increment and return a named counter (first value: 1)."""
        ...

    def get_counters(self) -> dict[str, int]: ...
    def set_counter(self, name: str, value: int) -> None: ...

    # metadata
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
