"""Moving data: export (JSONL), import (JSONL), migrate between backends."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from smartcontext_cli.errors import NotFoundError, UsageError

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, app_context, read_text_arg


def export(
    ctx: typer.Context,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export every record of a namespace as JSONL (one JSON object a line).

    With --output, --json prints a summary ({"records", "namespace", "file"}); without it
    the export itself is the JSON on stdout.

    Examples:
      smartcontext export > backup.jsonl
      smartcontext export -n other-project -o other.jsonl --json
    """
    from smartcontext_cli.storage.transfer import write_jsonl, write_jsonl_file

    store = app_context(ctx).store(namespace)
    if not store.exists:
        # Why not an empty export: a mistyped namespace would silently produce an empty backup.
        raise NotFoundError(f"namespace '{store.namespace}' has no store yet: nothing to export")
    if output:
        path = Path(output)
        if path.is_dir():
            raise UsageError(f"{output} is a directory; give a file name")
        try:
            n = write_jsonl_file(store.storage, path, store.namespace)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        n = write_jsonl(store.storage, sys.stdout, store.namespace)
    if as_json and output:
        o.emit_json({"records": n - 1, "namespace": store.namespace, "file": output})
    else:
        o.info(f"exported {o.counted(n - 1, 'record')} from '{store.namespace}'")


def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A JSONL export, or - for standard input.")],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a JSONL export; records with the same id are replaced. All or nothing.

    Examples:
      smartcontext import backup.jsonl
      smartcontext export -n a | smartcontext import - -n b
    """
    from smartcontext_cli.storage.transfer import read_jsonl

    store = app_context(ctx).store(namespace)
    if file == "-":
        # Read as bytes and decode strictly, whatever the locale: exports are always UTF-8.
        stream: IO[str] = io.StringIO(read_text_arg("-", "import"))
        name = "<stdin>"
    else:
        path = Path(file)
        if path.is_dir():
            raise UsageError(f"{file} is a directory, not a JSONL file")
        if not path.is_file():
            raise UsageError(f"no such file: {file}")
        stream = path.open(encoding="utf-8", errors="strict")
        name = file
    lines: list[int] = []
    try:
        # Parse all before writing: a bad line writes nothing.
        records = list(read_jsonl(stream, name, lines))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text (byte {exc.start})") from None
    finally:
        stream.close()
    advance = o.progress(sum(1 for r in records if r.get("type") == "memory"), "importing")
    try:
        counts = store.import_records(
            records, progress=advance, where=lambda n: f"{name}:{lines[n]}"
        )
    finally:
        o.progress_done(advance)  # gone before the summary or an error is printed
    if store.last_backup:
        o.info(f"backed up the namespace first: {store.last_backup}")
    if as_json:
        o.emit_json(counts)
    else:
        o.info(
            f"imported {o.counted(counts['memories'], 'memory', 'memories')}, "
            f"{o.counted(counts['docs'], 'document')}, {o.counted(counts['counters'], 'counter')} "
            f"into '{store.namespace}'"
        )


def migrate(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target backend: sqlite, json or postgres.")],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Convert a namespace to another backend; the old store is kept as a backup.

    Into postgres (database_url from config or SMARTCONTEXT_DATABASE_URL) the copy and its
    check are one transaction; out of postgres the database copy stays for other machines.

    Examples:
      smartcontext migrate --to json
      smartcontext migrate --to sqlite -n my-project
      SMARTCONTEXT_DATABASE_URL=postgresql://db.example/team smartcontext migrate --to postgres
    """
    from smartcontext_cli.migrate import migrate_namespace

    store = app_context(ctx).store(namespace)
    bars: list[Any] = []

    def progress(total: int, description: str) -> Any:
        bars.append(o.progress(total, description))
        return bars[-1]

    try:
        report = migrate_namespace(store, to, progress_factory=progress)
    finally:
        for bar in bars:
            o.progress_done(bar)
    if as_json:
        o.emit_json(report)
    else:
        o.info(
            f"migrated '{report['namespace']}' from {report['from']} to {report['to']}: "
            f"{o.counted(report['memories'], 'memory', 'memories')}, "
            f"{o.counted(report['docs'], 'document')}; "
            f"old store kept at {report['backup']}"
        )


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command("import")(import_)
    app.command()(migrate)
