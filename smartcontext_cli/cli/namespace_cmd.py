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
    """List the namespaces of the data directory; the one in force is marked with *.

    Examples:
      smartcontext namespace list
      smartcontext --home /srv/ctx namespace list --json
    """
    from smartcontext_cli.namespaces import listing

    rows = listing(app_context(ctx).settings())
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
                r["memories"],
                r["artifacts"],
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
    if as_json:
        o.emit_json({"deleted": removed["name"], "memories": removed["memories"]})
    else:
        o.info(f"deleted namespace {removed['name']} ({removed['path']})")


def register(app: typer.Typer) -> None:
    app.add_typer(namespace_app, name="namespace")
