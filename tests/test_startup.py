"""Start-up discipline: everyday commands never import the heavy modules.

Each command runs in a fresh interpreter with ``-X importtime``; the import log (stderr) names
every module loaded. tiktoken, the MCP SDK, psycopg and Rich's table and progress modules must
load only inside the commands that use them (compile, mcp, a table on a terminal, a long import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("tiktoken", "tiktoken_ext", "mcp", "psycopg", "rich.table", "rich.progress",
         "numpy", "onnxruntime", "tokenizers")  # fmt: skip


def imported_modules(args: list[str], home: Path, code: str | None = None) -> set[str]:
    """Module names a fresh interpreter imports while running ``smartcontext *args``."""
    env = {**os.environ, "SMARTCONTEXT_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    argv = ["-c", code] if code else ["-m", "smartcontext_cli", *args]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,  # `mcp` serves until end of input
        timeout=60,
        cwd=home.parent,
    )
    names = set()
    for line in proc.stderr.splitlines():
        # "import time:       123 |        456 |     package.module"
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    assert names, f"no import log: exit {proc.returncode}, stderr {proc.stderr[-500:]}"
    return names


def heavy_in(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in HEAVY))


@pytest.fixture
def store_home(tmp_path: Path, sc) -> Path:
    """A data directory with a SQLite namespace and a JSON one, each holding memories."""
    for backend, namespace in (("sqlite", "default"), ("json", "jsonns")):
        for text in ("We chose PostgreSQL 16", "Deploys run on Kubernetes", "x marks the spot"):
            assert sc("--backend", backend, "-n", namespace, "remember", text).exit_code == 0
    return tmp_path / "home"


def test_the_import_log_is_parsed(store_home):
    # A control: the parser sees a heavy module when one is imported.
    names = imported_modules([], store_home, code="import rich.table")
    assert heavy_in(names) == ["rich.table"]


def test_version_loads_neither_typer_nor_the_store(store_home):
    names = imported_modules(["--version"], store_home)
    assert "smartcontext_cli.cli" in names
    assert not {"typer", "smartcontext_cli.memory", "sqlite3", "dataclasses"} & names


def loaded_after(args: list[str], home: Path) -> set[str]:
    """``sys.modules`` after running the CLI in a fresh interpreter (importtime does not list
    modules imported through ``importlib.import_module``)."""
    code = (
        "import json, sys\nfrom smartcontext_cli.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('MODULES' + json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "SMARTCONTEXT_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    return set(json.loads(proc.stderr.rsplit("MODULES", 1)[1]))


def test_a_command_imports_only_its_own_command_module(store_home):
    names = loaded_after(["list", "-k", "1"], store_home)
    assert "smartcontext_cli.cli.memories" in names and "typer" in names
    others = {"agent_cmds", "session_cmd", "compile_cmd", "hook_cmd", "transfer", "working"}
    assert not {f"smartcontext_cli.cli.{m}" for m in others} & names
    assert {f"smartcontext_cli.cli.{m}" for m in others} <= loaded_after(["--help"], store_home)


def test_a_plain_compile_does_not_load_typer(store_home):
    names = loaded_after(["compile", "-b", "200"], store_home)
    assert "smartcontext_cli.cli.compile_run" in names and "typer" not in names
    assert "smartcontext_cli.cli.compile_cmd" not in names


def test_a_plain_search_loads_neither_typer_nor_other_commands(store_home):
    names = loaded_after(["search", "x"], store_home)
    assert "smartcontext_cli.search" in names and "smartcontext_cli.cli.search_run" in names
    assert (
        not {"typer", "click", "smartcontext_cli.cli.memories", "smartcontext_cli.cli._app"} & names
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["search", "x"],
        ["search", "postgre", "--json"],
        ["-n", "jsonns", "search", "x"],
        ["list"],
        ["remember", "a new memory"],
        # The MCP command's help and client snippets never load the SDK; only serving does.
        ["mcp", "--help"],
        ["mcp", "config", "--client", "cursor"],
    ],
    ids=lambda a: " ".join(a),
)
def test_everyday_commands_do_not_import_heavy_modules(store_home, args):
    names = imported_modules(args, store_home)
    assert "smartcontext_cli.cli" in names  # it really ran the CLI...
    if "search" in args:
        assert "smartcontext_cli.search" in names  # ...and searched a real store
    assert heavy_in(names) == []


def test_serving_mcp_imports_the_sdk(store_home):
    # A control for the two cases above: the server itself does load it.
    names = imported_modules(["mcp"], store_home)
    assert "mcp.server.lowlevel" in names and "smartcontext_cli.mcp_server.server" in names


def test_the_session_constants_are_branchings(store_home):
    """session.py spells branching's collection names so it need not import it."""
    from smartcontext_cli import branching, session

    assert (session.MAIN, session.STATE, session.SESSION) == (
        branching.MAIN,
        branching.STATE,
        branching.SESSION,
    )
