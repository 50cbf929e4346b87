"""``session``, ``branch`` and ``compact`` as a user runs them, and across new processes."""

from __future__ import annotations

import shlex
import sys

import pytest
from fixtures.sessions import pytest_output


def add(sc, role: str, text: str, *extra: str, input: str | None = None):
    result = sc("session", "add", role, text, *extra, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def rows(result) -> list[list[str]]:
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_add_show_pop(sc):
    assert add(sc, "user", "Add rate limiting").stdout == "1\n"
    add(sc, "tool", "-", input="pytest: 12 passed\n")
    shown = sc("session", "show")
    assert [[r[0], r[1], r[3]] for r in rows(shown)] == [
        ["1", "user", "Add rate limiting"],
        ["2", "tool", "pytest: 12 passed"],
    ]
    assert [r[3] for r in rows(sc("session", "show", "--limit", "1"))] == ["pytest: 12 passed"]
    full = sc("session", "show", "--full").stdout
    assert full == "[1] user: Add rate limiting\n[2] tool: pytest: 12 passed\n\n"
    data = sc("session", "show", "--json").json()
    assert [(d["seq"], d["role"], d["content"], d["branch"]) for d in data] == [
        (1, "user", "Add rate limiting", "main"),
        (2, "tool", "pytest: 12 passed\n", "main"),
    ]
    assert set(data[0]) == {"seq", "role", "content", "branch", "created_at", "meta", "token_count"}
    popped = sc("session", "pop")
    assert popped.stdout == "tool: pytest: 12 passed\n\n" and "removed event 2" in popped.stderr
    assert sc("session", "pop", "--json").json()["content"] == "Add rate limiting"
    empty = sc("session", "pop")
    assert empty.exit_code == 1 and "empty" in empty.stderr and empty.stdout == ""


def test_show_on_a_new_namespace_is_empty_and_creates_nothing(sc, home):
    result = sc("session", "show")
    assert result.exit_code == 0 and result.stdout == "" and "empty" in result.stderr
    assert sc("session", "show", "--json").json() == []
    status = sc("session", "status", "--json").json()
    assert status["items"] == 0 and status["branch"] == "main" and status["view"] is None
    assert sc("branch", "list", "--json").json() == []
    assert sc("branch", "current").stdout == "main\n"
    assert not (home / "namespaces").exists()


def test_add_json_and_bad_input(sc):
    data = sc("session", "add", "decision", "Use Redis 7", "--json").json()
    assert data == {
        "seq": 1,
        "branch": "main",
        "role": "decision",
        "tokens": 4,
        "artifact": None,
        "trimmed": None,
    }
    bad_role = sc("session", "add", "two words", "x")
    assert bad_role.exit_code == 2 and "invalid role" in bad_role.stderr
    empty = sc("session", "add", "user", "  ")
    assert empty.exit_code == 2 and "empty" in empty.stderr
    bad_strategy = sc("session", "add", "user", "x", "--strategy", "zip")
    assert bad_strategy.exit_code == 2 and "compression_strategy" in bad_strategy.stderr


def test_limits_trimming_and_status(sc):
    assert sc("session", "set-max-turns", "4").exit_code == 0
    assert sc("session", "set-strategy", "none", "--json").json() == {
        "compression_strategy": "none"
    }
    for n in range(6):
        add(sc, "tool", "-", "--command", "pytest -v", input=pytest_output(n))
    assert sc("session", "status", "--json").json()["items"] == 6
    trimmed = sc("session", "add", "user", "Step 6", "--strategy", "heuristic", "--json").json()
    assert trimmed["trimmed"]["action"] == "compact" and trimmed["trimmed"]["events_after"] <= 4
    status = sc("session", "status", "--json").json()
    assert status["items"] <= 4 and status["raw_items"] == 7
    assert status["max_session_turns"] == 4 and status["compression_strategy"] == "none"
    assert status["view"]["kind"] == "compact" and status["tokens"] > 0
    bad = sc("session", "set-max-turns", "1")
    assert bad.exit_code == 2 and "at least 2" in bad.stderr
    again = sc("session", "set-max-turns", "50", "--json").json()
    assert again == {"max_session_turns": 50, "trimmed": None}


def test_hybrid_failure_is_reported_on_stderr(sc, tmp_path, monkeypatch):
    failing = tmp_path / "fail.py"
    failing.write_text("import sys; sys.stderr.write('no key\\n'); sys.exit(4)")
    monkeypatch.setenv("SMARTCONTEXT_SUMMARIZER", f"{shlex.quote(sys.executable)} {failing}")
    sc("session", "set-max-turns", "2")
    add(sc, "tool", "-", input=pytest_output(1))
    add(sc, "tool", "-", input=pytest_output(2))
    result = sc("session", "add", "user", "third", "--strategy", "hybrid")
    assert result.exit_code == 0 and result.stdout == "3\n"
    assert (
        "warning: summarizer" in result.stderr and "exited with status 4: no key" in result.stderr
    )


def test_compact_dry_run_compact_and_undo(sc):
    for n in range(10):
        add(sc, "tool", f"$ pytest -q\n{30 + n} passed in 1.0s")
    add(sc, "user", "We decided to use Postgres 16 for reporting.")
    add(sc, "user", "latest")
    dry = sc("compact", "--preserve-recent", "1", "--dry-run")
    assert "- pytest -q: 10 runs, all passed; last: 39 passed in 1.0s" in dry.stdout
    assert "would compact 11 events" in dry.stderr and "1 to add" in dry.stderr
    assert len(rows(sc("session", "show"))) == 12
    report = sc("compact", "-p", "1", "--json").json()
    assert report["action"] == "compact" and report["compacted"] == 11 and report["preserved"] == 1
    assert report["tokens_after"] < report["tokens_before"]
    assert [m["kind"] for m in report["memories_added"]] == ["decision"]
    shown = rows(sc("session", "show"))
    assert [r[1] for r in shown] == ["summary"] * (len(shown) - 1) + ["user"]
    assert len(rows(sc("session", "show", "--raw"))) == 12
    assert sc("search", "reporting database").exit_code == 0
    undo = sc("compact", "--undo")
    assert "the log has 12 events again; 1 memory removed" in undo.stderr
    assert len(rows(sc("session", "show"))) == 12
    nothing = sc("compact", "--undo")
    assert nothing.exit_code == 1 and "nothing to undo" in nothing.stderr
    noop = sc("compact", "-p", "50")
    assert noop.exit_code == 0 and "nothing to compact" in noop.stderr


def test_session_end(sc):
    add(sc, "user", "We decided to ship on Friday the 14th.")
    result = sc("session", "end", "--summary", "Shipping plan agreed")
    assert result.exit_code == 0 and "1 event archived, 2 memories saved" in result.stderr
    assert sc("session", "show", "--json").json() == []
    assert sc("list", "--kind", "note", "--json").json()[0]["content"] == "Shipping plan agreed"
    again = sc("session", "end")
    assert again.exit_code == 1 and "nothing to end" in again.stderr
    assert sc("compact", "--undo").exit_code == 0
    assert len(sc("session", "show", "--json").json()) == 1


def test_branch_commands(sc):
    add(sc, "user", "shared")
    created = sc("branch", "create", "exp", "-d", "queue idea", "--switch", "--json").json()
    assert created["name"] == "exp" and created["fork_seq"] == 1
    assert sc("branch", "current", "--json").json() == {"branch": "exp", "follow_git": False}
    add(sc, "assistant", "Trying a queue")
    listing = sc("branch", "list", "--json").json()
    assert [(b["name"], b["current"], b["parent"], b["item_count"]) for b in listing] == [
        ("main", False, None, 1),
        ("exp", True, "main", 2),
    ]
    assert rows(sc("branch", "list"))[1][:4] == ["*", "exp", "main", "2"]
    compare = sc("branch", "compare", "main")
    assert "shared history: 1 event; main: 1 event (+0); exp: 2 events (+1)" in compare.stderr
    assert rows(compare) == [["exp", "2", "assistant", "Trying a queue"]]
    assert sc("branch", "compare", "main", "exp", "--json").json()["common"]["item_count"] == 1
    assert sc("branch", "switch", "main").exit_code == 0
    asks = sc("branch", "delete", "exp")  # destructive: --yes in a pipe
    assert asks.exit_code == 2 and "pass --yes" in asks.stderr
    refused = sc("branch", "delete", "exp", "--yes")
    assert refused.exit_code == 2 and "--force" in refused.stderr
    merged = sc("branch", "merge", "exp", "--json").json()
    assert (merged["target"], merged["merged"]) == ("main", 1)
    assert "nothing to merge" in sc("branch", "merge", "exp").stderr
    assert sc("branch", "delete", "exp", "--json", "-y").json() == {"deleted": "exp", "items": 1}
    missing = sc("branch", "switch", "exp")
    assert missing.exit_code == 1 and "no branch 'exp'" in missing.stderr
    main = sc("branch", "delete", "main", "--yes")
    assert main.exit_code == 2 and "cannot be deleted" in main.stderr
    assert sc("branch", "create", "spike", "--from", "main").exit_code == 0
    assert sc("branch", "delete", "spike", "--force", "--yes").exit_code == 0
    no_git = sc("branch", "switch", "--follow-git")
    assert no_git.exit_code == 2 and "git repository" in no_git.stderr


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_state_survives_new_processes(sc_proc, backend):
    """Session, branches and the compaction archive, each step in a new process."""
    base = ("--backend", backend)
    for n in range(5):
        run = pytest_output(n)
        assert (
            sc_proc(*base, "session", "add", "tool", "-", "-c", "pytest", input=run).exit_code == 0
        )
    assert sc_proc(*base, "compact", "-p", "2").exit_code == 0
    assert sc_proc(*base, "branch", "create", "exp", "--switch").exit_code == 0
    assert sc_proc(*base, "session", "add", "user", "on exp").exit_code == 0
    shown = sc_proc(*base, "session", "show", "--json").json()
    assert [i["content"] for i in shown][-3:] == [pytest_output(3), pytest_output(4), "on exp"]
    assert shown[0]["role"] == "summary"
    assert sc_proc(*base, "branch", "current").stdout == "exp\n"
    assert sc_proc(*base, "branch", "switch", "main").exit_code == 0
    undo = sc_proc(*base, "compact", "--undo")
    assert undo.exit_code == 0, undo.stderr
    restored = sc_proc(*base, "session", "show", "--json").json()
    assert [i["content"] for i in restored] == [pytest_output(n) for n in range(5)]


def test_compile_uses_the_current_branch(sc):
    add(sc, "user", "Shared context line")
    sc("branch", "create", "exp", "--switch")
    add(sc, "user", "Only on exp")
    sc("branch", "switch", "main")
    add(sc, "user", "Only on main")
    sc("branch", "switch", "exp")
    prompt = sc("compile").stdout
    assert "Shared context line" in prompt and "Only on exp" in prompt
    assert "Only on main" not in prompt


def test_follow_git_from_the_command_line(sc, tmp_path, monkeypatch):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/feature/x"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    assert sc("branch", "switch", "--follow-git").exit_code == 0
    assert sc("branch", "current", "--json").json() == {"branch": "feature/x", "follow_git": True}
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=repo, check=True)
    assert sc("branch", "current").stdout == "main\n"


