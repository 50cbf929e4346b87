"""The session log API on MemoryStore: add, read, pop, limits, trimming; on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.sessions import fill_runs, pytest_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore, NotFoundError, UsageError

BACKENDS = ["sqlite", "json"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(backend: str, home: Path):
    """``open_store(**kw)`` opens the namespace again, as a new process would."""
    opened: list[MemoryStore] = []

    def _open(**kwargs) -> MemoryStore:
        store = MemoryStore(namespace="proj", storage_backend=backend, **kwargs)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


def contents(store: MemoryStore, **kw) -> list[str]:
    return [i.content for i in store.get_session_items(**kw)]


def test_items_come_back_in_order_with_roles_and_counts(open_store):
    store = open_store()
    first = store.add_session_item("user", "Implementing feature A")
    second = store.add_session_item("Assistant", "Starting with the parser", file="parser.py")
    store.add_session_item("review", "free-form roles are fine")
    assert second.seq > first.seq
    items = store.get_session_items()
    assert [(i.role, i.content) for i in items] == [
        ("user", "Implementing feature A"),
        ("assistant", "Starting with the parser"),
        ("review", "free-form roles are fine"),
    ]
    assert items[1].meta["file"] == "parser.py"
    assert all(i.branch == "main" and i.token_count and i.token_count > 0 for i in items)
    assert contents(store, limit=2) == ["Starting with the parser", "free-form roles are fine"]
    assert store.get_session_items(limit=0) == []
    assert store.session_log == items


def test_a_new_store_sees_the_same_log(open_store):
    open_store().add_session_item("user", "remember me across restarts")
    assert contents(open_store()) == ["remember me across restarts"]


@pytest.mark.parametrize("role", ["", "two words", "x" * 40, "ümlaut"])
def test_bad_roles_are_usage_errors(open_store, role):
    with pytest.raises(UsageError, match="invalid role"):
        open_store().add_session_item(role, "text")


def test_empty_text_and_negative_limit_are_refused(open_store):
    store = open_store()
    with pytest.raises(UsageError, match="empty"):
        store.add_session_item("user", "   ")
    with pytest.raises(UsageError, match="limit"):
        store.get_session_items(limit=-1)


def test_pop_removes_the_last_item_and_survives_restart(open_store):
    store = open_store()
    store.add_session_item("user", "keep")
    store.add_session_item("user", "oops")
    popped = store.pop_session_item()
    assert popped.content == "oops"
    assert contents(open_store()) == ["keep"]
    open_store().pop_session_item()
    with pytest.raises(NotFoundError, match="empty"):
        open_store().pop_session_item()


def test_pop_refuses_what_a_compaction_summarised(open_store):
    store = open_store()
    fill_runs(store, 4)
    store.compact_session_schema(preserve_recent=0)
    with pytest.raises(UsageError, match="compact --undo"):
        store.pop_session_item()


def test_max_turns_persists_per_namespace_and_validates(open_store):
    store = open_store()
    assert store.max_turns() == 100
    store.set_max_turns(40)
    assert open_store().max_turns() == 40
    assert MemoryStore(namespace="other", storage_backend="sqlite").max_turns() == 100
    for bad in (1, 0, -3, 2.5, True):
        with pytest.raises(UsageError, match="max_session_turns"):
            store.set_max_turns(bad)
    # An explicit constructor argument wins over the namespace's value, as a flag does.
    assert open_store(max_session_turns=7).max_turns() == 7


def test_compression_strategy_persists_and_validates(open_store):
    store = open_store()
    assert store.compression_strategy() == "heuristic"
    store.set_compression_strategy("none")
    assert open_store().compression_strategy() == "none"
    with pytest.raises(UsageError, match="unknown compression strategy"):
        store.set_compression_strategy("zip")


def test_strategy_none_keeps_everything(open_store):
    store = open_store(compression_strategy="none")
    store.set_max_turns(5)
    for n in range(12):
        store.add_session_item("user", "ok" if n % 2 else f"step {n}")
    assert len(store.get_session_items()) == 12


def test_heuristic_trim_keeps_what_matters_and_loses_nothing(open_store):
    store = open_store(max_session_turns=10)
    long_output = "\n".join(f"collected line {n}" for n in range(120))
    added = [
        ("assistant", "ok"),
        ("tool", long_output),
        ("user", "thanks"),
        ("tool", "pytest -q: 14 passed"),
        ("tool", "pytest -q: 14 passed"),
        ("user", "got it"),
        ("decision", "We use a token bucket with 120 requests per minute"),
        ("error", "ImportError: No module named 'redis'"),
        ("assistant", "Installed redis 5.0.1 and the tests pass"),
        ("user", "next: the docs"),
        ("user", "then the changelog"),
    ]
    for role, text in added:
        store.add_session_item(role, text)
    items = store.get_session_items()
    # The 11th event went over the limit: the oldest 6 were compressed, the last 5 kept as is,
    # and the result leaves a quarter of the limit free (8 of 10).
    assert len(items) == 8
    assert [i.content for i in items[-5:]] == [t for _, t in added[-5:]]
    text = "\n".join(i.content for i in items)
    # Acknowledgements dropped but counted; repeats merged with their count; the long output
    # shortened with its full text as an artifact.
    note = items[0]
    assert note.role == "summary"
    assert "3 acknowledgements dropped; 1 repeats merged; 1 long outputs shortened" in note.content
    assert "pytest -q: 14 passed\n[repeated 2 times]" in text
    shortened = next(i for i in items if i.meta.get("artifact"))
    assert "lines omitted" in shortened.content and shortened.meta["artifact"] in shortened.content
    assert store.get_artifact(shortened.meta["artifact"]).content == long_output
    # Nothing is gone: the raw log has every event, and a restart sees the trimmed view.
    assert [i.content for i in store.get_session_items(raw=True)] == [t for _, t in added]
    assert contents(open_store()) == [i.content for i in items]


def test_trim_compacts_when_compression_cannot_reach_the_limit(open_store):
    store = open_store(max_session_turns=6)
    for n in range(7):
        store.add_session_item("tool", pytest_output(n), command="pytest -v")
    items = store.get_session_items()
    assert len(items) <= 6
    assert items[0].meta.get("compaction") == "overview"
    assert items[-1].content == pytest_output(6)
    digest = "\n".join(i.content for i in items if i.role == "summary")
    assert "- pytest -v: 4 runs, all passed" in digest


def test_trimming_never_makes_the_log_larger(open_store):
    """The issue's case: 40 "ok thanks" / pytest pairs grew 679 -> 1,396 tokens when trimmed.

    Whatever the limit, the visible log never has more tokens than the events it shows.
    """
    for limit in (4, 10, 20):
        store = open_store(max_session_turns=limit)
        store.storage  # noqa: B018 - open before the loop so a trim can run on each add
        for n in range(40):
            store.add_session_item("user", "ok thanks")
            store.add_session_item(
                "tool", f". [100%]\n1 passed in 0.0{n % 10}s", command="pytest -q"
            )
            visible = store.session_status()["tokens"]
            raw = sum(i.token_count for i in store.get_session_items(raw=True))
            assert visible <= raw, (limit, n)
        store.end_session()


def test_a_tiny_span_is_not_compacted_into_something_larger(open_store):
    store = open_store()
    store.add_session_item("user", "ok thanks")  # 3 tokens once became a 77-token digest
    store.add_session_item("user", "next")
    before = store.get_session_items()
    report = store.compact_session_schema(preserve_recent=1)
    assert report.view is None and report.compacted == 0
    assert (
        report.notice.startswith("nothing compacted: the digest (")
        and "stays as it is" in report.notice
    )
    assert report.tokens_after == report.tokens_before
    assert store.get_session_items() == before
    with pytest.raises(NotFoundError, match="nothing to undo"):
        store.undo_compaction()


def test_set_max_turns_trims_right_away_and_undo_restores(open_store):
    store = open_store()
    fill_runs(store, 12)
    report = store.set_max_turns(6)
    assert report is not None and report.events_before == 12 and report.events_after <= 6
    assert store.consume_cache_break() == "compaction"
    store.undo_compaction()
    assert len(store.get_session_items()) == 12


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["user", "assistant", "tool", "decision", "error"]),
            st.sampled_from(["ok", "thanks", "Run the tests", "Use port 5433", "x" * 50])
            | st.text(alphabet="abcdef 0123456789./", min_size=1, max_size=40).filter(str.strip),
        ),
        min_size=1,
        max_size=30,
    ),
    limit=st.integers(min_value=2, max_value=8),
)
def test_trimming_invariants(tmp_path_factory, events, limit):
    home = tmp_path_factory.mktemp("home")
    store = MemoryStore(namespace="prop", storage_backend="sqlite", base_dir=home)
    store.set_max_turns(limit)
    for role, text in events:
        store.add_session_item(role, text)
    visible = store.get_session_items()
    raw = store.get_session_items(raw=True)
    # Nothing lost: the raw log is exactly what was added, in order.
    assert [(i.role, i.content) for i in raw] == [(r, t) for r, t in events]
    # Nothing duplicated: an event appears at most once in the visible log.
    seqs = [i.seq for i in visible if i.role != "summary"]
    assert len(seqs) == len(set(seqs))
    # Decisions survive verbatim, whatever the trimming did.
    text = "\n".join(i.content for i in visible)
    assert all(t.strip() in text for r, t in events if r == "decision")
    # Never larger: the visible log has no more tokens than the raw events; and it is over the
    # limit only when no trim could make it smaller.
    assert store._tokens(visible) <= store._tokens(raw)
    assert len(visible) <= limit or store.trim_session() is None
    store.close()


def test_readme_session_snippet_runs(home, monkeypatch, tmp_path):
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = re.search(
        r"^## Sessions, compaction and branches\n(.*?)(?=^## )", readme, re.M | re.S
    )
    assert section is not None
    [block] = re.findall(r"```python\n(.*?)```", section.group(1), re.S)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    memory = namespace["memory"]
    assert isinstance(memory, MemoryStore)
    # The snippet ends on main with the experiment merged into the fresh session.
    assert contents(memory) == ["Implementing feature A"]
    assert memory.list(kind="note")[0].content == "Logging done"
    assert namespace["comparison"]["branch2"]["item_count"] == 1


def test_a_compaction_computed_on_a_stale_log_is_refused(open_store):
    from smartcontext_cli.branching import ConcurrentChangeError

    first, second = open_store(), open_store()
    fill_runs(first, 6)
    stale = first._branch()
    second.compact_session_schema(preserve_recent=2)
    with pytest.raises(ConcurrentChangeError, match="another process"):
        first._ops().add_view(stale, "compact", 3, [], {})
    assert len(first.get_session_items()) < 6  # the other process's compaction stands


WRITER = """
import sys
from smartcontext_cli import MemoryStore
store = MemoryStore(namespace="proj", storage_backend=sys.argv[1], max_session_turns=6)
for n in range(12):
    passed = "\\n".join(f"tests/test_m{n}.py::test_{i} PASSED" for i in range(12))
    text = f"writer {sys.argv[2]} step {n}\\n{passed}"
    store.add_session_item("tool", text, command="pytest -v")
"""


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(backend, home):
    import subprocess
    import sys

    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, backend, str(w)], stderr=subprocess.PIPE)
        for w in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    store = MemoryStore(namespace="proj", storage_backend=backend)
    raw = [i.content.split("\n", 1)[0] for i in store.get_session_items(raw=True)]
    assert sorted(raw) == sorted(f"writer {w} step {n}" for w in range(3) for n in range(12))
    visible = store.get_session_items()
    assert len(visible) <= 6 + 6  # trims race, but the log stays bounded and consistent
    assert len({i.seq for i in visible}) == len(visible)


def test_trims_are_spaced_out(open_store):
    store = open_store(max_session_turns=20)
    for n in range(100):
        store.add_session_item("tool", pytest_output(n), command="pytest -v")
        assert len(store.get_session_items()) <= 20
    # Each trim leaves a quarter of the limit as headroom, so it runs at most every 5 events.
    assert store.storage.get_counters()["session_view"] <= 100 // 5
