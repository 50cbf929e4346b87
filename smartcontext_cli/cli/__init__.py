"""The ``smartcontext`` command line: a thin front end over the library.

Commands live one group per module and are registered explicitly below. ``main`` maps every
``SmartContextError`` to one line on stderr and its exit code (1 runtime, 2 usage, 3 budget);
a traceback appears only with ``SMARTCONTEXT_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from smartcontext_cli import __version__
from smartcontext_cli.errors import SmartContextError

from . import (
    agent_cmds,
    compile_cmd,
    completion,
    config_cmd,
    doctor_cmd,
    mcp_cmd,
    memories,
    session_cmd,
    transfer,
    working,
)
from ._context import AppContext
from ._lazy import command_for

app = typer.Typer(
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


@app.callback()
def root(
    ctx: typer.Context,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace to use.")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", help="Storage backend for new namespaces: sqlite or json."),
    ] = None,
    home: Annotated[
        Path | None,
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
    ctx.obj = AppContext(home=home, backend=backend, namespace=namespace, verbose=verbose)
    ctx.call_on_close(ctx.obj.close)


for module in (
    memories,
    working,
    transfer,
    config_cmd,
    agent_cmds,
    completion,
    compile_cmd,
    session_cmd,
    doctor_cmd,
    mcp_cmd,
):
    module.register(app)


def _click_command(argv: list[str]) -> typer.main._click.Command:
    """The click command for ``argv``, built once per process and command.

    Why cached: typer rebuilds the tree from every command's signature on each call (about
    60 ms for 40 commands), which made in-process callers (tests, scripts) pay it per call.
    Why only one command: a cold ``smartcontext search`` paid ~30 ms building the 39 it did
    not run (see ``_lazy``; help and unknown names still get the full tree).
    """
    return command_for(app, argv)


def main(argv: list[str] | None = None) -> None:
    try:
        # Why the return value: with standalone_mode=False click returns the code of a
        # ``typer.Exit`` (search with no match, goal unset) instead of raising it.
        args = sys.argv[1:] if argv is None else argv
        code = _click_command(args).main(args=args, prog_name="smartcontext", standalone_mode=False)
    except SmartContextError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 1)
    except typer.TyperException as exc:  # click usage errors: bad option, missing argument
        from typer._click.exceptions import NoArgsIsHelpError

        if isinstance(exc, NoArgsIsHelpError) or not exc.format_message():
            # A group called without a command: its help on stdout (plain help arrives as the
            # message; Rich help was printed already), click's exit code.
            if exc.format_message():
                print(exc.format_message())
            sys.exit(getattr(exc, "exit_code", 2))
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        _fail(exc.format_message() + hint, getattr(exc, "exit_code", 2))
    except UnicodeEncodeError:
        # Undecodable bytes in an argument reach us as lone surrogates; the core checks the
        # text it stores, this catches any path it missed, before anything was written.
        _fail("the input is not valid UTF-8 text", 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (| head): not an error; silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("SMARTCONTEXT_DEBUG") == "1":
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(SMARTCONTEXT_DEBUG=1 shows the traceback)",
            1,
        )
    else:
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    if os.environ.get("SMARTCONTEXT_DEBUG") == "1" and sys.exc_info()[0] is not None:
        import traceback

        traceback.print_exc()
    print(f"smartcontext: error: {message}", file=sys.stderr)
    sys.exit(code)
