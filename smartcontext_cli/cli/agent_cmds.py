"""Agent working-state commands: ``prefix``, ``todo``, ``error`` and ``strategy`` groups.

Each command parses, makes one call into ``AgentStateMixin``, and renders; read commands take
``--json`` with the shapes documented in the README's agent state section.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from smartcontext_cli import shapes
from smartcontext_cli.errors import NotFoundError, UsageError

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, YesOpt, app_context, confirm, read_text_arg

prefix_app = typer.Typer(help="The stable prompt prefix and KV-cache reuse.", no_args_is_help=True)
todo_app = typer.Typer(
    help="The checklist recited at the end of every prompt.", no_args_is_help=True
)
error_app = typer.Typer(
    help="Error memory: failures kept in view until resolved.", no_args_is_help=True
)
strategy_app = typer.Typer(
    help="Strategy: heuristics and what was learned, versioned.", no_args_is_help=True
)

LastOpt = Annotated[int, typer.Option("--last", min=2, help="How many recent compiles to compare.")]
TaskIdArg = Annotated[str, typer.Argument(help="The task id, e.g. 3.")]
ErrorIdArg = Annotated[str, typer.Argument(help="The error id, e.g. E3.")]


def _int_id(ref: str, letter: str) -> int:
    """A task id (``3``) or an error id (``E3``, or ``3``): the forms the text output shows."""
    text = ref.strip()
    if letter == "E" and text[:1].upper() == "E":
        text = text[1:]
    if not text.isascii() or not text.isdigit():
        example = "E3" if letter == "E" else "3"
        raise UsageError(f"invalid {_WHAT[letter]} id {ref!r}: give one such as {example}")
    return int(text)


_WHAT = {"E": "error", "T": "task"}


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


# prefix ----------------------------------------------------------------------------------------


@prefix_app.command("set")
def prefix_set(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(help="The prefix text, or - for standard input (kept byte for byte).")
    ],
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the stable prefix that every compiled prompt starts with, byte for byte.

    Examples:
      smartcontext prefix set "System: You are a senior Python developer."
      smartcontext prefix set - < system-prompt.txt
    """
    store = app_context(ctx).store(namespace)
    changed = store.set_stable_prefix(read_text_arg(text, "prefix"))
    if as_json:
        o.emit_json({"changed": changed})
    else:
        o.info("stable prefix set" if changed else "stable prefix unchanged")


