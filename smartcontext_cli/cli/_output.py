"""The only place that renders: Rich tables on a terminal, plain lines in pipes, JSON on request.

Results go to stdout, everything else to stderr. Rich is imported only when a table is drawn on
a terminal, so scripts and pipes never pay for it. No colour when NO_COLOR is set (Rich honours
it) or when stdout is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def info(text: str) -> None:
    """Progress and explanations: stderr, so stdout stays clean for pipes."""
    print(text, file=sys.stderr)


def warn(text: str) -> None:
    print(f"smartcontext: warning: {text}", file=sys.stderr)


def counted(n: int, one: str, many: str | None = None) -> str:
    """``counted(1, "memory", "memories")`` -> "1 memory"; 2 -> "2 memories"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cell(text: str, width: int) -> str:
    """A table cell: cut to ``width`` on a terminal, whole in a pipe (as gh and sqlite-utils
    print whole values when stdout is not a terminal, so scripts never see a cut value)."""
    return one_line(text, width) if stdout_is_terminal() else " ".join(text.split())


def id_cell(item_id: str, width: int = 8) -> str:
    """A memory id: its first ``width`` hex digits on a terminal, the whole id in a pipe."""
    return item_id[:width] if stdout_is_terminal() else item_id


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A Rich table on a terminal; tab-separated lines (no header) in a pipe."""
    if not stdout_is_terminal():
        for row in rows:
            out(
                "\t".join(
                    "" if v is None else str(v).replace("\t", " ").replace("\n", " ") for v in row
                )
            )
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        # Why Text: a plain str cell is parsed as Rich markup, so a memory holding "[/]" failed
        # to render and "[bold]x[/bold]" lost its brackets. User text is shown as it is.
        t.add_row(*(Text("" if v is None else str(v)) for v in row))
    Console(no_color="NO_COLOR" in os.environ).print(t)


def progress(total: int, description: str) -> Any:
    """A progress callback (called with an increment); a Rich bar only when stderr is a terminal."""
    if not stderr_is_terminal() or total <= 0:
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(transient=True, console=Console(stderr=True))
    task = bar.add_task(description, total=total)
    bar.start()

    def advance(n: int) -> None:
        bar.update(task, advance=n)
        if bar.tasks[0].completed >= total:
            bar.stop()

    advance.stop = bar.stop  # type: ignore[attr-defined]
    return advance


def progress_done(advance: Any) -> None:
    """Remove a progress bar (a no-op for None); safe to call twice, and after an error."""
    stop = getattr(advance, "stop", None)
    if stop is not None:
        stop()
