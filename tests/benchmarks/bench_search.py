"""In-process ``MemoryStore.search`` latency on large SQLite stores.

Targets (issue 2): median at most 5 ms at 100,000 memories and 30 ms at 1,000,000, over a mix of
realistic queries (``_corpus.queries``: single words, 2-5 word phrases, typos that take the
fuzzy path, queries that match nothing or are pure punctuation). Issue 12 adds p95 at most
20 ms at 100,000 and a second store where every memory ends in "note N", searched for words
that occur in every memory ("note 4711", "note", "note release"): ``--common``.

Stores are built once under ``--dir`` (default ``$TMPDIR/smartcontext-bench``) and reused with
``--reuse``; the 1M store takes a few minutes to build. Each query runs once to warm the page
cache, then ``--rounds`` times in interleaved order; we report medians, p90 and p95.

In the same run, the code before this work (``--baseline REV``, default ``_baseline.BASELINE``;
``none`` to skip) is measured on stores it builds itself under ``--dir/before-REV`` (the stored
terms differ), and ``python -c "import sqlite3, json"`` is timed for scale: this machine is
shared, so only ratios measured together mean much; CPU time (``time.process_time``) is shown
beside the wall clock, as a loaded machine mostly measures waiting (the verdicts use the wall
clock).

    python tests/benchmarks/bench_search.py              # 100,000 and 1,000,000 memories
    python tests/benchmarks/bench_search.py --quick      # 10,000 memories, 3 rounds
    python tests/benchmarks/bench_search.py --reuse --sizes 100000
    python tests/benchmarks/bench_search.py --reuse --sizes 100000 --semantic

``--semantic`` (issue 12, the semantic extra) times the three retrieval modes in one run on the
same two stores, interleaved query by query (with ``--baseline``, the before code first, on the
same stores and vectors): lexical, semantic and hybrid ``MemoryStore.search``
with the model loaded (query embedding included, one thread). The stored vectors are random
unit vectors recorded as in sync (embedding 100,000 memories with the real model takes hours
on this machine; a scan's cost does not depend on the values); the query vector is real.
"""

from __future__ import annotations

import argparse
import json
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

TARGETS_MS = {100_000: 5.0, 1_000_000: 30.0}


