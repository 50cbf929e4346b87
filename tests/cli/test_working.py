"""CLI tests for the working context: ``goal`` and ``artifact add|show|list``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")

# goal ------------------------------------------------------------------------------------------


def test_goal_set_then_show(sc):
    result = sc("goal", "Implement the OAuth2 login flow")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "goal set" in result.stderr
    shown = sc("goal")
    assert shown.exit_code == 0
    assert shown.stdout == "Implement the OAuth2 login flow\n"
    assert sc("goal", "--json").json() == {"goal": "Implement the OAuth2 login flow"}


def test_goal_unset_exits_1_and_json_is_null(sc):
    result = sc("goal")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no goal set" in result.stderr
    as_json = sc("goal", "--json")
    assert as_json.exit_code == 1
    assert as_json.json() == {"goal": None}


def test_goal_replace_and_clear(sc):
    sc("goal", "first")
    sc("goal", "second")
    assert sc("goal").stdout == "second\n"
    cleared = sc("goal", "--clear")
    assert cleared.exit_code == 0
    assert "goal cleared" in cleared.stderr
    assert sc("goal").exit_code == 1


def test_goal_from_stdin_is_trimmed(sc):
    assert sc("goal", "-", input="  ship the release\n").exit_code == 0
    assert sc("goal", "--json").json() == {"goal": "ship the release"}


def test_goal_reads_and_clear_on_a_new_namespace_create_nothing(sc, home):
    assert sc("goal", "-n", "ghost").exit_code == 1
    assert sc("goal", "--clear", "-n", "ghost").exit_code == 0
    assert sc("artifact", "list", "-n", "ghost").exit_code == 0
    assert sc("artifact", "show", "a1", "-n", "ghost").exit_code == 1
    assert not (home / "namespaces" / "ghost").exists()


def test_goal_and_clear_together_is_a_usage_error(sc):
    sc("goal", "keep me")
    result = sc("goal", "new", "--clear")
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error:")
    assert sc("goal").stdout == "keep me\n"


def test_empty_goal_is_refused_and_old_goal_kept(sc):
    sc("goal", "keep me")
    result = sc("goal", "   ")
    assert result.exit_code == 2
    assert "goal is empty" in result.stderr
    assert sc("goal").stdout == "keep me\n"


def test_goals_are_per_namespace(sc):
    sc("goal", "alpha goal", "-n", "alpha")
    assert sc("-n", "alpha", "goal").stdout == "alpha goal\n"
    assert sc("goal", "-n", "beta").exit_code == 1


# artifacts -------------------------------------------------------------------------------------


@pytest.fixture
def source_file(tmp_path: Path) -> Path:
    path = tmp_path / "auth_service.py"
    path.write_text("def login(user):\n    return token(user)\n", encoding="utf-8")
    return path


def test_artifact_add_prints_sequential_refs(sc, source_file):
    first = sc("artifact", "add", "auth_service.py", str(source_file))
    assert first.exit_code == 0
    assert first.stdout == "#a1\n"
    second = sc("artifact", "add", "notes", "-", input="some notes\n")
    assert second.stdout == "#a2\n"


def test_artifact_add_json_shape(sc, source_file):
    result = sc("artifact", "add", "auth_service.py", str(source_file), "--json")
    assert result.json() == {"id": "#a1", "name": "auth_service.py"}


def test_artifact_show_by_ref_id_and_name(sc, source_file):
    sc("artifact", "add", "auth_service.py", str(source_file))
    expected = "def login(user):\n    return token(user)\n"
    for ref in ("#a1", "a1", "auth_service.py"):
        result = sc("artifact", "show", ref)
        assert result.exit_code == 0, ref
        assert result.stdout == expected
    data = sc("artifact", "show", "#a1", "--json").json()
    assert set(data) == {"id", "name", "content", "created_at", "token_count", "token_encoding"}
    assert data["id"] == "#a1"
    assert data["name"] == "auth_service.py"
    assert data["content"] == expected  # exact bytes, trailing newline kept
    assert ISO.fullmatch(data["created_at"])


def test_artifact_same_name_twice_newest_wins_by_name(sc):
    sc("artifact", "add", "spec", "-", input="version one")
    sc("artifact", "add", "spec", "-", input="version two")
    assert sc("artifact", "show", "spec").stdout == "version two\n"
    assert sc("artifact", "show", "#a1").stdout == "version one\n"


def test_artifact_show_unknown_exits_1(sc, source_file):
    assert sc("artifact", "show", "#a1").exit_code == 1  # no store yet
    sc("artifact", "add", "x", str(source_file))
    for ref in ("#a9", "nothing-by-this-name"):
        result = sc("artifact", "show", ref)
        assert result.exit_code == 1
        assert result.stderr.startswith("smartcontext: error: no artifact")


def test_artifact_list_oldest_first_and_json_shape(sc, source_file):
    assert sc("artifact", "list", "--json").json() == []
    empty = sc("artifact", "list")
    assert empty.exit_code == 0
    assert "no artifacts yet" in empty.stderr
    sc("artifact", "add", "auth_service.py", str(source_file))
    sc("artifact", "add", "café.md", "-", input="é")
    listed = sc("artifact", "list", "--json").json()
    assert [a["id"] for a in listed] == ["#a1", "#a2"]
    assert set(listed[0]) == {"id", "name", "created_at", "token_count", "token_encoding", "bytes"}
    assert listed[0]["bytes"] == source_file.stat().st_size
    assert listed[1] == {**listed[1], "name": "café.md", "bytes": 2}  # bytes, not characters
    rows = [r.split("\t") for r in sc("artifact", "list").stdout.splitlines()]
    size = str(source_file.stat().st_size)
    assert [r[:3] for r in rows] == [["#a1", "auth_service.py", size], ["#a2", "café.md", "2"]]


def test_artifact_list_sorts_numerically_past_nine(sc):
    for i in range(11):
        sc("artifact", "add", f"f{i}", "-", input=f"content {i}")
    listed = sc("artifact", "list", "--json").json()
    assert [a["id"] for a in listed] == [f"#a{i}" for i in range(1, 12)]


def test_artifacts_survive_in_a_new_process(sc_proc):
    a = sc_proc("artifact", "add", "one", "-", input="1")
    b = sc_proc("artifact", "add", "two", "-", input="2")
    assert (a.stdout, b.stdout) == ("#a1\n", "#a2\n")
    assert sc_proc("artifact", "show", "two").stdout == "2\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["x", "/no/such/file"], "no such file"),
        (["", "-"], "invalid artifact name"),
        (["#a5", "-"], "cannot start with '#'"),
        (["x" * 201, "-"], "invalid artifact name"),
    ],
)
def test_artifact_add_bad_input_is_a_usage_error(sc, args, fragment):
    result = sc("artifact", "add", *args, input="content")
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error:")
    assert fragment in result.stderr
    assert sc("artifact", "list", "--json").json() == []


def test_artifact_add_directory_is_a_usage_error(sc, tmp_path):
    result = sc("artifact", "add", "dir", str(tmp_path))
    assert result.exit_code == 2
    assert "is a directory" in result.stderr


def test_artifact_add_empty_file_is_refused(sc, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = sc("artifact", "add", "empty", str(empty))
    assert result.exit_code == 2
    assert "artifact is empty" in result.stderr


def test_artifact_group_without_subcommand_shows_help(sc):
    result = sc("artifact")
    assert result.exit_code == 0  # help, as gh and llm give it: not an error
    assert "add" in result.stdout
    assert "error" not in result.stderr
