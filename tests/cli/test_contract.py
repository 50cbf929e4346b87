"""The CLI contract of issue 11: what a script or a daily terminal user relies on.

One regression test per reported item, driven like the shell (``sc(...)``), or as a real
subprocess where pipes and terminals matter (``sc_proc``).
"""

from __future__ import annotations

import stat

import pytest

# --home moves all state ------------------------------------------------------------------------


def test_home_moves_the_token_cache_too_and_keeps_it_private(sc_proc, tmp_path):
    # A fresh process: the tokenizer (and its cache) loads once per process.
    env = {"SMARTCONTEXT_HOME": "", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    target = tmp_path / "elsewhere"
    result = sc_proc("--home", str(target), "session", "add", "user", "hello there", env=env)
    assert result.exit_code == 0, result.stderr
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


# the command tree ------------------------------------------------------------------------------


def _tree():
    import typer.main

    from smartcontext_cli.cli import app

    out = {}

    def walk(command, path):
        for name, sub in (getattr(command, "commands", None) or {}).items():
            if getattr(sub, "commands", None) is None:
                out[" ".join((*path, name))] = sub
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return out


LEAVES = _tree()


def _options(command) -> set[str]:
    return {o for p in command.params if p.param_type_name == "option" for o in p.opts}


def test_the_walk_sees_the_whole_tree():
    assert {"remember", "todo clear", "hook install", "namespace delete"} <= set(LEAVES)
    assert len(LEAVES) > 60


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_every_command_has_json(path):
    assert "--json" in _options(LEAVES[path]), f"'{path}' has no --json"


def is_destructive(path: str, command) -> bool:
    """Deletes what cannot be brought back: a delete/forget verb, clear --all, --reset."""
    last = path.split()[-1]
    opts = _options(command)
    return (
        last in ("delete", "forget") or "--reset" in opts or (last == "clear" and "--all" in opts)
    )


# How to point each destructive command at something that exists.
DESTRUCTIVE = {
    "forget": lambda sc: [sc("remember", "doomed note").stdout.strip()],
    "todo clear": lambda sc: [sc("todo", "add", "open task").stdout and "--all"],
    "strategy init": lambda sc: [sc("strategy", "init", "-d", "x").stderr and "--reset"],
    "artifact delete": lambda sc: [
        sc("artifact", "add", "secret.env", "-", input="K=1").stdout.strip()
    ],
    "branch delete": lambda sc: [sc("branch", "create", "doomed").stderr and "doomed"],
    "namespace delete": lambda sc: [sc("-n", "doomed", "remember", "x").stdout and "doomed"],
}


def test_the_destructive_commands_are_the_ones_listed():
    found = {p for p, c in LEAVES.items() if is_destructive(p, c)}
    assert found == set(DESTRUCTIVE), "a destructive command needs --yes handling and a setup"


@pytest.mark.parametrize("path", sorted(DESTRUCTIVE))
def test_destructive_commands_need_yes_in_a_pipe(sc, home, path):
    assert "--yes" in _options(LEAVES[path])
    args = DESTRUCTIVE[path](sc)
    before = sorted(p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file())
    refused = sc(*path.split(), *args)
    assert refused.exit_code == 2, refused.stderr
    assert refused.stderr.endswith("without confirmation: pass --yes\n")
    after = sorted(p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file())
    assert after == before, "a refused destructive command wrote something"
    done = sc(*path.split(), *args, "--yes")
    assert done.exit_code == 0, done.stderr


def _int_params():
    from typer._click import types

    for path, command in sorted(LEAVES.items()):
        for p in command.params:
            if isinstance(p.type, (types.IntRange, types.IntParamType)) and not getattr(
                p, "count", False
            ):
                yield path, p


INT_PARAMS = list(_int_params())


def test_the_int_walk_found_the_known_ones():
    names = {(path, p.name) for path, p in INT_PARAMS}
    assert {("list", "limit"), ("compile", "budget"), ("explain", "compile_id")} <= names


@pytest.mark.parametrize(("path", "param"), INT_PARAMS, ids=lambda x: getattr(x, "name", x))
def test_integers_of_2_to_the_64_are_usage_errors(sc, path, param):
    huge = str(2**64)
    if param.param_type_name == "option":
        args = [*path.split(), param.opts[0], huge]
    else:
        args = [*path.split(), huge]
    result = sc(*args)
    assert "internal error" not in result.stderr
    assert result.exit_code == 2, result.stderr
    assert "9223372036854775807" in result.stderr


def test_the_largest_limit_works(sc):
    sc("remember", "one")
    assert len(sc("list", "--limit", str(2**63 - 1), "--json").json()) == 1


def test_bare_smartcontext_and_bare_groups_print_help_and_exit_0(sc_proc):
    bare = sc_proc()
    assert bare.exit_code == 0
    assert bare.stdout.startswith("Usage: smartcontext") and bare.stderr == ""
    group = sc_proc("todo")
    assert group.exit_code == 0 and "Commands:" in group.stdout


def test_help_summaries_are_whole(sc):
    text = sc("--help").stdout
    out = " ".join(text.split("Commands:")[1].split())
    assert "Search memories, best match first (exit 1 when nothing matches)." in out
    assert "..." not in out


# namespaces ------------------------------------------------------------------------------------


def test_namespace_list_show_and_delete(sc, home, tmp_path, monkeypatch):
    repo = tmp_path / "shop"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    sc("remember", "in the repo's namespace")
    sc("-n", "other", "remember", "elsewhere")
    sc("-n", "other", "artifact", "add", "n.txt", "-", input="x")
    rows = sc("namespace", "list", "--json").json()
    assert [(r["name"], r["current"], r["memories"]) for r in rows] == [
        ("other", False, 1),
        ("shop", True, 1),
    ]
    assert set(rows[0]) == {
        "name",
        "current",
        "source",
        "exists",
        "backend",
        "path",
        "memories",
        "artifacts",
        "bytes",
    }
    shown = sc("namespace", "show", "--json").json()
    assert (shown["name"], shown["source"], shown["backend"]) == ("shop", "git", "sqlite")
    assert sc("-n", "other", "namespace", "show", "--json").json()["source"] == "flag"
    assert sc("namespace", "show", "other", "--json").json()["artifacts"] == 1
    assert sc("namespace", "delete", "other", "--yes", "--json").json() == {
        "deleted": "other",
        "memories": 1,
    }
    assert not (home / "namespaces" / "other").exists()
    missing = sc("namespace", "delete", "other", "--yes")
    assert missing.exit_code == 1 and "no namespace 'other' (namespaces: shop)" in missing.stderr


def test_a_typo_in_a_named_namespace_says_so(sc):
    sc("-n", "real", "remember", "x")
    result = sc("-n", "reel", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        "smartcontext: error: no namespace 'reel' (namespaces: real; the first write creates it)\n"
    )


def test_artifact_delete_removes_it_and_never_reuses_the_id(sc):
    assert sc("artifact", "add", "secret.env", "-", input="TOKEN=abc").stdout == "#a1\n"
    done = sc("artifact", "delete", "secret.env", "--yes", "--json")
    assert done.json() == {"deleted": "#a1", "name": "secret.env"}
    assert sc("artifact", "show", "#a1").exit_code == 1
    assert sc("artifact", "add", "next", "-", input="y").stdout == "#a2\n"


# pipes and searches, as real processes ---------------------------------------------------------


def test_pipes_print_whole_values(sc_proc, home):
    long_text = "Deploys run on Kubernetes " + "with a long explanation " * 8 + "END"
    mid = sc_proc("remember", long_text).stdout.strip()
    for args in (["list"], ["search", "kubernetes"]):
        line = sc_proc(*args).stdout.splitlines()[0].split("\t")
        assert line[0] == mid and line[-1] == " ".join(long_text.split())


@pytest.mark.parametrize("query", ["", "?", "🚀", "  "])
def test_a_query_with_no_searchable_word_exits_2(sc_proc, query):
    sc_proc("remember", "something to find")
    result = sc_proc("search", query)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"smartcontext: error: nothing to search for in {query!r}: give at least one word\n"
    )


