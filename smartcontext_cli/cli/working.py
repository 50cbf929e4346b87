"""Working-context commands: goal, and artifacts (large content referenced by ``#a1``)."""

from __future__ import annotations

from typing import Annotated

import typer

from smartcontext_cli import shapes
from smartcontext_cli.errors import NotFoundError, UsageError

from . import _output as o
from ._context import (
    JsonOpt,
    NamespaceOpt,
    YesOpt,
    app_context,
    confirm,
    read_file_arg,
    read_text_arg,
)


def goal(
    ctx: typer.Context,
    text: Annotated[
        str | None, typer.Argument(help="New goal, or - for standard input; omit to show.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the goal.")] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set, show or clear the current goal (exit 1 when showing and none is set).

    Examples:
      smartcontext goal "Implement the OAuth2 login flow"
      smartcontext goal --json
    """
    store = app_context(ctx).store(namespace)
    if clear and text is not None:
        raise UsageError("give a goal or --clear, not both")
    if clear:
        cleared = bool(store.exists and store.clear_goal())  # must not create the namespace
        if as_json:
            o.emit_json({"goal": None, "cleared": cleared})
        else:
            o.info("goal cleared" if cleared else "no goal to clear")
        return
    if text is not None:
        store.set_goal(read_text_arg(text, "goal"))
        if as_json:
            o.emit_json({"goal": store.get_goal()})
        else:
            o.info("goal set")
        return
    current = store.get_goal() if store.exists else None
    if as_json:
        o.emit_json({"goal": current})
    elif current:
        o.out(current)
    else:
        o.info('no goal set: smartcontext goal "what you are working on"')
    if current is None:
        raise typer.Exit(1)


artifact_app = typer.Typer(
    help="Store large content once and reference it by id (#a1).", no_args_is_help=True
)


@artifact_app.command("add")
def artifact_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name, e.g. the file name.")],
    file: Annotated[str, typer.Argument(help="File to store, or - for standard input.")],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store a file's content as an artifact; prints its id (#a1).

    Examples:
      smartcontext artifact add auth_service.py src/auth_service.py
      curl -s https://example.com/spec | smartcontext artifact add api-spec -
    """
    artifact = (
        app_context(ctx).store(namespace).store_artifact(name, read_file_arg(file, "artifact"))
    )
    if as_json:
        o.emit_json({"id": artifact.ref, "name": artifact.name})
    else:
        o.out(artifact.ref)


@artifact_app.command("show")
def artifact_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id (#a1 or a1) or name.")],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print an artifact's content.

    Examples:
      smartcontext artifact show '#a1'
      smartcontext artifact show auth_service.py --json
    """
    store = app_context(ctx).store(namespace)
    if not store.exists:
        raise NotFoundError(f"no artifact {ref!r}")
    artifact = store.get_artifact(ref)
    if as_json:
        o.emit_json(shapes.artifact(artifact))
    else:
        o.out(artifact.content.rstrip("\n"))


@artifact_app.command("list")
def artifact_list(
    ctx: typer.Context,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List artifacts, oldest first.

    Examples:
      smartcontext artifact list
      smartcontext artifact list --json
    """
    store = app_context(ctx).store(namespace)
    artifacts = store.list_artifacts() if store.exists else []
    if as_json:
        o.emit_json([shapes.artifact_summary(a) for a in artifacts])
    elif artifacts:
        o.table(
            ["id", "name", "bytes", "created"],
            [[a.ref, a.name, len(a.content.encode()), a.created_at[:19]] for a in artifacts],
        )
    else:
        o.info("no artifacts yet: smartcontext artifact add NAME FILE")


@artifact_app.command("delete")
def artifact_delete(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id (#a1 or a1) or name.")],
    yes: YesOpt = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete an artifact (asks first; --yes in scripts); its id is never reused.

    Examples:
      smartcontext artifact delete '#a1'
      smartcontext artifact delete leaked-config.env --yes --json
    """
    store = app_context(ctx).store(namespace)
    if not store.exists:
        raise NotFoundError(f"no artifact {ref!r}")
    artifact = store.get_artifact(ref)
    o.info(f"  {artifact.ref}  {artifact.name}  ({len(artifact.content.encode()):,} bytes)")
    confirm(yes, f"Delete {artifact.ref}?", "deleting the artifact")
    store.delete_artifact(artifact.ref)
    if as_json:
        o.emit_json({"deleted": artifact.ref, "name": artifact.name})
    else:
        o.info(f"deleted {artifact.ref} ({artifact.name})")


def register(app: typer.Typer) -> None:
    app.command()(goal)
    app.add_typer(artifact_app, name="artifact")
