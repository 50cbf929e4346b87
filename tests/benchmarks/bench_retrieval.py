"""Retrieval quality on BEAM-100K: plain BM25, today's search, and each search mode, in one run.

Method (the issue's): every message of a conversation is one memory (tag = its role, source
``beam:<conversation>``, ``created_at`` = its session date plus a minute per message, markers
stripped); each question with evidence is searched within its own conversation, at the end of
it (``now`` = one day after its last message). Metrics per question: recall@k (any evidence
message in the top k), all@k (every evidence message in the top k), reciprocal rank in the top
10; latency per search (p50/p95) and ingest time per memory.

Rows, all measured in this run:

* **plain BM25**: rank_bm25's BM25Okapi (k1=1.5, b=0.75) over lower-cased ``[a-z0-9]+`` words
  without stop words, one index per conversation;
* **before**: the search of ``--before-ref`` (default: the commit this work started from), run
  from a ``git archive`` of that commit in a subprocess, through its own BEAM harness;
* **lexical**: the current code, with parameters chosen by leave-one-conversation-out
  cross-validation. For each conversation the grid point with the best recall@5 (then MRR)
  on the *other* 19 is used on it; the table reports those held-out figures. The parameters
  chosen on all 20 (what the product ships) are printed, with their in-sample figure marked
  as such.
* **semantic** (the ``semantic`` extra; skipped with a note when it is not installed):
  cosine alone; **hybrid (weighted)**, the product's fusion (``semantic_search.fuse``) with
  its weight chosen by the same leave-one-conversation-out cross-validation; **hybrid
  (RRF)**, reciprocal rank fusion (k=60, equal weights), in the same run. Each uses the
  lexical parameters its conversation's fold chose. Memories are embedded through the
  product's ``VectorIndex.sync`` (the ingest column adds that time per memory); the latency
  columns time ``semantic_search.rank`` whole (query embedding included, one thread).

    python tests/benchmarks/bench_retrieval.py              # everything (~20 min, 2 cores)
    python tests/benchmarks/bench_retrieval.py --no-semantic  # lexical rows only (~5 min)
    python tests/benchmarks/bench_retrieval.py --quick      # 4 conversations, small grid
    python tests/benchmarks/bench_retrieval.py --wide       # the full parameter grid
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
for p in (ROOT, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import bench_beam_retrieval as beam  # noqa: E402

from smartcontext_cli import MemoryStore  # noqa: E402
from smartcontext_cli.models import Memory  # noqa: E402
from smartcontext_cli.ranking import RankParams  # noqa: E402
from smartcontext_cli.text import STOPWORDS  # noqa: E402

BEFORE_REF = "53916fd"  # main when issue 12 began: today's search, the "before" row
KS = (1, 5, 10)
CATEGORIES = beam.CATEGORIES


@dataclass
class Conv:
    name: str
    messages: list[beam.Message]
    questions: list[beam.Question]

    @property
    def now(self) -> datetime:
        return max(m.created_at for m in self.messages) + timedelta(days=1)


@dataclass
class Run:
    """One method's ranked message ids per question, with timings."""

    ranked: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    ingest: list[float] = field(default_factory=list)  # seconds per memory, per conversation


def load(data: Path, limit: int | None) -> list[Conv]:
    out = []
    for conv_dir in beam.conversations(data)[:limit]:
        out.append(Conv(conv_dir.name, beam.load_messages(conv_dir), beam.load_questions(conv_dir)))
    return out


# metrics -----------------------------------------------------------------------------------


def metrics(convs: Sequence[Conv], run: Run, category: str | None = None) -> dict[str, float]:
    rows = []
    for c in convs:
        for i, q in enumerate(c.questions):
            if category and q.category != category:
                continue
            rows.append((run.ranked[c.name, i], q.evidence))
    n = len(rows) or 1
    out: dict[str, float] = {"n": float(len(rows))}
    for k in KS:
        out[f"r@{k}"] = sum(not set(r[:k]).isdisjoint(e) for r, e in rows) / n
    for k in (5, 10):
        out[f"all@{k}"] = sum(e <= set(r[:k]) for r, e in rows) / n
    mrr = 0.0
    for r, e in rows:
        mrr += next((1.0 / (i + 1) for i, x in enumerate(r[:10]) if x in e), 0.0)
    out["mrr"] = mrr / n
    return out


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def quantile_ms(samples: list[float], q: float) -> str:
    if not samples:
        return "-"
    ordered = sorted(samples)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


