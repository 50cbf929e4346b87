"""``namespace list|show|delete``: the stores of the data directory, and the one in force."""

from __future__ import annotations

from typing import Annotated

import typer

from . import _output as o
from ._context import JsonOpt, YesOpt, app_context, confirm

namespace_app = typer.Typer(
    help="Namespaces: list them, show the one in force, delete one.", no_args_is_help=True
)


@namespace_app.command("list")
def namespace_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the namespaces (the data directory's, and the database's on postgres); * marks
    the one in force.

    Examples:
      smartcontext namespace list
      smartcontext --home /srv/ctx namespace list --json
    """
    from smartcontext_cli.namespaces import listing

    problems: list[str] = []
    rows = listing(app_context(ctx).settings(), problems)
    for problem in problems:  # listed all the same, counts unknown (None; "?" in the table)
        o.warn(problem)
    if as_json:
        o.emit_json(rows)
        return
    o.table(
        ["", "namespace", "backend", "memories", "artifacts", "bytes"],
        [
            [
                "*" if r["current"] else "",
                r["name"],
                r["backend"] or "(none yet)",
                "?" if r["memories"] is None else r["memories"],
                "?" if r["artifacts"] is None else r["artifacts"],
                r["bytes"],
            ]
            for r in rows
        ],
    )


@namespace_app.command("show")
def namespace_show(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="A namespace (default: the one in force).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a namespace: which one is in force and why, its backend, path and sizes.

    Examples:
      smartcontext namespace show
      smartcontext namespace show my-project --json
    """
    from smartcontext_cli.namespaces import describe

    info = describe(app_context(ctx).settings(), name)
    if as_json:
        o.emit_json(info)
        return
    for key, value in info.items():
        o.out(f"{key}\t{'-' if value is None else value}")


@namespace_app.command("delete")
def namespace_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The namespace to delete, with all it holds.")],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a namespace and everything in it (asks first; --yes in scripts).

    Examples:
      smartcontext namespace delete old-experiment
      smartcontext namespace delete scratch --yes --json
    """
    from smartcontext_cli.namespaces import delete, describe

    settings = app_context(ctx).settings()
    info = describe(settings, name)
    if info["exists"]:
        o.info(
            f"namespace {name!r}: {o.counted(info['memories'], 'memory', 'memories')}, "
            f"{o.counted(info['artifacts'], 'artifact')}, {info['bytes']:,} bytes"
        )
        confirm(yes, f"Delete namespace {name!r} and everything in it?", "deleting a namespace")
    app_context(ctx).close()  # a store of it opened earlier in this call must not hold files
    removed = delete(settings, name)
    if removed["backup"]:
        o.info(f"backed up the namespace first: {removed['backup']}")
    if as_json:
        o.emit_json({"deleted": removed["name"], "memories": removed["memories"]})
    else:
        o.info(f"deleted namespace {removed['name']} ({removed['database'] or removed['path']})")


def register(app: typer.Typer) -> None:
    app.add_typer(namespace_app, name="namespace")
