"""CLI tests for the long-term memory commands: remember, search, forget, list, show.

Each command is driven like the shell (``sc("search", "x", "--json")``) against a real SQLite
store in a per-test ``SMARTCONTEXT_HOME``; ``--json`` shapes are asserted field by field because
scripts depend on them.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEMORY_KEYS = {
    "id",
    "content",
    "tags",
    "kind",
    "source",
    "importance",
    "created_at",
    "updated_at",
    "token_count",
    "token_encoding",
}
HEX32 = re.compile(r"[0-9a-f]{32}")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def remember(sc, *args: str, input: str | None = None) -> str:
    result = sc("remember", *args, input=input)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def test_version(sc):
    from smartcontext_cli import __version__

    result = sc("--version")
    assert result.exit_code == 0
    assert result.stdout == f"smartcontext {__version__}\n"


# remember --------------------------------------------------------------------------------------


def test_remember_prints_a_new_random_id_and_nothing_else(sc):
    result = sc("remember", "We chose PostgreSQL 16")
    assert result.exit_code == 0
    assert HEX32.fullmatch(result.stdout.strip())
    assert result.stdout.count("\n") == 1


def test_remember_same_text_twice_returns_the_existing_id(sc):
    first = remember(sc, "same words")
    again = sc("remember", "  same\n  words ")  # whitespace aside, the same text
    assert again.stdout.strip() == first
    assert again.stderr.startswith(f"already remembered as {first[:8]}")
    assert len(sc("list", "--json").json()) == 1
    forced = remember(sc, "same words", "--allow-duplicate")
    assert forced != first
    assert len(sc("list", "--json").json()) == 2


def test_remember_json_shape(sc):
    result = sc("remember", "x marks the spot", "--json", "-n", "proj")
    assert result.exit_code == 0
    data = result.json()
    assert set(data) == {"id", "namespace", "created"}
    assert HEX32.fullmatch(data["id"])
    assert data["namespace"] == "proj"


def test_remember_stores_tags_kind_importance_source(sc):
    mid = remember(
        sc,
        "Never log raw tokens",
        "-t",
        "Auth",
        "--tag",
        "security",
        "-t",
        "auth",
        "--kind",
        "decision",
        "--importance",
        "0.9",
        "--source",
        "review",
    )
    shown = sc("show", mid, "--json").json()
    assert set(shown) == MEMORY_KEYS
    assert shown["id"] == mid
    assert shown["content"] == "Never log raw tokens"
    assert shown["tags"] == ["auth", "security"]  # lower-cased, de-duplicated, in order
    assert shown["kind"] == "decision"
    assert shown["importance"] == 0.9
    assert shown["source"] == "review"
    assert ISO.fullmatch(shown["created_at"])
    assert shown["updated_at"] == shown["created_at"]
    # The tokenizer is lazy: remember never counts tokens.
    assert shown["token_count"] is None
    assert shown["token_encoding"] is None


def test_remember_reads_stdin_with_dash(sc):
    mid = remember(sc, "-", "--kind", "fact", input="from a pipe\nsecond line\n")
    assert sc("show", mid, "--json").json()["content"] == "from a pipe\nsecond line"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--kind", "Not A Kind"], "invalid kind"),
        (["--importance", "1.5"], "importance"),
        (["--importance", "-0.1"], "importance"),
        (["-t", ""], "tag"),
        (["-t", "a,b"], "invalid tag"),
    ],
)
def test_remember_rejects_bad_options_with_usage_error(sc, args, fragment):
    result = sc("remember", "text", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error:")
    assert fragment in result.stderr
    assert sc("list", "--json").json() == []


def test_remember_without_text_is_a_usage_error(sc):
    result = sc("remember")
    assert result.exit_code == 2
    assert "smartcontext: error:" in result.stderr


# search ----------------------------------------------------------------------------------------


@pytest.fixture
def corpus(sc):
    rows = {
        "pg": ("We chose PostgreSQL 16 for the main database", "-t", "db", "--kind", "decision"),
        "k8s": ("Deploys run on Kubernetes in the staging pool", "-t", "infra", "--kind", "fact"),
        "jwt": ("API uses JWT; tokens expire after 1h", "-t", "auth", "--kind", "fact"),
        "log": ("Never log raw tokens", "-t", "auth", "-t", "security", "--kind", "decision"),
        "ui": ("Buttons use the brand blue colour", "--kind", "preference"),
    }
    ids = {name: remember(sc, *args) for name, args in rows.items()}
    for i in range(6):  # filler, so BM25 document frequencies are meaningful
        remember(sc, f"filler note number {i} about lunch plans")
    return ids


def test_search_json_shape_and_best_match_first(sc, corpus):
    result = sc("search", "database", "--json")
    assert result.exit_code == 0
    hits = result.json()
    assert isinstance(hits, list) and hits
    assert set(hits[0]) == MEMORY_KEYS | {"score"}
    assert hits[0]["id"] == corpus["pg"]
    assert hits[0]["score"] > 0
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_plain_output_is_tab_separated_rows_in_a_pipe(sc, corpus):
    result = sc("search", "kubernetes")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0].split("\t")
    assert first[0] == corpus["k8s"]  # whole ids in a pipe, as gh and sqlite-utils print them
    assert first[2:] == ["fact", "infra", "Deploys run on Kubernetes in the staging pool"]
    assert result.stderr == ""


def test_search_limit_tag_and_kind_filters(sc, corpus):
    assert len(sc("search", "tokens", "-k", "1", "--json").json()) == 1
    tagged = sc("search", "tokens", "--tag", "security", "--json").json()
    assert [h["id"] for h in tagged] == [corpus["log"]]
    kinds = sc("search", "tokens", "--kind", "fact", "--json").json()
    assert [h["id"] for h in kinds] == [corpus["jwt"]]


def test_kind_filters_ignore_case_and_refuse_impossible_kinds(sc, corpus):
    assert [h["id"] for h in sc("search", "tokens", "--kind", "Fact", "--json").json()] == [
        corpus["jwt"]
    ]
    assert len(sc("list", "--kind", " DECISION ", "--json").json()) == 2
    for command in (["search", "tokens"], ["list"]):
        result = sc(*command, "--kind", "no such kind")
        assert result.exit_code == 2
        assert result.stderr.startswith("smartcontext: error: invalid kind 'no such kind'")


def test_search_tolerates_typos(sc, corpus):
    assert sc("search", "postgre", "--json").json()[0]["id"] == corpus["pg"]
    assert sc("search", "kubernets", "--json").json()[0]["id"] == corpus["k8s"]


def test_search_with_no_match_exits_1_with_empty_json(sc, corpus):
    result = sc("search", "xylophone", "--json")
    assert result.exit_code == 1
    assert result.json() == []
    plain = sc("search", "xylophone")
    assert plain.exit_code == 1
    assert plain.stdout == ""
    assert "no memories match" in plain.stderr


def test_search_on_a_namespace_that_does_not_exist_creates_nothing(sc, home):
    result = sc("search", "anything", "-n", "ghost", "--json")
    assert result.exit_code == 1
    assert result.stderr.startswith("smartcontext: error: no namespace 'ghost' (namespaces:")
    assert not (home / "namespaces" / "ghost").exists()


def test_search_negative_limit_is_a_usage_error(sc, corpus):
    result = sc("search", "database", "-k", "-1")
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error:")


# list and show ---------------------------------------------------------------------------------


def test_list_is_most_recent_first_with_limit_and_filters(sc):
    a = remember(sc, "first", "--kind", "fact", "-t", "x")
    b = remember(sc, "second", "--kind", "decision")
    c = remember(sc, "third", "--kind", "fact")
    assert [m["id"] for m in sc("list", "--json").json()] == [c, b, a]
    assert [m["id"] for m in sc("list", "--limit", "2", "--json").json()] == [c, b]
    assert [m["id"] for m in sc("list", "--kind", "fact", "--json").json()] == [c, a]
    assert [m["id"] for m in sc("list", "-t", "x", "--json").json()] == [a]
    rows = sc("list").stdout.splitlines()
    assert [r.split("\t")[0] for r in rows] == [c, b, a]


def test_list_json_shape(sc):
    remember(sc, "one")
    items = sc("list", "--json").json()
    assert len(items) == 1
    assert set(items[0]) == MEMORY_KEYS


def test_list_on_empty_store_says_so_on_stderr(sc):
    result = sc("list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no memories yet" in result.stderr
    assert sc("list", "--json").json() == []


def test_show_accepts_unique_prefix_and_prints_content_on_stdout(sc):
    mid = remember(sc, "line one\nline two", "-t", "t1")
    result = sc("show", mid[:6])
    assert result.exit_code == 0
    assert result.stdout == "line one\nline two\n"
    assert mid in result.stderr
    assert sc("show", mid.upper(), "--json").json()["id"] == mid


def test_show_unknown_id_exits_1(sc):
    remember(sc, "something")
    result = sc("show", "ffffffff")
    assert result.exit_code == 1
    assert result.stderr.startswith("smartcontext: error: no memory with id")
    assert sc("show", "not-an-id").exit_code == 1


def test_show_ambiguous_prefix_is_a_usage_error(sc):
    from smartcontext_cli import Memory, MemoryStore

    twins = [Memory(content="a", id="abcd" + "0" * 28), Memory(content="b", id="abcd" + "1" * 28)]
    with MemoryStore(namespace="default") as store:
        store.storage.add_memories(twins)
    result = sc("show", "abcd")
    assert result.exit_code == 2
    assert "several memories" in result.stderr
    assert sc("show", "abcd0", "--json").json()["content"] == "a"


# forget ----------------------------------------------------------------------------------------


def test_forget_by_ids_and_prefixes(sc):
    a = remember(sc, "alpha")
    b = remember(sc, "beta")
    c = remember(sc, "gamma")
    result = sc("forget", a, b[:5], "--json", "--yes")
    assert result.exit_code == 0
    assert result.json() == {"deleted": 2, "ids": [a, b]}
    assert [m["id"] for m in sc("list", "--json").json()] == [c]


def test_forget_plain_output_reports_on_stderr(sc):
    a = remember(sc, "alpha")
    refused = sc("forget", a)  # destructive: --yes in a pipe
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    result = sc("forget", a, "--yes")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "forgot 1 memory" in result.stderr


def test_forget_the_same_memory_twice_in_one_call(sc):
    a = remember(sc, "alpha")
    result = sc("forget", a, a[:6], "--json", "-y")
    assert result.json() == {"deleted": 1, "ids": [a]}


@pytest.mark.parametrize(
    "args", [["show", "abcd"], ["forget", "abcd"], ["forget", "--query", "x", "--yes"]]
)
def test_reads_on_a_namespace_that_does_not_exist_create_nothing(sc, home, args):
    result = sc(*args, "-n", "ghost")
    assert result.exit_code == 1
    assert result.stderr.startswith("smartcontext: error:")
    assert not (home / "namespaces" / "ghost").exists()


def test_forget_is_all_or_nothing_when_one_id_is_unknown(sc):
    a = remember(sc, "alpha")
    result = sc("forget", a, "ffffffff")
    assert result.exit_code == 1
    assert "ffffffff" in result.stderr
    assert len(sc("list", "--json").json()) == 1


def test_forget_needs_ids_or_query_not_both(sc):
    a = remember(sc, "alpha")
    assert sc("forget").exit_code == 2
    both = sc("forget", a, "--query", "alpha", "--yes")
    assert both.exit_code == 2
    assert len(sc("list", "--json").json()) == 1


def test_forget_query_refuses_without_yes_when_not_a_terminal(sc):
    remember(sc, "staging password is hunter2")
    result = sc("forget", "--query", "staging password")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    # It still shows what it would have deleted.
    assert "1 memory contains every word of 'staging password':" in result.stderr
    assert "staging password is hunter2" in result.stderr
    assert len(sc("list", "--json").json()) == 1


def test_forget_query_with_yes_deletes_only_memories_with_every_word(sc):
    keep = remember(sc, "staging server runs nginx")
    gone = remember(sc, "the staging password is hunter2")
    gone2 = remember(sc, "Passwords for staging are rotated")  # stemmed: passwords -> password
    result = sc("forget", "--query", "staging password", "--yes", "--json")
    assert result.exit_code == 0
    data = result.json()
    assert data["deleted"] == 2
    assert sorted(data["ids"]) == sorted([gone, gone2])
    assert [m["id"] for m in sc("list", "--json").json()] == [keep]


def test_forget_query_never_deletes_a_fuzzy_only_match(sc):
    mid = remember(sc, "We chose PostgreSQL 16")
    # search finds it through typo tolerance...
    assert sc("search", "postgrse", "--json").json()[0]["id"] == mid
    # ...but forget never acts on a guess.
    result = sc("forget", "--query", "postgrse", "--yes")
    assert result.exit_code == 1
    assert "no memory contains every word" in result.stderr
    assert len(sc("list", "--json").json()) == 1


def test_forget_query_with_only_punctuation_deletes_nothing(sc):
    remember(sc, "something")
    result = sc("forget", "--query", "?!", "--yes")
    assert result.exit_code == 1
    assert len(sc("list", "--json").json()) == 1


def _run_on_terminal(args: list[str], answer: bytes | None, home: Path) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal; type ``answer``."""
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "SMARTCONTEXT_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "160"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartcontext_cli", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if answer is not None and not sent and b"[y/N]" in seen:
            os.write(leader, answer)
            sent = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(timeout=30)
    os.close(leader)
    return code, seen.decode("utf-8", "replace")


