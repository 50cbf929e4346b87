"""Storage fixtures: ``storage`` runs a test once per backend, so backends cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures import postgres

from smartcontext_cli.storage import Storage, open_storage

BACKEND_NAMES = ["sqlite", "json", "postgres"]


@pytest.fixture(autouse=True)
def _storage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Same directory as the top-level conftest uses, so the two never disagree.
    home = tmp_path / "home"
    monkeypatch.setenv("SMARTCONTEXT_HOME", str(home))
    return home


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each backend in turn; for postgres, the test database (emptied afterwards) is the one
    ``SMARTCONTEXT_DATABASE_URL`` names, so every ``open_storage`` of the test reaches it."""
    name = str(request.param)
    if name != "postgres":
        yield name
        return
    database_url = postgres.url()
    monkeypatch.setenv("SMARTCONTEXT_DATABASE_URL", database_url)
    try:
        yield name
    finally:
        postgres.reset(database_url)


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[Callable[..., Storage]]:
    """Open (and later close) stores under ``tmp_path``: ``open_store(backend, namespace)``."""
    opened: list[Storage] = []

    def _open(backend: str, namespace: str = "test") -> Storage:
        database_url = postgres.url() if backend == "postgres" else None
        store = open_storage(tmp_path, namespace, backend, database_url=database_url)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
    if any(store.backend == "postgres" for store in opened):
        postgres.reset(postgres.url())


@pytest.fixture
def storage(open_store: Callable[..., Storage], backend: str) -> Storage:
    return open_store(backend)


@pytest.fixture
def reopen(open_store: Callable[..., Storage], backend: str) -> Callable[[], Storage]:
    """A second handle on the same namespace: another process's view of the store."""
    return lambda: open_store(backend)
