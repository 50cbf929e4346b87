"""``smartcontext mcp``: serve MCP on stdio; ``mcp config``: each client's configuration.

The SDK is imported only when the server starts (``mcp_server.server``); ``mcp config`` and
``--help`` never load it.
"""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from smartcontext_cli.errors import UsageError

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, app_context

BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", help="Storage backend for new namespaces: sqlite or json."),
]

mcp_app = typer.Typer()


@mcp_app.callback(invoke_without_command=True)
def mcp(ctx: typer.Context, namespace: NamespaceOpt = None, backend: BackendOpt = None) -> None:
    """Run the MCP server on stdin/stdout (for Claude Code, Cursor, Codex, any MCP client).

    Only protocol messages go to stdout; logs go to stderr. It stops at end of input or on
    SIGTERM. The namespace defaults as for every command (the git repository of the
    directory the client starts it in); each tool also takes a namespace.

    Examples:
      claude mcp add smartcontext -- smartcontext mcp
      smartcontext mcp --namespace my-project
    """
    if ctx.invoked_subcommand is not None:
        return
    if importlib.util.find_spec("mcp") is None:
        raise UsageError("the MCP server needs the MCP SDK: pip install 'smartcontext-cli[mcp]'")
    from smartcontext_cli.mcp_server.server import serve

    app = app_context(ctx)
    serve(home=app.home, namespace=namespace or app.namespace, backend=backend or app.backend)


@mcp_app.command("config")
def mcp_config(
    ctx: typer.Context,
    client: Annotated[
        str,
        typer.Option(
            "--client", "-c", help="claude-code, claude-desktop, cursor, vscode or codex."
        ),
    ],
    namespace: NamespaceOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the snippet or command that adds this server to an MCP client.

    The snippet names this smartcontext's absolute path; where it goes is shown on stderr.

    Examples:
      smartcontext mcp config --client claude-code
      smartcontext mcp config --client cursor --json
    """
    from smartcontext_cli.mcp_server.clients import config_for

    app = app_context(ctx)
    config = config_for(
        client,
        app.settings(namespace),
        namespace=namespace or app.namespace,
        backend=backend or app.backend,
        home_flag=app.home is not None,
    )
    if as_json:
        o.emit_json(config.to_dict())
        return
    o.out(config.snippet)
    o.info(config.where)


def register(app: typer.Typer) -> None:
    app.add_typer(mcp_app, name="mcp")
