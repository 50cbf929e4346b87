"""Compile under an agent loop (assembly.py, frozen.py): append-only between planned breaks,
the whole budget used, and events recalled from earlier in the session."""

from __future__ import annotations

import tempfile
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore
from smartcontext_cli.tokens import Tokenizer

BACKENDS = ["sqlite", "json"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = MemoryStore(namespace="loop", storage_backend=request.param, base_dir=tmp_path)
    yield s
    s.close()


@pytest.fixture(scope="module")
def count():
    tokenizer = Tokenizer("cl100k_base")
    return tokenizer.count


def common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def seed(store: MemoryStore, events: int = 20) -> None:
    store.set_goal("Add idempotent refund handling to the payments webhook")
    store.add_task("Write the refund handler")
    store.remember("Payment webhooks may arrive twice; handlers must be idempotent")
    store.remember("Refund requests need the original payment intent id")
    for i in range(events):
        store.add_session_item("user" if i % 2 else "assistant", f"step {i}: looked at file {i}")


def test_the_first_compile_equals_the_second(store):
    seed(store, 300)
    first = store.compile(token_budget=1500).render()
    assert store.compile(token_budget=1500).render() == first
    assert store.compile(token_budget=1500, format="xml").render() != first  # its own slot


def test_a_new_event_is_appended_and_everything_before_it_kept(store):
    seed(store)
    before = store.compile(token_budget=4000).render()
    store.add_session_item("tool", "pytest: 3 failed")
    after = store.compile(token_budget=4000).render()
    session_end = before.index("## Focus") if "## Focus" in before else len(before)
    assert after[:session_end] == before[:session_end]
    assert "pytest: 3 failed" in after


def test_a_relevant_memory_goes_late_and_an_unrelated_one_changes_nothing(store):
    seed(store)
    before = store.compile(token_budget=4000).render()
    store.remember("The office coffee machine is broken")
    assert store.compile(token_budget=4000).render() == before
    store.remember("Refund webhooks carry charge.refunded with the payment intent id")
    after = store.compile(token_budget=4000).render()
    assert "charge.refunded" in after
    shared = common_prefix(before, after)
    assert shared >= before.index("## Session")  # the memories section was not touched
    assert after.index("charge.refunded") > after.index("## Session")
    assert "- memory: Refund webhooks carry" in after


def test_adding_events_never_reorders_memories(store):
    seed(store)
    first = store.compile(token_budget=4000)
    mems = first.sections["memories"]
    for i in range(5):
        store.add_session_item("user", f"later event {i}")
        assert store.compile(token_budget=4000).sections["memories"] == mems


def test_the_window_grows_back_when_the_budget_allows(store, count):
    store.set_max_turns(1000)
    for i in range(200):
        store.add_session_item("user", f"event number {i} of the long session")
    wide = store.compile(token_budget=6000)
    assert (
        sum(
            1
            for d in wide.decisions
            if d["section"] == "observations" and d["outcome"] == "included"
        )
        == 200
    )
    store.compile(token_budget=800)
    again = store.compile(token_budget=6000).render()
    assert again == wide.render()
    assert all(f"event number {i} of" in again for i in range(200))


def test_planned_breaks_re_plan_and_say_why(store):
    seed(store)
    store.compile(token_budget=4000)
    store.set_goal("Ship the refund handler behind a flag")
    ctx = store.compile(token_budget=4000)
    assert ctx.cache_break == "goal changed" and ctx.replanned == "goal changed"
    ctx = store.compile(token_budget=4000, rerank=True)
    assert ctx.cache_break == "--rerank"
    store.mark_cache_break("switching task")
    assert store.compile(token_budget=4000).cache_break == "switching task"
    assert store.compile(token_budget=4000).cache_break is None


def test_a_session_that_outgrows_the_kept_prompt_re_plans_within_budget(store, count):
    store.set_max_turns(10_000)
    store.set_goal("Track the batch jobs")
    breaks: list[int] = []
    for i in range(120):
        store.add_session_item("tool", f"batch {i}: worker {i % 7} processed {i * 13} rows")
        ctx = store.compile(token_budget=600)
        assert count(ctx.render()) <= 600
        assert f"batch {i}:" in ctx.render()  # the newest event is always in
        if ctx.cache_break is not None:
            # the only break this loop can cause, and it says so
            assert ctx.cache_break.startswith("the session outgrew the prompt kept")
            breaks.append(i)
    # 120 events of ~20 tokens outgrow a 600-token prompt again and again ...
    assert len(breaks) >= 4
    # ... but a re-plan refills the window to 70%, so the next break is many events away
    # (a break on every compile would throw the cache away each time).
    assert all(b - a >= 8 for a, b in pairwise(breaks))


def test_old_events_are_recalled_with_their_seq_and_time(store):
    store.set_compression_strategy("none")  # nothing moves to memories: recall must find it
    store.add_session_item("user", "Our staging cluster is called orion-7 and runs in eu-west-1")
    store.add_session_item("assistant", "Noted, orion-7 in eu-west-1.")
    for i in range(300):
        store.add_session_item("user" if i % 2 else "assistant", f"unrelated chatter number {i}")
    ctx = store.compile(query="what is the staging cluster called?", token_budget=1000)
    prompt = ctx.render()
    assert "## Earlier in this session" in prompt
    line = next(x for x in prompt.splitlines() if "orion-7 and runs" in x)
    assert line.startswith("- [#1 · ") and "user: Our staging cluster" in line
    recalled = [d for d in ctx.decisions if d["section"] == "recall" and d["outcome"] != "dropped"]
    assert any("recalled: matches the query" in d["reason"] for d in recalled)
    # never twice: an event in the window is not recalled
    assert prompt.count("Our staging cluster is called orion-7") == 1


def test_an_answer_comes_with_the_question_before_it(store):
    store.set_compression_strategy("none")
    store.add_session_item("user", "Which port does the billing API listen on?")
    store.add_session_item("assistant", "The billing API listens on port 8443 behind nginx.")
    for i in range(300):
        store.add_session_item("user", f"unrelated chatter number {i}")
    prompt = store.compile(query="billing nginx port 8443", token_budget=1000).render()
    earlier = prompt[prompt.index("## Earlier in this session") :]
    assert earlier.index("Which port does the billing API") < earlier.index("port 8443 behind")


def test_compacted_events_are_recalled(store):
    store.add_session_item("user", "The release train leaves every second Tuesday at 14:00")
    for i in range(60):
        store.add_session_item("assistant", f"working on step {i}")
    store.compact_session_schema(preserve_recent=5)
    prompt = store.compile(query="when does the release train leave?", token_budget=800).render()
    assert "every second Tuesday at 14:00" in prompt


def test_the_whole_budget_is_used_when_candidates_remain(store, count):
    for i in range(400):
        store.remember(f"Fact {i}: the deploy stage {i % 9} of service {i} takes {i % 60} s")
    for i in range(300):
        store.add_session_item("user", f"deploy stage {i % 9} checked, service {i} took {i} s")
    for budget in (1000, 4000, 16000):
        ctx = store.compile(query="deploy stage service", token_budget=budget)
        used = count(ctx.render())
        assert budget * 0.98 <= used <= budget, (budget, used)


def test_budget_left_by_a_narrow_query_goes_to_the_goals_memories(store, count):
    store.set_compression_strategy("none")
    store.set_goal("Speed up the deploy pipeline")
    for i in range(1200):
        store.remember(f"Fact {i}: the deploy pipeline stage {i % 9} takes {i % 60} s on {i}")
    for i in range(20):
        store.remember(f"Redis note {i}: eviction policy allkeys-lru on shard {i}")
    for i in range(10):  # a short session: most of the session's share is left over
        store.add_session_item("user", f"step {i} done")
    ctx = store.compile(query="redis eviction", token_budget=12000)
    prompt = ctx.render()
    assert any(d["outcome"] == "dropped" for d in ctx.decisions)  # candidates remain
    assert 12000 * 0.98 <= count(prompt) <= 12000
    assert all(f"Redis note {i}:" in prompt for i in range(20))
    why = [d["reason"].split(":")[0] for d in ctx.decisions if d["section"] == "more_memories"]
    assert why.count("matches the query") == 20  # the query's own, named as such
    tail = [d for d in ctx.decisions if d["reason"].startswith("filled leftover budget")]
    assert tail and all(d["outcome"] != "dropped" for d in tail)


TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=80,
).filter(str.strip)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(TEXT, min_size=1, max_size=60),
    memories=st.lists(TEXT, max_size=20),
    budget=st.integers(60, 3000),
    query=st.sampled_from([None, "deploy", "the", "x y z"]),
)
def test_any_store_compiles_within_budget_and_the_same_twice(events, memories, budget, query):
    with tempfile.TemporaryDirectory() as tmp:
        s = MemoryStore(namespace="h", base_dir=tmp)
        try:
            s.set_goal("deploy the thing")
            for m in memories:
                s.remember(m)
            for i, e in enumerate(events):
                s.add_session_item("user" if i % 2 else "tool", e)
            first = s.compile(query=query, token_budget=budget)
            second = s.compile(query=query, token_budget=budget)
            count = Tokenizer("cl100k_base").count
            assert count(first.render()) <= budget
            assert second.render() == first.render()
            s.add_session_item("user", "one more event")
            third = s.compile(query=query, token_budget=budget)
            assert count(third.render()) <= budget
        finally:
            s.close()


