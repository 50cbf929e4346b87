"""Search quality through the public API, on both backends.

What a user notices: the most relevant memory comes first (BM25: rare words weigh more, focused
memories beat long ones), an exact phrase and a matching tag lift a memory, typos still find
their memory, importance and recency only break near-ties, filters and limits hold, both
backends answer alike, and no text whatsoever makes search raise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fixtures import postgres
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore, UsageError

BACKENDS = ("sqlite", "json", "postgres")
OTHERS = ("json", "postgres")  # compared with SQLite
NOW = datetime.now(timezone.utc)


def ago(days: float = 0.0, seconds: float = 0.0) -> str:
    return (NOW - timedelta(days=days, seconds=seconds)).isoformat(timespec="microseconds")


def mem(content: str, key: str, days: float = 1.0, **fields: Any) -> dict[str, Any]:
    """A memory record with a readable, stable id derived from ``key``."""
    record = {"content": content, "id": uuid.uuid5(uuid.NAMESPACE_URL, key).hex}
    record["created_at"] = record["updated_at"] = ago(days)
    record.update(fields)
    return record


def mid(key: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, key).hex


def top(store: MemoryStore, query: str, limit: int = 5, **kw: Any) -> list[str]:
    return [m.id for m in store.search(query, limit=limit, **kw)]


def open_store(backend: str, namespace: str, base_dir: Path, url: str | None = None) -> MemoryStore:
    """A MemoryStore on ``backend``; postgres uses the test database (skips where none runs)."""
    if backend == "postgres":
        url = url or postgres.url()
    return MemoryStore(
        namespace=namespace, storage_backend=backend, base_dir=base_dir, database_url=url
    )


@pytest.fixture(params=BACKENDS)
def make_store(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    opened: list[MemoryStore] = []
    if request.param == "postgres":
        # For the stores a test opens itself, as a team member's configuration would.
        monkeypatch.setenv("SMARTCONTEXT_DATABASE_URL", postgres.url())
        monkeypatch.setenv("SMARTCONTEXT_BACKEND", "postgres")

    def make(records: list[dict[str, Any]], namespace: str = "search") -> MemoryStore:
        store = open_store(request.param, namespace, tmp_path)
        store.import_all({"memories": records})
        opened.append(store)
        return store

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for store in opened:
        store.close()
    if request.param == "postgres":
        postgres.reset(postgres.url())


# A small realistic corpus: what a team's project memory looks like.
CORPUS = [
    mem("We chose PostgreSQL 16 for the main database", "pg", 30, tags=["db"], kind="decision"),
    mem("PostgreSQL connection pooling goes through pgbouncer", "pool", 29, tags=["db", "ops"]),
    mem("Deploys run on Kubernetes in the staging cluster", "k8s", 28, tags=["infra"], kind="fact"),
    mem("The Kubernetes ingress terminates TLS", "ingress", 27, tags=["infra"], kind="fact"),
    mem("API uses JWT; tokens expire after 1h", "jwt", 26, tags=["auth"], kind="fact"),
    mem("Never log raw tokens or passwords", "log", 25, tags=["auth", "security"], kind="decision"),
    mem("Buttons use the brand blue colour", "ui", 24, kind="preference"),
    mem("Redis caches session data for 15 minutes", "redis", 23, tags=["cache"]),
    mem("Run the test suite with pytest -q before pushing", "tests", 22, kind="preference"),
    mem("The billing service talks to Stripe webhooks", "billing", 21),
    mem("Migrations are written with Alembic and reviewed twice", "alembic", 20, kind="decision"),
    mem("Logs ship to Loki; dashboards live in Grafana", "grafana", 19, tags=["ops"]),
    mem("Lunch is at noon on Fridays", "lunch", 18),
    mem("The mobile app is written in Kotlin and Swift", "mobile", 17),
]


# relevance --------------------------------------------------------------------------------------


def test_relevant_memories_first_and_unrelated_ones_never(make_store):
    store = make_store(CORPUS)
    assert top(store, "database", 1) == [mid("pg")]
    assert set(top(store, "kubernetes")) == {mid("k8s"), mid("ingress")}
    hits = store.search("postgresql", limit=10)
    assert {m.id for m in hits} == {mid("pg"), mid("pool")}
    assert all(m.score > 0 for m in hits)
    assert [m.score for m in hits] == sorted((m.score for m in hits), reverse=True)


def test_results_are_memory_objects_with_fields(make_store):
    store = make_store(CORPUS)
    hit = store.search("stripe webhooks", limit=1)[0]
    assert (hit.id, hit.content, hit.tags, hit.kind) == (
        mid("billing"),
        "The billing service talks to Stripe webhooks",
        [],
        "note",
    )
    assert hit.score > 0


def test_rare_words_weigh_more_than_common_ones(make_store):
    records = [mem(f"postgres note number {i}", f"common{i}", 10 + i) for i in range(6)]
    records.append(mem("postgres vacuum settings", "rare", 20))
    records.append(mem("vacuum the office on Mondays", "office", 1))
    store = make_store(records)
    # 'vacuum' is in two memories, 'postgres' in seven: the memory with both wins, and the one
    # with only the rare word beats those with only the common one.
    ranked = top(store, "postgres vacuum", 3)
    assert ranked[:2] == [mid("rare"), mid("office")]


def test_more_matching_words_beat_fewer(make_store):
    store = make_store(CORPUS)
    assert top(store, "kubernetes staging cluster", 1) == [mid("k8s")]
    assert top(store, "postgresql pgbouncer", 1) == [mid("pool")]


def test_stemming_matches_word_forms(make_store):
    store = make_store(CORPUS)
    assert top(store, "deploying", 1) == [mid("k8s")]
    assert top(store, "token", 2)[0] in (mid("jwt"), mid("log"))
    assert top(store, "migration", 1) == [mid("alembic")]


# boosts ----------------------------------------------------------------------------------------


def test_exact_phrase_outranks_the_same_words_in_another_order(make_store):
    # Same words, same length: BM25 ties; the phrase decides although the other is newer.
    store = make_store(
        [
            mem("the pool connection is full again", "scrambled", 1),
            mem("the connection pool is full again", "phrase", 5),
            *CORPUS,
        ]
    )
    for query, first, second in [
        ("connection pool", "phrase", "scrambled"),
        ('"connection pool"', "phrase", "scrambled"),
        ("pool connection", "scrambled", "phrase"),
    ]:
        ranked = top(store, query, 5)
        assert ranked[0] == mid(first), query
        assert ranked.index(mid(first)) < ranked.index(mid(second)), query


def test_matching_tag_lifts_an_otherwise_identical_memory(make_store):
    # Both index the same terms ("token refresh flow auth"); only one has it as a tag.
    store = make_store(
        [
            mem("token refresh flow auth", "untagged", 1),
            mem("token refresh flow", "tagged", 5, tags=["auth"]),
            *CORPUS,
        ]
    )
    assert top(store, "auth", 1) == [mid("tagged")]
    assert top(store, "token refresh flow", 2) == [mid("untagged"), mid("tagged")]


# typos -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("postgre", "pg"),
        ("postgress", "pg"),
        ("kubernets", "k8s"),
        ("kuberntes staging", "k8s"),
        ("pgbouncr", "pool"),
        ("grafna", "grafana"),
        ("alembik", "alembic"),
    ],
)
def test_typos_still_find_their_memory(make_store, query, expected):
    store = make_store(CORPUS)
    ranked = top(store, query, 2)
    if expected in ("pg", "k8s"):  # two memories share the word: either may come first
        assert mid(expected) in ranked, (query, ranked)
    else:
        assert ranked[0] == mid(expected), (query, ranked)


def test_typo_tolerance_does_not_invent_matches(make_store):
    store = make_store(CORPUS)
    assert store.search("xylophone", limit=5) == []
    assert store.search("qqqq zzzz", limit=5) == []


# prior: importance and recency break near-ties only -------------------------------------------


def test_importance_breaks_a_tie(make_store):
    store = make_store(
        [
            # Not the same text (that would be a duplicate, collapsed): the same score.
            mem("retry failed jobs three times", "low", 3, importance=0.1),
            mem("retry failed jobs four times", "high", 3, importance=0.9),
            *CORPUS,
        ]
    )
    assert top(store, "retry jobs", 2) == [mid("high"), mid("low")]


def test_recency_breaks_a_tie(make_store):
    store = make_store(
        [
            mem("feature flags live in LaunchDarkly", "old", 400),
            mem("feature flags stay in LaunchDarkly", "new", 0.5),
            *CORPUS,
        ]
    )
    assert top(store, "feature flags", 2) == [mid("new"), mid("old")]


def test_prior_never_overrides_clear_relevance(make_store):
    store = make_store(
        [
            # Old and unimportant, but about exactly what is asked.
            mem("rotate the signing keys every quarter", "relevant", 900, importance=0.0),
            # Brand new and maximal importance, but only mentions one word in passing.
            mem(
                "quarter planning happens in the big room with snacks and slides",
                "loud",
                0.0,
                importance=1.0,
            ),
            *CORPUS,
        ]
    )
    assert top(store, "rotate signing keys quarter", 2) == [mid("relevant"), mid("loud")]


# limit and filters -----------------------------------------------------------------------------


def test_limit(make_store):
    store = make_store(CORPUS)
    assert len(store.search("the", limit=3)) == 3
    assert len(store.search("kubernetes", limit=1)) == 1
    assert store.search("kubernetes", limit=0) == []
    assert len(store.search("postgresql")) == 2  # the default limit is 5; only 2 match
    with pytest.raises(UsageError):
        store.search("kubernetes", limit=-1)


def test_tag_and_kind_filters(make_store):
    store = make_store(CORPUS)
    hits = store.search("tokens passwords postgresql", limit=10, tags=["auth"])
    assert {m.id for m in hits} == {mid("jwt"), mid("log")}
    assert all("auth" in m.tags for m in hits)
    both = store.search("tokens", limit=10, tags=["auth", "security"])
    assert [m.id for m in both] == [mid("log")]
    facts = store.search("kubernetes tokens", limit=10, kind="fact")
    assert {m.id for m in facts} == {mid("k8s"), mid("ingress"), mid("jwt")}
    assert store.search("kubernetes", tags=["AUTH"], limit=10) == []  # tags are case-folded
    assert [m.id for m in store.search("", tags=["Security"], limit=10)] == [mid("log")]


def test_empty_query_with_filters_returns_newest_matching(make_store):
    store = make_store(CORPUS)
    assert top(store, "", 3, kind="fact") == [mid("jwt"), mid("ingress"), mid("k8s")]


def test_empty_query_ties_go_to_the_newest(make_store):
    # Memories written a second apart have the same prior to six decimals: the newest must
    # come first, as everywhere else in search and in list.
    store = make_store(
        [
            mem(f"note {i}", f"n{i}", seconds_ago)
            for i, seconds_ago in enumerate([3 / 86400, 2 / 86400, 1 / 86400])
        ]
    )
    assert top(store, "", 3) == [mid("n2"), mid("n1"), mid("n0")]
    assert top(store, "?", 2) == [mid("n2"), mid("n1")]


# both backends alike ----------------------------------------------------------------------------

PARITY_QUERIES = [
    "database",
    "postgre",
    "kubernets cluster",
    "tokens",
    "the",
    "connection pool",
    '"brand blue"',
    "redis session cache",
    "pytest",
    "x",
    "",
    "?",
    "grafana loki dashboards",
    "logs",
    "written",
    "noon",
    "swift kotlin",
    "webhook",
    "reviewed twice",
]


@pytest.mark.parametrize("other", OTHERS)
def test_backends_return_the_same_results(tmp_path, other):
    stores = [open_store(b, f"parity-{b}", tmp_path) for b in ("sqlite", other)]
    for store in stores:
        store.import_all({"memories": CORPUS})
    try:
        for query in PARITY_QUERIES:
            for kw in ({}, {"kind": "fact"}, {"tags": ["db"]}):
                sqlite_hits, other_hits = (s.search(query, limit=5, **kw) for s in stores)
                assert [m.id for m in sqlite_hits] == [m.id for m in other_hits], (query, kw)
                for a, b in zip(sqlite_hits, other_hits, strict=True):
                    assert a.score == pytest.approx(b.score, rel=1e-6), (query, kw)
    finally:
        for store in stores:
            store.close()
        if other == "postgres":
            postgres.reset(postgres.url())


def test_results_survive_a_restart(make_store, tmp_path):
    store = make_store(CORPUS)
    before = [(m.id, m.score) for m in store.search("postgresql pooling", limit=5)]
    store.close()
    again = MemoryStore(namespace="search", base_dir=tmp_path)
    try:
        assert again.backend == make_store.backend
        after = [(m.id, m.score) for m in again.search("postgresql pooling", limit=5)]
        assert [i for i, _ in after] == [i for i, _ in before]
    finally:
        again.close()


# any text is a query ----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=OTHERS)
def hypothesis_stores(tmp_path_factory, request) -> Iterator[list[MemoryStore]]:
    base = tmp_path_factory.mktemp("anytext")
    # A database of its own: tests in between empty the shared one.
    url = postgres.fresh_database() if request.param == "postgres" else None
    stores = [open_store(b, f"any-{b}", base, url) for b in ("sqlite", request.param)]
    for store in stores:
        store.import_all({"memories": CORPUS})
    yield stores
    for store in stores:
        store.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    query=st.text() | st.sampled_from(['"', "NEAR(", "AND (", "col:x", "*", "^x", "a OR", "\\"]),
    limit=st.integers(0, 12),
)
def test_any_text_query_never_raises_and_respects_the_limit(hypothesis_stores, query, limit):
    results = [store.search(query, limit=limit) for store in hypothesis_stores]
    for hits in results:
        assert len(hits) <= limit
        assert [m.score for m in hits] == sorted((m.score for m in hits), reverse=True)
        assert len({m.id for m in hits}) == len(hits)
    assert [m.id for m in results[0]] == [m.id for m in results[1]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_abbreviations_and_longer_forms_find_each_other(home, backend: str) -> None:
    store = open_store(backend, f"abbrev-{uuid.uuid4().hex[:8]}", home)
    auth = store.remember("API uses OAuth2", tags=["research", "auth"])
    store.remember("The cafeteria opens at nine")
    assert [m.id for m in store.search("authentication")] == [auth.id]
    db = store.remember("Reporting runs on the analytics warehouse")
    assert db.id in [m.id for m in store.search("analyt")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_short_answer_outranks_a_long_text_repeating_the_words(home, backend: str) -> None:
    # Chat logs and tool output repeat the question's words; the note that answers is short.
    store = open_store(backend, f"length-{uuid.uuid4().hex[:8]}", home)
    # FTS5's own bm25 (k1=1.2, b=0.75) puts this long text first; the re-scoring must not.
    filler = " ".join(f"w{i}" for i in range(20))
    # Four repetitions at five times the length: BM25 (k1=1.2, b=1) saturates the counts and
    # charges the length; at six and more the two meet, whatever b.
    store.remember(" ".join(["deploy window"] * 4) + f" {filler} notes from the retro")
    answer = store.remember("Deploy window: Tuesdays 10-12 UTC")
    for i in range(30):  # a store large enough for the idf of 'deploy' to be meaningful
        store.remember(f"unrelated note {i} about lunch")
    assert store.search("deploy window", limit=1)[0].id == answer.id


def test_postgres_also_corrects_a_typo_in_the_first_letter(tmp_path):
    # The one documented difference between backends: PostgreSQL's trigram index (pg_trgm)
    # finds "kubernetes" for "ubernetes"; SQLite and JSON look only at terms sharing the first
    # two letters (or both swapped) and find nothing. Other typos expand alike on every backend.
    stores = {b: open_store(b, f"first-{uuid.uuid4().hex[:8]}", tmp_path) for b in BACKENDS}
    try:
        for store in stores.values():
            store.import_all({"memories": CORPUS})
        for query, meant in (("ubernetes", {"k8s", "ingress"}), ("ostgresql", {"pg", "pool"})):
            assert top(stores["sqlite"], query) == top(stores["json"], query) == []
            assert set(top(stores["postgres"], query)) == {mid(key) for key in meant}
        for query in ("kubernets", "postgress", "pgbouncr"):
            assert top(stores["postgres"], query) == top(stores["sqlite"], query) != []
    finally:
        for store in stores.values():
            store.close()


@pytest.mark.parametrize(
    ("query", "speaker"),
    [
        ("Can you remind me what I said about the release freeze?", "user"),
        ("Could you tell me when I planned the release freeze?", "user"),
        ("What did you suggest for the release freeze?", "assistant"),
        # A summary is of both speakers' turns: the better words win, not the user's turn.
        ("Can you summarize what I decided about the release freeze at noon?", "assistant"),
    ],
)
def test_a_question_finds_the_turn_of_the_speaker_it_asks_about(make_store, query, speaker):
    # A request ("can you ...") names the assistant only as the one asked: the question is
    # about the user's turns. Both turns hold the same words at the same length.
    store = make_store(
        [
            mem("the release freeze starts friday noon", "u", 2, tags=["user"], source="c:1"),
            mem("release freeze starts friday at noon", "a", 1, tags=["assistant"], source="c:1"),
            *(mem(f"lunch menu item {i}", f"n{i}", 3) for i in range(20)),
        ]
    )
    assert top(store, query, limit=1) == [mid("u" if speaker == "user" else "a")]


def test_words_about_the_conversation_itself_do_not_rank(make_store):
    # "discussed", "earlier", "conversation": every turn of a chat is about the conversation;
    # a turn saying so is no better an answer.
    store = make_store(
        [
            mem("we discussed this earlier in the conversation", "meta", 1),
            mem("the staging database moves to eu-west-2", "db", 2),
            *(mem(f"lunch menu item {i}", f"n{i}", 3) for i in range(20)),
        ]
    )
    assert top(store, "What did we discuss earlier about the staging database?") == [mid("db")]


# Near-duplicate collapsing ------------------------------------------------------------------


def _brute_collapse(texts: list[str], limit: int) -> list[tuple[int, list[int]]]:
    """collapse() by its definition: each hit against every kept one."""
    from smartcontext_cli import search

    kept: list[tuple[int, list[int]]] = []
    sets: list[set[str]] = []
    for i, text in enumerate(texts):
        mine = search._shingles(text)
        twin = next(
            (
                k
                for k, other in enumerate(sets)
                if mine
                and other
                and len(mine & other) >= search.DUPLICATE_JACCARD * len(mine | other)
            ),
            None,
        )
        if twin is not None:
            kept[twin][1].append(i)
            continue
        if len(kept) == limit:
            break
        kept.append((i, []))
        sets.append(mine)
    return kept


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]), max_size=12
        ).map(" ".join),
        max_size=40,
    ),
    st.integers(1, 40),
)
def test_collapse_folds_exactly_the_near_duplicates_its_definition_names(
    texts: list[str], limit: int
) -> None:
    from smartcontext_cli import search
    from smartcontext_cli.models import Memory

    hits = [
        search.Hit(Memory(content=t, id=f"{i:032x}"), 1.0, None, {}, 0.0, 0, (None, None))  # type: ignore[arg-type]
        for i, t in enumerate(texts)
    ]
    got = [
        (int(h.memory.id, 16), [int(c, 16) for c in h.collapsed])
        for h in search.collapse(hits, {}, limit)
    ]
    assert got == _brute_collapse(texts, limit)
