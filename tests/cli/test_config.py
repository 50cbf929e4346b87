"""Settings: ``config get|set|list|path`` and the precedence of their sources.

Precedence, lowest first: defaults < user config < the project's ``.smartcontext.toml`` at the
git root < ``SMARTCONTEXT_*`` environment variables < flags. The project tests use a real
``git init`` repository, entered from a subdirectory, as a user would.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository named ``my-proj``; the test runs in a subdirectory of it."""
    root = tmp_path / "code" / "my-proj"
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(root / "src" / "deep")
    return root


def value_and_source(sc, key: str, *flags: str) -> tuple[object, object]:
    data = sc(*flags, "config", "get", key, "--json").json()
    return data["value"], data["source"]


# path, set, get, list --------------------------------------------------------------------------


def test_config_path_is_under_smartcontext_home(sc, home):
    result = sc("config", "path")
    assert result.exit_code == 0
    assert result.stdout == f"{home / 'config.toml'}\n"


def test_config_path_follows_home_flag(sc, tmp_path):
    other = tmp_path / "elsewhere"
    assert sc("--home", str(other), "config", "path").stdout == f"{other / 'config.toml'}\n"


def test_config_path_project_needs_a_git_repository(sc):
    result = sc("config", "path", "--project")
    assert result.exit_code == 2
    assert "git repository" in result.stderr


def test_config_path_project_is_at_the_git_root(sc, repo):
    assert sc("config", "path", "--project").stdout == f"{repo / '.smartcontext.toml'}\n"


def test_config_set_writes_typed_toml_and_get_reads_it(sc, home):
    result = sc("config", "set", "budget", "8000")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "budget = 8000" in result.stderr
    written = tomllib.loads((home / "config.toml").read_text("utf-8"))
    assert written == {"budget": 8000}
    get = sc("config", "get", "budget")
    assert (get.exit_code, get.stdout) == (0, "8000\n")
    assert sc("config", "get", "budget", "--json").json() == {
        "key": "budget",
        "value": 8000,
        "source": "user",
    }


def test_config_set_keeps_other_keys_and_replaces_the_value(sc, home):
    sc("config", "set", "budget", "8000")
    sc("config", "set", "mode", "coding")
    sc("config", "set", "budget", "9000")
    assert tomllib.loads((home / "config.toml").read_text("utf-8")) == {
        "budget": 9000,
        "mode": "coding",
    }
    assert not list(home.glob("*.tmp"))


def test_user_config_is_private(sc, home):
    sc("config", "set", "budget", "8000")
    assert stat.S_IMODE((home / "config.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_config_set_tables_with_dotted_keys(sc, home):
    assert sc("config", "set", "policies.audit.goal", "Find security bugs").exit_code == 0
    assert sc("config", "set", "policies.audit.budget", "2000").exit_code == 0
    data = sc("config", "get", "policies.audit", "--json").json()
    assert data["value"] == {"goal": "Find security bugs", "budget": 2000}
    assert sc("config", "get", "policies.audit.goal").stdout == "Find security bugs\n"
    assert sc("config", "list", "--json").json()["tables"] == {
        "policies": {"audit": {"goal": "Find security bugs", "budget": 2000}}
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["budget", "lots"], "budget must be int"),
        (["backend", "postgres"], "backend must be one of sqlite, json"),
        (["transparency", "loud"], "transparency must be one of"),
        (["nosuch", "1"], "unknown setting 'nosuch'"),
        (["a..b", "1"], "invalid key"),
    ],
)
def test_config_set_rejects_bad_keys_and_values(sc, home, args, fragment):
    result = sc("config", "set", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error:")
    assert fragment in result.stderr
    assert not (home / "config.toml").exists()


def test_config_set_into_a_value_is_refused(sc, home):
    sc("config", "set", "policies.audit", "x")  # a plain value...
    result = sc("config", "set", "policies.audit.goal", "y")  # ...cannot hold a table
    assert result.exit_code == 2
    assert "not a table" in result.stderr


def test_config_get_unset_exits_1(sc):
    result = sc("config", "get", "summarizer")
    assert result.exit_code == 1
    assert result.stdout == ""
    as_json = sc("config", "get", "policies.none", "--json")
    assert as_json.exit_code == 1
    assert as_json.json() == {"key": "policies.none", "value": None, "source": None}


def test_config_get_unknown_key_is_a_usage_error(sc):
    assert sc("config", "get", "bogus").exit_code == 2


def test_config_list_shows_every_value_with_its_source(sc):
    sc("config", "set", "budget", "8000")
    data = sc("config", "list", "--json").json()
    assert set(data) == {"values", "sources", "tables", "files", "warnings"}
    assert data["files"]["user"].endswith("config.toml") and data["warnings"] == []
    assert data["values"]["budget"] == 8000
    assert data["sources"]["budget"] == "user"
    assert data["values"]["backend"] == "sqlite"
    assert data["sources"]["backend"] == "default"
    lines = sc("config", "list").stdout.splitlines()
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines}
    assert rows["budget"] == ["8000", "user"]
    assert rows["mode"] == ["balanced", "default"]


def test_broken_config_file_is_one_clear_error(sc, home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("budget = = 3\n", encoding="utf-8")
    result = sc("list")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"smartcontext: error: cannot parse config file {home}")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ('budget = "8000"', "budget must be int"),
        ("budget = true", "budget must be int"),
        ("mode = 3", "mode must be str"),
        ('backend = "postgres"', "backend must be one of"),
    ],
)
def test_wrongly_typed_config_values_are_refused_by_name(sc, home, toml, fragment):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(toml + "\n", encoding="utf-8")
    result = sc("config", "list")
    assert result.exit_code == 2
    assert fragment in result.stderr
    # Every config error names its file.
    assert f"(in {home / 'config.toml'})" in result.stderr


