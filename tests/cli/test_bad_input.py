"""Hostile and odd input: each gives one clear error line or a correct result, never a traceback.

Covered: empty text, 10 MB on standard input, invalid UTF-8 (stdin, files, argv), NUL bytes, every
odd namespace name (through each way of giving one), and FTS5 syntax or odd text as queries on
both backends. An autouse fixture snapshots the whole temporary tree outside the data directory
before each test and proves nothing there changed afterwards, and that everything inside the data
directory is private (directories 0700, files 0600).
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import InvalidNamespaceError, MemoryStore
from smartcontext_cli.text import query_terms

BACKENDS = ("sqlite", "json")
ERROR = "smartcontext: error: "


def snapshot(root: Path, skip: Path) -> dict[str, tuple[bool, int, int, int]]:
    """Every path under ``root`` except ``skip``: kind, mode, and a file's size and mtime."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in dirnames + filenames:
            path = here / name
            info = path.lstat()
            is_dir = stat.S_ISDIR(info.st_mode)
            # A directory's own size and mtime change when a test adds its input file there;
            # what is in it is compared entry by entry.
            size, mtime = (0, 0) if is_dir else (info.st_size, info.st_mtime_ns)
            state[str(path.relative_to(root))] = (is_dir, size, mtime, info.st_mode)
    return state


@pytest.fixture(autouse=True)
def nothing_written_outside_home_and_home_is_private(tmp_path: Path, home: Path):
    outside = ["/abs", "/etc/smartcontext", str(Path.home() / ".local/share/smartcontext")]
    existed = {p: os.path.lexists(p) for p in outside}
    before = snapshot(tmp_path, home)
    yield
    assert snapshot(tmp_path, home) == before, "something was written outside the data directory"
    assert {p: os.path.lexists(p) for p in outside} == existed
    if home.exists():
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for dirpath, dirnames, filenames in os.walk(home):
            for name in dirnames:
                assert stat.S_IMODE((Path(dirpath) / name).stat().st_mode) == 0o700, name
            for name in filenames:
                assert stat.S_IMODE((Path(dirpath) / name).stat().st_mode) == 0o600, name


def one_error_line(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(ERROR)
    return lines[0][len(ERROR) :]


def count(sc, namespace: str = "default") -> int:
    return len(sc("-n", namespace, "list", "--json", "--limit", "1000").json())


@pytest.fixture(params=BACKENDS)
def backend(request, sc) -> str:
    """A namespace 'default' that exists on the given backend."""
    assert sc("--backend", request.param, "remember", "seed memory").exit_code == 0
    return request.param


# empty, huge, undecodable, NUL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["remember", ""], None),
        (["remember", "   \n\t "], None),
        (["remember", "-"], b""),
        (["remember", "-"], b"\n\n  \n"),
        (["goal", ""], None),
        (["goal", "-"], b"   "),
        (["artifact", "add", "empty", "-"], b""),
    ],
)
def test_empty_text_is_refused(sc, backend, args, stdin):
    message = one_error_line(sc(*args, input=stdin))
    assert "is empty" in message
    assert count(sc) == 1
    assert sc("goal", "--json").json() == {"goal": None}
    assert sc("artifact", "list", "--json").json() == []


def test_ten_megabytes_on_stdin(sc, backend):
    big = ("0123456789abcdef" * 64 + "\n").encode() * 10_000  # 10.25 MB of text
    message = one_error_line(sc("remember", "-", input=big))
    assert "memory is too large (10.2 MB, limit 1 MB)" in message
    assert "artifact add" in message  # points to where large content belongs
    assert count(sc) == 1
    added = sc("artifact", "add", "big.log", "-", input=big)
    assert added.exit_code == 0
    shown = sc("artifact", "show", "big.log", "--json").json()["content"]
    assert hashlib.sha256(shown.encode()).digest() == hashlib.sha256(big).digest()


