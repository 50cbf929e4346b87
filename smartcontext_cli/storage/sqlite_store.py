"""SQLite backend, the default: one ``store.db`` per namespace.

Guarantees: WAL journal and a busy timeout, so concurrent processes queue instead of failing or
losing writes; every public write runs in one ``BEGIN IMMEDIATE`` transaction; an FTS5 index over
pre-stemmed terms (see ``text.py``) kept in sync by triggers; a schema version with named,
ordered migrations recorded in the store; the file is private to the user (0600).

Damage is named, never reset (``sqlite_checks``): a new store is built under a temporary name
and linked into place complete, so a 0-byte or header-less ``store.db`` is never ours to
re-initialise; opening checks the header, the length and the commit sequence (lost WAL commits);
any SQLite error a damaged file raises later becomes one ``StoreCorruptError`` naming the file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from smartcontext_cli.errors import SmartContextError, StoreCorruptError, UsageError
from smartcontext_cli.files import private_dirs
from smartcontext_cli.models import MEMORY_FIELDS, Memory
from smartcontext_cli.text import document_terms

from .base import SCHEMA_VERSION, check_not_moved, counter_exhausted
from .events import is_event_collection
from .sqlite_checks import (
    MEMORIES_KEY,
    SEQ_KEY,
    check_commits_read_only,
    check_file,
    commit_path,
    db_commit,
    lost_commits,
    read_commit,
    wal_path,
    write_commit,
)
from .sqlite_events import SQLiteEventsMixin, index_event, unindex_events
from .sqlite_migrations import MIGRATIONS
from .sqlite_pool import approximate, candidate_rowids
from .sqlite_ranking import (
    CELL_SHIFT,
    DECOMPOSE_MAX_TERMS,
    DECOMPOSE_POSTINGS,
    RARE_FRACTION,
    STOP_STEMS,
    IndexDamage,
    cell_of,
    fts_query,
    idf,
    index_totals,
    top_k,
    top_k_common,
    top_k_split,
)
from .transfer import TransferMixin

_COLUMNS = ", ".join(MEMORY_FIELDS)
_COUNTS_CACHE = 20_000
MMAP_BYTES = 1 << 30  # address space only; pages are read on demand and shared with the OS
_SELECT = f"SELECT {_COLUMNS} FROM memories"
_SELECT_ROWID = f"SELECT {_COLUMNS}, rowid FROM memories"
_SELECT_TERMS = f"SELECT {_COLUMNS}, terms FROM memories"
_SELECT_TERMS_ROWID = f"SELECT {_COLUMNS}, terms, rowid FROM memories"
_PREV_IN_SOURCE = (
    "SELECT id FROM memories WHERE source = ? AND (created_at, id) < (?, ?) "
    "ORDER BY created_at DESC, id DESC LIMIT 1"
)
_NEXT_IN_SOURCE = (
    "SELECT id FROM memories WHERE source = ? AND (created_at, id) > (?, ?) "
    "ORDER BY created_at, id LIMIT 1"
)


def memory_terms(memory: Memory) -> list[str]:
    """A memory's index terms (``text.document_terms``): the same on every backend."""
    return document_terms(memory.content, memory.tags, memory.kind, memory.created_at)


def index_terms(memory: Memory) -> str:
    return " ".join(memory_terms(memory))


def _row_to_memory(row: Sequence[Any]) -> Memory:
    data = dict(zip(MEMORY_FIELDS, row, strict=True))
    data["tags"] = json.loads(data["tags"])
    return Memory(**data)


# Why a prebuilt encoder: ``json.dumps`` with any non-default option builds a new encoder per
# call, which was a sixth of the time of an import's row building. Same output as dumps.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


def _memory_row(m: Memory, terms: str | None = None) -> tuple[Any, ...]:
    return (
        m.id,
        m.content,
        _encode_json(m.tags) if m.tags else "[]",
        m.kind,
        m.source,
        m.importance,
        m.created_at,
        m.updated_at,
        m.token_count,
        m.token_encoding,
        index_terms(m) if terms is None else terms,
    )


