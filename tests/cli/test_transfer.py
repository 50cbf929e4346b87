"""Moving data: ``export``, ``import`` and ``migrate`` in both directions between the backends.

The promises under test: an export holds every field; import is all or nothing (a bad line is
named with its line number and nothing is written); migration never loses the original (a backup
is kept); an existing namespace keeps its backend and says so when asked for another; and
JSON -> SQLite -> export is the identity (hypothesis).
"""

from __future__ import annotations

import json
import stat
import string
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore

BACKENDS = ("sqlite", "json")
OTHER = {"sqlite": "json", "json": "sqlite"}
MARKER = {"sqlite": "store.db", "json": "store.json"}


def fill(sc, backend: str, namespace: str = "proj") -> dict[str, str]:
    """A namespace with every kind of record: memories, goal, artifacts, session items."""
    ids = {}
    for name, args in {
        "pg": ("We chose PostgreSQL 16", "-t", "db", "--kind", "decision", "--importance", "0.9"),
        "k8s": ("Deploys run on Kubernetes", "-t", "infra", "--source", "ops"),
        "uni": ('Unicode survives: café, 日本語, emoji 🎉, "quotes" and \\ backslash',),
    }.items():
        result = sc("--backend", backend, "-n", namespace, "remember", *args)
        assert result.exit_code == 0, result.stderr
        ids[name] = result.stdout.strip()
    assert sc("-n", namespace, "goal", "Ship the release").exit_code == 0
    added = sc("-n", namespace, "artifact", "add", "spec.md", "-", input="# Spec\nline\n")
    assert added.exit_code == 0
    with MemoryStore(namespace=namespace) as store:
        store.add_session_item("user", "New requirement: add logging")
    return ids


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def without_header(text: str) -> list[dict]:
    return [r for r in records(text) if r["type"] != "header"]


# export ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_export_writes_every_record_and_field_as_jsonl(sc, backend):
    ids = fill(sc, backend)
    result = sc("-n", "proj", "export")
    assert result.exit_code == 0
    recs = records(result.stdout)
    header = {"type": "header", "format": "smartcontext-export", "version": 1, "namespace": "proj"}
    assert recs[0] == header
    memories = [r for r in recs if r["type"] == "memory"]
    assert [m["id"] for m in memories] == [ids["pg"], ids["k8s"], ids["uni"]]  # oldest first
    assert set(memories[0]) == {
        "type",
        "id",
        "content",
        "tags",
        "kind",
        "source",
        "importance",
        "created_at",
        "updated_at",
        "token_count",
        "token_encoding",
    }
    assert memories[0]["importance"] == 0.9
    assert memories[1]["source"] == "ops"
    assert memories[2]["content"].startswith("Unicode survives: café, 日本語")
    docs = {(r["collection"], r["key"]): r["data"] for r in recs if r["type"] == "doc"}
    assert docs[("working", "goal")]["text"] == "Ship the release"
    assert docs[("artifacts", "a1")]["content"] == "# Spec\nline\n"
    assert any(c == "session" for c, _ in docs)
    counters = {r["name"]: r["value"] for r in recs if r["type"] == "counter"}
    assert counters["artifact"] == 1
    assert "exported" in result.stderr


def test_export_to_file_with_output_option(sc, tmp_path):
    fill(sc, "sqlite")
    target = tmp_path / "backup.jsonl"
    result = sc("-n", "proj", "export", "-o", str(target))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert without_header(target.read_text(encoding="utf-8")) == without_header(
        sc("-n", "proj", "export").stdout
    )
    assert not Path(str(target) + ".tmp").exists()


def test_export_to_a_bad_path_is_one_error_and_leaves_no_temp_file(sc, tmp_path):
    sc("remember", "x")
    into_dir = sc("export", "-o", str(tmp_path))
    assert into_dir.exit_code == 2
    assert into_dir.stderr == f"smartcontext: error: {tmp_path} is a directory; give a file name\n"
    missing = tmp_path / "no" / "such" / "dir" / "x.jsonl"
    result = sc("export", "-o", str(missing))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"smartcontext: error: cannot write {missing}")
    assert not Path(str(tmp_path) + ".tmp").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_export_of_a_namespace_that_does_not_exist(sc, home):
    result = sc("-n", "typo", "export")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "has no store yet" in result.stderr
    assert not (home / "namespaces" / "typo").exists()