@pytest.mark.parametrize(
    "args",
    [["remember", "-"], ["artifact", "add", "x", "-"], ["artifact", "add", "x", "/dev/zero"]],
)
def test_endless_input_is_refused_without_filling_memory(home, args):
    env = {**os.environ, "SMARTCONTEXT_HOME": str(home)}
    with open("/dev/zero", "rb") as endless:
        proc = subprocess.run(
            [sys.executable, "-m", "smartcontext_cli", *args],
            stdin=endless,
            capture_output=True,
            env=env,
            timeout=60,
        )
    assert proc.returncode == 2
    assert proc.stderr.decode().endswith("is larger than 50 MB; nothing was stored\n")
    assert not home.exists()


@pytest.mark.parametrize(
    "args",
    [["remember", "-"], ["goal", "-"], ["artifact", "add", "x", "-"], ["import", "-"]],
)
def test_invalid_utf8_on_stdin(sc, backend, args):
    message = one_error_line(sc(*args, input=b"valid start \xff\xfe then junk"))
    assert "not valid UTF-8" in message or "not UTF-8" in message
    assert count(sc) == 1


def test_invalid_utf8_in_a_file(sc, backend, tmp_path):
    path = tmp_path / "work" / "latin1.txt"
    path.write_bytes(b"caf\xe9 au lait")
    try:
        message = one_error_line(sc("artifact", "add", "x", str(path)))
        assert message == f"{path} is not UTF-8 text (byte 3)"
        assert "not UTF-8" in one_error_line(sc("import", str(path)))
    finally:
        path.unlink()  # created by the test itself, not by smartcontext
    assert sc("artifact", "list", "--json").json() == []


@pytest.mark.parametrize(
    "args",
    [
        [b"remember", b"caf\xe9"],
        [b"remember", b"ok", b"-t", b"\xff"],
        [b"remember", b"ok", b"--source", b"\xff"],
        [b"goal", b"\xff"],
        [b"artifact", b"add", b"\xff", b"-"],
        [b"config", b"set", b"mode", b"\xff"],
        [b"config", b"set", b"policies.\xff", b"x"],
    ],
)
def test_invalid_utf8_in_arguments_of_a_real_process(home, args):
    env = {**os.environ, "SMARTCONTEXT_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "smartcontext_cli", *args],
        input=b"content",
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    err = proc.stderr.decode("utf-8", "replace")
    assert err.startswith(ERROR) and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert proc.stdout == b""


def test_invalid_utf8_query_is_just_unmatched(home):
    env = {**os.environ, "SMARTCONTEXT_HOME": str(home)}
    cmd = [sys.executable, "-m", "smartcontext_cli"]
    subprocess.run([*cmd, "remember", "plain ascii"], env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [*cmd, "search", b"\xff\xfe", "--json"], capture_output=True, env=env, timeout=60
    )
    # Undecodable bytes hold no searchable word: a usage error, one line.
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("smartcontext: error: nothing to search for")
    assert proc.stderr.count(b"\n") == 1


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["remember", "-"], b"before\x00after"),
        (["goal", "-"], b"a\x00b"),
        (["artifact", "add", "bin", "-"], b"\x7fELF\x00\x00\x01"),
    ],
)
def test_nul_bytes_are_refused(sc, backend, args, stdin):
    assert "NUL" in one_error_line(sc(*args, input=stdin))
    assert count(sc) == 1


def test_nul_bytes_in_tags_queries_and_names(sc, backend):
    # argv cannot carry NUL; the in-process runner (and the Python API) can.
    assert "invalid tag" in one_error_line(sc("remember", "x", "-t", "a\x00b"))
    named = sc("artifact", "add", "a\x00b", "-", input="x")
    assert "invalid artifact name" in one_error_line(named)
    result = sc("search", "seed\x00memory", "--json")
    assert result.exit_code == 0
    assert result.json()[0]["content"] == "seed memory"
    assert count(sc) == 1


