"""Helpers shared by the campaign's parts: run the CLI in-process or in a child, fingerprint a
store, and spawn workers that import this checkout's code."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import smartcontext_cli

ROOT = Path(smartcontext_cli.__file__).resolve().parents[1]
BACKENDS = ("sqlite", "json")


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class _Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def cli(home: Path, *args: str, stdin: bytes = b"") -> Run:
    """``smartcontext --home HOME ARGS`` in this process (the same entry point as the shell)."""
    from smartcontext_cli.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = _Stdin(io.BytesIO(stdin), encoding="utf-8")
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(["--home", str(home), *args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved
    return Run(code, out.getvalue(), err.getvalue())


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCONTEXT_")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**base, **extra}


def child(code: str, *args: Any, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(**kw.pop("extra_env", {})),
        **kw,
    )


def export(home: Path, namespace: str = "default") -> list[dict[str, Any]]:
    """Every record, header left out (it names nothing that changes)."""
    from smartcontext_cli import MemoryStore

    store = MemoryStore(namespace=namespace, base_dir=home)
    try:
        if not store.exists:
            return []
        from smartcontext_cli.storage.transfer import iter_records

        return [r for r in iter_records(store.storage) if r["type"] != "header"]
    finally:
        store.close()


def bad_output(run: Run) -> str | None:
    """Why a run's output breaks the CLI contract, or None."""
    if run.code not in (0, 1, 2, 3):
        return f"exit code {run.code}"
    if "Traceback" in run.err or "internal error" in run.err:
        return "internal error: " + run.err.strip().splitlines()[-1][:200]
    if run.code:
        lines = [ln for ln in run.err.splitlines() if ln.startswith("smartcontext: error:")]
        if len(lines) > 1:
            return "more than one error line"
    return None
