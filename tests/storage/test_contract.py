"""The storage contract: every test runs against every backend and must pass unchanged.

Where the backends differ on purpose (only JSON cannot roll a transaction back) the test says so
and asserts each side. The second half checks that both backends rank search results alike:
same memories, same order, same BM25 scores, on a fixed corpus and on random ones.
"""

from __future__ import annotations

import json
import math
import string
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fixtures import postgres
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.errors import SmartContextError
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import Storage, open_storage
from smartcontext_cli.text import MEMORY_EXTRA_TERMS, query_terms, terms

# Each backend's ranking is compared with SQLite's, FTS5 being the reference formula.
OTHERS = ["json", "postgres"]


@pytest.fixture(params=OTHERS)
def other(request: pytest.FixtureRequest) -> str:
    """A backend to compare with SQLite; postgres skips where no server can run."""
    if request.param == "postgres":
        postgres.url()
    return str(request.param)


def at(second: int) -> str:
    return f"2024-05-01T12:00:{second:02d}.000000+00:00"


def mem(content: str, second: int = 0, **fields: Any) -> Memory:
    return Memory(content=content, created_at=at(second), **fields)


def ids(memories: Sequence[Memory]) -> list[str]:
    return [m.id for m in memories]


# memories ------------------------------------------------------------------------------------


def test_a_memory_reads_back_exactly_as_written(storage: Storage, reopen: Callable[[], Storage]):
    m = Memory(
        content="Use pgBouncer in transaction mode — café ☕",
        tags=["db", "ops"],
        kind="decision",
        source="agent",
        importance=0.75,
        created_at=at(1),
        updated_at=at(2),
        token_count=12,
        token_encoding="cl100k_base",
    )
    storage.add_memories([m])
    assert storage.get_memory(m.id) == m
    assert reopen().get_memory(m.id) == m
    assert storage.count_memories() == 1


def test_missing_or_impossible_ids_are_simply_not_found(storage: Storage):
    assert storage.get_memory("0" * 32) is None
    assert storage.get_memory("../../etc/passwd") is None
    assert storage.delete_memories(["nope", "../x"]) == 0


def test_adding_an_existing_id_fails_and_adds_nothing(storage: Storage):
    first = mem("original")
    storage.add_memories([first])
    newcomer = mem("would be new")
    with pytest.raises(SmartContextError):
        storage.add_memories([newcomer, Memory(content="duplicate", id=first.id)])
    assert storage.get_memory(first.id) == first
    assert storage.get_memory(newcomer.id) is None
    assert storage.count_memories() == 1


def test_adding_an_existing_id_is_a_clean_user_error(storage: Storage):
    first = mem("original")
    storage.add_memories([first])
    with pytest.raises(SmartContextError, match=f"memory {first.id} already exists"):
        storage.add_memories([Memory(content="again", id=first.id)])


def test_upsert_replaces_existing_and_inserts_new(storage: Storage):
    old = mem("postgres tuning notes", 1)
    storage.add_memories([old])
    replacement = Memory(content="mysql tuning notes", id=old.id, created_at=at(1))
    fresh = mem("redis eviction policy", 2)
    storage.upsert_memories([replacement, fresh])
    assert storage.get_memory(old.id) == replacement
    assert storage.get_memory(fresh.id) == fresh
    assert storage.count_memories() == 2
    assert storage.doc_freq("postgr") == 0
    assert storage.doc_freq("mysql") == 1


def test_update_rewrites_fields_and_search_terms(storage: Storage):
    m = mem("deploy with docker compose", 1, tags=["ops"])
    storage.add_memories([m])
    changed = Memory(
        content="deploy with kubernetes", id=m.id, tags=["k8s"], kind="fact", created_at=at(3)
    )
    storage.update_memory(changed)
    assert storage.get_memory(m.id) == changed
    assert ids([hit for hit, _ in storage.bm25(["kubernet"], 5)]) == [m.id]
    assert storage.bm25(["docker"], 5) == []
    assert storage.list_memories(tags=["ops"]) == []
    assert storage.list_memories(tags=["k8s"]) == [changed]


def test_updating_a_missing_memory_changes_nothing(storage: Storage):
    ghost = mem("never stored")
    storage.update_memory(ghost)
    assert storage.get_memory(ghost.id) is None
    assert storage.count_memories() == 0


def hexid(prefix: str) -> str:
    """A well-formed memory id (32 hex digits) starting with ``prefix``."""
    return prefix.ljust(32, "0")


