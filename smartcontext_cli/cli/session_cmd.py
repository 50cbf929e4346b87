"""Session protocol commands: ``session ...``, ``branch ...`` and ``compact``.

Each command makes one call into the session API (``smartcontext_cli.session``) and renders it;
reports and notices go to stderr, results to stdout, ``--json`` prints the stable shapes
documented in the README.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from smartcontext_cli import shapes
from smartcontext_cli.errors import NotFoundError, UsageError
from smartcontext_cli.models import SessionItem
from smartcontext_cli.session import SessionReport

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, YesOpt, app_context, confirm, read_text_arg

session_app = typer.Typer(
    help="The session log: add events, show, undo, end, limits.", no_args_is_help=True
)
branch_app = typer.Typer(
    help="Session branches: fork the log, compare, merge, delete.", no_args_is_help=True
)
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        "--strategy", help="Compression strategy when trimming: none, heuristic or hybrid."
    ),
]


def _store(ctx: typer.Context, namespace: str | None) -> Any:
    return app_context(ctx).store(namespace)


def _notices(store: Any, seen: int) -> None:
    for notice in store.notices[seen:]:
        o.warn(notice)


def _tokens(report: SessionReport) -> str:
    share = f" ({report.tokens_after / report.tokens_before:.1%})" if report.tokens_before else ""
    return f"tokens {report.tokens_before:,} -> {report.tokens_after:,}{share}"


def _describe(report: SessionReport | None) -> None:
    if report is None:
        return
    if report.action == "trim":
        o.info(
            f"trimmed with {report.strategy}: {report.events_before} -> "
            f"{o.counted(report.events_after, 'event')}, {_tokens(report)}"
        )
    elif report.action == "compact":
        verb = "would compact" if report.dry_run else "compacted"
        o.info(
            f"{verb} {o.counted(report.compacted, 'event')} on branch {report.branch} into "
            f"{o.counted(len(report.sections), 'summary item')}; "
            f"the last {report.preserved} stay verbatim"
        )
        o.info(
            f"{_tokens(report)}; long-term memory: {len(report.memories_added)} "
            f"{'to add' if report.dry_run else 'added'}, {report.memories_known} already known"
        )
        if not report.dry_run:
            o.info("undo with: smartcontext compact --undo")


def _item_row(item: SessionItem) -> list[Any]:
    return [item.seq, item.role, item.created_at[:19], o.one_line(item.content, 100)]


# session -------------------------------------------------------------------------------------


@session_app.command("add")
def session_add(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Argument(help="user, assistant, tool, observation, decision, error...")
    ],
    text: Annotated[str, typer.Argument(help="The event's text, or - to read standard input.")],
    command: Annotated[
        str | None,
        typer.Option(
            "--command", "-c", help="The command a tool event ran; compaction groups runs by it."
        ),
    ] = None,
    strategy: StrategyOpt = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append an event to the current branch's session log; prints its sequence number.

    An event is at most 1 MB: a larger tool output is stored whole as an artifact and the
    event keeps its first and last lines (a warning names the artifact).

    Examples:
      smartcontext session add user "Add rate limiting to the public API"
      pytest -q 2>&1 | smartcontext session add tool - --command "pytest -q" --json
    """
    if strategy:  # a flag: wins over the namespace's and the config's strategy for this call
        app_context(ctx).flags["compression_strategy"] = strategy
    store = _store(ctx, namespace)
    seen = len(store.notices)
    item = store.add_session_item(role, read_text_arg(text, "session event"), command=command)
    _notices(store, seen)
    if as_json:
        o.emit_json(shapes.session_added(item, store.last_trim))
        return
    o.out(str(item.seq))
    _describe(store.last_trim)


