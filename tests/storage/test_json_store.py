"""What only the JSON backend promises: its files, their privacy, safe names, bad files, cost.

The behaviour both backends share is in ``test_contract.py``.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from smartcontext_cli.errors import SmartContextError, StoreCorruptError, UsageError
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import StorageConfig, json_store, open_storage
from smartcontext_cli.storage.json_store import JSONStorage


def at(second: int) -> str:
    return f"2024-05-01T12:00:{second:02d}.000000+00:00"


@pytest.fixture
def open_json(tmp_path: Path) -> Iterator[Callable[[], JSONStorage]]:
    """Handles on one namespace; each stands for a separate process with its own cache."""
    opened: list[JSONStorage] = []

    def _open() -> JSONStorage:
        store = open_storage(tmp_path, "proj", "json")
        assert isinstance(store, JSONStorage)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_json: Callable[[], JSONStorage]) -> JSONStorage:
    return open_json()


def tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``root`` with what a rewrite changes (inode: we always replace)."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


@contextmanager
def counting_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Record every memory file the backend parses."""
    loaded: list[Path] = []
    real = json_store._load_memory

    def spy(path: Path) -> Memory:
        loaded.append(path)
        return real(path)

    monkeypatch.setattr(json_store, "_load_memory", spy)
    yield loaded


# layout and permissions ----------------------------------------------------------------------


def test_each_record_is_one_readable_file(store: JSONStorage):
    m = Memory(content="Use ruff for linting", tags=["tooling"], kind="decision", created_at=at(1))
    store.add_memories([m])
    store.put_doc("working", "goal", {"text": "ship 1.0", "at": 1})
    store.next_counter("artifact")
    store.set_meta("owner", "ana")
    ns = store.path
    assert sorted(p.name for p in ns.iterdir()) == [
        ".lock",
        "counters.json",
        "docs",
        "memories",
        "store.json",
    ]
    marker = json.loads((ns / "store.json").read_text())
    assert (marker["backend"], marker["schema_version"]) == ("json", 1)
    assert marker["meta"]["owner"] == "ana"
    text = (ns / "memories" / f"{m.id}.json").read_text(encoding="utf-8")
    assert json.loads(text) == m.to_dict()
    assert text.startswith('{\n  "id": ')  # pretty-printed, id first
    assert json.loads((ns / "docs" / "working" / "goal.json").read_text()) == {
        "at": 1,
        "text": "ship 1.0",
    }
    assert json.loads((ns / "counters.json").read_text()) == {"artifact": 1}
    assert not [p for p in ns.rglob("*.tmp")]


def test_files_are_private_even_with_a_permissive_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        config = StorageConfig(base_dir=tmp_path / "home", namespace="proj")
        store = JSONStorage(config)
        try:
            store.add_memories([Memory(content="secret plans")])
            store.put_doc("working", "goal", {"text": "x"})
            store.next_counter("c")
        finally:
            store.close()
    finally:
        os.umask(old)
    assert store.path == config.directory
    home = tmp_path / "home"
    for d in (home, home / "namespaces", *(p for p in home.rglob("*") if p.is_dir())):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    files = [p for p in home.rglob("*") if p.is_file()]
    assert len(files) == 5  # .lock, store.json, counters.json, one memory, one document
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_plain_directory_path_works_too(tmp_path: Path):
    store = JSONStorage(tmp_path / "anywhere" / "ns")
    store.set_counter("c", 3)
    store.close()
    again = JSONStorage(str(tmp_path / "anywhere" / "ns"))
    try:
        assert again.get_counters() == {"c": 3}
    finally:
        again.close()


def test_a_hand_edited_memory_is_read_and_searched(store: JSONStorage, open_json):
    m = Memory(content="deploy with docker", created_at=at(1))
    store.add_memories([m])
    path = store.path / "memories" / f"{m.id}.json"
    data = json.loads(path.read_text())
    data["content"] = "deploy with kubernetes"
    path.write_text(json.dumps(data, indent=2))
    fresh = open_json()
    assert fresh.get_memory(m.id).content == "deploy with kubernetes"
    assert [hit.id for hit, _ in fresh.bm25(["kubernet"], 5)] == [m.id]


def test_stray_and_temporary_files_are_ignored(store: JSONStorage, open_json):
    m = Memory(content="kept")
    store.add_memories([m])
    (store.path / "memories" / "README.txt").write_text("notes about this folder")
    (store.path / "memories" / f".{m.id}.json.x1y2.tmp").write_text("{half a fi")
    (store.path / "docs" / "working").mkdir()
    fresh = open_json()
    assert [x.id for x in fresh.list_memories()] == [m.id]
    assert fresh.collections() == []