def test_prefix_lookup_is_sorted_and_limited(storage: Storage):
    abc1, abc2, abd, ab = hexid("abc1"), hexid("abc2"), hexid("abd"), hexid("ab")
    storage.add_memories(
        [Memory(content=c, id=i) for c, i in [("a", abc2), ("b", abc1), ("c", abd), ("d", ab)]]
    )
    assert storage.find_memory_ids("abc") == [abc1, abc2]
    assert storage.find_memory_ids("ab", limit=3) == [ab, abc1, abc2]
    assert storage.find_memory_ids("abf") == []
    assert storage.find_memory_ids("", limit=1) == [ab]


def test_list_is_newest_first_with_id_breaking_ties(storage: Storage):
    a, b, c, d = (hexid(x * 4) for x in "abcd")
    older = mem("older", 1, id=b)
    tie_low = mem("tie low", 5, id=a)
    tie_high = mem("tie high", 5, id=c)
    newest = mem("newest", 9, id=d)
    storage.add_memories([tie_low, older, newest, tie_high])
    assert ids(storage.list_memories()) == [d, c, a, b]
    assert ids(storage.list_memories(limit=2)) == [d, c]
    assert ids(storage.list_memories(limit=2, offset=1)) == [c, a]
    assert ids(storage.list_memories(offset=3)) == [b]
    assert storage.list_memories(limit=0) == []
    assert ids(storage.iter_memories()) == [b, a, c, d]


def test_list_filters_need_every_tag_and_the_kind(storage: Storage):
    both = mem("both", 1, tags=["db", "ops"], kind="fact")
    db_only = mem("db", 2, tags=["db"], kind="fact")
    note = mem("note", 3, tags=["db", "ops"])
    storage.add_memories([both, db_only, note])
    assert ids(storage.list_memories(tags=["db", "ops"])) == [note.id, both.id]
    assert ids(storage.list_memories(tags=["db"], kind="fact")) == [db_only.id, both.id]
    assert ids(storage.list_memories(kind="fact", limit=1)) == [db_only.id]
    assert storage.list_memories(tags=["missing"]) == []


def test_delete_counts_each_existing_memory_once(storage: Storage):
    a, b, c = mem("alpha", 1), mem("beta", 2), mem("gamma", 3)
    storage.add_memories([a, b, c])
    assert storage.delete_memories([a.id, a.id, "missing", b.id]) == 2
    assert storage.delete_memories([a.id]) == 0
    assert ids(storage.list_memories()) == [c.id]
    assert storage.count_memories() == 1


def test_token_counts_are_cached_on_existing_memories_only(storage: Storage):
    m = mem("count my tokens")
    storage.add_memories([m])
    storage.set_token_counts({m.id: ("cl100k_base", 4), "missing": ("cl100k_base", 9)})
    got = storage.get_memory(m.id)
    assert got is not None
    assert (got.token_encoding, got.token_count) == ("cl100k_base", 4)
    assert got.content == m.content
    assert storage.count_memories() == 1


def test_vocabulary_and_doc_freq_follow_every_write(storage: Storage):
    a = mem("postgres indexes and postgres vacuum")
    b = mem("postgres replication", tags=["pgpool"])
    storage.add_memories([a, b])
    assert storage.doc_freq("postgr") == 2
    assert storage.doc_freq("vacuum") == 1
    assert storage.doc_freq("Postgres") == 0  # terms are matched as indexed, not re-tokenised
    assert storage.vocabulary("p") == ["pgpool", "postgr"]
    storage.delete_memories([b.id])
    assert storage.vocabulary("p") == ["postgr"]
    assert storage.doc_freq("replic") == 0
    storage.update_memory(Memory(content="mysql vacuum", id=a.id, created_at=a.created_at))
    assert storage.vocabulary("p") == []
    # Besides words: the kind and time terms every memory has (_kind_note, _day_...).
    assert [t for t in storage.vocabulary("") if not t.startswith("_")] == ["mysql", "vacuum"]


def test_bm25_basics(storage: Storage):
    storage.add_memories(
        [
            mem("redis cache eviction", 1, tags=["ops"]),
            mem("redis cluster failover and redis sentinel", 2, kind="fact"),
            mem("postgres connection pooling", 3),
        ]
    )
    assert storage.bm25([], 10) == []
    hits = storage.bm25(["redi"], 10)
    assert len(hits) == 2
    assert all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert len(storage.bm25(["redi"], 1)) == 1
    assert storage.bm25(["redi"], 0) == []
    assert [m.content for m, _ in storage.bm25(["redi"], 10, tags=["ops"])] == [
        "redis cache eviction"
    ]
    assert [m.kind for m, _ in storage.bm25(["redi", "postgr"], 10, kind="fact")] == ["fact"]
    assert storage.bm25(["absent"], 10) == []


# documents -----------------------------------------------------------------------------------


