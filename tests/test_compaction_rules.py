"""Compaction's rules: never larger, dry runs change nothing, hybrid never summarises a summary,
events have a size cap, tool events carry their command; on both backends."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from fixtures.sessions import fill_runs, pytest_output
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore, NotFoundError, UsageError
from smartcontext_cli.branching import VIEWS
from smartcontext_cli.compression import compress
from smartcontext_cli.models import SessionItem

PY = shlex.quote(sys.executable)


@pytest.fixture(params=["sqlite", "json"])
def store(request: pytest.FixtureRequest, home: Path):
    s = MemoryStore(namespace="rules", storage_backend=request.param, compression_strategy="none")
    yield s
    s.close()


def state(store: MemoryStore) -> tuple:
    """Everything a compaction or an undo could change."""
    return (
        [(i.seq, i.role, i.content) for i in store.get_session_items()],
        [(i.seq, i.content) for i in store.get_session_items(raw=True)],
        sorted(m.content for m in store.list(limit=None)),
        sorted(k for k, _ in store.storage.list_docs(VIEWS)),
        store.session_status()["view"],
    )


def test_the_forty_ok_thanks_pytest_pairs_compact_smaller(store):
    # The issue: `compact` on this log reported "tokens 679 -> 1,396 (205.6%)".
    for n in range(40):
        store.add_session_item("user", "ok thanks")
        store.add_session_item("tool", f". [100%]\n1 passed in 0.0{n % 10}s", command="pytest -q")
    report = store.compact_session_schema(preserve_recent=30)
    assert report.view is not None
    assert report.tokens_after < report.tokens_before
    digest = "\n".join(report.summary)
    assert "- pytest -q: 25 runs, all passed" in digest and "ok thanks" not in digest


def test_dry_run_changes_nothing_whatever_it_is_combined_with(store):
    store.add_session_item("decision", "Ship the refund flow behind the ff_refunds flag")
    fill_runs(store, 12)
    before = state(store)
    for kwargs in (
        {"preserve_recent": 2},
        {"preserve_recent": 0},
        {"preserve_recent": 1, "extract_insights": False},
    ):
        report = store.compact_session_schema(dry_run=True, **kwargs)
        assert report.dry_run and report.view is None and report.summary
        assert state(store) == before
    assert store.consume_cache_break() is None
    store.compact_session_schema(preserve_recent=2)
    compacted = state(store)
    store.consume_cache_break()
    # The issue: `compact --undo --dry-run` performed the undo.
    preview = store.undo_compaction(dry_run=True)
    assert preview.dry_run and preview.action == "undo compact"
    assert preview.events_after == 13 and preview.memories_removed == 1
    assert state(store) == compacted and store.consume_cache_break() is None
    store.undo_compaction()
    assert state(store) == before


def test_dry_runs_on_a_namespace_that_does_not_exist_create_nothing(home):
    fresh = MemoryStore(namespace="never-written")
    report = fresh.compact_session_schema(dry_run=True)
    assert "nothing to compact" in report.notice
    with pytest.raises(NotFoundError, match="nothing to undo"):
        fresh.undo_compaction(dry_run=True)
    assert not fresh.exists


def test_a_dry_run_does_not_create_the_git_branch_it_would_follow(store, tmp_path, monkeypatch):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    fill_runs(store, 4)
    store.switch_branch(follow_git=True)
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/spike"], cwd=repo, check=True)
    branches = [b["name"] for b in store._ops().describe(store._ops().by_id(0), True)]
    store.compact_session_schema(preserve_recent=1, dry_run=True)
    assert [b["name"] for b in store._ops().describe(store._ops().by_id(0), True)] == branches


def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A summariser that appends what it reads to a file and prints a numbered summary."""
    seen = tmp_path / "seen.txt"
    body = (
        "import sys, pathlib\n"
        f"p = pathlib.Path({str(seen)!r})\n"
        "text = sys.stdin.read()\n"
        "n = p.read_text().count('=====') + 1 if p.exists() else 1\n"
        "p.open('a').write(text + '\\n=====\\n')\n"
        "print(f'SUMMARY-{n}: work went on')\n"
    )
    script = tmp_path / "rec.py"
    script.write_text(body)
    return f"{PY} {shlex.quote(str(script))}", seen


