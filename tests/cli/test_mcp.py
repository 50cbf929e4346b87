"""``smartcontext mcp config``: the exact snippet each MCP client needs, with an absolute path.

(The server itself is tested through the SDK's client in tests/test_mcp_server.py.)
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from fixtures.mcp_client import INIT

from smartcontext_cli.mcp_server.clients import CLIENTS, executable


def _exe() -> str:
    exe = executable()
    assert len(exe) == 1, exe  # the tests run from an installed environment
    assert Path(exe[0]).is_absolute() and os.access(exe[0], os.X_OK)
    return exe[0]


@pytest.mark.parametrize(("client", "tool"), [("claude-code", "claude"), ("codex", "codex")])
def test_clients_that_start_in_the_project_get_one_command(sc, home: Path, client, tool) -> None:
    result = sc("mcp", "config", "--client", client)
    assert result.exit_code == 0
    # SMARTCONTEXT_HOME is set (by the test fixture), so the data directory is named.
    assert (
        result.stdout
        == shlex.join(
            [tool, "mcp", "add", "smartcontext", "--", _exe(), "--home", str(home), "mcp"]
        )
        + "\n"
    )
    assert "project" in result.stderr


def test_the_claude_code_command_of_the_issue(sc, monkeypatch) -> None:
    monkeypatch.delenv("SMARTCONTEXT_HOME")
    result = sc("mcp", "config", "--client", "claude-code")
    assert result.stdout == f"claude mcp add smartcontext -- {_exe()} mcp\n"


@pytest.mark.parametrize(
    ("client", "key"),
    [("claude-desktop", "mcpServers"), ("cursor", "mcpServers"), ("vscode", "servers")],
)
def test_json_clients_get_a_snippet_with_the_namespace_pinned(
    sc, home: Path, client: str, key: str
) -> None:
    result = sc("mcp", "config", "--client", client)
    assert result.exit_code == 0
    entry = json.loads(result.stdout)[key]["smartcontext"]
    assert entry["command"] == _exe()
    # The test's working directory is outside any repository: namespace "default".
    assert entry["args"] == ["--home", str(home), "mcp", "--namespace", "default"]
    assert entry.get("type") == ("stdio" if client == "vscode" else None)
    assert result.stderr.strip()


def test_namespace_and_backend_given_are_kept(sc, monkeypatch) -> None:
    monkeypatch.delenv("SMARTCONTEXT_HOME")
    result = sc("mcp", "config", "--client", "codex", "-n", "billing", "--backend", "json")
    assert shlex.split(result.stdout)[-5:] == ["mcp", "--namespace", "billing", "--backend", "json"]


def test_json_shape_and_unknown_client(sc) -> None:
    data = sc("mcp", "config", "--client", "cursor", "--json").json()
    assert set(data) == {"client", "command", "args", "snippet", "where"}
    assert json.loads(data["snippet"])["mcpServers"]["smartcontext"]["args"] == data["args"]
    bad = sc("mcp", "config", "--client", "emacs")
    assert bad.exit_code == 2
    assert bad.stderr == (
        "smartcontext: error: unknown client 'emacs': use " + ", ".join(CLIENTS) + "\n"
    )


def test_the_cursor_snippet_starts_a_working_server(sc, home: Path, tmp_path: Path) -> None:
    entry = json.loads(sc("mcp", "config", "--client", "cursor").stdout)["mcpServers"]
    server = entry["smartcontext"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCONTEXT_")}
    proc = subprocess.run(
        [server["command"], *server["args"]],
        input=json.dumps(INIT) + "\n",
        capture_output=True,
        text=True,
        env=env,  # as a client starts it: without the user's SMARTCONTEXT_HOME
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"]["serverInfo"]["name"] == "smartcontext"
