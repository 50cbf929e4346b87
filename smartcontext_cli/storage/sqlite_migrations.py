"""The SQLite backend's schema, as named, ordered migrations.

Each migration runs once, inside the transaction that opens an out-of-date store, and is
recorded in the ``migrations`` table (``sqlite_store.SQLiteStorage._migrate``). A migration is
never edited once released; a change of schema is a new migration with its reason.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable

from .sqlite_ranking import CELL_SHIFT, cell_of


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the caller's transaction.

    Why not ``executescript``: it commits first, which would let a second process run the same
    migration concurrently.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def _m001_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE memories (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            content TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            kind TEXT NOT NULL DEFAULT 'note',
            source TEXT NOT NULL DEFAULT 'user',
            importance REAL NOT NULL DEFAULT 0.5,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            token_count INTEGER,
            token_encoding TEXT,
            terms TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX memories_recent ON memories (created_at DESC, id DESC);
        CREATE INDEX memories_kind ON memories (kind);
        -- Why unicode61 and not porter: terms arrive stemmed from Python, identical to what the
        -- JSON backend indexes, so both rank alike. FTS5 only splits them on spaces.
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            terms, content='memories', content_rowid='rowid',
            tokenize='unicode61 remove_diacritics 0'
        );
        CREATE VIRTUAL TABLE memories_vocab USING fts5vocab(memories_fts, 'row');
        CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
            INSERT INTO memories_fts(rowid, terms) VALUES (new.rowid, new.terms);
        END;
        CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, terms)
                VALUES ('delete', old.rowid, old.terms);
        END;
        CREATE TRIGGER memories_au AFTER UPDATE OF terms ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, terms)
                VALUES ('delete', old.rowid, old.terms);
            INSERT INTO memories_fts(rowid, terms) VALUES (new.rowid, new.terms);
        END;
        CREATE TABLE docs (
            collection TEXT NOT NULL,
            key TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (collection, key)
        ) WITHOUT ROWID;
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """,
    )


def _m002_explicit_fts_insert(db: sqlite3.Connection) -> None:
    # Why: an AFTER INSERT trigger runs each row's FTS5 insert in its own statement savepoint,
    # and FTS5 flushes its pending terms to a new segment at every savepoint; bulk inserts were
    # 5x slower than one INSERT ... SELECT into the index (20,000 rows: 1.26 s against 0.23 s).
    # ``add_memories`` now indexes the new rows itself, in the same transaction.
    db.execute("DROP TRIGGER IF EXISTS memories_ai")


