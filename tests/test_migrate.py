"""``migrate`` survives a crash at every step (fault injection), and never writes into a backup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import smartcontext_cli
from smartcontext_cli import MemoryStore
from smartcontext_cli.errors import StoreMovedError
from smartcontext_cli.migrate import MARKER, staging_dir

ROOT = Path(smartcontext_cli.__file__).resolve().parents[1]
MIGRATE = """
import sys
from smartcontext_cli import MemoryStore
from smartcontext_cli.migrate import migrate_namespace
store = MemoryStore(namespace="proj", base_dir=sys.argv[1])
migrate_namespace(store, sys.argv[2])
"""


def fill(home: Path, backend: str) -> dict:
    store = MemoryStore(namespace="proj", storage_backend=backend, base_dir=home)
    for i in range(12):
        store.remember(f"fact {i} about the release train")
    store.add_session_item("user", "we decided to ship on fridays")
    store.store_artifact("notes.txt", "line one\nline two\n")
    store.add_task("write the changelog")
    exported = store.export_all()
    store.close()
    return exported


STEPS = [
    ("migrate.staged", False),
    ("migrate.committed", True),
    ("migrate.moved", True),
    ("migrate.swapped", True),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "fault", "finished"),
    [("sqlite", "json.apply:5", False)]  # killed while copying into the JSON staging store
    + [(source, fault, done) for source in ("sqlite", "json") for fault, done in STEPS],
)
def test_a_migration_killed_at_any_step_recovers(
    tmp_path: Path, source: str, fault: str, finished: bool
):
    target = "json" if source == "sqlite" else "sqlite"
    home = tmp_path / "home"
    before = fill(home, source)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMARTCONTEXT_FAULT": fault}
    proc = subprocess.run(
        [sys.executable, "-c", MIGRATE, str(home), target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = MemoryStore(namespace="proj", base_dir=home)
    assert store.backend == (target if finished else source)
    assert store.export_all() == before  # nothing lost, whichever store won
    # The next command works and nothing of the migration is left behind.
    store.remember("written after the crash")
    assert store.count() == 13
    store.close()
    assert not staging_dir(home, "proj").exists()
    assert not (home / "namespaces" / "proj" / MARKER).exists()
    backups = list((home / "backups").glob("proj-*")) if (home / "backups").exists() else []
    assert len(backups) == (1 if finished else 0)


def test_a_handle_opened_before_a_migration_refuses_to_write_into_the_backup(home: Path):
    fill(home, "sqlite")
    early = MemoryStore(namespace="proj", base_dir=home)
    assert early.count() == 12  # opened before the swap
    from smartcontext_cli.migrate import migrate_namespace

    migrate_namespace(MemoryStore(namespace="proj", base_dir=home), "json")
    with pytest.raises(StoreMovedError, match="was replaced"):
        early.remember("lost if written into the backup")
    early.close()
    assert MemoryStore(namespace="proj", base_dir=home).count() == 12


def test_copies_an_older_version_left_are_cleaned_up_on_open(home: Path):
    fill(home, "sqlite")
    left = home / "namespaces" / ".migrating-proj-20240101-120000"
    (left / "half").mkdir(parents=True)
    store = MemoryStore(namespace="proj", base_dir=home)
    assert store.count() == 12
    assert not left.exists()
    assert any("older version's unfinished migration copy" in n for n in store.notices)
    store.close()


def test_an_older_versions_crash_between_its_renames_is_finished_on_open(home: Path):
    # The old code moved the store to backups, then died before renaming its verified copy.
    before = fill(home, "sqlite")
    ns = home / "namespaces" / "proj"
    ns.rename(home / "namespaces" / ".migrating-proj-20240101-120000")
    store = MemoryStore(namespace="proj", base_dir=home)
    assert store.export_all() == before
    store.close()


# The postgres direction: the database copy is the staged step (one transaction, recording the
# migration's token), then the same marker and switch as between local backends.
PG_STEPS = [
    ("migrate.postgres_copied", False),  # killed inside the database transaction: rolled back
    ("migrate.staged", True),  # the database committed, no marker yet: its token finishes it
    ("migrate.committed", True),
    ("migrate.moved", True),
    ("migrate.swapped", True),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "target", "fault", "finished"),
    [("sqlite", "postgres", fault, done) for fault, done in PG_STEPS]
    + [("postgres", "json", fault, done) for fault, done in STEPS],
)
def test_a_postgres_migration_killed_at_any_step_recovers(
    tmp_path: Path,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    target: str,
    fault: str,
    finished: bool,
):
    home = tmp_path / "home"
    monkeypatch.setenv("SMARTCONTEXT_DATABASE_URL", pg_url)
    if source == "postgres":
        # A teammate's namespace: in the database, with no file on this machine.
        monkeypatch.setenv("SMARTCONTEXT_BACKEND", "postgres")
    before = fill(home, source)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMARTCONTEXT_FAULT": fault}
    proc = subprocess.run(
        [sys.executable, "-c", MIGRATE, str(home), target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = MemoryStore(namespace="proj", base_dir=home)
    assert store.backend == (target if finished else source)
    assert store.export_all() == before  # nothing lost, whichever store won
    store.remember("written after the crash")
    assert store.count() == 13
    store.close()
    assert not staging_dir(home, "proj").exists()
    assert not (home / "namespaces" / "proj" / MARKER).exists()
    if target == "postgres" and not finished:
        # The rolled-back copy left nothing in the database: a new migration starts clean.
        from smartcontext_cli.migrate import migrate_namespace

        migrate_namespace(MemoryStore(namespace="proj", base_dir=home), "postgres")
        again = MemoryStore(namespace="proj", base_dir=home)
        assert again.backend == "postgres" and again.count() == 13
        again.close()
