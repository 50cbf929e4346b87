"""The CLI contract of issue 11: what a script or a daily terminal user relies on.

One regression test per reported item, driven like the shell (``sc(...)``), or as a real
subprocess where pipes and terminals matter (``sc_proc``).
"""

from __future__ import annotations

import stat

import pytest

# --home moves all state ------------------------------------------------------------------------


def test_home_moves_the_token_cache_too_and_keeps_it_private(sc, tmp_path, monkeypatch):
    monkeypatch.delenv("SMARTCONTEXT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    target = tmp_path / "elsewhere"
    assert sc("--home", str(target), "session", "add", "user", "hello there").exit_code == 0
    assert not (tmp_path / "xdg").exists(), "state was written outside --home"
    cache = target / "cache" / "tokens"
    files = list(cache.iterdir())
    assert files, "the token cache was not written under --home"
    for d in (target / "cache", cache):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_an_empty_home_is_refused(sc):
    result = sc("--home", "", "list")
    assert result.exit_code == 2
    assert result.stderr == (
        "smartcontext: error: --home needs a directory; it was given an empty value\n"
    )


# config validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("mode", "bogus", "mode must be one of coding"),
        ("budget", "0", "budget must be a positive whole number"),
        ("safety_margin", "0.95", "safety_margin must be at least 0 and below 0.9"),
        ("max_session_turns", "1", "max_session_turns must be a whole number of at least 2"),
        ("summarizer_timeout", "0", "summarizer_timeout must be a number of seconds above 0"),
        ("encoding", "latin1", "unknown encoding 'latin1'"),
    ],
)
def test_config_set_refuses_what_the_using_code_would_refuse(sc, home, key, value, fragment):
    result = sc("config", "set", key, value)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert not (home / "config.toml").exists()  # nothing written
    assert sc("remember", "still works").exit_code == 0


def test_the_same_rules_hold_when_a_file_is_loaded_and_errors_name_it(sc, home):
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text("max_session_turns = 1\n")
    result = sc("list")
    assert result.exit_code == 2
    assert result.stderr == (
        "smartcontext: error: max_session_turns must be a whole number of at least 2, got 1 "
        f"(in {config})\n"
    )
    # The same rule as `session set-max-turns`.
    config.write_text("")
    assert "at least 2" in sc("session", "set-max-turns", "1").stderr


def test_a_project_file_error_names_the_project_file(sc, tmp_path, monkeypatch):
    repo = tmp_path / "proj"
    (repo / ".git").mkdir(parents=True)
    (repo / ".smartcontext.toml").write_text('mode = "bogus"\n')
    monkeypatch.chdir(repo)
    result = sc("compile", "-M", "x")
    assert result.exit_code == 2
    assert f"(in {repo / '.smartcontext.toml'})" in result.stderr
    assert result.stderr.startswith("smartcontext: error: mode must be one of")


def test_unknown_keys_are_warned_about_with_a_suggestion(sc, home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("budgt = 8000\n[polices.x]\ngoal = 1.0\n")
    result = sc("remember", "a note")
    assert result.exit_code == 0
    assert (
        f"smartcontext: warning: unknown setting 'budgt' in {home / 'config.toml'} is ignored "
        "(did you mean 'budget'?)"
    ) in result.stderr
    assert "unknown table [polices]" in result.stderr and "'policies'" in result.stderr
    assert result.stderr.count("budgt") == 1  # once per invocation
    typo = sc("config", "set", "budgt", "8000")
    assert typo.exit_code == 2 and "unknown setting 'budgt' (did you mean 'budget'?)" in typo.stderr


def test_one_bad_policy_does_not_break_every_compile(sc, home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        "[policies.broken]\ngoal = 0.9\nmemories = 0.9\n"
        "[policies.audit]\ngoal = 0.2\nmemories = 0.5\nobservations = 0.1\nartifacts = 0.1\n"
        "strategy = 0.05\nsystem = 0.05\n"
    )
    ok = sc("compile", "-M", "a memory")
    assert ok.exit_code == 0, ok.stderr
    assert "policy 'broken'" in ok.stderr and str(home / "config.toml") in ok.stderr
    assert sc("compile", "-M", "a memory", "--mode", "audit").exit_code == 0
    assert sc("compile", "-M", "a memory", "--mode", "broken").exit_code == 2
    # config set validates a mode against the policies that are usable.
    assert sc("config", "set", "mode", "audit").exit_code == 0
    assert sc("config", "set", "mode", "broken").exit_code == 2


def test_building_a_policy_share_by_share_warns_until_it_is_usable(sc):
    first = sc("config", "set", "policies.lean.goal", "0.5", "--json")
    assert first.exit_code == 0
    assert first.json()["warnings"] and "not usable yet" in first.stderr


def test_config_get_namespace_names_the_one_in_force(sc, tmp_path, monkeypatch):
    repo = tmp_path / "my-service"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    assert sc("config", "get", "namespace").stdout == "my-service\n"
    data = sc("config", "get", "namespace", "--json").json()
    assert data == {"key": "namespace", "value": "my-service", "source": "git repository"}
    assert sc("-n", "other", "config", "get", "namespace").stdout == "other\n"