def test_documents_round_trip_with_sorted_keys(storage: Storage):
    data = {"zeta": [1, 2.5, None, True], "alpha": {"nested": "ünïcode ✓", "b": 1, "a": 2}}
    storage.put_doc("notes", "k1", data)
    got = storage.get_doc("notes", "k1")
    assert got == data
    assert got is not None
    assert list(got) == ["alpha", "zeta"]
    assert list(got["alpha"]) == ["a", "b", "nested"]
    storage.put_doc("notes", "k1", {"replaced": True})
    assert storage.get_doc("notes", "k1") == {"replaced": True}
    assert storage.get_doc("notes", "missing") is None
    assert storage.get_doc("other", "k1") is None


def test_list_docs_in_key_order_with_start_limit_and_reverse(storage: Storage):
    for key in ["000003", "000001", "000002", "000010"]:
        storage.put_doc("session", key, {"key": key})
    storage.put_doc("elsewhere", "000005", {})
    keys = lambda docs: [k for k, _ in docs]  # noqa: E731
    assert keys(storage.list_docs("session")) == ["000001", "000002", "000003", "000010"]
    assert storage.list_docs("session")[0] == ("000001", {"key": "000001"})
    assert keys(storage.list_docs("session", start="000002")) == ["000002", "000003", "000010"]
    assert keys(storage.list_docs("session", limit=2)) == ["000001", "000002"]
    assert keys(storage.list_docs("session", limit=2, reverse=True)) == ["000010", "000003"]
    assert keys(storage.list_docs("session", start="000003", reverse=True)) == ["000010", "000003"]
    assert storage.list_docs("session", limit=0) == []
    assert storage.list_docs("empty") == []


def test_collections_appear_and_disappear_with_their_documents(storage: Storage):
    assert storage.collections() == []
    storage.put_doc("working", "goal", {"text": "ship"})
    storage.put_doc("artifacts", "a1", {"name": "x"})
    storage.put_doc("artifacts", "a2", {"name": "y"})
    assert storage.collections() == ["artifacts", "working"]
    assert storage.delete_doc("working", "goal") is True
    assert storage.delete_doc("working", "goal") is False
    assert storage.collections() == ["artifacts"]
    assert storage.delete_collection("artifacts") == 2
    assert storage.delete_collection("artifacts") == 0
    assert storage.collections() == []
    assert storage.get_doc("artifacts", "a1") is None


# counters and metadata -----------------------------------------------------------------------


def test_counters_start_at_one_and_only_go_up(storage: Storage, reopen: Callable[[], Storage]):
    assert [storage.next_counter("artifact") for _ in range(3)] == [1, 2, 3]
    assert storage.next_counter("session") == 1
    assert reopen().next_counter("artifact") == 4
    storage.set_counter("session", 41)
    assert storage.next_counter("session") == 42
    assert storage.get_counters() == {"artifact": 4, "session": 42}
    assert list(storage.get_counters()) == ["artifact", "session"]


def test_metadata(storage: Storage, reopen: Callable[[], Storage]):
    assert storage.get_meta("missing") is None
    assert storage.get_meta("schema_version") == "1"
    storage.set_meta("owner", "ana")
    storage.set_meta("owner", "bo")
    assert reopen().get_meta("owner") == "bo"


# transactions --------------------------------------------------------------------------------


def test_nested_transactions_commit_together(storage: Storage, reopen: Callable[[], Storage]):
    with storage.transaction():
        n = storage.next_counter("artifact")
        with storage.transaction():
            storage.put_doc("artifacts", f"a{n}", {"n": n})
        storage.add_memories([mem("inside a transaction")])
    other = reopen()
    assert other.get_doc("artifacts", "a1") == {"n": 1}
    assert other.count_memories() == 1


def test_failed_transaction_propagates_and_leaves_the_store_usable(storage: Storage):
    before = mem("written before")
    storage.add_memories([before])
    with pytest.raises(RuntimeError, match="boom"), storage.transaction():
        storage.next_counter("c")
        raise RuntimeError("boom")
    assert storage.get_memory(before.id) == before
    storage.put_doc("after", "k", {"ok": True})
    assert storage.get_doc("after", "k") == {"ok": True}


def test_a_failed_transaction_writes_nothing(storage: Storage, reopen: Callable[[], Storage]):
    # Issue 13: JSON used to keep the writes made before the exception; now both roll back.
    kept = mem("kept", second=1)
    storage.add_memories([kept])
    storage.put_doc("notes", "old", {"v": 1})
    storage.next_counter("c")
    before = storage.export_all()
    with pytest.raises(RuntimeError), storage.transaction():
        storage.set_meta("step", "one")
        storage.add_memories([mem("half done", second=2)])
        storage.delete_memories([kept.id])
        storage.put_doc("notes", "new", {"v": 2})
        storage.delete_doc("notes", "old")
        assert storage.next_counter("c") == 2
        raise RuntimeError
    assert storage.get_meta("step") is None
    assert storage.export_all() == before
    assert reopen().export_all() == before
    assert storage.next_counter("c") == 2  # the rolled-back number is handed out again


