"""CLI tests for the agent-state groups: prefix, todo, error, strategy.

Driven like the shell against real stores on both backends (``--backend`` decides the backend of
a new namespace); one flow runs in real subprocesses to prove state survives process restarts.
"""

from __future__ import annotations

import pytest

STRATEGY_KEYS = {
    "domain",
    "template",
    "version",
    "heuristics",
    "learned_patterns",
    "failure_modes",
    "successes",
    "entries",
    "created_at",
    "updated_at",
    "ranked",
}
TASK_KEYS = {"id", "text", "status", "parent", "created_at", "updated_at", "note", "depth"}
ERROR_KEYS = {
    "id",
    "action",
    "error",
    "context",
    "count",
    "actions",
    "first_seen",
    "last_seen",
    "resolved",
    "resolution",
    "resolved_at",
    "recurrence_of",
    "headline",
}


@pytest.fixture(params=["sqlite", "json"])
def run(request: pytest.FixtureRequest, sc):
    def _run(*args: str, input: str | None = None):
        return sc("--backend", request.param, *args, input=input)

    return _run


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


# prefix ------------------------------------------------------------------------------------------


def test_prefix_set_show_clear_round_trip_byte_for_byte(run) -> None:
    text = "System: You are a senior Python developer.\n  Constraints: PEP 8\n\n"
    ok(run("prefix", "set", "-", input=text))
    assert ok(run("prefix", "show")).stdout == text
    assert ok(run("prefix", "show", "--json")).json() == {"prefix": text}
    ok(run("prefix", "clear"))
    missing = run("prefix", "show")
    assert missing.exit_code == 1 and missing.stdout == "" and "prefix set" in missing.stderr
    assert run("prefix", "show", "--json").json() == {"prefix": None}


def test_prefix_break_is_pending_until_a_compile(run) -> None:
    ok(run("prefix", "break", "--reason", "switching to billing"))
    report = ok(run("prefix", "check", "--json")).json()
    assert report["pending_break"] == "switching to billing"
    assert "pending break (next compile): switching to billing" in ok(run("prefix", "check")).stdout


def test_prefix_check_flags_an_early_timestamp(run) -> None:
    ok(run("prefix", "set", "System: Generated 2024-05-01T09:30:00Z\nYou review code.\n"))
    result = ok(run("prefix", "check"))
    assert "warning: timestamp '2024-05-01T09:30:00Z' in stable prefix line 1" in result.stdout
    data = ok(run("prefix", "check", "--json")).json()
    assert [(w["kind"], w["where"], w["text"]) for w in data["warnings"]] == [
        ("timestamp", "stable prefix", "2024-05-01T09:30:00Z")
    ]
    assert set(data) >= {
        "compiles",
        "pairs",
        "last",
        "mean_reuse",
        "mean_reuse_unplanned",
        "planned_breaks",
        "unplanned_breaks",
        "pending_break",
        "warnings",
    }


def test_prefix_check_flags_a_counter_in_the_goal(run) -> None:
    ok(run("goal", "Session #42: fix the login bug"))
    data = ok(run("prefix", "check", "--json")).json()
    assert [(w["kind"], w["where"]) for w in data["warnings"]] == [("counter", "goal")]


def test_prefix_check_on_an_empty_namespace_measures_nothing(run) -> None:
    result = ok(run("prefix", "check"))
    assert "not measured yet" in result.stdout


def test_prefix_set_refuses_empty_text(run) -> None:
    result = run("prefix", "set", "  ")
    assert result.exit_code == 2 and "empty" in result.stderr and "Traceback" not in result.stderr


# todo --------------------------------------------------------------------------------------------


def test_todo_lifecycle(run) -> None:
    assert ok(run("todo", "add", "Write the migration")).stdout.strip() == "1"
    assert ok(run("todo", "add", "Add fixtures", "--parent", "1")).stdout.strip() == "2"
    assert ok(run("todo", "add", "Update docs")).stdout.strip() == "3"
    ok(run("todo", "start", "2"))
    ok(run("todo", "block", "3", "--note", "waiting for review"))
    assert ok(run("todo", "list")).stdout.splitlines() == [
        "[ ] 1. Write the migration",
        "  [~] 2. Add fixtures",
        "[!] 3. Update docs  (waiting for review)",
    ]
    ok(run("todo", "done", "2"))
    ok(run("todo", "skip", "3"))
    assert ok(run("todo", "list")).stdout.splitlines() == ["[ ] 1. Write the migration"]
    rows = ok(run("todo", "list", "--all", "--json")).json()
    assert [(r["id"], r["status"], r["parent"], r["depth"]) for r in rows] == [
        (1, "pending", None, 0),
        (2, "done", 1, 1),
        (3, "skipped", None, 0),
    ]
    assert set(rows[0]) == TASK_KEYS
    assert "removed 2 tasks" in ok(run("todo", "clear")).stderr
    assert ok(run("todo", "add", "Next")).stdout.strip() == "4"  # ids never reused
    ok(run("todo", "clear", "--all", "--yes"))
    assert ok(run("todo", "list", "--json")).json() == []


