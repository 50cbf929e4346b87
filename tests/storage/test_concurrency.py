"""Concurrent processes never lose a write, on any backend.

Real processes (not threads: locks and caches are per process) each `remember` memories, one
call and one transaction at a time, and bump a shared counter after each: four processes of 250
on SQLite and JSON, sixteen of 60 on PostgreSQL, whose point is many writers. Afterwards the
store must hold every acknowledged memory, the counter must read their number, every counter
value must have been handed out exactly once, and the store must be healthy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures import postgres

import smartcontext_cli
from smartcontext_cli.storage import namespace_dir, open_storage

# backend -> (processes, memories each)
LOADS = {"sqlite": (4, 250), "json": (4, 250), "postgres": (16, 60)}

WORKER = """
import json, sys, time
from pathlib import Path
from smartcontext_cli import MemoryStore

home, backend, worker, count, go = sys.argv[1:]
memory = MemoryStore(namespace="shared", storage_backend=backend, base_dir=home)
memory.count()  # connected and ready before the start signal
store = memory.storage
print("ready", flush=True)
while not Path(go).exists():  # start together, so the writes really interleave
    time.sleep(0.001)
values = []
for i in range(int(count)):
    memory.remember(f"worker {worker} memory {i}")  # the public API, as `smartcontext remember`
    values.append(store.next_counter("hits"))
    if i % 50 == 49:
        store.count_memories()  # keep a read cache alive while the others write
own = [m for m in store.list_memories() if m.content.startswith(f"worker {worker} ")]
memory.close()
print(json.dumps({"values": values, "own": len(own)}))
"""


def healthy(ns: Path, backend: str, total: int, database_url: str | None) -> None:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(database_url or "", autocommit=True) as conn:
            # The statistics BM25 reads agree with the rows they summarise.
            (stats,) = conn.execute(
                "SELECT s.n_rows, s.n_tokens, count(m.*), sum(m.dl) FROM sc_memory_stats s "
                "JOIN sc_memories m ON m.ns = s.ns GROUP BY s.n_rows, s.n_tokens"
            ).fetchall()
            assert stats[0] == stats[2] == total and stats[1] == stats[3]
            drift = conn.execute(
                "SELECT t.term FROM sc_memory_terms t LEFT JOIN ("
                "  SELECT ns, k AS term, count(*) AS n"
                "  FROM sc_memories, unnest(tsvector_to_array(tsv)) k"
                "  GROUP BY ns, k) c USING (ns, term) WHERE c.n IS DISTINCT FROM t.docs"
            ).fetchall()
            assert drift == []
        return
    if backend == "sqlite":
        db = sqlite3.connect(ns / "store.db")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            # Raises if the full-text index disagrees with the table it indexes.
            db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
        finally:
            db.close()
        return
    files = [p for p in ns.rglob("*") if p.is_file() and p.name != ".lock"]
    for path in files:  # every file parses (the index's delta is JSON Lines)
        text = path.read_text(encoding="utf-8")
        for part in text.splitlines() if path.suffix == ".jsonl" else [text]:
            json.loads(part)
    assert not [p for p in files if p.name.endswith(".tmp")], "a temp file was left behind"
    assert len(list((ns / "memories").iterdir())) == total


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(LOADS))
def test_concurrent_processes_lose_no_write(tmp_path: Path, backend: str):
    workers, per_worker = LOADS[backend]
    total = workers * per_worker
    home = tmp_path / "home"
    root = Path(smartcontext_cli.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    database_url = None
    if backend == "postgres":
        database_url = postgres.url()
        env["SMARTCONTEXT_DATABASE_URL"] = database_url
    open_storage(home, "shared", backend, database_url=database_url).close()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home), backend, str(w), str(per_worker), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr and proc.stderr.read()
        go.touch()
        outputs = [proc.communicate(timeout=240) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out.splitlines()[-1]) for out, _ in outputs]

    # Every number handed out exactly once: no two increments read the same value.
    assert sorted(v for r in results for v in r["values"]) == list(range(1, total + 1))
    assert [r["own"] for r in results] == [per_worker] * workers

    store = open_storage(home, "shared", backend, database_url=database_url)
    try:
        assert store.count_memories() == total
        assert store.get_counters() == {"hits": total}
        assert {m.content for m in store.iter_memories()} == {
            f"worker {w} memory {i}" for w in range(workers) for i in range(per_worker)
        }
        assert len(store.bm25(["memori"], 5000)) == total
    finally:
        store.close()
    healthy(namespace_dir(home, "shared"), backend, total, database_url)
    if database_url:
        postgres.reset(database_url)