def test_reads_inside_a_transaction_see_its_writes(storage: Storage):
    old = mem("old memory about caching", second=1)
    storage.add_memories([old])
    storage.put_doc("notes", "a", {"v": 1})
    with storage.transaction():
        new = mem("new memory about caching", second=2)
        storage.add_memories([new])
        storage.delete_memories([old.id])
        storage.put_doc("notes", "b", {"v": 2})
        storage.delete_doc("notes", "a")
        storage.put_doc("fresh", "k", {"v": 3})
        assert storage.get_memory(new.id) == new and storage.get_memory(old.id) is None
        assert [m.id for m in storage.list_memories()] == [new.id]
        assert [m.id for m, _ in storage.bm25(["cach"], 5)] == [new.id]
        assert storage.list_docs("notes") == [("b", {"v": 2})]
        assert storage.get_doc("notes", "a") is None
        assert storage.collections() == ["fresh", "notes"]
        assert storage.delete_collection("fresh") == 1
        assert storage.collections() == ["notes"]
    assert storage.list_docs("notes") == [("b", {"v": 2})]
    assert storage.collections() == ["notes"]


def test_a_transaction_keeps_other_writers_out(storage: Storage, tmp_path: Path, backend: str):
    got: list[int] = []

    def other_process() -> None:
        # Its own handle, opened in the thread (sqlite3 connections stay in their thread).
        other = open_storage(tmp_path, "test", backend)
        try:
            got.append(other.next_counter("c"))
        finally:
            other.close()

    with storage.transaction():
        assert storage.next_counter("c") == 1
        writer = threading.Thread(target=other_process)
        writer.start()
        writer.join(0.3)
        assert writer.is_alive(), "another writer got in during our transaction"
        assert storage.next_counter("c") == 2
    writer.join(30)
    assert got == [3]


# persistence and transfer --------------------------------------------------------------------


def populate(store: Storage) -> None:
    store.add_memories(
        [
            mem("first decision", 1, kind="decision", tags=["arch"]),
            mem("second note", 2, importance=1.0),
            mem("same time, id breaks the tie", 2, id="0" * 32),
        ]
    )
    store.put_doc("working", "goal", {"text": "ship it"})
    store.put_doc("session", "000000000001", {"role": "user", "content": "hi", "meta": {}})
    store.next_counter("session")
    store.set_counter("artifact", 7)


def as_imported(exported: dict[str, Any]) -> dict[str, Any]:
    """What an import stores: everything, but the cached token counts, which are the importing
    compiler's own (tests/storage/test_transfer_counts.py)."""
    out = json.loads(json.dumps(exported))
    for m in out["memories"]:
        m["token_count"] = m["token_encoding"] = None
    for doc in out["docs"]:
        data = doc["data"]
        if doc["collection"] == "session" and isinstance(data, dict):
            if "token_count" in data:
                data["token_count"] = None
            if isinstance(data.get("meta"), dict):
                data["meta"].pop("token_encoding", None)
    return out


def test_everything_survives_reopening(storage: Storage, reopen: Callable[[], Storage]):
    populate(storage)
    assert reopen().export_all() == storage.export_all()


@pytest.mark.parametrize("target", ["sqlite", "json", "postgres"])
def test_export_then_import_is_the_identity(
    storage: Storage, open_store: Callable[..., Storage], target: str
):
    populate(storage)
    exported = storage.export_all()
    copy = open_store(target, "copy")
    counts = copy.import_all(exported)
    assert counts == {"memories": 3, "docs": 2, "counters": 2}
    assert copy.export_all() == as_imported(exported)
    # Importing again replaces instead of duplicating, and counters never move back.
    copy.set_counter("artifact", 9)
    copy.import_all(exported)
    assert copy.count_memories() == 3
    assert copy.get_counters()["artifact"] == 9


def open_fresh(home: Path, name: str, backend: str) -> Storage:
    """A new, empty store; on postgres a namespace of its own in the shared test database."""
    if backend == "postgres":
        name = f"{name}-{uuid.uuid4().hex[:12]}"
        return open_storage(home, name, backend, database_url=postgres.url())
    return open_storage(home, name, backend)