# import ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", BACKENDS)
def test_export_import_roundtrip_across_backends(sc, tmp_path, source):
    fill(sc, source, "src")
    dump = tmp_path / "dump.jsonl"
    sc("-n", "src", "export", "-o", str(dump))
    result = sc("--backend", OTHER[source], "-n", "dst", "import", str(dump), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"memories": 3, "docs": 3, "counters": 2}
    with MemoryStore(namespace="dst") as dst:
        assert dst.backend == OTHER[source]
    exported = sc("-n", "dst", "export").stdout
    # The same records, but the cached token counts, which an import drops (they are the
    # compiler's own: tests/storage/test_transfer_counts.py).
    expected = without_header(dump.read_text("utf-8"))
    for r in expected:
        if r["type"] == "doc" and r["collection"] == "session":
            r["data"]["token_count"] = None
            r["data"]["meta"].pop("token_encoding", None)
    assert without_header(exported) == expected
    # What a user sees is the same too.
    top = sc("-n", "dst", "search", "postgre", "--json").json()[0]
    assert top["content"] == "We chose PostgreSQL 16"
    assert sc("-n", "dst", "artifact", "show", "#a1").stdout == "# Spec\nline\n"
    assert sc("-n", "dst", "goal").stdout == "Ship the release\n"


def test_import_from_stdin_and_plain_report(sc):
    fill(sc, "sqlite", "a")
    dump = sc("-n", "a", "export").stdout
    result = sc("-n", "b", "import", "-", input=dump)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "imported 3 memories, 3 documents, 2 counters into 'b'" in result.stderr


def test_import_twice_replaces_by_id_and_never_moves_counters_back(sc):
    fill(sc, "sqlite", "a")
    dump = sc("-n", "a", "export").stdout
    sc("-n", "a", "artifact", "add", "later", "-", input="x")  # counter now 2
    assert sc("-n", "a", "import", "-", input=dump).exit_code == 0
    assert len(sc("-n", "a", "list", "--json").json()) == 3
    assert sc("-n", "a", "artifact", "add", "next", "-", input="y").stdout == "#a3\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_jsonl_line_is_named_and_nothing_is_written(sc, home, tmp_path, backend):
    fill(sc, backend, "dst")
    before = sc("-n", "dst", "export").stdout
    good = json.dumps({"type": "memory", "content": "would be imported"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(f"{good}\n{good}\n\n{{not json\n{good}\n", encoding="utf-8")
    result = sc("-n", "dst", "import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"smartcontext: error: {bad}:4: not valid JSON "
        "(Expecting property name enclosed in double quotes)"
    ]
    assert sc("-n", "dst", "export").stdout == before
    # Into a new namespace: not even an empty store is created.
    assert sc("-n", "fresh", "import", str(bad)).exit_code == 2
    assert not (home / "namespaces" / "fresh").exists()


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('["a list"]', "expected a JSON object"),
        ('{"type": "memory", "tags": []}', "content"),
        ('{"type": "comet"}', "unknown record type"),
        ('{"type": "header", "format": "something-else"}', "not a smartcontext export"),
        ('{"type": "memory", "content": 42}', "content"),
        ('{"type": "memory", "content": "x", "tags": "abc"}', "tags must be a list"),
        ('{"type": "memory", "content": "x", "importance": "high"}', "importance"),
        ('{"type": "memory", "content": "x", "importance": 7}', "importance"),
        ('{"type": "memory", "content": "x", "id": 5}', "invalid memory id"),
        ('{"type": "memory", "content": "x", "id": "../../../../escaped"}', "invalid memory id"),
        ('{"type": "memory", "content": "x", "kind": "Not A Kind"}', "invalid kind"),
        ('{"type": "memory", "content": "x", "created_at": "yesterday"}', "ISO 8601"),
        ('{"type": "memory", "content": "x", "created_at": "2024-01-01T00:00:00"}', "time zone"),
        ('{"type": "memory", "content": "x", "token_count": "many"}', "token_count"),
    ],
)
def test_invalid_records_are_refused_all_or_nothing(sc, line, fragment):
    good = json.dumps({"type": "memory", "content": "first good line"})
    result = sc("-n", "dst", "import", "-", input=f"{good}\n{line}\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error:")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert sc("-n", "dst", "list", "--json").json() == []


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "doc"}',
        '{"type": "doc", "collection": "notes", "key": "k", "data": [1, 2]}',
        '{"type": "counter", "name": "artifact", "value": "abc"}',
        '{"type": "counter", "value": 3}',
    ],
)
def test_malformed_doc_and_counter_records_are_usage_errors(sc, line):
    good = json.dumps({"type": "memory", "content": "first good line"})
    result = sc("-n", "dst", "import", "-", input=f"{good}\n{line}\n")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("smartcontext: error:")
    assert "internal error" not in result.stderr
    assert sc("-n", "dst", "list", "--json").json() == []


