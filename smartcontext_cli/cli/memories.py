"""Long-term memory commands: remember, search, forget, list, show."""

from __future__ import annotations

from typing import Annotated

import typer

from smartcontext_cli import ids, shapes
from smartcontext_cli.errors import NotFoundError, UsageError
from smartcontext_cli.namespaces import missing_hint

from . import _output as o
from ._context import (
    JsonOpt,
    KindOpt,
    LimitOpt,
    NamespaceOpt,
    TagOpt,
    YesOpt,
    app_context,
    confirm,
    read_text_arg,
)
from .search_run import memory_rows, named, run_search


def remember(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The text to remember, or - to read standard input.")],
    tag: TagOpt = None,
    kind: Annotated[
        str, typer.Option("--kind", help="fact, decision, preference, note ...")
    ] = "note",
    importance: Annotated[float, typer.Option("--importance", help="0 to 1.")] = 0.5,
    source: Annotated[str, typer.Option("--source", help="Where it came from.")] = "user",
    allow_duplicate: Annotated[
        bool,
        typer.Option("--allow-duplicate", help="Store it even if the same text is remembered."),
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remember a fact, decision or note; prints its id (the existing one for the same text).

    Examples:
      smartcontext remember "API uses JWT, tokens expire after 1h" -t auth --kind fact
      git log -1 --format=%B | smartcontext remember - --kind decision
    """
    store = app_context(ctx).store(namespace)
    memory, created = store.remember_unique(
        read_text_arg(text, "memory"),
        tags=tag,
        kind=kind,
        importance=importance,
        source=source,
        allow_duplicate=allow_duplicate,
    )
    if not created:
        o.info(
            f"already remembered as {ids.short(memory.id)}: nothing stored "
            "(--allow-duplicate stores it anyway)"
        )
    if as_json:
        o.emit_json({"id": memory.id, "namespace": store.namespace, "created": created})
    else:
        o.out(memory.id)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to look for; any text is fine.")],
    limit: LimitOpt = 5,
    tag: TagOpt = None,
    kind: KindOpt = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show why each memory ranked: terms, boosts.")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search memories, best match first (exit 1 when nothing matches).

    Examples:
      smartcontext search "database choice"
      smartcontext search postgre -k 10 --tag infra --json
      smartcontext search "refresh_token()" --explain
    """
    code = run_search(app_context(ctx), query, limit, tag, kind, explain, namespace, as_json)
    if code:
        raise typer.Exit(code)


def forget(
    ctx: typer.Context,
    memory_ids: Annotated[
        list[str] | None, typer.Argument(help="Ids (or unique prefixes) to delete.")
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Delete memories containing every word of this query."),
    ] = None,
    yes: YesOpt = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete memories by id or by query; asks first (--yes in scripts).

    Examples:
      smartcontext forget 3f2a9c1b --yes
      smartcontext forget --query "staging password" --yes
    """
    if bool(memory_ids) == bool(query):
        raise UsageError("give memory ids or --query, not both and not neither")
    store = app_context(ctx).store(namespace)
    if not store.exists:  # a read that finds nothing must not create the namespace
        raise NotFoundError(f"no memory matches: namespace '{store.namespace}' has no store yet")
    if memory_ids:
        # dict.fromkeys: the same id (or two prefixes of it) given twice is deleted once.
        doomed = [store.get(ref) for ref in dict.fromkeys(store.resolve_id(r) for r in memory_ids)]
        if not yes:
            for m in doomed:
                o.info(f"  {ids.short(m.id)}  {o.one_line(m.content, 70)}")
    else:
        doomed = store.matching(query or "")
        if not doomed:
            raise NotFoundError(f"no memory contains every word of {query!r}")
        verb = "contains" if len(doomed) == 1 else "contain"
        o.info(f"{o.counted(len(doomed), 'memory', 'memories')} {verb} every word of {query!r}:")
        for m in doomed:
            o.info(f"  {ids.short(m.id)}  {o.one_line(m.content, 70)}")
    confirm(yes, f"Delete {'it' if len(doomed) == 1 else 'them'}?", "deleting")
    doomed_ids = [m.id for m in doomed]
    deleted = store.forget_many(doomed_ids)
    if as_json:
        o.emit_json({"deleted": deleted, "ids": doomed_ids})
    else:
        o.info(f"forgot {o.counted(deleted, 'memory', 'memories')}")


def list_(
    ctx: typer.Context,
    limit: LimitOpt = 20,
    tag: TagOpt = None,
    kind: KindOpt = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List memories, most recent first.

    Examples:
      smartcontext list
      smartcontext list --kind decision --limit 50 --json
    """
    store = app_context(ctx).store(namespace)
    memories = store.list(limit=limit, tags=tag, kind=kind) if store.exists else []
    if as_json:
        o.emit_json([shapes.memory(m) for m in memories])
    elif memories:
        o.table(["id", "kind", "tags", "content"], memory_rows(memories, False))
    elif not store.exists and named(store):
        raise NotFoundError(missing_hint(store.settings, store.namespace))
    elif kind or tag:
        parts = [f"of kind {kind!r}"] if kind else []
        parts += [f"tagged {', '.join(tag)}"] if tag else []
        o.info(f"no memories {' and '.join(parts)}")
    else:
        o.info("no memories yet: add one with smartcontext remember TEXT")


def show(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(help="Id or unique prefix.")],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one memory in full.

    Examples:
      smartcontext show 3f2a9c1b
      smartcontext show 3f2a --json
    """
    store = app_context(ctx).store(namespace)
    if not store.exists:  # a read that finds nothing must not create the namespace
        raise NotFoundError(f"no memory with id {memory_id!r}")
    memory = store.get(memory_id)
    if as_json:
        o.emit_json(shapes.memory(memory))
        return
    o.out(memory.content)
    o.info(
        f"id {memory.id}  kind {memory.kind}  tags {','.join(memory.tags) or '-'}  "
        f"importance {memory.importance}  created {memory.created_at}"
    )


def register(app: typer.Typer) -> None:
    app.command()(remember)
    app.command()(search)
    app.command()(forget)
    app.command("list")(list_)
    app.command()(show)
