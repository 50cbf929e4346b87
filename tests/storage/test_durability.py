"""Crashes and damage (issue 13): all or nothing under SIGKILL, damage named and never reset.

Crash points are hit for real: a subprocess runs with ``SMARTCONTEXT_FAULT`` naming a step of
the JSON commit protocol (``storage/journal.py``) and is SIGKILLed there; the next open must
find the whole transaction or none of it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import smartcontext_cli
from smartcontext_cli.errors import StoreCorruptError
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import existing_backend, journal, namespace_dir, open_storage
from smartcontext_cli.storage.journal import WAL_FILE

ROOT = Path(smartcontext_cli.__file__).resolve().parents[1]

# One transaction of many records: 30 memories, 5 documents, a counter and metadata.
WRITER = """
import os, signal, sys
from pathlib import Path
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import open_storage
home, backend, where, n = sys.argv[1:]
store = open_storage(Path(home), "ns", backend)
with store.transaction():
    store.add_memories([Memory(content=f"batch memory {i}") for i in range(int(n))])
    for i in range(5):
        store.put_doc("notes", f"k{i}", {"i": i})
    store.next_counter("c")
    store.set_meta("batch", "done")
    if where == "body":
        os.kill(os.getpid(), signal.SIGKILL)
print("committed")
"""


def run_writer(
    home: Path, backend: str, fault: str, memories: int = 30
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMARTCONTEXT_FAULT": fault}
    where = "body" if fault == "none" else "commit"
    return subprocess.run(
        [sys.executable, "-c", WRITER, str(home), backend, where, str(memories)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def state(home: Path, backend: str) -> tuple[int, int, dict[str, int], str | None]:
    store = open_storage(home, "ns", backend)
    try:
        return (
            store.count_memories(),
            len(store.list_docs("notes")),
            store.get_counters(),
            store.get_meta("batch"),
        )
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "committed"),
    [
        ("none", False),  # killed inside the transaction body, before the commit
        ("json.journal", True),  # the journal is durable, no file applied yet
        ("json.apply:1", True),  # the first file of the commit is about to be written
        ("json.apply:17", True),  # half of them are written
        ("json.applied", True),  # every file written, the journal not yet removed
    ],
)
def test_a_killed_json_commit_is_all_or_nothing(tmp_path: Path, fault: str, committed: bool):
    home = tmp_path / "home"
    seed = open_storage(home, "ns", "json")
    seed.put_doc("notes", "old", {"i": -1})
    seed.close()
    proc = run_writer(home, "json", fault)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    ns = namespace_dir(home, "ns")
    assert (ns / WAL_FILE).exists() == (committed and fault != "none")
    expected = (30, 6, {"c": 1}, "done") if committed else (0, 1, {}, None)
    assert state(home, "json") == expected
    assert not (ns / WAL_FILE).exists()
    assert not [p.name for p in ns.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["json.apply:90", "json.applied"])
def test_a_killed_bulk_json_commit_is_finished_from_its_journal(tmp_path: Path, fault: str):
    # 200 memories: past journal.BULK_FILES, so the files are written without an fsync each
    # and made durable together once all are written; a kill half way is finished all the same.
    home = tmp_path / "home"
    open_storage(home, "ns", "json").close()
    proc = run_writer(home, "json", fault, memories=200)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (namespace_dir(home, "ns") / WAL_FILE).exists()
    assert state(home, "json") == (200, 5, {"c": 1}, "done")
    assert not (namespace_dir(home, "ns") / WAL_FILE).exists()


def test_a_bulk_commit_fsyncs_every_file_where_the_file_system_cannot_be_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(journal, "sync_filesystem", lambda root: False)
    synced = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc") else fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = open_storage(tmp_path, "ns", "json")
    memories = [Memory(content=f"memory {i}") for i in range(journal.BULK_FILES + 10)]
    store.add_memories(memories)
    store.close()
    for m in memories:
        path = namespace_dir(tmp_path, "ns") / "memories" / f"{m.id}.json"
        assert path.exists()
        if os.path.exists("/proc"):
            assert str(path) in synced, path  # durable before the journal is removed
    assert len(synced) >= len(memories)


@pytest.mark.slow
def test_a_killed_sqlite_transaction_writes_nothing(tmp_path: Path):
    home = tmp_path / "home"
    open_storage(home, "ns", "sqlite").close()
    proc = run_writer(home, "sqlite", "none")
    assert proc.returncode == -signal.SIGKILL
    assert state(home, "sqlite") == (0, 0, {}, None)


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path):
    store = open_storage(tmp_path, "ns", "json")
    stale = store.path / ".tmp-abc123"
    stale.write_text("half a fi")
    store.put_doc("notes", "k", {"v": 1})
    assert not stale.exists()
    store.close()


def test_a_damaged_journal_is_named_and_left_alone(tmp_path: Path):
    store = open_storage(tmp_path, "ns", "json")
    store.put_doc("notes", "k", {"v": 1})
    store.close()
    wal = namespace_dir(tmp_path, "ns") / WAL_FILE
    wal.write_text('{"format": "smartcontext-wal", "version": 1, "sha256": "00"}\n[]')
    again = open_storage(tmp_path, "ns", "json")
    with pytest.raises(StoreCorruptError, match=re.escape(str(wal))):
        again.get_doc("notes", "k")
    again.close()
    assert wal.exists()


# JSON files missing or damaged ---------------------------------------------------------------


def test_a_lost_counters_file_stops_numbering_instead_of_reusing_ids(tmp_path: Path):
    store = open_storage(tmp_path, "ns", "json")
    assert store.next_counter("artifact") == 1
    (store.path / "counters.json").unlink()
    for call in (lambda: store.next_counter("artifact"), store.get_counters):
        with pytest.raises(StoreCorruptError, match=r"counters\.json is missing"):
            call()
    assert not (store.path / "counters.json").exists()
    store.close()


def test_a_lost_marker_is_damage_not_an_empty_namespace(tmp_path: Path):
    store = open_storage(tmp_path, "ns", "json")
    store.add_memories([Memory(content="kept")])
    store.close()
    ns = namespace_dir(tmp_path, "ns")
    (ns / "store.json").unlink()
    # Not mistaken for a fresh namespace: no SQLite store appears beside the JSON files.
    assert existing_backend(ns) == "json"
    with pytest.raises(StoreCorruptError, match=r"store\.json is missing although"):
        open_storage(tmp_path, "ns", "json")
    assert not (ns / "store.json").exists() and not (ns / "store.db").exists()


@pytest.mark.parametrize("content", [b"", b"   \n", b"{not json", b"[1, 2]", b'"text"'])
def test_every_damaged_json_file_is_named(tmp_path: Path, content: bytes):
    store = open_storage(tmp_path, "ns", "json")
    m = Memory(content="x")
    store.add_memories([m])
    store.put_doc("notes", "k", {"v": 1})
    store.next_counter("c")
    store.close()
    ns = namespace_dir(tmp_path, "ns")
    for rel in ("counters.json", f"memories/{m.id}.json", "store.json"):
        path = ns / rel
        good = path.read_bytes()
        path.write_bytes(content)
        with pytest.raises(StoreCorruptError, match=re.escape(str(path))):
            fresh = open_storage(tmp_path, "ns", "json")
            try:
                fresh.get_counters()
                fresh.list_memories()  # counting is the index's; listing reads the file
            finally:
                fresh.close()
        assert path.read_bytes() == content  # never overwritten
        path.write_bytes(good)


# SQLite files damaged ------------------------------------------------------------------------


def _sqlite_store(home: Path, n: int = 50) -> Path:
    store = open_storage(home, "ns", "sqlite")
    for i in range(n):
        store.add_memories([Memory(content=f"memory {i} about the deploy pipeline")])
    store.close()
    return namespace_dir(home, "ns") / "store.db"


def test_a_zero_byte_database_is_reported_not_reinitialised(tmp_path: Path):
    db = _sqlite_store(tmp_path)
    db.write_bytes(b"")
    with pytest.raises(StoreCorruptError, match=r"store\.db is empty \(0 bytes\)"):
        open_storage(tmp_path, "ns", "sqlite")
    assert db.stat().st_size == 0


def test_a_truncated_database_is_reported(tmp_path: Path):
    db = _sqlite_store(tmp_path, 400)
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(StoreCorruptError, match=r"store\.db is truncated"):
        open_storage(tmp_path, "ns", "sqlite")
    assert db.stat().st_size == size // 2


def test_a_garbled_header_is_reported(tmp_path: Path):
    db = _sqlite_store(tmp_path)
    with open(db, "r+b") as fh:
        fh.write(b"\x00" * 100)
    with pytest.raises(StoreCorruptError, match="not an SQLite database"):
        open_storage(tmp_path, "ns", "sqlite")


def test_a_garbled_database_names_the_file_instead_of_an_internal_error(tmp_path: Path):
    db = _sqlite_store(tmp_path, 400)
    size = db.stat().st_size
    with open(db, "r+b") as fh:  # every page after the first: tables and index
        for offset in range(16384, size, 16384):
            fh.seek(offset + 100)
            fh.write(os.urandom(200))
    with pytest.raises(StoreCorruptError, match=re.escape(str(db))):
        store = open_storage(tmp_path, "ns", "sqlite")
        try:
            store.bm25(["deploy"], 5)
            store.list_memories()
            store.add_memories([Memory(content="one more")])
        finally:
            store.close()


KEEP_WAL = """
import os, sys
from pathlib import Path
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import open_storage
store = open_storage(Path(sys.argv[1]), "ns", "sqlite")
for i in range(40):
    store.add_memories([Memory(content="x" * 3000 + f" {i}")])
