"""The session-event search index on SQLite (see storage/events.py for what it covers).

Layout (migration m007): ``events`` holds one row per event document with its terms,
``events_fts`` is an external-content FTS5 index over them (``tokenize='ascii'``, as memories),
and ``events_terms`` the per-term document counts. ``SQLiteStorage.put_doc``, ``delete_doc`` and
``delete_collection`` call in here inside their own transaction, so the index commits with the
events or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .events import event_terms, is_event_collection, order_hits
from .sqlite_ranking import fts_query, read_totals


def index_event(db: sqlite3.Connection, collection: str, key: str, data: dict[str, Any]) -> None:
    unindex_events(db, collection, [key])
    toks = event_terms(data)
    cur = db.execute(
        "INSERT INTO events (collection, key, terms) VALUES (?, ?, ?)",
        (collection, key, " ".join(toks)),
    )
    db.execute(
        "INSERT INTO events_fts(rowid, terms) VALUES (?, ?)", (cur.lastrowid, " ".join(toks))
    )
    _add_counts(db, Counter(set(toks)), +1)


def unindex_events(db: sqlite3.Connection, collection: str, keys: Iterable[str] | None) -> None:
    """Drop events of ``collection`` from the index (all of them when ``keys`` is None)."""
    if keys is None:
        rows = db.execute(
            "SELECT rowid, terms FROM events WHERE collection = ? ORDER BY rowid", (collection,)
        ).fetchall()
    else:
        rows = []
        for key in keys:
            rows += db.execute(
                "SELECT rowid, terms FROM events WHERE collection = ? AND key = ?",
                (collection, key),
            ).fetchall()
    if not rows:
        return
    counts: Counter[str] = Counter()
    for _, terms in rows:
        counts.update(set(terms.split(" ")) if terms else ())
    _add_counts(db, counts, -1)
    db.executemany("INSERT INTO events_fts(events_fts, rowid, terms) VALUES ('delete', ?, ?)", rows)
    db.executemany("DELETE FROM events WHERE rowid = ?", [(r,) for r, _ in rows])


def _add_counts(db: sqlite3.Connection, counts: Counter[str], sign: int) -> None:
    db.executemany(
        "INSERT INTO events_terms VALUES (?, ?) "
        "ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs",
        [(term, sign * n) for term, n in counts.items()],
    )
    if sign < 0:
        db.executemany(
            "DELETE FROM events_terms WHERE term = ? AND docs <= 0", [(t,) for t in counts]
        )


def rebuild(db: sqlite3.Connection) -> int:
    """Index every stored event afresh (the migration, and repairs); returns how many."""
    db.execute("DELETE FROM events")
    db.execute("DELETE FROM events_terms")
    db.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")
    n = 0
    rows = db.execute("SELECT collection, key, data FROM docs ORDER BY collection, key").fetchall()
    for collection, key, data in rows:
        if is_event_collection(collection):
            index_event(db, collection, key, json.loads(data))
            n += 1
    return n


class SQLiteEventsMixin:
    """The protocol's ``event_*`` reads for ``SQLiteStorage``."""

    db: sqlite3.Connection

    def event_bm25(
        self, query_terms: Sequence[str], limit: int, collections: Sequence[str] | None = None
    ) -> list[tuple[str, str, float]]:
        if not query_terms or limit <= 0:
            return []
        sql = (
            "SELECT e.collection, e.key, bm25(events_fts) FROM events_fts "
            "JOIN events e ON e.rowid = events_fts.rowid WHERE events_fts MATCH ?"
        )
        params: list[Any] = [fts_query(query_terms)]
        if collections is not None:
            wanted = list(collections)
            if not wanted:
                return []
            sql += f" AND e.collection IN ({','.join('?' * len(wanted))})"
            params += wanted
        sql += " ORDER BY bm25(events_fts), e.key DESC, e.collection LIMIT ?"
        params.append(limit if limit <= 2**62 else -1)
        return order_hits([(c, k, -float(r)) for c, k, r in self.db.execute(sql, params)])

    def event_doc_freq(self, term: str) -> int:
        row = self.db.execute("SELECT docs FROM events_terms WHERE term = ?", (term,)).fetchone()
        return int(row[0]) if row else 0

    def event_index_stats(self) -> tuple[int, float]:
        return read_totals(self.db, "events_fts_data")

    def event_vocabulary(self, first_char: str) -> list[str]:
        rows = self.db.execute(
            "SELECT term FROM events_terms WHERE term >= ? AND term < ?",
            (first_char, first_char + "\uffff"),
        )
        return [r[0] for r in rows]
