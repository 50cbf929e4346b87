"""``smartcontext doctor``: check every namespace, and with ``repair`` fix what can be fixed.

What is checked, per namespace: the store files (integrity, the header and length of
``store.db``, commits lost from its WAL, every JSON file's syntax and shape), the schema
version, the search index against the memories (SQLite), every document against the shape the
code reads (``schemas``), counters against the records they number (``numbering``), branches
pointing at views that exist, artifacts left by an interrupted trim, unfinished commits and
migrations, stale temp files, and file permissions.

What ``repair`` does, always saying so in the finding's ``fix``:

* finishes what a crash left: replays a JSON commit journal, finishes or undoes a migration,
  deletes temp files and unfinished copies;
* rebuilds what is derived: the SQLite search index and term counts, counters (moved past the
  highest number in use), ``store.json`` (it holds no records);
* quarantines what cannot be read: the damaged file or record is moved, never deleted, to
  ``<home>/backups/<ns>/damaged-<time>/``, and the store goes on without it;
* restores an unreadable database: what can still be read is copied into a fresh store; if
  nothing can, the newest automatic backup is imported (and the finding says what is lost);
* tightens file modes to 0600/0700.

Nothing is repaired without ``repair``; a check never writes (SQLite is read through a
read-only connection first, so a damaged WAL is not checkpointed away by looking at it).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import numbering, schemas
from .errors import SmartContextError, StoreCorruptError
from .files import private_dirs

ARTIFACT_REF = re.compile(r"#a([1-9]\d*)\b")
TRIM_ARTIFACT = re.compile(r"session-\d+-[a-z][a-z0-9_.-]*")


@dataclass
class Finding:
    check: str
    where: str
    problem: str
    severity: str = "error"  # "error": the store is wrong; "warning": worth knowing
    fix: str | None = None  # what repair does (or did, when ``repaired``)
    repaired: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class NamespaceReport:
    namespace: str
    backend: str | None = None
    memories: int | None = None
    documents: int | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" and not f.repaired for f in self.findings)

    def add(self, check: str, where: Any, problem: str, **kw: Any) -> Finding:
        # Messages from the stores name the file themselves; once is enough.
        if problem.startswith(str(where)):
            problem = problem[len(str(where)) :].lstrip(" :")
        finding = Finding(check, str(where), problem, **kw)
        self.findings.append(finding)
        return finding

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "backend": self.backend,
            "ok": self.ok,
            "memories": self.memories,
            "documents": self.documents,
            "findings": [f.to_dict() for f in self.findings],
        }


class Doctor:
    """One run over a data directory (``repair`` or not)."""

    def __init__(self, home: Path, repair: bool = False) -> None:
        self.home = home
        self.repair = repair
        self.stamp = time.strftime("%Y%m%d-%H%M%S")

    # quarantine ------------------------------------------------------------------------------

    def quarantine_dir(self, namespace: str) -> Path:
        return self.home / "backups" / namespace / f"damaged-{self.stamp}"

    def quarantine(self, namespace: str, path: Path, root: Path) -> Path:
        """Move ``path`` (inside ``root``) aside, keeping its relative place; never deletes."""
        target = self.quarantine_dir(namespace) / path.relative_to(root)
        private_dirs(target.parent)
        n = 1
        while target.exists():
            n += 1
            target = target.with_name(f"{path.name}.{n}")
        shutil.move(str(path), str(target))
        return target

    def copy_aside(self, namespace: str, path: Path, root: Path) -> Path:
        target = self.quarantine_dir(namespace) / path.relative_to(root)
        private_dirs(target.parent)
        shutil.copy2(path, target)
        return target

    # the run ---------------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        from .config import NAMESPACE_RE

        root = self.home / "namespaces"
        if not root.is_dir():
            return []
        names = {p.name for p in root.iterdir() if p.is_dir() and NAMESPACE_RE.fullmatch(p.name)}
        # A namespace whose directory is gone mid-migration still has its copy to finish.
        for p in root.iterdir():
            if p.name.startswith(".migrating-"):
                names.add(_staging_namespace(p.name))
        return sorted(n for n in names if n and not n.startswith("."))

    def check(self, namespace: str) -> NamespaceReport:
        from .storage import existing_backend, namespace_dir

        report = NamespaceReport(namespace)
        self._migration(report)
        ns_dir = namespace_dir(self.home, namespace)
        try:
            report.backend = existing_backend(ns_dir)
        except StoreCorruptError as exc:
            report.add("integrity", ns_dir, str(exc))
            return report
        if report.backend == "sqlite":
            from .doctor_sqlite import check_sqlite

            check_sqlite(self, report, ns_dir)
        elif report.backend == "json":
            from .doctor_json import check_json

            check_json(self, report, ns_dir)
        elif report.backend == "postgres":
            self._postgres(report)
        self._permissions(report, ns_dir)
        return report

    def _postgres(self, report: NamespaceReport) -> None:
        """A namespace in PostgreSQL: its schema version and its search statistics."""
        from .config import Settings
        from .storage import open_storage
        from .storage.postgres_schema import MIGRATIONS

        where = self.home / "namespaces" / report.namespace / "store.postgres"
        url = Settings.load(self.home).get("database_url")
        try:
            storage: Any = open_storage(
                self.home, report.namespace, "postgres", create=False, database_url=url
            )
        except SmartContextError as exc:
            report.add("integrity", where, str(exc))
            return
        try:
            applied = set(storage.applied_migrations())
            missing = [name for name, _ in MIGRATIONS if name not in applied]
            if missing:
                report.add("schema", where, f"migrations not applied: {', '.join(missing)}")
            for problem in storage.index_problems():
                report.add("search index", where, problem)
            report.memories = storage.count_memories()
        except SmartContextError as exc:
            report.add("integrity", where, str(exc))
        finally:
            storage.close()

    def blocked(self, report: NamespaceReport) -> bool:
        """Whether damage left unrepaired stops the checks that read the store as a whole."""
        # A journal left by a killed writer would be replayed by opening the store: a write.
        if all(f.repaired or f.check not in ("integrity", "journal") for f in report.findings):
            return False
        report.add(
            "documents",
            self.home / "namespaces" / report.namespace,
            "not checked (nor counters, branches, artifacts) until the problems above are repaired",
            severity="warning",
        )
        return True

    def open(self, report: NamespaceReport) -> Any:
        """The namespace's store opened as commands open it, or None (damage recorded)."""
        from .storage import open_storage

        try:
            return open_storage(self.home, report.namespace, str(report.backend), create=False)
        except SmartContextError as exc:
            report.add("integrity", self.home / "namespaces" / report.namespace, str(exc))
            return None

    # checks both backends share ----------------------------------------------------------------

    def _migration(self, report: NamespaceReport) -> None:
        from . import migrate

        ns = report.namespace
        if migrate.pending(self.home, ns):
            finding = report.add(
                "migration",
                migrate.staging_dir(self.home, ns),
                "a migration was interrupted (the next command finishes or undoes it)",
                severity="warning",
                fix="finish it (copy complete) or remove the unfinished copy",
            )
            if self.repair:
                finding.fix = migrate.recover(self.home, ns) or finding.fix
                finding.repaired = True

    def documents(self, report: NamespaceReport, storage: Any, fix_doc: Any) -> list[Any]:
        """Check every document's shape; returns (collection, key, data) of the good ones."""
        from .storage.guard import describe

        good = []
        total = 0
        for collection in storage.collections():
            for key, data in storage.list_docs(collection):
                total += 1
                found = schemas.problems(collection, key, data)
                if not found:
                    good.append((collection, key, data))
                    continue
                finding = report.add(
                    "documents",
                    describe(storage, collection, key),
                    "; ".join(found),
                    fix="move the record aside (quarantine) so the commands reading it work",
                )
                if self.repair:
                    finding.fix = fix_doc(collection, key, data)
                    finding.repaired = True
        report.documents = total
        return good

    def counters(self, report: NamespaceReport, storage: Any, docs: list[Any]) -> None:
        current = storage.get_counters()
        for counter, used in sorted(numbering.highest(docs).items()):
            have = current.get(counter, 0)
            if have >= used:
                continue
            finding = report.add(
                "counters",
                f"counter '{counter}'",
                f"is at {have} but records use numbers up to {used}: the next ones are taken",
                fix=f"move it to {used}",
            )
            if self.repair:
                storage.set_counter(counter, used)
                finding.fix, finding.repaired = f"moved it from {have} to {used}", True

    def branches(self, report: NamespaceReport, storage: Any, docs: list[Any]) -> None:
        from .storage.guard import describe

        views = {int(k) for c, k, _ in docs if c == "session_views"}
        for collection, key, data in docs:
            if collection != "branches" or data.get("view") is None or data["view"] in views:
                continue
            missing = describe(storage, "session_views", f"{data['view']:08d}")
            finding = report.add(
                "branches",
                describe(storage, collection, key),
                f"branch {data.get('name')!r} points at view {data['view']} ({missing}), "
                "which does not exist",
                fix="point it at no view: the branch shows its raw log (nothing was deleted)",
            )
            if self.repair:
                storage.put_doc(collection, key, {**data, "view": None})
                finding.repaired = True

    def artifacts(self, report: NamespaceReport, storage: Any, docs: list[Any]) -> None:
        """References to artifacts that do not exist, and trim artifacts nothing refers to."""
        stored = {int(k[1:]) for c, k, _ in docs if c == "artifacts"}
        referenced: set[int] = set()
        for memory in storage.iter_memories():
            referenced.update(int(n) for n in ARTIFACT_REF.findall(memory.content))
        for collection, _, data in docs:
            if collection == "artifacts":
                continue
            referenced.update(int(n) for n in ARTIFACT_REF.findall(repr(data)))
        for n in sorted(referenced - stored):
            report.add(
                "artifacts",
                f"#a{n}",
                "is referenced but not stored (a deleted or never-imported artifact)",
                severity="warning",
            )
        for collection, key, data in docs:
            n = int(key[1:]) if collection == "artifacts" else 0
            if n and n not in referenced and TRIM_ARTIFACT.fullmatch(str(data.get("name", ""))):
                report.add(
                    "artifacts",
                    f"#a{n} {data.get('name')}",
                    "was saved by a trim that never took effect; nothing refers to it",
                    severity="warning",
                )

    def _permissions(self, report: NamespaceReport, ns_dir: Path) -> None:
        wrong = []
        for path in [ns_dir, *ns_dir.rglob("*")] if ns_dir.exists() else []:
            try:
                mode = stat.S_IMODE(path.lstat().st_mode)
            except FileNotFoundError:
                continue
            want = 0o700 if path.is_dir() else 0o600
            if mode & ~want:
                wrong.append((path, mode, want))
        if not wrong:
            return
        finding = report.add(
            "permissions",
            wrong[0][0],
            f"{len(wrong)} file(s) readable by others (first: {oct(wrong[0][1])})",
            severity="warning",
            fix="make files 0600 and directories 0700",
        )
        if self.repair:
            for path, _, want in wrong:
                os.chmod(path, want)
            finding.repaired = True


def _staging_namespace(name: str) -> str:
    rest = name[len(".migrating-") :]
    # Older versions appended "-YYYYmmdd-HHMMSS".
    return re.sub(r"-\d{8}-\d{6}(?:-\d+)?$", "", rest)


def run(home: Path, namespace: str | None = None, repair: bool = False) -> dict[str, Any]:
    """Check (and repair) one namespace or all; the JSON shape of ``smartcontext doctor``."""
    from .config import validate_namespace

    doctor = Doctor(home, repair)
    names = [validate_namespace(namespace)] if namespace else doctor.namespaces()
    reports = [doctor.check(name) for name in names]
    return {
        "home": str(home),
        "repair": repair,
        "ok": all(r.ok for r in reports),
        "namespaces": [r.to_dict() for r in reports],
    }