def test_data_json_cannot_hold_leaves_no_trace(store: JSONStorage):
    before = tree(store.path)
    with pytest.raises(TypeError):
        store.put_doc("working", "goal", {"when": object()})
    assert tree(store.path) == before
    assert not (store.path / "docs" / "working").exists()


# corrupt files are named and never touched ---------------------------------------------------


def test_a_corrupt_memory_file_is_named_and_left_alone(store: JSONStorage, open_json):
    good = Memory(content="fine", created_at=at(1))
    store.add_memories([good])
    bad = store.path / "memories" / ("ab" * 16 + ".json")
    junk = b'{"id": "abab", "content": tru'
    bad.write_bytes(junk)
    fresh = open_json()
    for call in (
        fresh.list_memories,
        fresh.count_memories,
        lambda: fresh.bm25(["fine"], 5),
        lambda: list(fresh.iter_memories()),
        lambda: fresh.get_memory("ab" * 16),
        fresh.export_all,
    ):
        with pytest.raises(StoreCorruptError, match=re.escape(str(bad))):
            call()
    # Other records stay writable, and nothing we do rewrites or removes the bad file.
    fresh.add_memories([Memory(content="new")])
    assert fresh.delete_memories([good.id]) == 1
    assert fresh.get_memory(good.id) is None
    assert bad.read_bytes() == junk


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"id": "cd" * 16}, "id differs from the file name"),
        ({"content": None}, "content has the wrong type"),
        ({"tags": "db"}, "tags has the wrong type"),
        ({"importance": "high"}, "importance has the wrong type"),
        ({"created_at": None}, "created_at has the wrong type"),
    ],
)
def test_a_memory_file_with_wrong_fields_is_corrupt(
    store: JSONStorage, open_json, change: dict[str, Any], why: str
):
    m = Memory(content="x", created_at=at(1))
    store.add_memories([m])
    path = store.path / "memories" / f"{m.id}.json"
    path.write_text(json.dumps({**m.to_dict(), **change}))
    with pytest.raises(StoreCorruptError, match=why):
        open_json().list_memories()


def test_corrupt_counters_stop_counting_and_stay(store: JSONStorage):
    store.next_counter("c")
    path = store.path / "counters.json"
    path.write_text('{"c": "seven"}')
    for call in (lambda: store.next_counter("c"), store.get_counters):
        with pytest.raises(StoreCorruptError, match=re.escape(str(path))):
            call()
    assert path.read_text() == '{"c": "seven"}'


def test_a_corrupt_document_is_named(store: JSONStorage):
    store.put_doc("working", "goal", {"text": "x"})
    path = store.path / "docs" / "working" / "goal.json"
    path.write_text("not json")
    with pytest.raises(StoreCorruptError, match=re.escape(str(path))):
        store.get_doc("working", "goal")
    with pytest.raises(StoreCorruptError, match=re.escape(str(path))):
        store.list_docs("working")
    assert path.read_text() == "not json"


def test_a_corrupt_marker_stops_opening_and_stays(store: JSONStorage, open_json):
    marker = store.path / "store.json"
    marker.write_text('{"backend": "json", "schema_version": ')
    with pytest.raises(StoreCorruptError, match=re.escape(str(marker))):
        open_json()
    assert marker.read_text() == '{"backend": "json", "schema_version": '


def test_a_store_from_a_newer_version_is_refused_untouched(store: JSONStorage, open_json):
    marker = store.path / "store.json"
    newer = json.dumps({"backend": "json", "schema_version": 99})
    marker.write_text(newer)
    with pytest.raises(SmartContextError, match="newer"):
        open_json()
    assert marker.read_text() == newer


def test_a_minimal_hand_written_marker_is_upgraded_on_open(tmp_path: Path):
    ns = tmp_path / "ns"
    ns.mkdir()
    (ns / "store.json").write_text('{"backend": "json", "schema_version": 1}')
    store = JSONStorage(ns)
    try:
        assert store.applied_migrations() == ["m001_initial", "m002_snowball_terms"]
        assert store.get_meta("schema_version") == "1"
        assert (ns / "memories").is_dir()
    finally:
        store.close()


# names ---------------------------------------------------------------------------------------

UNSAFE = ["", ".", "..", "../escape", "a/b", "/abs", ".hidden", "x" * 129, "two words", "naïve"]
UNSAFE += ["a\\b", "nul\x00byte", "line\n"]


