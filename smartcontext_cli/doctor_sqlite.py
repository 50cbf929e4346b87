"""``doctor`` for SQLite stores: file, WAL commits, integrity, schema, search index; restore.

The checks read through a read-only connection first: a read-write one checkpoints the WAL on
close and would erase the very damage being looked at.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SmartContextError, StoreCorruptError
from .models import MEMORY_FIELDS

if TYPE_CHECKING:
    from .doctor import Doctor, Finding, NamespaceReport

DB = "store.db"


def check_sqlite(doctor: Doctor, report: NamespaceReport, ns_dir: Path) -> None:
    from .storage.sqlite_checks import check_file, db_commit, lost_commits, read_commit

    path = ns_dir / DB
    _temps(doctor, report, ns_dir)
    try:
        if not path.exists():
            raise StoreCorruptError(f"{path} is missing although the files of its WAL remain")
        check_file(path)
    except StoreCorruptError as exc:
        finding = report.add("integrity", path, str(exc), fix=RESTORE)
        if doctor.repair:
            restore(doctor, report, ns_dir, finding)
        return
    bad_record = False
    try:
        expected = read_commit(path)
    except StoreCorruptError as exc:
        bad_record, expected = True, None
        finding = report.add("integrity", path.with_name(DB + ".commit"), str(exc))
        finding.fix = "rewrite it from the database"
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        actual = db_commit(ro)
        integrity = [str(r[0]) for r in ro.execute("PRAGMA integrity_check(20)")]
        migrations = {str(r[0]) for r in ro.execute("SELECT name FROM migrations")}
    except sqlite3.DatabaseError as exc:
        actual, integrity, migrations = 0, [str(exc)], set()
    finally:
        ro.close()
    lost = lost_commits(path, expected, actual)
    if lost is not None:
        finding = report.add(
            "integrity",
            path,
            str(lost),
            fix="keep copies of the damaged files, then accept what SQLite can read "
            "(the lost commits cannot be recovered; an older backup may hold them)",
        )
        if doctor.repair:
            kept = [
                doctor.copy_aside(report.namespace, p, ns_dir)
                for p in (path, path.with_name(DB + "-wal"))
                if p.exists()
            ]
            _rewrite_record(path, actual)
            where = kept[0].parent if kept else "nowhere"
            finding.fix = f"copied the damaged files to {where} and accepted commit {actual}"
            finding.repaired = True
    elif bad_record and doctor.repair:
        _rewrite_record(path, actual)
        report.findings[-1].repaired = True
    if integrity != ["ok"]:
        finding = report.add("integrity", path, "; ".join(integrity[:5]), fix=RESTORE)
        if doctor.repair:
            restore(doctor, report, ns_dir, finding)
        return
    _schema(report, path, migrations)
    if doctor.blocked(report):
        return
    storage = doctor.open(report)
    if storage is None:
        return
    try:
        report.memories = storage.count_memories()
        _index(doctor, report, storage)
        docs = doctor.documents(
            report, storage, lambda c, k, d: _quarantine_doc(doctor, report, storage, c, k, d)
        )
        doctor.counters(report, storage, docs)
        doctor.branches(report, storage, docs)
        doctor.artifacts(report, storage, docs)
    finally:
        storage.close()


def _temps(doctor: Doctor, report: NamespaceReport, ns_dir: Path) -> None:
    """Half-built stores of a creator killed before it linked its store into place."""
    import time

    stale = [
        p
        for p in ns_dir.glob(f".{DB}.new-*")
        if time.time() - p.stat().st_mtime > 60  # a live creator finishes in well under that
    ]
    if not stale:
        return
    finding = report.add(
        "temp files",
        stale[0],
        f"{len(stale)} half-built store file(s) of a killed process",
        severity="warning",
        fix="delete them (never part of the store)",
    )
    if doctor.repair:
        for p in stale:
            p.unlink(missing_ok=True)
        finding.repaired = True


RESTORE = (
    "move the damaged files aside, then rebuild the store from what can still be read "
    "(or, if nothing can, from the newest automatic backup)"
)


def _rewrite_record(path: Path, seq: int) -> None:
    from .storage.sqlite_checks import write_commit

    write_commit(path, seq)


def _schema(report: NamespaceReport, path: Path, migrations: set[str]) -> None:
    from .storage.sqlite_migrations import MIGRATIONS

    known = {name for name, _ in MIGRATIONS}
    if migrations - known:
        report.add(
            "schema",
            path,
            f"written by a newer smartcontext (migrations {sorted(migrations - known)})",
        )
    elif known - migrations:
        report.add(
            "schema",
            path,
            f"{len(known - migrations)} migration(s) not applied yet",
            severity="warning",
            fix="applied the next time the store is opened for writing",
        )


def _index(doctor: Doctor, report: NamespaceReport, storage: Any) -> None:
    """The FTS index against the memories table, and the per-term counts against the index."""
    from .storage.sqlite_ranking import index_totals

    db = storage.db
    problems = []
    try:
        db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('integrity-check')")
        terms = dict(db.execute("SELECT term, docs FROM memories_terms"))
        vocab = dict(db.execute("SELECT term, doc FROM memories_vocab"))
        rows = int(db.execute("SELECT count(*) FROM memories").fetchone()[0])
        indexed = index_totals(db)[0]
    except sqlite3.DatabaseError as exc:
        problems.append(f"the full-text index is damaged ({exc})")
    else:
        if indexed != rows:
            problems.append(f"the full-text index counts {indexed} memories, the table {rows}")
        wrong = sum(1 for t in terms.keys() | vocab.keys() if terms.get(t) != vocab.get(t))
        if wrong:
            problems.append(f"{wrong} per-term document counts disagree with the index")
    if not problems:
        return
    finding = report.add(
        "index", storage.path, "; ".join(problems), fix="rebuild the index from the memories"
    )
    if doctor.repair:
        with storage.transaction():
            db.execute("INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')")
            db.execute("DELETE FROM memories_terms")
            db.execute("INSERT INTO memories_terms SELECT term, doc FROM memories_vocab")
            storage.memories_changed()  # searches see the rebuilt index
        finding.repaired = True
        finding.fix = "rebuilt the full-text index and the term counts from the memories"


def _quarantine_doc(
    doctor: Doctor, report: NamespaceReport, storage: Any, collection: str, key: str, data: Any
) -> str:
    import json

    from .files import private_dirs, write_private

    folder = doctor.quarantine_dir(report.namespace)
    private_dirs(folder)
    target = folder / f"{collection}.{key}.json"
    write_private(target, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    storage.delete_doc(collection, key)
    return f"moved the record to {target}"


# restore -------------------------------------------------------------------------------------


def salvage(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Export records still readable from a damaged database (no index needed), and the tables
    that could not be read."""
    records: list[dict[str, Any]] = []
    lost: list[str] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.DatabaseError:
        return [], ["memories", "docs", "counters"]
    try:
        for table, sql, build in (
            ("memories", f"SELECT {', '.join(MEMORY_FIELDS)} FROM memories", _memory_record),
            ("docs", "SELECT collection, key, data FROM docs", _doc_record),
            ("counters", "SELECT name, value FROM counters", _counter_record),
        ):
            try:
                rows = db.execute(sql).fetchall()
            except sqlite3.DatabaseError:
                lost.append(table)
                continue
            for row in rows:
                record = build(row)
                if record is not None:
                    records.append(record)
    finally:
        db.close()
    return records, lost