def test_session_search_finds_compacted_events_and_says_where_they_are(sc):
    add(sc, "user", "Our staging cluster is called orion-7")
    for i in range(40):
        add(sc, "assistant", f"working on step {i}")
    found = sc("session", "search", "staging cluster name")
    assert found.exit_code == 0
    assert rows(found)[0][:2] == ["1", "user"] and rows(found)[0][4] == "in log"
    assert rows(found)[0][5] == "Our staging cluster is called orion-7"
    assert sc("compact", "-p", "5").exit_code == 0
    data = sc("session", "search", "orion", "--json").json()
    assert [(d["seq"], d["archived"], d["branch"]) for d in data] == [(1, True, "main")]
    assert set(data[0]) == {
        "seq",
        "role",
        "branch",
        "created_at",
        "archived",
        "content",
        "score",
        "meta",
    }
    assert rows(sc("session", "search", "orion"))[0][4] == "archived"
    miss = sc("session", "search", "kubernetes")
    assert miss.exit_code == 1 and miss.stdout == "" and "no session events match" in miss.stderr
    empty = sc("session", "search", "?!")
    assert empty.exit_code == 2 and "nothing to search for" in empty.stderr
    both = sc("session", "search", "orion", "--branch", "main", "--all-branches")
    assert both.exit_code == 2 and "not both" in both.stderr
    assert sc("session", "search", "orion", "--branch", "nope").exit_code == 1