def reopen_store(store: Storage) -> Storage:
    """A second handle on ``store``'s namespace: what another process would open."""
    path = Path(store.path)
    if store.backend == "postgres":
        # path is the namespace's (unused) local pointer file: <home>/namespaces/<ns>/store.postgres
        return open_storage(
            path.parents[2],
            path.parent.name,
            "postgres",
            database_url=store.url,  # type: ignore[attr-defined]
        )
    ns_dir = path if path.is_dir() else path.parent
    return open_storage(ns_dir.parents[1], ns_dir.name, store.backend)


@contextmanager
def fresh_stores(*backends: str) -> Iterator[list[Storage]]:
    """Stores in a new directory for each hypothesis example (fixtures would be shared)."""
    with tempfile.TemporaryDirectory() as tmp:
        stores = [open_fresh(Path(tmp), f"ns{i}", b) for i, b in enumerate(backends)]
        try:
            yield stores
        finally:
            for store in stores:
                store.close()


SAFE = string.ascii_letters + string.digits + "._-"
safe_names = st.text(SAFE, min_size=1, max_size=12).filter(lambda s: not s.startswith("."))
stamps = st.sampled_from([at(1), at(2), at(3), "2023-12-31T23:59:59.999999+00:00"])
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
# Memories as the application makes them: imports re-validate with Memory.from_dict.
memories = st.builds(
    Memory,
    content=st.text(min_size=1, max_size=60).filter(lambda t: t.strip() and "\x00" not in t),
    id=st.uuids().map(lambda u: u.hex),
    tags=st.lists(
        st.text("abcxyzéü0-_ ", min_size=1, max_size=8).map(str.strip).filter(bool),
        max_size=3,
        unique=True,
    ),
    kind=st.sampled_from(["note", "fact", "decision"]),
    source=st.text(max_size=8),
    importance=st.floats(0.0, 1.0),
    created_at=stamps,
    updated_at=stamps,
    token_count=st.none() | st.integers(0, 10**6),
    token_encoding=st.none() | st.sampled_from(["cl100k_base", "o200k_base"]),
)
documents = st.dictionaries(
    st.tuples(st.sampled_from(["notes", "x-1", "a.b-c_d"]), safe_names),
    st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    max_size=6,
)
contents = st.fixed_dictionaries(
    {
        "memories": st.lists(memories, max_size=8, unique_by=lambda m: m.id),
        "docs": documents,
        "counters": st.dictionaries(
            st.text(min_size=1, max_size=10), st.integers(0, 10**9), max_size=4
        ),
    }
)