def sql_limit(n: int | None) -> int:
    """A LIMIT or OFFSET SQLite can bind: None and anything past 64 bits mean "all" (-1).

    Why: the protocol takes any int, as the JSON backend does; binding 10**30 raised an
    OverflowError from deep inside a compile (found by the fuzz campaign).
    """
    if n is None or n > 2**62:
        return -1
    return max(n, -1)


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    """Slices small enough for one statement's bound parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _configure(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    # Why: reads through a memory map skip copying pages into SQLite's own cache, which
    # a fresh CLI process starts empty; search on a 1M store reads tens of MB of index.
    db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    db.execute("PRAGMA cache_size = -16000")  # KiB: 16 MB, for writers' b-trees


def _apply_migrations(db: sqlite3.Connection) -> None:
    """Run the migrations not yet recorded (inside the caller's transaction)."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {r[0] for r in db.execute("SELECT name FROM migrations")}
    for name, fn in MIGRATIONS:
        if name not in done:
            fn(db)
            db.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def _create(path: Path) -> None:
    """Build a new, fully migrated store under a temporary name and link it into place.

    Why: a store that exists is then always a whole database, so an empty or header-less
    ``store.db`` is damage to report, never a new store to initialise. ``link`` rather than
    ``rename``: when two processes create the same store at once, the first one wins and the
    second opens it, instead of replacing it (and whatever was written to it meanwhile).
    """
    tmp = path.with_name(f".{path.name}.new-{os.urandom(6).hex()}")  # uuid: ~5 ms of imports
    # Created private before SQLite writes anything into it.
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            # Only takes effect on a new, empty file (before WAL writes the header). Why 16 KiB:
            # rows of a few hundred bytes and FTS5 blobs pack better; bulk inserts ~8% faster.
            db.execute("PRAGMA page_size = 16384")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("BEGIN IMMEDIATE")
            _apply_migrations(db)
            db.execute("COMMIT")
        finally:
            db.close()  # checkpoints: the file alone now holds everything
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
    finally:
        for leftover in (tmp, wal_path(tmp), tmp.with_name(tmp.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def named_error(path: Path, exc: BaseException) -> BaseException:
    """The one clear error for an SQLite failure on ``path`` (bugs pass through as they are)."""
    if isinstance(exc, IndexDamage):
        return StoreCorruptError(
            f"the search index of {path} disagrees with its memories ({exc}); "
            "run `smartcontext doctor --repair` to rebuild it"
        )
    if isinstance(exc, json.JSONDecodeError):
        return StoreCorruptError(
            f"a record in {path} is damaged (not JSON: {exc}); run `smartcontext doctor`"
        )
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return exc
    message = str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in message or "busy" in message:
            return SmartContextError(f"{path} is busy (another process holds it): {message}")
        if "full" in message or "readonly" in message or "disk I/O" in message:
            return SmartContextError(f"cannot write {path}: {message}")
        return StoreCorruptError(f"cannot use {path}: {message}; run `smartcontext doctor`")
    return StoreCorruptError(f"{path} is damaged: {message}; run `smartcontext doctor`")


class SQLiteStorage(SQLiteEventsMixin, TransferMixin):
    backend = "sqlite"

    def __init__(self, target: Path | Any) -> None:
        # The spec passes a StorageConfig; internally we pass the file path.
        path = target if isinstance(target, Path) else target.directory / "store.db"
        self.path = path
        self._depth = 0
        # Term counts by the stored terms text. Why keyed by the text: it is read anyway,
        # hashing it costs far less than counting it, and a changed memory has new text.
        self._counts: dict[str, Counter[str]] = {}
        private_dirs(path.parent)
        if not path.exists():
            left = [p.name for p in (wal_path(path), commit_path(path)) if p.exists()]
            if left:
                raise StoreCorruptError(
                    f"{path} is missing although {' and '.join(left)} beside it remain; "
                    "nothing was changed: restore it, or run `smartcontext doctor`"
                )
            _create(path)
        else:
            check_file(path)
        self._inode = os.stat(path).st_ino
        expected = read_commit(path)
        check_commits_read_only(path, expected)
        try:
            self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptError(f"cannot open {path}: {exc}") from None
        try:
            _configure(self.db)
            lost = lost_commits(path, expected, db_commit(self.db))
            if lost is not None:
                raise lost
            if not self._up_to_date():
                self._migrate()
        except BaseException as exc:
            self.db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreCorruptError(f"cannot open {path}: {exc}") from None
            raise

    # lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise named_error(self.path, exc) from None
        try:
            check_not_moved(self.path, self._inode)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._depth = 1
        start = self.db.total_changes
        seq = None
        try:
            yield
            if self.db.total_changes != start:
                # The commit sequence (sqlite_checks): one more committed write transaction.
                self.db.execute(
                    "INSERT INTO meta VALUES (?, '1') "
                    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                    (SEQ_KEY,),
                )
                seq = db_commit(self.db)
            self._depth = 0
            self.db.execute("COMMIT")
        except BaseException as exc:
            self._depth = 0
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            if isinstance(exc, (sqlite3.DatabaseError, IndexDamage, json.JSONDecodeError)):
                raise named_error(self.path, exc) from None
            raise
        if seq is not None:
            # Best effort: a record that lags the database is allowed (see sqlite_checks).
            with contextlib.suppress(OSError):
                write_commit(self.path, seq)

    def _up_to_date(self) -> bool:
        """True when every migration is recorded: then opening writes nothing.

        Why check before ``_migrate``: its ``BEGIN IMMEDIATE`` takes the write lock, so every
        read-only command (search, list) queued behind writers and wrote the WAL.
        """
        try:
            done = {r[0] for r in self.db.execute("SELECT name FROM migrations")}
            version = self.db.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        except sqlite3.OperationalError:  # a new file: no tables yet
            return False
        if version and str(version[0]).isdigit() and int(version[0]) > SCHEMA_VERSION:
            # Why refuse: migrating would write our older version over the newer one's.
            raise SmartContextError(
                f"{self.path} has schema version {version[0]}, newer than this smartcontext "
                f"supports ({SCHEMA_VERSION}); upgrade smartcontext"
            )
        return done >= {name for name, _ in MIGRATIONS} and version == (str(SCHEMA_VERSION),)

    def _migrate(self) -> None:
        with self.transaction():
            _apply_migrations(self.db)

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM migrations ORDER BY name")]

    # memories --------------------------------------------------------------------------------

    def add_memories(self, memories: Sequence[Memory]) -> None:
        if not memories:
            return
        rows: list[tuple[Any, ...]] = []
        cells: list[int] = []
        counts: Counter[str] = Counter()
        for m in memories:
            toks = memory_terms(m)
            per_term = Counter(toks)
            counts.update(per_term.keys())
            cells.append(cell_of(per_term, len(toks)))
            rows.append(_memory_row(m, " ".join(toks)))
        with self.transaction():
            self._reject_existing([m.id for m in memories])
            # Each memory gets the next rowid of its impact cell (see sqlite_ranking).
            next_rowid: dict[int, int] = {}
            for cell in set(cells):
                low = cell << CELL_SHIFT
                top = self.db.execute(
                    "SELECT max(rowid) FROM memories WHERE rowid >= ? AND rowid < ?",
                    (low, low + (1 << CELL_SHIFT)),
                ).fetchone()[0]
                next_rowid[cell] = low if top is None else top + 1
            keyed = []
            for cell, row in zip(cells, rows, strict=True):
                keyed.append((next_rowid[cell], *row))
                next_rowid[cell] += 1
            self.db.executemany(
                f"INSERT INTO memories (rowid, {_COLUMNS}, terms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                keyed,
            )
            # In rowid order: FTS5 flushes its pending terms to a new segment whenever a rowid
            # is not above the previous one, which made unordered inserts several times slower.
            self.db.executemany(
                "INSERT INTO memories_fts(rowid, terms) VALUES (?, ?)",
                sorted((k[0], k[-1]) for k in keyed),
            )
            self._add_term_counts(counts, +1)
            self.memories_changed()

    def memories_changed(self) -> None:
        """Announce a change to the memories (or to their index) in the current transaction.

        Why a counter of its own and not the commit sequence: every compile and session event
        commits, but only these writes can change what a search returns, so a long-running
        process can keep a search's results while this counter stands (``search_memo``).
        """
        self.db.execute(
            "INSERT INTO meta VALUES (?, '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (MEMORIES_KEY,),
        )

    def memories_generation(self) -> str:
        """A value that changes with every committed change to the memories, in any process."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (MEMORIES_KEY,)).fetchone()
        return f"sqlite:{self._inode}:{row[0] if row else 0}"

    def _reject_existing(self, ids: list[str]) -> None:
        """One clear error for an id already stored (or repeated), before anything is written."""
        seen: set[str] = set()
        for memory_id in ids:
            if memory_id in seen:
                raise UsageError(f"memory {memory_id} already exists")
            seen.add(memory_id)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            row = self.db.execute(
                f"SELECT id FROM memories WHERE id IN ({','.join('?' * len(part))}) LIMIT 1", part
            ).fetchone()
            if row:
                raise UsageError(f"memory {row[0]} already exists")

    def _count_terms(self, term_texts: Iterable[str], sign: int) -> None:
        """Add (+1) or remove (-1) documents from the per-term document counts."""
        counts: Counter[str] = Counter()
        for text in term_texts:
            counts.update(set(text.split(" ")) if text else ())
        self._add_term_counts(counts, sign)

    def _add_term_counts(self, counts: Counter[str], sign: int) -> None:
        self.db.executemany(
            "INSERT INTO memories_terms VALUES (?, ?) "
            "ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs",
            [(term, sign * n) for term, n in counts.items()],
        )
        if sign < 0:
            self.db.executemany(
                "DELETE FROM memories_terms WHERE term = ? AND docs <= 0",
                [(term,) for term in counts],
            )

    def upsert_memories(self, memories: Sequence[Memory]) -> None:
        with self.transaction():
            # Why look before deleting: an import into a new namespace replaces nothing, and a
            # read is cheaper than a DELETE statement (which also runs the FTS delete trigger).
            ids = [m.id for m in memories]
            existing: list[str] = []
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                existing += [
                    r[0]
                    for r in self.db.execute(
                        f"SELECT id FROM memories WHERE id IN ({','.join('?' * len(part))})", part
                    )
                ]
            if existing:
                self.delete_memories(existing)
            self.add_memories(memories)

    def get_memory(self, memory_id: str) -> Memory | None:
        row = self.db.execute(f"{_SELECT} WHERE id = ?", (memory_id,)).fetchone()
        return _row_to_memory(row) if row else None

    def find_memory_ids(self, prefix: str, limit: int = 10) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM memories WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (prefix, prefix + "\uffff", sql_limit(limit)),
        )
        return [r[0] for r in rows]

    def update_memory(self, memory: Memory) -> None:
        # Why delete and add: the new text may belong to another impact cell, and the rowid
        # must say which (sqlite_ranking); an unknown id stays a no-op, as an UPDATE was.
        with self.transaction():
            if self.delete_memories([memory.id]):
                self.add_memories([memory])

    def delete_memories(self, ids: Iterable[str]) -> int:
        with self.transaction():
            doomed: list[tuple[int, str]] = []
            for part in _chunks(list(ids)):
                marks = ",".join("?" * len(part))
                sql = f"SELECT rowid, terms FROM memories WHERE id IN ({marks})"
                doomed += self.db.execute(sql, part).fetchall()
            if not doomed:
                return 0
            # Un-index explicitly, in rowid order, then delete: a per-row trigger ran each
            # FTS5 delete in its own savepoint, flushing a segment per row (m006).
            doomed.sort()
            self._count_terms([terms for _, terms in doomed], -1)
            self.db.executemany(
                "INSERT INTO memories_fts(memories_fts, rowid, terms) VALUES ('delete', ?, ?)",
                doomed,
            )
            for part in _chunks([rowid for rowid, _ in doomed]):
                marks = ",".join("?" * len(part))
                self.db.execute(f"DELETE FROM memories WHERE rowid IN ({marks})", part)
            self.memories_changed()
        return len(doomed)

    @staticmethod
    def _filters(tags: Sequence[str], kind: str | None, alias: str = "") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for tag in tags:
            clauses.append(f"EXISTS (SELECT 1 FROM json_each({alias}tags) WHERE value = ?)")
            params.append(tag)
        if kind:
            clauses.append(f"{alias}kind = ?")
            params.append(kind)
        return " AND ".join(clauses), params

    def list_memories(
        self,
        limit: int | None = None,
        offset: int = 0,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[Memory]:
        where, params = self._filters(tags, kind)
        sql = _SELECT + (f" WHERE {where}" if where else "")
        sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
        rows = self.db.execute(sql, [*params, sql_limit(limit), max(0, min(offset, 2**62))])
        return [_row_to_memory(r) for r in rows]

    def iter_memories(self) -> Iterator[Memory]:
        for row in self.db.execute(_SELECT + " ORDER BY created_at, id"):
            yield _row_to_memory(row)

    def count_memories(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM memories").fetchone()[0])

    def bm25(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> list[tuple[Memory, float]]:
        if not query_terms or limit <= 0:
            return []
        match = fts_query(query_terms)
        if tags or kind:
            return self._bm25_filtered(match, limit, tags, kind)
        # Why rank inside FTS5 first: joining every matching row to ``memories`` before the
        # ORDER BY cost more than the ranking itself. Matches are read best cell first and the
        # read stops once no later memory can reach the k-th best (sqlite_ranking.top_k);
        # only the winners, with every tie at the cut, are joined.
        return self._ordered_hits(self._ranked(query_terms, limit, match), limit)

    def _ranked(
        self, query_terms: Sequence[str], limit: int, match: str
    ) -> list[tuple[int, float]]:
        """(rowid, bm25) of the exact top ``limit`` and every tie at the cut (unsorted)."""
        n_rows, avgdl = index_totals(self.db)
        live = [(term, n) for term in query_terms if (n := self.doc_freq(term))]
        if any(term in STOP_STEMS for term, _ in live):
            # Impact cells ignore stopwords: a query holding one reads every match.
            ranked = top_k(self.db, match, limit, None, avgdl)
        else:
            weighted = [(term, idf(n_rows, n)) for term, n in live]
            rare = {term for term, n in live if n <= n_rows * RARE_FRACTION}
            common_postings = sum(n for term, n in live if term not in rare)
            distinct = len(set(query_terms)) == len(query_terms)
            if distinct and 0 < len(rare) < len(live):
                ranked = top_k_split(self.db, limit, weighted, rare, avgdl, common_postings)
            elif (
                distinct
                and 2 <= len(live) <= DECOMPOSE_MAX_TERMS
                and common_postings >= DECOMPOSE_POSTINGS
            ):
                ranked = top_k_common(self.db, limit, weighted, avgdl)
            else:
                ranked = top_k(self.db, match, limit, sum(w for _, w in weighted), avgdl)
        return ranked

    def candidates(
        self,
        query_terms: Sequence[str],
        limit: int,
        tags: Sequence[str] = (),
        kind: str | None = None,
    ) -> dict[str, tuple[Memory, Counter[str]]]:
        # Exact where that is cheap; bounded reads where it is not (sqlite_pool).
        if not query_terms or limit <= 0:
            return {}
        terms = list(dict.fromkeys(query_terms))
        if tags or kind:
            hits = self._bm25_filtered(fts_query(terms), limit, tags, kind)
            return self.indexed([m.id for m, _ in hits])
        n_rows, avgdl = index_totals(self.db)
        live = [(term, n) for term in terms if (n := self.doc_freq(term))]
        if approximate(live, any(term in STOP_STEMS for term, _ in live)):
            weighted = [(term, idf(n_rows, n)) for term, n in live]
            ranked = candidate_rowids(self.db, weighted, limit, avgdl)
        else:
            ranked = self._ranked(terms, limit, fts_query(terms))
        best = [rowid for rowid, _ in self._winners(ranked, limit)]
        out: dict[str, tuple[Memory, Counter[str]]] = {}
        if best:
            marks = ",".join("?" * len(best))
            rows = self.db.execute(f"{_SELECT_TERMS_ROWID} WHERE rowid IN ({marks})", best)
            by_rowid = {row[-1]: row[:-1] for row in rows}
            for rowid in best:
                if rowid in by_rowid:
                    memory, counts = self._with_counts(by_rowid[rowid])
                    out[memory.id] = (memory, counts)
        return out

    def _winners(self, ranked: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
        """The best ``limit`` (rowid, bm25) hits, ordered ``bm25, created_at DESC, id``.

        Why a read of its own: a tie group at the cut can hold thousands of rows; ordering
        them needs only ``created_at`` and ``id``, so whole rows are read for the winners alone.
        """
        keys: dict[int, tuple[str, str]] = {}
        for part in _chunks([rowid for rowid, _ in ranked]):
            marks = ",".join("?" * len(part))
            sql = f"SELECT rowid, created_at, id FROM memories WHERE rowid IN ({marks})"
            for rowid, created, mid in self.db.execute(sql, part):
                keys[rowid] = (created, mid)
        hits = [(rowid, r, *keys[rowid]) for rowid, r in ranked if rowid in keys]
        # Stable sorts, last key first; text compares by code point, as SQLite's BINARY does.
        hits.sort(key=lambda hit: hit[3])
        hits.sort(key=lambda hit: hit[2], reverse=True)
        hits.sort(key=lambda hit: hit[1])
        return [(rowid, r) for rowid, r, _, _ in hits[:limit]]

    def _ordered_hits(
        self, ranked: list[tuple[int, float]], limit: int
    ) -> list[tuple[Memory, float]]:
        """The best ``limit`` (rowid, bm25) hits as memories, ``bm25, created_at DESC, id``."""
        best = self._winners(ranked, limit)
        if not best:
            return []
        marks = ",".join("?" * len(best))
        rows = self.db.execute(f"{_SELECT_ROWID} WHERE rowid IN ({marks})", [h[0] for h in best])
        by_rowid = {row[-1]: _row_to_memory(row[:-1]) for row in rows}
        return [(by_rowid[rowid], -float(r)) for rowid, r in best if rowid in by_rowid]

    def _bm25_filtered(
        self, match: str, limit: int, tags: Sequence[str], kind: str | None
    ) -> list[tuple[Memory, float]]:
        # With filters the best rows may lie deep in the ranking, so filter in the join.
        where, params = self._filters(tags, kind, alias="m.")
        cols = ", ".join("m." + c for c in MEMORY_FIELDS)
        sql = (
            f"SELECT {cols}, bm25(memories_fts) AS r FROM memories_fts "
            "JOIN memories m ON m.rowid = memories_fts.rowid WHERE memories_fts MATCH ?"
            f" AND {where} ORDER BY r, m.created_at DESC, m.id LIMIT ?"
        )
        rows = self.db.execute(sql, [match, *params, sql_limit(limit)])
        return [(_row_to_memory(r[:-1]), -float(r[-1])) for r in rows]

    def index_stats(self) -> tuple[int, float]:
        return index_totals(self.db)

    def doc_freq(self, term: str) -> int:
        row = self.db.execute("SELECT docs FROM memories_terms WHERE term = ?", (term,)).fetchone()
        return int(row[0]) if row else 0

    def vocabulary(self, first_char: str) -> list[str]:
        rows = self.db.execute(
            "SELECT term FROM memories_terms WHERE term >= ? AND term < ?",
            (first_char, first_char + "\uffff"),
        )
        return [r[0] for r in rows]

    def indexed(self, ids: Sequence[str]) -> dict[str, tuple[Memory, Counter[str]]]:
        out: dict[str, tuple[Memory, Counter[str]]] = {}
        for part in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"{_SELECT_TERMS} WHERE id IN ({marks})", part):
                memory, counts = self._with_counts(row)
                out[memory.id] = (memory, counts)
        return out

    def _with_counts(self, row: Sequence[Any]) -> tuple[Memory, Counter[str]]:
        """A memory row with its stored terms last, as (memory, term counts), counts cached."""
        text = row[-1]
        counts = self._counts.get(text)
        if counts is None:
            if len(self._counts) >= _COUNTS_CACHE:
                self._counts.clear()
            counts = self._counts[text] = Counter(text.split(" ")) if text else Counter()
        return _row_to_memory(row[:-1]), counts

    def adjacent(self, memories: Sequence[Memory]) -> dict[str, tuple[str | None, str | None]]:
        # Both reads walk the (source, created_at, id) index of m008 one step.
        out: dict[str, tuple[str | None, str | None]] = {}
        for m in memories:
            key = (m.source, m.created_at, m.id)
            prev = self.db.execute(_PREV_IN_SOURCE, key).fetchone()
            nxt = self.db.execute(_NEXT_IN_SOURCE, key).fetchone()
            out[m.id] = (prev[0] if prev else None, nxt[0] if nxt else None)
        return out

    def set_token_counts(self, counts: dict[str, tuple[str, int]]) -> None:
        with self.transaction():
            self.db.executemany(
                "UPDATE memories SET token_encoding = ?, token_count = ? WHERE id = ?",
                [(enc, n, mid) for mid, (enc, n) in counts.items()],
            )

    # documents -------------------------------------------------------------------------------

    def get_doc(self, collection: str, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT data FROM docs WHERE collection = ? AND key = ?", (collection, key)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_doc(self, collection: str, key: str, data: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO docs VALUES (?, ?, ?)",
                (collection, key, json.dumps(data, ensure_ascii=False, sort_keys=True)),
            )
            if is_event_collection(collection):
                index_event(self.db, collection, key, data)

    def delete_doc(self, collection: str, key: str) -> bool:
        with self.transaction():
            cur = self.db.execute(
                "DELETE FROM docs WHERE collection = ? AND key = ?", (collection, key)
            )
            if cur.rowcount and is_event_collection(collection):
                unindex_events(self.db, collection, [key])
        return cur.rowcount > 0

    def list_docs(
        self,
        collection: str,
        start: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[tuple[str, dict[str, Any]]]:
        sql = "SELECT key, data FROM docs WHERE collection = ?"
        params: list[Any] = [collection]
        if start is not None:
            sql += " AND key >= ?"
            params.append(start)
        sql += " ORDER BY key" + (" DESC" if reverse else "") + " LIMIT ?"
        params.append(sql_limit(limit))
        return [(k, json.loads(d)) for k, d in self.db.execute(sql, params)]

    def doc_texts(self, collection: str) -> Iterator[tuple[str, str]]:
        """The collection's documents as their stored JSON text, in key order, for a verbatim
        copy (backups) that need not parse and re-encode every document. SQLite's own
        ``json_valid`` vouches for each text. A text it refuses is parsed as a read would:
        Python's JSON also takes ``Infinity``, and gets its canonical text; one that is no JSON
        at all is named."""
        rows = self.db.execute(
            "SELECT key, data, json_valid(data) FROM docs WHERE collection = ? ORDER BY key",
            (collection,),
        )
        for key, text, valid in rows:
            if not valid:
                try:
                    text = json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
                except (ValueError, TypeError):
                    raise StoreCorruptError(
                        f"record {collection}/{key} of {self.path} is damaged: it is not valid "
                        "JSON; fix or remove it, or run `smartcontext doctor`"
                    ) from None
            yield key, text

    def collections(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT collection FROM docs ORDER BY 1")]

    def count_docs(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def delete_collection(self, collection: str) -> int:
        with self.transaction():
            cur = self.db.execute("DELETE FROM docs WHERE collection = ?", (collection,))
            if is_event_collection(collection):
                unindex_events(self.db, collection, None)
        return cur.rowcount

    # counters and metadata -------------------------------------------------------------------

    def next_counter(self, name: str) -> int:
        with self.transaction():
            self.db.execute(
                "INSERT INTO counters VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            value = self.db.execute(
                "SELECT value FROM counters WHERE name = ?", (name,)
            ).fetchone()[0]
            if not isinstance(value, int):  # SQLite made 2^63-1 + 1 a REAL: roll back
                raise counter_exhausted(name)
            return value

    def get_counters(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, value FROM counters ORDER BY name").fetchall())

    def set_counter(self, name: str, value: int) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?)", (name, value))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


T = TypeVar("T")


# inspect.CO_GENERATOR, without importing inspect (ast, dis, tokenize: ~10 ms of start-up).
_CO_GENERATOR = 0x20


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    caught = (sqlite3.DatabaseError, IndexDamage, json.JSONDecodeError)
    if fn.__code__.co_flags & _CO_GENERATOR:

        @functools.wraps(fn)
        def generator(self: SQLiteStorage, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(self, *args, **kwargs)
            except caught as exc:
                raise named_error(self.path, exc) from None

        return generator

    @functools.wraps(fn)
    def call(self: SQLiteStorage, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except caught as exc:
            raise named_error(self.path, exc) from None

    return call


def _name_errors(cls: type[T]) -> type[T]:
    """Every public method: an SQLite error from a damaged file names the file, in one line."""
    seen: set[str] = set()
    for klass in cls.__mro__[:-1]:  # its own methods and its mixins' (event search), not object's
        for name, fn in list(vars(klass).items()):
            public = not name.startswith("_") and name not in ("close", "transaction")
            if public and isinstance(fn, types.FunctionType) and name not in seen:
                seen.add(name)
                setattr(cls, name, _guarded(fn))
    return cls


_name_errors(SQLiteStorage)
