"""KV-cache prefix reuse over a scripted agent loop, measured from real compile records.

A 50-step loop (12 with ``--quick``) drives one namespace the way an agent does: it appends
session events (a user turn, a tool result, an assistant note) and compiles after each step, with
a few checklist and error-memory changes along the way, one schema compaction half-way through,
and one planned ``prefix break`` (followed by a new goal) near the end. Every figure comes from
``MemoryStore.cache_reuse()``, i.e. from the block hashes the compiler recorded, not from an
estimate. Printed per step: the event, the prompt's tokens, the common token prefix with the
previous prompt, that prefix as a share of the previous prompt (what a provider's KV cache could
reuse), and whether the break was planned.

    python tests/benchmarks/bench_prefix_reuse.py            # 50 steps
    python tests/benchmarks/bench_prefix_reuse.py --quick    # 12 steps
    python tests/benchmarks/bench_prefix_reuse.py --backend json --budget 8000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the checkout's package
    sys.path.insert(0, str(ROOT))

from smartcontext_cli import MemoryStore  # noqa: E402

PREFIX = """System: You are a senior Python developer working on an e-commerce platform.
Stack: Python 3.11, FastAPI, PostgreSQL, Redis.
Constraints:
- Follow PEP 8; type hints required.
- Async where possible; never block the event loop.
"""
MEMORIES = [
    (
        "Orders are stored in PostgreSQL table orders with a unique (customer_id, cart_id) key",
        "fact",
    ),
    ("Decided to use Redis for session caching because the sessions are short-lived", "decision"),
    ("Payment webhooks may arrive twice; handlers must be idempotent", "fact"),
    ("Prefer pytest fixtures over setUp methods", "preference"),
    ("The checkout service talks to Stripe through app/payments/client.py", "fact"),
    ("Amounts are integers in cents everywhere, never floats", "decision"),
]


def event(step: int) -> list[tuple[str, str]]:
    """The session events an agent adds at ``step``: deterministic, varied in length."""
    files = [
        "app/orders/api.py",
        "app/payments/client.py",
        "app/cart/service.py",
        "tests/test_orders.py",
    ]
    f = files[step % len(files)]
    return [
        ("user", f"Step {step}: look at {f} and continue with the refund endpoint."),
        (
            "tool",
            f"read {f}: {40 + step * 3} lines; function handle_refund(order_id) found"
            + " ..." * (step % 5),
        ),
        ("assistant", f"Updated {f}: validate the order state before refunding (attempt {step})."),
    ]


def run(backend: str, steps: int, budget: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as home:
        store = MemoryStore(namespace="bench", storage_backend=backend, base_dir=home)
        try:
            store.set_stable_prefix(PREFIX)
            store.set_goal("Add a refund endpoint to the orders API")
            for text, kind in MEMORIES:
                store.remember(text, kind=kind, tags=["orders"])
            store.initialize_strategy(template="debugging")
            tasks = [
                store.add_task(t) for t in ("Design the refund API", "Implement it", "Write tests")
            ]
            compaction_at, break_at = steps // 2, steps - steps // 5
            labels: list[str] = []
            for step in range(1, steps + 1):
                if step == 1:
                    label = "first compile"
                elif step == compaction_at:
                    store.compact_session_schema(preserve_recent=6)
                    label = "compaction"
                elif step == break_at:
                    store.mark_cache_break("switching task")
                    store.set_goal("Now: add partial refunds for multi-item orders")
                    label = "prefix break + new goal"
                else:
                    for role, text in event(step):
                        store.add_session_item(role, text)
                    label = "append 3 events"
                    if step == steps // 4:
                        store.set_task_status(tasks[0].id, "done")
                        label += " + todo done"
                    elif step == steps // 3:
                        store.log_error(
                            "pytest tests/test_orders.py", "AssertionError: refund of 1299 != 1300"
                        )
                        label += " + error logged"
                store.compile(token_budget=budget)
                labels.append(label)
            report = store.cache_reuse(last_n=steps)
        finally:
            store.close()
    first = report["pairs"][0]["previous_tokens"] if report["pairs"] else None
    rows = [{"step": 1, "event": labels[0], "prompt_tokens": first, "pair": None}]
    for step, pair in enumerate(report["pairs"], start=2):
        rows.append(
            {
                "step": step,
                "event": labels[step - 1],
                "prompt_tokens": pair["prompt_tokens"],
                "pair": pair,
            }
        )
    return rows


def cells(row: dict[str, Any]) -> list[Any]:
    pair = row["pair"]
    if pair is None:
        return [row["step"], row["event"], row["prompt_tokens"], "-", "-", "-"]
    if pair["planned_break"]:
        planned = f"yes ({pair['planned_break']})"
    else:
        planned = "no (session window moved)" if pair["window_moved"] else "no"
    reuse = f"{pair['reuse_of_previous'] * 100:.1f}"
    return [
        row["step"],
        row["event"],
        row["prompt_tokens"],
        pair["common_prefix_tokens"],
        reuse,
        planned,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 steps instead of 50")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "json"])
    parser.add_argument("--budget", type=int, default=4000, help="compile token budget")
    args = parser.parse_args()
    steps = 12 if args.quick else 50
    rows = run(args.backend, steps, args.budget)

    print(f"Prefix reuse over a {steps}-step agent loop ({args.backend}, budget {args.budget})\n")
    print(
        "| step | event | prompt tokens | common prefix with previous | reuse % | planned break? |"
    )
    print("| ---: | --- | ---: | ---: | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(map(str, cells(row))) + " |")
    pairs = [r["pair"] for r in rows[1:]]
    unplanned = [p["reuse_of_previous"] for p in pairs if not p["planned_break"]]
    appends = [r["pair"]["reuse_of_previous"] for r in rows[1:] if r["event"] == "append 3 events"]
    print()
    if unplanned:
        mean, median = statistics.mean(unplanned), statistics.median(unplanned)
        print(
            f"- steps without a planned break: {len(unplanned)}; mean reuse {mean * 100:.1f}%, "
            f"median {median * 100:.1f}%, min {min(unplanned) * 100:.1f}%"
        )
    if appends:
        share = sum(1 for x in appends if x >= 0.9) / len(appends)
        print(
            f"- append-only steps reusing >= 90% of the previous prompt: {share * 100:.0f}% "
            f"of {len(appends)}, mean {statistics.mean(appends) * 100:.1f}%"
        )
    planned = ", ".join(
        f"step {r['step']} ({r['pair']['planned_break']})"
        for r in rows[1:]
        if r["pair"]["planned_break"]
    )
    moved = ", ".join(f"step {r['step']}" for r in rows[1:] if r["pair"]["window_moved"])
    print(f"- planned breaks: {planned or 'none'}; session window moved: {moved or 'never'}")


if __name__ == "__main__":
    main()