def test_float_settings_accept_whole_numbers(sc, home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("summarizer_timeout = 1\n", encoding="utf-8")
    assert sc("config", "get", "summarizer_timeout", "--json").json()["value"] == 1.0


# precedence ------------------------------------------------------------------------------------


def test_precedence_user_then_project_then_env(sc, repo, monkeypatch):
    assert value_and_source(sc, "budget") == (4000, "default")
    sc("config", "set", "budget", "1000")
    assert value_and_source(sc, "budget") == (1000, "user")
    sc("config", "set", "budget", "2000", "--project")
    assert tomllib.loads((repo / ".smartcontext.toml").read_text("utf-8")) == {"budget": 2000}
    assert value_and_source(sc, "budget") == (2000, "project")
    monkeypatch.setenv("SMARTCONTEXT_BUDGET", "3000")
    assert value_and_source(sc, "budget") == (3000, "env")


def test_project_config_only_applies_inside_its_repository(sc, repo, tmp_path, monkeypatch):
    sc("config", "set", "mode", "coding", "--project")
    assert value_and_source(sc, "mode") == ("coding", "project")
    monkeypatch.chdir(tmp_path)
    assert value_and_source(sc, "mode") == ("balanced", "default")


def test_bad_environment_value_is_a_usage_error(sc, monkeypatch):
    monkeypatch.setenv("SMARTCONTEXT_BUDGET", "many")
    result = sc("list")
    assert result.exit_code == 2
    assert "budget must be int" in result.stderr


def test_backend_precedence_user_project_env_flag(sc, home, repo, monkeypatch):
    """Which file a new namespace gets shows which layer won."""

    def backend_of_new(namespace: str, *flags: str) -> str:
        assert sc(*flags, "-n", namespace, "remember", "x").exit_code == 0
        ns_dir = home / "namespaces" / namespace
        return "json" if (ns_dir / "store.json").exists() else "sqlite"

    sc("config", "set", "backend", "json")
    assert backend_of_new("a") == "json"
    sc("config", "set", "backend", "sqlite", "--project")
    assert backend_of_new("b") == "sqlite"
    monkeypatch.setenv("SMARTCONTEXT_BACKEND", "json")
    assert backend_of_new("c") == "json"
    assert backend_of_new("d", "--backend", "sqlite") == "sqlite"


def test_namespace_precedence_git_name_user_project_env_flag(sc, repo, monkeypatch):
    def namespace(*flags: str, after: tuple[str, ...] = ()) -> str:
        result = sc(*flags, "remember", "x", "--json", *after)
        assert result.exit_code == 0, result.stderr
        return result.json()["namespace"]

    assert namespace() == "my-proj"  # the git repository's directory name
    sc("config", "set", "namespace", "from-user")
    assert namespace() == "from-user"
    sc("config", "set", "namespace", "from-project", "--project")
    assert namespace() == "from-project"
    monkeypatch.setenv("SMARTCONTEXT_NAMESPACE", "from-env")
    assert namespace() == "from-env"
    assert namespace("-n", "from-flag") == "from-flag"
    assert namespace("--namespace", "global", after=("-n", "per-command")) == "per-command"


def test_default_namespace_outside_git_is_default(sc):
    assert sc("remember", "x", "--json").json()["namespace"] == "default"


@pytest.mark.parametrize(
    ("dirname", "expected"),
    [("My Project!", "My-Project-"), (".dotted", "dotted"), ("x" * 70, "x" * 64)],
)
def test_git_repository_names_are_made_safe(sc, tmp_path, monkeypatch, dirname, expected):
    root = tmp_path / "code" / dirname
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    assert sc("remember", "x", "--json").json()["namespace"] == expected


def test_home_flag_moves_all_state(sc, home, tmp_path):
    other = tmp_path / "other-home"
    assert sc("--home", str(other), "remember", "elsewhere").exit_code == 0
    assert (other / "namespaces" / "default" / "store.db").exists()
    assert not home.exists()
    assert sc("list", "--json").json() == []
    assert len(sc("--home", str(other), "list", "--json").json()) == 1


def test_smartcontext_home_is_read_at_call_time(sc, tmp_path, monkeypatch):
    first, second = tmp_path / "h1", tmp_path / "h2"
    monkeypatch.setenv("SMARTCONTEXT_HOME", str(first))
    sc("remember", "one")
    monkeypatch.setenv("SMARTCONTEXT_HOME", str(second))
    sc("remember", "two")
    assert (first / "namespaces" / "default").is_dir()
    assert (second / "namespaces" / "default").is_dir()
    assert [m["content"] for m in sc("list", "--json").json()] == ["two"]


def test_concurrent_config_sets_keep_every_key(tmp_path):
    """Eight `config set` processes at once, each its own policy share: every one is kept
    (they used to read, change and write the file each for itself, and share a temp file)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SMARTCONTEXT_HOME": str(tmp_path / "home")}
    keys = [f"policies.team{i}.memories" for i in range(8)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "smartcontext_cli", "config", "set", key, "0.25"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for key in keys
    ]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    out = subprocess.run(
        [sys.executable, "-m", "smartcontext_cli", "config", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = out.stdout
    assert all(f"team{i}" in text for i in range(8)), text
    home = tmp_path / "home"
    assert not [p.name for p in home.rglob("*.tmp")]
