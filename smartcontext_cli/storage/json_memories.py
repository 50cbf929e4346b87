"""The JSON backend's memory reads, through its on-disk index (``json_index``).

``JSONStorage`` keeps memories one file each and tells this mixin about every memory write
(``_index_note``, before the files change, and ``_index_commit``, when the outermost write lock
is released); the mixin keeps ``<ns>/index/`` in step and answers ``list``, ``search`` and the
term statistics from it, parsing only the memory files a result holds.

Writers: a commit appends one line to the delta (its memories' terms, the document-count moves,
read from the old versions of the files it replaces), or folds the delta into a new base when
it grows past ``DELTA_MAX`` (an import does this once, at its commit). A writer that finds the
saved index not matching the store (behind, damaged, or the memories directory changed by hand)
leaves it: the next reader rebuilds it from the files and saves it.
"""

from __future__ import annotations

import contextlib
import os
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from smartcontext_cli.errors import StoreCorruptError
from smartcontext_cli.models import Memory

from . import json_index_files as files
from .json_index import Change, MemoryIndex, memory_terms


class JSONMemoryReads:
    """Memory reads and index upkeep for ``JSONStorage``, which provides, as methods:
    ``_locked(exclusive)``, ``_state()``, ``_memory_path(id)``, ``_memory_files()`` and
    ``_load(path)`` (one memory file, parsed exactly as written)."""

    path: Path
    _locked: Callable[[bool], AbstractContextManager[None]]
    _state: Callable[[], dict[str, Any]]
    _memory_path: Callable[[str], Path]
    _memory_files: Callable[[], Iterator[Path]]
    _load: Callable[[Path], Memory]

    def _index_init(self) -> None:
        self._mindex: MemoryIndex | None = None
        self._idx_change = Change()
        self._idx_from: int | None = None  # generation before this transaction's writes
        self._idx_base: tuple[str, int] | None = None  # saved base and its changes
        self._idx_valid = True  # the saved index matched the store before our writes

    # writes ----------------------------------------------------------------------------------

    def _old_version(self, memory_id: str) -> Memory | None:
        try:
            return self._load(self._memory_path(memory_id))
        except FileNotFoundError:
            return None
        except StoreCorruptError:
            # Its terms are unknown, so the document counts cannot be moved: start afresh.
            self._idx_valid = False
            return None

    def _index_note(self, memories: Sequence[Memory], deleted: Sequence[str], old: int) -> None:
        """A memory write is about to replace or delete files (generation ``old`` -> ``old+1``)."""
        if self._idx_from is None:
            self._idx_from = old
            state = files.saved_state(self.path)
            clean = state is not None and state[1] == old
            clean = clean and state is not None and state[3] == files.memories_mtime(self.path)
            self._idx_base = (state[0], state[2]) if clean and state else None
        change = Change()
        for m in memories:
            before = self._old_version(m.id)
            if before is not None and _same_terms(before, m):
                continue  # token counts only: nothing the index holds changes
            change.put(before, m)
        for mid in deleted:
            before = self._old_version(mid)
            if before is not None:
                change.delete(before)
        self._idx_change.extend(change)
        index = self._mindex
        if index is not None and index.generation == old:
            index.apply(change, old + 1)  # reads inside the transaction see the write
        else:
            self._mindex = None

    def _index_commit(self) -> None:
        """Save what the transaction did to the memories (the outermost write lock ends)."""
        start, self._idx_from = self._idx_from, None
        change, self._idx_change = self._idx_change, Change()
        saved, self._idx_base = self._idx_base, None
        valid, self._idx_valid = self._idx_valid, True
        if start is None:
            return
        end = int(self._state()["generation"])
        if not valid or saved is None:
            return  # the saved index was not the store's: a reader rebuilds it
        try:
            self._save_change(change, start, end, saved)
        except OSError:
            # The records are written; only their derived index could not be (a full disk):
            # its line is missing, so the next reader rebuilds it from the records.
            self._mindex = None

    def _save_change(self, change: Change, start: int, end: int, saved: tuple[str, int]) -> None:
        base, before = saved
        changes = before + len(change)
        mtime = files.memories_mtime(self.path)
        if changes <= files.DELTA_MAX:
            record = {**change.record(), "from": start, "to": end, "changes": changes}
            files.append(self.path, base, {**record, "mtime": mtime})
            if self._mindex is not None and self._mindex.generation == end:
                self._mindex.mtime = mtime
            return
        index = self._mindex
        if index is None or index.generation != end or index.base_name != base:
            index = files.load(self.path, start, check_mtime=False)
            if index is None:
                return
            index.apply(change, end)
        files.save(self.path, index, mtime)
        self._mindex = index

    # reads -----------------------------------------------------------------------------------

    def _index(self) -> MemoryIndex:
        """The memory index, current with the store (under a shared lock)."""
        with self._locked(False):
            generation = int(self._state()["generation"])
            index = self._mindex
            # One stat: files added, removed or replaced by hand change the directory. Our own
            # transaction's writes are in the index already.
            if (
                index is not None
                and index.generation == generation
                and (self._idx_from is not None or index.mtime == files.memories_mtime(self.path))
            ):
                return index
            if self._idx_from is not None:
                # Inside a transaction whose writes our index missed: the saved one plus them.
                index = files.load(self.path, self._idx_from, check_mtime=False)
                if index is not None:
                    index.apply(self._idx_change, generation)
            elif index is None or not files.catch_up(self.path, index, generation):
                index = files.load(self.path, generation)
            if index is None:
                index = self._rebuilt(generation)
            self._mindex = index
            return index

    def _rebuilt(self, generation: int) -> MemoryIndex:
        index = MemoryIndex.from_memories(map(self._load, self._memory_files()), generation)
        saved = False
        if self._idx_from is None:
            # Saved even under a shared lock: no writer runs, and a concurrent rebuild writes a
            # base of its own name (json_index_files), so the last manifest wins whole.
            with contextlib.suppress(OSError):  # a read-only copy of a store still reads
                files.save(self.path, index, files.memories_mtime(self.path))
                saved = True
        if not saved:
            index.rebase(files.SHARDS, files.shard_of)
        return index

    def rebuild_index(self) -> int:
        """Rebuild the index from the memory files (after editing files in place by hand)."""
        with self._locked(True):
            index = self._rebuilt(int(self._state()["generation"]))
            self._mindex = index
            return index.count()

    def _retrying(self, read: Callable[[MemoryIndex], Any]) -> Any:
        """``read`` on the index; once more on a fresh one if a base file vanished or changed."""
        try:
            return read(self._index())
        except files.IndexDamaged:
            self._mindex = None
            with self._locked(False):
                return read(self._index())

    def _memories(self, ids: Iterable[str]) -> Iterator[Memory]:
        for mid in ids:
            try:
                yield self._load(self._memory_path(mid))
            except FileNotFoundError:
                continue  # deleted by hand since the index was checked

    def find_memory_ids(self, prefix: str, limit: int = 10) -> list[str]:
        ids = self._retrying(lambda index: index.sorted_ids())
        # The same range SQLite scans: prefix <= id < prefix + U+FFFF.
        start, end = bisect_left(ids, prefix), bisect_left(ids, prefix + "\uffff")
        found: list[str] = ids[start:end]
        return found if limit is None or limit < 0 else found[:limit]

    def list_memories(
        self,
        limit: int | None = None,
        offset: int = 0,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[Memory]:
        with self._locked(False):
            ids = self._retrying(lambda index: index.listed(limit, offset, tags, kind))
            return list(self._memories(ids))

    def iter_memories(self) -> Iterator[Memory]:
        # Snapshot the ids first: the caller may write between two items. Streamed, so an
        # export (or a migration's check) starts at once and holds one memory at a time.
        ids = list(self._retrying(lambda index: list(index.newest_first())))
        yield from self._memories(reversed(ids))

    def count_memories(self) -> int:
        count: int = self._retrying(lambda index: index.count())
        return count

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
        terms = list(query_terms)
        with self._locked(False):
            hits = self._retrying(
                lambda index: index.bm25(terms, limit, tags, kind, files.shard_of)
            )
            by_id = {m.id: m for m in self._memories([mid for mid, _ in hits])}
        return [(by_id[mid], score) for mid, score in hits if mid in by_id]

    def doc_freq(self, term: str) -> int:
        found: int = self._retrying(lambda index: index.doc_freq(term))
        return found

    def index_stats(self) -> tuple[int, float]:
        found: tuple[int, float] = self._retrying(lambda index: index.stats())
        return found

    def vocabulary(self, first_char: str) -> list[str]:
        found: list[str] = self._retrying(lambda index: index.vocabulary(first_char))
        return found

    def candidates(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> dict[str, tuple[Memory, Counter[str]]]:
        # Always exact here: the postings of the query's terms are read whole.
        terms = list(dict.fromkeys(query_terms))
        return {m.id: (m, Counter(memory_terms(m))) for m, _ in self.bm25(terms, limit, tags, kind)}

    def indexed(self, ids: Sequence[str]) -> dict[str, tuple[Memory, Counter[str]]]:
        # The index keeps postings by term, not terms by memory: the files are parsed anyway
        # (a result returns them), and tokenising the few asked for costs less than keeping
        # every memory's counts.
        with self._locked(False):
            known: list[str] = self._retrying(
                lambda index: [mid for mid in dict.fromkeys(ids) if mid in index.entries]
            )
            return {m.id: (m, Counter(memory_terms(m))) for m in self._memories(known)}

    def adjacent(self, memories: Sequence[Memory]) -> dict[str, tuple[str | None, str | None]]:
        found: dict[str, tuple[str | None, str | None]] = self._retrying(
            lambda index: index.adjacent(memories)
        )
        return found


def _same_terms(a: Memory, b: Memory) -> bool:
    """Whether two versions of a memory index alike (a token-count update changes nothing)."""
    return (a.content, a.tags, a.kind, a.created_at, a.source) == (
        b.content,
        b.tags,
        b.kind,
        b.created_at,
        b.source,
    )


def memory_file_names(directory: Path, is_safe: Callable[[str], bool]) -> Iterator[Path]:
    """The memory files of ``directory``: temp files start with '.', strays are not ours."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".json") and is_safe(entry.name[: -len(".json")]):
                yield Path(entry.path)
