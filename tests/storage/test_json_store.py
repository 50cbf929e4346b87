"""What only the JSON backend promises: its files, their privacy, safe names, bad files, cost.

The behaviour both backends share is in ``test_contract.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcontext_cli.errors import SmartContextError, StoreCorruptError, UsageError
from smartcontext_cli.models import Memory
from smartcontext_cli.storage import StorageConfig, json_index_files, json_store, open_storage
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
        "index",  # derived from the memory files, rebuilt when missing (json_index)
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
    records = [f for f in files if "index" not in f.relative_to(store.path).parts]
    assert len(records) == 5  # .lock, store.json, counters.json, one memory, one document
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


def hand_edit(path: Path, content: str, in_place: bool = False) -> None:
    """Change a memory file as a person would: replaced (editors, git) or rewritten in place."""
    data = json.loads(path.read_text())
    data["content"] = content
    text = json.dumps(data, indent=2)
    if in_place:
        path.write_text(text)
        return
    spare = path.with_name("edited.swp")
    spare.write_text(text)
    os.replace(spare, path)


def test_a_memory_file_replaced_by_hand_is_read_at_once_and_searched_after_repair(
    store: JSONStorage, open_json
):
    m = Memory(content="deploy with docker", created_at=at(1))
    store.add_memories([m])
    assert store.count_memories() == 1
    hand_edit(store.path / "memories" / f"{m.id}.json", "deploy with kubernetes")
    fresh = open_json()
    # The file is read as it is now; search, which the index serves, learns of it on repair.
    assert fresh.get_memory(m.id).content == "deploy with kubernetes"
    assert fresh.list_memories()[0].content == "deploy with kubernetes"
    assert fresh.rebuild_index() == 1
    assert [hit.id for hit, _ in fresh.bm25(["kubernet"], 5)] == [m.id]
    assert fresh.bm25(["docker"], 5) == []


def test_a_memory_file_deleted_by_hand_is_damage_named_until_repaired(
    store: JSONStorage, open_json
):
    keep, gone = Memory(content="keep me", created_at=at(1)), Memory(content="remove me")
    store.add_memories([keep, gone])
    assert store.count_memories() == 2
    copied = Memory(content="copied in from another machine", created_at=at(2))
    (store.path / "memories" / f"{copied.id}.json").write_text(json.dumps(copied.to_dict()))
    missing = store.path / "memories" / f"{gone.id}.json"
    os.unlink(missing)
    fresh = open_json()
    # The index lists what the last commit stored: a file gone since is damage, not a smaller
    # store, named by every read that needs it and listed for doctor.
    for call in (fresh.list_memories, lambda: list(fresh.iter_memories()), fresh.export_all):
        with pytest.raises(StoreCorruptError, match=re.escape(str(missing))):
            call()
    with pytest.raises(StoreCorruptError, match=re.escape(str(missing))):
        fresh.get_memory(gone.id)  # by id too: "not found" would hide the damage
    assert fresh.get_memory("0" * 32) is None  # an id the store never held is just absent
    assert fresh.missing_memory_files() == [gone.id]
    assert not missing.exists()  # nothing recreated it
    # The repair, when asked: the index is rebuilt from the files, the added one included.
    assert fresh.rebuild_index() == 2
    assert fresh.missing_memory_files() == []
    assert [m.id for m in open_json().list_memories()] == [copied.id, keep.id]
    assert [m.id for m, _ in open_json().bm25(["copi"], 5)] == [copied.id]


def test_a_file_rewritten_in_place_is_searched_after_rebuild_index(store: JSONStorage, open_json):
    m = Memory(content="deploy with docker", created_at=at(1))
    store.add_memories([m])
    assert store.count_memories() == 1
    hand_edit(store.path / "memories" / f"{m.id}.json", "deploy with kubernetes", in_place=True)
    fresh = open_json()
    # The file is read as it is now; only search, which the index serves, needs telling.
    assert fresh.get_memory(m.id).content == "deploy with kubernetes"
    assert fresh.list_memories()[0].content == "deploy with kubernetes"
    assert fresh.rebuild_index() == 1
    assert [hit.id for hit, _ in fresh.bm25(["kubernet"], 5)] == [m.id]
    assert [hit.id for hit, _ in open_json().bm25(["kubernet"], 5)] == [m.id]


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
    hurt = Memory(content="fine too", created_at=at(2))
    store.add_memories([good, hurt])
    bad = store.path / "memories" / f"{hurt.id}.json"
    junk = b'{"id": "abab", "content": tru'
    bad.write_bytes(junk)
    fresh = open_json()
    for call in (
        fresh.list_memories,
        lambda: fresh.bm25(["fine"], 5),
        lambda: list(fresh.iter_memories()),
        lambda: fresh.get_memory(hurt.id),
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
        assert store.applied_migrations() == [
            "m001_initial",
            "m002_memory_index",
            "m002_snowball_terms",
        ]
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
def test_adding_a_memory_changes_three_files_whatever_the_store_size(
    store: JSONStorage, size: int, monkeypatch: pytest.MonkeyPatch
):
    store.add_memories([Memory(content=f"memory {i}", created_at=at(1)) for i in range(size)])
    store.count_memories()  # the index is loaded, as in a long-lived process
    before = tree(store.path)
    new = Memory(content="one more")
    with counting_loads(monkeypatch) as loaded:
        store.add_memories([new])
        assert store.count_memories() == size + 1
        assert store.list_memories(limit=1)[0].id == new.id
    after = tree(store.path)
    changed = {p for p in after if before.get(p) != after[p]} | (before.keys() - after.keys())
    # The index grows by one delta file, committed with the memory; its base is rewritten only
    # now and then.
    generation = json.loads((store.path / "store.json").read_text())["generation"]
    delta = f"index/delta/{generation:012d}.json"
    assert changed == {f"memories/{new.id}.json", "store.json", delta}
    assert set(loaded) == {store.path / "memories" / f"{new.id}.json"}  # probed, then listed


def corpus(n: int) -> list[Memory]:
    words = ["redis", "postgres", "docker", "vacuum", "cache", "deploy"]
    return [
        Memory(content=f"{words[i % 6]} note {i} {words[(i * 7) % 6]}", created_at=at(i % 60))
        for i in range(n)
    ]


def test_a_new_process_parses_only_the_memory_files_it_returns(
    open_json, monkeypatch: pytest.MonkeyPatch
):
    writer = open_json()
    writer.add_memories(corpus(600))
    reader = open_json()  # another process: nothing of the store in memory yet
    with counting_loads(monkeypatch) as loaded:
        listed = reader.list_memories(limit=5)
        hits = reader.bm25(["postgr", "vacuum"], 3)
        assert reader.count_memories() == 600
        assert reader.doc_freq("redi") == writer.doc_freq("redi") > 0
    assert len(listed) == 5 and len(hits) == 3
    assert sorted(loaded) == sorted(
        store_path(reader, m.id) for m in [*listed, *(h for h, _ in hits)]
    )
    assert listed == writer.list_memories(limit=5)


def store_path(store: JSONStorage, memory_id: str) -> Path:
    return store.path / "memories" / f"{memory_id}.json"


def test_another_handle_catches_up_through_the_delta(open_json, monkeypatch: pytest.MonkeyPatch):
    a, b = open_json(), open_json()
    first = [Memory(content=f"redis note {i}", created_at=at(1)) for i in range(50)]
    a.add_memories(first)
    assert a.count_memories() == 50
    assert b.count_memories() == 50
    added = Memory(content="postgres vacuum", created_at=at(2))
    b.add_memories([added])
    b.update_memory(Memory(content="redis sentinel", id=first[0].id, created_at=at(3)))
    b.delete_memories([first[1].id])
    b.set_token_counts({first[2].id: ("cl100k_base", 3)})
    with counting_loads(monkeypatch) as loaded:
        assert a.vocabulary("s") == b.vocabulary("s") == ["sentinel"]
        assert a.doc_freq("note") == 48
        assert a.count_memories() == 50
        assert [m.id for m, _ in a.bm25(["postgr"], 5)] == [added.id]
    assert loaded == [store_path(a, added.id)]  # the hit itself; nothing else was re-read
    assert a.export_all() == b.export_all()


def test_a_long_delta_is_folded_into_a_new_base(open_json, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(json_index_files, "DELTA_MAX", 5)
    a, b = open_json(), open_json()
    memories = corpus(30)
    a.add_memories(memories[:20])
    assert a.count_memories() == 20
    manifest = json.loads((a.path / "index" / "manifest.json").read_text())
    for memory in memories[20:]:
        b.add_memories([memory])
    b.delete_memories([memories[0].id])
    folded = json.loads((a.path / "index" / "manifest.json").read_text())
    assert folded["base"] != manifest["base"]
    assert len(list((a.path / "index" / "delta").glob("*.json"))) <= 5
    assert len(list((a.path / "index").glob("base-*"))) == 1  # the old base is gone
    for handle in (a, b, open_json()):
        assert handle.count_memories() == 29
        assert handle.vocabulary("n") == ["note"]
        assert [m.id for m, _ in handle.bm25(["docker"], 50)] == [
            m.id for m, _ in b.bm25(["docker"], 50)
        ]


@pytest.mark.parametrize("damage", ["missing", "shard", "catalog", "torn delta", "gap"])
def test_a_damaged_index_is_rebuilt_from_the_files(store: JSONStorage, open_json, damage: str):
    store.add_memories(corpus(40))
    store.add_memories([Memory(content="kubernetes rollout", created_at=at(59))])
    index = store.path / "index"
    base = next(index.glob("base-*"))
    if damage == "missing":
        shutil.rmtree(index)
    elif damage == "shard":
        for shard in (base / "postings").iterdir():
            shard.write_text("{}")
    elif damage == "catalog":
        (base / "catalog.json").write_text("[]")
    elif damage == "torn delta":
        last = sorted((index / "delta").glob("*.json"))[-1]
        last.write_bytes(b'{"from": 2, "to": 3, "put": [["x"')  # not written by the journal
    else:
        for delta in (index / "delta").glob("*.json"):
            os.unlink(delta)  # the last writes' records are lost
    fresh = open_json()
    assert fresh.count_memories() == 41
    assert [m.content for m, _ in fresh.bm25(["kubernet"], 5)] == ["kubernetes rollout"]
    assert fresh.list_memories(limit=1)[0].content == "kubernetes rollout"
    assert (index / "manifest.json").exists()  # saved again, for the next reader
    again = open_json()
    assert again.count_memories() == 41


def test_get_memory_is_always_current(open_json):
    a, b = open_json(), open_json()
    m = Memory(content="short lived")
    a.add_memories([m])
    assert b.get_memory(m.id) == m
    a.delete_memories([m.id])
    assert b.get_memory(m.id) is None


def test_an_index_of_the_old_terms_is_rebuilt_with_the_new(open_json):
    # An index saved before the terms changed (VERSION 1, no sources in its catalog) is not
    # trusted: the next reader rebuilds it, so kind, identifier and time terms are found.
    store = open_json()
    store.add_memories([Memory(content="rotate the refresh_token", kind="decision")])
    manifest_path = store.path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"] = 1
    del manifest["files"]["catalog.json"]  # as if its catalog were of the old shape too
    manifest_path.write_text(json.dumps(manifest))
    fresh = open_json()
    assert [m.content for m, _ in fresh.bm25(["_kind_decision", "refresh_token"], 5)] == [
        "rotate the refresh_token"
    ]
    rebuilt = json.loads(manifest_path.read_text())
    assert (rebuilt["version"], rebuilt["base"] != manifest["base"]) == (3, True)


def test_a_document_file_deleted_by_hand_is_damage_named_until_repaired(
    store: JSONStorage, open_json
):
    store.put_doc("notes", "a", {"v": 1})
    store.put_doc("notes", "b", {"v": 2})
    gone = store.doc_path("notes", "a")
    os.unlink(gone)
    fresh = open_json()
    # Each collection's listing holds the keys the last commit stored: a file gone since is
    # damage, named by the read, never a silently shorter collection.
    with pytest.raises(StoreCorruptError, match=re.escape(str(gone))):
        fresh.list_docs("notes")
    with pytest.raises(StoreCorruptError, match=re.escape(str(gone))):
        fresh.export_all()
    with pytest.raises(StoreCorruptError, match=re.escape(str(gone))):
        fresh.get_doc("notes", "a")  # a cache read by key would otherwise rebuild it silently
    assert fresh.get_doc("notes", "never-written") is None
    assert fresh.missing_documents("notes") == ["a"]
    assert not gone.exists()  # nothing recreated it
    assert fresh.rebuild_listings() == [str(gone)]  # the repair says what it dropped
    assert open_json().list_docs("notes") == [("b", {"v": 2})]


def test_a_listing_changes_only_when_a_key_comes_or_goes(store: JSONStorage):
    listing = store.path / "index" / "docs" / "notes.json"
    store.put_doc("notes", "a", {"v": 1})
    before = listing.read_bytes()
    store.put_doc("notes", "a", {"v": 2})  # an update: the same keys
    assert listing.read_bytes() == before
    store.put_doc("notes", "b", {"v": 3})
    assert json.loads(listing.read_text())["keys"] == ["a", "b"]
    store.delete_doc("notes", "a")
    assert json.loads(listing.read_text())["keys"] == ["b"]
    store.delete_collection("notes")
    assert not listing.exists()
    assert store.collections() == []


def test_a_store_without_listings_gets_them_from_its_files(store: JSONStorage, open_json):
    store.put_doc("notes", "a", {"v": 1})
    shutil.rmtree(store.path / "index" / "docs")  # as a store written before listings
    fresh = open_json()
    assert fresh.list_docs("notes") == [("a", {"v": 1})]
    fresh.put_doc("notes", "b", {"v": 2})
    assert fresh.missing_documents("notes") == []
    listing = json.loads((store.path / "index" / "docs" / "notes.json").read_text())
    assert listing["keys"] == ["a", "b"]


# the files' text ----------------------------------------------------------------------------

_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_memories = st.builds(
    Memory,
    content=_texts,
    tags=st.lists(_texts, max_size=4),
    kind=_texts,
    source=_texts,
    importance=st.one_of(st.floats(allow_nan=False), st.integers(-(2**70), 2**70)),
    created_at=_texts,
    updated_at=_texts,
    token_count=st.one_of(st.none(), st.integers(0, 2**63 - 1)),
    token_encoding=st.one_of(st.none(), _texts),
)


@given(_memories)
def test_a_memory_file_is_the_pretty_printed_json_of_its_record(memory: Memory):
    # The fast writer (C-encoded values, our own layout) must write what json.dumps would:
    # the files are read by people and by other tools.
    record = json_store._record(memory)
    text = json_store._memory_text(record)
    assert text == json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    assert json.loads(text) == record


@given(_memories)
def test_to_dict_is_a_deep_copy_of_the_stored_fields(memory: Memory):
    from dataclasses import asdict

    data = memory.to_dict()
    expected = asdict(memory)
    del expected["score"]
    assert data == expected and list(data) == list(expected)
    data["tags"].append("changed")
    assert memory.tags == expected["tags"]  # the copy shares no list with the memory
