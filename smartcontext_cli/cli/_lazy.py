"""Build only the command that runs: the start-up cost of Typer grows with every command.

Typer turns each registered function into a click command by reading its signature and type
hints; with ~40 commands that was ~30 ms of every ``smartcontext search``, more than the search.
``command_for(app, argv)`` finds the sub-command the arguments name and builds a tree holding
only it (under the same root callback and options). Anything else (no command, ``--help`` at
the root, an unknown or misspelt name) gets the full tree, so help listings and "No such
command" suggestions are exactly what Typer prints.

Guarantee: for the command that runs, parsing, help and errors are the same as with the full
tree, because it is the same ``CommandInfo`` or group built by the same Typer code.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import typer
import typer.main

# Root options that take a value: their value is not a command name (``-n list search x``).
_VALUE_OPTIONS = frozenset({"--namespace", "-n", "--backend", "--home"})

_cache: dict[tuple[int, str | None], typer.main._click.Command] = {}


def command_names(app: typer.Typer) -> dict[str, str]:
    """Each sub-command and group name, mapped to itself (names as Typer derives them)."""
    names: dict[str, str] = {}
    for info in app.registered_commands:
        if info.callback is not None:
            name = info.name or typer.main.get_command_name(info.callback.__name__)
            names[name] = name
    for group in app.registered_groups:
        name = group.name or group.typer_instance.info.name
        if isinstance(name, str):
            names[name] = name
    return names


def invoked_name(app: typer.Typer, argv: Sequence[str]) -> str | None:
    """The registered command named by ``argv``, or None when the full tree is needed."""
    return _name_in(command_names(app), argv)


def _name_in(known: dict[str, str] | set[str] | Sequence[str], argv: Sequence[str]) -> str | None:
    args = iter(argv)
    for arg in args:
        if arg in ("-h", "--help", "--"):
            return None
        if arg.startswith("-"):
            if arg in _VALUE_OPTIONS:
                next(args, None)  # its value
            continue
        return arg if arg in known else None
    return None


def _only(app: typer.Typer, name: str) -> typer.Typer:
    lean = copy.copy(app)
    lean.registered_commands = [
        info
        for info in app.registered_commands
        if info.callback is not None
        and (info.name or typer.main.get_command_name(info.callback.__name__)) == name
    ]
    lean.registered_groups = [
        group
        for group in app.registered_groups
        if (group.name or group.typer_instance.info.name) == name
    ]
    return lean


def keep_blocks(help_text: str) -> str:
    """Mark paragraphs with indented lines (Examples blocks) so click prints them as written.

    Why: plain click help re-wraps every paragraph, which would run the example commands of
    an ``Examples:`` block together on one line; a paragraph opening with ``\b`` is kept.
    """
    paragraphs = help_text.split("\n\n")
    return "\n\n".join(
        "\b\n" + p if any(line[:1].isspace() for line in p.splitlines()[1:]) else p
        for p in paragraphs
    )


MAX_INT = 2**63 - 1  # SQLite's largest integer: every count, limit and id fits in it


def _keep_all_blocks(command: typer.main._click.Command) -> None:
    """Finish a built tree: help as written, whole summaries, and bounded integers."""
    from typer._click import types

    if command.help:
        command.help = keep_blocks(command.help)
        if not command.short_help:
            # Why: click cuts a summary to ~45 characters in the command list ("Search
            # memories, best match first (exit 1 when nothing..."); gh shows it whole.
            command.short_help = command.help.strip().splitlines()[0].strip()
    for param in command.params:
        # Why: 2^63 and more reached SQLite as an OverflowError (an internal error); as a
        # range, click refuses it as a usage error naming the option.
        kind = param.type
        if isinstance(kind, types.IntRange):
            kind.max = MAX_INT if kind.max is None else kind.max
            kind.min = -MAX_INT - 1 if kind.min is None else kind.min
        elif isinstance(kind, types.IntParamType):
            param.type = types.IntRange(-MAX_INT - 1, MAX_INT)
    for sub in (getattr(command, "commands", None) or {}).values():
        _keep_all_blocks(sub)


def command_for(app: typer.Typer | None, argv: Sequence[str]) -> typer.main._click.Command:
    """The click command to run ``argv`` with, built once per process and command.

    With ``app`` None (the CLI's own), only the module of the invoked command is imported
    (``_app.COMMANDS``); help and unknown names import them all.
    """
    from ._app import COMMANDS, app_for, full_app

    if app is None:
        name = _name_in(COMMANDS, argv)
        app = app_for([COMMANDS[name]]) if name else full_app()
        key: tuple[int, str | None] = (0, name)
    else:
        name = invoked_name(app, argv)
        key = (id(app), name)
    if key not in _cache:
        command = typer.main.get_command(_only(app, name) if name else app)
        _keep_all_blocks(command)
        _cache[key] = command
    return _cache[key]
