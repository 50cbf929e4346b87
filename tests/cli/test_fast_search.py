"""The Typer-free ``search`` path answers exactly as Typer's: same stdout, stderr and exit code
for any command line, taken or handed back (``smartcontext_cli.cli._fast``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smartcontext_cli.cli as cli
import smartcontext_cli.search as search_module
from smartcontext_cli.cli import _fast

TOKENS = [
    "search",
    "postgres",
    "deploy fridays",
    "-",
    "--",
    "-k",
    "1",
    "0",
    "abc",
    "-3",
    "99999999999999999999",
    "--limit=2",
    "-k2",
    "-t",
    "ops",
    "--tag=db",
    "--kind",
    "fact",
    "decision",
    "bogus",
    "--kind=fact",
    "--explain",
    "--json",
    "--json=1",
    "-n",
    "proj",
    "other",
    "--namespace=proj",
    "-v",
    "-vv",
    "--backend",
    "json",
    "--home",
    "",
    "--help",
    "-x",
    "?",
]


@pytest.fixture
def filled(sc, monkeypatch):
    monkeypatch.setenv("SMARTCONTEXT_NAMESPACE", "proj")
    for text, kind, tag in [
        ("postgres is the database; the deploy runs on fridays", "decision", "db"),
        ("the ops team deploys on fridays with postgres backups", "fact", "ops"),
        ("postgres connection pool is 20", "fact", "db"),
    ]:
        assert sc("remember", text, "--kind", kind, "-t", tag).exit_code == 0
    return sc


class _Frozen(datetime):
    """Recency weighs in the score: both runs must rank at the same moment."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def both(sc, monkeypatch, args):
    monkeypatch.setattr(search_module, "datetime", _Frozen)
    fast = sc(*args)
    with monkeypatch.context() as m:
        m.setattr(cli, "_fast_call", lambda args: None)
        slow = sc(*args)
    return fast, slow


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.lists(st.sampled_from(TOKENS), max_size=3),
    after=st.lists(st.sampled_from(TOKENS), max_size=6),
)
def test_any_command_line_gets_typers_answer(filled, monkeypatch, before, after) -> None:
    args = [*before, "search", *after]
    fast, slow = both(filled, monkeypatch, args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


PAIRS = [
    ["-k", "1"],
    ["-k", "0"],
    ["--limit=3"],
    ["-t", "ops"],
    ["--tag", "db"],
    ["--tag=nope"],
    ["--kind", "fact"],
    ["--kind=Decision"],
    ["--kind", "bogus"],
    ["--explain"],
    ["--json"],
    ["-n", "proj"],
    ["-n", "other"],
]
ROOT = [["-n", "proj"], ["--namespace=other"], ["-v"], ["--backend", "sqlite"]]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    root=st.lists(st.sampled_from(ROOT), max_size=2),
    options=st.lists(st.sampled_from(PAIRS), max_size=4),
    query=st.sampled_from(["postgres", "deploy fridays", "pool 20", "nothing here", "?"]),
    at=st.integers(0, 4),
)
def test_plain_command_lines_take_the_fast_path_and_get_typers_answer(
    filled, monkeypatch, root, options, query, at
) -> None:
    flat = [t for pair in options for t in pair]
    cut = sum(len(p) for p in options[:at])
    args = [t for pair in root for t in pair] + ["search", *flat[:cut], query, *flat[cut:]]
    assert _fast.parse(args) is not None
    fast, slow = both(filled, monkeypatch, args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["search", "postgres"],
        ["search", "postgres", "--json", "--explain", "-k", "2"],
        ["-n", "proj", "search", "fridays", "-t", "ops", "--kind", "fact"],
        ["--namespace=proj", "search", "--", "postgres"],
        ["search", "nothing-like-this"],
        ["-n", "missing", "search", "postgres"],
        ["search", "?"],
    ],
)
def test_plain_searches_take_the_fast_path_and_answer_alike(filled, monkeypatch, args) -> None:
    assert _fast.parse(args) is not None
    fast, slow = both(filled, monkeypatch, args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["search", "--help"],
        ["search"],
        ["search", "a", "b"],
        ["search", "-k5", "x"],
        ["search", "-k", "-1", "x"],
        ["search", "x", "-v"],
        ["--home", "", "search", "x"],
        ["search", "x", "--json=1"],
        ["search", "-k", "1" * 19, "x"],
    ],
)
def test_anything_unusual_is_left_to_typer(args) -> None:
    assert _fast.parse(args) is None


def test_a_plain_search_does_not_load_typer(tmp_path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from smartcontext_cli.cli import main
        try:
            main(["search", "postgres"])
        except SystemExit as exc:
            print("exit", exc.code, "typer" in sys.modules, file=sys.stderr)
        """
    )
    env = {"SMARTCONTEXT_HOME": str(tmp_path), "SMARTCONTEXT_NAMESPACE": "p", "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.stderr.strip().splitlines()[-1] == "exit 1 False"


# compile ---------------------------------------------------------------------------------------

COMPILE_PAIRS = [
    ["-b", "300"],
    ["--budget=120"],
    ["-q", "postgres"],
    ["--query", "deploy fridays"],
    ["--mode", "debugging"],
    ["-m", "bogus"],
    ["-f", "xml"],
    ["--format", "messages"],
    ["--format=text"],
    ["--json"],
    ["-M", "an extra fact about redis"],
    ["-O", "saw the cache miss"],
    ["-s", "be brief"],
    ["--strict"],
    ["-v"],
    ["--transparency", "full"],
    ["--no-graph"],
    ["--no-decay"],
    ["--no-chunking"],
    ["--rerank"],
    ["--encoding", "cl100k_base"],
    ["-n", "proj"],
]


@pytest.fixture
def compile_home(filled, home):
    """The filled store with a goal and a session, copied before each compile (a compile
    records itself, and the next one continues it)."""
    assert filled("goal", "ship the deploy without losing the cache").exit_code == 0
    for i in range(6):
        assert filled("session", "add", "user", f"step {i}: the redis cache warmed").exit_code == 0
    return home


def both_compiles(sc, monkeypatch, home, tmp_path_factory, args):
    import shutil

    results = []
    for fast in (True, False):
        copy = tmp_path_factory.mktemp("copy")
        shutil.copytree(home, copy, dirs_exist_ok=True)
        monkeypatch.setenv("SMARTCONTEXT_HOME", str(copy))
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(cli, "_fast_call", lambda args: None)
            results.append(sc(*args))
    monkeypatch.setenv("SMARTCONTEXT_HOME", str(home))
    return results


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    root=st.lists(st.sampled_from(ROOT), max_size=2),
    options=st.lists(st.sampled_from(COMPILE_PAIRS), max_size=5),
)
def test_plain_compiles_take_the_fast_path_and_get_typers_answer(
    filled, compile_home, monkeypatch, tmp_path_factory, root, options
) -> None:
    args = [t for pair in root for t in pair] + ["compile", *(t for p in options for t in p)]
    assert _fast.parse(args) is not None
    fast, slow = both_compiles(filled, monkeypatch, compile_home, tmp_path_factory, args)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["compile", "--help"],
        ["compile", "extra"],
        ["compile", "-b", "0"],
        ["compile", "-b300"],
        ["compile", "-vv"],
        ["compile", "-M"],
        ["compile", "-M", "--strict"],
        ["compile", "--strict=yes"],
    ],
)
def test_unusual_compiles_are_left_to_typer(args) -> None:
    assert _fast.parse(args) is None
