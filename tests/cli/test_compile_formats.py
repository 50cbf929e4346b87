"""compile's output formats are always usable: messages always hold a user message (or the
command fails clearly), xml always parses, and empty ad-hoc items are refused."""

from __future__ import annotations

import pytest

from smartcontext_cli.compiler import ContextCompiler
from smartcontext_cli.errors import BudgetError, SmartContextError

LONG_PREFIX = "You are helping on project Atlas, a large monorepo with many services."


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--memory", "", "an ad-hoc memory is empty (--memory)"),
        ("-M", "   ", "an ad-hoc memory is empty (--memory)"),
        ("--observation", "\n", "an ad-hoc observation is empty (--observation)"),
        ("--system", "", "an ad-hoc system text is empty (--system)"),
    ],
)
def test_empty_ad_hoc_items_are_refused(sc, option: str, value: str, message: str) -> None:
    result = sc("compile", option, value, "-b", "100")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"smartcontext: error: {message}: give it some text or leave it out"
    )


def test_an_empty_artifact_file_is_refused(sc, tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    result = sc("compile", "--artifact", str(empty))
    assert result.exit_code == 2
    assert "the artifact empty.txt is empty (--artifact)" in result.stderr


def test_the_api_skips_empty_items_rather_than_print_an_empty_entry() -> None:
    ctx = ContextCompiler().compile(goal="g", memories=["", " ", "real"], observations=["\n"])
    assert ctx.to_prompt() == "## Goal\ng\n## Relevant memories\n- real\n"


def test_messages_without_room_for_a_user_message_fail_clearly(sc) -> None:
    assert sc("prefix", "set", LONG_PREFIX).exit_code == 0
    assert (
        sc("goal", "Implement OAuth2 flow for the mobile client with refresh tokens").exit_code == 0
    )
    plain = sc("compile", "--format", "messages", "-b", "8")  # the goal cannot fit, even cut
    assert plain.exit_code == 1 and plain.stdout == ""
    assert plain.stderr.startswith(
        "smartcontext: error: --format messages needs a user message, but the budget of 8 "
        "tokens leaves no room for one after the system text"
    )
    assert len(plain.stderr.strip().splitlines()) == 1
    strict = sc("compile", "--format", "messages", "-b", "8", "--strict")
    assert strict.exit_code == 3 and strict.stdout == ""
    roomy = sc("compile", "--format", "messages", "-b", "200")
    assert roomy.exit_code == 0
    assert [m["role"] for m in roomy.json()] == ["system", "user"]


def test_messages_with_nothing_selected_beside_the_system_text_fail(sc) -> None:
    # A memory the (empty) query does not select is not a user message either.
    assert sc("prefix", "set", LONG_PREFIX).exit_code == 0
    assert sc("remember", "We chose PostgreSQL 16 for the main database").exit_code == 0
    result = sc("compile", "--format", "messages", "-b", "200")
    assert result.exit_code == 1 and result.stdout == ""
    assert "this compile has nothing for one" in result.stderr
    asked = sc("compile", "--format", "messages", "-b", "200", "-q", "postgresql database")
    assert asked.exit_code == 0 and asked.json()[-1]["role"] == "user"


def test_messages_with_nothing_but_system_text_fail(sc) -> None:
    result = sc("compile", "--format", "messages", "--system", "You are terse.")
    assert result.exit_code == 1
    assert "this compile has nothing for one" in result.stderr


@pytest.mark.parametrize("budget", [1, 3, 8, 20, 40])
def test_the_api_never_returns_a_messages_list_without_a_user_message(budget: int) -> None:
    compiler = ContextCompiler()
    args = dict(goal="Fix it", system="Be brief and exact.", prefix=LONG_PREFIX, format="messages")
    try:
        ctx = compiler.compile(token_budget=budget, **args)
    except SmartContextError as exc:
        assert "needs a user message" in str(exc)
        with pytest.raises(BudgetError):
            compiler.compile(token_budget=budget, strict=True, **args)
    else:
        assert "user" in [m["role"] for m in ctx.to_messages()]
