"""Stable prefix, planned breaks, and reuse measured from compile records (cache.py).

Compile records here are synthetic but follow the contract exactly (``blocks`` = [[hash16, tokens]]
in prompt order), so these tests pin the measurement independently of the compiler. The
end-to-end reuse test against real compiles lives in tests/cli/test_agent.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fixtures.sessions import pytest_output
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore
from smartcontext_cli.cache import common_prefix_tokens, compare, scan_volatile
from smartcontext_cli.errors import UsageError


@pytest.fixture(params=["sqlite", "json"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str) -> Iterator[MemoryStore]:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        yield s


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record(
    store: MemoryStore,
    parts: list[tuple[str, int]],
    cache_break: str | None = None,
    sections: dict[str, int] | None = None,
    **extra: object,
) -> int:
    """Write a contract-shaped compile record whose blocks are ``parts`` (text, tokens)."""
    n = store.storage.next_counter("compilation")
    blocks = [[h(t), k] for t, k in parts]
    store.storage.put_doc(
        "compilations",
        f"{n:08d}",
        {
            "id": n,
            "created_at": "2024-01-01T00:00:00+00:00",
            "mode": "balanced",
            "budget": 4000,
            "encoding": "cl100k_base",
            "total_tokens": sum(k for _, k in parts),
            "sections": sections or {},
            "allocation": {},
            "quality": 1.0,
            "decisions": [],
            "blocks": blocks,
            "cache_break": cache_break,
            "branch": "main",
            **extra,
        },
    )
    return n


# prefix -----------------------------------------------------------------------------------------


def test_prefix_is_kept_byte_for_byte_and_survives_restart(backend: str) -> None:
    text = "System: You are careful.\n\n  Indented line, trailing spaces   \n\tTab\n"
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        assert s.get_stable_prefix() is None
        assert s.set_stable_prefix(text) is True
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        assert s.get_stable_prefix() == text


def test_setting_the_same_prefix_is_not_a_change_but_a_new_one_is_a_planned_break(
    store: MemoryStore,
) -> None:
    store.set_stable_prefix("A")
    assert store.pending_cache_break() is None  # the first prefix breaks nothing
    assert store.set_stable_prefix("A") is False
    assert store.pending_cache_break() is None
    assert store.set_stable_prefix("B") is True
    assert store.consume_cache_break() == "prefix changed"
    assert store.clear_stable_prefix() is True
    assert store.get_stable_prefix() is None
    assert store.consume_cache_break() == "prefix cleared"
    assert store.clear_stable_prefix() is False


@pytest.mark.parametrize("bad", ["", "   \n", "a\x00b"])
def test_unusable_prefixes_are_refused(store: MemoryStore, bad: str) -> None:
    with pytest.raises(UsageError):
        store.set_stable_prefix(bad)


# breaks ------------------------------------------------------------------------------------------


def test_a_break_is_consumed_once_and_reasons_accumulate(backend: str) -> None:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        s.mark_cache_break("compaction")
        s.mark_cache_break("branch switch")
        s.mark_cache_break("compaction")
    with MemoryStore(namespace="agent", storage_backend=backend) as s:  # pending across restart
        assert s.consume_cache_break() == "compaction; branch switch"
        assert s.consume_cache_break() is None


# reuse -------------------------------------------------------------------------------------------


def test_no_records_means_nothing_measured(store: MemoryStore) -> None:
    report = store.cache_reuse()
    assert report["compiles"] == 0 and report["pairs"] == [] and report["last"] is None
    assert report["mean_reuse"] is None


def test_appending_blocks_reuses_the_whole_previous_prompt(store: MemoryStore) -> None:
    base = [("prefix", 100), ("memories", 300), ("s1", 50)]
    record(store, base)
    record(store, [*base, ("s2", 40)])
    last = store.cache_reuse()["last"]
    assert last["common_prefix_tokens"] == 450
    assert last["previous_tokens"] == 450 and last["prompt_tokens"] == 490
    assert last["reuse_of_previous"] == 1.0
    assert last["reuse_of_current"] == round(450 / 490, 4)
    assert last["planned_break"] is None and last["unplanned_break"] is False


def test_an_early_change_is_an_unplanned_break_unless_marked(store: MemoryStore) -> None:
    record(store, [("prefix", 100), ("goal v1", 20), ("memories", 300)])
    record(store, [("prefix", 100), ("goal v2", 20), ("memories", 300)])
    record(store, [("prefix", 100), ("goal v3", 20), ("memories", 300)], cache_break="manual")
    report = store.cache_reuse()
    unplanned, planned = report["pairs"]
    assert unplanned["common_prefix_tokens"] == 100 and unplanned["unplanned_break"] is True
    assert planned["planned_break"] == "manual" and planned["unplanned_break"] is False
    assert report["planned_breaks"] == 1 and report["unplanned_breaks"] == 1
    assert report["mean_reuse_unplanned"] == round(100 / 420, 4)


def test_a_moved_session_window_is_an_explained_break(store: MemoryStore) -> None:
    record(store, [("prefix", 10), ("s1", 100), ("s2", 100)], window_start=1, window_moved=False)
    record(store, [("prefix", 10), ("s2", 100), ("s3", 100)], window_start=2, window_moved=True)
    # Recomputed but starting at the same item: the flag alone does not make it a move.
    record(
        store,
        [("prefix", 10), ("s2", 100), ("s3", 100), ("s4", 9)],
        window_start=2,
        window_moved=True,
    )
    moved, same = store.cache_reuse()["pairs"]
    assert moved["window_moved"] is True and moved["unplanned_break"] is True
    assert same["window_moved"] is False and same["reuse_of_previous"] == 1.0
    assert store.prefix_check()["warnings"] == []  # the cause is known: nothing to blame


def test_last_n_limits_the_window(store: MemoryStore) -> None:
    for i in range(6):
        record(store, [("p", 10), (f"x{i}", 5)])
    report = store.cache_reuse(last_n=3)
    assert report["compiles"] == 3 and len(report["pairs"]) == 2
    assert [p["id"] for p in report["pairs"]] == [5, 6]


def test_same_hash_with_different_token_counts_is_not_shared() -> None:
    # Blocks are compared on both fields: equal hashes with unequal counts mean a broken record,
    # and claiming reuse for it would overstate the cache.
    assert common_prefix_tokens([["a", 5], ["b", 5]], [["a", 5], ["b", 6]]) == 5


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(1, 50)), max_size=12),
    st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(1, 50)), max_size=12),
)
def test_reuse_is_bounded_and_symmetric(a: list[tuple[str, int]], b: list[tuple[str, int]]) -> None:
    ra, rb = {"id": 1, "blocks": [list(x) for x in a]}, {"id": 2, "blocks": [list(x) for x in b]}
    one, other = compare(ra, rb), compare(rb, ra)
    assert one["common_prefix_tokens"] == other["common_prefix_tokens"]
    assert one["common_prefix_tokens"] <= min(one["prompt_tokens"], one["previous_tokens"])
    assert 0.0 <= one["reuse_of_previous"] <= 1.0 and 0.0 <= one["reuse_of_current"] <= 1.0
    if a == b and a:
        assert one["reuse_of_previous"] == 1.0


# volatility --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "matched"),
    [
        ("Now: 2024-05-01T10:00:00Z\nrest", "timestamp", "2024-05-01T10:00:00Z"),
        ("Today is 2024-05-01.", "date", "2024-05-01"),
        ("As of March 3, 2024 we use X", "date", "March 3, 2024"),
        ("Time 14:05:09 here", "time", "14:05:09"),
        ("generated at 1714557600", "epoch", "1714557600"),
        (
            "run 3f2a9c1b-0000-4a4a-8b8b-123456789abc",
            "uuid",
            "3f2a9c1b-0000-4a4a-8b8b-123456789abc",
        ),
        ("trace deadbeef1234abcd", "random id", "deadbeef1234abcd"),
        ("Session #123 started", "counter", "Session #123"),
        ("This is step 7 of the loop", "counter", "step 7"),
    ],
)
def test_volatile_text_is_named(text: str, kind: str, matched: str) -> None:
    found = scan_volatile(text, "stable prefix")
    assert [(f["kind"], f["text"]) for f in found] == [(kind, matched)]
    assert found[0]["where"] == "stable prefix" and found[0]["why"]


def test_stable_text_raises_no_warning() -> None:
    text = (
        "System: You are a senior Python developer.\nStack: Python 3.11, FastAPI, PostgreSQL 16\n"
        "Follow the decision in issue #12 and PEP 8.\n"
    )
    assert scan_volatile(text, "stable prefix") == []


def test_check_flags_a_timestamp_early_in_the_system_text(store: MemoryStore) -> None:
    store.set_stable_prefix("System: stable.\n")
    store.set_goal("Fix the login bug")
    report = store.prefix_check(system=["Current time: 2024-05-01T10:00:00Z\nYou review code."])
    assert [(w["where"], w["kind"], w["text"], w["line"]) for w in report["warnings"]] == [
        ("system", "timestamp", "2024-05-01T10:00:00Z", 1)
    ]


def test_check_on_a_missing_namespace_scans_without_creating_it(backend: str) -> None:
    with MemoryStore(namespace="nothing-yet", storage_backend=backend) as s:
        report = s.prefix_check(system=["Session #4"])
        assert [w["kind"] for w in report["warnings"]] == ["counter"]
        assert report["compiles"] == 0 and not s.exists


def test_check_flags_an_early_timestamp_and_points_at_its_line(store: MemoryStore) -> None:
    store.set_stable_prefix("System: helpful.\nCurrent time: 2024-05-01 10:00:00\n")
    warnings = store.prefix_check()["warnings"]
    assert [(w["kind"], w["line"], w["where"]) for w in warnings] == [
        ("timestamp", 2, "stable prefix")
    ]


def test_check_finds_reordered_blocks_and_names_their_section(store: MemoryStore) -> None:
    # Sections listed out of prompt order on purpose: storage sorts a document's keys.
    sections = {"memories": 90, "observations": 5, "prefix": 10}
    record(
        store,
        [("prefix", 10), ("mem a", 30), ("mem b", 30), ("mem c", 30), ("s", 5)],
        None,
        sections,
    )
    record(
        store,
        [("prefix", 10), ("mem c", 30), ("mem a", 30), ("mem b", 30), ("s", 5)],
        None,
        sections,
    )
    [warning] = store.prefix_check()["warnings"]
    assert (warning["kind"], warning["block"], warning["section"]) == ("reordered", 1, "memories")
    assert warning["where"] == "memories section" and (
        warning["compile"],
        warning["previous_compile"],
    ) == (2, 1)


def test_check_finds_content_inserted_early(store: MemoryStore) -> None:
    sections = {"prefix": 10, "memories": 0, "observations": 300}
    record(store, [("prefix", 10), ("s1", 100), ("s2", 100), ("s3", 100)], None, sections)
    record(
        store,
        [("prefix", 10), ("new memory", 20), ("s1", 100), ("s2", 100), ("s3", 100)],
        None,
        {"prefix": 10, "memories": 20, "observations": 300},
    )
    [warning] = store.prefix_check()["warnings"]
    assert (warning["kind"], warning["section"]) == ("inserted", "memories")


def test_check_finds_a_block_that_changes_in_place(store: MemoryStore) -> None:
    record(store, [("prefix", 10), ("header step 1", 5), ("memories", 300), ("more", 50), ("s", 5)])
    record(store, [("prefix", 10), ("header step 2", 5), ("memories", 300), ("more", 50), ("s", 5)])
    warnings = store.prefix_check()["warnings"]
    assert [(w["kind"], w["block"]) for w in warnings] == [("changed in place", 1)]


def test_check_ignores_planned_breaks_and_late_changes(store: MemoryStore) -> None:
    record(store, [("prefix", 10), ("a", 300), ("b", 300)])
    record(store, [("prefix", 10), ("c", 300), ("b", 300)], cache_break="compaction")
    record(store, [("prefix", 10), ("c", 300), ("d", 300)])  # change after 52% of the prompt
    assert store.prefix_check()["warnings"] == []


# real compiles -----------------------------------------------------------------------------------


def test_compaction_and_branch_switch_are_recorded_as_planned_breaks(store: MemoryStore) -> None:
    store.set_stable_prefix("System: stable.\n")
    store.set_goal("Add a refund endpoint")
    for i in range(12):
        store.add_session_item("user", f"Look at part {i} of the refund flow in app/orders/api.py.")
        # Output a digest can make smaller: compaction never grows a log.
        store.add_session_item("tool", pytest_output(i), command="pytest -v")
    store.compile(token_budget=2000)
    store.compact_session_schema(preserve_recent=4)
    store.compile(token_budget=2000)
    assert store.cache_reuse()["last"]["planned_break"] == "compaction"
    store.create_branch("experiment", switch=True)
    store.add_session_item("user", "Try a different refund design.")
    store.compile(token_budget=2000)
    last = store.cache_reuse()["last"]
    assert last["planned_break"] == "branch switch" and last["branch_changed"] is True
    store.add_session_item("user", "One more step on the branch.")
    store.compile(token_budget=2000)
    last = store.cache_reuse()["last"]
    assert last["planned_break"] is None and last["reuse_of_previous"] >= 0.8
    report = store.cache_reuse()
    assert (report["planned_breaks"], report["unplanned_breaks"]) == (2, 0)