def test_todo_errors(run) -> None:
    missing = run("todo", "done", "9")
    assert missing.exit_code == 1 and "no task 9" in missing.stderr
    bad = run("todo", "done", "nine")
    assert bad.exit_code == 2 and "invalid task id" in bad.stderr
    orphan = run("todo", "add", "x", "--parent", "5")
    assert orphan.exit_code == 1


# error -------------------------------------------------------------------------------------------


def test_error_log_group_resolve_list(run) -> None:
    assert (
        ok(run("error", "log", "pytest", "AssertionError: expected 200, got 500")).stdout.strip()
        == "E1"
    )
    again = ok(
        run(
            "error",
            "log",
            "pytest",
            "-",
            "--context",
            "retry",
            input="AssertionError: expected 200, got 503\n",
        )
    )
    assert again.stdout.strip() == "E1" and "seen 2 times" in again.stderr
    ok(run("error", "log", "npm run build", "Module not found: Error: Can't resolve './App'"))
    rows = ok(run("error", "list", "--json")).json()
    assert [(r["id"], r["count"]) for r in rows] == [("E2", 1), ("E1", 2)]
    assert set(rows[0]) == ERROR_KEYS
    assert (
        rows[1]["context"] == "retry"
        and rows[1]["error"] == "AssertionError: expected 200, got 503"
    )
    listed = ok(run("error", "list")).stdout
    assert "E1\t2\topen\tpytest\tAssertionError: expected 200, got 503" in listed
    ok(run("error", "resolve", "E1", "--resolution", "start the API server first"))
    assert [r["id"] for r in ok(run("error", "list", "--json")).json()] == ["E2"]
    all_rows = ok(run("error", "list", "--all", "--json")).json()
    assert [(r["id"], r["resolved"]) for r in all_rows] == [("E2", False), ("E1", True)]
    strategy = ok(run("strategy", "show", "--json")).json()
    assert strategy["learned_patterns"] == [
        'When `pytest` fails with "AssertionError: expected 200, got 503": '
        "start the API server first"
    ]


def test_error_errors(run) -> None:
    assert run("error", "resolve", "E5").exit_code == 1
    assert run("error", "resolve", "five").exit_code == 2
    assert run("error", "log", "pytest", "  ").exit_code == 2
    empty = ok(run("error", "list"))
    assert empty.stdout == "" and "no unresolved errors" in empty.stderr


# strategy ----------------------------------------------------------------------------------------


def test_strategy_init_update_show_history(run) -> None:
    ok(run("strategy", "init", "--template", "security_audit"))
    ok(run("strategy", "add-heuristic", "Rotate keys every 90 days"))
    ok(run("strategy", "add-pattern", "Auth errors often come from token expiry"))
    ok(run("strategy", "success", "Retry with backoff fixed the rate limit"))
    ok(run("strategy", "failure", "Logged the bearer token in debug output"))
    data = ok(run("strategy", "show", "--json")).json()
    assert set(data) == STRATEGY_KEYS
    assert (
        data["version"] == 5
        and data["template"] == "security_audit"
        and data["domain"] == "security"
    )
    assert "Rotate keys every 90 days" in data["heuristics"]
    assert data["ranked"][0] == "Avoid: Logged the bearer token in debug output"
    shown = ok(run("strategy", "show")).stdout.splitlines()
    assert shown[0] == "Strategy v5 (security, template security_audit)"
    assert shown[1] == "- Avoid: Logged the bearer token in debug output"
    history = ok(run("strategy", "history", "--json")).json()
    assert [(h["version"], h["kind"]) for h in history] == [
        (1, "init"),
        (2, "add_heuristic"),
        (3, "add_pattern"),
        (4, "record_success"),
        (5, "record_failure"),
    ]
    assert (
        "add_pattern\tAuth errors often come from token expiry"
        in ok(run("strategy", "history")).stdout
    )


def test_strategy_without_one(run) -> None:
    shown = run("strategy", "show")
    assert shown.exit_code == 1 and "strategy init" in shown.stderr
    assert run("strategy", "show", "--json").stdout.strip() == "null"
    assert run("strategy", "history").exit_code == 1
    bad = run("strategy", "init", "--template", "astrology")
    assert bad.exit_code == 2 and "security_audit" in bad.stderr