def test_path_like_artifact_names_are_just_names(sc, backend):
    for name in ("../../etc/passwd", "/abs/file", "C:\\windows"):
        assert sc("artifact", "add", name, "-", input="x").exit_code == 0
        assert sc("artifact", "show", name).stdout == "x\n"


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=200))
def test_any_bytes_on_stdin_are_stored_exactly_or_refused_in_one_line(sc, data):
    result = sc("remember", "-", input=data)
    if result.exit_code == 0:
        text = data.decode("utf-8").strip()
        assert sc("show", result.stdout.strip(), "--json").json()["content"] == text
    else:
        one_error_line(result)


# namespaces ------------------------------------------------------------------------------------

ODD_NAMESPACES = [
    "../../etc",
    "/abs",
    "",
    ".hidden",
    "a/b",
    "a\\b",
    "a" * 65,
    "..",
    ".",
    "проект",
    "名前",
    "café",
    "emoji-🎉",
    "with space",
    "tab\there",
    "new\nline",
]

NAMESPACED_COMMANDS = [
    ["remember", "x"],
    ["search", "x"],
    ["list"],
    ["show", "abcd"],
    ["forget", "abcd"],
    ["goal"],
    ["goal", "new goal"],
    ["artifact", "add", "n", "-"],
    ["artifact", "list"],
    ["artifact", "show", "a1"],
    ["export"],
    ["import", "-"],
    ["migrate", "--to", "json"],
]


@pytest.mark.parametrize("name", ODD_NAMESPACES)
def test_odd_namespace_is_one_clear_error_on_every_command(sc, home, name):
    runs = [["-n", name, *command] for command in NAMESPACED_COMMANDS]
    runs += [[*command, "--namespace", name] for command in NAMESPACED_COMMANDS[::4]]
    for args in runs:
        message = one_error_line(sc(*args, input='{"type": "memory", "content": "x"}\n'))
        assert message.startswith("invalid namespace"), (args, message)
    assert not home.exists(), "nothing may be written for an invalid namespace"


@pytest.mark.parametrize("name", ["../../etc", "/abs", ".hidden", "a" * 65, "проект"])
def test_odd_namespace_from_env_config_and_api(sc, home, monkeypatch, name):
    monkeypatch.setenv("SMARTCONTEXT_NAMESPACE", name)
    assert "invalid namespace" in one_error_line(sc("remember", "x"))
    monkeypatch.delenv("SMARTCONTEXT_NAMESPACE")
    assert "invalid namespace" in one_error_line(sc("config", "set", "namespace", name))
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(f"namespace = {name!r}\n".replace("'", '"'), "utf-8")
    (home / "config.toml").chmod(0o600)
    assert "invalid namespace" in one_error_line(sc("list"))
    with pytest.raises(InvalidNamespaceError, match="invalid namespace"):
        MemoryStore(namespace=name, base_dir=home / "api")
    assert sorted(p.name for p in home.iterdir()) == ["config.toml"]


def test_longest_valid_namespace_and_odd_but_valid_names_work(sc, home):
    for name in ("a" * 64, "x.y", "UPPER_lower-09", "trailing."):
        assert sc("-n", name, "remember", "kept").exit_code == 0, name
        assert count(sc, name) == 1
        assert (home / "namespaces" / name).is_dir()


def test_empty_namespace_in_api_is_refused(home):
    with pytest.raises(InvalidNamespaceError):
        MemoryStore(namespace="")
    assert not home.exists()


# queries ---------------------------------------------------------------------------------------

ODD_QUERIES = [
    "?",
    '"',
    '""',
    "'",
    "-",
    "*",
    "AND (",
    "NEAR(",
    "NEAR(a b, 3)",
    "col:x",
    "terms:postgresql",
    "",
    " ",
    "🎉",
    "🎉🎉 party",
    '"unterminated',
    "^x",
    "a OR",
    "OR",
    "NOT",
    "AND",
    "a AND OR b",
    "\\",
    "\\\\",
    "C:\\path\\file",
    "(",
    ")",
    "{}",
    "[",
    "%",
    "_",
    "%_%",
    "';--",
    "a'b",
    "x" * 5000,
    "postgresql " * 200,
    "é",
    "ǅ",
    "ß",
    "İ",
    "\u200b",
    "\ufeff",
    "\u0301",
    "tab\tand\nnewline",
    "NULL",
    "0",
    "-1",
    "1e308",
    "NaN",
]