def measure(home: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds per query, by query category, plus "all"."""
    queries = _corpus.queries()
    store = MemoryStore(namespace="bench", storage_backend="sqlite", base_dir=home)
    try:
        hits = {q: len(store.search(q, limit=5)) for _, q in queries}  # warm-up
        found = [q for cat, q in queries if cat != "none" and not hits[q]]
        if found:
            print(f"  note: no results for {found}", file=sys.stderr)
        samples: dict[str, list[float]] = {"all": []}
        for _ in range(rounds):
            for category, query in queries:
                c0, t0 = time.process_time(), time.perf_counter()
                store.search(query, limit=5)
                dt = time.perf_counter() - t0
                samples.setdefault("cpu", []).append(time.process_time() - c0)
                samples["all"].append(dt)
                samples.setdefault(category, []).append(dt)
        return samples
    finally:
        store.close()


def p90_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1] * 1000.0


def p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000.0


COMMON_QUERIES = ["note 4711", "note", "note release", "note 99999 deploy", "what note said 17"]


def common_store(root: Path, n: int, reuse: bool) -> Path:
    """A store of ``n`` corpus memories, each ending in "note <i>": a word in every memory."""
    from smartcontext_cli.storage import open_storage

    home = root / f"common-{n}"
    marker = home / "complete"
    if reuse and marker.exists():
        return home
    if home.exists():
        import shutil

        shutil.rmtree(home)
    home.mkdir(parents=True)
    storage = open_storage(home, "bench", "sqlite")
    try:
        i = 0
        for batch in _corpus.batches(n):
            for m in batch:
                m.content = f"{m.content} note {i}"
                i += 1
            storage.add_memories(batch)
    finally:
        storage.close()
    marker.write_text("ok\n")
    return home


def measure_common(home: Path, rounds: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds per search; ``cpu`` receives the CPU seconds of each."""
    store = MemoryStore(namespace="bench", storage_backend="sqlite", base_dir=home)
    try:
        for q in COMMON_QUERIES:
            store.search(q, limit=5)
        samples = []
        for _ in range(rounds):
            for q in COMMON_QUERIES:
                c0, t0 = time.process_time(), time.perf_counter()
                store.search(q, limit=5)
                samples.append(time.perf_counter() - t0)
                if cpu is not None:
                    cpu.append(time.process_time() - c0)
        return samples
    finally:
        store.close()


def floor_ms(rounds: int = 7) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sqlite3, json"], check=True)
        samples.append(time.perf_counter() - t0)
    return _corpus.median_ms(samples)


def measure_all(root: Path, sizes: list[int], rounds: int, reuse: bool, common_only: bool) -> Any:
    """Every measurement of one checkout: samples (seconds) by size and category."""
    out: dict[str, Any] = {"floor_ms": floor_ms(), "sizes": {}}
    for n in sizes:
        entry: dict[str, Any] = {}
        if not common_only:
            entry["queries"] = measure(_corpus.cached_sqlite(root, n, reuse=reuse), rounds)
        entry["common_cpu"] = []
        entry["common"] = measure_common(common_store(root, n, reuse), rounds, entry["common_cpu"])
        out["sizes"][str(n)] = entry
    return out


def report(runs: list[tuple[str, Any]], sizes: list[int], rounds: int) -> None:
    categories = ["word", "phrase", "typo", "none"]
    n_queries = len(_corpus.queries())
    print(
        f"\nIn-process MemoryStore.search (SQLite, limit 5), {n_queries} queries x {rounds} "
        "rounds; milliseconds\n"
    )
    headers = ["code", "memories", "median", "p90", "p95", "CPU median", "CPU p95"]
    headers += [f"{c} median" for c in categories]
    rows = []
    for label, data in runs:
        for n in sizes:
            samples = data["sizes"][str(n)].get("queries")
            if samples is None:
                continue
            median = _corpus.median_ms(samples["all"])
            target = TARGETS_MS.get(n)
            verdict = "n/a" if target is None else ("ok" if median <= target else "OVER")
            rows.append(
                [label, f"{n:,}", f"**{median:.2f}**"]
                + [f"{p90_ms(samples['all']):.2f}", f"{p95_ms(samples['all']):.2f}"]
                + _cpu_cells(samples.get("cpu"))
                + [f"{_corpus.median_ms(samples[c]):.2f}" for c in categories]
                + ["-" if target is None else f"{target:.0f}", verdict]
            )
    if rows:
        print(_corpus.table([*headers, "target", "verdict"], rows))
    common_rows = []
    for label, data in runs:
        for n in sizes:
            samples = data["sizes"][str(n)]["common"]
            p50, p95 = _corpus.median_ms(samples), p95_ms(samples)
            ok = n != 100_000 or (p50 <= 5.0 and p95 <= 20.0)
            cpu = _cpu_cells(data["sizes"][str(n)].get("common_cpu"))
            common_rows.append(
                [label, f"{n:,}", f"**{p50:.2f}**", f"{p95:.2f}", *cpu, "ok" if ok else "OVER"]
            )
    print(f"\nWords in every memory (each ends in 'note N'): {COMMON_QUERIES}, x {rounds}\n")
    headers = ["code", "memories", "median", "p95", "CPU median", "CPU p95"]
    headers += ["verdict (100k: p50<=5, p95<=20)"]
    print(_corpus.table(headers, common_rows))
    floors = ", ".join(f"{label}: {data['floor_ms']:.1f} ms" for label, data in runs)
    print(f'\n`python -c "import sqlite3, json"` (median of 7) during each run: {floors}')
    if len(runs) == 2:
        (old_label, old), (new_label, new) = runs
        print(f"\nRatios {new_label} / {old_label} (below 1: faster)\n")
        ratio_rows = []
        for n in sizes:
            o, w = old["sizes"][str(n)], new["sizes"][str(n)]
            cells = [f"{n:,}"]
            if "queries" in o and "queries" in w:
                for pick in (_corpus.median_ms, p95_ms):
                    cells.append(f"{pick(w['queries']['all']) / pick(o['queries']['all']):.2f}")
            else:
                cells += ["-", "-"]
            for pick in (_corpus.median_ms, p95_ms):
                cells.append(f"{pick(w['common']) / pick(o['common']):.2f}")
            ratio_rows.append(cells)
        headers = ["memories", "median", "p95", "every-memory median", "every-memory p95"]
        print(_corpus.table(headers, ratio_rows))


def _cpu_cells(samples: list[float] | None) -> list[str]:
    """CPU milliseconds (median, p95): on a shared machine, wall time is mostly waiting."""
    if not samples:
        return ["-", "-"]
    return [f"{_corpus.median_ms(samples):.2f}", f"{p95_ms(samples):.2f}"]


def recall_queries(home: Path, n: int, seed: int = 12) -> list[tuple[str, str]]:
    """(memory id, query): 1-4 content words of a random memory, as someone recalling it."""
    import random

    from smartcontext_cli.storage import open_storage
    from smartcontext_cli.text import QUERY_STOPWORDS, split_words

    rng = random.Random(seed)
    storage = open_storage(home, "bench", "sqlite")
    try:
        total = storage.count_memories()
        out = []
        while len(out) < n:
            page = storage.list_memories(limit=1, offset=rng.randrange(total))
            words = [w for w in split_words(page[0].content) if w not in QUERY_STOPWORDS]
            words = [w for w in dict.fromkeys(words) if w.isalpha() and len(w) > 2]
            if words:
                picked = rng.sample(words, min(len(words), rng.choice([1, 2, 2, 3, 3, 4])))
                out.append((page[0].id, " ".join(picked)))
        return out
    finally:
        storage.close()


def pool_recall(home: Path, n: int) -> None:
    """How often search's bounded candidate reads (storage/sqlite_pool.py) change its results.

    Each query is searched twice on the same store: as shipped, and with every candidate read
    exact (``EXACT_POSTINGS`` past any store's size). Reported: the share of the exact top 5
    that the shipped search also returns, the share of queries whose source memory is in each
    top 5, and CPU milliseconds per search of each.
    """
    from smartcontext_cli.storage import sqlite_pool

    queries = recall_queries(home, n)
    store = MemoryStore(namespace="bench", storage_backend="sqlite", base_dir=home)
    shipped = sqlite_pool.EXACT_POSTINGS
    try:
        results: dict[str, list[list[str]]] = {"bounded": [], "exact": []}
        cpu: dict[str, float] = {"bounded": 0.0, "exact": 0.0}
        for _, q in queries:
            for label, cap in (("bounded", shipped), ("exact", 10**12)):
                sqlite_pool.EXACT_POSTINGS = cap
                t0 = time.process_time()
                ids = [m.id for m in store.search(q, limit=5)]
                cpu[label] += time.process_time() - t0
                results[label].append(ids)
    finally:
        sqlite_pool.EXACT_POSTINGS = shipped
        store.close()
    kept = sum(
        len(set(b) & set(e)) for b, e in zip(results["bounded"], results["exact"], strict=True)
    )
    total = sum(len(e) for e in results["exact"]) or 1
    found = {
        k: sum(mid in ids for (mid, _), ids in zip(queries, v, strict=True))
        for k, v in results.items()
    }
    print(f"\nBounded candidate reads vs exact ones: {len(queries)} queries of 1-4 words taken "
          "from random memories (seed 12)\n")  # fmt: skip
    rows = [
        ["exact top 5 also returned", f"{100 * kept / total:.1f}%", "100%"],
        ["source memory in the top 5", f"{100 * found['bounded'] / len(queries):.1f}%",
         f"{100 * found['exact'] / len(queries):.1f}%"],
        ["CPU ms per search", f"{1000 * cpu['bounded'] / len(queries):.2f}",
         f"{1000 * cpu['exact'] / len(queries):.2f}"],
    ]  # fmt: skip
    print(_corpus.table(["", "bounded (shipped)", "exact"], rows))


MODES = ("lexical", "semantic", "hybrid")


def seed_vectors(home: Path) -> None:
    """Random unit vectors for every memory of ``home``'s bench namespace, marked in sync."""
    import numpy as np

    from smartcontext_cli.embedding import DIMENSIONS, load_model
    from smartcontext_cli.vectors import VectorIndex, store_version, text_hash

    store = MemoryStore(namespace="bench", storage_backend="sqlite", base_dir=home)
    index = VectorIndex(store.directory, load_model(home))
    try:
        n = store.storage.count_memories()
        if index.count() == n and index.sync(store.storage)["checked"] == 0:
            return
        rng = np.random.default_rng(12)
        db = index._conn()
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM vectors")
        batch = []
        for m in store.storage.iter_memories():
            v = rng.standard_normal(DIMENSIONS).astype(np.float32)
            v /= np.linalg.norm(v)
            batch.append(
                (m.id, text_hash(m.content), index.model_id, v.astype(np.float16).tobytes())
            )
            if len(batch) == 10_000:
                db.executemany("INSERT INTO vectors VALUES (?, ?, ?, ?)", batch)
                batch = []
        db.executemany("INSERT INTO vectors VALUES (?, ?, ?, ?)", batch)
        index._set_meta(f"version:{index.model_id}", store_version(store.storage))
        index._bump_rev()
        db.execute("COMMIT")
    finally:
        index.close()
        store.close()


def measure_modes(home: Path, queries: list[str], rounds: int) -> dict[str, Any]:
    """Wall and CPU seconds per search, by mode, interleaved query by query."""
    store = MemoryStore(namespace="bench", storage_backend="sqlite", base_dir=home)
    out: dict[str, Any] = {m: {"wall": [], "cpu": []} for m in MODES}
    try:
        for mode in MODES:  # warm-up: the model, the matrix, the page cache
            store.settings.values["retrieval"] = mode
            for q in queries:
                store.search(q, limit=5)
        for _ in range(rounds):
            for q in queries:
                for mode in MODES:
                    store.settings.values["retrieval"] = mode
                    c0, t0 = time.process_time(), time.perf_counter()
                    store.search(q, limit=5)
                    out[mode]["wall"].append(time.perf_counter() - t0)
                    out[mode]["cpu"].append(time.process_time() - c0)
        return out
    finally:
        store.close()


def measure_semantic(root: Path, sizes: list[int], rounds: int, reuse: bool) -> dict[str, Any]:
    """Samples (seconds) of every mode on both stores of each size, and the load meanwhile."""
    import os

    out: dict[str, Any] = {"runs": []}
    for n in sizes:
        stores = {
            "corpus queries": (_corpus.cached_sqlite(root, n, reuse=reuse),
                               [q for _, q in _corpus.queries()]),
            "words in every memory": (common_store(root, n, reuse), COMMON_QUERIES),
        }  # fmt: skip
        for label, (home, queries) in stores.items():
            seed_vectors(home)
            out["runs"].append(
                {"n": n, "label": label, "modes": measure_modes(home, queries, rounds)}
            )
    out["load"] = os.getloadavg()[0]
    return out


def semantic_report(runs: list[tuple[str, Any]], rounds: int) -> None:
    import os

    rows = []
    for code, data in runs:
        for run in data["runs"]:
            for mode in MODES:
                wall, cpu = run["modes"][mode]["wall"], run["modes"][mode]["cpu"]
                target = (5.0, 20.0) if mode == "lexical" else (30.0, None)
                ok = _corpus.median_ms(wall) <= target[0] and (
                    target[1] is None or p95_ms(wall) <= target[1]
                )
                rows.append([code, mode, f"{run['n']:,}", run["label"], len(wall),
                             f"**{_corpus.median_ms(wall):.2f}**", f"{p95_ms(wall):.2f}",
                             f"{_corpus.median_ms(cpu):.2f}", f"{p95_ms(cpu):.2f}",
                             f"p50<={target[0]:g}" + (f", p95<={target[1]:g}" if target[1] else ""),
                             "ok" if ok else "OVER"])  # fmt: skip
    loads = ", ".join(f"{code}: {data['load']:.1f}" for code, data in runs)
    print(f"\nMemoryStore.search by retrieval mode (SQLite, limit 5, model loaded, one thread), "
          f"{rounds} rounds, interleaved; milliseconds; load at the end of each run ({loads}) "
          f"on {os.cpu_count()} cores\n")  # fmt: skip
    headers = ["code", "mode", "memories", "queries", "searches", "median", "p95", "CPU median",
               "CPU p95", "target", "verdict"]  # fmt: skip
    print(_corpus.table(headers, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 memories, 3 rounds")
    parser.add_argument("--reuse", action="store_true", help="reuse stores built earlier")
    default_dir = Path(tempfile.gettempdir()) / "smartcontext-bench"
    parser.add_argument("--dir", type=Path, default=default_dir, help="cache of stores")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--common", action="store_true", help="only the note-N store")
    parser.add_argument("--baseline", default=BASELINE, help="a git revision, or none")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--pool-recall", type=int, metavar="N", help="only: N queries, bounded vs exact reads"
    )
    parser.add_argument("--semantic", action="store_true", help="only: the three modes' latency")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000] if args.quick else [100_000, 1_000_000])
    rounds = args.rounds or (3 if args.quick else 15)
    if args.semantic:
        if args.raw:
            print(json.dumps(measure_semantic(args.dir, sizes, rounds, args.reuse)))
            return
        runs = []
        if args.baseline != "none":
            # The same stores and vectors: the stored format is the same (the before code's
            # lexical stores are built apart only because its stored terms differed).
            extra = ["--dir", str(args.dir), "--sizes", *map(str, sizes), "--rounds", str(rounds)]
            extra += ["--reuse"] * args.reuse + ["--semantic"]
            before = measure_baseline(__file__, args.baseline, extra)
            runs.append((f"before ({args.baseline})", before))
        runs.append(("this branch", measure_semantic(args.dir, sizes, rounds, args.reuse)))
        semantic_report(runs, rounds)
        return
    if args.pool_recall:
        for n in sizes:
            pool_recall(_corpus.cached_sqlite(args.dir, n, reuse=args.reuse), args.pool_recall)
        return
    if args.raw:
        print(json.dumps(measure_all(args.dir, sizes, rounds, args.reuse, args.common)))
        return
    runs = []
    if args.baseline != "none":
        before_dir = args.dir / f"before-{args.baseline}"
        extra = ["--dir", str(before_dir), "--sizes", *map(str, sizes), "--rounds", str(rounds)]
        extra += ["--reuse"] * args.reuse + ["--common"] * args.common
        runs.append((f"before ({args.baseline})", measure_baseline(__file__, args.baseline, extra)))
    runs.append(("this branch", measure_all(args.dir, sizes, rounds, args.reuse, args.common)))
    report(runs, sizes, rounds)


if __name__ == "__main__":
    main()