LIST_SECTIONS = ("strategy", "memories", "observations", "recall", "more_memories", "errors")


def explained_items(ctx) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in ctx.decisions:
        if d["outcome"] in ("included", "cut") and d["section"] in LIST_SECTIONS:
            out[d["section"]] = out.get(d["section"], 0) + 1
    return out


def prompt_items(ctx) -> dict[str, int]:
    out: dict[str, int] = {}
    for section, text in ctx.sections.items():
        if section not in LIST_SECTIONS:
            continue
        lines = [x for x in text.split("\n") if x.startswith("- ")]
        lines = [x for x in lines if not x.startswith("- (earlier items not shown")]
        if lines:
            out[section] = len(lines)
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["event", "remember", "compile", "error"]),
            st.sampled_from(["deploy the api", "redis cache", "thanks", "refund webhook"]),
        ),
        min_size=1,
        max_size=40,
    ),
    budget=st.sampled_from([300, 1200, 5000]),
)
def test_explain_lists_exactly_what_each_prompt_holds(steps, budget):
    with tempfile.TemporaryDirectory() as tmp:
        s = MemoryStore(namespace="x", base_dir=tmp, max_session_turns=12)
        try:
            s.set_goal("deploy the refund api")
            s.add_task("Check the redis cache")
            for n, (op, text) in enumerate(steps, 1):
                if op == "event":
                    s.add_session_item("user" if n % 2 else "assistant", f"{text} step {n}")
                elif op == "remember":
                    s.remember(f"{text}: fact {n}")
                elif op == "error":
                    s.log_error("deploy", f"timeout {n % 3}")
                else:
                    ctx = s.compile(query=text, token_budget=budget)
                    assert explained_items(ctx) == prompt_items(ctx)
            ctx = s.compile(token_budget=budget)
            assert explained_items(ctx) == prompt_items(ctx)
        finally:
            s.close()


def test_no_candidate_cap_below_what_the_budget_holds(tmp_path, count):
    from smartcontext_cli.models import Memory

    s = MemoryStore(namespace="many", base_dir=tmp_path)
    s.storage.add_memories([Memory(content=f"cache note {i}") for i in range(2500)])
    ctx = s.compile(query="cache note", token_budget=30_000)
    included = sum(
        1
        for d in ctx.decisions
        if d["item"].startswith("memory ") and d["outcome"] in ("included", "cut")
    )
    assert included == 2500  # the old cap ranked 1,500 at most at this budget
    assert count(ctx.render()) <= 30_000
    s.close()
