"""Search results kept between compiles while the memories stand still.

Why: an agent loop compiles after every step, and most steps add a session event, not a
memory. At a 128k budget compile ranks about 5,000 candidates among 100,000 memories, which
was about half of its time, to get the same list as the step before. A long-running process
(the MCP server, an agent using the library) now ranks once per change to the memories.

Correctness rests on the backend's memory generation (``memories_generation``): SQLite bumps a
counter in ``meta`` in the same transaction as every insert or delete of a memory and every
index repair; the JSON store bumps the ``generation`` of ``store.json`` with every memory
write. Both are read before the search runs, so a write that lands during the search can
only make the entry look older than it is (a miss next time), never newer. Backends without
a generation (PostgreSQL) are not memoised. Results are pure functions of the memories and
the key (compile passes the newest memory's time as "now"), so a hit returns what the search
would: copies, so a caller that edits a memory cannot change the memo.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Memory

Result = tuple[list["Memory"], bool]

SIZE = 8  # entries: one compile asks for at most four (head and query, narrow and wide)


class SearchMemo:
    """A small LRU of search results, each valid for one memory generation of one store."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[str, Result]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def recall(self, storage: Any, key: Hashable, compute: Callable[[], Result]) -> Result:
        """``compute()``, or a copy of its result for the same key and memory generation."""
        generation = _generation(storage)
        if generation is None:
            return compute()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == generation:
            self._entries.move_to_end(key)
            self.hits += 1
            return _copied(entry[1])
        self.misses += 1
        result = compute()
        self._entries[key] = (generation, _copied(result))
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return result

    def clear(self) -> None:
        self._entries.clear()


def _generation(storage: Any) -> str | None:
    read = getattr(storage, "memories_generation", None)
    if read is None:
        return None
    value = read()
    return value if isinstance(value, str) else None


def _copied(result: Result) -> Result:
    memories, saturated = result
    out = []
    for memory in memories:
        twin = copy.copy(memory)
        twin.tags = list(memory.tags)
        out.append(twin)
    return out, saturated
