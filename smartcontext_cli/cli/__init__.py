"""The ``smartcontext`` command line: a thin front end over the library.

Commands live one group per module (registered in ``_app``, imported only when run).
``main`` maps every ``SmartContextError`` to one line on stderr and its exit code (1 runtime,
2 usage, 3 budget); a traceback appears only with ``SMARTCONTEXT_DEBUG=1``.

Why nothing heavy at module level: this module is the entry point, so what it imports every
run pays for. ``--version`` answers from the package's ``__version__`` before Typer loads.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def __getattr__(name: str) -> Any:
    # ``from smartcontext_cli.cli import app``: the full tree, built on first use.
    if name == "app":
        from ._app import full_app

        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _click_command(argv: list[str]) -> Any:
    """The click command for ``argv``, built once per process and command.

    Why cached: typer rebuilds the tree from every command's signature on each call (about
    60 ms for 40 commands), which made in-process callers (tests, scripts) pay it per call.
    Why only one command: a cold ``smartcontext search`` paid ~30 ms building the commands it
    did not run (see ``_lazy``; help and unknown names still get the full tree).
    """
    from ._lazy import command_for

    return command_for(None, argv)


def _root_help() -> None:
    """The root help (bare, --help, -h) from the cache, rendered and cached on a miss."""
    from smartcontext_cli.paths import home_dir

    from . import _help_cache

    home = home_dir()
    text = _help_cache.load(home)
    if text is None:
        command = _click_command(["--help"])  # the full tree
        ctx = command.make_context("smartcontext", [], resilient_parsing=True)
        text = command.get_help(ctx) + "\n"  # as click echoes it
        _help_cache.store(home, text)
    sys.stdout.write(text)
    sys.stdout.flush()
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        # The one answer that needs no command tree (the root option prints the same line).
        from smartcontext_cli import __version__

        print(f"smartcontext {__version__}")
        sys.exit(0)
    if args in ([], ["--help"], ["-h"]):
        _root_help()
    from smartcontext_cli.errors import SmartContextError

    fast = _fast_call(args)
    if fast is not None:
        try:
            code = fast()
        except SmartContextError as exc:
            _fail(str(exc), exc.exit_code)
        except BaseException as exc:
            _other(exc)
        sys.exit(code)
    import typer

    try:
        # Why the return value: with standalone_mode=False click returns the code of a
        # ``typer.Exit`` (search with no match, goal unset) instead of raising it.
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
            # message; Rich help was printed already) and exit 0, as gh and llm do: asking
            # for help is not an error.
            if exc.format_message():
                print(exc.format_message())
            sys.exit(0 if isinstance(exc, NoArgsIsHelpError) else getattr(exc, "exit_code", 2))
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        _fail(exc.format_message() + hint, getattr(exc, "exit_code", 2))
    except BaseException as exc:
        _other(exc)
    else:
        sys.exit(code if isinstance(code, int) else 0)


def _fast_call(args: list[str]) -> Any:
    """A Typer-free runner for ``args`` when they are a plain ``search`` or ``compile``."""
    if "search" not in args and "compile" not in args:
        return None
    from . import _fast

    call = _fast.parse(args)
    return None if call is None else (lambda: _fast.run(*call))


def _other(exc: BaseException) -> None:
    """Every exception but ``SmartContextError`` and Typer's own: one line and its exit code."""
    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, UnicodeEncodeError):
        # Undecodable bytes in an argument reach us as lone surrogates; the core checks the
        # text it stores, this catches any path it missed, before anything was written.
        _fail("the input is not valid UTF-8 text", 2)
    if isinstance(exc, KeyboardInterrupt):
        _fail("interrupted", 130)
    if isinstance(exc, BrokenPipeError):
        # The reader went away (| head): not an error; silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    if not isinstance(exc, Exception) or os.environ.get("SMARTCONTEXT_DEBUG") == "1":
        raise exc
    _fail(
        f"internal error: {type(exc).__name__}: {exc} (SMARTCONTEXT_DEBUG=1 shows the traceback)",
        1,
    )


def _fail(message: str, code: int) -> None:
    if os.environ.get("SMARTCONTEXT_DEBUG") == "1" and sys.exc_info()[0] is not None:
        import traceback

        traceback.print_exc()
    print(f"smartcontext: error: {message}", file=sys.stderr)
    sys.exit(code)