def check_trip(data: dict[str, Any], direction: tuple[str, str]) -> None:
    with fresh_stores(*direction) as (source, target):
        source.add_memories(data["memories"])
        for (collection, key), doc in data["docs"].items():
            source.put_doc(collection, key, doc)
        for name, value in data["counters"].items():
            source.set_counter(name, value)
        exported = source.export_all()
        target.import_all(exported)
        assert target.export_all() == as_imported(exported)
        assert exported["counters"] == dict(sorted(data["counters"].items()))
        assert len(exported["memories"]) == len(data["memories"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=contents, direction=st.sampled_from([("json", "sqlite"), ("sqlite", "json")]))
def test_any_content_survives_a_trip_through_the_other_backend(
    data: dict[str, Any], direction: tuple[str, str]
):
    check_trip(data, direction)


def no_nul(text: str) -> bool:
    return "\x00" not in text


# PostgreSQL's text cannot hold NUL (one clear error instead: test_postgres.py); else the same.
contents_without_nul = st.fixed_dictionaries(
    {
        "memories": st.lists(
            memories.filter(lambda m: no_nul(m.source)), max_size=8, unique_by=lambda m: m.id
        ),
        "docs": documents,
        "counters": st.dictionaries(
            st.text(min_size=1, max_size=10).filter(no_nul), st.integers(0, 10**9), max_size=4
        ),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=contents_without_nul,
    direction=st.sampled_from(
        [("postgres", "sqlite"), ("sqlite", "postgres"), ("postgres", "json"), ("json", "postgres")]
    ),
)
def test_any_content_survives_a_trip_through_postgres(
    pg_ready: str, data: dict[str, Any], direction: tuple[str, str]
):
    check_trip(data, direction)


# ranking parity ------------------------------------------------------------------------------

CORPUS = [
    ("Use PostgreSQL for the main database; SQLite only for tests", ["db"], "decision", 1),
    (
        "PostgreSQL connection pooling goes through pgbouncer in transaction mode",
        ["db", "ops"],
        "fact",
        2,
    ),
    ("Redis caches session tokens for fifteen minutes", ["cache"], "fact", 3),
    (
        "Cache invalidation: bump the cache key version on every deploy",
        ["cache", "ops"],
        "pattern",
        4,
    ),
    ("The API returns ISO 8601 timestamps in UTC", ["api"], "fact", 5),
    ("Prefer small pull requests; one concern per PR", [], "preference", 6),
    ("Deploys run from GitHub Actions on tags matching v*", ["ops", "ci"], "fact", 7),
    ("Docker images are built with multi-stage builds to keep them small", ["ops"], "pattern", 8),
    ("Tests must not touch the network; use respx to mock HTTP calls", ["tests"], "preference", 9),
    ("pytest fixtures live in conftest.py next to the tests that use them", ["tests"], "note", 10),
    ("Error: connection refused on port 5432 means postgres is not running", ["db"], "error", 11),
    (
        "Run database migrations with alembic upgrade head before starting the app",
        ["db"],
        "note",
        12,
    ),
    ("Alembic autogenerate misses server defaults; review every migration", ["db"], "insight", 13),
    ("The frontend uses React with TypeScript strict mode", ["web"], "fact", 14),
    ("Use ruff for linting and formatting; black is no longer used", ["tooling"], "decision", 15),
    (
        "Logging goes to stdout as JSON lines; never log secrets or tokens",
        ["ops"],
        "preference",
        16,
    ),
    ("Rate limit: 100 requests per minute per API key", ["api"], "fact", 17),
    ("Caching the API responses in Redis cut latency by half", ["cache", "api"], "insight", 18),
    ("Background jobs run on Celery with Redis as the broker", ["jobs"], "fact", 19),
    ("Celery tasks must be idempotent because they can run twice", ["jobs"], "pattern", 20),
    ("Feature flags are read from environment variables at start-up", ["config"], "fact", 21),
    ("Secrets live in the vault, never in the repository", ["security"], "decision", 22),
    ("Database backups run nightly and are kept for thirty days", ["db", "ops"], "fact", 23),
    ("Index the orders table on customer_id and created_at", ["db"], "decision", 24),
    ("Slow query: orders by customer without an index took 4 seconds", ["db"], "error", 25),
    ("Use UUID primary keys for public identifiers", ["db", "api"], "decision", 26),
    ("The mobile app talks to the same REST API as the web client", ["api"], "fact", 27),
    ("Timeouts: 5 seconds for HTTP calls, 30 seconds for database queries", ["config"], "fact", 28),
    ("Retry HTTP calls with exponential backoff, at most three times", ["api"], "pattern", 29),
    ("Type hints everywhere; mypy runs in strict mode on the core", ["tooling"], "preference", 30),
    ("Dependencies are pinned with uv lock files", ["tooling"], "fact", 31),
    ("Café orders API accepts crème brûlée as a menu item", ["api"], "note", 32),
    ("Redis redis redis: the cache, the broker and the rate limiter", ["cache"], "note", 33),
    ("cache", [], "note", 34),
    ("Database", ["db"], "note", 34),
    ("database", ["db"], "note", 34),
    ("Session cookies are HttpOnly and Secure, SameSite=Lax", ["security", "web"], "fact", 35),
    (
        "Deploy rollbacks: redeploy the previous tag; migrations must be backward compatible",
        ["ops", "db"],
        "pattern",
        36,
    ),
    ("On-call rotation changes every Monday at 10:00", ["ops"], "note", 37),
    (
        "The search endpoint uses postgres full text search with a GIN index",
        ["db", "api"],
        "fact",
        38,
    ),
]
QUERIES = [
    "postgres database",
    "redis cache",
    "how do we deploy",
    "api rate limit",
    "migrations alembic",
    "tests mocking http",
    "index orders customer",
    "the of and",
    "celery jobs idempotent retry",
    "secrets tokens logging",
    "cafe creme",
    "database database database",
    "nonexistentword",
]


def load_corpus(store: Storage) -> None:
    store.add_memories(
        [
            Memory(content=c, tags=t, kind=k, created_at=at(s), id=f"{n:032x}")
            for n, (c, t, k, s) in enumerate(CORPUS)
        ]
    )


def test_bm25_follows_the_fts5_formula(storage: Storage):
    docs = ["alpha beta", "alpha alpha gamma delta", "beta beta beta", "epsilon", "zeta", "eta"]
    storage.add_memories([mem(d, i) for i, d in enumerate(docs)])

    def expected(tf: int, dl: int, hits: int, n: int, avgdl: float) -> float:
        idf = math.log((n - hits + 0.5) / (hits + 0.5))
        idf = idf if idf > 0 else 1e-6  # FTS5 clamps: a term in half the rows still counts a bit
        # Every memory also holds its kind and the day, week and month it was written.
        dl += MEMORY_EXTRA_TERMS
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl))

    avgdl = 12 / 6 + MEMORY_EXTRA_TERMS
    got = {m.content: s for m, s in storage.bm25(["alpha", "beta"], 10)}
    assert got == pytest.approx(
        {
            "alpha beta": 2 * expected(1, 2, 2, 6, avgdl),
            "alpha alpha gamma delta": expected(2, 4, 2, 6, avgdl),
            "beta beta beta": expected(3, 3, 2, 6, avgdl),
        },
        rel=1e-12,
    )
    assert storage.bm25(["epsilon"], 10)[0][1] == pytest.approx(
        expected(1, 1, 1, 6, avgdl), rel=1e-12
    )
    # Two more 'alpha' rows: 4 of 8 rows hold it, so its IDF is clamped to 1e-6.
    storage.add_memories([mem("alpha", 10), mem("alpha", 11)])
    got = {m.created_at: s for m, s in storage.bm25(["alpha"], 10)}
    assert got[at(10)] == pytest.approx(
        expected(1, 1, 4, 8, 14 / 8 + MEMORY_EXTRA_TERMS), rel=1e-12
    )
    assert got[at(10)] < 1e-5


