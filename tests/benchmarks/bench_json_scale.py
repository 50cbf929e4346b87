"""The JSON backend at scale: ``list``, ``search`` and ``compile`` at 50,000 memories vs SQLite.

Issue 14's target: after ``smartcontext migrate --to json`` of 50,000 memories, each of ``list``,
``search`` and ``compile`` (the CLI, end to end, one new process each, as a user runs them)
within 3x of SQLite's time on the same memories; and a migration whose progress estimate does
not lie. The "before" rows run the JSON code this branch started from (``--before``, default:
the parent of the commit that added ``storage/json_index.py``), unpacked from git into a temp
directory, in the same run, so the ratios compare like with like.

Steps: a cached SQLite store of ``--size`` corpus memories; for each JSON version, a copy of it
migrated to JSON by that version's own ``migrate_namespace`` (timed; every progress update is
recorded, and we report how far the estimate it implies, "remaining at the mean rate so far",
was from the time that really remained, worst case past 10%); then each command ``--rounds``
times per store, median.

    python tests/benchmarks/bench_json_scale.py            # 50,000 memories, 5 rounds
    python tests/benchmarks/bench_json_scale.py --quick    # 5,000 memories, 3 rounds
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import _corpus

MIGRATE = r"""
import json, sys, time
from smartcontext_cli import MemoryStore
from smartcontext_cli.migrate import migrate_namespace
home = sys.argv[1]
samples = []
def factory(total, description):
    done = [0]
    samples.append({"phase": description, "total": total, "at": [[time.perf_counter(), 0]]})
    def advance(n):
        done[0] += n
        samples[-1]["at"].append([time.perf_counter(), done[0]])
    return advance
store = MemoryStore(namespace="bench", base_dir=home)
t0 = time.perf_counter()
migrate_namespace(store, "json", progress_factory=factory)
end = time.perf_counter()
print(json.dumps({"seconds": end - t0, "end": end, "phases": samples}))
"""

COMMANDS = {
    "list": ["list"],
    "search": ["search", "{query}"],
    "compile": ["compile", "--query", "{query}"],
}
QUERIES = ["redis session cache", "why did we choose postgres", "kubernets deploy timeout"]


def tree_at(revision: str, into: Path) -> Path:
    """The package as it was at ``revision`` (git archive), for the "before" rows."""
    raw = subprocess.run(
        ["git", "-C", str(_corpus.ROOT), "archive", revision, "smartcontext_cli"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(raw)) as tar:
        tar.extractall(into, filter="data")
    return into


def before_revision() -> str:
    added = subprocess.run(
        ["git", "-C", str(_corpus.ROOT), "log", "--diff-filter=A", "--format=%H", "--",
         "smartcontext_cli/storage/json_index.py"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not added:
        raise SystemExit("no commit adds storage/json_index.py: pass --before REV")
    return added[-1] + "^"


def env_for(root: Path, code: Path | None, home: Path) -> dict[str, str]:
    env = _corpus.subprocess_env(root)
    env["SMARTCONTEXT_HOME"] = str(home)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


def eta_error(run: dict[str, Any]) -> float:
    """Worst |estimated - real remaining| / real duration of a phase, past 10% of it."""
    worst = 0.0
    for phase in run["phases"]:
        points = phase["at"]
        if len(points) < 3 or not phase["total"]:
            continue
        t0, end = points[0][0], points[-1][0]
        if phase is run["phases"][-1]:
            end = run["end"]  # the last phase ends when the migration returns
        for t, done in points[1:]:
            if done < 0.1 * phase["total"] or done >= phase["total"]:
                continue
            estimate = (t - t0) / done * (phase["total"] - done)
            worst = max(worst, abs(estimate - (end - t)) / (end - t0))
    return worst


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "smartcontext_cli", "-n", "bench", *cmd],
        capture_output=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.decode()[-500:]}")
    return elapsed


def measure(env: dict[str, str], rounds: int) -> dict[str, float]:
    out = {}
    for name, template in COMMANDS.items():
        samples = []
        timed([arg.format(query=QUERIES[0]) for arg in template], env)  # warm the page cache
        for r in range(rounds):
            query = QUERIES[r % len(QUERIES)]
            samples.append(timed([arg.format(query=query) for arg in template], env))
        out[name] = statistics.median(samples) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 memories, 3 rounds")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--before", default=None, help="git revision of the 'before' JSON code")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "sc-bench-json")
    args = parser.parse_args()
    size = args.size or (5_000 if args.quick else 50_000)
    rounds = args.rounds or (3 if args.quick else 5)
    before = subprocess.run(
        ["git", "-C", str(_corpus.ROOT), "rev-parse", args.before or before_revision()],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip

    sqlite_home = _corpus.cached_sqlite(args.dir, size, reuse=True)
    work = Path(tempfile.mkdtemp(prefix="sc-json-scale-", dir=args.dir))
    try:
        old_code = tree_at(before, work / "before-code")
        variants: list[tuple[str, Path | None]] = [
            (f"json before ({before[:12]})", old_code),
            ("json with the index", None),
        ]
        homes: dict[str, Path] = {}
        migrations: dict[str, dict[str, Any]] = {}
        for label, code in variants:
            home = work / f"home-{len(homes)}"
            shutil.copytree(sqlite_home, home)
            proc = subprocess.run(
                [sys.executable, "-c", MIGRATE, str(home)],
                capture_output=True, text=True, env=env_for(args.dir, code, home),
            )  # fmt: skip
            if proc.returncode != 0:
                raise SystemExit(f"{label}: migrate failed: {proc.stderr[-800:]}")
            migrations[label] = json.loads(proc.stdout.splitlines()[-1])
            homes[label] = home
            print(f"  {label}: migrated in {migrations[label]['seconds']:.1f} s", file=sys.stderr)
        results = {"sqlite": measure(env_for(args.dir, None, sqlite_home), rounds)}
        for label, code in variants:
            results[label] = measure(env_for(args.dir, code, homes[label]), rounds)
            print(f"  {label}: {results[label]}", file=sys.stderr)
        load = os.getloadavg()[0]
        print(
            f"\n{size:,} memories, median of {rounds} CLI runs each, "
            f"load average {load:.1f} on {os.cpu_count()} CPUs\n"
        )
        base = results["sqlite"]
        rows = []
        for label, r in results.items():
            cells = [label]
            for name in COMMANDS:
                cells.append(f"{r[name]:,.0f}")
                cells.append(f"{r[name] / base[name]:.2f}")
            run = migrations.get(label)
            cells.append(f"{run['seconds']:.1f}" if run else "-")
            cells.append(f"{eta_error(run):.0%}" if run else "-")
            rows.append(cells)
        headers = ["backend"]
        for name in COMMANDS:
            headers += [f"{name} ms", "vs sqlite"]
        headers += ["migrate --to json s", "worst ETA error"]
        print(_corpus.table(headers, rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
