"""JSON backend: the cost of one ``remember`` must not grow with the store.

Target (issue 2): a write to the JSON backend does not cost what a whole-file rewrite costs,
which grows linearly with the number of memories. We report the per-write time at 1,000 and
10,000 memories and their ratio (a rewrite of everything would show about 10x):

* warm: ``MemoryStore.remember`` on a store that stays open (a library or server user);
* cold: open a new ``MemoryStore``, ``remember``, close (what each ``smartcontext remember``
  process does, less the interpreter start-up);
* for scale, in the same run: a naive store rewriting one JSON file of every memory (with
  fsync and rename) per write, which is what "grows like a whole-file rewrite" looks like.

Stores are built under ``--dir`` from the shared corpus with the bulk ``add_memories`` path;
each measurement is the median over ``--writes`` writes.

    python tests/benchmarks/bench_json_write.py            # 1,000 and 10,000 memories
    python tests/benchmarks/bench_json_write.py --quick    # 200 and 2,000, fewer writes
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import _corpus

from smartcontext_cli import MemoryStore

LIMIT_RATIO = 2.0  # what "does not grow" means here: 10x the memories, under 2x the time


def build(home: Path, n: int) -> None:
    store = MemoryStore(namespace="bench", storage_backend="json", base_dir=home)
    try:
        for batch in _corpus.batches(n, size=1000):
            store.storage.add_memories(batch)
    finally:
        store.close()


def warm_writes(home: Path, writes: int) -> list[float]:
    store = MemoryStore(namespace="bench", storage_backend="json", base_dir=home)
    try:
        store.remember("warm-up: opens and loads the store")
        samples = []
        for i in range(writes):
            t0 = time.perf_counter()
            store.remember(f"warm write {i}: rotate the staging secret", tags=["bench"])
            samples.append(time.perf_counter() - t0)
        return samples
    finally:
        store.close()


def cold_writes(home: Path, writes: int) -> list[float]:
    samples = []
    for i in range(writes):
        t0 = time.perf_counter()
        with MemoryStore(namespace="bench", storage_backend="json", base_dir=home) as store:
            store.remember(f"cold write {i}: the deploy key lives in vault", kind="fact")
        samples.append(time.perf_counter() - t0)
    return samples


def rewrite_writes(n: int, writes: int, root: Path) -> list[float]:
    """For scale: a naive store that rewrites one file of all memories on every write."""
    records = [m.to_dict() for m in _corpus.memories(n)]
    path = root / f"naive-{n}.json"
    samples = []
    for i in range(writes):
        t0 = time.perf_counter()
        records.append({**records[-1], "id": f"{i:032x}"})
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(records, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
        samples.append(time.perf_counter() - t0)
    path.unlink()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 memories")
    default_dir = Path(tempfile.gettempdir()) / "smartcontext-bench"
    parser.add_argument("--dir", type=Path, default=default_dir, help="where stores are built")
    parser.add_argument("--writes", type=int, default=None)
    args = parser.parse_args()
    small, large = (200, 2_000) if args.quick else (1_000, 10_000)
    writes = args.writes or (10 if args.quick else 40)

    results: dict[int, dict[str, float]] = {}
    for n in (small, large):
        home = args.dir / f"json-{n}"
        shutil.rmtree(home, ignore_errors=True)
        t0 = time.perf_counter()
        build(home, n)
        built = time.perf_counter() - t0
        results[n] = {
            "warm": _corpus.median_ms(warm_writes(home, writes)),
            "cold": _corpus.median_ms(cold_writes(home, writes)),
            "naive": _corpus.median_ms(rewrite_writes(n, writes, args.dir)),
            "build": built,
        }
        shutil.rmtree(home, ignore_errors=True)

    rows = []
    labels = {
        "warm": "`remember`, store kept open",
        "cold": "`remember`, store opened per write (as the CLI)",
        "naive": "for scale: rewrite one JSON file of everything",
    }
    for mode, label in labels.items():
        a, b = results[small][mode], results[large][mode]
        verdict = "" if mode == "naive" else ("ok" if b / a <= LIMIT_RATIO else "GROWS")
        rows.append([label, f"{a:.2f}", f"{b:.2f}", f"{b / a:.2f}x", verdict])
    print(
        f"\nJSON backend, per-write time in ms (median of {writes} writes, same run); bulk "
        f"build took {results[small]['build']:.1f} s and {results[large]['build']:.1f} s\n"
    )
    headers = [
        "write",
        f"{small:,} memories",
        f"{large:,} memories",
        "ratio",
        f"target (<= {LIMIT_RATIO:.0f}x)",
    ]
    print(_corpus.table(headers, rows))


if __name__ == "__main__":
    main()
