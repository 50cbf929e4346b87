"""Speed of the session path and of compile at scale, in process.

Issue 8: ``add_session_item`` cost flat in log size (1,000 against 10,000 events); compacting
10,000 events at most 1 s; compile over a 10,000-event session at most 300 ms.
Issue 9: compile over 100,000 memories and 10,000 events at most 250 ms at a 4,000-token budget
and 600 ms at 128,000. A long-running process ranks the memories once per change to them
(``search_memo``), so two more rows show the loop's two kinds of step: a new event before each
compile (the search is reused), and a new memory before each (nothing is: the cost of a
compile that must rank again).

Each figure is the median of several runs after one warm-up compile (the tokenizer loaded,
counts cached, as in a long-running agent or MCP server); ``python -c "import sqlite3, json"``
is timed in the same run for scale. The "before" rows run the same code paths on the code
before this work (``--baseline REV``).

    python tests/benchmarks/bench_session_speed.py
    python tests/benchmarks/bench_session_speed.py --quick     # 20,000 memories
    python tests/benchmarks/bench_session_speed.py --baseline none
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
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

ROUNDS = 7


CPU: dict[str, float] = {}  # the CPU time of the last median_ms call, by the key it is saved as


def median_ms(fn: Any, rounds: int = ROUNDS, cpu: str | None = None, setup: Any = None) -> float:
    """The median wall time of ``fn`` in ms; with ``cpu``, its median CPU time too, in CPU[cpu]
    (on a loaded machine the wall clock mostly measures waiting for a core). ``setup(i)`` runs
    untimed before round ``i``."""
    samples, cpu_samples = [], []
    for i in range(rounds):
        if setup is not None:
            setup(i)
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu_samples.append((time.process_time() - c0) * 1000)
    if cpu is not None:
        CPU[cpu] = statistics.median(cpu_samples)
    return statistics.median(samples)


def fill(store: MemoryStore, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        role = ("user", "assistant", "tool")[i % 3]
        store.add_session_item(role, f"Event {i}: worker {i % 7} handled batch {i} in {i % 13} s")


def add_cost(home: Path, size: int) -> float:
    store = MemoryStore(namespace=f"add-{size}", base_dir=home, compression_strategy="none")
    fill(store, size)
    n = [size]

    def one() -> None:
        store.add_session_item("user", f"one more event {n[0]}")
        n[0] += 1

    ms = median_ms(one, 31)
    store.close()
    return ms


def measure(n_memories: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["floor_ms"] = median_ms(
        lambda: subprocess.run([sys.executable, "-c", "import sqlite3, json"], check=True)
    )
    with tempfile.TemporaryDirectory(prefix="session-speed-") as tmp:
        home = Path(tmp)
        out["add_1k"] = add_cost(home, 1000)
        out["add_10k"] = add_cost(home, 10_000)
        # compaction of 10,000 events
        store = MemoryStore(namespace="compact", base_dir=home, compression_strategy="none")
        fill(store, 10_000)
        t0, c0 = time.perf_counter(), time.process_time()
        store.compact_session_schema(preserve_recent=30)
        out["compact_10k_s"] = time.perf_counter() - t0
        CPU["compact_10k_s"] = time.process_time() - c0
        store.close()
        # compile over a 10,000-event session (no memories)
        store = MemoryStore(namespace="events", base_dir=home, compression_strategy="none")
        store.set_goal("Find the slow batches of worker 3")
        fill(store, 10_000)
        store.compile(token_budget=4000)
        out["compile_10k_events"] = median_ms(
            lambda: store.compile(token_budget=4000), cpu="compile_10k_events"
        )
        store.compile(query="batch 4711", token_budget=4000)
        out["compile_10k_events_query"] = median_ms(
            lambda: store.compile(query="batch 4711", token_budget=4000),
            cpu="compile_10k_events_query",
        )
        store.close()
        # 100,000 memories and 10,000 events
        big = home / "big"
        _corpus.build_sqlite(big, n_memories, namespace="big")
        store = MemoryStore(namespace="big", base_dir=big, compression_strategy="none")
        store.set_goal("Speed up the deploy pipeline without losing the redis cache")
        fill(store, 10_000)
        for budget in (4000, 128_000):
            store.compile(token_budget=budget)
            out[f"big_{budget}"] = median_ms(
                lambda b=budget: store.compile(token_budget=b), 5, cpu=f"big_{budget}"
            )
        # An agent loop's steps: an event, or a finding remembered, then compile (the step is
        # not timed). A remembered finding changes the memories, so nothing ranked by the
        # step before can be reused.
        steps = {
            "event": lambda i: store.add_session_item("tool", f"step {i}: batch {i} finished"),
            "remember": lambda i: store.remember(f"Finding {i}: the deploy cache is cold"),
        }
        for name, step in steps.items():
            out[f"big_128000_{name}"] = median_ms(
                lambda: store.compile(token_budget=128_000),
                5,
                cpu=f"big_128000_{name}",
                setup=step,
            )
        store.close()
        shutil.rmtree(big)
    out["cpu"] = dict(CPU)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 memories")
    parser.add_argument("--baseline", default=BASELINE, help="a git revision, or none")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    if args.raw:
        print(json.dumps(measure(n)))
        return
    runs = []
    if args.baseline != "none":
        extra = ["--quick"] if args.quick else []
        runs.append((f"before ({args.baseline})", measure_baseline(__file__, args.baseline, extra)))
    runs.append(("this checkout", measure(n)))
    print(
        f"\nSession and compile speed in process (median ms unless marked; {n:,} memories); "
        "wall clock, and CPU time of this process beside it\n"
    )
    rows = [
        ("`add_session_item` at 1,000 events", "add_1k", None),
        ("`add_session_item` at 10,000 events", "add_10k", None),
        ("compact 10,000 events (s)", "compact_10k_s", 1.0),
        ("compile -b 4000 over 10,000 events", "compile_10k_events", 300),
        ("compile -q 'batch 4711' -b 4000 over 10,000 events", "compile_10k_events_query", 300),
        (f"compile -b 4000, {n:,} memories + 10,000 events", "big_4000", 250),
        (f"compile -b 128000, {n:,} memories + 10,000 events", "big_128000", 600),
        ("  the same, each after a new event (an agent step)", "big_128000_event", 600),
        ("  the same, each after a new memory (nothing reusable)", "big_128000_remember", None),
        ('`python -c "import sqlite3, json"`', "floor_ms", None),
    ]
    print("| measurement | " + " | ".join(label for label, _ in runs) + " | target |")
    print("|---|" + "---|" * len(runs) + "---|")

    def cell(data: dict[str, Any], key: str) -> str:
        fmt = "{:.2f}" if key.endswith("_s") else "{:.1f}"
        text = fmt.format(data[key])
        cpu = data.get("cpu", {}).get(key)
        return text if cpu is None else f"{text} (cpu {fmt.format(cpu)})"

    for name, key, target in rows:
        cells = [cell(data, key) for _, data in runs]
        verdict = ""
        if target is not None:
            last = runs[-1][1]
            verdict = f"<= {target}: " + ("met" if last[key] <= target else "MISSED")
            cpu = last.get("cpu", {}).get(key)
            if cpu is not None:
                verdict += " (cpu " + ("within" if cpu <= target else "over") + ")"
        print(f"| {name} | " + " | ".join(cells) + f" | {verdict} |")
    last = runs[-1][1]
    print(f"\nadd at 10,000 / add at 1,000: {last['add_10k'] / last['add_1k']:.2f}x (flat: ~1x)")


if __name__ == "__main__":
    main()
