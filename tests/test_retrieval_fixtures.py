"""Retrieval on developer notes: identifiers, paths, versions, code, typos, kinds, times.

The fixture set (tests/fixtures/retrieval_cases.py) covers what BEAM-100K lacks. The rule a
user relies on most: a query naming an exact identifier puts the memory holding it first,
always, on every backend, whatever else the query or the store holds (a property test).
"""

from __future__ import annotations

import pytest
from fixtures.retrieval_cases import CASES, MEMORIES, NOW, created_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.models import Memory
from smartcontext_cli.search import rank, search
from smartcontext_cli.storage import open_at
from smartcontext_cli.text import split_words


@pytest.fixture(scope="module", params=["sqlite", "json"])
def fixture_store(request, tmp_path_factory):
    storage = open_at(tmp_path_factory.mktemp(request.param) / "ns", request.param)
    storage.add_memories(
        [
            Memory(
                content=content,
                id=f"m-{key}",
                tags=tags,
                kind=kind,
                created_at=created_at(days),
            )
            for key, (content, tags, kind, days) in MEMORIES.items()
        ]
    )
    yield storage
    storage.close()


@pytest.mark.parametrize(("category", "query", "expected", "within"), CASES)
def test_fixture_case(fixture_store, category, query, expected, within):
    ranked = [m.id for m in search(fixture_store, query, limit=5, now=NOW)]
    assert f"m-{expected}" in ranked[:within], (category, query, ranked)


def test_both_backends_rank_every_case_alike(tmp_path):
    stores = []
    for backend in ("sqlite", "json"):
        s = open_at(tmp_path / backend, backend)
        s.add_memories(
            [
                Memory(content=c, id=f"m-{k}", tags=t, kind=kind, created_at=created_at(d))
                for k, (c, t, kind, d) in MEMORIES.items()
            ]
        )
        stores.append(s)
    try:
        for _, query, _, _ in CASES:
            a, b = (rank(s, query, 5, now=NOW) for s in stores)
            assert [h.memory.id for h in a] == [h.memory.id for h in b], query
            assert [h.score for h in a] == [h.score for h in b], query  # exactly, unrounded
    finally:
        for s in stores:
            s.close()


def test_explain_names_the_terms_and_boosts(fixture_store):
    hit = rank(fixture_store, "what did we decide about the database", 1, now=NOW)[0]
    why = hit.explain()
    assert hit.memory.id == "m-decision-db"
    assert set(why["terms"]) >= {"decid", "_kind_decision"}
    assert why["boosts"]["kind"] > 1.0
    assert why["score"] == hit.score


IDENT = st.from_regex(r"[a-z]{3,8}(_[a-z]{3,8}|-[a-z]{3,8}|[A-Z][a-z]{2,6})", fullmatch=True)
WORD = st.sampled_from(
    ["deploy", "token", "user", "service", "config", "retry", "cache", "error", "build", "release"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ident=IDENT,
    fillers=st.lists(st.lists(WORD, min_size=1, max_size=12), min_size=1, max_size=12),
    extra=st.lists(WORD, max_size=4),
    backend=st.sampled_from(["sqlite", "json"]),
)
def test_an_exact_identifier_query_always_puts_its_memory_first(
    tmp_path_factory, ident, fillers, extra, backend
):
    # Other memories hold the identifier's words (and the query's other words) many times
    # over; only one holds the identifier itself.
    parts = " ".join(split_words(ident))
    storage = open_at(tmp_path_factory.mktemp("prop") / "ns", backend)
    try:
        memories = [
            Memory(content=f"{parts} {parts} {' '.join(words)} {' '.join(extra)}", id=f"f{i}")
            for i, words in enumerate(fillers)
        ]
        memories.append(Memory(content=f"see {ident} for details", id="holder"))
        storage.add_memories(memories)
        query = " ".join([ident, *extra])
        ranked = search(storage, query, limit=3)
        assert ranked and ranked[0].id == "holder", (query, [m.id for m in ranked])
    finally:
        storage.close()
