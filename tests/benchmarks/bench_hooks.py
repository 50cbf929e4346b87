"""What the git hooks add to ``git commit``: the same commit with and without them, same run.

Target (issue 11): the installed hooks add at most 50 ms to ``git commit`` (median). Three
fresh repositories: no hooks, ``smartcontext hook install`` (the default: recording in the
background) and ``hook install --sync`` (recording before git returns, for scale). Every round
commits once in each, in turn, so a slow moment of this shared machine hits all alike; only
``git commit`` is timed (the file write and ``git add`` are not).

    python tests/benchmarks/bench_hooks.py            # 41 rounds
    python tests/benchmarks/bench_hooks.py --quick    # 11 rounds
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 50.0
MESSAGE = "Change {i}\n\nDecision: keep change {i} small\nWhy: reviews stay quick\n"


def git(repo: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(root: Path, name: str, env: dict[str, str], install: list[str] | None) -> Path:
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main", env=env)
    git(repo, "config", "user.name", "Bench", env=env)
    git(repo, "config", "user.email", "bench@example.com", env=env)
    git(repo, "config", "commit.gpgsign", "false", env=env)
    if install is not None:
        cmd = [sys.executable, "-m", "smartcontext_cli", "hook", "install", "--repo", str(repo)]
        subprocess.run([*cmd, *install], env=env, check=True, capture_output=True)
    return repo


def timed_commit(repo: Path, i: int, env: dict[str, str]) -> float:
    (repo / f"f{i}.txt").write_text(f"change {i}\n")
    git(repo, "add", f"f{i}.txt", env=env)
    t0 = time.perf_counter()
    subprocess.run(
        ["git", "commit", "-q", "-m", MESSAGE.format(i=i)],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="11 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (11 if args.quick else 41)

    with tempfile.TemporaryDirectory(prefix="smartcontext-bench-hooks-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "SMARTCONTEXT_HOME": str(root / "home")}
        repos = {
            "git commit, no hooks": make_repo(root, "plain", env, None),
            "git commit, smartcontext hook install (default)": make_repo(root, "bg", env, []),
            "git commit, hook install --sync (for scale)": make_repo(root, "sync", env, ["--sync"]),
        }
        samples: dict[str, list[float]] = {name: [] for name in repos}
        for repo in repos.values():  # warm-up: page cache, first store creation
            timed_commit(repo, 0, env)
        for i in range(1, rounds + 1):
            for name, repo in repos.items():
                samples[name].append(timed_commit(repo, i, env))
        time.sleep(2)  # let the last background recordings finish before the directory goes

    base = statistics.median(samples["git commit, no hooks"])
    print(
        f"\n`git commit` with and without the hooks, median of {rounds} interleaved rounds; "
        f"target: the default hooks add <= {TARGET_MS:.0f} ms\n"
    )
    print("| command | median ms | p90 ms | added ms | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, values in samples.items():
        med = statistics.median(values)
        p90 = sorted(values)[int(0.9 * (len(values) - 1))]
        added = med - base
        verdict = ""
        if "default" in name:
            verdict = "ok" if added <= TARGET_MS else "OVER"
        extra = "-" if name.endswith("no hooks") else f"{added:+.1f}"
        print(f"| `{name}` | {med:.1f} | {p90:.1f} | {extra} | {verdict} |")


if __name__ == "__main__":
    main()
