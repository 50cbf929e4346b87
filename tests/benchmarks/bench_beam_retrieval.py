"""Retrieval quality of ``MemoryStore.search`` on BEAM-100K, a public long-term-memory benchmark.

Why real data: the other benchmarks time search on a synthetic corpus; they cannot say whether
the right memory comes first. BEAM-100K (Tavakoli et al., arXiv:2510.27246, CC BY-SA 4.0) has
20 long user-assistant conversations and, for most probing questions, the ids of the messages
that hold the answer (``source_chat_ids``): question -> messages is a retrieval test.

Method, per conversation: a fresh SQLite namespace in a temporary home; every message is one
memory (tag = its role, kind ``note``, source ``beam:<conv>:<id>``), the ``->-> b,t`` position
markers stripped so they cannot be matched; ``created_at`` follows the session dates, shifted
so the conversation ends at the time of the run (the questions are asked at its end, so the
recency prior sees the ages a user would). Each question with evidence runs
``store.search(question, limit=10)``; the top 1 and 5 are that list's prefixes (search ranks a
pool of 40 candidates for any limit up to 10, so ``limit=k`` returns the same k).

Metrics: recall@k, the share of questions with at least one evidence message in the top k;
full-recall@10, the mean share of a question's evidence ids in the top 10; the median
milliseconds per search. For context, two baselines: the k most recent messages, and k random
messages (the exact expectation, not a sample). The JSON backend runs on two conversations to
show it ranks like SQLite.

    python tests/benchmarks/bench_beam_retrieval.py            # all 20 conversations
    python tests/benchmarks/bench_beam_retrieval.py --quick    # 3 conversations
    python tests/benchmarks/bench_beam_retrieval.py --data /path/to/beam-100k
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the checkout's package
    sys.path.insert(0, str(ROOT))

from smartcontext_cli import MemoryStore  # noqa: E402
from smartcontext_cli.models import Memory  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("BEAM_100K_DIR", "/work/shared/datasets/beam-100k"))
KS = (1, 5, 10)
# The dataset's README: strip the "batch,turn" marker ending most user messages.
_MARKER = re.compile(r"\s*->->\s*\d+,\d+\s*$")
# Categories in the order of the dataset's README; "abstention" has no evidence by design.
CATEGORIES = (
    "information_extraction",
    "multi_session_reasoning",
    "knowledge_update",
    "temporal_reasoning",
    "event_ordering",
    "contradiction_resolution",
    "instruction_following",
    "preference_following",
    "summarization",
)


@dataclass(frozen=True)
class Message:
    id: int
    role: str
    content: str
    created_at: datetime


@dataclass(frozen=True)
class Question:
    conv: str
    category: str
    text: str
    evidence: frozenset[int]


@dataclass
class Result:
    """One question's outcome: the ranked message ids and the seconds the search took."""

    question: Question
    ranked: list[int]
    seconds: float = 0.0
    roles: list[str] = field(default_factory=list)


# loading -----------------------------------------------------------------------------------


def strip_marker(content: str) -> str:
    return _MARKER.sub("", content).strip()


def conversation_file(conv_dir: Path) -> Path:
    """Upstream answers from ``chat_trunecated.json`` (sic) when it exists, so do we."""
    truncated = conv_dir / "chat_trunecated.json"
    return truncated if truncated.exists() else conv_dir / "chat.json"


def load_messages(conv_dir: Path) -> list[Message]:
    """Every message in id order; each session starts at its date, a minute per message.

    Why a minute per message: only the first message of a session carries a date, and the
    order inside a session must survive as strictly increasing ``created_at``.
    """
    batches = json.loads(conversation_file(conv_dir).read_text(encoding="utf-8"))
    out: list[Message] = []
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for batch in batches:
        flat = [m for turn in batch["turns"] for m in turn]
        anchor = next((m["time_anchor"] for m in flat if m.get("time_anchor")), None)
        if anchor:
            day = datetime.strptime(anchor, "%B-%d-%Y").replace(tzinfo=timezone.utc)
            # A session never starts before the previous one ended.
            start = max(day, out[-1].created_at + timedelta(minutes=1)) if out else day
        for i, m in enumerate(flat):
            stamp = start + timedelta(minutes=i)
            out.append(Message(int(m["id"]), m["role"], strip_marker(m["content"]), stamp))
        if out:
            start = out[-1].created_at + timedelta(days=1)
    out.sort(key=lambda m: m.id)
    return out