# plain BM25 --------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def simple_tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def run_plain_bm25(convs: Sequence[Conv]) -> Run:
    from rank_bm25 import BM25Okapi

    run = Run()
    for c in convs:
        t0 = time.perf_counter()
        index = BM25Okapi([simple_tokens(m.content) for m in c.messages])
        run.ingest.append((time.perf_counter() - t0) / len(c.messages))
        ids = [m.id for m in c.messages]
        for i, q in enumerate(c.questions):
            t0 = time.perf_counter()
            scores = index.get_scores(simple_tokens(q.text))
            order = sorted(range(len(ids)), key=lambda j: -scores[j])[:10]
            run.seconds.append(time.perf_counter() - t0)
            run.ranked[c.name, i] = [ids[j] for j in order]
    return run


# before: the old code, from git ----------------------------------------------------------

_BEFORE_RUNNER = """
import json, sys, tempfile
from pathlib import Path
root, data, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(",")
sys.path[:0] = [root, root + "/tests/benchmarks"]
import bench_beam_retrieval as beam
out = {"ranked": {}, "seconds": []}
with tempfile.TemporaryDirectory() as tmp:
    for name in names:
        results = beam.run_conversation(data / "chats" / "100K" / name, "sqlite", Path(tmp))
        for i, r in enumerate(results):
            out["ranked"][f"{name}/{i}"] = r.ranked
            out["seconds"].append(r.seconds)
print(json.dumps(out))
"""


def run_before(convs: Sequence[Conv], data: Path, ref: str) -> Run:
    with tempfile.TemporaryDirectory(prefix="before-") as tmp:
        archive = Path(tmp) / "src.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(tmp) / "src", filter="data")
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
        proc = subprocess.run(
            [sys.executable, "-c", _BEFORE_RUNNER, str(Path(tmp) / "src"), str(data),
             ",".join(c.name for c in convs)],
            capture_output=True, text=True, env=env, check=False, cwd=tmp,
        )  # fmt: skip
        if proc.returncode:
            sys.exit(f"the before run failed:\n{proc.stderr[-2000:]}")
    data_out = json.loads(proc.stdout)
    run = Run(seconds=data_out["seconds"])
    for key, ranked in data_out["ranked"].items():
        name, i = key.split("/")
        run.ranked[name, int(i)] = ranked
    return run


# the current code ----------------------------------------------------------------------------


def build(conv: Conv, home: Path, backend: str = "sqlite") -> tuple[MemoryStore, float]:
    """A fresh namespace holding the conversation; returns it and seconds per memory."""
    store = MemoryStore(namespace=f"c{conv.name}-{backend}", storage_backend=backend, base_dir=home)
    memories = []
    for m in conv.messages:
        stamp = m.created_at.isoformat(timespec="microseconds")
        memories.append(
            Memory(
                content=m.content,
                id=beam.memory_id(conv.name, m.id),
                tags=[m.role],
                kind="note",
                source=f"beam:{conv.name}",
                created_at=stamp,
                updated_at=stamp,
            )
        )
    t0 = time.perf_counter()
    store.storage.add_memories(memories)
    return store, (time.perf_counter() - t0) / len(memories)


Ranker = Callable[[MemoryStore, Conv, str, Any], list[str]]


_PREPARED: dict[tuple[str, str], Any] = {}


def lexical_ranker(store: MemoryStore, conv: Conv, query: str, params: Any) -> list[str]:
    """search.rank, with each question's candidates read once for the whole grid."""
    from smartcontext_cli.search import prepare

    key = (conv.name, query)
    if key not in _PREPARED:
        _PREPARED[key] = prepare(store.storage, query, 10, now=conv.now)
    return [h.memory.id for h in _PREPARED[key].rank(params)]


def timed_lexical(store: MemoryStore, conv: Conv, query: str, params: Any) -> list[str]:
    """The whole search, store reads included: what the latency columns time."""
    from smartcontext_cli.search import rank

    return [h.memory.id for h in rank(store.storage, query, 10, now=conv.now, params=params)]


# semantic and hybrid ---------------------------------------------------------------------

_SEM: dict[str, Any] = {}  # "model", "indexes" (conversation -> VectorIndex), "lexical" params
_GATHERED: dict[tuple[str, str, str], Any] = {}
_QVEC: dict[str, Any] = {}


