"""MemoryStore.compile: gathering from a real store, recording, caching, modes, stats, explain.

Every test runs on both backends; "restart" means a new MemoryStore (or a new process) on the
same data directory.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartcontext_cli import MemoryStore
from smartcontext_cli.errors import NotFoundError, UsageError
from smartcontext_cli.tokens import Tokenizer

CONTRACT_KEYS = {
    "id",
    "created_at",
    "mode",
    "budget",
    "encoding",
    "total_tokens",
    "sections",
    "allocation",
    "quality",
    "decisions",
    "blocks",
    "cache_break",
    "branch",
}


@pytest.fixture(params=["sqlite", "json"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(home: Path, backend: str):
    s = MemoryStore(namespace="proj", storage_backend=backend)
    yield s
    s.close()


def reopen(store: MemoryStore) -> MemoryStore:
    return MemoryStore(namespace=store.namespace, storage_backend=store.backend)


def populate(store: MemoryStore) -> None:
    store.set_goal("Implement the OAuth2 login flow with token refresh")
    store.remember("API uses JWT; tokens expire after 1h", tags=["auth"], kind="fact")
    store.remember("Never log raw tokens", tags=["auth", "security"], kind="decision")
    store.remember("The billing database is PostgreSQL 16", tags=["db"])
    store.add_session_item("user", "Please add a refresh endpoint")
    store.add_session_item("assistant", "Added /auth/refresh; tests pending")
    store.add_task("Write tests for refresh")
    store.log_error("pytest", "AssertionError: expected 200, got 401")
    store.store_artifact("auth_service.py", "def refresh():\n    pass\n")
    store.set_stable_prefix("You are a careful senior engineer.\n")
    store.initialize_strategy(domain="auth")
    store.update_strategy("add_heuristic", "Validate tokens at the API boundary")


def test_compile_gathers_the_whole_working_state(store: MemoryStore) -> None:
    populate(store)
    ctx = store.compile(token_budget=4000)
    prompt = ctx.to_prompt()
    assert prompt.startswith("You are a careful senior engineer.\n")
    sections = ctx.sections
    assert "Implement the OAuth2 login flow" in sections["goal"]
    assert "Validate tokens at the API boundary" in sections["strategy"]
    assert "Never log raw tokens" in sections["memories"] and "JWT" in sections["memories"]
    assert "PostgreSQL" not in prompt  # not relevant to the goal
    assert "#a1 auth_service.py" in sections["artifacts"]
    assert "AssertionError: expected 200, got 401" in sections["errors"]
    assert sections["observations"].index("refresh endpoint") < sections["observations"].index(
        "Added"
    )
    assert prompt.endswith("Write tests for refresh\n")
    assert Tokenizer().count(prompt) == ctx.total_tokens <= 4000


def test_query_chooses_the_memories(store: MemoryStore) -> None:
    populate(store)
    ctx = store.compile(query="which database for billing")
    # The query's memories fill the tail; the head keeps following the goal, so a changing
    # query never moves the cached start of the prompt.
    assert "PostgreSQL 16" in ctx.sections["more_memories"]
    assert "PostgreSQL 16" not in ctx.sections.get("memories", "")
    assert "Implement the OAuth2" in ctx.sections["goal"]  # the goal is still the goal
    head = ctx.sections.get("memories", "")
    again = store.compile(query="how do tokens expire")
    assert again.sections.get("memories", "") == head
    assert "PostgreSQL 16" not in again.render()


def test_ad_hoc_items_join_and_rank_first(store: MemoryStore) -> None:
    populate(store)
    ctx = store.compile(
        memories=["Refresh tokens rotate on use"],
        observations=["CI is green"],
        system=["Answer in English."],
    )
    assert ctx.sections["memories"].startswith(
        "## Relevant memories\n- Refresh tokens rotate on use\n"
    )
    assert ctx.sections["observations"].rstrip().endswith("- CI is green")
    assert ctx.sections["system"] == "Answer in English.\n"


def test_every_compile_is_recorded_per_the_contract(store: MemoryStore) -> None:
    populate(store)
    ctx = store.compile(token_budget=3000)
    doc = store.storage.get_doc("compilations", f"{ctx.compile_id:08d}")
    assert set(doc) >= CONTRACT_KEYS
    assert doc["id"] == ctx.compile_id and doc["budget"] == 3000 and doc["branch"] == "main"
    blocks = [[hashlib.sha256(b.text.encode()).hexdigest()[:16], b.tokens] for b in ctx.blocks]
    assert doc["blocks"] == blocks and sum(n for _, n in blocks) == doc["total_tokens"]
    assert "".join(b.text for b in ctx.blocks) == ctx.to_prompt()
    assert doc["sections"] == ctx.section_tokens and doc["quality"] == ctx.quality_score
    outcomes = {d["outcome"] for d in doc["decisions"]}
    assert outcomes <= {"included", "cut", "dropped"} and "included" in outcomes
    again = reopen(store)  # restart: the record and explain survive
    assert again.explain_compilation()["compile_id"] == ctx.compile_id
    again.close()


def test_counts_are_stored_so_the_next_compile_needs_no_tokenizer(
    store: MemoryStore, home: Path
) -> None:
    populate(store)
    ctx = store.compile()
    stored = [m for m in store.list(limit=None) if m.token_count is not None]
    assert stored and all(m.token_encoding.startswith("cl100k_base:") for m in stored)
    memories_text = ctx.sections["memories"]
    for m in stored:
        if m.content in memories_text:
            assert m.token_count == Tokenizer().count(f"- {m.content}\n")
    code = (
        "import sys\nfrom smartcontext_cli import MemoryStore\n"
        f"s = MemoryStore(namespace='proj', storage_backend='{store.backend}')\n"
        "print(s.compile().to_prompt(), end='')\n"
        "print('tiktoken' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SMARTCONTEXT_HOME": str(home)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "False"  # warm caches: tiktoken was never imported
    assert proc.stdout == ctx.to_prompt()  # and a new process gives the same bytes


def test_the_same_store_gives_the_same_prompt(store: MemoryStore) -> None:
    populate(store)
    first = store.compile(token_budget=500).to_prompt()
    assert reopen(store).compile(token_budget=500).to_prompt() == first


def test_new_session_items_reuse_most_of_the_previous_prompt(store: MemoryStore) -> None:
    populate(store)
    for i in range(40):
        store.remember(
            f"OAuth2 note {i}: the login flow step {i} stores the token refresh state",
            tags=["auth"],
        )
    for i in range(20):
        store.add_session_item("tool", f"ran login flow test {i}: token refresh ok in {i * 3} ms")
    store.compile(token_budget=4000)
    store.add_session_item("user", "now handle expired refresh tokens")
    second = store.compile(token_budget=4000)
    assert second.reuse is not None and second.reuse["reuse_of_previous"] >= 0.9, second.reuse
    assert "expired refresh tokens" in second.sections["observations"]


def test_a_planned_break_is_consumed_by_one_compile(store: MemoryStore) -> None:
    populate(store)
    store.mark_cache_break("switching task")
    assert store.compile().cache_break == "switching task"
    assert store.compile().cache_break is None


def test_mode_persists_per_namespace(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(store)
    assert store.get_mode() == "balanced"
    assert store.set_mode("Debugging") == "debugging"
    again = reopen(store)
    assert again.get_mode() == "debugging" and again.compile().mode == "debugging"
    assert again.mode_status()["source"] == "namespace"
    monkeypatch.setenv("SMARTCONTEXT_MODE", "planning")  # the environment wins for one run
    assert reopen(store).get_mode() == "planning"
    monkeypatch.delenv("SMARTCONTEXT_MODE")
    with pytest.raises(UsageError, match="unknown mode 'turbo'"):
        store.set_mode("turbo")
    store.set_mode(None)
    assert reopen(store).get_mode() == "balanced"
    again.close()


def test_auto_mode_detects_from_the_goal(store: MemoryStore) -> None:
    populate(store)
    store.set_goal("Fix the crash in the token refresh handler")
    ctx = store.compile(mode="auto")
    assert ctx.mode == "debugging" and "mode auto: debugging (detected)" in ctx.notes
    store.set_mode("auto")
    assert reopen(store).compile().mode == "debugging"


def test_custom_policies_come_from_config(home: Path, backend: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[policies.security_audit]\ndescription = "audits"\n'
        "[policies.security_audit.allocation]\n"
        "goal = 0.2\nmemories = 0.25\nobservations = 0.3\n"
        "artifacts = 0.15\nstrategy = 0.05\nsystem = 0.05\n"
    )
    store = MemoryStore(namespace="proj", storage_backend=backend)
    populate(store)
    assert store.set_mode("security_audit") == "security_audit"
    ctx = store.compile()
    assert ctx.mode == "security_audit" and ctx.policy.allocation["observations"] == pytest.approx(
        0.3
    )
    store.close()
    (home / "config.toml").write_text("[policies.broken]\ngoal = 0.9\nmemories = 0.9\n")
    broken = MemoryStore(namespace="proj", storage_backend=backend)
    # One bad table no longer breaks every compile (issue 11): it is ignored with a warning
    # naming its file, and only asking for it fails.
    assert any(
        "policy 'broken': shares sum to 1.800" in w and str(home / "config.toml") in w
        for w in broken.settings.warnings
    )
    assert broken.compile(mode="balanced").mode == "balanced"
    with pytest.raises(UsageError, match=r"unknown mode 'broken'"):
        broken.compile(mode="broken")
    broken.close()


def test_stats_report_tiers_quality_trend_and_cache(store: MemoryStore) -> None:
    populate(store)
    for i in range(30):
        store.remember(
            f"OAuth2 login flow detail {i}: refresh tokens rotate after {i} uses", tags=["auth"]
        )
    for budget in (120, 150, 2000, 4000):
        store.compile(token_budget=budget)
    stats = reopen(store).get_compilation_stats(last_n=4)
    assert stats["tiers"]["long_term"]["items"] == 33 and stats["tiers"]["long_term"]["tokens"] > 0
    assert stats["tiers"]["session"]["items"] == 2 and stats["tiers"]["artifacts"]["items"] == 1
    assert stats["compilations"] == 4 and len(stats["quality_scores"]["values"]) == 4
    assert stats["trend"] == "improving" and len(stats["sparkline"]) == 4
    assert stats["cache"]["compiles"] == 4


def test_explain_one_compile_or_the_latest(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError, match="no compilations recorded yet"):
        store.explain_compilation()
    populate(store)
    first = store.compile(token_budget=100)
    store.compile()
    explained = store.explain_compilation(first.compile_id)
    assert explained["compile_id"] == first.compile_id and explained["budget"] == 100
    decisions = explained["explanation"]["decisions"]
    assert {
        "item",
        "section",
        "score",
        "tokens",
        "outcome",
        "reason",
        "decision",
        "rationale",
    } <= set(decisions[0])
    assert any(d["outcome"] == "dropped" for d in decisions)
    assert "balanced policy" in explained["explanation"]["strategy_used"]
    with pytest.raises(NotFoundError, match="no compilation 99"):
        store.explain_compilation(99)


def test_nothing_to_compile_and_ad_hoc_only(home: Path, backend: str) -> None:
    empty = MemoryStore(namespace="fresh", storage_backend=backend)
    with pytest.raises(NotFoundError, match="nothing to compile in namespace 'fresh'"):
        empty.compile()
    ctx = empty.compile(memories=["an ad-hoc fact"])
    assert "an ad-hoc fact" in ctx.to_prompt() and ctx.compile_id is None
    assert not empty.exists  # compiling ad-hoc text creates no namespace


def test_standing_decisions_fill_unused_budget_after_the_matches(store: MemoryStore) -> None:
    store.set_goal("Add a read replica")
    store.remember("Replica lag must stay under 5 s for the read replica", kind="fact")
    store.remember("We chose PostgreSQL 16 for the main database", kind="decision")
    store.remember("Ops prefers Terraform over click-ops", kind="preference")
    store.remember("The office coffee machine is broken", kind="note")
    memories = store.compile(token_budget=2000).sections["memories"]
    assert memories.index("Replica lag") < memories.index("PostgreSQL 16")  # matches first
    assert "Terraform" in memories
    assert "coffee" not in memories  # an unmatched note is padding, not knowledge


def test_standing_memories_do_not_raise_the_quality_score(store: MemoryStore) -> None:
    store.set_goal("Add a read replica")
    store.remember("Replica lag must stay under 5 s for the read replica", kind="fact")
    before = store.compile(token_budget=2000).quality_score
    store.remember("We chose PostgreSQL 16 for the main database", kind="decision")
    assert store.compile(token_budget=2000).quality_score == before
