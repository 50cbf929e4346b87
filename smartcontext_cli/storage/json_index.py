"""The JSON backend's memory index: derived, rebuildable, and read only as far as a query needs.

Why: the JSON backend keeps one human-readable file per memory, and a new process used to parse
every file before it could list or search (8.5 s at 50,000 memories). With this index a read
costs what it returns: ``list`` parses the catalog and the listed files, ``search`` the catalog,
the postings of its terms and the winners' files.

The index lives in ``<ns>/index/`` and is never the truth: deleting it loses nothing, the next
reader rebuilds it from the memory files (``json_index_files`` reads and writes it):

* a *base*, written whole and never changed: ``catalog.json`` (every memory's id, creation
  time, kind, tags and length in terms, newest first: a memory's position is its number),
  ``terms.json`` (each term's document count; a memory's source is kept in the catalog too, for
  its neighbours in a conversation) and 256 ``postings/XX.json`` shards
  (``{term: [number, tf, number, tf, ...]}``, by CRC-32 of the term);
* ``delta/<generation>.json``: one file per committed change since the base (memories put
  and deleted, with their terms; document-count changes), committed through the journal with
  the memory files it describes; past ``DELTA_MAX`` memories the writer folds them into a new
  base;
* ``manifest.json``: which base, the store generation it covers, totals and SHA-256 of every
  base file (checked as each is read).

An index is used only if its version is current and it is whole and current: its delta files
must run without a gap from the base to ``store.json``'s generation and every file it reads must
match its checksum. Otherwise it is rebuilt from the memory files and saved. Hand edits do not
change the generation, so the index keeps listing what the last commit stored: a memory file
deleted by hand is reported as damage when read (and by ``doctor``); files added or edited by
hand are picked up by ``JSONStorage.rebuild_index()`` (``doctor --repair``).

Scores are FTS5's ``bm25()`` over the very terms every backend indexes, with the same
arithmetic in the same order, so the JSON backend ranks exactly as SQLite and PostgreSQL do.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from smartcontext_cli.models import Memory
from smartcontext_cli.text import document_terms

# FTS5's constants (fts5_aux.c); changing them would break parity with SQLite.
K1 = 1.2
B = 0.75

Entry = tuple[str, str, Sequence[str], int, str]  # created_at, kind, tags, length, source
# term -> [number, tf, number, tf, ...]: flat, since a list per posting costs 10x the memory and
# keeps the garbage collector busy with a million objects at 50,000 memories.
Postings = dict[str, list[int]]


def memory_terms(memory: Memory) -> list[str]:
    """The index terms of a memory (``text.document_terms``), as every backend indexes them."""
    return document_terms(memory.content, memory.tags, memory.kind, memory.created_at)


class Change:
    """What a commit does to the memories, in index terms, computed as each write is noted.

    Why as they come: an import notes 50,000 memories in batches, and tokenising them only at
    the commit left its progress bar at 100% for the longest step.
    """

    def __init__(self) -> None:
        # [id, created_at, kind, tags, length, {term: tf}, source]
        self.puts: list[list[Any]] = []
        self.deletes: list[str] = []
        self.df: Counter[str] = Counter()
        self.tokens = 0

    def __bool__(self) -> bool:
        return bool(self.puts or self.deletes)

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes)

    def put(self, old: Memory | None, new: Memory) -> None:
        """``new`` replaces ``old`` (None: a memory that did not exist)."""
        toks = memory_terms(new)
        tf = Counter(toks)
        self.df.update(tf.keys())
        self.tokens += len(toks)
        if old is not None:
            self._drop(old)
        self.puts.append(
            [new.id, new.created_at, new.kind, list(new.tags), len(toks), tf, new.source]
        )

    def delete(self, old: Memory) -> None:
        self._drop(old)
        self.deletes.append(old.id)

    def _drop(self, old: Memory) -> None:
        old_toks = memory_terms(old)
        self.df.subtract(set(old_toks))
        self.tokens -= len(old_toks)

    def extend(self, other: Change) -> None:
        self.puts += other.puts
        self.deletes += other.deletes
        self.df.update(other.df)
        self.tokens += other.tokens

    def record(self) -> dict[str, Any]:
        """The delta line's content (without generations): puts with terms, deletes, df moves."""
        return {
            "put": self.puts,
            "del": self.deletes,
            "df": {t: n for t, n in sorted(self.df.items()) if n},
            "tokens": self.tokens,
        }