def semantic_available() -> str | None:
    """None when the semantic extra and its model are installed, else why not."""
    from smartcontext_cli.embedding import SemanticUnavailableError, locate_model

    try:
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401

        locate_model(Path(tempfile.gettempdir()) / "no-such-home")
    except (ImportError, SemanticUnavailableError) as exc:
        return str(exc)
    return None


def embed_all(convs: Sequence[Conv], stores: dict[str, MemoryStore], home: Path) -> list[float]:
    """Each conversation's vectors through the product's sync; seconds per memory."""
    from smartcontext_cli.embedding import load_model
    from smartcontext_cli.vectors import VectorIndex

    model = load_model(home)
    _SEM["model"], _SEM["indexes"] = model, {}
    per = []
    t_all = time.perf_counter()
    for n, c in enumerate(convs):
        index = VectorIndex(stores[c.name].directory, model)
        t0 = time.perf_counter()
        index.sync(stores[c.name].storage)
        per.append((time.perf_counter() - t0) / len(c.messages))
        _SEM["indexes"][c.name] = index
        print(f"  embedding: {n + 1}/{len(convs)} ({time.perf_counter() - t_all:.0f} s)",
              file=sys.stderr, end="\r", flush=True)  # fmt: skip
    print(file=sys.stderr)
    return per


def _qvec(query: str) -> Any:
    if query not in _QVEC:
        _QVEC[query] = _SEM["model"].embed([query])[0]
    return _QVEC[query]


def semantic_ranker(store: MemoryStore, conv: Conv, query: str, params: Any) -> list[str]:
    """``semantic_search.combine`` over each question's candidates, read once per mode."""
    from smartcontext_cli.semantic_search import combine, gather

    mode, method, weight = params
    key = (conv.name, query, mode)
    if key not in _GATHERED:
        _GATHERED[key] = gather(store.storage, _SEM["indexes"][conv.name], _SEM["model"], query,
                                10, now=conv.now, mode=mode, params=_SEM["lexical"][conv.name],
                                vector=_qvec(query))  # fmt: skip
    return [h.memory.id for h in combine(_GATHERED[key], weight, method)]


def timed_semantic(store: MemoryStore, conv: Conv, query: str, params: Any) -> list[str]:
    """The whole semantic search (sync check, query embedding, scan, fusion), timed."""
    from smartcontext_cli.semantic_search import rank

    mode, method, weight = params
    hits = rank(store.storage, _SEM["indexes"][conv.name], _SEM["model"], query, 10,
                now=conv.now, mode=mode, params=_SEM["lexical"][conv.name], weight=weight,
                method=method)  # fmt: skip
    return [h.memory.id for h in hits]


WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def semantic_rows(
    convs: Sequence[Conv],
    stores: dict[str, MemoryStore],
    ingest: list[float],
    embed_ingest: list[float],
    runs: dict[str, Run],
    rows: list[list[Any]],
    notes: list[str],
) -> None:
    both = [a + b for a, b in zip(ingest, embed_ingest, strict=True)]

    def timed_row(label: str, params: Any, held: Run | None = None, note: str = "") -> None:
        timed = evaluate(convs, stores, timed_semantic, params, timed=True)
        run = held or timed
        run.seconds, run.ingest = timed.seconds, both
        runs[label] = run
        rows.append(method_row(label, convs, run, note))

    timed_row("semantic alone", ("semantic", "cosine", 1.0), note="cosine, no parameters")
    grid = [("hybrid", "weighted", w) for w in WEIGHTS]
    held, best, chosen, insample = cross_validate(convs, stores, semantic_ranker, grid, "hybrid")
    timed_row("hybrid (weighted)", best, held, "held out, LOCO-CV")
    counts: dict[float, int] = {}
    for p in chosen.values():
        counts[p[2]] = counts.get(p[2], 0) + 1
    notes.append(
        f"hybrid (weighted): all-data choice weight={best[2]} (in-sample R@5 "
        f"{pct(insample['r@5'])}); folds chose "
        + "; ".join(f"weight={k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    )
    timed_row("hybrid (RRF)", ("hybrid", "rrf", 0.0), note="k=60, equal weights")


def evaluate(
    convs: Sequence[Conv],
    stores: dict[str, MemoryStore],
    ranker: Ranker,
    params: Any,
    timed: bool = False,
) -> Run:
    run = Run()
    for c in convs:
        to_msg = {beam.memory_id(c.name, m.id): m.id for m in c.messages}
        for i, q in enumerate(c.questions):
            t0 = time.perf_counter()
            ids = ranker(stores[c.name], c, q.text, params)
            if timed:
                run.seconds.append(time.perf_counter() - t0)
            run.ranked[c.name, i] = [to_msg[x] for x in ids]
    return run


def objective(convs: Sequence[Conv], run: Run) -> tuple[float, float]:
    m = metrics(convs, run)
    return m["r@5"], m["mrr"]


def cross_validate(
    convs: Sequence[Conv],
    stores: dict[str, MemoryStore],
    ranker: Ranker,
    grid: Sequence[Any],
    label: str,
) -> tuple[Run, Any, dict[str, Any], dict[str, float]]:
    """Leave-one-conversation-out: the held-out run, the all-data choice, each fold's choice,
    and the in-sample metrics of the all-data choice."""
    runs = []
    t0 = time.perf_counter()
    for n, params in enumerate(grid):
        runs.append(evaluate(convs, stores, ranker, params))
        print(f"  {label}: grid {n + 1}/{len(grid)} ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, end="\r", flush=True)  # fmt: skip
    print(file=sys.stderr)
    held = Run()
    chosen: dict[str, Any] = {}
    for c in convs:
        others = [o for o in convs if o.name != c.name]
        best = max(range(len(grid)), key=lambda j: objective(others, runs[j]))
        chosen[c.name] = grid[best]
        for i in range(len(c.questions)):
            held.ranked[c.name, i] = runs[best].ranked[c.name, i]
    overall = max(range(len(grid)), key=lambda j: objective(convs, runs[j]))
    return held, grid[overall], chosen, metrics(convs, runs[overall])


def lexical_grid(quick: bool, wide: bool = False) -> list[RankParams]:
    if wide:
        space = {"k1": [1.2, 1.6], "b": [0.3, 0.5, 0.75, 1.0], "smooth": [0.0, 0.1, 0.2, 0.4],
                 "speaker": [0.0, 0.5, 1.0]}  # fmt: skip
        pairs = [(0.0, 0.0), (0.25, 0.1), (0.5, 0.25)]
    elif quick:
        space = {"k1": [1.2], "b": [0.3, 1.0], "smooth": [0.0, 0.2], "speaker": [0.0, 0.5]}
        pairs = [(0.0, 0.0), (0.5, 0.25)]
    else:
        # Why this small: each grid point re-ranks 355 questions on a shared 2-core machine;
        # wider grids (k1 1.6, b 0.3 and 0.5, neighbour words 0.25/0.1 and 0.5/0.25, smoothing
        # 0.1-0.4) were explored on 6 conversations and lost; --wide runs them all.
        space = {"k1": [1.2], "b": [0.75, 1.0], "smooth": [0.0, 0.2],
                 "speaker": [0.0, 0.5, 1.0]}  # fmt: skip
        pairs = [(0.0, 0.0)]
    keys = list(space)
    return [
        RankParams(**dict(zip(keys, vals, strict=True)), prev=prev, next=nxt)
        for vals in itertools.product(*space.values())
        for prev, nxt in pairs
    ]


def describe(params: Any) -> str:
    if isinstance(params, RankParams):
        return (
            f"k1={params.k1} b={params.b} prev={params.prev} next={params.next} "
            f"smooth={params.smooth} speaker={params.speaker}"
        )
    return str(params)


# report ------------------------------------------------------------------------------------


def method_row(label: str, convs: Sequence[Conv], run: Run, note: str = "") -> list[Any]:
    m = metrics(convs, run)
    ingest = f"{statistics.mean(run.ingest) * 1000:.3f}" if run.ingest else "-"
    return [
        label + (f" ({note})" if note else ""),
        int(m["n"]),
        *(pct(m[f"r@{k}"]) for k in KS),
        pct(m["all@5"]),
        pct(m["all@10"]),
        f"{m['mrr']:.3f}",
        quantile_ms(run.seconds, 0.5),
        quantile_ms(run.seconds, 0.95),
        ingest,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 conversations, a small grid")
    parser.add_argument("--data", type=Path, default=beam.DEFAULT_DATA)
    parser.add_argument("--before-ref", default=BEFORE_REF, help="git ref of 'today's search'")
    parser.add_argument("--no-before", action="store_true", help="skip the before row")
    parser.add_argument("--wide", action="store_true", help="the full parameter grid (hours)")
    parser.add_argument("--no-semantic", action="store_true", help="skip the semantic rows")
    args = parser.parse_args()
    if not (args.data / "chats" / "100K").is_dir():
        sys.exit(f"BEAM-100K not found under {args.data} (give --data or set BEAM_100K_DIR)")
    convs = load(args.data, 4 if args.quick else None)
    n_msgs = sum(len(c.messages) for c in convs)
    n_q = sum(len(c.questions) for c in convs)
    t_start = time.perf_counter()
    rows = []
    runs: dict[str, Run] = {}

    runs["plain BM25"] = run_plain_bm25(convs)
    rows.append(method_row("plain BM25 (rank_bm25)", convs, runs["plain BM25"]))
    if not args.no_before:
        runs["before"] = run_before(convs, args.data, args.before_ref)
        rows.append(method_row(f"before: search at {args.before_ref}", convs, runs["before"]))

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        stores: dict[str, MemoryStore] = {}
        ingest: list[float] = []
        for c in convs:
            stores[c.name], per = build(c, Path(tmp))
            ingest.append(per)
        try:
            grid = lexical_grid(args.quick, args.wide)
            held, best, chosen, _insample = cross_validate(convs, stores, lexical_ranker, grid,
                                                          "lexical")  # fmt: skip
            timed = evaluate(convs, stores, timed_lexical, best, timed=True)
            held.seconds, held.ingest = timed.seconds, ingest
            runs["lexical"] = held
            rows.append(method_row("lexical", convs, held, "held out, LOCO-CV"))
            runs["lexical (in-sample)"] = timed
            timed.ingest = ingest
            rows.append(method_row("lexical, all-data choice", convs, timed, "IN-SAMPLE"))
            counts: dict[str, int] = {}
            for p in chosen.values():
                counts[describe(p)] = counts.get(describe(p), 0) + 1
            notes.append(
                f"lexical: all-data choice {describe(best)}; folds chose "
                + "; ".join(f"{k} x{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
            )
            missing = "--no-semantic given" if args.no_semantic else semantic_available()
            if missing:
                notes.append(f"semantic rows skipped: {missing}")
            else:
                _SEM["lexical"] = chosen
                embed_ingest = embed_all(convs, stores, Path(tmp))
                semantic_rows(convs, stores, ingest, embed_ingest, runs, rows, notes)
        finally:
            for index in _SEM.get("indexes", {}).values():
                index.close()
            for s in stores.values():
                s.close()

    elapsed = time.perf_counter() - t_start
    print(
        f"\nBEAM-100K: {len(convs)} conversations, {n_msgs:,} messages (one memory each), "
        f"{n_q} questions with evidence, each searched in its own conversation "
        f"({elapsed:.0f} s for the whole run; {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f})\n"
    )
    headers = ["method", "questions", "R@1", "R@5", "R@10", "all@5", "all@10", "MRR@10",
               "p50 ms", "p95 ms", "ingest ms/memory"]  # fmt: skip
    print(table(headers, rows))
    for note in notes:
        print(f"\n{note}")

    print("\nRecall@5 by question category\n")
    names = list(runs)
    cat_rows = []
    for cat in CATEGORIES:
        n = int(metrics(convs, runs[names[0]], cat)["n"])
        if n:
            cat_rows.append([cat, n, *(pct(metrics(convs, runs[k], cat)["r@5"]) for k in names)])
    print(table(["category", "questions", *names], cat_rows))
    base = metrics(convs, runs["before"])["r@5"] if "before" in runs else None
    if base is not None:
        lex = metrics(convs, runs["lexical"])["r@5"]
        print(f"\nlexical (held out) - before: {100 * (lex - base):+.1f} points of recall@5 "
              "(target: +7.0)")  # fmt: skip
    if "hybrid (weighted)" in runs:
        lex = metrics(convs, runs["lexical"])["r@5"]
        for name in ("semantic alone", "hybrid (weighted)", "hybrid (RRF)"):
            sem = metrics(convs, runs[name])["r@5"]
            print(f"{name} - lexical (both held out): {100 * (sem - lex):+.1f} points of "
                  "recall@5 (target for the semantic mode: +5.0)")  # fmt: skip


if __name__ == "__main__":
    main()
