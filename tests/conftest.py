"""Shared fixtures: every test gets its own data directory and working directory.

``sc(...)`` runs the real CLI entry point in-process, so calls read like the shell:
``sc("search", "postgres", "--json")``. ``sc_proc(...)`` runs it in a subprocess when a test
needs a real process (start-up imports, pipes, concurrency).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixtures import postgres

from smartcontext_cli.cli import main


@pytest.fixture(scope="session", autouse=True)
def _postgres_server() -> Iterator[None]:
    """Stops the PostgreSQL test server if a test started it (``fixtures.postgres.url()``)."""
    yield
    postgres.stop()


@pytest.fixture(scope="session")
def pg_ready() -> str:
    """Skips the test where no PostgreSQL server can run (usable by hypothesis tests)."""
    return postgres.url()


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """``use_backend(name)`` makes ``MemoryStore(storage_backend=name)`` work in this test (and
    its subprocesses): for postgres, ``SMARTCONTEXT_DATABASE_URL`` names the test database,
    emptied afterwards; skips where no PostgreSQL server can run."""
    used: list[str] = []

    def use(name: str) -> str:
        if name == "postgres" and not used:
            used.append(postgres.url())
            monkeypatch.setenv("SMARTCONTEXT_DATABASE_URL", used[0])
        return name

    yield use
    for database_url in used:
        postgres.reset(database_url)


@pytest.fixture
def pg_url(home: Path) -> Iterator[str]:
    """The shared test database, emptied after the test; skips where no server can run."""
    database_url = postgres.url()
    try:
        yield database_url
    finally:
        postgres.reset(database_url)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SMARTCONTEXT_HOME", str(home))
    for var in list(os.environ):
        if var.startswith("SMARTCONTEXT_") and var != "SMARTCONTEXT_HOME":
            monkeypatch.delenv(var)
    work = tmp_path / "work"
    work.mkdir()
    # Outside any git repository, so the namespace defaults to "default".
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    return _isolated_home


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class _Stdin(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


def _run_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    def run(*args: str, input: str | bytes | None = None) -> Result:
        data = input.encode() if isinstance(input, str) else (input or b"")
        monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(data), encoding="utf-8"))
        capsys.readouterr()
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def sc(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    return _run_in_process(capsys, monkeypatch)


@pytest.fixture
def sc_proc() -> Callable[..., Result]:
    def run(
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Result:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "smartcontext_cli", *map(str, args)],
            input=data,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        return Result(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    return run
