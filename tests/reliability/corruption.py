"""Corruption: truncate, empty, garble, delete and wrong-shape each kind of store file, per
backend; every command must stay within the CLI contract, the damage must be detected and named
(by a command's error or by ``doctor``), nothing may write over it, and ``doctor --repair`` must
leave a store that passes ``doctor``.

A damage nothing can tell from a valid state is counted apart ("indistinguishable"): bytes
garbled inside an SQLite text value are a different text. Those cases are checked to be harmless
to everything else. Deleting one JSON record file is damage like any other: the JSON store's
index lists the memories, and each collection's listing the documents, the last commit stored.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any

from .common import bad_output, cli, export

DAMAGES = ("truncate", "empty", "garble", "delete", "wrong-shape")
COMMANDS = [
    ("list", "-k", "50"),
    ("search", "deploy"),
    ("compile", "-q", "deploy", "--budget", "1500"),
    ("session", "show"),
    ("todo", "list"),
    ("error", "list"),
    ("artifact", "list"),
    ("strategy", "show"),
    ("stats",),
    ("export",),
    ("remember", "written after the damage"),
    ("session", "add", "user", "an event after the damage"),
]


def _populate(home: Path, backend: str) -> None:
    from smartcontext_cli import MemoryStore

    store = MemoryStore(storage_backend=backend, base_dir=home)
    for i in range(40):
        store.remember(f"memory {i}: the deploy pipeline caches layer {i}", tags=["ops"])
    for i in range(30):
        store.add_session_item("user", f"We decided to pin dependency {i} in the deploy.")
    store.compact_session_schema(preserve_recent=5)
    store.store_artifact("notes.txt", "some notes\n" * 20)
    store.set_goal("ship the deploy pipeline")
    store.add_task("write the runbook")
    store.log_error("deploy", "AssertionError: expected 3 replicas")
    store.create_branch("feature-x")
    store.initialize_strategy("ops", "debugging")
    store.compile("deploy", token_budget=1500)
    store.close()


# Stores to damage: SQLite with committed frames still in its WAL (as after a crash), SQLite
# checkpointed (as after a clean exit: everything in store.db), and JSON.
VARIANTS = ("sqlite", "sqlite-closed", "json")


def template(root: Path, variant: str) -> Path:
    home = root / f"corrupt-template-{variant}"
    if home.exists():
        return home
    _populate(home, variant.split("-")[0])
    if variant == "sqlite":
        # Leave committed frames in the WAL, as after a crash, so the WAL can be damaged too.
        pid = os.fork()
        if pid == 0:
            from smartcontext_cli.models import Memory
            from smartcontext_cli.storage import open_storage

            store = open_storage(home, "default", "sqlite")
            for i in range(15):
                store.add_memories([Memory(content=f"in the wal {i} " + "x" * 2000)])
            os.kill(os.getpid(), signal.SIGKILL)
        os.waitpid(pid, 0)
    return home


def targets(home: Path, variant: str) -> list[Path]:
    ns = home / "namespaces" / "default"
    if variant == "sqlite":
        return [ns / "store.db", ns / "store.db-wal", ns / "store.db.commit"]
    if variant == "sqlite-closed":
        return [ns / "store.db", ns / "store.db.commit"]
    files = [ns / "store.json", ns / "counters.json", sorted((ns / "memories").glob("*.json"))[3]]
    for collection in sorted(p.name for p in (ns / "docs").iterdir()):
        files.append(sorted((ns / "docs" / collection).glob("*.json"))[0])
    return files


def damage(path: Path, kind: str, rng: random.Random) -> bool:
    """Apply ``kind`` to ``path``; False when it does not apply to this file."""
    if kind == "delete":
        path.unlink()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "garble":
        data = bytearray(path.read_bytes())
        size = max(1, min(512, len(data) // 4))
        start = (
            rng.randrange(0, max(1, len(data) - size))
            if path.name != "store.db"
            else (rng.randrange(100, max(101, len(data) - size)))
        )
        data[start : start + size] = os.urandom(size)
        path.write_bytes(bytes(data))
    elif kind == "wrong-shape":
        if path.name == "store.db":
            db = sqlite3.connect(path)
            db.execute("UPDATE docs SET data = '{\"unexpected\": true}' WHERE collection = 'tasks'")
            db.commit()
            db.close()
        elif path.suffix == ".json":
            path.write_text('{"unexpected": [1, 2, 3]}')
        else:
            return False
    return True


def _pristine(root: Path, backend: str) -> list[dict[str, Any]]:
    """The template's records, read from a copy (a read-write open checkpoints the WAL away)."""
    probe = root / f"corrupt-probe-{backend}"
    shutil.rmtree(probe, ignore_errors=True)
    shutil.copytree(template(root, backend), probe)
    try:
        return export(probe)
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def _probe(home: Path, root: Path) -> list[dict[str, Any]] | None:
    """What a reader gets from the damaged store right after the damage; None if refused."""
    probe = root / "corrupt-probe"
    shutil.rmtree(probe, ignore_errors=True)
    shutil.copytree(home, probe)
    try:
        return export(probe)
    except Exception:
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def _tasks_row(path: Path) -> Any:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT key, data FROM docs WHERE collection = 'tasks'").fetchall()
    finally:
        db.close()


