"""Automatic backups copy SQLite documents verbatim (no parse, no re-encode): the lines must be
the very lines ``export`` writes, and a document that is not JSON must still be named."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore
from smartcontext_cli.errors import StoreCorruptError
from smartcontext_cli.storage.transfer import import_records, read_jsonl, write_jsonl

# Floats include infinity: Python writes it, SQLite's json_valid refuses it.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    docs=st.lists(
        st.tuples(
            st.sampled_from(["notes", "ünïcode", "x y"]),
            st.text(min_size=1, max_size=8),
            st.dictionaries(st.text(max_size=6), json_values, max_size=4),
        ),
        max_size=6,
    ),
    events=st.lists(
        # No lone surrogates: the store refuses text that is not UTF-8 (one clear error).
        st.text(
            st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            min_size=1,
            max_size=40,
        ).filter(str.strip),
        max_size=5,
    ),
)
def test_a_verbatim_copy_is_the_export(tmp_path_factory, docs, events) -> None:
    home = tmp_path_factory.mktemp("h")
    store = MemoryStore(namespace="p", base_dir=home, compression_strategy="none")
    store.remember("the deploy runs on fridays — déjà vu", tags=["ops"])
    for text in events:
        store.add_session_item("user", text)
    real = store.storage._store()
    for collection, key, data in docs:
        real.put_doc(collection, key, data)
    parsed, verbatim = io.StringIO(), io.StringIO()
    write_jsonl(real, parsed, "p")
    write_jsonl(real, verbatim, "p", verbatim=True)
    assert verbatim.getvalue() == parsed.getvalue()
    store.close()


def test_the_backup_of_a_compaction_restores_the_store(tmp_path: Path) -> None:
    store = MemoryStore(namespace="p", base_dir=tmp_path, compression_strategy="none")
    for i in range(60):
        store.add_session_item("user", f"step {i}: we moved the cache to redis {i}")
    before = io.StringIO()
    write_jsonl(store.storage, before, "p")
    store.compact_session_schema(preserve_recent=5)
    backup = store.last_backup
    assert backup is not None
    fresh = MemoryStore(namespace="q", base_dir=tmp_path)
    with open(backup, encoding="utf-8") as fh:
        import_records(fresh.storage, read_jsonl(fh, str(backup)))
    after = io.StringIO()
    write_jsonl(fresh.storage, after, "p")
    assert without_counts(after.getvalue()) == without_counts(before.getvalue())


def without_counts(lines: str) -> list[object]:
    """Export records without their cached token counts (``import`` recounts them)."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {
                k: strip(v) for k, v in value.items() if k not in ("token_count", "token_encoding")
            }
        return [strip(v) for v in value] if isinstance(value, list) else value

    return [strip(json.loads(line)) for line in lines.splitlines()]


def test_a_document_that_is_not_json_is_named_and_stops_the_backup(tmp_path: Path) -> None:
    store = MemoryStore(namespace="p", base_dir=tmp_path, compression_strategy="none")
    store.add_session_item("user", "we decided to use postgres")
    store.add_task("write docs")
    path = store.storage.path
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE docs SET data = '{broken' WHERE collection = 'tasks'")
    store = MemoryStore(namespace="p", base_dir=tmp_path, compression_strategy="none")
    with pytest.raises(StoreCorruptError, match=r"record tasks/\d+ of .*store\.db is damaged"):
        store.backup("compact")
    assert not list((tmp_path / "backups" / "p").glob("*.jsonl"))
