"""Kills: SIGKILL a writer at a random moment, per backend and operation; afterwards the store
opens, passes ``doctor``, and holds exactly the acknowledged writes (operations all or nothing).

Each trial forks this process (so the kill lands inside the operation, not in Python's start-up),
runs the operation through the CLI entry point in the child, and kills it after a random delay
drawn from [0, 1.2 x the operation's measured duration).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from .common import cli, export

OPERATIONS = ("remember", "session add", "import", "compact", "undo", "migrate")
LOOP = 25  # remember / session add: writes per trial


def _template(root: Path, backend: str, op: str, imported: int = 300) -> Path:
    """A namespace to copy for each trial: memories, a session log, compacted for undo."""
    home = root / f"template-{backend}-{op.replace(' ', '-')}-{imported}"
    if home.exists():
        return home
    from smartcontext_cli import MemoryStore

    store = MemoryStore(storage_backend=backend, base_dir=home)
    for i in range(20):
        store.remember(f"seed memory {i}: the build uses cache layer {i}")
    for i in range(40):
        store.add_session_item("user", f"We decided to use tool {i} for step {i}.")
    if op == "undo":
        store.compact_session_schema(preserve_recent=5)
    store.close()
    if op == "import":
        lines = [{"type": "header", "format": "smartcontext-export", "version": 1}]
        lines += [
            {"type": "memory", "content": f"IMPORTED-{i} fact number {i}"} for i in range(imported)
        ]
        lines += [
            {"type": "doc", "collection": "notes", "key": f"k{i}", "data": {"i": i}}
            for i in range(30)
        ]
        (home / "import.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return home


def _child(home: Path, backend: str, op: str, out: int) -> None:
    """Runs in the forked child; reports progress through the pipe ``out``."""

    def say(text: str) -> None:
        os.write(out, (text + "\n").encode())

    if op in ("remember", "session add"):
        for i in range(LOOP):
            text = f"KILL-{i} written by the trial"
            say(f"begin {text}")
            args = ("remember", text) if op == "remember" else ("session", "add", "user", text)
            run = cli(home, *args)
            if run.code == 0:
                say(f"ack {text}")
    else:
        args = {
            "import": ("import", str(home / "import.jsonl")),
            "compact": ("compact", "-p", "5"),
            "undo": ("compact", "--undo"),
            "migrate": ("migrate", "--to", "json" if backend == "sqlite" else "sqlite"),
        }[op]
        run = cli(home, *args)
        say(f"done {run.code}")


def _fork(home: Path, backend: str, op: str, delay: float | None) -> tuple[list[str], bool]:
    """Run ``op`` in a child; kill it after ``delay`` seconds (None: let it finish)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        code = 0
        try:
            _child(home, backend, op, write)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write)
    killed = False
    if delay is not None:
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
            killed = True
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    killed = killed and os.WIFSIGNALED(status)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    return data.decode().splitlines(), killed


def _state(home: Path) -> dict[str, Any]:
    from smartcontext_cli import MemoryStore

    store = MemoryStore(base_dir=home)
    try:
        branch = store._branch()
        view = store._ops().view(branch.view)
        memories = {m.content: m.id for m in store.storage.iter_memories()}
        raw = [d["content"] for _, d in store.storage.list_docs("session")]
        return {
            "backend": store.backend,
            "view": branch.view,
            "view_memories": list(view.info.get("memories", [])) if view else [],
            "memories": memories,
            "raw": raw,
            "notes": len(store.storage.list_docs("notes")),
        }
    finally:
        store.close()