# import ----------------------------------------------------------------------------------------


def test_import_names_the_line_and_refuses_ids_show_cannot_address(sc, tmp_path):
    good = '{"type": "memory", "content": "fine", "id": "' + "ab" * 16 + '"}'
    cases = {
        '{"type": "memory", "content": "x", "id": "mem-1"}': "invalid memory id 'mem-1'",
        '{"type": "memory", "content": 5}': "needs a text 'content'",
        '{"type": "counter", "name": "artifact", "value": 18446744073709551616}': "2^63-1",
        '{"type": "memory", "content": "x", "token_count": 9223372036854775808}': "2^63-1",
    }
    for bad, fragment in cases.items():
        path = tmp_path / "in.jsonl"
        path.write_text("\n".join([good, "", good, bad]) + "\n")
        result = sc("import", str(path))
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith(f"smartcontext: error: {path}:4: "), result.stderr
        assert fragment in result.stderr
        assert sc("list", "--json").stdout.strip() in ("", "[]")  # all or nothing


# messages that point the right way -------------------------------------------------------------


def test_messages_point_the_right_way(sc):
    sc("remember", "a fact", "--kind", "fact")
    assert sc("list", "--kind", "nonsense").stderr == "no memories of kind 'nonsense'\n"
    assert sc("list", "-t", "nope").stderr == "no memories tagged nope\n"
    short = sc("show", "402")
    assert short.exit_code == 2
    assert short.stderr == "smartcontext: error: memory ids need at least 4 characters, got '402'\n"
    assert sc("compile", "-M", "an extra memory").exit_code == 0
    assert sc("stats", "--last", "0").stderr == "1 compile recorded; --last 0 shows none\n"
    sc("session", "add", "user", "one event")
    nothing = sc("compact", "-p", "50")
    assert nothing.stderr == "nothing to compact: no events are older than the last 50\n"
    help_text = sc("todo", "start", "--help").stdout
    assert "E3" not in help_text and "The task id, e.g. 3." in help_text
    assert "The error id, e.g. E3." in sc("error", "resolve", "--help").stdout
    assert sc("todo", "start", "E3").stderr.startswith("smartcontext: error: invalid task id 'E3'")