@pytest.fixture
def corpus(sc, backend):
    texts = [
        "We chose PostgreSQL 16 for the main database",
        "Deploys run on Kubernetes in the staging pool",
        "Release party 🎉 on Friday",
        "Windows paths look like C:\\path\\file",
        "NEAR the col value we store x",
        "Straße and café are spelled with diacritics",
    ]
    ids = [sc("remember", t).stdout.strip() for t in texts]
    return dict(zip(["pg", "k8s", "party", "win", "near", "cafe"], ids, strict=True))


def test_any_query_gives_a_result_list_or_nothing_found(sc, corpus):
    # One corpus, every query: a loop keeps this fast; the failing query is named.
    for query in ODD_QUERIES:
        # '--' ends options, so queries starting with '-' are queries too (see below).
        result = sc("search", "--json", "-k", "3", "--", query)
        if not query_terms(query):  # nothing searchable: a usage error (issue 11)
            one_error_line(result)
            assert "nothing to search for" in result.stderr, query
            continue
        assert result.exit_code in (0, 1), (query, result.stderr)
        hits = result.json()
        assert isinstance(hits, list) and len(hits) <= 3, query
        assert (result.exit_code == 0) == bool(hits), query
        assert result.stderr in ("", "no memories match\n"), query
        plain = sc("search", "--", query)
        assert plain.exit_code == result.exit_code, query
        assert "Traceback" not in plain.stderr, query
        forget = sc("forget", "--query", query)  # refuses without --yes; never deletes
        assert forget.exit_code in (1, 2), query
        assert "Traceback" not in forget.stderr, query
        # What it would delete is listed first; the refusal is the last line.
        assert forget.stderr.splitlines()[-1].startswith(ERROR), query
    assert count(sc) == 7


def test_a_query_starting_with_a_dash_is_an_option_unless_after_double_dash(sc, corpus):
    # Like every CLI: a leading dash starts an option (one clear line), '--' ends options.
    for query in ("-", "-1", "-kubernetes", "-postgresql", "--x"):
        result = sc("search", query)
        if query == "-":  # a query, but no searchable word in it
            assert "nothing to search for in '-'" in one_error_line(result)
            continue
        one_error_line(result)
    assert sc("search", "--json", "--", "-kubernetes").json()[0]["id"] == corpus["k8s"]


OPERATOR_QUERIES = [
    ('"PostgreSQL', {"pg"}),
    ('"postgresql database"', {"pg"}),
    ("NEAR(postgresql", {"pg", "near"}),  # 'near' is a word like any other
    ("postgresql AND (", {"pg"}),
    ("^postgresql", {"pg"}),
    ("postgresql*", {"pg"}),
    ("col:postgresql", {"pg", "near"}),
    ("kubernetes OR", {"k8s"}),
    ("party 🎉", {"party"}),
    ("C:\\path\\file", {"win"}),
    ("Straße", {"cafe"}),
    ("cafe", {"cafe"}),
    ("CAFÉ", {"cafe"}),
    ("near col", {"near"}),
]


def test_operators_are_plain_words(sc, corpus):
    for query, expected in OPERATOR_QUERIES:
        hits = sc("search", query, "--json").json()
        top = {h["id"] for h in hits[: len(expected)]}
        assert top == {corpus[name] for name in expected}, (query, hits)


def test_query_of_only_punctuation_is_a_usage_error(sc, corpus):
    # It used to list the newest memories with match 1.00: a CI step searching "$EMPTY" saw
    # a hit. Now nothing is searched and the exit code says so.
    result = sc("search", "?!", "--json", "-k", "2")
    assert result.exit_code == 2 and result.stdout == ""
    assert "nothing to search for in '?!'" in result.stderr