@pytest.mark.parametrize(("answer", "code", "left"), [(b"n\n", 1, 1), (b"y\n", 0, 0)])
def test_forget_query_asks_on_a_terminal(sc, home, answer, code, left):
    remember(sc, "the staging password is hunter2")
    exit_code, screen = _run_on_terminal(["forget", "--query", "staging password"], answer, home)
    assert "Delete it? [y/N]" in screen
    assert exit_code == code
    assert len(sc("list", "--json").json()) == left


def test_tables_on_a_terminal_show_user_text_verbatim_without_colour(sc, home):
    mid = remember(sc, "array[/] slicing and [bold]markup[/bold] text", "-t", "[red]")
    for args in (["list"], ["search", "slicing"]):
        exit_code, screen = _run_on_terminal(args, None, home)
        assert exit_code == 0, screen
        assert "┃" in screen  # a Rich table, not the tab-separated pipe format
        assert mid[:8] in screen
        assert "array[/] slicing and [bold]markup[/bold] text" in screen
        assert "[red]" in screen
        # NO_COLOR: bold headers at most, never a colour (SGR 30-38, 90-97, 256/true colour).
        assert not re.search(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])(?:;[0-9;]*)?m", screen)


def test_search_table_shows_each_hit_relative_to_the_best(sc) -> None:
    # A tiny store gives every word a tiny idf; people still need to see which hit is best.
    assert sc("remember", "API uses JWT; tokens expire after 1h").exit_code == 0
    assert sc("remember", "Never log raw tokens").exit_code == 0
    rows = [line.split("\t") for line in sc("search", "token expiry").stdout.splitlines()]
    assert [(r[1], r[4]) for r in rows] == [
        ("1.00", "API uses JWT; tokens expire after 1h"),
        ("0.37", "Never log raw tokens"),  # one of two words, no phrase
    ]