def test_tool_runs_are_grouped_by_the_command_given(sc):
    dots = ".                                                                        [100%]\n"
    for n in range(6):
        add(sc, "tool", "-", "--command", "pytest -q", input=f"{dots}{n + 1} passed in 0.01s\n")
    for _ in range(4):  # the issue's `pytest -q | session add tool -`, no command given
        add(sc, "tool", "-", input=f"{dots}1 passed in 0.01s\n")
    add(sc, "user", "latest")
    dry = sc("compact", "-p", "1", "--dry-run").stdout
    assert "- pytest -q: 6 runs, all passed; last: 6 passed in 0.01s" in dry
    assert "- (no command; pytest output): 4 runs, all passed" in dry
    assert "[100%]:" not in dry
    shown = sc("session", "show", "--json").json()
    assert shown[0]["meta"]["command"] == "pytest -q" and "command" not in shown[-2]["meta"]
    bad = sc("session", "add", "tool", "x", "--command", "")
    assert bad.exit_code == 2 and "invalid command" in bad.stderr


def test_compact_says_in_one_line_when_nothing_would_be_smaller(sc):
    add(sc, "user", "ok thanks")
    add(sc, "user", "next")
    for args in (["compact", "-p", "1"], ["compact", "-p", "1", "--dry-run"]):
        result = sc(*args)
        assert result.exit_code == 0 and result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "would not be smaller" in lines[0]
    assert len(rows(sc("session", "show"))) == 2
    report = sc("compact", "-p", "1", "--json").json()
    assert report["view"] is None and "would not be smaller" in report["notice"]


