"""``compile``: the command's body, shared by the Typer command and the Typer-free fast path
(``_fast``). Nothing here imports Typer, the compiler or the tokenizer at module level."""

from __future__ import annotations

import sys
from pathlib import PurePath
from typing import Any

from smartcontext_cli.errors import UsageError

from . import _output as o
from ._appctx import AppContext
from ._inputs import read_file_arg, read_text_arg

FORMATS = ("text", "markdown", "xml", "json", "messages")
LEVELS = ("off", "minimal", "normal", "full")


def _transparency(flag: str | None, verbose: int, setting: Any) -> str:
    if flag is not None:
        if flag not in LEVELS:
            raise UsageError(f"--transparency must be one of {', '.join(LEVELS)}, got {flag!r}")
        return flag
    if verbose:
        return "normal" if verbose == 1 else "full"
    return str(setting or "off")


def run_compile(
    app: AppContext,
    *,
    query: str | None = None,
    budget: int | None = None,
    mode: str | None = None,
    fmt: str = "markdown",
    encoding: str | None = None,
    strict: bool = False,
    memory: list[str] | None = None,
    observation: list[str] | None = None,
    artifact: list[str] | None = None,
    system: list[str] | None = None,
    transparency: str | None = None,
    verbose: int = 0,
    no_graph: bool = False,
    no_decay: bool = False,
    no_chunking: bool = False,
    rerank: bool = False,
    namespace: str | None = None,
    as_json: bool = False,
) -> int:
    """Compile and print the prompt (stdout) and its report (stderr); returns the exit code."""
    if as_json:
        fmt = "json"
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    from smartcontext_cli.compiler import ContextItem

    stdin_used = [
        v
        for v in (*(memory or ()), *(observation or ()), *(artifact or ()), *(system or ()))
        if v == "-"
    ]
    if len(stdin_used) > 1:
        raise UsageError("only one option can read standard input (-)")
    files = []
    for path in artifact or ():
        name = "stdin" if path == "-" else PurePath(path).name
        files.append(ContextItem(read_file_arg(path, "artifact"), name=name, id=None))
    store = app.store(namespace)
    level = _transparency(transparency, verbose or app.verbose, store.settings.get("transparency"))
    result = store.compile(
        query=query,
        token_budget=budget,
        mode=mode,
        format=fmt,
        encoding=encoding,
        strict=strict,
        memories=[read_text_arg(m, "memory") for m in memory or ()],
        observations=[read_text_arg(x, "observation") for x in observation or ()],
        artifacts=files,
        system=[read_text_arg(s, "system text") for s in system or ()],
        include_context_graph=not no_graph,
        temporal_decay=not no_decay,
        semantic_chunking=not no_chunking,
        rerank=rerank,
    )
    sys.stdout.write(result.render())
    sys.stdout.flush()
    for warning in result.warnings:
        o.warn(warning)
    report = result.report(level)
    if report:
        o.info(report)
    return 0