def test_strategy_templates_lists_builtins(run) -> None:
    names = ok(run("strategy", "templates", "--json")).json()
    assert {"security_audit", "debugging", "refactoring", "code_review", "data_pipeline"} <= set(
        names
    )


# restart in real processes -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_state_survives_separate_processes(sc_proc, backend: str) -> None:
    steps = [
        ("prefix", "set", "System: stable.\n"),
        ("todo", "add", "Ship it"),
        ("error", "log", "make", "make: *** [all] Error 2"),
        ("strategy", "init", "--template", "debugging"),
    ]
    for step in steps:
        assert sc_proc("--backend", backend, *step).exit_code == 0
    assert sc_proc("prefix", "show").stdout == "System: stable.\n"
    assert sc_proc("todo", "list").stdout == "[ ] 1. Ship it\n"
    assert sc_proc("error", "list", "--json").json()[0]["error"] == "make: *** [all] Error 2"
    assert sc_proc("strategy", "show", "--json").json()["template"] == "debugging"


# measured reuse over real compiles ---------------------------------------------------------------


def seed_project(run) -> None:
    ok(
        run(
            "prefix",
            "set",
            "System: You are a senior Python developer.\nStack: FastAPI, PostgreSQL.\n",
        )
    )
    ok(run("goal", "Add a refund endpoint to the orders API"))
    for text in (
        "Orders live in the PostgreSQL table orders, keyed by (customer_id, cart_id)",
        "Payment webhooks may arrive twice; refund handlers must be idempotent",
        "Amounts are integers in cents, never floats",
    ):
        ok(run("remember", text, "--tag", "orders"))
    ok(run("strategy", "init", "--template", "debugging"))
    ok(run("todo", "add", "Design the refund API"))
    for i in range(4):
        ok(
            run(
                "session", "add", "user", f"Look at app/orders/api.py, part {i} of the refund flow."
            )
        )


def last_reuse(run) -> dict:
    return ok(run("prefix", "check", "--json")).json()["last"]


def test_compiles_with_only_new_session_items_reuse_most_of_the_prompt(run) -> None:
    seed_project(run)
    first = ok(run("compile", "--budget", "4000")).stdout
    ok(run("session", "add", "tool", "read app/orders/api.py: 120 lines, handle_refund found"))
    ok(run("session", "add", "assistant", "Validate the order state before refunding."))
    second = ok(run("compile", "--budget", "4000")).stdout
    assert second.startswith("System: You are a senior Python developer.\n")  # prefix first, exact
    last = last_reuse(run)
    assert last["planned_break"] is None and last["unplanned_break"] is False
    assert last["reuse_of_previous"] >= 0.9, last
    assert last["prompt_tokens"] > last["previous_tokens"]
    # Not overstated: the earlier prompt's text covered by the common tokens is, character for
    # character, the start of the later prompt; and the token totals are the real counts.
    from smartcontext_cli.tokens import Tokenizer

    tokenizer = Tokenizer("cl100k_base")
    assert tokenizer.count(first) == last["previous_tokens"]
    assert tokenizer.count(second) == last["prompt_tokens"]
    shared_chars = tokenizer.prefix_chars(first, last["common_prefix_tokens"])
    assert shared_chars > len(first) * 0.9 and second.startswith(first[:shared_chars])
    stats = ok(run("stats", "--json")).json()
    assert stats["cache"]["last"]["common_prefix_tokens"] == last["common_prefix_tokens"]


def test_a_planned_break_is_reported_as_planned(run) -> None:
    seed_project(run)
    ok(run("compile"))
    ok(run("prefix", "break", "--reason", "switching task"))
    ok(run("goal", "Now: add partial refunds"))
    ok(run("compile"))
    last = last_reuse(run)
    assert last["planned_break"] == "switching task" and last["unplanned_break"] is False
    assert "planned break: switching task" in ok(run("prefix", "check")).stdout
    assert ok(run("prefix", "check", "--json")).json()["pending_break"] is None  # consumed once
    ok(run("compile"))
    assert last_reuse(run)["planned_break"] is None


def test_a_timestamp_in_the_system_text_is_flagged(run) -> None:
    seed_project(run)
    ok(run("compile", "--system", "Current time: 2024-05-01T10:00:00Z"))
    ok(run("compile", "--system", "Current time: 2024-05-01T10:05:00Z"))
    check = ok(run("prefix", "check", "--system", "Current time: 2024-05-01T10:05:00Z"))
    assert "warning: timestamp '2024-05-01T10:05:00Z' in system line 1" in check.stdout
    assert "warning: changed in place block in the system section" in check.stdout
    last = last_reuse(run)
    assert last["unplanned_break"] is True and last["reuse_of_previous"] < 0.5