@session_app.command("show")
def session_show(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", "-k", min=0, help="Only the last N events.")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Every event ever added, as if never compacted.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Print whole events, not one line each.")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the current branch's session log, oldest first.

    Examples:
      smartcontext session show --limit 20
      smartcontext session show --raw --json
    """
    store = _store(ctx, namespace)
    items = store.get_session_items(limit, raw=raw) if store.exists else []
    if as_json:
        o.emit_json([i.to_dict() for i in items])
    elif not items:
        o.info('the session log is empty: smartcontext session add user "what you are doing"')
    elif full:
        for item in items:
            o.out(f"[{item.seq}] {item.role}: {item.content}")
    else:
        o.table(["seq", "role", "time", "content"], [_item_row(i) for i in items])


@session_app.command("search")
def session_search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to look for in the session's events.")],
    limit: Annotated[int, typer.Option("--limit", "-k", min=0, help="How many at most.")] = 5,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Search this branch (default: current).")
    ] = None,
    all_branches: Annotated[
        bool, typer.Option("--all-branches", help="Search the events of every branch.")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search every event of the session log, compacted ones included (exit 1: no match).

    Archived events (replaced in the log by a compaction, a trim or a session end) are found
    too, and marked so. Ranked like memory search.

    Examples:
      smartcontext session search "which database did we pick"
      smartcontext session search pytest --all-branches -k 10 --json
    """
    from smartcontext_cli.text import query_terms

    if not query_terms(query):
        raise UsageError(f"nothing to search for in {query!r}: give at least one word")
    store = _store(ctx, namespace)
    hits = store.search_session(query, limit=limit, branch=branch, all_branches=all_branches)
    if as_json:
        o.emit_json([h.to_dict() for h in hits])
    elif hits:
        rows = [
            [
                h.seq,
                h.role,
                h.branch,
                h.created_at[:19],
                "archived" if h.archived else "in log",
                h.content if not o.stdout_is_terminal() else o.one_line(h.content, 100),
            ]
            for h in hits
        ]
        o.table(["seq", "role", "branch", "time", "where", "content"], rows)
    else:
        o.info("no session events match")
    if not hits:
        raise typer.Exit(1)


