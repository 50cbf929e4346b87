"""``smartcontext doctor``: every kind of damage is found and named; ``--repair`` fixes it and says
how; nothing is changed without ``--repair``, and nothing is ever deleted."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from smartcontext_cli import MemoryStore
from smartcontext_cli.doctor import run


def fill(home: Path, backend: str, namespace: str = "proj") -> MemoryStore:
    store = MemoryStore(namespace=namespace, storage_backend=backend, base_dir=home)
    for i in range(5):
        store.remember(f"fact {i}: the deploy runs on fridays")
    store.add_session_item("user", "we decided to use postgres")
    store.store_artifact("notes.txt", "some notes")
    store.add_task("write docs")
    store.log_error("pytest", "AssertionError: 1 != 2")
    store.close()
    return store


def findings(report: dict, check: str | None = None) -> list[dict]:
    out = [f for ns in report["namespaces"] for f in ns["findings"]]
    return [f for f in out if check is None or f["check"] == check]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_a_healthy_store_is_ok_and_the_check_writes_nothing(home: Path, backend: str, sc):
    fill(home, backend)
    before = tree(home)
    result = sc("doctor", "--json")
    assert result.exit_code == 0, result.stdout
    report = result.json()
    assert report["ok"] and report["repair"] is False
    (ns,) = report["namespaces"]
    assert (ns["namespace"], ns["backend"], ns["memories"], ns["ok"]) == ("proj", backend, 5, True)
    assert ns["findings"] == []
    assert tree(home) == before
    text = sc("doctor")
    assert f"proj ({backend}): ok, 5 memories" in text.stdout


def test_json_damage_is_named_then_repaired_without_deleting_anything(home: Path, sc):
    fill(home, "json")
    ns = home / "namespaces" / "proj"
    (ns / "counters.json").unlink()
    memory = next((ns / "memories").glob("*.json"))
    memory.write_text("{garbled")
    task = next((ns / "docs" / "tasks").glob("*.json"))
    task.write_text(json.dumps({"id": 1}))  # 'text' missing: todo list used to crash
    (ns / "memories" / f".{memory.stem}.json.ab12.tmp").write_text("half")
    before = tree(home)

    check = sc("doctor", "--json")
    assert check.exit_code == 1
    assert tree(home) == before  # the check changed nothing
    found = {(f["check"], Path(f["where"]).name) for f in findings(check.json())}
    assert ("integrity", memory.name) in found
    assert ("counters", "counters.json") in found
    assert ("temp files", f".{memory.stem}.json.ab12.tmp") in found

    repaired = sc("doctor", "--repair", "--json")
    assert repaired.exit_code == 0, repaired.stdout
    done = findings(repaired.json())
    assert all(f["repaired"] for f in done if f["severity"] == "error")
    assert any("moved the file to" in (f["fix"] or "") for f in done)
    # Quarantined, not deleted: the damaged file and the bad task are kept under backups/.
    kept = {p.name: p.read_bytes() for p in (home / "backups" / "proj").rglob("*.json")}
    assert kept[memory.name] == b"{garbled"
    assert json.loads(kept[task.name]) == {"id": 1}
    # The store works again and numbers new records past the old ones.
    assert sc("doctor").exit_code == 0
    assert sc("-n", "proj", "todo", "list").exit_code == 0
    assert sc("-n", "proj", "artifact", "add", "more.txt", "-", input="x").stdout.strip() == "#a2"


def test_a_lost_json_marker_is_rebuilt(home: Path, sc):
    fill(home, "json")
    (home / "namespaces" / "proj" / "store.json").unlink()
    assert sc("-n", "proj", "list").exit_code == 1  # named, not taken for an empty namespace
    assert not (home / "namespaces" / "proj" / "store.db").exists()
    assert sc("doctor", "--repair").exit_code == 0
    assert len(sc("-n", "proj", "list", "--json").json()) == 5


def test_a_killed_json_commit_is_finished_by_repair(home: Path):
    fill(home, "json")
    code = (
        "import sys; from smartcontext_cli import MemoryStore; "
        "MemoryStore(namespace='proj', base_dir=sys.argv[1]).add_task('killed mid-commit')"
    )
    env = {**os.environ, "SMARTCONTEXT_FAULT": "json.apply:2"}
    proc = subprocess.run([sys.executable, "-c", code, str(home)], env=env, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    report = run(home, "proj", repair=False)
    (journal,) = findings(report, "journal")
    # The task, its counter and its collection's listing of keys: one commit.
    assert "a commit of 3 file(s) left by a killed process" in journal["problem"]
    assert (home / "namespaces" / "proj" / "wal.json").exists()  # the check did not replay it
    report = run(home, "proj", repair=True)
    assert findings(report, "journal")[0]["repaired"] and report["ok"]
    store = MemoryStore(namespace="proj", base_dir=home)
    assert [t.text for t, _ in store.list_tasks()] == ["write docs", "killed mid-commit"]
    store.close()


def test_a_damaged_search_index_is_rebuilt(home: Path, sc):
    fill(home, "sqlite")
    db = sqlite3.connect(home / "namespaces" / "proj" / "store.db")
    db.execute("UPDATE memories_terms SET docs = docs + 7")  # used to be 'math domain error'
    db.commit()
    db.close()
    broken = sc("-n", "proj", "search", "deploy")
    assert broken.exit_code == 1
    assert "search index" in broken.stderr and "store.db" in broken.stderr
    assert "internal error" not in broken.stderr
    report = sc("doctor", "--json").json()
    assert findings(report, "index")[0]["problem"].endswith("disagree with the index")
    assert sc("doctor", "--repair").exit_code == 0
    assert sc("-n", "proj", "search", "deploy").exit_code == 0


def test_a_garbled_database_is_rebuilt_from_what_can_be_read(home: Path, sc):
    fill(home, "sqlite")
    db_path = home / "namespaces" / "proj" / "store.db"
    db = sqlite3.connect(db_path)
    pages = {
        name: page
        for name, page in db.execute(
            "SELECT name, rootpage FROM sqlite_master WHERE name LIKE 'memories_fts%'"
        )
    }
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(db_path, "r+b") as fh:  # the full-text index's pages: derived data only
        for page in pages.values():
            if page:
                fh.seek((page - 1) * page_size + 8)
                fh.write(os.urandom(64))
    report = sc("doctor", "--json")
    assert report.exit_code == 1
    repaired = sc("doctor", "--repair", "--json").json()
    done = [f for f in findings(repaired) if f["repaired"]]
    assert done, findings(repaired)
    assert sc("doctor").exit_code == 0
    assert len(sc("-n", "proj", "list", "--json").json()) == 5
    damaged = list((home / "backups" / "proj").glob("damaged-*/store.db"))
    assert damaged or any("rebuilt the full-text index" in (f["fix"] or "") for f in done)


def test_an_unreadable_database_is_restored_from_the_automatic_backup(home: Path, sc):
    fill(home, "sqlite")
    # compact takes an automatic backup first
    for i in range(40):  # chatter a digest drops, so compaction does replace the span
        sc("-n", "proj", "session", "add", "user", f"ok thanks, sounds good ({i})")
    assert sc("-n", "proj", "compact", "-p", "5").exit_code == 0
    (backup,) = (home / "backups" / "proj").glob("*-compact.jsonl")
    db_path = home / "namespaces" / "proj" / "store.db"
    db_path.write_bytes(b"")  # a 0-byte database: used to be silently re-initialised
    failed = sc("-n", "proj", "list")
    assert failed.exit_code == 1 and "store.db is empty (0 bytes)" in failed.stderr
    repaired = sc("doctor", "--repair", "--json")
    assert repaired.exit_code == 0, repaired.stdout
    (restore,) = [f for f in findings(repaired.json()) if f["repaired"]]
    assert str(backup) in restore["fix"] and "changes made after it are lost" in restore["fix"]
    assert len(sc("-n", "proj", "list", "--json").json()) == 5


def test_counters_behind_their_records_are_moved_past_them(home: Path, sc):
    store = fill(home, "sqlite")
    store = MemoryStore(namespace="proj", base_dir=home)
    store.storage.set_counter("task", 0)  # as if restored from an old copy
    store.close()
    refused = sc("-n", "proj", "todo", "add", "would overwrite task 1")
    assert refused.exit_code == 1
    assert "counter 'task' is behind the stored records" in refused.stderr
    assert sc("-n", "proj", "todo", "list", "--json").json()[0]["text"] == "write docs"
    report = sc("doctor", "--repair", "--json").json()
    assert findings(report, "counters")[0]["fix"] == "moved it from 0 to 1"
    assert sc("-n", "proj", "todo", "add", "now task 2").exit_code == 0


def test_loose_permissions_are_reported_and_tightened(home: Path, sc):
    fill(home, "json")
    loose = next((home / "namespaces" / "proj" / "memories").glob("*.json"))
    os.chmod(loose, 0o644)
    report = sc("doctor", "--json").json()
    (perm,) = findings(report, "permissions")
    assert perm["severity"] == "warning"
    sc("doctor", "--repair")
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


def test_an_old_versions_migration_copy_is_finished_or_removed(home: Path, sc):
    fill(home, "sqlite")
    ns = home / "namespaces" / "proj"
    # The old code crashed between its two renames: the namespace directory is gone and the
    # verified copy sits under its stamped staging name.
    ns.rename(home / "namespaces" / ".migrating-proj-20240101-120000")
    report = sc("doctor", "--json").json()
    assert report["namespaces"][0]["namespace"] == "proj"
    assert findings(report, "migration")
    sc("doctor", "--repair")
    assert len(sc("-n", "proj", "list", "--json").json()) == 5


def test_doctor_of_one_namespace_and_of_none(home: Path, sc):
    assert sc("doctor").exit_code == 0
    fill(home, "sqlite", "a")
    fill(home, "json", "b")
    report = sc("doctor", "-n", "b", "--json").json()
    assert [ns["namespace"] for ns in report["namespaces"]] == ["b"]


def test_doctor_checks_a_postgres_namespace_schema_and_search_statistics(
    home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
):
    import psycopg

    from smartcontext_cli.migrate import migrate_namespace

    monkeypatch.setenv("SMARTCONTEXT_DATABASE_URL", pg_url)
    store = MemoryStore(namespace="team", storage_backend="sqlite", base_dir=home)
    for i in range(3):
        store.remember(f"deploy note {i}")
    migrate_namespace(store, "postgres")
    report = run(home, "team")
    (ns,) = report["namespaces"]
    assert (ns["backend"], ns["ok"], ns["memories"], ns["findings"]) == ("postgres", True, 3, [])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE sc_memory_stats SET n_rows = n_rows + 1")
    (ns,) = run(home, "team")["namespaces"]
    assert not ns["ok"]
    assert [(f["check"], f["severity"]) for f in ns["findings"]] == [("search index", "error")]
    assert "say 4 rows" in ns["findings"][0]["problem"]