@pytest.mark.parametrize("bad", UNSAFE)
def test_unsafe_names_are_refused_and_nothing_is_written(
    store: JSONStorage, tmp_path: Path, bad: str
):
    store.put_doc("working", "goal", {"text": "x"})
    before = tree(tmp_path)
    with pytest.raises(UsageError, match="invalid collection name"):
        store.put_doc(bad, "key", {"x": 1})
    with pytest.raises(UsageError, match="invalid document key"):
        store.put_doc("working", bad, {"x": 1})
    with pytest.raises(UsageError, match="invalid memory id"):
        store.add_memories([Memory(content="x", id=bad)])
    with pytest.raises(UsageError, match="invalid memory id"):
        store.upsert_memories([Memory(content="x", id=bad)])
    # A name that cannot be stored does not exist: reads and deletes find nothing.
    assert store.get_doc(bad, "goal") is None
    assert store.get_doc("working", bad) is None
    assert store.list_docs(bad) == []
    assert store.delete_doc(bad, "goal") is False
    assert store.delete_collection(bad) == 0
    assert store.get_memory(bad) is None
    assert tree(tmp_path) == before
    assert store.get_doc("working", "goal") == {"text": "x"}


def test_the_longest_allowed_name_works(store: JSONStorage):
    name = "a" + "._-z9" * 25 + "xy"
    assert len(name) == 128
    store.put_doc(name, name, {"ok": True})
    assert store.list_docs(name) == [(name, {"ok": True})]


# cost and caches -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 400])
def test_adding_a_memory_rewrites_two_files_whatever_the_store_size(
    store: JSONStorage, size: int, monkeypatch: pytest.MonkeyPatch
):
    store.add_memories([Memory(content=f"memory {i}", created_at=at(1)) for i in range(size)])
    store.count_memories()  # the cache is loaded, as in a long-lived process
    before = tree(store.path)
    new = Memory(content="one more")
    with counting_loads(monkeypatch) as loaded:
        store.add_memories([new])
        assert store.count_memories() == size + 1
        assert store.list_memories(limit=1)[0].id == new.id
    after = tree(store.path)
    changed = {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())
    assert changed == {f"memories/{new.id}.json", "store.json"}
    assert loaded == []  # our own write updated the cache; no file was read back


def test_another_handle_rereads_only_what_changed(open_json, monkeypatch: pytest.MonkeyPatch):
    a, b = open_json(), open_json()
    first = [Memory(content=f"redis note {i}", created_at=at(1)) for i in range(50)]
    a.add_memories(first)
    assert a.count_memories() == 50
    assert b.count_memories() == 50
    added = Memory(content="postgres vacuum", created_at=at(2))
    with counting_loads(monkeypatch) as loaded:
        b.add_memories([added])
        b.update_memory(Memory(content="redis sentinel", id=first[0].id, created_at=at(3)))
        b.delete_memories([first[1].id])
        b.set_token_counts({first[2].id: ("cl100k_base", 3)})
        loaded.clear()
        assert a.export_all() == b.export_all()
    assert sorted(p.stem for p in loaded) == sorted(
        [added.id, first[0].id, first[1].id, first[2].id]
    )
    assert a.vocabulary("s") == b.vocabulary("s") == ["sentinel"]
    assert a.doc_freq("note") == 48
    assert [m.id for m, _ in a.bm25(["postgr"], 5)] == [added.id]


def test_a_handle_that_fell_far_behind_reloads_everything(
    open_json, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(json_store, "JOURNAL_LIMIT", 4)
    a, b = open_json(), open_json()
    a.add_memories([Memory(content="start", created_at=at(1))])
    assert a.count_memories() == 1
    for i in range(6):
        b.add_memories([Memory(content=f"later {i}", created_at=at(2))])
    big = [Memory(content=f"batch {i}", created_at=at(3)) for i in range(5)]
    b.add_memories(big)
    assert len(json.loads((b.path / "store.json").read_text())["journal"]) <= 4
    with counting_loads(monkeypatch) as loaded:
        assert a.count_memories() == 12
    assert len(loaded) == 12
    assert a.export_all() == b.export_all()


def test_get_memory_is_always_current(open_json):
    a, b = open_json(), open_json()
    m = Memory(content="short lived")
    a.add_memories([m])
    assert b.get_memory(m.id) == m
    a.delete_memories([m.id])
    assert b.get_memory(m.id) is None