@prefix_app.command("show")
def prefix_show(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Print the stable prefix exactly as stored (exit 1 when none is set).

    Examples:
      smartcontext prefix show
      smartcontext prefix show --json
    """
    store = app_context(ctx).store(namespace)
    text = store.get_stable_prefix() if store.exists else None
    if as_json:
        o.emit_json({"prefix": text})
    elif text is not None:
        sys.stdout.write(text)  # exactly as stored: no newline added
    else:
        o.info("no stable prefix: smartcontext prefix set TEXT")
    if text is None:
        raise typer.Exit(1)


@prefix_app.command("clear")
def prefix_clear(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Remove the stable prefix (the next compile is a planned cache break).

    Examples:
      smartcontext prefix clear
      smartcontext prefix clear -n other-project
    """
    store = app_context(ctx).store(namespace)
    cleared = bool(store.exists and store.clear_stable_prefix())
    if as_json:
        o.emit_json({"cleared": cleared})
    else:
        o.info("stable prefix cleared" if cleared else "no stable prefix to clear")


@prefix_app.command("break")
def prefix_break(
    ctx: typer.Context,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Why the cache is being broken.")
    ] = "manual",
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark a planned cache break: the next compile may change early parts of the prompt.

    Examples:
      smartcontext prefix break
      smartcontext prefix break --reason "switching to the billing task"
    """
    app_context(ctx).store(namespace).mark_cache_break(reason)
    if as_json:
        o.emit_json({"reason": reason})
    else:
        o.info("planned cache break marked; the next compile records it")


@prefix_app.command("check")
def prefix_check(
    ctx: typer.Context,
    last: LastOpt = 20,
    system: Annotated[
        list[str] | None,
        typer.Option(
            "--system", "-s", help="System text you pass to compile, to scan (repeatable)."
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Report measured KV-cache reuse between recent compiles and warn about volatile early text.

    Examples:
      smartcontext prefix check
      smartcontext prefix check --system "$(cat system.txt)" --last 50 --json
    """
    store = app_context(ctx).store(namespace)
    report = store.prefix_check(last, system or [])
    if as_json:
        o.emit_json(report)
        return
    o.out(reuse_summary(report))
    for w in report["warnings"]:
        if "line" in w:
            o.out(
                f"warning: {w['kind']} {w['text']!r} in {w['where']} line {w['line']}: {w['why']}"
            )
        else:
            o.out(
                f"warning: {w['kind']} block in the {w['where']} (block {w['block']} of compile "
                f"#{w['compile']}): {w['why']}"
            )


def reuse_summary(report: dict[str, Any]) -> str:
    lines = []
    last = report["last"]
    if last is None:
        lines.append(f"cache reuse: not measured yet ({report['compiles']} compile(s); needs two)")
    else:
        lines += [
            f"cache reuse over the last {report['compiles']} compiles:",
            f"  last: #{last['id']} shares {last['common_prefix_tokens']} of "
            f"{last['previous_tokens']} tokens with #{last['previous_id']} "
            f"({_pct(last['reuse_of_previous'])} of the previous prompt, "
            f"{_pct(last['reuse_of_current'])} of this one)",
            f"  planned break: {last['planned_break'] or 'no'}",
            f"  mean reuse: {_pct(report['mean_reuse'])} "
            f"(without planned breaks: {_pct(report['mean_reuse_unplanned'])}); "
            f"planned breaks: {report['planned_breaks']}, "
            f"unplanned breaks: {report['unplanned_breaks']}",
        ]
    if report["pending_break"]:
        lines.append(f"  pending break (next compile): {report['pending_break']}")
    return "\n".join(lines)


# todo ------------------------------------------------------------------------------------------


@todo_app.command("add")
def todo_add(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What to do.")],
    parent: Annotated[
        str | None, typer.Option("--parent", "-p", help="Make it a subtask of this task id.")
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task (or a subtask with --parent); prints its id.

    Examples:
      smartcontext todo add "Write the migration"
      smartcontext todo add "Add fixtures" --parent 1
    """
    store = app_context(ctx).store(namespace)
    task = store.add_task(text, _int_id(parent, "T") if parent else None)
    o.emit_json(task.to_dict()) if as_json else o.out(str(task.id))


def _status_command(status: str, verb: str) -> Any:
    def command(
        ctx: typer.Context,
        task_id: TaskIdArg,
        note: Annotated[
            str, typer.Option("--note", help="A short note (why blocked, what was done).")
        ] = "",
        namespace: NamespaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        task = (
            app_context(ctx).store(namespace).set_task_status(_int_id(task_id, "T"), status, note)
        )
        if as_json:
            o.emit_json(task.to_dict())
        else:
            o.info(f"task {task.id} {verb}: {o.one_line(task.text, 70)}")

    command.__doc__ = f"""Mark a task {verb}.

    Examples:
      smartcontext todo {status_names[status]} 3
      smartcontext todo {status_names[status]} 4 --note "see PR 12"
    """
    return command


status_names = {"in_progress": "start", "done": "done", "blocked": "block", "skipped": "skip"}
for _status, _verb in (
    ("in_progress", "started"),
    ("done", "done"),
    ("blocked", "blocked"),
    ("skipped", "skipped"),
):
    todo_app.command(status_names[_status])(_status_command(_status, _verb))


@todo_app.command("list")
def todo_list(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Include done and skipped tasks.")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List open tasks in order, subtasks indented (--all adds done and skipped ones).

    Examples:
      smartcontext todo list
      smartcontext todo list --all --json
    """
    store = app_context(ctx).store(namespace)
    rows = store.list_tasks(include_closed=all_) if store.exists else []
    if as_json:
        o.emit_json(shapes.tasks(rows))
    elif rows:
        from smartcontext_cli.checklist import MARKERS

        for t, d in rows:
            o.out(
                f"{'  ' * d}{MARKERS[t.status]} {t.id}. {t.text}"
                + (f"  ({t.note})" if t.note else "")
            )
    else:
        o.info("no open tasks: smartcontext todo add TEXT" if not all_ else "no tasks")


@todo_app.command("clear")
def todo_clear(
    ctx: typer.Context,
    all_: Annotated[
        bool, typer.Option("--all", help="Remove every task, open ones too (asks first).")
    ] = False,
    yes: YesOpt = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove done and skipped tasks (--all: every task); ids are never reused.

    Examples:
      smartcontext todo clear
      smartcontext todo clear --all --yes
    """
    store = app_context(ctx).store(namespace)
    if all_ and store.exists and store.list_tasks(include_closed=True):
        confirm(yes, "Remove every task, open ones too?", "removing every task")
    removed = store.clear_tasks(everything=all_) if store.exists else 0
    if as_json:
        o.emit_json({"removed": removed})
    else:
        o.info(f"removed {o.counted(removed, 'task')}")


# error -----------------------------------------------------------------------------------------


@error_app.command("log")
def error_log(
    ctx: typer.Context,
    action: Annotated[str, typer.Argument(help="What was attempted, e.g. the command.")],
    error: Annotated[
        str, typer.Argument(help="The error text, or - for standard input (kept in full).")
    ],
    context: Annotated[str, typer.Option("--context", "-c", help="What was going on.")] = "",
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remember a failure; similar errors are grouped with a count. Prints the group id.

    Examples:
      smartcontext error log "pytest tests/test_api.py" "AssertionError: expected 200, got 500"
      pytest 2>&1 | tail -20 | smartcontext error log "pytest" - --context "after the auth refactor"
    """
    store = app_context(ctx).store(namespace)
    group, new = store.log_error(action, read_text_arg(error, "error"), context)
    if as_json:
        o.emit_json({**shapes.error_group(group), "new": new})
        return
    o.out(f"E{group.id}")
    if not new:
        o.info(f"same error as E{group.id}: seen {group.count} times")
    if group.recurrence_of:
        o.info(f"this error was resolved before as E{group.recurrence_of}")


@error_app.command("resolve")
def error_resolve(
    ctx: typer.Context,
    error_id: ErrorIdArg,
    resolution: Annotated[
        str, typer.Option("--resolution", "-r", help="What fixed it (becomes a learned pattern).")
    ] = "",
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark an error resolved; its resolution is added to the strategy as a learned pattern.

    Examples:
      smartcontext error resolve E3 --resolution "run migrations before the tests"
      smartcontext error resolve 4
    """
    group = app_context(ctx).store(namespace).resolve_error(_int_id(error_id, "E"), resolution)
    if as_json:
        o.emit_json(shapes.error_group(group))
        return
    o.info(
        f"E{group.id} resolved"
        + ("; learned pattern added to the strategy" if group.resolution else "")
    )


@error_app.command("list")
def error_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include resolved errors.")] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List unresolved errors, most recent first (--all adds resolved ones).

    Examples:
      smartcontext error list
      smartcontext error list --all --json
    """
    store = app_context(ctx).store(namespace)
    groups = store.list_errors(include_resolved=all_) if store.exists else []
    if as_json:
        o.emit_json([shapes.error_group(g) for g in groups])
    elif groups:
        from smartcontext_cli.error_memory import headline

        rows = [
            [
                f"E{g.id}",
                g.count,
                "resolved" if g.resolved else "open",
                o.cell(g.action, 30),
                o.cell(headline(g.error), 80),
            ]
            for g in groups
        ]
        o.table(["id", "count", "status", "action", "error"], rows)
    else:
        o.info("no unresolved errors" if not all_ else "no errors logged")


# strategy --------------------------------------------------------------------------------------


@strategy_app.command("init")
def strategy_init(
    ctx: typer.Context,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="A built-in template (see `strategy templates`) or [templates.NAME] from config.",
        ),
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", "-d", help="The domain (default: the template's).")
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Forget learned entries too (asks first).")
    ] = False,
    yes: YesOpt = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start the strategy from a template or blank; learned entries are kept unless --reset.

    Examples:
      smartcontext strategy init --template security_audit
      smartcontext strategy init --domain "payments API"
    """
    store = app_context(ctx).store(namespace)
    if reset and store.exists and store.get_strategy(with_history=False) is not None:
        confirm(yes, "Forget the strategy's learned entries?", "resetting the strategy")
    s = store.initialize_strategy(domain, template, reset)
    if as_json:
        o.emit_json({**s.to_dict(), "ranked": store.strategy_entries()})
    else:
        o.info(
            f"strategy v{s.version} ({s.domain}): {o.counted(len(s.entries), 'entry', 'entries')}"
        )


def _update_command(kind: str, name: str, what: str) -> Any:
    def command(
        ctx: typer.Context,
        text: str,
        namespace: NamespaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        store = app_context(ctx).store(namespace)
        s = store.update_strategy(kind, text)
        if as_json:
            o.emit_json({**s.to_dict(), "ranked": store.strategy_entries()})
        else:
            o.info(f"strategy v{s.version}: {what} recorded")

    # Why here: annotations are strings (postponed evaluation) that typer resolves in module
    # globals, where the per-command help text does not exist; an object is used as is.
    command.__annotations__["text"] = Annotated[
        str, typer.Argument(metavar="TEXT", help=f"The {what}.")
    ]

    command.__doc__ = f"""Record a {what} in the strategy (bumps its version).

    Examples:
      smartcontext strategy {name} "{EXAMPLES[kind][0]}"
      smartcontext strategy {name} "{EXAMPLES[kind][1]}" -n my-project
    """
    return command


EXAMPLES = {
    "add_heuristic": ("Always validate input at the API boundary", "Prefer small pure functions"),
    "add_pattern": ("Auth errors often come from token expiry", "Flaky tests share a temp dir"),
    "record_success": ("Retry with backoff fixed the rate limit", "Bisecting found the regression"),
    "record_failure": ("Using == for None comparison caused a bug", "Mocking the DB hid a bug"),
}
for _kind, _name, _what in (
    ("add_heuristic", "add-heuristic", "heuristic"),
    ("add_pattern", "add-pattern", "pattern"),
    ("record_success", "success", "success"),
    ("record_failure", "failure", "failure"),
):
    strategy_app.command(_name)(_update_command(_kind, _name, _what))


@strategy_app.command("show")
def strategy_show(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show the strategy, most useful entries first (exit 1 when there is none).

    Examples:
      smartcontext strategy show
      smartcontext strategy show --json
    """
    store = app_context(ctx).store(namespace)
    s = store.get_strategy(with_history=False) if store.exists else None
    if as_json:
        o.emit_json(shapes.strategy(s, store.strategy_entries() if s else []))
    elif s is not None:
        o.out(
            f"Strategy v{s.version} ({s.domain}"
            + (f", template {s.template}" if s.template else "")
            + ")"
        )
        for line in store.strategy_entries():
            o.out(f"- {line}")
    else:
        o.info("no strategy yet: smartcontext strategy init --template debugging")
    if s is None:
        raise typer.Exit(1)


@strategy_app.command("history")
def strategy_history(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show every strategy update with the version it produced, oldest first.

    Examples:
      smartcontext strategy history
      smartcontext strategy history --json
    """
    store = app_context(ctx).store(namespace)
    if not store.exists:
        raise NotFoundError("no strategy yet: start one with `smartcontext strategy init`")
    records = store.strategy_history()
    if as_json:
        o.emit_json(records)
    else:
        o.table(
            ["version", "update", "text", "at"],
            [[r["version"], r["kind"], o.cell(r["text"], 70), r["at"][:19]] for r in records],
        )


@strategy_app.command("templates")
def strategy_templates(
    ctx: typer.Context, namespace: NamespaceOpt = None, as_json: JsonOpt = False
) -> None:
    """List the strategy templates: built-in ones and [templates.NAME] tables from config.

    Examples:
      smartcontext strategy templates
      smartcontext strategy templates --json
    """
    names = app_context(ctx).store(namespace).strategy_templates()
    o.emit_json(names) if as_json else o.out("\n".join(names))


def register(app: typer.Typer) -> None:
    app.add_typer(prefix_app, name="prefix")
    app.add_typer(todo_app, name="todo")
    app.add_typer(error_app, name="error")
    app.add_typer(strategy_app, name="strategy")
