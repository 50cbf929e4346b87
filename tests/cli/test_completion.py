"""Shell completion: the shipped scripts are what the code generates now, and bash completes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from smartcontext_cli.cli import app
from smartcontext_cli.cli.completion import SHELLS, command_tree, script

ROOT = Path(__file__).resolve().parents[2]
FILES = {"bash": "smartcontext.bash", "zsh": "_smartcontext", "fish": "smartcontext.fish"}


@pytest.mark.parametrize("shell", SHELLS)
def test_shipped_completion_matches_generated(shell: str) -> None:
    shipped = (ROOT / "completions" / FILES[shell]).read_text(encoding="utf-8")
    assert shipped == script(app, shell), (
        f"completions/{FILES[shell]} is stale: run "
        f"smartcontext completion {shell} > completions/{FILES[shell]}"
    )


def test_completion_command_prints_script(sc) -> None:
    result = sc("completion", "bash")
    assert result.exit_code == 0
    assert result.stdout == script(app, "bash")


def test_unknown_shell_is_a_usage_error(sc) -> None:
    result = sc("completion", "tcsh")
    assert result.exit_code == 2
    assert result.stderr.startswith("smartcontext: error: unknown shell 'tcsh'")


def test_tree_lists_every_registered_command() -> None:
    tree = command_tree(app)
    assert {"remember", "search", "artifact", "artifact add", "config set"} <= set(tree)
    assert "--limit" in tree["search"]["options"]


def _complete(words: list[str], tmp_path: Path) -> list[str]:
    path = tmp_path / "c.bash"
    path.write_text(script(app, "bash"), encoding="utf-8")
    cword = len(words) - 1
    quoted = " ".join(f"'{w}'" for w in words)
    cmd = (
        f"source {path}; COMP_WORDS=({quoted}); COMP_CWORD={cword}; _smartcontext; "
        "printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_subcommands_and_options(tmp_path: Path) -> None:
    assert _complete(["smartcontext", "rem"], tmp_path) == ["remember"]
    assert _complete(["smartcontext", "artifact", ""], tmp_path) == [
        "add",
        "delete",
        "list",
        "show",
    ]
    assert "--limit" in _complete(["smartcontext", "-n", "proj", "search", "--l"], tmp_path)


def _complete_env(words: list[str], tmp_path: Path, env: dict[str, str]) -> list[str]:
    import os
    import sys

    path = tmp_path / "c.bash"
    path.write_text(script(app, "bash"), encoding="utf-8")
    quoted = " ".join(f"'{w}'" for w in words)
    cmd = (
        f"source {path}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _smartcontext; "
        "printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    full = {**os.environ, **env}
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full.get('PATH', '')}"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=full, check=True)
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_values_of_enums_and_names(sc, home, tmp_path: Path) -> None:
    env = {"SMARTCONTEXT_HOME": str(home)}
    assert _complete_env(["smartcontext", "compile", "--format", ""], tmp_path, env) == [
        "text",
        "markdown",
        "xml",
        "json",
        "messages",
    ]
    assert _complete_env(["smartcontext", "mode", "deb"], tmp_path, env) == ["debugging"]
    assert "auto" in _complete_env(["smartcontext", "compile", "-m", ""], tmp_path, env)
    for name in ("alpha", "beta"):
        assert sc("-n", name, "remember", f"{name} note").exit_code == 0
    assert _complete_env(["smartcontext", "-n", ""], tmp_path, env) == ["alpha", "beta"]
    assert _complete_env(["smartcontext", "namespace", "delete", "b"], tmp_path, env) == ["beta"]
    assert sc("-n", "alpha", "branch", "create", "experiment").exit_code == 0
    branches = _complete_env(["smartcontext", "-n", "alpha", "branch", "switch", ""], tmp_path, env)
    assert branches == ["main", "experiment"]


def test_the_value_lists_are_the_codes_own() -> None:
    from smartcontext_cli.attention import BUILT_IN
    from smartcontext_cli.cli.compile_run import FORMATS
    from smartcontext_cli.cli.completion import value_table

    table = value_table()
    assert table["compile --format"].split() == list(FORMATS)
    assert table["mode @arg"].split() == [*BUILT_IN, "auto"]
    fish = script(app, "fish")
    assert "-l format -x -a 'text markdown xml json messages'" in fish
    assert "(__smartcontext_namespaces)" in fish and "(__smartcontext_branches)" in fish


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_install_creates_the_directories(sc, tmp_path, monkeypatch, shell) -> None:
    fresh = tmp_path / "fresh-account"
    monkeypatch.setenv("HOME", str(fresh))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "ZDOTDIR"):
        monkeypatch.delenv(var, raising=False)
    result = sc("completion", shell, "--install", "--json")
    assert result.exit_code == 0, result.stderr
    written = Path(result.json()["path"])
    assert written.is_relative_to(fresh)
    assert written.read_text() == script(app, shell)
    expected = {
        "bash": ".local/share/bash-completion/completions/smartcontext",
        "zsh": ".zfunc/_smartcontext",
        "fish": ".config/fish/completions/smartcontext.fish",
    }[shell]
    assert written == fresh / expected
