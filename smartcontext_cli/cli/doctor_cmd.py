"""``smartcontext doctor``: check the stores (and repair what can be repaired)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, app_context


def doctor(
    ctx: typer.Context,
    namespace: NamespaceOpt = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Fix what can be fixed (rebuild indexes and counters, finish crashed commits, "
            "quarantine damaged records, restore from backups) and say what was done.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check every namespace (or one): integrity, schema, indexes, documents, counters.

    Exit 1 when a problem remains. Nothing is changed without --repair, and a repair never
    deletes a record: what cannot be read is moved to <home>/backups/<ns>/damaged-<time>/.

    Examples:
      smartcontext doctor
      smartcontext doctor -n my-project --repair --json
    """
    from smartcontext_cli.doctor import run

    app = app_context(ctx)
    settings = app.settings(namespace)
    chosen = namespace or (settings.values.get("namespace") if app.namespace else None)
    report = run(settings.home, chosen, repair)
    if as_json:
        o.emit_json(report)
    else:
        _render(report)
    if not report["ok"]:
        raise typer.Exit(1)


def _render(report: dict[str, Any]) -> None:
    spaces = report["namespaces"]
    for ns in spaces:
        size = ""
        if ns["memories"] is not None:
            size = f", {o.counted(ns['memories'], 'memory', 'memories')}"
            if ns["documents"] is not None:
                size += f", {o.counted(ns['documents'], 'document')}"
        left = [f for f in ns["findings"] if not f["repaired"]]
        state = "ok" if not left else o.counted(len(left), "problem")
        o.out(f"{ns['namespace']} ({ns['backend'] or 'no store'}): {state}{size}")
        for f in ns["findings"]:
            mark = "repaired" if f["repaired"] else f["severity"]
            o.out(f"  {mark:<8} {f['check']:<11} {f['where']}: {f['problem']}")
            if f["fix"]:
                o.out(f"  {'':<8} {'':<11} {'done' if f['repaired'] else 'repair'}: {f['fix']}")
    bad = sum(1 for ns in spaces if not ns["ok"])
    if not spaces:
        o.info(f"no namespaces in {report['home']}")
    elif bad and not report["repair"]:
        o.info(
            f"checked {o.counted(len(spaces), 'namespace')}: {bad} with problems; "
            "`smartcontext doctor --repair` fixes what can be fixed"
        )
    else:
        o.info(f"checked {o.counted(len(spaces), 'namespace')}: {len(spaces) - bad} ok")


def register(app: typer.Typer) -> None:
    app.command()(doctor)