def test_hybrid_never_summarises_a_summary(tmp_path):
    command, seen = recorder(tmp_path)
    earlier = SessionItem(role="summary", content="SUMMARY-1: the old part", seq=1)
    log = [
        earlier,
        SessionItem(role="user", content="We decided to use Postgres 16 for reporting.", seq=2),
        SessionItem(role="error", content="TimeoutError: S3 upload took 31s", seq=3),
        SessionItem(role="tool", content=pytest_output(1, failed=True), seq=4),
        SessionItem(role="user", content="Deploy password=hunter2hunter2 is in the vault", seq=5),
    ]
    result = compress(log, "hybrid", lambda _n, _t: "#a1", command, 20)
    sent = seen.read_text()
    assert "SUMMARY-1" not in sent  # the earlier summary is kept, not sent again
    assert "hunter2hunter2" not in sent and "[REDACTED:password]" in sent
    first, new = result.items
    assert first is earlier
    assert new.content.startswith("[summary of 4 earlier events by")
    # Decisions and errors stay verbatim next to the summary, tool failures by their headline.
    assert "- user: We decided to use Postgres 16 for reporting." in new.content
    assert "- error: TimeoutError: S3 upload took 31s" in new.content
    assert "- error: (no command; pytest output): FAILED tests/test_m1.py::test_case_11" in (
        new.content
    )


def test_hybrid_trims_in_a_store_never_resend_their_own_summaries(home, tmp_path, monkeypatch):
    command, seen = recorder(tmp_path)
    monkeypatch.setenv("SMARTCONTEXT_SUMMARIZER", command)
    s = MemoryStore(namespace="hy", max_session_turns=6, compression_strategy="hybrid")
    fill_runs(s, 30)
    calls = seen.read_text().split("\n=====\n")[:-1]
    assert len(calls) >= 2
    assert all("SUMMARY-" not in call for call in calls)
    assert any("SUMMARY-" in i.content for i in s.get_session_items())


def test_an_event_over_one_megabyte_becomes_an_artifact_when_it_is_output(store):
    big = "".join(f"line {n}: " + "x" * 90 + "\n" for n in range(20_000)) + "2 failed in 9.1s\n"
    item = store.add_session_item("tool", big, command="pytest -q")
    ref = item.meta["artifact"]
    assert store.get_artifact(ref).content == big  # nothing lost
    assert len(item.content.encode()) < 10_000
    assert item.content.startswith("line 0: ") and item.content.endswith("2 failed in 9.1s\n")
    assert f"full output: {ref}" in item.content
    assert any(f"stored whole as artifact {ref}" in n for n in store.notices)
    stored = store.get_session_items()[-1]
    assert stored.content == item.content and stored.meta["command"] == "pytest -q"
    with pytest.raises(UsageError, match=r"session event is too large \(2\.0 MB, limit 1 MB\)"):
        store.add_session_item("user", "y" * 2_000_000)


def test_the_command_is_validated(store):
    with pytest.raises(UsageError, match="invalid command"):
        store.add_session_item("tool", "ok", command="pytest\nrm -rf /")
    with pytest.raises(UsageError, match="invalid command"):
        store.add_session_item("tool", "ok", command="  ")


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["user", "assistant", "tool", "observation", "decision", "error"]),
        st.sampled_from(
            [
                "ok thanks",
                "We decided to use Postgres 16.",
                "Thanks, Mel!",
                pytest_output(3),
                pytest_output(4, failed=True),
                "Traceback (most recent call last):\n  File 'a.py'\nKeyError: 'currency'",
            ]
        )
        | st.text(alphabet="abcdefgh ABC 0123456789./?!\n", min_size=1, max_size=120).filter(
            str.strip
        ),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, keep=st.integers(min_value=0, max_value=6))
def test_compaction_is_smaller_or_nothing_and_undo_restores(tmp_path_factory, events, keep):
    s = MemoryStore(
        namespace="prop", base_dir=tmp_path_factory.mktemp("home"), compression_strategy="none"
    )
    for role, text in events:
        s.add_session_item(role, text)
    before = state(s)
    report = s.compact_session_schema(preserve_recent=keep)
    if report.view is None:  # nothing to compact, or nothing smaller: nothing changed
        assert report.notice and state(s) == before
    else:
        assert report.tokens_after < report.tokens_before
        assert s._tokens(s.get_session_items()) == report.tokens_after
        # Decisions survive verbatim; the recent events are untouched.
        text = "\n".join(i.content for i in s.get_session_items())
        assert all(t.strip() in text for r, t in events if r == "decision")
        s.undo_compaction()
        assert state(s) == before
    s.close()
