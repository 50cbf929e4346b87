"""Run a benchmark's measurement on another checkout of the package, in the same run.

Why: a "before" figure measured yesterday on a quieter machine proves little; these machines
are noisy. ``measure_baseline`` extracts ``git archive REV`` into a temporary directory and runs
the calling script there with ``--raw`` (the script prints its measurements as JSON), so the
old code runs the very same measurement code paths beside the new one.

A script supports it by (1) importing the package from ``code_root()`` and (2) printing
``json.dumps(measurements)`` when given ``--raw``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "987bbf3"  # main before the session-history and agent-loop work (issues 8 and 9)


def code_root() -> Path:
    """The checkout being measured: ``--code DIR`` (a baseline run) or this one."""
    if "--code" in sys.argv:
        return Path(sys.argv[sys.argv.index("--code") + 1])
    return ROOT


def use_code_root() -> Path:
    """Import the package (and shared benchmark modules such as _corpus) from ``code_root``."""
    root = code_root()
    sys.path.insert(0, str(root / "tests" / "benchmarks"))
    sys.path.insert(0, str(root))
    return root


def measure_baseline(script: str, rev: str, args: list[str]) -> Any:
    """The measurements of ``script`` run with ``args --raw`` on revision ``rev``.

    With ``SC_BASELINE_CACHE=DIR`` a result is kept there and reused by later runs with the
    same script, revision and arguments: for iterating only (the tables then say so), since a
    figure from another run is not measured beside this one.
    """
    cache = os.environ.get("SC_BASELINE_CACHE")
    key = None
    if cache:
        import hashlib

        key = Path(cache) / (
            hashlib.sha256(json.dumps([Path(script).name, rev, args]).encode()).hexdigest()[:16]
            + ".json"
        )
        if key.exists():
            print(f"(baseline {rev} reused from {key}: not measured in this run)", file=sys.stderr)
            return json.loads(key.read_text())
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True
    )
    with tempfile.TemporaryDirectory(prefix="sc-baseline-") as tmp:
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        child = subprocess.run(
            [sys.executable, script, *args, "--raw", "--code", tmp],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    if child.returncode:
        sys.exit(f"baseline run ({rev}) failed:\n{child.stderr}")
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(child.stdout)
    return json.loads(child.stdout)
