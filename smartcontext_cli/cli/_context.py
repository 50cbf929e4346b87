"""Shared Typer options and helpers; the per-invocation ``AppContext`` lives in ``_appctx``.

Commands receive the context through ``typer.Context.obj``; nothing here is global, so tests
can run many invocations in one process.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from smartcontext_cli.errors import UsageError

from ._appctx import AppContext
from ._inputs import read_file_arg as read_file_arg
from ._inputs import read_text_arg as read_text_arg

# Shared options, defined once and reused by every command that takes them.
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        help="Namespace (default: $SMARTCONTEXT_NAMESPACE, config, git repo name).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (stable shape, see README).")]
LimitOpt = Annotated[int, typer.Option("--limit", "-k", min=0, help="How many results at most.")]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")]
KindOpt = Annotated[
    str | None, typer.Option("--kind", help="Kind: fact, decision, preference, note ...")
]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask; required when not on a terminal.")
]


def confirm(yes: bool, question: str, what: str) -> None:
    """Ask on a terminal; refuse in a pipe unless ``--yes`` (gh's rule for destructive verbs).

    Why both streams: the question goes to stderr and the answer comes from stdin, so a
    script with either redirected cannot answer it and must say --yes.
    """
    if yes:
        return
    if not (sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"not {what} without confirmation: pass --yes")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj
