"""The CLI builds only the invoked command (cli/_lazy.py); a user must see no difference.

Every command's help through ``main`` (the lean tree) must equal its help from the full tree,
options of the root must still parse before the command, and anything that needs the full
tree (root help, misspelt commands) must get it.
"""

from __future__ import annotations

import typer.main

from smartcontext_cli.cli import app
from smartcontext_cli.cli._lazy import _keep_all_blocks, command_names, invoked_name


def _full_tree_output(capsys, args: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    full = typer.main.get_command(app)
    _keep_all_blocks(full)
    try:
        code = full.main(args=args, prog_name="smartcontext", standalone_mode=False)
    except SystemExit as exc:  # pragma: no cover - click exits only in standalone mode
        code = exc.code
    return (code or 0), capsys.readouterr().out


def test_every_command_shows_the_same_help_as_the_full_tree(sc, capsys):
    names = sorted(command_names(app))
    assert {"search", "remember", "config", "artifact"} <= set(names)
    for name in names:
        lean = sc(name, "--help")
        code, full = _full_tree_output(capsys, [name, "--help"])
        assert lean.exit_code == code == 0, name
        assert lean.stdout == full, name


def test_root_options_before_the_command_are_skipped():
    assert invoked_name(app, ["-n", "search", "list"]) == "list"
    assert invoked_name(app, ["--home", "/tmp/x", "-v", "search", "q"]) == "search"
    assert invoked_name(app, ["--namespace=search", "remember", "x"]) == "remember"
    assert invoked_name(app, ["--backend", "json", "artifact", "list"]) == "artifact"


def test_help_and_unknown_names_get_the_full_tree():
    assert invoked_name(app, []) is None
    assert invoked_name(app, ["--help"]) is None
    assert invoked_name(app, ["-n", "x", "-h"]) is None
    assert invoked_name(app, ["serch", "q"]) is None


def test_a_misspelt_command_is_reported_as_before(sc):
    result = sc("serch", "postgres")
    assert result.exit_code == 2
    assert "No such command 'serch'" in result.stderr


def test_root_options_still_apply_to_the_lean_tree(sc):
    assert sc("-n", "proj", "remember", "uses postgres").exit_code == 0
    assert sc("-n", "proj", "search", "postgres", "--json").json()[0]["content"] == "uses postgres"
    assert sc("search", "postgres").exit_code == 1  # the default namespace has nothing


def test_a_command_run_builds_only_that_command():
    from smartcontext_cli.cli._lazy import command_for

    assert list(command_for(app, ["-n", "x", "search", "q"]).commands) == ["search"]
    assert list(command_for(app, ["artifact", "list"]).commands) == ["artifact"]
    assert len(command_for(app, ["--help"]).commands) == len(command_names(app))


def test_help_keeps_each_example_on_its_own_line(sc):
    # Plain click help re-wraps paragraphs; the Examples block must stay as written.
    out = sc("search", "--help").stdout
    assert '\n    smartcontext search "database choice"\n' in out
    assert "\n    smartcontext search postgre -k 10 --tag infra --json\n" in out
    assert "\b" not in out


def test_a_bare_group_prints_its_help_on_stdout(sc):
    result = sc("artifact")
    assert result.exit_code == 0  # asking for help is not an error (gh, llm)
    assert "add" in result.stdout and result.stderr == ""


def test_the_command_map_names_every_command_and_its_module():
    from smartcontext_cli.cli._app import COMMANDS, MODULES, _part

    registered = {}
    for module in MODULES:
        commands, groups = _part(module)
        for info in commands:
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            registered[name] = module
        for group in groups:
            registered[group.name or group.typer_instance.info.name] = module
    assert registered == COMMANDS
    assert set(command_names(app)) == set(COMMANDS)


def test_the_cached_root_help_is_the_full_trees_help(sc, capsys, home, monkeypatch):
    from smartcontext_cli.cli import _help_cache

    _code, full = _full_tree_output(capsys, ["--help"])
    first = sc("--help")  # rendered, then cached
    cached = list((home / "cache" / "help").glob("*.txt"))
    assert len(cached) == 1 and (cached[0].stat().st_mode & 0o777) == 0o600
    second = sc("--help")  # from the cache
    assert first.stdout == second.stdout == full and first.exit_code == second.exit_code == 0
    assert sc().stdout == full and sc("-h").stdout == full
    # What the text depends on is in the key: another width is another entry.
    before = _help_cache.key()
    monkeypatch.setenv("COLUMNS", "60")
    assert _help_cache.key() != before
    narrow = sc("--help").stdout
    assert narrow != full and max(len(line) for line in narrow.splitlines()) <= 60
