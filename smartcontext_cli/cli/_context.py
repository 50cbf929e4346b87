"""Shared Typer options and helpers; the per-invocation ``AppContext`` lives in ``_appctx``.

Commands receive the context through ``typer.Context.obj``; nothing here is global, so tests
can run many invocations in one process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from smartcontext_cli.errors import UsageError

from ._appctx import AppContext

if TYPE_CHECKING:
    pass

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


def _read_capped(stream: BinaryIO, what: str, source: str) -> bytes:
    # Why a cap: `cat /dev/zero | smartcontext remember -` must fail, not fill the memory of
    # the machine; nothing the store accepts is larger than an artifact.
    from smartcontext_cli.memory import MAX_ARTIFACT_BYTES as cap

    data = stream.read(cap + 1)
    if len(data) > cap:
        raise UsageError(
            f"the {what} {source} is larger than {cap / 1e6:.0f} MB; nothing was stored"
        )
    return data


def read_text_arg(value: str, what: str) -> str:
    """``-`` means standard input (strict UTF-8); anything else is the text itself."""
    if value != "-":
        return value
    if sys.stdin is None:
        raise UsageError(f"no standard input to read the {what} from")
    data = _read_capped(sys.stdin.buffer, what, "on standard input")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the {what} on standard input is not valid UTF-8 (byte {exc.start})"
        ) from None


def read_file_arg(value: str, what: str) -> str:
    """``-`` is standard input, else a file path; the text must be UTF-8."""
    if value == "-":
        return read_text_arg(value, what)
    path = Path(value)
    try:
        with path.open("rb") as fh:
            data = _read_capped(fh, what, f"in {value}")
    except FileNotFoundError:
        raise UsageError(f"no such file: {value}") from None
    except IsADirectoryError:
        raise UsageError(f"{value} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {value}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{value} is not UTF-8 text (byte {exc.start})") from None
