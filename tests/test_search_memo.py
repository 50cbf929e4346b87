"""Search results kept between compiles (``search_memo``): never stale, on both embedded backends.

A long-running process (the MCP server, an agent using the library) keeps the memories compile
ranked while nothing changed them. The invariant: whatever happened since, through this store
or another process's, what compile ranks is what a fresh search ranks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore

WORDS = ["deploy", "redis", "cache", "pipeline", "worker", "batch", "login", "token", "schema"]


@pytest.fixture(params=["sqlite", "json"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def relevant(store: MemoryStore, text: str, budget: int = 4000) -> list[tuple[str, float]]:
    found, _ = store._relevant(text, budget)
    return [(m.id, m.score) for m in found]


def fresh(store: MemoryStore, text: str, budget: int = 4000) -> list[tuple[str, float]]:
    store.search_memo.clear()
    return relevant(store, text, budget)


def test_a_repeated_compile_ranks_once(home: Path, backend: str) -> None:
    store = MemoryStore(namespace="memo", storage_backend=backend)
    store.set_goal("Speed up the deploy pipeline")
    for i in range(30):
        store.remember(f"The deploy pipeline step {i} caches redis keys", kind="fact")
    store.compile(token_budget=2000)
    # JSON: the first compile stores the memories' token counts, a memory write like any other.
    store.compile(token_budget=2000)
    misses = store.search_memo.misses
    store.add_session_item("user", "an event does not change the memories")
    second = store.compile(token_budget=2000)
    assert store.search_memo.misses == misses
    assert store.search_memo.hits >= 1
    assert "step 29" in second.to_prompt()
    store.close()


def test_another_process_remembering_is_seen(home: Path, backend: str) -> None:
    agent = MemoryStore(namespace="memo", storage_backend=backend)
    agent.set_goal("Fix the login token refresh")
    agent.remember("Tokens expire after an hour", kind="fact")
    first = agent.compile(token_budget=2000)
    assert "sliding window" not in first.to_prompt()
    other = MemoryStore(namespace="memo", storage_backend=backend)
    other.remember("Login token refresh uses a sliding window", kind="decision")
    other.close()
    assert "sliding window" in agent.compile(token_budget=2000).to_prompt()
    forgotten = MemoryStore(namespace="memo", storage_backend=backend)
    forgotten.forget(forgotten.search("sliding window", limit=1)[0].id)
    forgotten.close()
    assert "sliding window" not in agent.compile(token_budget=2000).to_prompt()
    agent.close()


def test_a_hit_is_a_copy(home: Path, backend: str) -> None:
    store = MemoryStore(namespace="memo", storage_backend=backend)
    store.remember("redis cache warmup", tags=["ops"])
    found, _ = store._relevant("redis cache", 2000)
    found[0].tags.append("edited")
    found[0].content = "edited"
    again, _ = store._relevant("redis cache", 2000)
    assert again[0].content == "redis cache warmup" and again[0].tags == ["ops"]
    store.close()


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("remember"),
            st.sampled_from(["self", "other"]),
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
            st.sampled_from(["note", "fact", "decision"]),
        ),
        st.tuples(st.just("forget"), st.sampled_from(["self", "other"]), st.integers(0, 50)),
        st.tuples(st.just("event"), st.just("self"), st.lists(st.sampled_from(WORDS), max_size=3)),
        st.tuples(st.just("compile"), st.just("self"), st.sampled_from([300, 2000, 20000])),
        st.tuples(st.just("search"), st.just("self"), st.lists(st.sampled_from(WORDS), min_size=1)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_memoised_results_agree_with_a_fresh_search(
    home: Path, backend: str, tmp_path_factory: pytest.TempPathFactory, ops: list[tuple]
) -> None:
    namespace = f"memo-{tmp_path_factory.mktemp('n').name}"
    agent = MemoryStore(namespace=namespace, storage_backend=backend)
    other = MemoryStore(namespace=namespace, storage_backend=backend)
    judge = MemoryStore(namespace=namespace, storage_backend=backend)
    agent.set_goal("deploy the redis cache pipeline")
    try:
        for op in ops:
            who = agent if op[1] == "self" else other
            if op[0] == "remember":
                who.remember(" ".join(op[2]), kind=op[3])
            elif op[0] == "forget":
                ids = [m.id for m in who.list(limit=100)]
                if ids:
                    who.forget(ids[op[2] % len(ids)])
            elif op[0] == "event":
                agent.add_session_item("user", " ".join(op[2]) or "ok")
            elif op[0] == "compile":
                agent.compile(token_budget=op[2])
            else:
                agent.search(" ".join(op[2]))
            if not agent.exists:
                continue
            for text, budget in (("deploy the redis cache pipeline", 2000), ("token login", 20000)):
                assert relevant(agent, text, budget) == fresh(judge, text, budget)
    finally:
        for s in (agent, other, judge):
            s.close()