def _check(
    op: str, lines: list[str], before: dict[str, Any], after: dict[str, Any], same: str, n: int
) -> str | None:
    """Why the store after the kill is not an all-or-nothing result of ``op``, or None."""
    acked = {line[4:] for line in lines if line.startswith("ack ")}
    begun = [line[6:] for line in lines if line.startswith("begin ")]
    if op in ("remember", "session add"):
        held = list(after["memories"]) if op == "remember" else after["raw"]
        mine = [t for t in held if t.startswith("KILL-")]
        if any(mine.count(t) != 1 for t in set(mine)):
            return "a write is present twice"
        missing = acked - set(mine)
        if missing:
            return f"acknowledged but missing: {sorted(missing)[:3]}"
        extra = set(mine) - acked
        in_flight = set(begun[-1:]) - acked
        if extra - in_flight:
            return f"present but never attempted last: {sorted(extra - in_flight)[:3]}"
        return None
    if op == "import":
        got = sum(1 for t in after["memories"] if t.startswith("IMPORTED-"))
        whole = (got, after["notes"]) == (n, 30)
        none = (got, after["notes"]) == (0, 0)
        return None if whole or none else f"half an import: {got} memories, {after['notes']} docs"
    if op == "compact":
        added = set(after["memories"].values()) - set(before["memories"].values())
        if after["view"] == before["view"]:
            return None if not added else f"{len(added)} memories added without the compaction"
        if added != set(after["view_memories"]):
            return "the compaction's memories differ from what its view records"
        return None
    if op == "undo":
        undone = after["view"] != before["view"]
        present = [m for m in before["view_memories"] if m in after["memories"].values()]
        if undone and present:
            return f"undone, but {len(present)} of its memories remain"
        if not undone and len(present) != len(before["view_memories"]):
            return "not undone, but some of the compaction's memories are gone"
        return None
    # migrate: the namespace holds exactly the original records, in whichever backend won
    return None if same == "same" else "the records differ from before the migration"


def trials(
    root: Path, backend: str, op: str, count: int, rng: random.Random, imported: int = 300
) -> dict[str, Any]:
    template = _template(root, backend, op, imported)
    scratch = root / f"trial-{backend}"
    # Calibrate: how long the operation takes here, so kills land inside it. The fastest of
    # three: the first run pays for warming caches, and a kill drawn past the end of a short
    # operation (undo) tests nothing (one run left 68 of 100 undo kills after the end).
    runs = []
    for _ in range(3):
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(template, scratch)
        start = time.perf_counter()
        _fork(scratch, backend, op, None)
        runs.append(time.perf_counter() - start)
    duration = max(min(runs), 0.01)
    failures: list[str] = []
    killed_inside = 0
    for _ in range(count):
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(template, scratch)
        before = _state(scratch)
        original = export(scratch) if op == "migrate" else None
        lines, killed = _fork(scratch, backend, op, rng.uniform(0, duration * 1.2))
        killed_inside += killed
        problem = None
        try:
            after = _state(scratch)  # opening finishes what the kill left (journal, migration)
        except Exception as exc:
            problem = f"the store does not open: {exc}"
        doctor = cli(scratch, "doctor", "--json")
        if problem is None and doctor.code != 0:
            problem = (
                "doctor: "
                + json.dumps([f for ns in doctor.json()["namespaces"] for f in ns["findings"]])[
                    :500
                ]
            )
        if problem is None:
            same = "same" if op != "migrate" or export(scratch) == original else "differs"
            problem = _check(op, lines, before, after, same, imported)
            if problem is None and cli(scratch, "remember", "after the kill").code != 0:
                problem = "the store does not take a write after the kill"
        if problem:
            failures.append(problem)
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "backend": backend,
        "operation": op,
        "trials": count,
        "killed_mid_operation": killed_inside,
        "survived": count - len(failures),
        "duration_s": round(duration, 3),
        "failures": failures[:5],
    }


def figures(
    root: Path, count: int, seed: int = 13, small: bool = False, report: Any = None
) -> list[dict[str, Any]]:
    """Every (backend, operation)'s trials; ``report`` gets each result as it is measured (the
    full run takes most of an hour on a loaded machine)."""
    rng = random.Random(seed)
    imported = 60 if small else 300
    results = []
    for backend in ("sqlite", "json"):
        for op in OPERATIONS:
            results.append(trials(root, backend, op, count, rng, imported))
            if report:
                report(results[-1])
    return results
