"""Every command is documented: help text with examples, and a mention in the README.

Commands are discovered by walking the real command tree (``typer.main.get_command(app)``), so
a command added later is checked without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from smartcontext_cli.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) for every visible command and group below ``command``."""
    for name, sub in (getattr(command, "commands", None) or {}).items():
        if sub.hidden:
            continue
        yield (*path, name), sub
        yield from walk(sub, (*path, name))


COMMANDS = dict(walk(typer.main.get_command(app)))
PATHS = sorted(" ".join(p) for p in COMMANDS)


def is_group(command: Any) -> bool:
    return getattr(command, "commands", None) is not None


def leaves() -> list[str]:
    """Commands that run something: plain commands, and groups that also run without one."""
    return [
        p
        for p in PATHS
        if not is_group(COMMANDS[tuple(p.split())])
        or getattr(COMMANDS[tuple(p.split())], "invoke_without_command", False)
    ]


def examples(help_text: str) -> list[str]:
    """The lines of the ``Examples:`` block (indented lines after it, up to a blank line)."""
    lines = help_text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Examples:":
            block = []
            for follow in lines[i + 1 :]:
                if not follow.strip():
                    break
                block.append(follow.strip())
            return block
    return []


def readme_mentions() -> set[str]:
    """Command paths named in README inline code: `search QUERY`, `smartcontext list`, and the
    alternation `config get\\|set` (how a table lists a group's subcommands in one row)."""
    found = set()
    for code in re.findall(r"`([^`\n]+)`", README):
        words = code.replace("\\|", "|").split()
        if words and words[0] == "smartcontext":
            words = words[1:]
        if not words:
            continue
        found.add(words[0])
        if len(words) > 1:
            found.update(f"{words[0]} {alt}" for alt in words[1].split("|") if alt)
    return found


MENTIONS = readme_mentions()


def mentioned_in_readme(path: str) -> bool:
    """As inline code starting with the command (`artifact add NAME`), or in a table row."""
    if path in MENTIONS:
        return True
    row = re.compile(rf"^\|.*(?<![\w-]){re.escape(path)}(?![\w-])", re.MULTILINE)
    return bool(row.search(README))


def test_the_tree_was_walked():
    # A control: the walk finds the foundation's commands, groups and their subcommands.
    for expected in (
        "remember",
        "search",
        "forget",
        "list",
        "show",
        "goal",
        "artifact",
        "artifact add",
        "export",
        "import",
        "migrate",
        "config",
        "config set",
    ):
        assert expected in PATHS
    assert "remember" in leaves() and "artifact" not in leaves()
    # ...and the checks can fail.
    assert not mentioned_in_readme("frobnicate")
    assert not mentioned_in_readme("config frobnicate")
    assert examples("Do a thing.\n\nExamples:\n\n  smartcontext x") == []


@pytest.mark.parametrize("path", PATHS)
def test_every_command_has_a_summary(path):
    command = COMMANDS[tuple(path.split())]
    summary = (command.help or "").strip().splitlines()
    assert summary and summary[0].strip(), f"'{path}' has no help text"
    assert len(summary[0]) <= 100, f"'{path}': the summary line should fit one line"


@pytest.mark.parametrize("path", leaves())
def test_every_command_has_at_least_two_examples(path):
    command = COMMANDS[tuple(path.split())]
    block = examples(command.help or "")
    assert len(block) >= 2, f"'{path}' needs an Examples: block with at least two examples"
    for line in block:
        assert "smartcontext" in line, f"'{path}': example {line!r} does not run smartcontext"
    assert any(f"smartcontext {path}" in line or f"{path} " in line for line in block), (
        f"'{path}': no example runs the command itself"
    )


@pytest.mark.parametrize("path", leaves())
def test_examples_render_one_per_line_in_help(sc, path):
    block = examples(COMMANDS[tuple(path.split())].help or "")
    result = sc(*path.split(), "--help")
    assert result.exit_code == 0
    starts = [line.strip() for line in result.stdout.splitlines()]
    assert "Examples:" in starts
    for example in block:
        # Long examples may wrap, but each starts its own line: help must not reflow them.
        head = min(len(example), 20)
        assert any(example.startswith(s) and len(s) >= head for s in starts), (path, example)


@pytest.mark.parametrize("path", PATHS)
def test_every_command_is_in_the_readme(path):
    assert mentioned_in_readme(path), f"'{path}' is not mentioned in README.md"