def test_compact_undo_dry_run_undoes_nothing(sc):
    for n in range(6):
        add(sc, "tool", "-", "-c", "pytest -v", input=pytest_output(n))
    assert sc("compact", "-p", "1").exit_code == 0
    before = sc("session", "show", "--json").json()
    preview = sc("compact", "--undo", "--dry-run")
    assert preview.exit_code == 0
    assert "would undo compact #1 on branch main: the log would have 6 events again" in (
        preview.stderr
    )
    assert sc("compact", "--undo", "--dry-run", "--json").json()["dry_run"] is True
    assert sc("session", "show", "--json").json() == before
    assert sc("compact", "--undo").exit_code == 0
    assert len(sc("session", "show", "--json").json()) == 6


def test_compact_dry_run_in_a_fresh_home_writes_nothing(sc, home):
    result = sc("compact", "--dry-run")
    assert result.exit_code == 0 and "nothing to compact" in result.stderr
    undo = sc("compact", "--undo", "--dry-run")
    assert undo.exit_code == 1 and "nothing to undo" in undo.stderr
    assert not any(p.is_file() for p in home.rglob("*"))


def test_a_fifteen_megabyte_tool_output_becomes_an_artifact(sc):
    import hashlib

    lines = [f"tests/test_big.py::test_case_{n:06d} PASSED" for n in range(360_000)]
    big = "\n".join([*lines, "1 failed, 359999 passed in 912.00s"]) + "\n"
    assert len(big.encode()) > 15_000_000
    result = sc("session", "add", "tool", "-", "--command", "pytest -v", "--json", input=big)
    assert result.exit_code == 0, result.stderr
    data = result.json()
    ref = data["artifact"]
    assert ref and f"stored whole as artifact {ref}" in result.stderr
    [event] = sc("session", "show", "--json").json()
    assert len(event["content"]) < 10_000 and f"full output: {ref}" in event["content"]
    assert event["content"].rstrip().endswith("1 failed, 359999 passed in 912.00s")
    whole = sc("artifact", "show", ref, "--json").json()["content"]
    assert hashlib.sha256(whole.encode()).digest() == hashlib.sha256(big.encode()).digest()
    # Later compiles see the short event, never the 15 MB.
    prompt = sc("compile", "--budget", "4000").stdout
    assert ref in prompt and len(prompt) < 40_000
