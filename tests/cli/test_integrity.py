"""Regression tests for what issue 13 found: each bug it lists, as the user met it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from smartcontext_cli import MemoryStore

BACKENDS = ["sqlite", "json"]


def jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("smartcontext: error: "), stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    return lines[0]


# import trusts nothing -----------------------------------------------------------------------

WRONG_SHAPES = [
    ("tasks", "00000001", {}),
    ("errors", "00000001", {"id": 1}),
    ("session", "000000000001", {"content": "no role"}),
    ("artifacts", "a1", {"id": "a1", "name": "x"}),
    ("branches", "000001", {"id": 1}),
    ("compiler", "mode", {"mode": 3}),
    ("session_state", "state", {"follow_git": "yes"}),
    ("session_views", "00000001", {"id": 1, "branch": 0, "kind": "trim", "upto": 1, "items": 5}),
    ("strategy", "current", {"domain": "x"}),
    ("git_commits", "ab" * 20, {"memories": 5}),
    ("git_commits", "not-a-hash", {"memories": []}),
]


@pytest.mark.parametrize(("collection", "key", "data"), WRONG_SHAPES)
def test_import_refuses_documents_the_code_cannot_read(sc, home, tmp_path, collection, key, data):
    good = {"type": "memory", "content": "kept only if everything is valid"}
    bad = {"type": "doc", "collection": collection, "key": key, "data": data}
    result = sc("-n", "fresh", "import", str(jsonl(tmp_path / "x.jsonl", good, bad)))
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert f"x.jsonl:2: doc {collection}/{key} is not a valid record" in line
    # Nothing written, not even the namespace (the good first line included).
    assert not (home / "namespaces" / "fresh").exists()


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ({"type": "counter", "name": "artifact", "value": 2**63}, "from 0 to 2^63-1"),
        ({"type": "counter", "name": "artifact", "value": -1}, "whole number"),
        ({"type": "header", "format": "smartcontext-export", "version": 99}, "newer smartcontext"),
        ({"type": "header", "format": "smartcontext-export", "version": "1"}, "whole number"),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_import_refuses_counters_and_headers_out_of_range(sc, tmp_path, backend, record, fragment):
    sc("--backend", backend, "remember", "already here")
    before = sc("export").stdout
    result = sc("import", str(jsonl(tmp_path / "x.jsonl", record)))
    assert result.exit_code == 2
    assert fragment in one_error_line(result.stderr) and "x.jsonl:1:" in result.stderr
    assert sc("export").stdout == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_counter_imported_at_its_limit_gives_no_number_past_it(sc, tmp_path, backend):
    # Found while merging: a counter imported at 2^63-1 numbered the next task 2^63, a record
    # the store then called damaged (SQLite had turned the counter into a float).
    sc("--backend", backend, "todo", "add", "first task")
    at_limit = {"type": "counter", "name": "task", "value": 2**63 - 1}
    assert sc("import", str(jsonl(tmp_path / "c.jsonl", at_limit))).exit_code == 0
    before = sc("export").stdout
    result = sc("todo", "add", "one too many")
    assert result.exit_code == 1
    assert "counter 'task' is at 2^63-1" in one_error_line(result.stderr)
    assert sc("export").stdout == before  # nothing written, the counter included
    assert sc("doctor").exit_code == 0
    assert "first task" in sc("todo", "list").stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_numbers_past_their_key_width_are_not_called_damage(sc, tmp_path, backend):
    # Keys are zero-padded to 8 digits; task 100,000,000 has 9 and doctor called it damaged.
    sc("--backend", backend, "remember", "x")
    counter = {"type": "counter", "name": "task", "value": 99_999_999}
    assert sc("import", str(jsonl(tmp_path / "c.jsonl", counter))).exit_code == 0
    assert sc("todo", "add", "a wide number").exit_code == 0
    assert "a wide number" in sc("todo", "list").stdout
    assert sc("doctor").exit_code == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_import_keeps_none_of_the_records_before_the_bad_line(sc, tmp_path, backend):
    sc("--backend", backend, "remember", "already here")
    before = sc("export").stdout
    lines = [{"type": "memory", "content": f"good {i}"} for i in range(50)]
    lines.append({"type": "memory", "content": "bad", "importance": "high"})
    result = sc("import", str(jsonl(tmp_path / "x.jsonl", *lines)))
    assert result.exit_code == 2 and "x.jsonl:51:" in result.stderr
    assert sc("export").stdout == before


def test_imported_records_move_the_counters_past_their_numbers(sc, tmp_path):
    task = {"id": 7, "text": "imported task", "status": "pending"}
    record = {"type": "doc", "collection": "tasks", "key": "00000007", "data": task}
    assert sc("import", str(jsonl(tmp_path / "x.jsonl", record))).exit_code == 0
    assert sc("todo", "add", "a new task").stdout.strip().endswith("8")


# failed commands -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("session", "pop"),
        ("branch", "compare", "other"),
        ("todo", "block", "5"),
        ("strategy", "init", "-t", "nonexistent"),
        ("error", "resolve", "3"),
        ("compact", "--undo"),
    ],
)
def test_a_failed_command_never_creates_the_namespace(sc, home, args):
    result = sc("-n", "newns", *args)
    assert result.exit_code in (1, 2)
    one_error_line(result.stderr)
    assert not (home / "namespaces" / "newns").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_too_long_resolution_leaves_the_error_unresolved(sc, backend):
    sc("--backend", backend, "error", "log", "build", "exit code 1")
    result = sc("error", "resolve", "1", "--resolution", "x" * 1500)
    assert result.exit_code == 2
    assert [e["resolved"] for e in sc("error", "list", "--all", "--json").json()] == [False]


@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_adds_do_not_use_up_numbers(sc, backend):
    sc("--backend", backend, "todo", "add", "first")
    assert sc("todo", "add", "y" * 2500).exit_code == 2
    assert sc("todo", "add", "--parent", "9", "orphan").exit_code == 1
    assert sc("todo", "add", "second").stdout.strip().endswith("2")


# stored damage -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_wrong_shaped_stored_document_is_one_error_naming_it(sc, home, backend):
    sc("--backend", backend, "todo", "add", "fine")
    store = MemoryStore(base_dir=home)
    store.storage.put_doc("tasks", "00000001", {"id": 1})  # as a hand edit would leave it
    store.close()
    for args in (("todo", "list"), ("compile",), ("stats",)):
        result = sc(*args)
        assert result.exit_code == 1, args
        line = one_error_line(result.stderr)
        where = "docs/tasks/00000001.json" if backend == "json" else "record tasks/00000001"
        assert where in line and "'text' is missing" in line, line


def test_a_lost_counters_file_is_reported_not_restarted(sc, home):
    sc("--backend", "json", "session", "add", "user", "first event")
    counters = home / "namespaces" / "default" / "counters.json"
    counters.unlink()
    result = sc("session", "add", "user", "would overwrite event 1")
    assert result.exit_code == 1
    assert "counters.json is missing" in one_error_line(result.stderr)
    assert not counters.exists()
    assert [e["content"] for e in sc("session", "show", "--json").json()] == ["first event"]


def test_a_lost_store_json_does_not_start_a_second_store(sc, home):
    sc("--backend", "json", "remember", "kept")
    ns = home / "namespaces" / "default"
    (ns / "store.json").unlink()
    result = sc("remember", "new")
    assert result.exit_code == 1
    assert "store.json is missing although the namespace holds" in one_error_line(result.stderr)
    assert not (ns / "store.db").exists() and not (ns / "store.json").exists()


def test_show_of_a_memory_whose_file_was_deleted_names_the_file(sc, home):
    memory_id = sc("--backend", "json", "remember", "kept", "--json").json()["id"]
    gone = home / "namespaces" / "default" / "memories" / f"{memory_id}.json"
    gone.unlink()
    for ref in (memory_id, memory_id[:8]):  # a full id and a prefix the index resolves
        result = sc("show", ref)
        assert result.exit_code == 1
        line = one_error_line(result.stderr)
        assert str(gone) in line and "is missing" in line and "not found" not in line, line
    assert sc("show", "0" * 32).exit_code != 0  # an id never stored is still just absent


def test_a_zero_byte_database_is_not_reinitialised(sc, home):
    sc("remember", "kept")
    db = home / "namespaces" / "default" / "store.db"
    db.write_bytes(b"")
    for args in (("list",), ("remember", "new"), ("search", "kept")):
        result = sc(*args)
        assert result.exit_code == 1
        assert "store.db is empty (0 bytes)" in one_error_line(result.stderr)
    assert db.stat().st_size == 0


# privacy -------------------------------------------------------------------------------------


def test_everything_written_is_private(sc_proc, home, tmp_path):
    old = os.umask(0o022)
    try:
        # A fresh process, so the token cache is written; compile creates home and cache/.
        assert sc_proc("compile", "--memory", "just text").exit_code == 0
        sc_proc("remember", "a fact")
        out = tmp_path / "export.jsonl"
        assert sc_proc("export", "-o", str(out)).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert list((home / "cache" / "tokens").iterdir())  # the token cache is among them


def test_a_budget_past_any_model_is_one_usage_error(sc):
    # Found by the fuzz campaign: an internal OverflowError from SQLite.
    sc("remember", "hello world")
    result = sc("compile", "--strict", "--budget", str(10**12))
    assert result.exit_code == 2
    assert "the token budget is at most" in one_error_line(result.stderr)
    # Past 64 bits the option itself refuses it (main's CLI contract), one line too.
    result = sc("compile", "--strict", "--budget", "9" * 30)
    assert result.exit_code == 2
    assert "--budget" in one_error_line(result.stderr)


@pytest.mark.parametrize("backend", BACKENDS)
def test_namespace_delete_backs_the_namespace_up_first(sc, home, backend):
    sc("-n", "old", "--backend", backend, "remember", "the only copy of this fact")
    sc("-n", "old", "todo", "add", "a task")
    before = sc("-n", "old", "export").stdout
    result = sc("namespace", "delete", "old", "--yes")
    assert result.exit_code == 0, result.stderr
    (backup,) = (home / "backups" / "old").glob("*-namespace-delete.jsonl")
    assert f"backed up the namespace first: {backup}" in result.stderr
    assert not (home / "namespaces" / "old").exists()
    assert sc("-n", "old", "import", str(backup)).exit_code == 0
    assert sc("-n", "old", "export").stdout.splitlines()[1:] == before.splitlines()[1:]


def test_the_backups_setting_is_checked_like_every_other(sc, home):
    result = sc("config", "set", "backups", "--", "-1")
    assert result.exit_code == 2
    assert "backups must be a whole number of backups to keep" in one_error_line(result.stderr)
    assert not (home / "config.toml").exists()
    sc("remember", "x")
    export = home / "x.jsonl"
    assert sc("export", "-o", str(export)).exit_code == 0
    assert sc("import", str(export)).exit_code == 0
    assert len(list((home / "backups").rglob("*-import.jsonl"))) == 1
    assert sc("config", "set", "backups", "0").exit_code == 0
    assert sc("import", str(export)).exit_code == 0
    assert len(list((home / "backups").rglob("*-import.jsonl"))) == 1  # 0 turns them off


def test_backups_taken_side_by_side_are_all_kept(home):
    # Found by the load campaign: compacts running at once wrote one backup name through one
    # shared temp file, and the losers failed with an internal FileNotFoundError.
    import subprocess
    import sys
    import time

    store = MemoryStore(base_dir=home)
    store.remember("something to back up")
    store.close()
    code = (
        "import os, sys, time; from smartcontext_cli import MemoryStore\n"
        "s = MemoryStore(base_dir=sys.argv[1]); s.count()\n"
        "while not os.path.exists(sys.argv[2]): time.sleep(0.001)\n"
        "for _ in range(20): s.backup('compact')\n"
    )
    go = home / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(home), str(go)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    time.sleep(2)
    go.touch()
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    backups = list((home / "backups" / "default").iterdir())
    assert len(backups) == 5  # the newest five of twenty, each whole, no temp file left
    assert all(b.name.endswith("-compact.jsonl") and b.read_text() for b in backups)


def test_one_damaged_namespace_does_not_hide_the_others_from_namespace_list(sc, home):
    sc("remember", "healthy")
    sc("-n", "broken", "--backend", "json", "remember", "x")
    marker = home / "namespaces" / "broken" / "store.json"
    marker.write_text("garbage{")
    result = sc("namespace", "list", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in result.json()}
    assert rows["default"]["memories"] == 1
    assert (rows["broken"]["exists"], rows["broken"]["memories"]) == (True, None)
    assert f"warning: namespace 'broken': cannot parse {marker}" in result.stderr
    assert marker.read_text() == "garbage{"  # named, never rewritten
    # One namespace asked for by name still fails with the error naming the file.
    assert str(marker) in one_error_line(sc("namespace", "show", "broken").stderr)
