"""The Typer app: the root options, and the command modules, imported only when needed.

Why lazy: importing every command module (and building every command) cost each start-up
what only ``--help`` needs. ``COMMANDS`` maps each top-level name to the module registering
it; ``app_for(names)`` gives an app holding just those, and ``full_app()`` the whole tree in
the canonical order (what help, completion and the docs tests walk). A test checks the map
against what the modules really register.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Annotated, Any

import typer

from smartcontext_cli import __version__
from smartcontext_cli.errors import UsageError

from ._context import AppContext

# Module order is the order of the help listing (commands first, then groups, as Typer does).
MODULES = (
    "memories",
    "working",
    "transfer",
    "config_cmd",
    "agent_cmds",
    "completion",
    "compile_cmd",
    "session_cmd",
    "doctor_cmd",
    "mcp_cmd",
    "hook_cmd",
    "namespace_cmd",
)
COMMANDS = {
    **dict.fromkeys(("remember", "search", "forget", "list", "show"), "memories"),
    **dict.fromkeys(("goal", "artifact"), "working"),
    **dict.fromkeys(("export", "import", "migrate"), "transfer"),
    "config": "config_cmd",
    **dict.fromkeys(("prefix", "todo", "error", "strategy"), "agent_cmds"),
    "completion": "completion",
    **dict.fromkeys(("compile", "stats", "explain", "mode"), "compile_cmd"),
    **dict.fromkeys(("session", "branch", "compact"), "session_cmd"),
    "doctor": "doctor_cmd",
    "mcp": "mcp_cmd",
    "hook": "hook_cmd",
    "namespace": "namespace_cmd",
}

root = typer.Typer(
    name="smartcontext",
    help=(
        "A persistent, per-project working memory for LLM tools, "
        "compiled into token-budgeted prompts."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Why plain help: Typer's Rich help imports rich.table and rendered --help in ~200 ms
    # against ~130 ms plain; cli/_lazy keeps the Examples blocks as written.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"smartcontext {__version__}")
        raise typer.Exit()


@root.callback()
def _root(
    ctx: typer.Context,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace to use.")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", help="Storage backend for new namespaces: sqlite, json or postgres."
        ),
    ] = None,
    home: Annotated[
        str | None,
        typer.Option(
            "--home", help="Data directory (default: $SMARTCONTEXT_HOME or the user data dir)."
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Remember facts and decisions per project, search them, and compile them into prompts."""
    if home is not None and not home.strip():
        # Why refused: Path("") is the current directory, which would silently become the store.
        raise UsageError("--home needs a directory; it was given an empty value")
    ctx.obj = AppContext(
        home=Path(home) if home is not None else None,
        backend=backend,
        namespace=namespace,
        verbose=verbose,
    )
    ctx.call_on_close(ctx.obj.close)


_parts: dict[str, tuple[list[Any], list[Any]]] = {}
_full: typer.Typer | None = None


def _part(module: str) -> tuple[list[Any], list[Any]]:
    """The commands and groups ``module`` registers, imported and registered once."""
    if module not in _parts:
        mod = importlib.import_module(f"{__package__}.{module}")
        scratch = typer.Typer()
        mod.register(scratch)
        _parts[module] = (scratch.registered_commands, scratch.registered_groups)
    return _parts[module]


def app_for(modules: list[str]) -> typer.Typer:
    """The root app holding the commands of ``modules`` only (same callback, same options)."""
    wanted = [m for m in MODULES if m in modules]
    app = copy.copy(root)
    app.registered_commands = [c for m in wanted for c in _part(m)[0]]
    app.registered_groups = [g for m in wanted for g in _part(m)[1]]
    return app


def full_app() -> typer.Typer:
    global _full
    if _full is None:
        _full = app_for(list(MODULES))
    return _full
