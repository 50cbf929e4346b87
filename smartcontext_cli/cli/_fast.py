"""``search`` and ``compile`` without Typer, for the command lines it reads exactly like Typer.

Why: a cold ``search`` or ``compile`` is what hooks, scripts and agent loops run most, and
importing Typer and building its command (evaluating every annotation) was a quarter of a
search and a sixth of a compile. This path accepts only the plain forms of the options Typer
would accept for these two commands and returns None for anything else (help, a typo, an
attached short value, a bad number, an extra argument), so Typer answers those, with its own
messages: the fast path never says anything Typer would say differently.
``tests/cli/test_fast_search.py`` holds the two paths to the same output on generated command
lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# What a value-taking option is read as: text, repeatable text, a whole number >= 0 or >= 1.
TEXT, MANY, COUNT0, COUNT1 = "text", "many", "count0", "count1"
_NAMESPACE = {"--namespace": ("namespace", TEXT), "-n": ("namespace", TEXT)}
# The root callback's options, then each command's: value options, flags, counted flags, and
# the name of its one positional argument (None: it takes none).
_ROOT = {
    "--namespace": ("root_namespace", TEXT),
    "-n": ("root_namespace", TEXT),
    "--backend": ("backend", TEXT),
    "--home": ("home", TEXT),
}
_ROOT_COUNTS = {"--verbose": "root_verbose", "-v": "root_verbose"}
_SPECS: dict[str, tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, str], str | None]]
_SPECS = {
    "search": (
        {
            "--limit": ("limit", COUNT0),
            "-k": ("limit", COUNT0),
            "--tag": ("tag", MANY),
            "-t": ("tag", MANY),
            "--kind": ("kind", TEXT),
            **_NAMESPACE,
        },
        {"--explain": "explain", "--json": "as_json"},
        {},
        "query",
    ),
    "compile": (
        {
            "--query": ("query", TEXT),
            "-q": ("query", TEXT),
            "--budget": ("budget", COUNT1),
            "-b": ("budget", COUNT1),
            "--mode": ("mode", TEXT),
            "-m": ("mode", TEXT),
            "--format": ("fmt", TEXT),
            "-f": ("fmt", TEXT),
            "--encoding": ("encoding", TEXT),
            "--memory": ("memory", MANY),
            "-M": ("memory", MANY),
            "--observation": ("observation", MANY),
            "-O": ("observation", MANY),
            "--artifact": ("artifact", MANY),
            "-a": ("artifact", MANY),
            "--system": ("system", MANY),
            "-s": ("system", MANY),
            "--transparency": ("transparency", TEXT),
            **_NAMESPACE,
        },
        {
            "--strict": "strict",
            "--no-graph": "no_graph",
            "--no-decay": "no_decay",
            "--no-chunking": "no_chunking",
            "--rerank": "rerank",
            "--json": "as_json",
        },
        {"--verbose": "verbose", "-v": "verbose"},
        None,
    ),
}
_MAX_DIGITS = 18  # every number of up to 18 digits fits SQLite's integers; longer: Typer says


def parse(args: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, its parameters) for ``args``, or None when Typer should read them."""
    found: dict[str, Any] = {"root_namespace": None, "backend": None, "home": None}
    found["root_verbose"] = 0
    i = _options(args, 0, _ROOT, {}, _ROOT_COUNTS, found, stop=_SPECS)
    if i is None or i >= len(args):
        return None
    command = args[i]
    values, flags, counts, positional = _SPECS[command]
    params: dict[str, Any] = {name: [] for name, kind in values.values() if kind == MANY}
    params.update({name: 0 for name in counts.values()})
    params.update({name: False for name in flags.values()})
    rest: list[str] = []
    if _options(args, i + 1, values, flags, counts, params, rest=rest) is None:
        return None
    home = found["home"]
    if home is not None and not home.strip():
        return None  # Typer's message for an empty --home
    if positional is None:
        if rest:
            return None
    elif len(rest) != 1:
        return None  # a missing or an extra argument: Typer's message
    else:
        params[positional] = rest[0]
    for name, kind in values.values():
        if kind == MANY:
            params[name] = params[name] or None
    return command, {**found, **params}


def _options(
    args: list[str],
    i: int,
    values: dict[str, tuple[str, str]],
    flags: dict[str, str],
    counts: dict[str, str],
    into: dict[str, Any],
    stop: dict[str, Any] | None = None,
    rest: list[str] | None = None,
) -> int | None:
    """Read options from ``args[i:]`` into ``into``: up to a name in ``stop`` (returning its
    index), or to the end, positional arguments going to ``rest``. None: Typer should read it."""
    n = len(args)
    while i < n:
        arg = args[i]
        if stop is not None and arg in stop:
            return i
        if arg == "--" and rest is not None:
            rest += args[i + 1 :]
            return n
        if not arg.startswith("-") or arg == "-":
            if rest is None:
                return None
            rest.append(arg)
            i += 1
            continue
        name, value = arg, None
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            if name not in values:
                return None
            i += 1
        elif name in values:
            if i + 1 >= n or (args[i + 1].startswith("-") and args[i + 1] != "-"):
                return None  # a missing value, or one click would read as an option
            value = args[i + 1]
            i += 2
        else:
            i += 1
        if value is None:
            if name in flags:
                into[flags[name]] = True
            elif name in counts:
                into[counts[name]] += 1
            else:
                return None
            continue
        target, kind = values[name]
        if kind == MANY:
            into[target].append(value)
        elif kind in (COUNT0, COUNT1):
            if not (value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS):
                return None
            number = int(value)
            if kind == COUNT1 and number < 1:
                return None
            into[target] = number
        else:
            into[target] = value
    return None if stop is not None else n


def run(command: str, params: dict[str, Any]) -> int:
    """Run a parsed call; returns its exit code (errors raise, as in Typer's path)."""
    from ._appctx import AppContext

    home = params.pop("home")
    app = AppContext(
        home=Path(home) if home is not None else None,
        backend=params.pop("backend"),
        namespace=params.pop("root_namespace"),
        verbose=params.pop("root_verbose"),
    )
    try:
        if command == "search":
            from .search_run import run_search

            return run_search(
                app,
                params["query"],
                params.get("limit", 5),
                params["tag"],
                params.get("kind"),
                params["explain"],
                params.get("namespace"),
                params["as_json"],
            )
        from .compile_run import run_compile

        return run_compile(app, **params)
    finally:
        app.close()
