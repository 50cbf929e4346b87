"""The postgres backend from the command line: a team's shared namespace, as users meet it.

Runs against the real server of ``fixtures.postgres`` (skipping, saying why, where none can
run): several "machines" (data directories) on one database, migration in and out, the errors
a wrong URL or a missing extra must give, and settings that never leak the password.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

TEAM_ENV = "SMARTCONTEXT_DATABASE_URL"


@pytest.fixture
def team(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A member's environment: the team database, and the postgres backend by default."""
    monkeypatch.setenv(TEAM_ENV, pg_url)
    monkeypatch.setenv("SMARTCONTEXT_BACKEND", "postgres")
    return pg_url


def test_members_on_two_machines_share_one_namespace(sc, team, tmp_path: Path):
    ana, bo = tmp_path / "ana", tmp_path / "bo"
    first = sc(
        "--home", ana, "-n", "proj", "remember", "Staging runs on eu-west-1", "--kind", "fact"
    )
    assert first.exit_code == 0, first.stderr
    memory_id = first.stdout.strip()
    found = sc("--home", bo, "-n", "proj", "search", "staging region", "--json")
    assert found.exit_code == 0, found.stderr
    assert [hit["id"] for hit in found.json()] == [memory_id]
    assert sc("--home", bo, "-n", "proj", "goal", "ship the EU launch").exit_code == 0
    assert sc("--home", ana, "-n", "proj", "goal").stdout.strip() == "ship the EU launch"
    assert sc("--home", bo, "-n", "other", "list", "--json").json() == []  # namespaces apart
    # Nothing about the namespace is kept on either machine.
    assert not (ana / "namespaces").exists() and not (bo / "namespaces").exists()


def test_a_read_of_a_namespace_nobody_wrote_creates_nothing(sc, team):
    import psycopg

    assert sc("-n", "ghost", "search", "anything").exit_code == 1
    assert sc("-n", "ghost", "list", "--json").json() == []
    with psycopg.connect(team) as conn:
        assert conn.execute("SELECT count(*) FROM sc_namespaces").fetchone() == (0,)


def test_migrate_to_postgres_and_back_keeps_every_record(sc, pg_url, monkeypatch, home):
    monkeypatch.setenv(TEAM_ENV, pg_url)
    sc("remember", "Redis caches sessions for 15 minutes", "-t", "cache")
    sc("goal", "cut latency")
    sc("session", "add", "user", "we should look at the cache first")
    before = sc("export").stdout
    moved = sc("migrate", "--to", "postgres", "--json")
    assert moved.exit_code == 0, moved.stderr
    report = moved.json()
    assert (report["from"], report["to"], report["memories"]) == ("sqlite", "postgres", 1)
    assert Path(report["backup"], "store.db").is_file()  # the old store, kept
    pointer = home / "namespaces" / "default" / "store.postgres"
    assert pointer.is_file() and pg_url not in pointer.read_text()
    # The pointer keeps this machine on the database without --backend.
    assert sc("export").stdout == before
    assert [m["content"] for m in sc("search", "redis", "--json").json()] == [
        "Redis caches sessions for 15 minutes"
    ]
    again = sc("migrate", "--to", "postgres")
    assert again.exit_code == 2 and "already uses postgres" in again.stderr
    back = sc("migrate", "--to", "json", "--json")
    assert back.exit_code == 0, back.stderr
    assert "left in place" in back.json()["backup"]
    assert sc("export").stdout == before
    assert (home / "namespaces" / "default" / "store.json").is_file()


def test_migrating_into_a_namespace_that_holds_data_there_is_refused(sc, pg_url, monkeypatch):
    monkeypatch.setenv(TEAM_ENV, pg_url)
    assert sc("--backend", "postgres", "-n", "taken", "remember", "already here").exit_code == 0
    sc("--home", "elsewhere", "-n", "taken", "remember", "a local copy")
    refused = sc("--home", "elsewhere", "-n", "taken", "migrate", "--to", "postgres")
    assert refused.exit_code == 2
    assert "already holds data on PostgreSQL" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    listed = sc("--home", "elsewhere", "-n", "taken", "list", "--json").json()
    assert [m["content"] for m in listed] == ["a local copy"]  # nothing was changed