def test_import_of_a_file_that_is_not_utf8(sc, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"type": "memory", "content": "caf\xe9"}\n')
    result = sc("import", str(path))
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr
    assert sc("list", "--json").json() == []


def test_import_missing_file_or_directory(sc, tmp_path):
    result = sc("import", "/no/such/file.jsonl")
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    directory = sc("import", str(tmp_path))
    assert directory.exit_code == 2
    assert "is a directory" in directory.stderr


def _stderr_on_terminal(args: list[str], home: Path, stdin: bytes | None) -> tuple[int, str]:
    """Run the CLI (in development mode) with only stderr on a pseudo-terminal."""
    import os
    import pty
    import select
    import subprocess
    import sys

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-X", "dev", "-m", "smartcontext_cli", *args],
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "SMARTCONTEXT_HOME": str(home), "NO_COLOR": "1"},
    )
    os.close(follower)
    if proc.stdin is not None:
        proc.stdin.write(stdin or b"")
        proc.stdin.close()
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    code = proc.wait(timeout=30)
    os.close(leader)
    return code, seen.decode("utf-8", "replace")


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_import_shows_a_progress_bar_on_a_terminal_and_removes_it(home, tmp_path, source):
    lines = [json.dumps({"type": "memory", "content": f"memory {i}"}) for i in range(2500)]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["import", str(dump) if source == "file" else "-"]
    code, screen = _stderr_on_terminal(args, home, dump.read_bytes() if source == "stdin" else None)
    assert code == 0, screen
    assert "importing" in screen and "100%" in screen
    assert "Warning" not in screen  # -X dev reports unclosed files
    # The bar is transient: after the summary nothing of it is drawn again.
    summary = screen.rindex("imported 2500 memories")
    assert "importing" not in screen[summary:]


