"""The JSON backend's memory reads, through its on-disk index (``json_index``).

``JSONStorage`` keeps memories one file each and tells this mixin about every memory write
(``_index_note``, before the files change); when the transaction commits, ``_index_stage``
adds the index's change to the same write set (``journal.py``), so the memory files, the
``store.json`` generation and the index's delta file reach the disk together or not at all.

The index is derived and says which store generation it covers. Readers use it only when its
version is current and its base plus delta files reach ``store.json``'s generation; otherwise
(deleted, damaged, an older version, a writer that found it stale) they rebuild it from the
memory files and save it by temp file and rename, outside any transaction: a crash mid-rebuild
leaves the old, stale index, rebuilt again by the next reader. Past ``DELTA_MAX`` memories a
writer folds the delta into a new base after its commit, the same way.

Because the index lists the memories that exist, a memory file deleted by hand is damage, not
a smaller store: the command that reads it names the file, and ``doctor`` lists every one;
``doctor --repair`` rebuilds the index from the files, saying which memories it dropped.
"""

from __future__ import annotations

import contextlib
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
    ``_locked(exclusive)``, ``_state()``, ``_memory_path(id)``, ``_memory_ids()`` (the ids
    of the memory files, as the open transaction sees them), ``_load_memory_at(id)`` (one
    memory, parsed exactly as written, pending writes included) and ``_write(path, text)``."""

    path: Path
    _locked: Callable[[bool], AbstractContextManager[None]]
    _state: Callable[[], dict[str, Any]]
    _memory_path: Callable[[str], Path]
    _memory_ids: Callable[[], list[str]]
    _load_memory_at: Callable[[str], Memory]
    _write: Callable[[Path, str], None]

    def _index_init(self) -> None:
        self._mindex: MemoryIndex | None = None
        self._bulk = False  # inside bulk_load: commits stage no index change
        self._index_reset()

    def _index_reset(self) -> None:
        """Forget the open transaction's pending index change (it committed or was dropped)."""
        self._idx_change = Change()
        self._idx_from: int | None = None  # generation before this transaction's writes
        self._idx_base: tuple[str, int] | None = None  # saved base and its changes
        self._idx_valid = True  # the saved index matched the store before our writes

    # writes ----------------------------------------------------------------------------------

    def _old_version(self, memory_id: str) -> Memory | None:
        try:
            return self._load_memory_at(memory_id)
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
            self._idx_base = (state[0], state[2]) if clean and state else None
        change = Change()
        index = self._mindex
        # A current index knows which memories exist: a new one has no old version to read
        # (a migration's copy would try to open 50,000 files that are not there).
        known = index.entries if index is not None and index.generation == old else None
        for m in memories:
            before = None if known is not None and m.id not in known else self._old_version(m.id)
            if before is not None and _same_terms(before, m):
                continue  # token counts only: nothing the index holds changes
            change.put(before, m)
        for mid in deleted:
            before = self._old_version(mid)
            if before is not None:
                change.delete(before)
        self._idx_change.extend(change)
        if index is not None and index.generation == old:
            index.apply(change, old + 1)  # reads inside the transaction see the write
        else:
            self._mindex = None

    def _index_stage(self) -> tuple[int, int] | None:
        """Add the transaction's index change to its write set (called just before commit).

        Returns (start, end) generations when the delta has grown past ``DELTA_MAX``: the
        caller folds it into a new base once the commit is on disk (``_index_fold``).
        """
        start = self._idx_from
        if start is None or self._bulk:
            return None  # bulk_load: the index kept in memory is saved once, at its end
        end = int(self._state()["generation"])
        if not self._idx_valid or self._idx_base is None:
            return None  # the saved index was not the store's: a reader rebuilds it
        base, before = self._idx_base
        changes = before + len(self._idx_change)
        if changes > files.DELTA_MAX:
            return start, end
        record = {**self._idx_change.record(), "from": start, "to": end, "changes": changes}
        self._write(*files.delta_file(self.path, base, record))
        return None

    def _index_fold(self, start: int, end: int) -> None:
        """Fold the saved index and this commit's change into a new base (after the commit)."""
        change = self._idx_change
        index = self._mindex
        try:
            if index is None or index.generation != end:
                index = files.load(self.path, start)
                if index is None:
                    return  # stale already: the next reader rebuilds it
                index.apply(change, end)
            files.save(self.path, index)
        except OSError:
            # The records are committed; only their derived index could not be written (a full
            # disk): it stays behind the store, so the next reader rebuilds it.
            index = None
        self._mindex = index

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Many commits in a row (``transfer.copy_records``), the memory index saved once.

        Why: each commit staged a delta file, and past ``DELTA_MAX`` memories folded the whole
        index into a new base, so a 50,000-memory copy in chunks rewrote the index 25 times.
        Here the index is kept current in memory and saved at the end. Safe at any crash
        point: until that save the saved index is behind ``store.json``'s generation, so a
        reader rebuilds it from the memory files.
        """
        self._mindex = self._index()  # current, so every commit's change is applied to it
        self._bulk = True
        try:
            yield
        finally:
            self._bulk = False
        with self._locked(True):
            index = self._index()  # the one kept, or (a commit failed) rebuilt from the files
            if index.changes:
                # OSError (a full disk): the records are committed, only their derived index
                # stays behind, and the next reader rebuilds it.
                with contextlib.suppress(OSError):
                    files.save(self.path, index)

    # reads -----------------------------------------------------------------------------------

    def _index(self) -> MemoryIndex:
        """The memory index, current with the store (under a shared lock)."""
        with self._locked(False):
            generation = int(self._state()["generation"])
            index = self._mindex
            if index is not None and index.generation == generation:
                return index  # our own transaction's writes are in it already
            if self._idx_from is not None:
                # Inside a transaction whose writes our index missed: the saved one plus them.
                index = files.load(self.path, self._idx_from)
                if index is not None:
                    index.apply(self._idx_change, generation)
            elif index is None or not files.catch_up(self.path, index, generation):
                index = files.load(self.path, generation)
            if index is None:
                index = self._rebuilt(generation)
            self._mindex = index
            return index

    def _rebuilt(self, generation: int) -> MemoryIndex:
        ids = self._memory_ids()
        index = MemoryIndex.from_memories(map(self._load_memory_at, ids), generation)
        saved = False
        if self._idx_from is None:
            # Saved even under a shared lock: no writer runs, and a concurrent rebuild writes a
            # base of its own name (json_index_files), so the last manifest wins whole.
            with contextlib.suppress(OSError):  # a read-only copy of a store still reads
                files.save(self.path, index)
                saved = True
        if not saved:
            index.rebase(files.SHARDS, files.shard_of)
        return index

    def rebuild_index(self) -> int:
        """Rebuild the index from the memory files (after editing files by hand).

        Memories the index listed whose files are gone are dropped from it: this is the
        repair, run only when asked (``doctor --repair``).
        """
        with self._locked(True):
            index = self._rebuilt(int(self._state()["generation"]))
            self._mindex = index
            return index.count()

    def missing_memory_files(self) -> list[str]:
        """Ids the index lists whose memory file is gone (deleted by hand): damage."""
        with self._locked(False):
            listed = self._retrying(lambda index: list(index.entries))
            present = set(self._memory_ids())
            return sorted(mid for mid in listed if mid not in present)

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
                yield self._load_memory_at(mid)
            except FileNotFoundError:
                # The index lists it, so it existed at the last commit: deleted by hand.
                raise StoreCorruptError(
                    f"{self._memory_path(mid)} is missing although the store holds memory "
                    f"{mid}; restore the file, or run `smartcontext doctor --repair` to drop "
                    "it from the index"
                ) from None

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