def _memory_record(row: Any) -> dict[str, Any] | None:
    import json

    data = dict(zip(MEMORY_FIELDS, row, strict=True))
    try:
        data["tags"] = json.loads(data["tags"])
    except (TypeError, ValueError):
        data["tags"] = []
    return {"type": "memory", **data}


def _doc_record(row: Any) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(row[2])
    except (TypeError, ValueError):
        return None
    return {"type": "doc", "collection": row[0], "key": row[1], "data": data}


def _counter_record(row: Any) -> dict[str, Any] | None:
    return {"type": "counter", "name": row[0], "value": row[1]}


def restore(doctor: Doctor, report: NamespaceReport, ns_dir: Path, finding: Finding) -> None:
    """Rebuild an unreadable store from what can be read, else from the newest backup."""
    from . import backups
    from .storage import open_storage
    from .storage.transfer import Plan, prepare, read_jsonl, write_plan

    path = ns_dir / DB
    records, lost = salvage(path) if path.exists() and path.stat().st_size else ([], ["all"])
    source = "what could still be read from the damaged file"
    newest = backups.listing(doctor.home, report.namespace)
    if lost and newest:
        with open(newest[-1], encoding="utf-8") as fh:
            records = list(read_jsonl(fh, str(newest[-1])))
        source = f"the automatic backup {newest[-1]} (changes made after it are lost)"
        lost = []
    elif lost and not records:
        finding.fix = (
            "nothing can be read from it and there is no backup: left as it is; restore "
            "store.db by hand"
        )
        return
    plan, skipped = _plan(records, prepare, Plan)
    moved = [
        doctor.quarantine(report.namespace, p, ns_dir)
        for p in sorted(ns_dir.iterdir())
        if p.name.startswith(DB)
    ]
    try:
        storage = open_storage(doctor.home, report.namespace, "sqlite")
    except SmartContextError as exc:
        finding.fix = f"moved the damaged files to {moved[0].parent} but could not rebuild: {exc}"
        return
    try:
        counts = write_plan(storage, plan)
    finally:
        storage.close()
    tail = f"; lost: tables {', '.join(lost)}" if lost else ""
    tail += f"; {skipped} unreadable record(s) left out" if skipped else ""
    finding.fix = (
        f"moved the damaged files to {moved[0].parent if moved else '-'} and rebuilt the store "
        f"from {source}: {counts['memories']} memories, {counts['docs']} documents{tail}"
    )
    finding.repaired = True


def _plan(records: list[dict[str, Any]], prepare: Any, plan_type: Any) -> tuple[Any, int]:
    """The records that pass the import checks; the rest are counted, not written."""
    from .errors import UsageError

    good, skipped = [], 0
    for record in records:
        try:
            prepare([record])
        except UsageError:
            skipped += 1
            continue
        good.append(record)
    try:
        return prepare(good), skipped
    except UsageError:  # duplicates across records: keep the first of each
        return plan_type(), skipped