@pytest.mark.parametrize(
    ("tags", "kind"), [((), None), (("db",), None), ((), "fact"), (("api", "cache"), "insight")]
)
def test_backends_rank_the_shared_corpus_identically(
    open_store: Callable[..., Storage], tags: tuple[str, ...], kind: str | None, other: str
):
    sqlite_store, other_store = open_store("sqlite", "s"), open_store(other, "o")
    load_corpus(sqlite_store)
    load_corpus(other_store)
    for query in QUERIES:
        wanted = query_terms(query)
        expected = sqlite_store.bm25(wanted, 10, tags=tags, kind=kind)
        got = other_store.bm25(wanted, 10, tags=tags, kind=kind)
        assert ids([m for m, _ in got]) == ids([m for m, _ in expected]), query
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9), query
        assert [m for m, _ in got] == [m for m, _ in expected]


def test_shared_corpus_has_ties_and_misses():
    # Guards the test above: it must exercise exact ties and empty results, not just easy cases.
    with fresh_stores("sqlite") as (store,):
        load_corpus(store)
        scores = [s for _, s in store.bm25(query_terms("database"), 50)]
        assert len(scores) != len(set(scores))
        assert store.bm25(query_terms("nonexistentword"), 10) == []


def assert_same_ranking(expected: list[tuple[Memory, float]], got: list[tuple[Memory, float]]):
    """Same memories and scores; order compared only between scores that really differ."""
    want = {m.id: s for m, s in expected}
    have = {m.id: s for m, s in got}
    assert have.keys() == want.keys()
    assert have == pytest.approx(want, rel=1e-9)

    def groups(hits: list[tuple[Memory, float]]) -> list[set[str]]:
        out: list[set[str]] = []
        last = None
        for m, s in hits:
            if last is None or not math.isclose(s, last, rel_tol=1e-9):
                out.append(set())
            out[-1].add(m.id)
            last = s
        return out

    assert groups(got) == groups(expected)


WORDS = ["cache", "caching", "cached", "redis", "postgres", "index", "indexes", "query"]
WORDS += ["queries", "deploy", "docker", "the", "and", "test", "tests", "api", "lock"]
texts = st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join)
corpus_memories = st.builds(
    Memory,
    content=texts,
    tags=st.lists(st.sampled_from(["db", "ops", "api"]), max_size=2, unique=True),
    kind=st.sampled_from(["note", "fact"]),
    created_at=st.sampled_from([at(1), at(2), at(3)]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    corpus=st.lists(corpus_memories, min_size=1, max_size=15),
    deleted=st.sets(st.integers(0, 14), max_size=4),
    rewritten=st.dictionaries(st.integers(0, 14), texts, max_size=3),
    queries=st.lists(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), min_size=1, max_size=4
    ),
    tags=st.sampled_from([(), ("db",), ("ops", "api")]),
    kind=st.sampled_from([None, "note"]),
)
def test_backends_rank_random_corpora_alike(
    other: str,
    corpus: list[Memory],
    deleted: set[int],
    rewritten: dict[int, str],
    queries: list[list[str]],
    tags: tuple[str, ...],
    kind: str | None,
):
    # Deterministic ids, so a failing example replays exactly.
    corpus = [replace(m, id=f"{i:032x}") for i, m in enumerate(corpus)]
    with fresh_stores("sqlite", other) as stores:
        for store in stores:
            store.add_memories(corpus)
            store.delete_memories([corpus[i].id for i in deleted if i < len(corpus)])
            for i, text in rewritten.items():
                if i < len(corpus):
                    m = corpus[i]
                    store.update_memory(Memory(content=text, id=m.id, created_at=m.created_at))
        reference, warm = stores
        # A second handle builds its index from what is stored, not from the writes it made.
        cold = reopen_store(warm)
        try:
            for candidate in (warm, cold):
                for words in queries:
                    wanted = [t for w in words for t in terms(w)]
                    assert_same_ranking(
                        reference.bm25(wanted, 1000, tags=tags, kind=kind),
                        candidate.bm25(wanted, 1000, tags=tags, kind=kind),
                    )
                for word in WORDS:
                    (term,) = terms(word)
                    assert candidate.doc_freq(term) == reference.doc_freq(term)
                for first in "acdilpqrt":
                    assert candidate.vocabulary(first) == reference.vocabulary(first)
                assert candidate.count_memories() == reference.count_memories()
        finally:
            cold.close()