os._exit(0)  # no close: the WAL keeps the commits, as after a crash
"""


def _store_with_wal(home: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", KEEP_WAL, str(home)], check=True, env=env, timeout=60)
    wal = namespace_dir(home, "ns") / "store.db-wal"
    assert wal.stat().st_size > 0
    return wal


def test_a_damaged_wal_is_reported_and_kept_as_it_is(tmp_path: Path):
    wal = _store_with_wal(tmp_path)
    size = wal.stat().st_size
    with open(wal, "r+b") as fh:
        fh.seek(size // 3)
        fh.write(os.urandom(4096))
    damaged = wal.read_bytes()
    with pytest.raises(StoreCorruptError, match=r"missing its last \d+ committed write"):
        open_storage(tmp_path, "ns", "sqlite")
    assert wal.read_bytes() == damaged  # opening did not checkpoint it away


def test_a_lost_wal_is_reported(tmp_path: Path):
    wal = _store_with_wal(tmp_path)
    wal.unlink()
    wal.with_name("store.db-shm").unlink()
    with pytest.raises(StoreCorruptError, match=r"store\.db-wal was lost"):
        open_storage(tmp_path, "ns", "sqlite")


def test_a_lost_database_is_damage_not_an_empty_namespace(tmp_path: Path):
    db = _sqlite_store(tmp_path)
    db.unlink()
    ns = db.parent
    assert existing_backend(ns) == "sqlite"
    with pytest.raises(StoreCorruptError, match=r"store\.db is missing"):
        open_storage(tmp_path, "ns", "sqlite")
    assert not db.exists()


def test_the_commit_record_follows_every_write(tmp_path: Path):
    store = open_storage(tmp_path, "ns", "sqlite")
    record = store.path.with_name("store.db.commit")
    store.put_doc("notes", "k", {"v": 1})
    first = int(record.read_text().split()[0])
    store.get_doc("notes", "k")  # a read commits nothing
    assert int(record.read_text().split()[0]) == first
    store.next_counter("c")
    assert int(record.read_text().split()[0]) == first + 1
    store.close()
    db = sqlite3.connect(record.with_name("store.db"))
    assert db.execute("SELECT value FROM meta WHERE key = 'commit_seq'").fetchone() == (
        str(first + 1),
    )
    db.close()


def test_two_processes_creating_one_store_share_it(tmp_path: Path):
    code = (
        "import sys; from pathlib import Path; from smartcontext_cli.storage import open_storage; "
        "s = open_storage(Path(sys.argv[1]), 'ns', 'sqlite'); s.next_counter('c'); s.close()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env) for _ in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0] * 4
    store = open_storage(tmp_path, "ns", "sqlite")
    assert store.get_counters() == {"c": 4}
    store.close()
    assert not [p for p in (tmp_path / "namespaces" / "ns").iterdir() if ".new-" in p.name]


def test_json_store_files_are_json(tmp_path: Path):
    # The commit journal leaves nothing behind in a healthy store.
    store = open_storage(tmp_path, "ns", "json")
    with store.transaction():
        store.put_doc("a", "k", {"v": 1})
        store.put_doc("b", "k", {"v": 2})
    store.close()
    ns = namespace_dir(tmp_path, "ns")
    assert sorted(p.name for p in ns.iterdir()) == [
        ".lock",
        "counters.json",
        "docs",
        "index",  # derived from the memory files (json_index)
        "memories",
        "store.json",
    ]
    assert json.loads((ns / "docs" / "b" / "k.json").read_text()) == {"v": 2}


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path):
    db_path = _sqlite_store(tmp_path, 3)
    db = sqlite3.connect(db_path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(Exception, match="newer than this smartcontext supports"):
        open_storage(tmp_path, "ns", "sqlite")
    db = sqlite3.connect(db_path)
    # Migrating would have written our older version over the newer one's.
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("99",)
    db.close()


def test_an_empty_commit_record_is_no_record(tmp_path: Path):
    # A writer killed between creating the record and writing it leaves it empty: not damage.
    db_path = _sqlite_store(tmp_path, 3)
    db_path.with_name("store.db.commit").write_bytes(b"")
    store = open_storage(tmp_path, "ns", "sqlite")
    assert store.count_memories() == 3
    store.close()