def test_an_unreachable_server_is_one_line_and_no_hang(sc_proc, tmp_path):
    started = time.monotonic()
    env = {
        TEAM_ENV: "postgresql://ana:hunter2@127.0.0.1:1/team",
        "SMARTCONTEXT_HOME": str(tmp_path),
    }
    result = sc_proc("--backend", "postgres", "list", env=env)
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    assert result.stderr.startswith("smartcontext: error: cannot connect to PostgreSQL at ")
    assert "127.0.0.1:1/team" in result.stderr and "hunter2" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_no_database_url_says_where_to_set_one(sc):
    result = sc("--backend", "postgres", "remember", "x")
    assert result.exit_code == 2
    assert "needs a database URL: set SMARTCONTEXT_DATABASE_URL" in result.stderr


def test_without_the_extra_the_error_names_it(sc_proc, tmp_path):
    # An install without psycopg: the import fails, as it would without the extra.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "psycopg.py").write_text("raise ImportError('No module named psycopg')\n")
    env = {
        "PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")]),
        TEAM_ENV: "host=/nowhere dbname=x",
        "SMARTCONTEXT_HOME": str(tmp_path / "home"),
    }
    result = sc_proc("--backend", "postgres", "remember", "x", env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "smartcontext: error: the postgres backend needs psycopg 3, which is not installed: "
        "pip install 'smartcontext-cli[postgres]'"
    )


def test_settings_never_show_the_password(sc, monkeypatch, tmp_path):
    url = "postgresql://ana:hunter2@db.internal/team"
    assert sc("config", "set", "database_url", url).exit_code == 0
    listed = sc("config", "list", "--json").json()
    assert listed["values"]["database_url"] == "postgresql://ana:***@db.internal/team"
    assert "hunter2" not in sc("config", "list").stdout
    (tmp_path / "work" / ".git").mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path / "work")
    refused = sc("config", "set", "database_url", url, "--project")
    assert refused.exit_code == 2 and "must not hold a password" in refused.stderr
    assert not (tmp_path / "work" / ".smartcontext.toml").exists()
    assert (
        sc("config", "set", "database_url", "postgresql://db.internal/team", "--project").exit_code
        == 0
    )


def test_namespace_commands_see_the_team_database(sc, team, tmp_path: Path):
    ana, bo = tmp_path / "ana", tmp_path / "bo"
    sc("--home", ana, "-n", "shop", "remember", "Checkout uses Stripe")
    sc("--home", ana, "-n", "shop", "artifact", "add", "notes.txt", "-", input="x")
    sc("--home", ana, "-n", "blog", "remember", "Posts are Markdown")
    # Bo's machine has no file of either namespace: the database is the truth.
    rows = sc("--home", bo, "-n", "shop", "namespace", "list", "--json").json()
    assert [(r["name"], r["backend"], r["memories"], r["artifacts"]) for r in rows] == [
        ("blog", "postgres", 1, 0),
        ("shop", "postgres", 1, 1),
    ]
    assert rows[1]["current"] and rows[1]["database"].startswith("PostgreSQL at ")
    assert rows[1]["bytes"] > len("Checkout uses Stripe")
    shown = sc("--home", bo, "namespace", "show", "blog", "--json").json()
    assert (shown["exists"], shown["backend"], shown["memories"]) == (True, "postgres", 1)
    typo = sc("--home", bo, "-n", "shp", "search", "stripe")
    assert typo.exit_code == 1 and "(namespaces: blog, shop;" in typo.stderr
    deleted = sc("--home", bo, "namespace", "delete", "shop", "--yes", "--json")
    assert deleted.json() == {"deleted": "shop", "memories": 1}
    # Gone for Ana too, and the other namespace untouched.
    assert sc("--home", ana, "-n", "shop", "list", "--json").json() == []
    assert [m["content"] for m in sc("--home", ana, "-n", "blog", "list", "--json").json()] == [
        "Posts are Markdown"
    ]
    again = sc("--home", ana, "namespace", "delete", "shop", "--yes")
    assert again.exit_code == 1 and "no namespace 'shop' (namespaces: blog)" in again.stderr
    # A namespace deleted by one member starts afresh at anyone's next write.
    assert sc("--home", ana, "-n", "shop", "remember", "A new start").exit_code == 0
    assert sc("--home", bo, "-n", "shop", "list", "--json").json()[0]["content"] == "A new start"


def test_config_set_refuses_a_database_url_libpq_cannot_read(sc):
    refused = sc("config", "set", "database_url", "not a url")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("smartcontext: error: invalid database URL: ")
    assert sc("config", "get", "database_url").exit_code == 1  # nothing was written
    assert sc("config", "set", "database_url", "host=/run/pg dbname=team").exit_code == 0
