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
    assert _complete(["smartcontext", "artifact", ""], tmp_path) == ["add", "list", "show"]
    assert "--limit" in _complete(["smartcontext", "-n", "proj", "search", "--l"], tmp_path)