def test_backends_index_greek_words_alike(open_store: Callable[..., Storage], other: str):
    stores = [open_store("sqlite", "s"), open_store(other, "o")]
    for store in stores:
        store.add_memories([mem("ο λόγος")])
    assert stores[0].vocabulary("λ") == stores[1].vocabulary("λ")


def test_backends_index_compatibility_letters_alike(open_store: Callable[..., Storage], other: str):
    stores = [open_store("sqlite", "s"), open_store(other, "o")]
    for store in stores:
        store.add_memories([mem("ℕatural numbers")])
    assert stores[0].vocabulary("") == stores[1].vocabulary("")


def test_closing_twice_is_harmless(storage: Storage, reopen: Callable[[], Storage]):
    storage.set_meta("k", "v")
    storage.close()
    storage.close()
    assert reopen().get_meta("k") == "v"


def test_index_stats_are_the_bm25_inputs_and_agree(open_store: Callable[..., Storage], other: str):
    stores = [open_store("sqlite", "s"), open_store(other, "o")]
    texts = ["alpha beta gamma", "alpha delta", "epsilon zeta eta theta iota"]
    for store in stores:
        assert store.index_stats() == (0, 0.0)
        store.add_memories([Memory(content=t, id=f"{i:032x}") for i, t in enumerate(texts)])
    # Three rows; terms: 3 + 2 + 5 (plus none from tags) = 10, and each memory's kind and
    # three time terms, so avgdl 10/3 + 4.
    assert [s.index_stats() for s in stores] == [(3, pytest.approx(10 / 3 + 4))] * 2


def test_candidates_terms_and_neighbours_agree_with_sqlite(
    open_store: Callable[..., Storage], other: str
):
    # What search re-ranks: the candidates with their term counts, and each memory's previous
    # and next turn of its conversation. Every backend must hand search the same.
    turns = [
        mem("deploy the auth_service on friday", 1, source="chat:1", kind="decision"),
        mem("the deploy failed twice, deploy again", 2, source="chat:1"),
        mem("lunch at noon", 3, source="chat:1"),
        mem("deploy notes for the other chat", 4, source="chat:2", tags=["ops"]),
        mem("unrelated memory", 5),
    ]
    stores = [open_store("sqlite", "s"), open_store(other, "o")]
    got = []
    for store in stores:
        store.add_memories(turns)
        found = store.candidates(["deploy", "auth_service"], 3)
        got.append(
            (
                [(mid, m.content, dict(counts)) for mid, (m, counts) in found.items()],
                {mid: dict(c) for mid, (_, c) in store.indexed([turns[1].id, "0" * 32]).items()},
                store.adjacent(turns),
                list(store.candidates(["deploy"], 5, tags=["ops"])),
                list(store.candidates(["deploy"], 5, kind="decision")),
            )
        )
    assert got[0] == got[1]
    ranked, counts, neighbours, tagged, kinded = got[1]
    assert ranked[0][0] == turns[0].id and len(ranked) == 3
    assert counts[turns[1].id]["deploy"] == 2 and counts[turns[1].id]["_kind_note"] == 1
    assert neighbours[turns[1].id] == (turns[0].id, turns[2].id)
    assert neighbours[turns[0].id] == (None, turns[1].id)
    assert neighbours[turns[3].id] == (None, None)
    assert tagged == [turns[3].id] and kinded == [turns[0].id]


def test_limits_past_64_bits_mean_all_on_every_backend(storage: Storage):
    # Found by the fuzz campaign: SQLite could not bind 10**30 (OverflowError inside compile).
    storage.add_memories([mem("one", second=1), mem("two", second=2)])
    storage.put_doc("notes", "a", {"v": 1})
    huge = 10**30
    assert len(storage.list_memories(limit=huge)) == 2
    assert storage.list_memories(limit=huge, offset=huge) == []
    assert len(storage.list_docs("notes", limit=huge)) == 1
    assert len(storage.find_memory_ids("", limit=huge)) == 2