class MemoryIndex:
    """A base (catalog, terms, postings shards read on demand) plus what changed since."""

    def __init__(
        self,
        generation: int = 0,
        base_ids: list[str] | None = None,
        entries: dict[str, Entry] | None = None,
        df: dict[str, int] | None = None,
        tokens: int = 0,
        shard_loader: Callable[[int], Postings] | None = None,
    ) -> None:
        self.generation = generation
        self.base_ids = base_ids or []  # number -> id, newest first
        self.entries = entries if entries is not None else {}
        self.df = df or {}
        self.tokens = tokens
        self.stale: set[str] = set()  # base memories whose base postings no longer hold
        self.fresh: dict[str, dict[str, int]] = {}  # id -> term counts, written since the base
        self.changes = 0  # memories put or deleted since the base
        self.base_name: str | None = None  # the saved base this index extends, if any
        self._load_shard = shard_loader
        self._shards: dict[int, Postings] = {}
        self._fresh_order: list[tuple[str, str]] = []  # (created_at, id) ascending
        self._vocab: list[str] | None = None
        self._sorted_ids: list[str] | None = None
        self._by_source: dict[str, list[tuple[str, str]]] | None = None  # (created_at, id)

    # building ---------------------------------------------------------------------------------

    @classmethod
    def from_memories(cls, memories: Iterable[Memory], generation: int) -> MemoryIndex:
        """A complete index of ``memories`` (a rebuild), all in memory, not yet rebased."""
        index = cls(generation=generation, shard_loader=lambda shard: {})
        change = Change()
        for memory in memories:
            change.put(None, memory)
        index.apply_record(change.record())
        return index

    def apply(self, change: Change, generation: int) -> None:
        self.apply_record(change.record())
        self.generation = generation

    def apply_record(self, record: dict[str, Any]) -> None:
        """Apply one delta line's content (``Change.record``)."""
        for mid in record["del"]:
            self._forget(mid)
        for mid, created, kind, tags, length, tf, source in record["put"]:
            self._forget(mid)
            self.entries[mid] = (created, kind, tuple(tags), length, source)
            self.fresh[mid] = tf
            insort(self._fresh_order, (created, mid))
        for term, n in record["df"].items():
            count = self.df.get(term, 0) + n
            if count > 0:
                if term not in self.df:
                    self._vocab = None
                self.df[term] = count
            elif term in self.df:
                del self.df[term]  # fts5vocab drops a term with the last row holding it
                self._vocab = None
        self.tokens += record["tokens"]
        self.changes += len(record["put"]) + len(record["del"])
        self._sorted_ids = None
        self._by_source = None

    def _forget(self, mid: str) -> None:
        entry = self.entries.pop(mid, None)
        if entry is None:
            return
        if mid in self.fresh:
            del self.fresh[mid]
            del self._fresh_order[bisect_left(self._fresh_order, (entry[0], mid))]
        else:
            self.stale.add(mid)

    def rebase(self, shards: int, shard_of: Callable[[str], int]) -> list[Postings]:
        """Fold what changed since the base into a new base (in memory); returns its shards.

        Numbers follow the newest-first order again, and nothing is stale or fresh after.
        """
        for shard in range(shards):
            self._shard(shard)
        order = list(self.newest_first())
        number = {mid: i for i, mid in enumerate(order)}
        by_term: dict[str, list[int]] = {}
        base_ids, stale = self.base_ids, self.stale
        for postings in self._shards.values():
            for term, plist in postings.items():
                kept: list[int] = []
                for old, tf in zip(plist[::2], plist[1::2], strict=True):
                    mid = base_ids[old]
                    if mid not in stale:
                        kept += (number[mid], tf)
                if kept:
                    by_term[term] = kept
        mixed: set[str] = set()  # terms whose list mixes old and new numbers: sorted below
        fresh = self.fresh
        for n, mid in enumerate(order):
            tfs = fresh.get(mid)
            if tfs is None:
                continue
            for term, tf in tfs.items():
                existing = by_term.get(term)
                if existing is None:
                    by_term[term] = [n, tf]
                else:
                    if existing[-2] > n:
                        mixed.add(term)
                    existing += (n, tf)
        new: list[Postings] = [{} for _ in range(shards)]
        for term, plist in by_term.items():
            if term in mixed:
                ordered = sorted(zip(plist[::2], plist[1::2], strict=True))
                plist = [x for pair in ordered for x in pair]
            new[shard_of(term)][term] = plist  # once per term, not per posting
        self.base_ids = order
        self._shards = dict(enumerate(new))
        self._load_shard = None
        self.stale.clear()
        self.fresh.clear()
        self._fresh_order.clear()
        self.changes = 0
        return new

    def catalog(self) -> dict[str, list[Any]]:
        """The base's memories newest first, as columns (they parse faster than rows)."""
        rows = [self.entries[mid] for mid in self.base_ids]
        return {
            "ids": self.base_ids,
            "created_at": [r[0] for r in rows],
            "kinds": [r[1] for r in rows],
            "tags": [list(r[2]) for r in rows],
            "lengths": [r[3] for r in rows],
            "sources": [r[4] for r in rows],
        }

    # reads -----------------------------------------------------------------------------------

    def count(self) -> int:
        return len(self.entries)

    def stats(self) -> tuple[int, float]:
        n = len(self.entries)
        return n, (self.tokens / n if n else 0.0)

    def doc_freq(self, term: str) -> int:
        return self.df.get(term, 0)

    def vocabulary(self, first_char: str) -> list[str]:
        if self._vocab is None:
            self._vocab = sorted(self.df)
        vocab = self._vocab
        return vocab[bisect_left(vocab, first_char) : bisect_left(vocab, first_char + "\uffff")]

    def sorted_ids(self) -> list[str]:
        if self._sorted_ids is None:
            self._sorted_ids = sorted(self.entries)
        return self._sorted_ids

    def adjacent(self, memories: Sequence[Memory]) -> dict[str, tuple[str | None, str | None]]:
        """Each memory's previous and next id of the same source, by (created_at, id)."""
        if self._by_source is None:
            # Built once per index state: a write drops it, the next search rebuilds it.
            by_source: dict[str, list[tuple[str, str]]] = {}
            for mid, entry in self.entries.items():
                by_source.setdefault(entry[4], []).append((entry[0], mid))
            for thread in by_source.values():
                thread.sort()
            self._by_source = by_source
        out: dict[str, tuple[str | None, str | None]] = {}
        for m in memories:
            thread = self._by_source.get(m.source, [])
            key = (m.created_at, m.id)
            i = bisect_left(thread, key)
            prev = thread[i - 1][1] if i > 0 else None
            j = i + 1 if i < len(thread) and thread[i] == key else i
            nxt = thread[j][1] if j < len(thread) else None
            out[m.id] = (prev, nxt)
        return out

    def newest_first(self) -> Iterator[str]:
        """Every id, newest first (created_at, then id, descending), as SQL's ORDER BY does."""
        base = (mid for mid in self.base_ids if mid not in self.stale)
        fresh = reversed(self._fresh_order)
        b, f = next(base, None), next(fresh, None)
        while b is not None or f is not None:
            if f is None or (b is not None and (self.entries[b][0], b) > f):
                yield b  # type: ignore[misc]
                b = next(base, None)
            else:
                yield f[1]
                f = next(fresh, None)

    def matches(self, mid: str, tags: Sequence[str], kind: str | None) -> bool:
        # As SQLiteStorage._filters: every tag present; an empty kind filters nothing.
        _, mkind, mtags, _, _ = self.entries[mid]
        return all(t in mtags for t in tags) and (not kind or mkind == kind)

    def listed(
        self, limit: int | None, offset: int, tags: Sequence[str], kind: str | None
    ) -> list[str]:
        chosen = (m for m in self.newest_first() if self.matches(m, tags, kind))
        start = max(offset, 0)
        out: list[str] = []
        for i, mid in enumerate(chosen):
            if limit is not None and limit >= 0 and len(out) >= limit:
                break
            if i >= start:
                out.append(mid)
        return out

    def _shard(self, shard: int) -> Postings:
        found = self._shards.get(shard)
        if found is None:
            found = self._load_shard(shard) if self._load_shard else {}
            self._shards[shard] = found
        return found

    def term_counts(self, term: str, shard: int) -> Iterator[tuple[str, int]]:
        """(id, tf) of every memory holding ``term``: the base's postings, then the fresh."""
        base_ids, stale = self.base_ids, self.stale
        flat = self._shard(shard).get(term, [])
        for number, tf in zip(flat[::2], flat[1::2], strict=True):
            mid = base_ids[number]
            if mid not in stale:
                yield mid, tf
        for mid, tfs in self.fresh.items():
            count = tfs.get(term)
            if count:
                yield mid, count

    def bm25(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str],
        kind: str | None,
        shard_of: Callable[[str], int],
    ) -> list[tuple[str, float]]:
        """The ``limit`` best (id, score), scored exactly as fts5_aux.c's fts5Bm25Function.

        Why the arithmetic is spelled as in C: same operations in the same order give the same
        doubles, so exact ties stay ties and fall back to the same tie-break as SQL.
        """
        n_rows = len(self.entries)
        if not n_rows or limit <= 0:
            return []
        avgdl = self.tokens / n_rows
        idfs = []
        # One IDF per query phrase, duplicates included: FTS5 scores "a OR a" twice.
        for term in query_terms:
            hits = self.df.get(term, 0)
            idf = math.log((n_rows - hits + 0.5) / (hits + 0.5))
            idfs.append(1e-6 if idf <= 0.0 else idf)
        freqs: dict[str, dict[str, int]] = {}
        for term in dict.fromkeys(query_terms):
            for mid, tf in self.term_counts(term, shard_of(term)):
                freqs.setdefault(mid, {})[term] = tf
        entries = self.entries
        scored: list[tuple[float, str]] = []
        for mid, counts in freqs.items():
            if (tags or kind) and not self.matches(mid, tags, kind):
                continue
            dl = float(entries[mid][3])
            score = 0.0
            for term, idf in zip(query_terms, idfs, strict=True):
                f = float(counts.get(term, 0))
                score += idf * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + B * dl / avgdl)))
            scored.append((score, mid))
        if len(scored) > limit:
            # Everything scoring below the limit-th best is out; ties with it are sorted below.
            cut = heapq.nlargest(limit, scored)[-1][0]
            scored = [hit for hit in scored if hit[0] >= cut]
        # ORDER BY bm25 (negated score), created_at DESC, id: stable sorts, last key first.
        scored.sort(key=lambda hit: hit[1])
        scored.sort(key=lambda hit: entries[hit[1]][0], reverse=True)
        scored.sort(key=lambda hit: hit[0], reverse=True)
        return [(mid, score) for score, mid in scored[:limit]]