# The bounded run: fewer commands per case (each still reads or writes what the damage hits).
QUICK = [COMMANDS[i] for i in (0, 2, 3, 4, 9, 10)]


def case(
    root: Path, backend: str, index: int, kind: str, rng: random.Random, full: bool = True
) -> dict[str, Any]:
    if (root, backend) not in _PRISTINE:
        _PRISTINE[root, backend] = _pristine(root, backend)
    pristine = _PRISTINE[root, backend]
    home = root / f"corrupt-{backend}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template(root, backend), home)
    path = targets(home, backend)[index]
    name = str(path.relative_to(home / "namespaces" / "default"))
    if not damage(path, kind, rng):
        return {"backend": backend, "file": name, "damage": kind, "applies": False}
    record_damage = path.name == "store.db" and kind == "wrong-shape"
    damaged = _tasks_row(path) if record_damage else path.read_bytes() if path.exists() else None
    seen = _probe(home, root)
    problems: list[str] = []
    named = refused = False
    for args in COMMANDS if full else QUICK:
        run = cli(home, *args)
        problem = bad_output(run)
        if problem:
            problems.append(f"{args[0]}: {problem}")
        if run.code and _names(run.err, path):
            refused = named = True
    doctor = cli(home, "doctor", "--json")
    findings = [f for ns in doctor.json()["namespaces"] for f in ns["findings"]]
    flagged = [f for f in findings if f["severity"] == "error"]
    named |= any(_names(f["where"] + " " + f["problem"], path) for f in flagged)
    detected = bool(flagged) or refused
    still = _tasks_row(path) if record_damage else path.read_bytes() if path.exists() else None
    repaired = cli(home, "doctor", "--repair", "--json")
    after = cli(home, "doctor", "--json")
    return {
        "backend": backend,
        "file": name,
        "damage": kind,
        "applies": True,
        "detected": detected,
        "named": named,
        # Damage reported must still be there, as it was, for the user to look at or repair
        # (a deleted file may come back empty: SQLite creates an empty -wal when it opens).
        "overwritten": detected and still != damaged and (damaged is not None or bool(still)),
        # Nothing is indistinguishable by design any more: a JSON record file deleted by hand
        # is listed by the index (memories) or its collection's listing (documents).
        "by_design": False,
        "variant": backend,
        # Undetected: either nothing changed for a reader (harmless) or it changed silently.
        "harmless": not detected and seen == pristine,
        "silent": not detected and seen != pristine,
        "contract_failures": problems,
        "repair_ok": after.code == 0 and repaired.code in (0, 1),
    }


_PRISTINE: dict[tuple[Path, str], list[dict[str, Any]]] = {}


def _names(text: str, path: Path) -> bool:
    # The file itself, or (SQLite) the database holding the damaged record or WAL.
    return path.name in text or (path.name.startswith("store.db") and "store.db" in text)


def figures(root: Path, full: bool, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    results = []
    for variant in VARIANTS:
        count = len(targets(template(root, variant), variant))
        # Bounded: one damage per file, the JSON files of four collections only.
        indexes = range(count) if full or variant != "json" else range(min(count, 7))
        for index in indexes:
            kinds = DAMAGES if full else (DAMAGES[(index + len(variant)) % len(DAMAGES)],)
            if not full and variant == "json" and index in (2, 3) and "delete" not in kinds:
                # One memory file and one document file deleted by hand (issue 14).
                kinds = (*kinds, "delete")
            for kind in kinds:
                results.append(case(root, variant, index, kind, rng, full))
    return [r for r in results if r["applies"]]
