"""``doctor`` for JSON stores: the commit journal, temp files, and every file's syntax and shape.

Files are checked one by one before the store is opened (opening stops at the first bad
file); a damaged record file is quarantined, the marker and the counters are rebuilt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import numbering, schemas
from .errors import StoreCorruptError
from .storage.base import SCHEMA_VERSION

if TYPE_CHECKING:
    from .doctor import Doctor, NamespaceReport


def check_json(doctor: Doctor, report: NamespaceReport, root: Path) -> None:
    from .storage.json_store import COUNTERS_FILE, STORE_FILE

    _journal(doctor, report, root)
    _temps(doctor, report, root)
    good_docs = _files(doctor, report, root)
    marker_ok = _marker(doctor, report, root / STORE_FILE)
    counters_ok = _counters(doctor, report, root / COUNTERS_FILE, good_docs)
    if not marker_ok:
        return
    if doctor.blocked(report):
        return
    storage = doctor.open(report)
    if storage is None:
        return
    try:
        # Records the index or a listing holds whose file is gone cannot be read: the checks
        # that read the store whole wait for the repair.
        if not (_index(doctor, report, root, storage) & _listings(doctor, report, storage)):
            return
        report.memories = storage.count_memories()
        docs = doctor.documents(
            report,
            storage,
            lambda c, k, d: _quarantine(doctor, report, root, storage.doc_path(c, k)),
        )
        if counters_ok:
            doctor.counters(report, storage, docs)
        doctor.branches(report, storage, docs)
        doctor.artifacts(report, storage, docs)
        _listings(doctor, report, storage)  # documents the checks above moved aside
    finally:
        storage.close()


def _index(doctor: Doctor, report: NamespaceReport, root: Path, storage: Any) -> bool:
    """Memories the index lists whose file is gone: deleted (or quarantined), never absorbed.
    False while such damage is left."""
    missing: list[str] = storage.missing_memory_files()
    if not missing:
        return True
    names = ", ".join(f"{mid}.json" for mid in missing[:5]) + (" ..." if len(missing) > 5 else "")
    finding = report.add(
        "index",
        root / "memories" / f"{missing[0]}.json",
        f"{len(missing)} memory file(s) the store holds are missing: {names}",
        fix="restore them, or rebuild the index from the files (drops those memories)",
    )
    if doctor.repair:
        storage.rebuild_index()
        finding.fix = f"rebuilt the index from the files; dropped {len(missing)}: {names}"
        finding.repaired = True
    return finding.repaired


def _listings(doctor: Doctor, report: NamespaceReport, storage: Any) -> bool:
    """Documents a collection's listing holds whose file is gone: deleted by hand (or moved
    aside by a repair). False while such damage is left: the documents cannot be read."""
    gone = [
        storage.doc_path(c, k)
        for c in storage.listed_collections()
        for k in storage.missing_documents(c)
    ]
    if not gone:
        return True
    names = ", ".join(str(p) for p in gone[:5]) + (" ..." if len(gone) > 5 else "")
    finding = report.add(
        "index",
        gone[0],
        f"{len(gone)} document file(s) the store holds are missing: {names}",
        fix="restore them, or rebuild the listings from the files (drops those documents)",
    )
    if doctor.repair:
        storage.rebuild_listings()
        finding.fix = f"rebuilt the listings from the files; dropped {len(gone)}: {names}"
        finding.repaired = True
    return finding.repaired


def _quarantine(doctor: Doctor, report: NamespaceReport, root: Path, path: Path) -> str:
    target = doctor.quarantine(report.namespace, path, root)
    parent = path.parent
    if parent.parent == root / "docs" and not any(parent.iterdir()):
        parent.rmdir()
    return f"moved the file to {target}"


def _journal(doctor: Doctor, report: NamespaceReport, root: Path) -> None:
    from .storage.journal import WAL_FILE, read_journal, recover
    from .storage.json_store import is_safe_name

    wal = root / WAL_FILE
    if not wal.exists():
        return
    prunable = lambda d: d.parent == root / "docs"  # noqa: E731
    try:
        writes = read_journal(root, is_safe_name)
    except StoreCorruptError as exc:
        finding = report.add(
            "journal",
            wal,
            str(exc),
            fix="move the journal aside; the commit it held may be half applied",
        )
        if doctor.repair:
            finding.fix = f"moved it to {doctor.quarantine(report.namespace, wal, root)}"
            finding.repaired = True
        return
    finding = report.add(
        "journal",
        wal,
        f"a commit of {len(writes or [])} file(s) left by a killed process",
        severity="warning",
        fix="finish it (the next command would too)",
    )
    if doctor.repair:
        recover(root, is_safe_name, prunable)
        finding.fix, finding.repaired = "finished the commit", True


def _temps(doctor: Doctor, report: NamespaceReport, root: Path) -> None:
    from .storage.journal import TMP_PREFIX

    stale = [p for p in root.glob(f"{TMP_PREFIX}*") if p.is_file()]
    # Temp files of versions before 0.2 sat beside their target: .<name>.<random>.tmp
    for folder in [root / "memories", *(root / "docs").glob("*")]:
        if folder.is_dir():
            stale += [p for p in folder.glob(".*.tmp") if p.is_file()]
    if not stale:
        return
    finding = report.add(
        "temp files",
        stale[0],
        f"{len(stale)} temp file(s) left by killed writers",
        severity="warning",
        fix="delete them (never part of the store)",
    )
    if doctor.repair:
        for path in stale:
            path.unlink(missing_ok=True)
        finding.repaired = True


def _files(doctor: Doctor, report: NamespaceReport, root: Path) -> list[tuple[str, str, Any]]:
    """Every memory and document file parsed and checked; returns the good documents."""
    from .storage.json_store import _check_memory, _read_json, is_safe_name

    good: list[tuple[str, str, Any]] = []
    for path in sorted((root / "memories").glob("*.json")):
        if not is_safe_name(path.stem):
            continue
        try:
            _check_memory(path, _read_json(path))
        except StoreCorruptError as exc:
            _bad(doctor, report, root, path, str(exc))
    for folder in sorted((root / "docs").glob("*")):
        if not (folder.is_dir() and is_safe_name(folder.name)):
            continue
        for path in sorted(folder.glob("*.json")):
            if not is_safe_name(path.stem):
                continue
            try:
                data = _read_json(path)
            except StoreCorruptError as exc:
                _bad(doctor, report, root, path, str(exc))
                continue
            if isinstance(data, dict) and not schemas.problems(folder.name, path.stem, data):
                good.append((folder.name, path.stem, data))
    return good


def _bad(doctor: Doctor, report: NamespaceReport, root: Path, path: Path, problem: str) -> None:
    finding = report.add(
        "integrity",
        path,
        problem,
        fix="move the file aside (quarantine) so the rest of the store can be read",
    )
    if doctor.repair:
        finding.fix = _quarantine(doctor, report, root, path)
        finding.repaired = True


def _marker(doctor: Doctor, report: NamespaceReport, path: Path) -> bool:
    from .storage.json_store import MIGRATIONS, _read_json, new_state

    problem = None
    try:
        data = _read_json(path)
    except FileNotFoundError:
        problem = f"{path} is missing"
    except StoreCorruptError as exc:
        problem = str(exc)
    else:
        version = data.get("schema_version") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("backend") != "json":
            problem = f"{path} is not a smartcontext JSON store marker"
        elif isinstance(version, int) and version > SCHEMA_VERSION:
            report.add("schema", path, f"written by a newer smartcontext (version {version})")
            return False
    if problem is None:
        return True
    finding = report.add(
        "integrity",
        path,
        problem,
        fix="write a new marker (it holds no records: metadata and a cache journal)",
    )
    if doctor.repair:
        moved = ""
        if path.exists():
            moved = (
                f"moved the old one to {doctor.quarantine(report.namespace, path, path.parent)}; "
            )
        state = new_state()
        state["migrations"] = [name for name, _ in MIGRATIONS]
        state["meta"]["schema_version"] = str(SCHEMA_VERSION)
        _write(path, json.dumps(state, indent=2) + "\n")
        finding.fix = moved + "wrote a new marker"
        finding.repaired = True
        return True
    return False


def _counters(
    doctor: Doctor, report: NamespaceReport, path: Path, docs: list[tuple[str, str, Any]]
) -> bool:
    from .storage.json_store import _read_json

    problem = None
    try:
        data = _read_json(path)
        if not isinstance(data, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in data.values()
        ):
            problem = f"{path} must map counter names to whole numbers"
    except FileNotFoundError:
        problem = f"{path} is missing: new records would reuse the numbers of existing ones"
    except StoreCorruptError as exc:
        problem = str(exc)
    if problem is None:
        return True
    rebuilt = numbering.highest(docs)
    finding = report.add(
        "counters",
        path,
        problem,
        fix=f"rebuild it from the records ({_describe(rebuilt)})",
    )
    if doctor.repair:
        moved = ""
        if path.exists():
            moved = (
                f"moved the old one to {doctor.quarantine(report.namespace, path, path.parent)}; "
            )
        _write(path, json.dumps(dict(sorted(rebuilt.items())), indent=2) + "\n")
        finding.fix = moved + f"rebuilt it from the records ({_describe(rebuilt)})"
        finding.repaired = True
        return True
    return False


def _aside(doctor: Doctor, report: NamespaceReport, path: Path) -> Path:
    return doctor.quarantine(report.namespace, path, path.parent)


def _describe(counters: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counters.items())) or "no numbered records"


def _write(path: Path, text: str) -> None:
    from .storage.journal import write_file

    write_file(path.parent, path, text)
    os.chmod(path, 0o600)
