"""``smartcontext search`` without Typer, for the command lines it reads exactly like Typer.

Why: a cold ``search`` is what hooks, scripts and agents run most, and importing Typer and
building its command (evaluating every annotation) was about a quarter of it. This path
accepts only the plain forms of the options Typer would accept for ``search`` and returns
None for anything else (help, a typo, an attached short value, a bad number, a second
query), so Typer answers those, with its own messages: the fast path never says anything
Typer would say differently. ``tests/cli/test_fast_search.py`` holds the two to the same
output on generated command lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Options before the command (the root callback's) and the command's own; value-taking ones
# map to the parameter they fill. Flags map to None.
_ROOT_VALUES = {"--namespace": "root_namespace", "-n": "root_namespace", "--backend": "backend"}
_ROOT_VALUES["--home"] = "home"
_ROOT_COUNTS = {"--verbose", "-v"}
_VALUES = {
    "--limit": "limit",
    "-k": "limit",
    "--tag": "tag",
    "-t": "tag",
    "--kind": "kind",
    "--namespace": "namespace",
    "-n": "namespace",
}
_FLAGS = {"--explain": "explain", "--json": "as_json"}
_MAX_DIGITS = 18  # every number of up to 18 digits fits SQLite's integers; longer: Typer says


def parse(args: list[str]) -> dict[str, Any] | None:
    """The ``search`` call ``args`` spell, or None when Typer should read them."""
    found: dict[str, Any] = {
        "root_namespace": None,
        "backend": None,
        "home": None,
        "verbose": 0,
        "limit": 5,
        "tag": [],
        "kind": None,
        "namespace": None,
        "explain": False,
        "as_json": False,
    }
    i, n = 0, len(args)
    while i < n and args[i] != "search":  # the root's options
        name, value, i = _option(args, i)
        if name in _ROOT_COUNTS and value is None:
            found["verbose"] += 1
        elif name in _ROOT_VALUES and value is not None:
            found[_ROOT_VALUES[name]] = value
        else:
            return None
    if i >= n:
        return None
    i += 1
    query: list[str] = []
    while i < n:
        if args[i] == "--":
            query += args[i + 1 :]
            break
        if args[i].startswith("-") and args[i] != "-":
            name, value, i = _option(args, i)
            if name in _FLAGS and value is None:
                found[_FLAGS[name]] = True
            elif name in _VALUES and value is not None:
                target = _VALUES[name]
                if target == "tag":
                    found["tag"].append(value)
                elif target == "limit":
                    if not (value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS):
                        return None
                    found["limit"] = int(value)
                else:
                    found[target] = value
            else:
                return None
        else:
            query.append(args[i])
            i += 1
    home = found["home"]
    if len(query) != 1 or (home is not None and not home.strip()):
        return None  # Typer's messages: a missing or extra argument, an empty --home
    found["query"] = query[0]
    return found


def _option(args: list[str], i: int) -> tuple[str, str | None, int]:
    """(name, value or None, next index) of the option at ``args[i]``; a value is taken from
    ``--name=value`` or from the next argument when the name takes one. A name this path does
    not know comes back as it is, and the caller falls back."""
    arg = args[i]
    if arg.startswith("--") and "=" in arg:
        name, value = arg.split("=", 1)
        return (name, value, i + 1) if _takes_value(name) else ("", None, i + 1)
    if _takes_value(arg):
        if i + 1 >= len(args):
            return "", None, i + 1  # a value is missing: Typer's message
        value = args[i + 1]
        if value.startswith("-") and value != "-":
            return "", None, i + 2  # click would read an option here, or complain
        return arg, value, i + 2
    return arg, None, i + 1


def _takes_value(name: str) -> bool:
    return name in _VALUES or name in _ROOT_VALUES


def run(call: dict[str, Any]) -> int:
    """Run a parsed ``search`` call; returns its exit code (errors raise, as in Typer's path)."""
    from ._appctx import AppContext
    from .search_run import run_search

    app = AppContext(
        home=Path(call["home"]) if call["home"] is not None else None,
        backend=call["backend"],
        namespace=call["root_namespace"],
        verbose=call["verbose"],
    )
    try:
        return run_search(
            app,
            call["query"],
            call["limit"],
            call["tag"] or None,
            call["kind"],
            call["explain"],
            call["namespace"],
            call["as_json"],
        )
    finally:
        app.close()
