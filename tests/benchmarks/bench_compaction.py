"""Compaction: information kept against plain truncation, and the time to compact 10,000 events.

Information loss (issue 4): a scripted multi-day conversation (``tests/fixtures/conversation.py``:
greetings, requests, assistant narration, long pytest runs and diffs, tracebacks and their fixes,
acknowledgements, and facts stated in passing) is compacted with ``preserve_recent=10``. A fact
counts as kept when all its needles are in the compacted log or in one memory that ``search``
returns for the fact's question (top 5). Truncation keeps the most recent events that fit the
same number of tokens. Target: compaction at most 30% of the tokens, at least 90% of the facts,
clearly more than truncation. One category ("requirement") is held out: it was added after the
heuristics were written and nothing looks for it, so it shows what plain prose loses.

Speed: compacting 10,000 events (the same generator, sliced) on SQLite, target at most 1 s;
median of ``--rounds`` runs, each undone before the next. JSON is shown for information.

    python tests/benchmarks/bench_compaction.py            # 5/10/20 days, 10,000 events
    python tests/benchmarks/bench_compaction.py --quick    # 3/5 days, 2,000 events
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for path in (TESTS, TESTS.parent):  # run as a script: the fixtures and the checkout's package
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from fixtures.conversation import conversation, is_kept  # noqa: E402

from smartcontext_cli import MemoryStore  # noqa: E402

SPEED_TARGET_S = 1.0


def fill(store: MemoryStore, events: list[tuple[str, str]]) -> None:
    with store.storage.transaction():
        for role, text in events:
            store.add_session_item(role, text)


def information_loss(
    home: Path, days: int, seed: int
) -> tuple[dict[str, object], Counter, Counter]:
    store = MemoryStore(
        namespace=f"loss-{days}",
        storage_backend="sqlite",
        base_dir=home,
        compression_strategy="none",
    )
    events, facts = conversation(days=days, seed=seed)
    fill(store, events)
    raw = store.get_session_items()
    report = store.compact_session_schema(preserve_recent=10)
    log = "\n".join(i.content for i in store.get_session_items())
    hits = {f: [m.content for m in store.search(f.query, limit=5)] for f in facts}
    kept = [f for f in facts if is_kept(f, log, hits[f])]
    in_log = sum(is_kept(f, log, []) for f in facts)
    by_search = sum(is_kept(f, "", hits[f]) for f in facts)
    window: list = []
    used = 0
    for item in reversed(raw):
        if used + (item.token_count or 0) > report.tokens_after:
            break
        used += item.token_count or 0
        window.append(item)
    truncated = "\n".join(i.content for i in window)
    kept_truncation = [f for f in facts if is_kept(f, truncated, [])]
    store.close()
    row = {
        "days": days,
        "events": len(events),
        "facts": len(facts),
        "tokens_before": report.tokens_before,
        "tokens_after": report.tokens_after,
        "compaction_kept": len(kept),
        "in_log": in_log,
        "by_search": by_search,
        "truncation_tokens": used,
        "truncation_kept": len(kept_truncation),
    }
    total = Counter(f.category for f in facts)
    return row, total, Counter(f.category for f in kept)


def speed(home: Path, backend: str, events: list[tuple[str, str]], rounds: int) -> dict[str, float]:
    store = MemoryStore(
        namespace=f"speed-{backend}",
        storage_backend=backend,
        base_dir=home,
        compression_strategy="none",
    )
    fill(store, events)
    samples = []
    report = None
    for _ in range(rounds):
        start = time.perf_counter()
        report = store.compact_session_schema(preserve_recent=30)
        samples.append(time.perf_counter() - start)
        store.undo_compaction()
    store.close()
    assert report is not None
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "tokens_before": report.tokens_before,
        "tokens_after": report.tokens_after,
        "memories": len(report.memories_added),
    }


def pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3/5 days and 2,000 events")
    parser.add_argument("--events", type=int, default=None, help="events for the speed run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-json", action="store_true", help="skip the JSON speed run")
    args = parser.parse_args()
    day_counts = (3, 5) if args.quick else (5, 10, 20)
    n_events = args.events or (2_000 if args.quick else 10_000)

    with tempfile.TemporaryDirectory(prefix="smartcontext-bench-") as tmp:
        home = Path(tmp)
        rows, totals, kepts = [], Counter(), Counter()
        for days in day_counts:
            row, total, kept = information_loss(home, days, seed=days)
            rows.append(row)
            totals += total
            kepts += kept
        print("### Information kept: compaction vs truncation to the same token count\n")
        print(
            "| days | events | facts | tokens before | tokens after (share) | compaction kept "
            "(in log / via search) | truncation kept |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['days']} | {r['events']} | {r['facts']} | {r['tokens_before']:,} | "
                f"{r['tokens_after']:,} ({pct(r['tokens_after'], r['tokens_before'])}) | "
                f"{r['compaction_kept']} = {pct(r['compaction_kept'], r['facts'])} "
                f"({r['in_log']} / {r['by_search']}) | "
                f"{r['truncation_kept']} = {pct(r['truncation_kept'], r['facts'])} |"
            )
        print("\nBy category, all runs together:\n")
        print("| category | facts | kept by compaction |")
        print("|---|---:|---:|")
        for category in sorted(totals):
            print(f"| {category} | {totals[category]} | {pct(kepts[category], totals[category])} |")

        events, _ = conversation(days=n_events // 45 + 1, seed=11)
        events = events[:n_events]
        backends = ["sqlite"] if args.no_json else ["sqlite", "json"]
        print(
            f"\n### Compacting {len(events):,} events (preserve_recent=30), "
            f"median of {args.rounds}\n"
        )
        print("| backend | median | min | tokens before -> after | memories added | target |")
        print("|---|---:|---:|---:|---:|---|")
        for backend in backends:
            s = speed(home, backend, events, args.rounds)
            verdict = (
                ("met" if s["median"] <= SPEED_TARGET_S else "MISSED")
                if backend == "sqlite"
                else "(information)"
            )
            print(
                f"| {backend} | {s['median']:.3f} s | {s['min']:.3f} s | "
                f"{s['tokens_before']:,.0f} -> {s['tokens_after']:,.0f} | {s['memories']:.0f} | "
                f"<= {SPEED_TARGET_S:g} s {verdict} |"
            )


if __name__ == "__main__":
    main()
