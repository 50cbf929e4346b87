"""Compiling commands: ``compile`` (the prompt, to stdout), ``stats``, ``explain`` and ``mode``.

Each command parses, makes one call into ``CompileMixin`` (gather.py), renders and maps errors.
Nothing here imports the compiler or the tokenizer at module level: this module is imported on
every CLI start, and ``smartcontext --help`` must not pay for tiktoken.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from smartcontext_cli.errors import UsageError

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, app_context
from .compile_run import run_compile


def compile_(
    ctx: typer.Context,
    query: Annotated[
        str | None,
        typer.Option(
            "--query", "-q", help="What memories should be relevant to (default: the goal)."
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", "-b", min=1, help="Token budget (default: config budget, 4000)."),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", "-m", help="Attention mode or custom policy; auto detects it."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text, markdown, xml, json or messages.")
    ] = "markdown",
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="cl100k_base, or o200k_base when cached.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 3 if the mandatory parts cannot fit.")
    ] = False,
    memory: Annotated[
        list[str] | None,
        typer.Option("--memory", "-M", help="An extra memory (repeatable; - reads stdin)."),
    ] = None,
    observation: Annotated[
        list[str] | None,
        typer.Option(
            "--observation", "-O", help="An extra observation (repeatable; - reads stdin)."
        ),
    ] = None,
    artifact: Annotated[
        list[str] | None,
        typer.Option(
            "--artifact", "-a", help="A file to include, fenced (repeatable; - reads stdin)."
        ),
    ] = None,
    system: Annotated[
        list[str] | None,
        typer.Option("--system", "-s", help="System text (repeatable; - reads stdin)."),
    ] = None,
    transparency: Annotated[
        str | None,
        typer.Option(
            "--transparency", help="What to report on stderr: off, minimal, normal, full."
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="Report on stderr (-vv: every decision)."),
    ] = 0,
    no_graph: Annotated[
        bool, typer.Option("--no-graph", help="Leave out the cross-references between items.")
    ] = False,
    no_decay: Annotated[
        bool, typer.Option("--no-decay", help="Rank without favouring recent items.")
    ] = False,
    no_chunking: Annotated[
        bool,
        typer.Option("--no-chunking", help="Drop items that do not fit instead of cutting them."),
    ] = False,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank", help="Re-rank everything now (a planned cache break), not append-only."
        ),
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Compile the goal, memories, session and checklist into one prompt on stdout.

    Only the prompt goes to stdout, so it pipes into any LLM command; -v reports on stderr
    what was loaded and how the budget was spent.

    Examples:
      smartcontext compile --budget 4000 | llm -m gpt-4o-mini
      smartcontext compile -q "token refresh" --mode debugging -v
      git diff | smartcontext compile --artifact - --format messages
    """
    run_compile(
        app_context(ctx),
        query=query,
        budget=budget,
        mode=mode,
        fmt=fmt,
        encoding=encoding,
        strict=strict,
        memory=memory,
        observation=observation,
        artifact=artifact,
        system=system,
        transparency=transparency,
        verbose=verbose,
        no_graph=no_graph,
        no_decay=no_decay,
        no_chunking=no_chunking,
        rerank=rerank,
        namespace=namespace,
        as_json=as_json,
    )


def retrieval_line(r: dict[str, Any]) -> str:
    """``stats``' line about search: the mode, and the model in use in a semantic mode."""
    if r["model"] is None:
        return f"retrieval: {r['mode']}"
    m = r["model"]
    return (
        f"retrieval: {r['mode']} (model {m['id']}, sha256 {m['sha256']}, from the {m['source']} "
        f"{m['path']}; {r['vectors']} memories embedded)"
    )


