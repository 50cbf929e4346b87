"""How each MCP client starts the server: the exact snippet or command for its configuration.

Why the absolute path: MCP clients start servers without the user's shell, so a command found
on the user's PATH (a virtualenv, pipx) is often not found by the client. The snippet names
the executable that is running now.

Why some snippets pin the namespace: Claude Code and Codex start the server in the project
directory, so the namespace follows the project as on the command line; Claude Desktop,
Cursor and VS Code may start it elsewhere, so their snippets name the namespace resolved
where ``mcp config`` runs (flag, env, config, then the git repository). Nothing here imports
the SDK.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartcontext_cli.errors import UsageError

if TYPE_CHECKING:
    from smartcontext_cli.config import Settings

CLIENTS = ("claude-code", "claude-desktop", "cursor", "vscode", "codex")
NAME = "smartcontext"
# Clients that start the server in the project's directory.
IN_PROJECT = ("claude-code", "codex")
WHERE = {
    "claude-code": "run it in the project's directory (Claude Code starts the server there)",
    "claude-desktop": "merge it into claude_desktop_config.json (macOS: ~/Library/Application "
    "Support/Claude/, Windows: %APPDATA%\\Claude\\), then restart Claude Desktop",
    "cursor": "merge it into the project's .cursor/mcp.json (or ~/.cursor/mcp.json)",
    "vscode": "merge it into the workspace's .vscode/mcp.json",
    "codex": "run it once: it adds the server to ~/.codex/config.toml; Codex starts it in "
    "the project's directory",
}


@dataclass
class ClientConfig:
    client: str
    command: str
    args: list[str]
    snippet: str
    where: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "command": self.command,
            "args": self.args,
            "snippet": self.snippet,
            "where": self.where,
        }


def executable(argv0: str | None = None) -> list[str]:
    """The absolute command that starts this smartcontext (a script, else ``python -m``)."""
    first = argv0 if argv0 is not None else sys.argv[0]
    if Path(first).name in (NAME, NAME + ".exe"):
        found = shutil.which(first) or first
        if Path(found).is_file():
            return [str(Path(found).absolute())]
    beside = Path(sys.executable).parent / (NAME + (".exe" if sys.platform == "win32" else ""))
    if beside.is_file():
        return [str(beside.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "smartcontext_cli"]


def config_for(
    client: str,
    settings: Settings,
    namespace: str | None = None,
    backend: str | None = None,
    home_flag: bool = False,
    command: list[str] | None = None,
) -> ClientConfig:
    """The configuration of ``client`` for a server started with ``settings``.

    ``namespace`` is the one given; clients that may start the server outside the project get
    the namespace ``settings`` resolve to here. The data directory is named only when it was
    chosen (``home_flag`` for ``--home``, or SMARTCONTEXT_HOME), as a client does not pass the
    user's environment.
    """
    if client not in CLIENTS:
        raise UsageError(f"unknown client {client!r}: use {', '.join(CLIENTS)}")
    if namespace is None and client not in IN_PROJECT:
        namespace = settings.namespace()
    exe = command or executable()
    args = [*exe[1:]]
    if home_flag or os.environ.get("SMARTCONTEXT_HOME"):
        args += ["--home", str(settings.home.absolute())]
    args.append("mcp")
    if namespace:
        args += ["--namespace", namespace]
    if backend:
        args += ["--backend", backend]
    if client in IN_PROJECT:
        tool = "claude" if client == "claude-code" else "codex"
        snippet = shlex.join([tool, "mcp", "add", NAME, "--", exe[0], *args])
    else:
        entry: dict[str, Any] = {"command": exe[0], "args": args}
        if client == "vscode":
            entry = {"type": "stdio", **entry}
        key = "servers" if client == "vscode" else "mcpServers"
        snippet = json.dumps({key: {NAME: entry}}, indent=2, ensure_ascii=False)
    return ClientConfig(client, exe[0], args, snippet, WHERE[client])
