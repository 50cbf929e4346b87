"""What only the PostgreSQL backend promises: shared databases, its schema, its failures.

The behaviour every backend shares is in ``test_contract.py`` (which runs here too). These run
against the real server of ``fixtures.postgres`` and skip, saying why, where none can run.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures import postgres

from smartcontext_cli import MemoryStore
from smartcontext_cli.errors import SmartContextError, UsageError
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import open_storage, postgres_connection
from smartcontext_cli.storage.postgres_ranking import MAX_TERM_BYTES, pg_term
from smartcontext_cli.storage.postgres_schema import MIGRATIONS
from smartcontext_cli.storage.postgres_store import PostgresStorage
from smartcontext_cli.text import terms

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the postgres extra)")


@pytest.fixture
def db(pg_url: str) -> Iterator[Callable[..., PostgresStorage]]:
    """Open stores (namespace ``test`` unless told) on the emptied test database."""
    opened: list[PostgresStorage] = []

    def _open(namespace: str = "test", url: str | None = None) -> PostgresStorage:
        store = PostgresStorage(url or pg_url, namespace)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


def sql(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def test_namespaces_share_a_database_and_never_see_each_other(db):
    a, b = db("team-a"), db("team-b")
    same_id = "a" * 32
    a.add_memories([Memory(id=same_id, content="redis is the cache", tags=["ops"])])
    b.add_memories([Memory(id=same_id, content="memcached is the cache")])
    a.put_doc("working", "goal", {"text": "a's goal"})
    b.set_counter("artifact", 7)
    assert a.get_memory(same_id).content == "redis is the cache"
    assert b.get_memory(same_id).content == "memcached is the cache"
    assert [m.content for m, _ in b.bm25(terms("redis"), 5)] == []
    assert b.doc_freq(terms("redis")[0]) == 0 and a.doc_freq(terms("redis")[0]) == 1
    assert (a.count_memories(), b.count_memories()) == (1, 1)
    assert b.get_doc("working", "goal") is None and b.collections() == []
    assert a.get_counters() == {} and b.get_counters() == {"artifact": 7}
    assert b.vocabulary("r") == [] and a.vocabulary("r") == ["redi"]
    b.delete_memories([same_id])
    assert a.get_memory(same_id) is not None


def test_reading_a_namespace_that_does_not_exist_creates_nothing(db, pg_url):
    ghost = db("ghost")
    assert ghost.list_memories() == [] and ghost.bm25(["x"], 5) == []
    assert ghost.get_doc("working", "goal") is None and ghost.get_counters() == {}
    assert ghost.get_meta("schema_version") == "1"
    assert not ghost.has_namespace()
    assert ghost.delete_memories(["x" * 32]) == 0 and not ghost.delete_doc("a", "b")
    assert sql(pg_url, "SELECT name FROM sc_namespaces") == []
    ghost.set_meta("owner", "ana")
    assert ghost.has_namespace()


def test_a_rolled_back_first_write_leaves_no_namespace_behind(db, pg_url):
    store = db("fresh")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_memories([Memory(content="gone with the rollback")])
        raise RuntimeError
    assert not store.has_namespace()
    store.add_memories([Memory(content="kept")])  # the cached namespace id was forgotten
    assert [m.content for m in db("fresh").list_memories()] == ["kept"]


def test_migrations_are_recorded_once_and_a_newer_schema_is_refused(db, pg_url):
    store = db()
    assert store.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
    sql(pg_url, "INSERT INTO sc_migrations (name) VALUES ('p999_from_the_future')")
    try:
        with pytest.raises(SmartContextError, match="upgraded by a newer smartcontext"):
            db()
    finally:
        sql(pg_url, "DELETE FROM sc_migrations WHERE name = 'p999_from_the_future'")


MIGRATE = """
import sys, time
from pathlib import Path
from smartcontext_cli.storage.postgres_store import PostgresStorage
url, go = sys.argv[1:]
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.001)
store = PostgresStorage(url, "race")
store.next_counter("opened")
store.close()
"""


@pytest.mark.slow
def test_p002_keeps_only_repeated_counts_and_ranks_as_before(db, pg_url):
    store = db()
    texts = ["cache cache redis", "redis once", "cache miss cache cache again", "nothing here"]
    store.add_memories([Memory(content=t, id=f"{i:032x}") for i, t in enumerate(texts)])
    store.put_doc("session", "0001", {"role": "user", "content": "redis redis cache"})
    before = store.bm25(["cach", "redi"], 10)
    events_before = store.event_bm25(["redi"], 10)
    assert sql(pg_url, "SELECT tf::text FROM sc_memories ORDER BY id") == [
        ('{"cach": 2}',),
        ("{}",),
        ('{"cach": 3}',),
        ("{}",),
    ]
    # A database written before p002: every term's count in tf, and p002 not yet applied.
    sql(
        pg_url,
        "UPDATE sc_memories SET tf = tf || (SELECT jsonb_object_agg(k, 1) FROM "
        "unnest(tsvector_to_array(tsv)) k WHERE NOT tf ? k) WHERE tsv <> ''::tsvector",
    )
    sql(pg_url, 'UPDATE sc_events SET tf = \'{"redi": 2, "cach": 1}\'')
    sql(pg_url, "DELETE FROM sc_migrations WHERE name = 'p002_sparse_tf'")
    assert sql(pg_url, "SELECT tf->>'redi' FROM sc_memories ORDER BY id")[:2] == [("1",), ("1",)]
    again = db()  # the next process to open the database upgrades it
    assert "p002_sparse_tf" in again.applied_migrations()
    assert sql(pg_url, "SELECT tf::text FROM sc_memories ORDER BY id") == [
        ('{"cach": 2}',),
        ("{}",),
        ('{"cach": 3}',),
        ("{}",),
    ]
    assert sql(pg_url, "SELECT tf::text FROM sc_events") == [('{"redi": 2}',)]
    assert again.bm25(["cach", "redi"], 10) == before
    assert again.event_bm25(["redi"], 10) == events_before
    again.delete_memories(["0" * 32])  # document counts still follow the deletes
    assert again.doc_freq("cach") == 1 and again.doc_freq("redi") == 1


@pytest.mark.slow
def test_p003_reindexes_a_database_written_with_the_old_terms(db, pg_url):
    store = db()
    texts = ["the refresh_token expired", "refresh tokens rotate daily", "lunch at noon"]
    store.add_memories(
        [Memory(content=t, id=f"{i:032x}", source="chat:1") for i, t in enumerate(texts)]
    )
    store.put_doc("session", "0001", {"role": "user", "content": "the refresh_token again"})
    query = ["refresh_token", "refresh", "_kind_note"]
    before = (store.bm25(query, 10), store.index_stats(), store.doc_freq("refresh_token"))
    events_before = store.event_bm25(["refresh_token"], 10)
    # A database written before p003: PostgreSQL's own words for terms, the old counts, no
    # thread index, and p003 not yet applied.
    sql(pg_url, "UPDATE sc_memories SET tf = '{}', dl = 3, tsv = to_tsvector('simple', content)")
    sql(pg_url, "UPDATE sc_events SET tf = '{}', dl = 3, tsv = to_tsvector('simple', 'x')")
    sql(pg_url, "UPDATE sc_memory_terms SET docs = 1")
    sql(pg_url, "UPDATE sc_memory_stats SET n_tokens = 9")
    sql(pg_url, "DROP INDEX sc_memories_thread")
    sql(pg_url, "DELETE FROM sc_migrations WHERE name = 'p003_snowball_terms'")
    assert store.doc_freq("refresh_token") == 1 and store.index_stats() == (3, 3.0)
    again = db()  # the next process to open the database upgrades it
    assert "p003_snowball_terms" in again.applied_migrations()
    assert (again.bm25(query, 10), again.index_stats(), again.doc_freq("refresh_token")) == before
    assert again.event_bm25(["refresh_token"], 10) == events_before
    assert sql(pg_url, "SELECT to_regclass('sc_memories_thread') IS NOT NULL") == [(True,)]
    first, second = again.get_memory("0" * 32), again.get_memory(f"{1:032x}")
    assert first is not None and second is not None
    assert again.adjacent([first])[first.id] == (None, second.id)


def test_processes_starting_at_once_on_an_empty_database_migrate_it_once(tmp_path: Path):
    url = postgres.fresh_database()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sql(url, "SELECT count(*) FROM sc_migrations") == [(len(MIGRATIONS),)]
    assert sql(url, "SELECT value FROM sc_counters") == [(6,)]


def test_extensions_in_another_schema_than_the_tables(pg_ready: str):
    # A team may give smartcontext a schema of its own while pg_trgm lives in public.
    url = postgres.fresh_database()
    sql(url, "CREATE EXTENSION pg_trgm")
    sql(url, "CREATE EXTENSION btree_gin")
    sql(url, "CREATE SCHEMA smartcontext")
    store = PostgresStorage(url + " options='-csearch_path=smartcontext'", "x")
    try:
        store.add_memories([Memory(content="kubernetes rollout")])
        assert [m.content for m, _ in store.bm25(terms("kubernetes"), 5)] == ["kubernetes rollout"]
    finally:
        store.close()
    tables = sql(url, "SELECT table_schema FROM information_schema.tables WHERE table_name = %s",
                 "sc_memories")  # fmt: skip
    assert tables == [("smartcontext",)]


def test_text_postgresql_cannot_hold_is_one_clear_error(db):
    store = db()
    with pytest.raises(UsageError, match="cannot store this value"):
        store.add_memories([Memory(content="fine", source="bad\x00source")])
    with pytest.raises(UsageError, match="cannot store this value"):
        store.set_counter("nul\x00name", 1)
    assert store.count_memories() == 0


def test_a_giant_word_is_stored_under_a_surrogate_and_still_matches_exactly(db):
    store = db()
    blob = "q" * 5000  # one 'word': a pasted key or base64 blob
    store.add_memories([Memory(content=f"key {blob} key"), Memory(content="key alone")])
    (giant,) = terms(blob)
    assert len(pg_term(giant).encode()) <= MAX_TERM_BYTES
    assert store.doc_freq(giant) == 1
    hits = store.bm25([giant, *terms("key")], 5)
    assert [m.content[:5] for m, _ in hits] == ["key q", "key a"]
    (surrogate,) = store.vocabulary("q")
    assert surrogate == pg_term(giant) and surrogate.startswith("qqq")


def test_a_writer_stuck_in_a_transaction_ends_the_wait_with_a_clear_error(
    db, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(postgres_connection, "LOCK_TIMEOUT_MS", 300)
    holder, waiter = db(), db()
    with holder.transaction():
        holder.set_meta("mine", "for now")
        started = time.monotonic()
        with pytest.raises(SmartContextError, match="namespace is busy"):
            waiter.set_meta("theirs", "too")
        assert time.monotonic() - started < 5
    waiter.set_meta("theirs", "now")
    assert holder.get_meta("theirs") == "now"


def test_a_lost_connection_is_one_clear_error(db, pg_url):
    store = db()
    store.set_meta("k", "v")
    pid = store._conn.info.backend_pid
    sql(pg_url, "SELECT pg_terminate_backend(%s)", pid)
    with pytest.raises(SmartContextError, match="lost the connection to PostgreSQL"):
        store.get_meta("k")


def test_a_pooled_store_serves_many_threads_without_losing_a_write(
    pg_url, home, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SMARTCONTEXT_DATABASE_URL", pg_url)
    stores = [
        MemoryStore(namespace="pooled", storage_backend="postgres", base_dir=home, pooled=True)
        for _ in range(2)
    ]
    errors: list[BaseException] = []

    def work(store: MemoryStore, worker: int) -> None:
        try:
            for i in range(25):
                store.remember(f"thread {worker} note {i}")
                store.storage.next_counter("hits")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(stores[w % 2], w)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert stores[0].count() == 200
    assert stores[1].storage.get_counters() == {"hits": 200}
    assert stores[0].storage._pool is stores[1].storage._pool  # one pool per database
    for store in stores:
        store.close()
    postgres_connection.close_pools()


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an install without the extra sees
    with pytest.raises(SmartContextError, match=r"pip install 'smartcontext-cli\[postgres\]'"):
        open_storage(tmp_path, "x", "postgres", database_url="host=/nowhere dbname=x")
