"""The Python API as the spec and README show it: ``MemoryStore`` and the storage classes.

Every test runs on both backends where the backend matters; "restart" means a new
``MemoryStore`` (a new storage handle) on the same directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import smartcontext_cli
from smartcontext_cli import (
    Artifact,
    InvalidNamespaceError,
    Memory,
    MemoryStore,
    NotFoundError,
    SessionItem,
    StorageConfig,
    UsageError,
)

BACKENDS = ("sqlite", "json")
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[MemoryStore]:
    with MemoryStore(namespace="api", storage_backend=backend, base_dir=tmp_path / "data") as s:
        yield s


def reopen(tmp_path: Path, namespace: str = "api") -> MemoryStore:
    """A new store object on the same data: the backend is found from what is on disk."""
    return MemoryStore(namespace=namespace, base_dir=tmp_path / "data")


# construction ----------------------------------------------------------------------------------


def test_public_names_import_from_the_package():
    for name in ("MemoryStore", "Memory", "StorageConfig", "JSONStorage", "SQLiteStorage"):
        assert getattr(smartcontext_cli, name) is not None
    from smartcontext_cli import JSONStorage, SQLiteStorage

    assert JSONStorage.backend == "json"
    assert SQLiteStorage.backend == "sqlite"


def test_constructor_arguments_and_defaults(tmp_path, backend):
    store = MemoryStore(namespace="p", storage_backend=backend, base_dir=tmp_path)
    assert (store.namespace, store.backend, store.home) == ("p", backend, tmp_path)
    assert store.settings.get("max_session_turns") == 100
    assert store.settings.get("compression_strategy") == "heuristic"
    tuned = MemoryStore(
        namespace="q",
        storage_backend=backend,
        base_dir=tmp_path,
        max_session_turns=40,
        compression_strategy="hybrid",
    )
    assert tuned.settings.get("max_session_turns") == 40
    assert tuned.settings.get("compression_strategy") == "hybrid"


def test_constructor_rejects_bad_values(tmp_path):
    base = tmp_path / "data"
    with pytest.raises(UsageError, match="backend"):
        MemoryStore(namespace="p", storage_backend="mongodb", base_dir=base)
    with pytest.raises(UsageError, match="compression_strategy"):
        MemoryStore(namespace="p", base_dir=base, compression_strategy="zip")
    with pytest.raises(InvalidNamespaceError):
        MemoryStore(namespace="../x", base_dir=base)
    assert not base.exists()


def test_nothing_is_written_until_the_store_is_used(tmp_path):
    store = MemoryStore(namespace="lazy", base_dir=tmp_path / "data")
    assert not store.exists
    assert not (tmp_path / "data").exists()
    store.remember("now it exists")
    assert store.exists


def test_base_dir_overrides_smartcontext_home(tmp_path, home):
    with MemoryStore(namespace="p", base_dir=tmp_path / "elsewhere") as store:
        store.remember("x")
    assert (tmp_path / "elsewhere" / "namespaces" / "p").is_dir()
    assert not home.exists()


# memories --------------------------------------------------------------------------------------


def test_remember_returns_the_stored_memory(store):
    m = store.remember("API uses OAuth2", tags=["Research", "auth"], kind="fact", importance=0.8)
    assert isinstance(m, Memory)
    assert re.fullmatch(r"[0-9a-f]{32}", m.id)
    assert (m.content, m.tags, m.kind, m.importance, m.source) == (
        "API uses OAuth2",
        ["research", "auth"],
        "fact",
        0.8,
        "user",
    )
    assert m.token_count is None  # counted lazily, by compile, never by remember
    assert store.get(m.id) == m


def test_same_content_twice_gives_two_memories_with_random_ids(store, tmp_path, backend):
    a = store.remember("exactly the same words")
    b = store.remember("exactly the same words")
    assert a.id != b.id
    assert store.count() == 2
    # Ids are not derived from the content: another store gives yet other ids.
    with MemoryStore(namespace="other", storage_backend=backend, base_dir=tmp_path / "o") as other:
        assert other.remember("exactly the same words").id not in {a.id, b.id}
    ids = {store.remember(f"memory {i}").id for i in range(30)}
    assert len(ids) == 30


def test_a_single_tag_string_is_one_tag(store):
    assert store.remember("x", tags="auth").tags == ["auth"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"content": ""}, "empty"),
        ({"content": "a\x00b"}, "NUL"),
        ({"content": "x" * 1_000_001}, "too large"),
        ({"content": "x", "kind": "Fact!"}, "kind"),
        ({"content": "x", "importance": 2}, "importance"),
        ({"content": "x", "importance": True}, "importance"),
        ({"content": "x", "tags": ["a,b"]}, "tag"),
        ({"content": "x", "source": ""}, "source"),
    ],
)
def test_remember_rejects_bad_input_and_stores_nothing(store, kwargs, fragment):
    with pytest.raises(UsageError, match=fragment):
        store.remember(**kwargs)
    assert store.count() == 0


def test_search_returns_memories_with_scores(store):
    target = store.remember("API uses OAuth2 for authentication", tags=["auth"])
    store.remember("Lunch is at noon")
    hits = store.search("authentication", limit=5)
    assert [h.id for h in hits] == [target.id]
    assert hits[0].score > 0
    assert hits[0].tags == ["auth"]


def test_forget(store):
    m = store.remember("temporary")
    keep = store.remember("permanent")
    assert store.forget(m.id) is True
    assert [x.id for x in store.list()] == [keep.id]
    with pytest.raises(NotFoundError):
        store.forget(m.id)
    assert store.forget(keep.id[:6]) is True  # a unique prefix works too
    assert store.count() == 0


def test_list_is_most_recent_first(store):
    ids = [store.remember(f"m{i}").id for i in range(4)]
    assert [m.id for m in store.list()] == ids[::-1]
    assert [m.id for m in store.list(limit=2)] == ids[:1:-1]


# working context and artifacts -----------------------------------------------------------------


def test_goal(store):
    assert store.get_goal() is None
    store.set_goal("Implement OAuth2 flow")
    assert store.get_goal() == "Implement OAuth2 flow"
    store.set_goal("  Ship it  ")
    assert store.get_goal() == "Ship it"
    assert store.clear_goal() is True
    assert store.get_goal() is None
    with pytest.raises(UsageError):
        store.set_goal("")


def test_artifacts(store):
    text = "# API\n\nGET /users\n"
    art = store.store_artifact("api_docs.md", text)
    assert isinstance(art, Artifact)
    assert (art.id, art.ref, art.name, art.content) == ("a1", "#a1", "api_docs.md", text)
    for ref in ("#a1", "a1", "api_docs.md"):
        assert store.get_artifact(ref).content == text
    second = store.store_artifact("api_docs.md", "v2")
    assert second.ref == "#a2"
    assert store.get_artifact("api_docs.md").content == "v2"  # the newest of that name
    assert [a.id for a in store.list_artifacts()] == ["a1", "a2"]
    with pytest.raises(NotFoundError):
        store.get_artifact("#a3")
    with pytest.raises(NotFoundError):
        store.get_artifact("missing.md")


def test_session_items(store):
    for i in range(5):
        item = store.add_session_item("user" if i % 2 == 0 else "assistant", f"turn {i}")
        assert isinstance(item, SessionItem)
    last = store.get_session_items(limit=2)
    assert [(i.role, i.content) for i in last] == [("assistant", "turn 3"), ("user", "turn 4")]
    assert [i.content for i in store.get_session_items()] == [f"turn {i}" for i in range(5)]


# isolation and restart -------------------------------------------------------------------------


def test_namespaces_are_isolated(tmp_path, backend):
    base = tmp_path / "data"
    with MemoryStore(namespace="alpha", storage_backend=backend, base_dir=base) as alpha:
        alpha.remember("alpha secret about kubernetes")
        alpha.set_goal("alpha goal")
        alpha.store_artifact("a.txt", "alpha artifact")
        alpha.add_session_item("user", "alpha turn")
    with MemoryStore(namespace="beta", storage_backend=backend, base_dir=base) as beta:
        assert beta.search("kubernetes") == []
        assert beta.list() == []
        assert beta.get_goal() is None
        assert beta.list_artifacts() == []
        assert beta.get_session_items() == []
        beta.remember("beta only")
    with MemoryStore(namespace="alpha", base_dir=base) as alpha:
        assert [m.content for m in alpha.list()] == ["alpha secret about kubernetes"]


def test_a_new_store_object_sees_everything(store, tmp_path, backend):
    m = store.remember("survives restarts", tags=["durable"], kind="decision", importance=0.7)
    store.set_goal("keep going")
    store.store_artifact("notes", "artifact body")
    store.add_session_item("user", "hello")
    before = store.export_all()
    store.close()
    again = reopen(tmp_path)
    try:
        assert again.backend == backend  # found on disk; nothing was asked for
        assert again.get(m.id) == m
        assert again.search("restarts")[0].id == m.id
        assert again.get_goal() == "keep going"
        assert again.get_artifact("notes").content == "artifact body"
        assert [i.content for i in again.get_session_items()] == ["hello"]
        assert again.export_all() == before
        assert again.store_artifact("more", "x").ref == "#a2"  # counters persist too
    finally:
        again.close()


def test_an_existing_namespace_keeps_its_backend(tmp_path, backend):
    other = "json" if backend == "sqlite" else "sqlite"
    with MemoryStore(namespace="p", storage_backend=backend, base_dir=tmp_path) as first:
        first.remember("x")
    with MemoryStore(namespace="p", storage_backend=other, base_dir=tmp_path) as second:
        assert second.backend == backend
        assert second.count() == 1
        assert f"stored with {backend}" in second.notices[0]


# export and import -----------------------------------------------------------------------------


def test_export_all_then_import_all_into_another_namespace_and_backend(store, tmp_path, backend):
    store.remember("exported memory", tags=["t"])
    store.set_goal("exported goal")
    store.store_artifact("doc", "exported artifact")
    data = store.export_all()
    assert data["format"] == "smartcontext-export"
    assert len(data["memories"]) == 1
    other = "json" if backend == "sqlite" else "sqlite"
    with MemoryStore(namespace="copy", storage_backend=other, base_dir=tmp_path / "data") as copy:
        counts = copy.import_all(data)
        assert counts == {"memories": 1, "docs": 2, "counters": 1}
        assert copy.export_all() == data
        assert copy.get_goal() == "exported goal"
        assert copy.search("exported")[0].content == "exported memory"


def test_import_all_rejects_bad_data_without_writing(store):
    store.remember("keep")
    before = store.export_all()
    with pytest.raises(UsageError):
        store.import_all({"memories": [{"content": "fine"}, {"content": 3}]})
    with pytest.raises(UsageError):
        store.import_all(["not", "a", "dict"])  # type: ignore[arg-type]
    assert store.export_all() == before


# the README's snippets run as written -----------------------------------------------------------


def python_blocks(section: str, containing: str) -> list[str]:
    """The python code blocks of one README section (``## <section>``) holding ``containing``."""
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no section {section!r}"
    blocks = re.findall(r"```python\n(.*?)```", match.group(1), flags=re.DOTALL)
    found = [b for b in blocks if containing in b]
    assert found, f"README section {section!r} has no python block with {containing!r}"
    return found


def test_readme_python_api_snippet_runs(tmp_path, monkeypatch, backend):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "api_docs.md").write_text("# API docs\n", encoding="utf-8")
    for block in python_blocks("Python API", "MemoryStore(namespace="):
        code = block.replace('storage_backend="sqlite"', f'storage_backend="{backend}"')
        namespace: dict[str, object] = {}
        exec(compile(code, "README.md", "exec"), namespace)
        memory = namespace["memory"]
        assert isinstance(memory, MemoryStore)
        assert memory.get_goal() == "Implement OAuth2 flow"
        assert memory.get_artifact("#a1").content == "# API docs\n"
        assert memory.count() == 0  # the snippet ends by forgetting its memory
        assert MemoryStore(namespace="copy").count() == 1


def test_readme_storage_config_snippet_migrates_json_to_sqlite(tmp_path, monkeypatch):
    # The snippet uses ~/.smartcontext: point ~ at a temporary directory.
    monkeypatch.setenv("HOME", str(tmp_path))
    base = tmp_path / ".smartcontext"
    with MemoryStore(namespace="myproject", storage_backend="json", base_dir=base) as source:
        source.remember("carried across by the spec's snippet", tags=["spec"])
        source.set_goal("snippet goal")
        expected = source.export_all()
    for block in python_blocks("Storage", "StorageConfig("):
        exec(compile(block, "README.md", "exec"), {})
    config = StorageConfig(base_dir=Path("~/.smartcontext"), namespace="myproject")
    assert config.directory == (base / "namespaces" / "myproject").resolve()
    from smartcontext_cli import SQLiteStorage

    sqlite = SQLiteStorage(config)
    try:
        assert sqlite.export_all() == expected
    finally:
        sqlite.close()
