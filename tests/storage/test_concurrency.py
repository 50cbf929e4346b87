"""Concurrent processes never lose a write, on either backend.

Four real processes (not threads: locks and caches are per process) each `remember` 250 memories,
one call and one transaction at a time, and bump a shared counter after each. Afterwards the store
must hold exactly 1000 memories, the counter must read 1000, every counter value must have been
handed out exactly once, and the files must be healthy.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import smartcontext_cli
from smartcontext_cli.storage import namespace_dir, open_storage

WORKERS = 4
PER_WORKER = 250

WORKER = """
import json, sys, time
from pathlib import Path
from smartcontext_cli import MemoryStore

home, backend, worker, count, go = sys.argv[1:]
memory = MemoryStore(namespace="shared", storage_backend=backend, base_dir=home)
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


def healthy(ns: Path, backend: str) -> None:
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
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))  # every file parses
    assert not [p for p in files if p.name.endswith(".tmp")], "a temp file was left behind"
    assert len(list((ns / "memories").iterdir())) == WORKERS * PER_WORKER


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_four_processes_lose_no_write(tmp_path: Path, backend: str):
    home = tmp_path / "home"
    open_storage(home, "shared", backend).close()
    go = tmp_path / "go"
    root = Path(smartcontext_cli.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home), backend, str(w), str(PER_WORKER), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(WORKERS)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr and proc.stderr.read()
        go.touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out.splitlines()[-1]) for out, _ in outputs]

    # Every number handed out exactly once: no two increments read the same value.
    assert sorted(v for r in results for v in r["values"]) == list(
        range(1, WORKERS * PER_WORKER + 1)
    )
    assert [r["own"] for r in results] == [PER_WORKER] * WORKERS

    store = open_storage(home, "shared", backend)
    try:
        assert store.count_memories() == WORKERS * PER_WORKER
        assert store.get_counters() == {"hits": WORKERS * PER_WORKER}
        assert {m.content for m in store.iter_memories()} == {
            f"worker {w} memory {i}" for w in range(WORKERS) for i in range(PER_WORKER)
        }
        assert len(store.bm25(["memori"], 5000)) == WORKERS * PER_WORKER
    finally:
        store.close()
    healthy(namespace_dir(home, "shared"), backend)
