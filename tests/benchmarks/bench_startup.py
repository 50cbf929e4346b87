"""Cold start-up: a real ``smartcontext`` process against the floor of any Python tool.

Targets (issues 2 and 11): cold ``smartcontext search QUERY`` on a 100,000-memory SQLite store,
``smartcontext --help`` and ``smartcontext --version`` each take at most 4.0x
``python -c "import sqlite3, json"``, measured in the same run, in a REGULAR install. For scale
the table also shows a minimal two-command Typer app.

How the regular install is made: a virtualenv under ``--dir`` (``venv-regular``) into which
``pip install <checkout>`` builds and installs a wheel (not editable: no path finder in site's
.pth files, compiled bytecode as users get it); dependencies are installed the first time, the
package itself is reinstalled on every run so it is the checkout's code. ``--install current``
measures the interpreter running this script instead (an editable development install).

Why interleaved runs: the machine is shared and noisy, so every round runs each command once,
in turn, and we report medians; a slow minute hits all commands alike and the ratios hold.

    python tests/benchmarks/bench_startup.py            # 100,000 memories, 21 rounds
    python tests/benchmarks/bench_startup.py --quick    # 10,000 memories, 7 rounds
    python tests/benchmarks/bench_startup.py --reuse    # keep the store built by a previous run
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _corpus

TARGET = 4.0
MODULE = "smartcontext_cli"
FLOOR = 'python -c "import sqlite3, json"'
# Both words are in the corpus; the typo query takes the fuzzy path (rapidfuzz is imported).
QUERY = "postgres connection"
TYPO = "kubernets deploy"

HELLO = """
import typer

app = typer.Typer(add_completion=False)


@app.command()
def hello(name: str) -> None:
    print(f"hello {name}")


@app.command()
def bye(name: str) -> None:
    print(f"bye {name}")


app()
"""


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run.

    Why CPU time too: on a loaded shared machine the wall clock mostly measures waiting for a
    core (heavier processes wait more often), while user+system time is what the process
    itself costs; both columns are reported, ratios from the same run.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Exit 0 and output, always: a search that found nothing would time an empty code path.
    if proc.returncode != 0 or ("search" in argv and not proc.stdout):
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed, cpu


def regular_install(root: Path, source: Path = _corpus.ROOT, name: str = "regular") -> Path:
    """A venv with ``source`` installed as users install it (``pip install .``)."""
    venv = root / f"venv-{name}"
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q"]
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, str(source)], check=True, capture_output=True)
    else:  # the source's current code, dependencies already there
        subprocess.run(
            [*pip, "--force-reinstall", "--no-deps", str(source)], check=True, capture_output=True
        )
    return py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 memories, 7 rounds")
    parser.add_argument("--reuse", action="store_true", help="reuse a store built earlier")
    default_dir = Path(tempfile.gettempdir()) / "smartcontext-bench"
    parser.add_argument("--dir", type=Path, default=default_dir, help="cache of stores")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--memories", type=int, default=None)
    parser.add_argument(
        "--install",
        choices=("regular", "current"),
        default="regular",
        help="regular: pip install . into a venv under --dir (default); current: this Python",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another source tree (e.g. `git archive main` unpacked) measured in the same run",
    )
    args = parser.parse_args()
    n = args.memories or (10_000 if args.quick else 100_000)
    rounds = args.rounds or (7 if args.quick else 21)

    home = _corpus.cached_sqlite(args.dir, n, reuse=args.reuse)
    # Run as a user would: no SMARTCONTEXT_* variables; the data directory comes from
    # platformdirs (XDG_DATA_HOME) and the namespace from the enclosing git repository's name.
    work = args.dir / "bench"
    (work / ".git").mkdir(parents=True, exist_ok=True)
    hello = args.dir / "typer_hello.py"
    hello.write_text(HELLO)
    env = _corpus.subprocess_env(args.dir)
    env["XDG_DATA_HOME"] = str(home.parent)
    env["XDG_CONFIG_HOME"] = str(args.dir / "xdg-config")

    py = str(regular_install(args.dir)) if args.install == "regular" else sys.executable
    script = str(Path(py).parent / "smartcontext")
    commands = {
        FLOOR: [py, "-c", "import sqlite3, json"],
        "typer two-command hello --help": [py, str(hello), "--help"],
        "smartcontext --version": [script, "--version"],
        "smartcontext --help": [script, "--help"],
        # The first --help after an install or an upgrade renders the tree (then it is cached):
        # a data directory that cannot be written keeps every run on that path.
        "smartcontext --help, first run (nothing cached)": [script, "--help"],
        f"smartcontext search '{QUERY}'": [script, "search", QUERY],
        f"python -m smartcontext_cli search '{QUERY}'": [py, "-m", MODULE, "search", QUERY],
        f"smartcontext search '{TYPO}' (typo)": [script, "search", TYPO],
    }
    if args.baseline is not None:
        base = regular_install(args.dir, args.baseline.resolve(), "baseline")
        base_script = str(base.parent / "smartcontext")
        commands.update(
            {
                "before: smartcontext --version": [base_script, "--version"],
                "before: smartcontext --help": [base_script, "--help"],
                f"before: smartcontext search '{QUERY}'": [base_script, "search", QUERY],
            }
        )
    blocker = args.dir / "not-a-directory"
    blocker.write_text("")
    uncached = {**env, "SMARTCONTEXT_HOME": str(blocker / "home")}
    envs = {name: uncached if "nothing cached" in name else env for name in commands}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for name, argv in commands.items():  # warm the page cache once; cold means a fresh process
        run_once(argv, envs[name], work)
    for _ in range(rounds):
        for name, argv in commands.items():
            wall, used = run_once(argv, envs[name], work)
            samples[name].append(wall)
            cpu[name].append(used)

    floor = _corpus.median_ms(samples[FLOOR])
    cpu_floor = _corpus.median_ms(cpu[FLOOR])
    rows = []
    for name in commands:
        ms = _corpus.median_ms(samples[name])
        cpu_ms = _corpus.median_ms(cpu[name])
        verdict = ""
        if (
            name.startswith(("smartcontext ", "before: "))
            and "typo" not in name
            and "first" not in name
        ):
            verdict = "ok" if ms / floor <= TARGET else "OVER"
        rows.append(
            [
                f"`{name}`",
                f"{ms:.1f}",
                f"{ms / floor:.2f}x",
                f"{cpu_ms:.1f}",
                f"{cpu_ms / cpu_floor:.2f}x",
                verdict,
            ]
        )
    how = "regular install (pip install . into a venv)" if args.install == "regular" else py
    print(
        f"\nCold start, {n:,} memories (SQLite), {how}, median of {rounds} interleaved rounds; "
        f"target: search, --help and --version <= {TARGET:.1f}x the floor\n"
    )
    headers = ["command", "median ms", "vs floor", "CPU ms", "CPU vs floor", "target (wall)"]
    print(_corpus.table(headers, rows))


if __name__ == "__main__":
    main()