# migrate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", BACKENDS)
def test_migrate_converts_and_keeps_a_backup(sc, home, source):
    fill(sc, source)
    before = without_header(sc("-n", "proj", "export").stdout)
    target = OTHER[source]
    result = sc("-n", "proj", "migrate", "--to", target, "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert set(report) == {"namespace", "from", "to", "memories", "docs", "backup"}
    assert (report["namespace"], report["from"], report["to"]) == ("proj", source, target)
    assert (report["memories"], report["docs"]) == (3, 3)
    ns_dir = home / "namespaces" / "proj"
    assert (ns_dir / MARKER[target]).exists()
    assert not (ns_dir / MARKER[source]).exists()
    backup = Path(report["backup"])
    assert backup.parent == home / "backups"
    assert (backup / MARKER[source]).exists()
    # The backup is a complete, openable store of the old backend.
    assert without_header(sc("-n", "proj", "export").stdout) == before
    with MemoryStore(namespace="proj") as store:
        assert store.backend == target
    # No staging directory is left behind, and everything stays private.
    assert sorted(p.name for p in (home / "namespaces").iterdir()) == ["proj"]
    for path in [home, *home.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_migrate_there_and_back_keeps_everything(sc):
    fill(sc, "sqlite")
    before = without_header(sc("-n", "proj", "export").stdout)
    assert sc("-n", "proj", "migrate", "--to", "json").exit_code == 0
    plain = sc("-n", "proj", "migrate", "--to", "sqlite")
    assert plain.exit_code == 0
    assert "migrated 'proj' from json to sqlite: 3 memories, 3 documents;" in plain.stderr
    assert without_header(sc("-n", "proj", "export").stdout) == before
    # New writes land in the migrated store.
    assert sc("-n", "proj", "remember", "after the move").exit_code == 0
    assert len(sc("-n", "proj", "list", "--json").json()) == 4


def test_migrations_in_quick_succession_keep_every_backup_where_reported(sc, home):
    sc("remember", "x")
    reported = []
    for target in ("json", "sqlite", "json", "sqlite"):
        result = sc("migrate", "--to", target, "--json")
        assert result.exit_code == 0, result.stderr
        reported.append(Path(result.json()["backup"]))
    assert len(set(reported)) == 4
    assert sorted(reported) == sorted((home / "backups").iterdir())
    for backup, source in zip(reported, ("sqlite", "json", "sqlite", "json"), strict=True):
        assert (backup / MARKER[source]).is_file()
        assert not (backup / "default").exists()  # not moved inside an earlier backup
    assert len(sc("list", "--json").json()) == 1


def test_migrate_refusals(sc, home):
    no_store = sc("-n", "ghost", "migrate", "--to", "json")
    assert no_store.exit_code == 2
    assert "no store yet" in no_store.stderr
    sc("remember", "x")
    same = sc("migrate", "--to", "sqlite")
    assert same.exit_code == 2
    assert "already uses sqlite" in same.stderr
    unknown = sc("migrate", "--to", "postgres")
    assert unknown.exit_code == 2
    assert "unknown backend" in unknown.stderr
    assert not (home / "backups").exists()


@pytest.mark.parametrize("existing", BACKENDS)
def test_backend_flag_on_existing_namespace_keeps_its_backend_and_says_so(sc, home, existing):
    sc("--backend", existing, "remember", "created first")
    other = OTHER[existing]
    result = sc("--backend", other, "remember", "second")
    assert result.exit_code == 0
    assert result.stderr.strip() == (
        f"smartcontext: namespace 'default' is stored with {existing}; using {existing} "
        f"(convert it with: smartcontext migrate --to {other})"
    )
    ns_dir = home / "namespaces" / "default"
    assert not (ns_dir / MARKER[other]).exists()
    assert len(sc("list", "--json").json()) == 2
    # Without the flag: no notice, the namespace's backend is simply used.
    assert sc("list").stderr == ""


def test_backend_from_env_or_config_is_silent_for_existing_namespaces(sc, monkeypatch):
    sc("remember", "sqlite first")
    monkeypatch.setenv("SMARTCONTEXT_BACKEND", "json")
    result = sc("list")
    assert result.exit_code == 0
    assert result.stderr == ""
    with MemoryStore(namespace="default") as store:
        assert store.backend == "sqlite"


# JSON -> SQLite -> export is the identity --------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda s: s.strip())
_tag = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12)
_memory = st.fixed_dictionaries(
    {
        "content": _text,
        "tags": st.lists(_tag, max_size=3, unique=True),
        "kind": st.sampled_from(["fact", "decision", "note", "preference"]),
        "importance": st.floats(0, 1),
    }
)
_doc = st.tuples(
    st.sampled_from(["working", "notes", "x"]),
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=10),
    st.dictionaries(
        st.text(max_size=5), st.one_of(st.integers(), _text, st.booleans(), st.none()), max_size=3
    ),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(memories=st.lists(_memory, max_size=6), docs=st.lists(_doc, max_size=4), n=st.integers(0, 5))
def test_export_from_json_import_into_sqlite_export_again_is_identical(tmp_path, memories, docs, n):
    base = tmp_path / "prop"
    tag = uuid.uuid4().hex[:8]  # each example gets fresh namespaces
    with MemoryStore(namespace=f"j{tag}", storage_backend="json", base_dir=base) as src:
        for m in memories:
            src.remember(m["content"], tags=m["tags"], kind=m["kind"], importance=m["importance"])
        for collection, key, data in docs:
            src.storage.put_doc(collection, key, data)
        for _ in range(n):
            src.storage.next_counter("things")
        exported = src.export_all()
    with MemoryStore(namespace=f"s{tag}", storage_backend="sqlite", base_dir=base) as dst:
        dst.import_all(exported)
        assert dst.export_all() == exported
    with MemoryStore(namespace=f"s{tag}", base_dir=base) as reopened:
        assert reopened.backend == "sqlite"
        assert reopened.export_all() == exported