def evidence_ids(source: Any) -> frozenset[int]:
    """Every id in ``source_chat_ids``: a list of ids, a dict of lists (original/updated info),
    and in three event_ordering questions lists nested in the list (one group per event)."""
    if isinstance(source, dict):
        return frozenset().union(*map(evidence_ids, source.values()))
    if isinstance(source, list):
        return frozenset().union(*map(evidence_ids, source))
    return frozenset() if source is None else frozenset([int(source)])


def load_questions(conv_dir: Path) -> list[Question]:
    """The probing questions that have evidence (abstention and a few others have none)."""
    path = conv_dir / "probing_questions" / "probing_questions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for category, items in data.items():
        for item in items:
            evidence = evidence_ids(item.get("source_chat_ids"))
            if evidence:
                out.append(Question(conv_dir.name, category, item["question"], evidence))
    return out


def conversations(data: Path) -> list[Path]:
    root = data / "chats" / "100K"
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: int(p.name))


# running -----------------------------------------------------------------------------------


def memory_id(conv: str, msg_id: int) -> str:
    """Stable ids, so equal scores break the same way on every run and backend."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"beam:{conv}:{msg_id}").hex


def build_store(
    conv: str, messages: Sequence[Message], backend: str, home: Path
) -> tuple[MemoryStore, dict[str, int]]:
    """A fresh namespace holding the conversation; returns it and memory id -> message id."""
    shift = datetime.now(timezone.utc) - max(m.created_at for m in messages)
    store = MemoryStore(namespace=f"beam-{conv}-{backend}", storage_backend=backend, base_dir=home)
    memories = []
    for m in messages:
        stamp = (m.created_at + shift).isoformat(timespec="microseconds")
        memories.append(
            Memory(
                content=m.content,
                id=memory_id(conv, m.id),
                tags=[m.role],
                kind="note",
                source=f"beam:{conv}:{m.id}",
                created_at=stamp,
                updated_at=stamp,
            )
        )
    store.storage.add_memories(memories)
    return store, {memory_id(conv, m.id): m.id for m in messages}


def run_conversation(conv_dir: Path, backend: str, home: Path, k: int = 10) -> list[Result]:
    messages = load_messages(conv_dir)
    roles = {m.id: m.role for m in messages}
    store, to_msg = build_store(conv_dir.name, messages, backend, home)
    try:
        results = []
        for q in load_questions(conv_dir):
            t0 = time.perf_counter()
            hits = store.search(q.text, limit=k)
            dt = time.perf_counter() - t0
            ranked = [to_msg[h.id] for h in hits]
            results.append(Result(q, ranked, dt, [roles[i] for i in ranked]))
        return results
    finally:
        store.close()


def recent_baseline(conv_dir: Path, k: int = 10) -> list[Result]:
    """The k most recent messages, whatever the question: what a plain chat window holds."""
    ids = [m.id for m in load_messages(conv_dir)][::-1][:k]
    return [Result(q, ids) for q in load_questions(conv_dir)]


# scoring -----------------------------------------------------------------------------------


def hit_at(ranked: Sequence[int], evidence: Iterable[int], k: int) -> bool:
    return not set(ranked[:k]).isdisjoint(evidence)


def full_recall(ranked: Sequence[int], evidence: frozenset[int], k: int = 10) -> float:
    return len(evidence.intersection(ranked[:k])) / len(evidence)


def random_hit(n: int, e: int, k: int) -> float:
    """Chance that k of n messages drawn at random include at least one of e evidence ones."""
    return 1.0 - math.comb(n - e, k) / math.comb(n, k) if k < n else 1.0


def summarise(results: Sequence[Result]) -> dict[str, float]:
    n = len(results)
    out = {f"r@{k}": sum(hit_at(r.ranked, r.question.evidence, k) for r in results) / n for k in KS}
    out["full@10"] = sum(full_recall(r.ranked, r.question.evidence) for r in results) / n
    timed = [r.seconds for r in results if r.seconds]
    out["ms"] = statistics.median(timed) * 1000.0 if timed else math.nan
    return out


def random_summary(pairs: Sequence[tuple[int, Question]]) -> dict[str, float]:
    """The expected metrics of k random messages; ``pairs`` are (conversation size, question)."""
    n = len(pairs)
    out = {f"r@{k}": sum(random_hit(s, len(q.evidence), k) for s, q in pairs) / n for k in KS}
    out["full@10"] = sum(min(1.0, 10 / s) for s, _ in pairs) / n
    out["ms"] = math.nan
    return out


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def metric_row(label: str, n: int, s: dict[str, float], ms: bool = True) -> list[Any]:
    row = [label, n, *(_pct(s[f"r@{k}"]) for k in KS), _pct(s["full@10"])]
    if ms:
        row.append("-" if math.isnan(s["ms"]) else f"{s['ms']:.2f}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 conversations")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the beam-100k folder")
    args = parser.parse_args()
    if not (args.data / "chats" / "100K").is_dir():
        sys.exit(f"BEAM-100K not found under {args.data} (give --data or set BEAM_100K_DIR)")
    convs = conversations(args.data)[: 3 if args.quick else None]
    parity = convs[:2]

    t_start = time.perf_counter()
    found: list[Result] = []
    recent: list[Result] = []
    sizes: list[tuple[int, Question]] = []
    by_backend: dict[str, list[Result]] = {"sqlite": [], "json": []}
    roles: dict[tuple[str, int], str] = {}
    with tempfile.TemporaryDirectory(prefix="beam-bench-") as tmp:
        for conv_dir in convs:
            messages = load_messages(conv_dir)
            roles.update({(conv_dir.name, m.id): m.role for m in messages})
            got = run_conversation(conv_dir, "sqlite", Path(tmp))
            found += got
            recent += recent_baseline(conv_dir)
            sizes += [(len(messages), r.question) for r in got]
            if conv_dir in parity:
                by_backend["sqlite"] += got
                by_backend["json"] += run_conversation(conv_dir, "json", Path(tmp))
            print(f"  conversation {conv_dir.name}: {len(got)} questions", file=sys.stderr)
    elapsed = time.perf_counter() - t_start

    print(
        f"\nBEAM-100K retrieval: {len(convs)} conversations, {len(roles):,} messages, "
        f"{len(found)} questions with evidence; MemoryStore.search on SQLite "
        f"({elapsed:.0f} s for the whole run)\n"
    )
    headers = ["questions", "recall@1", "recall@5", "recall@10", "full-recall@10"]
    print(
        table(
            ["method", *headers, "median ms"],
            [
                metric_row("smartcontext search", len(found), summarise(found)),
                metric_row("10 most recent messages", len(recent), summarise(recent)),
                metric_row("10 random messages (expected)", len(sizes), random_summary(sizes)),
            ],
        )
    )

    print("\nBy question category (smartcontext search, SQLite)\n")
    rows = []
    for cat in CATEGORIES:
        sub = [r for r in found if r.question.category == cat]
        if sub:
            rows.append(metric_row(cat, len(sub), summarise(sub), ms=False))
    fact = [r for r in found if r.question.category in CATEGORIES[:6]]
    rows.append(metric_row("**the six fact categories**", len(fact), summarise(fact), ms=False))
    rows.append(metric_row("**all**", len(found), summarise(found), ms=False))
    print(table(["category", *headers], rows))

    pairs = zip(by_backend["sqlite"], by_backend["json"], strict=True)
    same = sum(a.ranked == b.ranked for a, b in pairs)
    print(
        f"\nBackends, conversations {' and '.join(c.name for c in parity)}: the same top 10, "
        f"in the same order, for {same} of {len(by_backend['json'])} questions\n"
    )
    rows = [metric_row(name, len(rs), summarise(rs)) for name, rs in by_backend.items()]
    print(table(["backend", *headers, "median ms"], rows))

    # Why: assistant replies are ~15x longer than user turns and restate the user's words, so
    # they are where a length-sensitive ranking goes wrong; the evidence is mostly user turns.
    top = [role for r in found for role in r.roles]
    evidence = [roles[r.question.conv, i] for r in found for i in r.question.evidence]
    print(
        f"\nAssistant messages are {_pct(top.count('assistant') / len(top))} of the top-10 "
        f"results, {_pct(evidence.count('assistant') / len(evidence))} of the evidence, and "
        "50.0% of all messages."
    )


if __name__ == "__main__":
    main()