def _m003_term_counts(db: sqlite3.Connection) -> None:
    # Why a table of its own: fts5vocab computes a term's document count by reading its whole
    # posting list, so on 1,000,000 memories one doc_freq() took up to 11 ms and listing the
    # terms of one letter for typo matching 100-300 ms. This table answers both by b-tree.
    db.execute(
        "CREATE TABLE memories_terms (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("INSERT INTO memories_terms SELECT term, doc FROM memories_vocab")


def _m004_ascii_tokenizer(db: sqlite3.Connection) -> None:
    # Why: terms arrive folded, stemmed and space-separated from Python; unicode61 folded some
    # of them again (final sigma to sigma), so FTS5's term statistics and BM25 could differ from
    # the JSON backend's. The ascii tokenizer splits on ASCII separators only, so FTS5 indexes
    # exactly the Python terms. The index is rebuilt once from the stored terms.
    _run_script(
        db,
        """
        DROP TABLE memories_vocab;
        DROP TRIGGER memories_ad;
        DROP TRIGGER memories_au;
        DROP TABLE memories_fts;
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            terms, content='memories', content_rowid='rowid', tokenize='ascii'
        );
        CREATE VIRTUAL TABLE memories_vocab USING fts5vocab(memories_fts, 'row');
        CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, terms)
                VALUES ('delete', old.rowid, old.terms);
        END;
        CREATE TRIGGER memories_au AFTER UPDATE OF terms ON memories BEGIN
            INSERT INTO memories_fts(memories_fts, rowid, terms)
                VALUES ('delete', old.rowid, old.terms);
            INSERT INTO memories_fts(rowid, terms) VALUES (new.rowid, new.terms);
        END;
        INSERT INTO memories_fts(memories_fts) VALUES ('rebuild');
        """,
    )


def _m005_impact_rowids(db: sqlite3.Connection) -> None:
    # Why: ranking reads matches in rowid order and stops early when rowids carry each
    # memory's impact cell (see sqlite_ranking). Existing rows are re-keyed in their old order
    # (new rowids start at 2**40, above every old one) and the index is rebuilt.
    next_rowid: dict[int, int] = {}
    moves = []
    for rowid, terms in db.execute("SELECT rowid, terms FROM memories ORDER BY rowid"):
        toks = terms.split(" ") if terms else []
        cell = cell_of(Counter(toks), len(toks))
        new = next_rowid.get(cell, cell << CELL_SHIFT)
        next_rowid[cell] = new + 1
        moves.append((new, rowid))
    db.executemany("UPDATE memories SET rowid = ? WHERE rowid = ?", moves)
    db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')")


def _m006_explicit_fts_delete(db: sqlite3.Connection) -> None:
    # Why: like inserts (m002), per-row delete and update triggers flushed an FTS5 segment per
    # row; deleting 100,000 memories (an import that replaces them) took ~3.5 s. The store now
    # un-indexes rows itself in rowid order, and an edit is a delete and an add (m005's cells).
    db.execute("DROP TRIGGER IF EXISTS memories_ad")
    db.execute("DROP TRIGGER IF EXISTS memories_au")


def _m007_session_events(db: sqlite3.Connection) -> None:
    # Why: session events are documents, and were searchable by nobody; compile could reach
    # only the newest window. They get an index of their own (storage/sqlite_events.py), with
    # the memories' terms and tokenizer, filled here from the events already stored.
    from .sqlite_events import rebuild

    _run_script(
        db,
        """
        CREATE TABLE events (
            rowid INTEGER PRIMARY KEY,
            collection TEXT NOT NULL,
            key TEXT NOT NULL,
            terms TEXT NOT NULL,
            UNIQUE (collection, key)
        );
        CREATE VIRTUAL TABLE events_fts USING fts5(
            terms, content='events', content_rowid='rowid', tokenize='ascii'
        );
        CREATE TABLE events_terms (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;
        """,
    )
    rebuild(db)


def _m008_snowball_terms(db: sqlite3.Connection) -> None:
    # Why: terms changed (text.TERMS_VERSION 2): Snowball stems instead of Porter's, whole
    # identifiers ("refresh_token", "auth_service") beside their words, and time and kind terms
    # ("_day_2024_03_15", "_kind_decision"). Identifier and time terms hold '_', which FTS5 must
    # keep inside a token, so both indexes are re-created with ``tokenchars '_'``. Every memory
    # is re-tokenised and re-keyed into its impact cell (the cells ignore the new stop stems),
    # the term counts recounted, and the session events re-indexed.
    import json

    from smartcontext_cli.text import document_terms

    from .sqlite_events import rebuild

    _run_script(
        db,
        f"""
        DROP TABLE IF EXISTS memories_vocab;
        DROP TABLE IF EXISTS memories_fts;
        CREATE VIRTUAL TABLE memories_fts USING fts5(
            terms, content='memories', content_rowid='rowid', tokenize="{FTS_TOKENIZER}"
        );
        CREATE VIRTUAL TABLE memories_vocab USING fts5vocab(memories_fts, 'row');
        DROP TABLE IF EXISTS events_fts;
        CREATE VIRTUAL TABLE events_fts USING fts5(
            terms, content='events', content_rowid='rowid', tokenize="{FTS_TOKENIZER}"
        );
        """,
    )
    rows = db.execute(
        "SELECT rowid, content, tags, kind, created_at FROM memories ORDER BY rowid"
    ).fetchall()
    # Negative first: the new rowids may be any old one, and a rowid is unique at every step.
    db.execute("UPDATE memories SET rowid = -rowid")
    next_rowid: dict[int, int] = {}
    moves = []
    for rowid, content, tags, kind, created_at in rows:
        toks = document_terms(content, json.loads(tags), kind, created_at)
        cell = cell_of(Counter(toks), len(toks))
        new = next_rowid.get(cell, cell << CELL_SHIFT)
        next_rowid[cell] = new + 1
        moves.append((new, " ".join(toks), -rowid))
    db.executemany("UPDATE memories SET rowid = ?, terms = ? WHERE rowid = ?", moves)
    db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')")
    db.execute("DELETE FROM memories_terms")
    db.execute("INSERT INTO memories_terms SELECT term, doc FROM memories_vocab")
    # A memory's neighbours in its conversation: the same source, the next created_at.
    db.execute("CREATE INDEX IF NOT EXISTS memories_thread ON memories (source, created_at, id)")
    rebuild(db)


# The tokenizer of both FTS5 indexes since m008: terms arrive space-separated from Python, and
# '_' belongs to a term ("refresh_token", "_day_2024_03_15").
FTS_TOKENIZER = "ascii tokenchars '_'"

# Named, ordered migrations; each runs once and is recorded in the ``migrations`` table.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("m001_initial", _m001_initial),
    ("m002_explicit_fts_insert", _m002_explicit_fts_insert),
    ("m003_term_counts", _m003_term_counts),
    ("m004_ascii_tokenizer", _m004_ascii_tokenizer),
    ("m005_impact_rowids", _m005_impact_rowids),
    ("m006_explicit_fts_delete", _m006_explicit_fts_delete),
    ("m007_session_events", _m007_session_events),
    ("m008_snowball_terms", _m008_snowball_terms),
]