@session_app.command("status")
def session_status(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show the current branch, log size in events and tokens, limit and compression strategy.

    Examples:
      smartcontext session status
      smartcontext session status --json
    """
    store = _store(ctx, namespace)
    if store.exists:
        status = store.session_status()
    else:  # nothing stored yet: report the defaults without creating the namespace
        status = {
            "namespace": store.namespace,
            "branch": "main",
            "follow_git": False,
            "items": 0,
            "raw_items": 0,
            "tokens": 0,
            "max_session_turns": store.settings.get("max_session_turns"),
            "compression_strategy": store.settings.get("compression_strategy"),
            "view": None,
        }
    if as_json:
        o.emit_json(status)
        return
    for key, value in status.items():
        if key == "view" and value:
            value = f"{value['kind']} #{value['id']} at {value['created_at'][:19]}"
        o.out(f"{key}\t{value if value is not None else '-'}")


@session_app.command("pop")
def session_pop(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Remove the last event of the current branch (undo an add) and print it.

    Examples:
      smartcontext session pop
      smartcontext session pop --json
    """
    item = _store(ctx, namespace).pop_session_item()
    if as_json:
        o.emit_json(item.to_dict())
    else:
        o.out(f"{item.role}: {item.content}")
        o.info(f"removed event {item.seq}")


@session_app.command("end")
def session_end(
    ctx: typer.Context,
    summary: Annotated[
        str | None,
        typer.Option("--summary", "-s", help="A closing summary to remember (- for stdin)."),
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close the session: decisions and facts go to long-term memory, the log to the archive.

    Examples:
      smartcontext session end --summary "Rate limiting shipped behind a flag"
      smartcontext session end --json
    """
    text = read_text_arg(summary, "summary") if summary is not None else None
    report = _store(ctx, namespace).end_session(text)
    if as_json:
        o.emit_json(report.to_dict())
        return
    o.info(
        f"session ended on branch {report.branch}: "
        f"{o.counted(report.events_before, 'event')} archived, "
        f"{o.counted(len(report.memories_added), 'memory', 'memories')} saved "
        f"({report.memories_known} already known)"
    )
    o.info("a fresh session starts now; reopen the old one with: smartcontext compact --undo")


@session_app.command("set-max-turns")
def session_set_max_turns(
    ctx: typer.Context,
    turns: Annotated[
        int, typer.Argument(help="Events kept before the log is trimmed (at least 2).")
    ],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set this namespace's session limit; a longer log is trimmed right away.

    Examples:
      smartcontext session set-max-turns 50
      smartcontext session set-max-turns 200 --json
    """
    store = _store(ctx, namespace)
    seen = len(store.notices)
    report = store.set_max_turns(turns)
    _notices(store, seen)
    if as_json:
        o.emit_json({"max_session_turns": turns, "trimmed": report.to_dict() if report else None})
        return
    o.info(f"max_session_turns = {turns} for namespace {store.namespace}")
    _describe(report)


@session_app.command("set-strategy")
def session_set_strategy(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Argument(help="none, heuristic or hybrid.")],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set this namespace's compression strategy for trimming.

    Examples:
      smartcontext session set-strategy hybrid
      smartcontext session set-strategy none --json
    """
    store = _store(ctx, namespace)
    store.set_compression_strategy(strategy)
    if as_json:
        o.emit_json({"compression_strategy": strategy})
    else:
        o.info(f"compression_strategy = {strategy} for namespace {store.namespace}")


# compact -------------------------------------------------------------------------------------


def compact(
    ctx: typer.Context,
    preserve_recent: Annotated[
        int, typer.Option("--preserve-recent", "-p", min=0, help="Recent events kept verbatim.")
    ] = 30,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would happen (with --undo too); change nothing."),
    ] = False,
    undo: Annotated[
        bool,
        typer.Option(
            "--undo",
            help="Restore the log as it was before the last compaction, trim or session end.",
        ),
    ] = False,
    no_extract: Annotated[
        bool, typer.Option("--no-extract", help="Do not add insights to long-term memory.")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compact the session log: old events become a digest, insights go to memory.

    The digest keeps the sentences that carry the most (verbatim, with speaker and time),
    decisions, errors and tool runs by command. When it would not be smaller than the events
    it replaces, nothing changes and one line says so (exit 0).

    Examples:
      smartcontext compact --preserve-recent 20 --dry-run
      smartcontext compact --undo --dry-run
    """
    store = _store(ctx, namespace)
    if undo:
        report = store.undo_compaction(dry_run=dry_run)
        if not as_json:
            if dry_run:
                o.info(
                    f"would {report.action} #{report.view} on branch {report.branch}: the log "
                    f"would have {o.counted(report.events_after, 'event')} again; "
                    f"{o.counted(report.memories_removed, 'memory', 'memories')} would be removed"
                )
            else:
                o.info(
                    f"{report.action} #{report.view} on branch {report.branch}: the log has "
                    f"{o.counted(report.events_after, 'event')} again; "
                    f"{o.counted(report.memories_removed, 'memory', 'memories')} removed"
                )
    else:
        report = store.compact_session_schema(preserve_recent, not no_extract, dry_run)
        if store.last_backup:
            o.info(f"backed up the namespace first: {store.last_backup}")
        if not as_json:
            if report.notice:  # nothing to compact, or nothing smaller: one line, exit 0
                o.info(report.notice)
            else:
                if dry_run:
                    o.out("\n\n".join(report.summary))
                _describe(report)
    if as_json:
        o.emit_json(report.to_dict())


# branch --------------------------------------------------------------------------------------


def _branch_json(branch: Any) -> dict[str, Any]:
    return {
        "name": branch.name,
        "id": branch.id,
        "fork_seq": branch.fork_seq,
        "description": branch.description,
        "created_at": branch.created_at,
    }


@branch_app.command("create")
def branch_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="New branch name (letters, digits, . _ - + /).")],
    description: Annotated[
        str, typer.Option("--description", "-d", help="What the branch is for.")
    ] = "",
    from_branch: Annotated[
        str | None, typer.Option("--from", help="Fork this branch (default: the current one).")
    ] = None,
    switch: Annotated[bool, typer.Option("--switch", help="Switch to the new branch.")] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fork the session log here; the new branch shares the history up to now.

    Examples:
      smartcontext branch create experiment -d "Try the queue-based design" --switch
      smartcontext branch create hotfix --from main --json
    """
    branch = _store(ctx, namespace).create_branch(name, description, from_branch, switch)
    if as_json:
        o.emit_json(_branch_json(branch))
    else:
        o.info(
            f"created branch {branch.name} at event {branch.fork_seq}"
            + (" and switched to it" if switch else "")
        )


@branch_app.command("switch")
def branch_switch(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Branch to make current.")] = None,
    follow_git: Annotated[
        bool, typer.Option("--follow-git", help="Follow the checked-out git branch from now on.")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a branch current, or follow git's current branch with --follow-git.

    Examples:
      smartcontext branch switch experiment
      smartcontext branch switch --follow-git
    """
    store = _store(ctx, namespace)
    branch = store.switch_branch(name, follow_git=follow_git)
    if as_json:
        o.emit_json({**_branch_json(branch), "follow_git": follow_git})
    else:
        o.info(f"switched to branch {branch.name}" + (" (following git)" if follow_git else ""))


@branch_app.command("list")
def branch_list(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """List session branches; the current one is marked with *.

    Examples:
      smartcontext branch list
      smartcontext branch list --json
    """
    store = _store(ctx, namespace)
    rows = store.list_branches() if store.exists else []
    if as_json:
        o.emit_json(rows)
        return
    if not rows:
        rows = [
            {"current": True, "name": "main", "parent": None, "item_count": 0, "description": ""}
        ]
    o.table(
        ["", "branch", "parent", "events", "description"],
        [
            [
                "*" if r["current"] else "",
                r["name"],
                r["parent"] or "-",
                r["item_count"],
                r["description"],
            ]
            for r in rows
        ],
    )


@branch_app.command("current")
def branch_current(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Print the current session branch.

    Examples:
      smartcontext branch current
      smartcontext branch current --json
    """
    store = _store(ctx, namespace)
    name = store.current_branch() if store.exists else "main"
    follow = store.follows_git() if store.exists else False
    if as_json:
        o.emit_json({"branch": name, "follow_git": follow})
    else:
        o.out(name)


@branch_app.command("compare")
def branch_compare(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(help="A branch.")],
    second: Annotated[
        str | None, typer.Argument(help="Another branch (default: the current one).")
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the history two branches share and what each added since.

    Examples:
      smartcontext branch compare main experiment
      smartcontext branch compare main --json
    """
    result = _store(ctx, namespace).compare_branches(first, second)
    if as_json:
        o.emit_json(result)
        return
    a, b = result["branch1"], result["branch2"]
    o.info(
        f"shared history: {o.counted(result['common']['item_count'], 'event')}; "
        f"{a['name']}: {o.counted(a['item_count'], 'event')} (+{a['added_count']}); "
        f"{b['name']}: {o.counted(b['item_count'], 'event')} (+{b['added_count']})"
    )
    rows = [
        [side["name"], i["seq"], i["role"], o.one_line(i["content"], 90)]
        for side in (a, b)
        for i in side["added"]
    ]
    if rows:
        o.table(["branch", "seq", "role", "added"], rows)


@branch_app.command("merge")
def branch_merge(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Branch whose new events are appended.")],
    into: Annotated[
        str | None, typer.Option("--into", help="Target branch (default: the current one).")
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append a branch's events since the shared history to the current (or --into) branch.

    Examples:
      smartcontext branch merge experiment
      smartcontext branch merge experiment --into main --json
    """
    store = _store(ctx, namespace)
    seen = len(store.notices)
    merged = store.merge_branch(source, into)
    _notices(store, seen)
    target = into or store.current_branch()
    if as_json:
        o.emit_json(
            {
                "source": source,
                "target": target,
                "merged": len(merged),
                "items": [i.to_dict() for i in merged],
            }
        )
    elif merged:
        o.info(f"merged {o.counted(len(merged), 'event')} from {source} into {target}")
    else:
        o.info(f"nothing to merge: {target} already has every event of {source}")


@branch_app.command("delete")
def branch_delete(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="Branch to delete (never main, never the current one).")
    ],
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Delete even if some events were never merged.")
    ] = False,
    yes: YesOpt = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a session branch and its own events (refuses unmerged events without --force).

    Examples:
      smartcontext branch delete experiment --yes
      smartcontext branch delete spike --force --yes --json
    """
    store = _store(ctx, namespace)
    if not store.exists:
        raise NotFoundError(f"no branch {name!r}")
    confirm(yes, f"Delete session branch {name!r} and its own events?", "deleting a branch")
    removed = store.delete_branch(name, require_merged=not force)
    if as_json:
        o.emit_json({"deleted": name, "items": removed})
    else:
        o.info(f"deleted branch {name} ({o.counted(removed, 'event')})")


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")
    app.add_typer(branch_app, name="branch")
    app.command()(compact)