def stats(
    ctx: typer.Context,
    last: Annotated[
        int, typer.Option("--last", min=0, help="How many recent compiles to summarise.")
    ] = 20,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show tokens per tier and the recent compiles' quality trend and cache reuse.

    Examples:
      smartcontext stats
      smartcontext stats --last 50 --json
    """
    store = app_context(ctx).store(namespace)
    data = {**store.get_compilation_stats(last), "retrieval": store.retrieval_stats()}
    if as_json:
        o.emit_json(data)
        return
    tiers = data["tiers"]
    o.table(
        ["tier", "items", "tokens"], [[name, t["items"], t["tokens"]] for name, t in tiers.items()]
    )
    o.out(retrieval_line(data["retrieval"]))
    q = data["quality_scores"]
    if q["mean"] is None:
        if data.get("compilations") and last == 0:
            o.info(f"{o.counted(data['compilations'], 'compile')} recorded; --last 0 shows none")
        else:
            o.info("no compiles recorded yet: smartcontext compile")
        return
    o.out(f"compiles: {data['compilations']} (last {len(q['values'])} shown)")
    o.out(
        f"quality: mean {q['mean']:.2f}, min {q['min']:.2f}, max {q['max']:.2f}, "
        f"trend {data['trend']} {data['sparkline']}"
    )
    cache = data.get("cache") or {}
    if cache.get("mean_reuse") is not None:
        last_pair = cache.get("last") or {}
        o.out(
            f"cache reuse: mean {cache['mean_reuse']:.0%} of the previous prompt, "
            f"last {last_pair.get('reuse_of_previous', 0):.0%}; "
            f"breaks: {cache.get('planned_breaks', 0)} planned, "
            f"{cache.get('unplanned_breaks', 0)} unplanned"
        )


def explain(
    ctx: typer.Context,
    compile_id: Annotated[
        int | None, typer.Argument(help="The compile to explain (default: the latest).")
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain a compile: every candidate's section, score, tokens, outcome and reason.

    Examples:
      smartcontext explain
      smartcontext explain 12 --json
    """
    data = app_context(ctx).store(namespace).explain_compilation(compile_id)
    if as_json:
        o.emit_json(data)
        return
    o.out(
        f"compile {data['compile_id']} at {data['created_at']}: mode {data['mode']}, "
        f"{data['total_tokens']}/{data['budget']} tokens ({data['encoding']}), "
        f"quality {data['quality']:.2f}"
    )
    o.out(f"strategy: {data['explanation']['strategy_used']}")
    rows = [
        [
            d["outcome"],
            d["section"],
            d["item"],
            d["score"],
            "" if d["tokens"] is None else d["tokens"],
            d["reason"],
        ]
        for d in data["explanation"]["decisions"]
    ]
    o.table(["outcome", "section", "item", "score", "tokens", "reason"], rows)
    if data.get("dropped_not_recorded"):
        o.info(f"{data['dropped_not_recorded']} more dropped candidates were not recorded")


def mode(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="Mode to set: coding, debugging, exploring, planning, balanced, "
            "a custom policy, or auto."
        ),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget the namespace's mode (config decides again).")
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set the namespace's attention mode (how compile shares its budget).

    Examples:
      smartcontext mode
      smartcontext mode debugging
      smartcontext mode auto --json
    """
    if clear and name is not None:
        raise UsageError("give a mode or --clear, not both")
    store = app_context(ctx).store(namespace)
    if clear:
        store.set_mode(None)
        o.info("mode cleared")
    elif name is not None:
        o.info(f"mode set to {store.set_mode(name)}")
    status = store.mode_status()
    if as_json:
        o.emit_json(status)
        return
    if name is None and not clear:
        o.out(status["mode"])
        o.info(f"(from {status['source']}; modes: {', '.join(status['modes'])})")
        if status["policy"]:
            shares = ", ".join(
                f"{k} {v:.0%}" for k, v in status["policy"]["allocation"].items() if v
            )
            o.info(f"allocation: {shares}")


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_)
    app.command()(stats)
    app.command()(explain)
    app.command()(mode)
