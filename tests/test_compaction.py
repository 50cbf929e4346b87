"""Schema-driven compaction: the digest, insights to memory, undo, session end, information loss."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixtures.conversation import conversation, is_kept
from fixtures.sessions import fill_runs, pytest_output

from smartcontext_cli import MemoryStore, NotFoundError, UsageError
from smartcontext_cli.compaction import build_digest, render
from smartcontext_cli.models import SessionItem

BACKENDS = ["sqlite", "json"]


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, home: Path):
    opened: list[MemoryStore] = []

    def _open() -> MemoryStore:
        store = MemoryStore(
            namespace="proj", storage_backend=request.param, compression_strategy="none"
        )
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


def pytest_run(passed: int, failed: int = 0) -> str:
    tail = f"{passed} passed, {failed} failed" if failed else f"{passed} passed"
    return f"$ pytest -q\n{'.' * passed}{'F' * failed}\n{tail} in 1.2s"


def fill(store: MemoryStore, pairs: list[tuple[str, str]]) -> None:
    for role, text in pairs:
        store.add_session_item(role, text)


WORKDAY = [
    ("user", "Morning! Let's get the refund flow done today."),
    ("assistant", "Sure. I'll start with the failing tests."),
    *[("tool", pytest_run(40 + n % 3, 1 if n in (3, 9) else 0)) for n in range(15)],
    ("tool", "$ python -m worker\nTraceback (most recent call last):\nKeyError: 'currency'"),
    ("user", "ok"),
    ("assistant", "Found it: legacy orders have no currency. I fixed it by defaulting to EUR."),
    ("user", "By the way, Priya Raman reviews the refund changes on March 14."),
    ("user", "We decided to use Redis Streams for the job queue."),
    ("user", "I prefer small commits, please never squash them."),
    ("user", "thanks!"),
    ("assistant", "Next I'll write the docs."),
    ("user", "Great, then the changelog."),
]


def test_digest_groups_merges_and_extracts():
    items = [SessionItem(role=r, content=c, seq=n + 1) for n, (r, c) in enumerate(WORKDAY)]
    digest = build_digest(items)
    assert digest.events == len(WORKDAY) and digest.acks == 2
    assert digest.tools["pytest -q"] == {"count": 15, "failed": 2, "last": "42 passed in 1.2s"}
    failing_tests, err = digest.errors
    assert (failing_tests["text"], failing_tests["count"]) == (
        "pytest -q: 40 passed, 1 failed in 1.2s",
        2,
    )
    assert failing_tests["resolution"] is None
    assert err["text"] == "python -m worker: KeyError: 'currency'"
    # The fix is the sentence as written, with who said it and where.
    fix = err["resolution"]
    assert (fix["text"], fix["role"], fix["seq"]) == (
        "I fixed it by defaulting to EUR.",
        "assistant",
        20,
    )
    assert [d["text"] for d in digest.decisions] == [
        "We decided to use Redis Streams for the job queue."
    ]
    assert [p["text"] for p in digest.preferences] == [
        "I prefer small commits, please never squash them."
    ]
    facts = [f for e in digest.excerpts for f in e["facts"]]
    assert "By the way, Priya Raman reviews the refund changes on March 14." in facts
    text = "\n".join(t for _, t in render(digest, 2))
    assert "- pytest -q: 15 runs, 13 passed, 2 failed; last: 42 passed in 1.2s" in text
    assert "2 acknowledgements" in text
    # Kept sentences keep their event's number, time and speaker, and their own words and case.
    assert re.search(
        r"^- \[21\] \d\d:\d\d user: "
        r"By the way, Priya Raman reviews the refund changes on March 14\.$",
        text,
        re.M,
    )
    assert "Morning!" not in text and "thanks" not in text.lower()


def test_compaction_keeps_recent_verbatim_and_moves_insights_to_memory(open_store):
    store = open_store()
    fill(store, WORKDAY)
    before = store.get_session_items()
    report = store.compact_session_schema(preserve_recent=2)
    after = store.get_session_items()
    assert [(i.seq, i.content) for i in after[-2:]] == [(i.seq, i.content) for i in before[-2:]]
    assert all(i.role == "summary" for i in after[:-2])
    assert report.compacted == len(WORKDAY) - 2 and report.preserved == 2
    assert report.tokens_after < report.tokens_before
    assert report.tokens_before == sum(i.token_count for i in before)
    kinds = {m.kind for m in store.list(limit=None)}
    assert {"decision", "preference", "fact", "error"} <= kinds
    assert all(m.source == "compaction" for m in store.list(limit=None))
    assert (
        store.search("job queue")[0].content == "We decided to use Redis Streams for the job queue."
    )
    assert store.consume_cache_break() == "compaction"
    # A new store (a new process) sees the compacted log, the archive, and can undo.
    again = open_store()
    assert [i.content for i in again.get_session_items()] == [i.content for i in after]
    assert len(again.get_session_items(raw=True)) == len(WORKDAY)
    undone = again.undo_compaction()
    assert undone.memories_removed == len(report.memories_added) and again.count() == 0
    assert [(i.seq, i.content) for i in open_store().get_session_items()] == [
        (i.seq, i.content) for i in before
    ]


def test_insights_are_not_duplicated_in_memory(open_store):
    store = open_store()
    store.remember("We decided to use Redis Streams for the job queue", kind="decision")
    fill(store, WORKDAY)
    report = store.compact_session_schema(preserve_recent=2)
    assert report.memories_known == 1
    assert len(store.search("Redis Streams job queue", limit=10)) == 1
    # Compacting again later merges the old digest instead of summarising the summary.
    fill(store, [("user", "We decided to use Redis Streams for the job queue."), ("user", "x")])
    fill(store, [(r, c) for r, c in WORKDAY if r == "tool"][:3])
    second = store.compact_session_schema(preserve_recent=1)
    items = store.get_session_items()
    assert sum(1 for i in items if i.meta.get("compaction") == "overview") == 1
    assert "- pytest -q: 17 runs" in "\n".join(i.content for i in items)
    assert second.memories_added == [] and len(store.search("job queue", limit=10)) == 1


def test_dry_run_changes_nothing(open_store):
    store = open_store()
    fill(store, WORKDAY)
    before = store.get_session_items()
    report = store.compact_session_schema(preserve_recent=2, dry_run=True)
    assert report.dry_run and report.compacted == len(WORKDAY) - 2 and report.summary
    assert report.memories_added and store.count() == 0
    assert store.get_session_items() == before
    assert store.consume_cache_break() is None


def test_nothing_to_compact_and_nothing_to_undo(open_store):
    store = open_store()
    fill(store, WORKDAY[:3])
    report = store.compact_session_schema(preserve_recent=10)
    assert report.compacted == 0 and "nothing to compact" in report.notice
    with pytest.raises(NotFoundError, match="nothing to undo"):
        store.undo_compaction()
    with pytest.raises(UsageError, match="preserve_recent"):
        store.compact_session_schema(preserve_recent=-1)


def test_extract_insights_without_storing(open_store):
    store = open_store()
    fill(store, WORKDAY)
    found = store._extract_insights_from_events(store.session_log)
    assert ("decision", "We decided to use Redis Streams for the job queue.") in [
        (i.kind, i.text) for i in found
    ]
    assert store.count() == 0


def test_without_extraction_memory_is_untouched(open_store):
    store = open_store()
    fill(store, WORKDAY)
    store.compact_session_schema(preserve_recent=2, extract_insights=False)
    assert store.count() == 0


def test_session_end_moves_insights_and_starts_fresh(open_store):
    store = open_store()
    fill(store, WORKDAY)
    report = store.end_session(summary="Refund flow done; docs next")
    assert report.action == "end" and report.events_before == len(WORKDAY)
    assert open_store().get_session_items() == []
    notes = store.list(kind="note")
    assert [n.content for n in notes] == ["Refund flow done; docs next"]
    assert store.search("job queue")[0].kind == "decision"
    store.add_session_item("user", "A new day")
    assert [i.content for i in store.get_session_items()] == ["A new day"]
    with pytest.raises(NotFoundError, match="empty"):
        MemoryStore(namespace="empty-ns").end_session()


def test_session_end_can_be_undone(open_store):
    store = open_store()
    fill(store, WORKDAY[:5])
    store.end_session()
    store.undo_compaction()
    assert len(store.get_session_items()) == 5


def test_information_loss_compaction_against_truncation(open_store):
    """A five-day conversation compacted to at most 30% of its tokens keeps at least 90% of
    its facts (in the log or findable with search); truncation to the same size keeps few."""
    store = open_store()
    events, facts = conversation(days=5, seed=7)
    fill(store, events)
    raw = store.get_session_items()
    report = store.compact_session_schema(preserve_recent=10)
    assert report.tokens_after <= 0.30 * report.tokens_before
    log = "\n".join(i.content for i in store.get_session_items())
    kept = [f for f in facts if is_kept(f, log, [m.content for m in store.search(f.query, 5)])]
    # Truncation: the most recent events that fit the same number of tokens.
    budget, window = report.tokens_after, []
    for item in reversed(raw):
        if sum(i.token_count for i in window) + item.token_count > budget:
            break
        window.append(item)
    truncated = "\n".join(i.content for i in window)
    kept_truncation = [f for f in facts if is_kept(f, truncated, [])]
    assert len(kept) >= 0.90 * len(facts)
    assert len(kept) >= len(kept_truncation) + 0.5 * len(facts)


def test_undo_goes_back_twenty_steps_and_old_views_are_pruned(open_store):
    from smartcontext_cli.branching import UNDO_DEPTH, VIEWS

    store = open_store()
    for n in range(UNDO_DEPTH + 5):
        store.add_session_item("tool", pytest_output(n), command="pytest -v")
        assert store.compact_session_schema(preserve_recent=0).view is not None
    assert len(store.storage.list_docs(VIEWS)) == UNDO_DEPTH + 1
    for _ in range(UNDO_DEPTH):
        store.undo_compaction()
    # The oldest view kept summarises everything before it; undoing it shows the raw log.
    assert "[Compacted 5 events" in store.get_session_items()[0].content
    store.undo_compaction()
    assert len(store.get_session_items()) == UNDO_DEPTH + 5
    with pytest.raises(NotFoundError, match="nothing to undo"):
        store.undo_compaction()


def test_a_forked_branch_keeps_the_view_it_started_from(open_store):
    store = open_store()
    fill_runs(store, 4)
    store.compact_session_schema(preserve_recent=1)
    store.create_branch("exp", switch=True)
    store.add_session_item("user", "exp work")
    fill_runs(store, 2)
    store.compact_session_schema(preserve_recent=1)
    store.switch_branch("main")
    store.undo_compaction()  # main's view is released from main, but exp still goes back to it
    store.switch_branch("exp")
    store.undo_compaction()
    items = store.get_session_items()
    assert items[0].meta.get("compaction") == "overview"
    assert [i.content for i in items if i.role != "summary"][-3:] == [
        "exp work",
        pytest_output(0),
        pytest_output(1),
    ]
