"""PostgreSQL against SQLite with many processes: writes per second and search latency.

Issue 14 asks for both at 100,000 memories with 1, 4 and 16 concurrent processes. For each
backend and process count, every process opens the namespace (``MemoryStore``, as the CLI or the
MCP server does), waits for a common start, then for ``--seconds``:

* writes: ``remember`` one memory at a time (one transaction each); we report all processes'
  acknowledged writes divided by the wall time, and check afterwards that every one is stored;
* searches: ``search`` over the mixed query set of ``_corpus.queries`` (words, phrases, typos,
  misses); we report the median latency over every search of every process.

PostgreSQL runs on a throw-away cluster this script starts from the server binaries (as the
tests do, but durable: ``fsync`` and ``synchronous_commit`` on), or on ``--database-url``. It is
measured twice: with the server's default ``synchronous_commit=on`` (every commit flushed to
disk, what a team's server does), and with ``synchronous_commit=off`` for the session
(``PGOPTIONS``), which is the durability of SQLite's ``synchronous=NORMAL`` used here: a crash
of the machine may lose the last commits, never corrupt the store.

    python tests/benchmarks/bench_postgres.py                # 100,000 memories, 10 s per cell
    python tests/benchmarks/bench_postgres.py --quick        # 10,000 memories, 3 s per cell
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _corpus

sys.path.insert(0, str(_corpus.ROOT / "tests"))
from fixtures.postgres import Server, find_bindir

from smartcontext_cli.storage import open_storage

NAMESPACE = "bench"
WORKER = r"""
import json, sys, time
from pathlib import Path
from smartcontext_cli import MemoryStore
sys.path.insert(0, sys.argv[6])
import _corpus

home, backend, mode, seconds, go, _, worker = sys.argv[1:8]
store = MemoryStore(namespace="bench", storage_backend=backend, base_dir=home)
store.count()  # connected and migrated before the start signal
queries = [q for _, q in _corpus.queries()]
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.0005)
deadline = time.perf_counter() + float(seconds)
latencies, ids, i = [], [], 0
while time.perf_counter() < deadline:
    t0 = time.perf_counter()
    if mode == "write":
        ids.append(store.remember(f"benchmark worker {worker} wrote note {i} about redis").id)
    else:
        store.search(queries[i % len(queries)], limit=5)
    latencies.append(time.perf_counter() - t0)
    i += 1
store.close()
print(json.dumps({"latencies": latencies, "ids": ids}))
"""


def build_postgres(url: str, n: int) -> None:
    storage = open_storage(Path(tempfile.gettempdir()), NAMESPACE, "postgres", database_url=url)
    try:
        if storage.count_memories() == n:
            return
        t0 = time.perf_counter()
        done = 0
        for batch in _corpus.batches(n, size=5000):
            storage.add_memories(batch)
            done += len(batch)
            rate = done / (time.perf_counter() - t0)
            print(f"  built {done:,}/{n:,} ({rate:,.0f}/s)", file=sys.stderr, end="\r", flush=True)
        print(f"\n  postgres store built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        storage.close()


def run_cell(
    home: Path, backend: str, mode: str, procs: int, seconds: float, env: dict[str, str]
) -> tuple[float, list[float], list[str]]:
    """(wall seconds, every latency, every acknowledged id) of one measurement."""
    go = home.parent / f"go-{time.monotonic_ns()}"
    bench_dir = str(Path(__file__).resolve().parent)
    args = [str(home), backend, mode, str(seconds), str(go), bench_dir]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args, str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(procs)
    ]
    for w in workers:
        assert w.stdout is not None
        line = w.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"worker failed: {line} {w.stderr.read() if w.stderr else ''}")
    t0 = time.perf_counter()
    go.touch()
    outputs = [w.communicate(timeout=seconds * 20 + 120) for w in workers]
    wall = time.perf_counter() - t0
    go.unlink()
    latencies: list[float] = []
    ids: list[str] = []
    for w, (out, err) in zip(workers, outputs, strict=True):
        if w.returncode != 0:
            raise RuntimeError(err)
        result = json.loads(out.splitlines()[-1])
        latencies += result["latencies"]
        ids += result["ids"]
    return wall, latencies, ids


def check_kept(home: Path, backend: str, ids: list[str], url: str | None) -> None:
    storage = open_storage(home, NAMESPACE, backend, database_url=url)
    try:
        missing = [i for i in ids if storage.get_memory(i) is None]
    finally:
        storage.close()
    if missing:
        raise SystemExit(f"{backend}: {len(missing)} acknowledged writes are missing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 memories, 3 s per cell")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--database-url", default=None, help="an existing, empty database")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "sc-bench-pg")
    args = parser.parse_args()
    size = args.size or (10_000 if args.quick else 100_000)
    seconds = args.seconds or (3.0 if args.quick else 10.0)

    server = None
    url = args.database_url
    if url is None:
        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("no PostgreSQL server binaries found (and no --database-url)")
        server = Server(bindir, durable=True)
        server.start()
        url = server.url()
    try:
        homes = {"sqlite": _corpus.cached_sqlite(args.dir, size, reuse=True, namespace=NAMESPACE)}
        # Its own data directory: the SQLite store of the same namespace would win over it.
        homes["postgres"] = args.dir / "postgres-home"
        homes["postgres"].mkdir(parents=True, exist_ok=True)
        build_postgres(url, size)
        base_env = _corpus.subprocess_env(args.dir)
        pg_env = {**base_env, "SMARTCONTEXT_DATABASE_URL": url}
        lazy_env = {**pg_env, "PGOPTIONS": "-c synchronous_commit=off"}
        configs = [
            ("sqlite", "sqlite", base_env),
            ("postgres", "postgres, synchronous_commit=on", pg_env),
            ("postgres", "postgres, synchronous_commit=off", lazy_env),
        ]
        results: dict[tuple[str, int], dict[str, float]] = {}
        for procs in args.procs:
            for backend, label, env in configs:
                home = homes[backend]
                wall, lat, ids = run_cell(home, backend, "write", procs, seconds, env)
                check_kept(home, backend, ids, url if backend == "postgres" else None)
                writes = len(ids) / wall
                wall, slat, _ = run_cell(home, backend, "search", procs, seconds, env)
                cell = {
                    "writes": writes,
                    "write_ms": statistics.median(lat) * 1000,
                    "search_ms": statistics.median(slat) * 1000,
                }
                results[(label, procs)] = cell
                print(
                    f"  {label}, {procs} processes: {writes:,.0f} writes/s, "
                    f"search median {cell['search_ms']:.1f} ms",
                    file=sys.stderr,
                )
        load = os.getloadavg()[0]
        cpus = os.cpu_count()
        print(
            f"\n{size:,} memories, {seconds:g} s per cell, load average {load:.1f} on {cpus} CPUs\n"
        )
        rows: list[list[Any]] = []
        for procs in args.procs:
            base = results[("sqlite", procs)]
            for _, label, _ in configs:
                r = results[(label, procs)]
                rows.append(
                    [
                        procs,
                        label,
                        f"{r['writes']:,.0f}",
                        f"{r['writes'] / base['writes']:.2f}",
                        f"{r['write_ms']:.1f}",
                        f"{r['search_ms']:.1f}",
                        f"{r['search_ms'] / base['search_ms']:.2f}",
                    ]
                )
        headers = ["processes", "backend", "writes/s", "vs sqlite", "write median ms"]
        headers += ["search median ms", "vs sqlite"]
        print(_corpus.table(headers, rows))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
