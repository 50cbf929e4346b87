"""The PostgreSQL backend's schema, as named, ordered migrations applied on first use.

Every namespace of a database shares these tables; each row carries its namespace's id (``ns``)
and every statement of ``postgres_store`` is scoped by it. Tables are prefixed ``sc_`` and
created in the connection's current schema, so smartcontext can share a database (or live in a
schema of its own: ``?options=-csearch_path%3Dsmartcontext`` in the URL).

Why these shapes:

* Text that is ordered or compared by range (ids, timestamps, keys, terms) is ``COLLATE "C"``:
  byte order of UTF-8, which is code point order, exactly SQLite's ``BINARY``; the database's
  own locale would order ``B`` and ``a`` differently on every server.
* A memory's index terms are the ones every backend uses (``text.document_terms``, since p003).
  ``tsv`` holds them as lexemes for the GIN index (matching), ``tf`` the counts of those held
  more than once (the others count 1; since p002) and ``dl`` their number (scoring: FTS5's
  BM25 needs exact term frequencies, which a tsvector caps at 256 positions).
* ``sc_memory_terms`` and ``sc_memory_stats`` keep document frequencies, row count and total
  length, so IDF, N and avgdl are one index lookup each; writers of one namespace are serialised
  (``postgres_store``), so these rows never see concurrent updates from one namespace.
* ``pg_trgm`` indexes the vocabulary for typo candidates; ``btree_gin`` lets one GIN index hold
  the namespace and the lexemes, so a search reads only its namespace's postings.

Safe when many processes start at once: the migrations run in one transaction that first takes
a database-wide advisory lock, and re-read what is applied under it. A database migrated by a
newer smartcontext (a migration this version does not know) is refused, not written to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartcontext_cli.errors import SmartContextError

MIGRATION_LOCK = 0x736D6374_00000001  # 'smct' + 1: the advisory lock key of schema changes
EXTENSIONS = ("pg_trgm", "btree_gin")


def _create_extensions(conn: Any) -> None:
    import psycopg

    for name in EXTENSIONS:
        try:
            with conn.transaction():  # a savepoint: a refusal must not end the outer one
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
        except psycopg.errors.InsufficientPrivilege:
            raise SmartContextError(
                f"smartcontext needs the PostgreSQL extension {name}, and this role may not "
                f"create it: ask the database owner to run CREATE EXTENSION {name};"
            ) from None
        except psycopg.errors.FeatureNotSupported:
            raise SmartContextError(
                f"the PostgreSQL server lacks the extension {name} (Debian and Ubuntu ship it "
                "with the server; elsewhere install the server's contrib package)"
            ) from None
        except psycopg.errors.UndefinedFile:
            raise SmartContextError(
                f"the PostgreSQL server lacks the extension {name}: install the server's "
                "contrib package"
            ) from None


def extension_schema(conn: Any, name: str = "pg_trgm") -> str:
    """The schema an extension lives in, quoted, to qualify its operators and classes.

    Why: ``search_path`` may not include it (a URL that sets ``search_path=smartcontext`` while
    pg_trgm was installed in ``public`` long ago).
    """
    row = conn.execute(
        "SELECT quote_ident(n.nspname) FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s",
        (name,),
    ).fetchone()
    if row is None:
        raise SmartContextError(f"the PostgreSQL extension {name} is missing")
    return str(row[0])


def _p001_initial(conn: Any) -> None:
    _create_extensions(conn)
    trgm = extension_schema(conn, "pg_trgm")
    ns = "ns integer NOT NULL REFERENCES sc_namespaces (id) ON DELETE CASCADE"
    statements = [
        """CREATE TABLE sc_namespaces (
            id serial PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        )""",
        f"""CREATE TABLE sc_memories (
            {ns},
            id text COLLATE "C" NOT NULL,
            content text NOT NULL,
            tags text[] NOT NULL,
            kind text NOT NULL,
            source text NOT NULL,
            importance double precision NOT NULL,
            created_at text COLLATE "C" NOT NULL,
            updated_at text NOT NULL,
            token_count bigint,
            token_encoding text,
            tf jsonb NOT NULL,
            dl integer NOT NULL,
            tsv tsvector NOT NULL,
            PRIMARY KEY (ns, id)
        )""",
        "CREATE INDEX sc_memories_recent ON sc_memories (ns, created_at DESC, id DESC)",
        "CREATE INDEX sc_memories_tsv ON sc_memories USING gin (ns, tsv)",
        f"""CREATE TABLE sc_memory_terms (
            {ns}, term text COLLATE "C" NOT NULL, docs integer NOT NULL, PRIMARY KEY (ns, term)
        )""",
        "CREATE INDEX sc_memory_terms_trgm ON sc_memory_terms "
        f"USING gin (ns, term {trgm}.gin_trgm_ops)",
        """CREATE TABLE sc_memory_stats (
            ns integer PRIMARY KEY REFERENCES sc_namespaces (id) ON DELETE CASCADE,
            n_rows bigint NOT NULL, n_tokens bigint NOT NULL
        )""",
        f"""CREATE TABLE sc_docs (
            {ns}, collection text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL,
            data text NOT NULL, PRIMARY KEY (ns, collection, key)
        )""",
        f"""CREATE TABLE sc_events (
            {ns}, collection text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL,
            tf jsonb NOT NULL, dl integer NOT NULL, tsv tsvector NOT NULL,
            PRIMARY KEY (ns, collection, key)
        )""",
        "CREATE INDEX sc_events_tsv ON sc_events USING gin (ns, tsv)",
        f"""CREATE TABLE sc_event_terms (
            {ns}, term text COLLATE "C" NOT NULL, docs integer NOT NULL, PRIMARY KEY (ns, term)
        )""",
        """CREATE TABLE sc_event_stats (
            ns integer PRIMARY KEY REFERENCES sc_namespaces (id) ON DELETE CASCADE,
            n_rows bigint NOT NULL, n_tokens bigint NOT NULL
        )""",
        f"""CREATE TABLE sc_counters (
            {ns}, name text COLLATE "C" NOT NULL, value bigint NOT NULL, PRIMARY KEY (ns, name)
        )""",
        f"""CREATE TABLE sc_meta (
            {ns}, key text COLLATE "C" NOT NULL, value text NOT NULL, PRIMARY KEY (ns, key)
        )""",
    ]
    for statement in statements:
        conn.execute(statement)


def _p002_sparse_tf(conn: Any) -> None:
    # Why: ``tf`` held every term's count, 412 of a memory row's 964 bytes at 100,000 memories,
    # and a search reads the row of every match; a term held once is known from ``tsv`` alone
    # (``postgres_ranking.encode_tf``). Rows without a repeated term get ``{}``.
    for table in ("sc_memories", "sc_events"):
        conn.execute(
            f"UPDATE {table} SET tf = (SELECT coalesce(jsonb_object_agg(k, v), '{{}}'::jsonb) "
            "FROM jsonb_each(tf) e(k, v) WHERE v::int > 1) "
            "WHERE EXISTS (SELECT 1 FROM jsonb_each(tf) e(k, v) WHERE v::int = 1)"
        )


_REINDEX_PAGE = 2000  # rows re-tokenised per round trip by p003


def _p003_snowball_terms(conn: Any) -> None:
    # Why: terms changed (text.TERMS_VERSION 2; SQLite's m008): Snowball stems, whole
    # identifiers beside their words, kind and time terms. Every memory and session event is
    # re-tokenised in Python (PostgreSQL's own parser is not ours), its tf, dl and tsv rewritten,
    # and the document counts and totals recounted from the new rows. Neighbours in a
    # conversation (``adjacent``) walk a new (ns, source, created_at, id) index.
    import json

    from smartcontext_cli.models import Memory

    from .postgres_events import event_params
    from .postgres_ranking import encode_tf, tsvector_text
    from .postgres_store import indexed

    after: tuple[int, str] = (-1, "")
    while True:
        rows = conn.execute(
            "SELECT ns, id, content, tags, kind, created_at FROM sc_memories "
            'WHERE (ns, id) > (%s::int, %s COLLATE "C") ORDER BY ns, id LIMIT %s',
            (*after, _REINDEX_PAGE),
        ).fetchall()
        if not rows:
            break
        tfs, dls, tsvs = [], [], []
        for _ns, mid, content, tags, kind, created_at in rows:
            memory = Memory(
                id=mid, content=content, tags=list(tags), kind=kind, created_at=created_at
            )
            counts, length = indexed(memory)
            tfs.append(encode_tf(counts))
            dls.append(length)
            tsvs.append(tsvector_text(list(counts)))
        conn.execute(
            "UPDATE sc_memories m SET tf = u.tf::jsonb, dl = u.dl, tsv = u.tsv::tsvector "
            "FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[], %s::text[]) "
            "AS u(ns, id, tf, dl, tsv) WHERE m.ns = u.ns AND m.id = u.id",
            ([r[0] for r in rows], [r[1] for r in rows], tfs, dls, tsvs),
        )
        after = (rows[-1][0], rows[-1][1])
    after_event: tuple[int, str, str] = (-1, "", "")
    while True:
        rows = conn.execute(
            "SELECT e.ns, e.collection, e.key, d.data FROM sc_events e "
            "JOIN sc_docs d USING (ns, collection, key) "
            'WHERE (e.ns, e.collection, e.key) > (%s::int, %s COLLATE "C", %s COLLATE "C") '
            "ORDER BY e.ns, e.collection, e.key LIMIT %s",
            (*after_event, _REINDEX_PAGE),
        ).fetchall()
        if not rows:
            break
        params = [event_params(c, k, text, json.loads(text)) for _ns, c, k, text in rows]
        conn.execute(
            "UPDATE sc_events e SET tf = u.tf::jsonb, dl = u.dl, tsv = u.tsv::tsvector "
            "FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::int[], %s::text[]) "
            "AS u(ns, collection, key, tf, dl, tsv) "
            "WHERE e.ns = u.ns AND e.collection = u.collection AND e.key = u.key",
            (
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [p["tf"] for p in params],
                [p["dl"] for p in params],
                [p["tsv"] for p in params],
            ),
        )
        after_event = (rows[-1][0], rows[-1][1], rows[-1][2])
    for table, rows_of in (("memory", "sc_memories"), ("event", "sc_events")):
        conn.execute(f"DELETE FROM sc_{table}_terms")
        conn.execute(
            f"INSERT INTO sc_{table}_terms (ns, term, docs) "
            f"SELECT ns, k, count(*) FROM {rows_of}, unnest(tsvector_to_array(tsv)) k "
            "GROUP BY ns, k"
        )
        conn.execute(
            f"UPDATE sc_{table}_stats s SET n_rows = t.n, n_tokens = t.tokens "
            f"FROM (SELECT ns, count(*) AS n, coalesce(sum(dl), 0) AS tokens FROM {rows_of} "
            "GROUP BY ns) t WHERE s.ns = t.ns"
        )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS sc_memories_thread ON sc_memories (ns, source, created_at, id)"
    )


# Named, ordered migrations; each runs once and is recorded in ``sc_migrations``. A released
# migration is never edited: a change of schema is a new migration with its reason.
MIGRATIONS: list[tuple[str, Callable[[Any], None]]] = [
    ("p001_initial", _p001_initial),
    ("p002_sparse_tf", _p002_sparse_tf),
    ("p003_snowball_terms", _p003_snowball_terms),
]


def _applied(conn: Any) -> set[str] | None:
    """Names of the applied migrations, or None when the schema does not exist yet."""
    exists = conn.execute("SELECT to_regclass('sc_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return None
    return {r[0] for r in conn.execute("SELECT name FROM sc_migrations")}


def _check_known(applied: set[str]) -> None:
    unknown = sorted(applied - {name for name, _ in MIGRATIONS})
    if unknown:
        raise SmartContextError(
            f"this database was upgraded by a newer smartcontext (migration {unknown[-1]}); "
            "upgrade smartcontext on this machine before using it"
        )


def ensure_schema(conn: Any) -> None:
    """Apply what is missing, once, whoever else is starting at the same moment.

    Why check before locking: opening a store up to date must cost one read, not a lock that
    every process of the team would queue on.
    """
    applied = _applied(conn)
    if applied is not None:
        _check_known(applied)
        if applied >= {name for name, _ in MIGRATIONS}:
            return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sc_migrations ("
            "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = _applied(conn) or set()
        _check_known(applied)
        for name, migration in MIGRATIONS:
            if name not in applied:
                migration(conn)
                conn.execute("INSERT INTO sc_migrations (name) VALUES (%s)", (name,))


def applied_migrations(conn: Any) -> list[str]:
    return sorted(_applied(conn) or ())
