"""Fuzz: generated CLI invocations and API calls (hypothesis), import records of every type.

Invariants for every case: exit code 0, 1, 2 or 3; no traceback and no internal error; at most
one error line; and a command that fails (exit != 0) or an API call that raises leaves the store
exactly as it was (a failed command creates no namespace either).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .common import bad_output, cli, export

# Text as people and tools produce it, plus the hostile kinds: control characters, NUL, lone
# surrogates (undecodable bytes from argv), very long words, option-like words.
plain = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
hostile = st.one_of(
    plain,
    st.text(max_size=20),
    st.sampled_from(["", " ", "-", "--", "-x", "--json", "\x00", "a\nb", "#a1", "E1", "../x"]),
    st.text("ab \n\t-#.:=/\\\"'{}[]", max_size=30),
)
number = st.one_of(
    st.integers(-5, 50).map(str),
    st.sampled_from(["0", "-1", "1e3", "nan", "inf", "9" * 30, "0.5", "abc", ""]),
)
word = st.sampled_from(["deploy", "cache", "postgres", "auth", "token", "review"])
secretish = st.sampled_from(
    ["ghp_" + "A1b2C3d4E5" * 4, "password=Hunter2Zz!9", "AKIAIOSFODNN7EXAMPLE", "ok"]
)


def _opts(*pairs: tuple[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pairs), max_size=3).flatmap(
        lambda chosen: st.tuples(*[st.tuples(st.just(flag), value) for flag, value in chosen]).map(
            lambda items: [x for flag, value in items for x in (flag, value)]
        )
    )


def _cmd(*head: str) -> st.SearchStrategy[list[str]]:
    return st.just(list(head))


text_arg = st.one_of(hostile, secretish, word)
commands = st.one_of(
    st.tuples(
        _cmd("remember"),
        text_arg.map(lambda t: [t]),
        _opts(
            ("-t", hostile), ("--kind", hostile), ("--importance", number), ("--source", hostile)
        ),
    ),
    st.tuples(
        _cmd("search"), text_arg.map(lambda t: [t]), _opts(("-k", number), ("--tag", hostile))
    ),
    st.tuples(_cmd("list"), st.just([]), _opts(("-k", number), ("--kind", hostile))),
    st.tuples(_cmd("show"), hostile.map(lambda t: [t]), st.just([])),
    st.tuples(_cmd("forget"), hostile.map(lambda t: [t]), st.just([])),
    st.tuples(_cmd("forget", "--query"), text_arg.map(lambda t: [t, "--yes"]), st.just([])),
    st.tuples(
        _cmd("goal"),
        st.one_of(st.just([]), text_arg.map(lambda t: [t]), st.just(["--clear"])),
        st.just([]),
    ),
    st.tuples(_cmd("artifact", "add"), st.tuples(hostile, st.just("-")).map(list), st.just([])),
    st.tuples(_cmd("artifact", "show"), hostile.map(lambda t: [t]), st.just([])),
    st.tuples(_cmd("todo", "add"), text_arg.map(lambda t: [t]), _opts(("--parent", number))),
    st.tuples(
        st.sampled_from([["todo", "done"], ["todo", "block"], ["todo", "start"], ["todo", "skip"]]),
        number.map(lambda n: [n]),
        st.just([]),
    ),
    st.tuples(_cmd("todo", "clear"), st.sampled_from([[], ["--all"]]), st.just([])),
    st.tuples(_cmd("error", "log"), st.tuples(hostile, text_arg).map(list), st.just([])),
    st.tuples(
        _cmd("error", "resolve"), number.map(lambda n: [n]), _opts(("--resolution", text_arg))
    ),
    st.tuples(
        _cmd("strategy", "init"),
        st.just([]),
        _opts(("-t", st.sampled_from(["debugging", "nope", ""]))),
    ),
    st.tuples(
        st.sampled_from(
            [["strategy", "add-heuristic"], ["strategy", "success"], ["strategy", "failure"]]
        ),
        text_arg.map(lambda t: [t]),
        st.just([]),
    ),
    st.tuples(_cmd("session", "add"), st.tuples(hostile, text_arg).map(list), st.just([])),
    st.tuples(
        st.sampled_from(
            [["session", "pop"], ["session", "show"], ["session", "status"], ["session", "end"]]
        ),
        st.just([]),
        st.just([]),
    ),
    st.tuples(_cmd("session", "set-max-turns"), number.map(lambda n: [n]), st.just([])),
    st.tuples(
        _cmd("compact"), st.just([]), _opts(("-p", number), ("--dry-run", st.just("--json")))
    ),
    st.tuples(_cmd("compact", "--undo"), st.just([]), st.just([])),
    st.tuples(
        st.sampled_from(
            [
                ["branch", "create"],
                ["branch", "switch"],
                ["branch", "delete"],
                ["branch", "merge"],
                ["branch", "compare"],
            ]
        ),
        hostile.map(lambda t: [t]),
        st.just([]),
    ),
    st.tuples(
        _cmd("compile"),
        st.just([]),
        _opts(("-q", text_arg), ("--budget", number), ("--format", hostile), ("--mode", hostile)),
    ),
    st.tuples(_cmd("compile", "--strict", "--budget"), number.map(lambda n: [n]), st.just([])),
    st.tuples(
        st.sampled_from(
            [
                ["stats"],
                ["explain"],
                ["mode"],
                ["export"],
                ["doctor"],
                ["prefix", "show"],
                ["prefix", "check"],
                ["branch", "list"],
            ]
        ),
        st.just([]),
        st.just([]),
    ),
    st.tuples(_cmd("prefix", "set"), text_arg.map(lambda t: [t]), st.just([])),
    # main's CLI contract and namespaces (merged after the first campaign)
    st.tuples(
        st.sampled_from([["namespace", "list"], ["namespace", "show"], ["namespace", "delete"]]),
        st.one_of(st.just([]), hostile.map(lambda t: [t]), st.just(["default"])),
        st.sampled_from([[], ["--yes"], ["--json"], ["--yes", "--json"]]),
    ),
    st.tuples(_cmd("artifact", "delete"), hostile.map(lambda t: [t]), st.just(["--yes"])),
    st.tuples(_cmd("forget"), hostile.map(lambda t: [t]), st.just(["--yes", "--json"])),
    st.tuples(_cmd("remember", "--allow-duplicate"), text_arg.map(lambda t: [t]), st.just([])),
    st.tuples(
        _cmd("config", "set"),
        st.tuples(
            st.sampled_from(["budget", "mode", "backups", "redact", "max_session_turns", "x"]),
            st.one_of(number, hostile),
        ).map(list),
        st.just([]),
    ),
    st.tuples(_cmd("mode"), hostile.map(lambda t: [t]), st.just([])),
    st.tuples(st.just([]), st.lists(hostile, max_size=4), st.just([])),  # anything at all
)

# import records of every type, well-formed and not
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | plain,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain, inner, max_size=3),
    max_leaves=8,
)
collections = st.sampled_from(
    ["tasks", "errors", "session", "session-1", "artifacts", "branches", "session_views",
     "session_state", "compiler", "compilations", "agent", "strategy", "strategy_history",
     "working", "notes", "", "../x", "a/b"]
)  # fmt: skip
records = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("header"), "format": st.sampled_from(["smartcontext-export", "x"])},
        optional={"version": st.one_of(st.integers(-1, 100), plain), "namespace": json_value},
    ),
    st.fixed_dictionaries(
        {"type": st.just("memory")},
        optional={
            "content": st.one_of(plain, json_value),
            "id": st.one_of(plain, st.integers()),
            "tags": st.one_of(st.lists(plain, max_size=3), json_value),
            "kind": st.one_of(st.sampled_from(["fact", "note"]), plain),
            "importance": st.one_of(st.floats(-1, 2), json_value),
            "created_at": st.one_of(st.just("2024-01-01T00:00:00+00:00"), plain),
            "token_count": json_value,
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("doc"),
            "collection": collections,
            "key": st.one_of(
                st.sampled_from(
                    ["00000001", "000000000001", "a1", "goal", "current", "state", "000001"]
                ),
                plain,
            ),
        },
        optional={"data": st.one_of(st.dictionaries(plain, json_value, max_size=4), json_value)},
    ),
    st.fixed_dictionaries(
        {"type": st.just("counter")},
        optional={"name": st.one_of(plain, json_value), "value": json_value},
    ),
    st.dictionaries(plain, json_value, max_size=3),
)
imports = st.lists(records, max_size=6)


class _Homes:
    """A fresh data directory every ``per`` cases, alternating backends, so stores stay small."""

    def __init__(self, root: Path, per: int = 150) -> None:
        self.root, self.per, self.n, self.home = root, per, 0, root / "fuzz-0"

    def next(self) -> Path:
        if self.n % self.per == 0:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = self.root / f"fuzz-{self.n // self.per}"
            backend = ("sqlite", "json")[(self.n // self.per) % 2]
            assert cli(self.home, "--backend", backend, "remember", "seed").code == 0
        self.n += 1
        return self.home


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def cli_cases(root: Path, n: int) -> dict[str, Any]:
    homes = _Homes(root)
    seen = {"cases": 0}

    @_settings(n)
    @given(commands, st.one_of(plain, secretish).map(lambda t: t.encode()), imports, st.booleans())
    def case(
        parts: tuple[list[str], list[str], list[str]], stdin: bytes, lines: list, do_import: bool
    ) -> None:
        seen["cases"] += 1
        home = homes.next()
        namespace = ("-n", "fresh") if seen["cases"] % 5 == 0 else ()
        if do_import and seen["cases"] % 3 == 0:
            source = root / "fuzz-import.jsonl"
            source.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
            argv = [*namespace, "import", str(source)]
        else:
            head, args, opts = parts
            argv = [*namespace, *head, *args, *opts]
        before = export(home, "fresh" if namespace else "default")
        run = cli(home, *argv, stdin=stdin)
        problem = bad_output(run)
        assert problem is None, (argv, problem, run.err[-400:])
        if run.code:
            after = export(home, "fresh" if namespace else "default")
            assert after == before, (argv, "a failed command changed the store", run.err[-300:])

    failure = None
    try:
        case()
    except Exception as exc:  # hypothesis re-raises the (shrunk) failing example
        failure = f"{type(exc).__name__}: {exc}"[:1500]
    return {"kind": "cli", "cases": seen["cases"], "failures": [failure] if failure else []}


def api_cases(root: Path, n: int) -> dict[str, Any]:
    from smartcontext_cli import MemoryStore
    from smartcontext_cli.errors import SmartContextError

    homes = _Homes(root / "api")
    seen = {"cases": 0}
    calls = st.one_of(
        st.tuples(
            st.just("remember"),
            st.tuples(text_arg),
            st.fixed_dictionaries(
                {},
                optional={
                    "tags": st.lists(hostile, max_size=3),
                    "kind": hostile,
                    "importance": st.floats(allow_nan=True),
                    "source": hostile,
                },
            ),
        ),
        st.tuples(st.just("add_session_item"), st.tuples(hostile, text_arg), st.just({})),
        st.tuples(st.just("store_artifact"), st.tuples(hostile, text_arg), st.just({})),
        st.tuples(st.just("add_task"), st.tuples(text_arg), st.just({})),
        st.tuples(st.just("log_error"), st.tuples(hostile, text_arg), st.just({})),
        st.tuples(
            st.just("search"),
            st.tuples(text_arg),
            st.fixed_dictionaries({"limit": st.integers(-2, 30)}),
        ),
        st.tuples(st.just("set_goal"), st.tuples(text_arg), st.just({})),
        st.tuples(
            st.just("import_all"),
            st.tuples(
                st.one_of(
                    json_value,
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "memories": st.lists(json_value, max_size=3),
                            "docs": st.lists(json_value, max_size=3),
                            "counters": json_value,
                        },
                    ),
                )
            ),
            st.just({}),
        ),
        st.tuples(
            st.just("compile"),
            st.tuples(st.one_of(st.none(), text_arg)),
            st.fixed_dictionaries(
                {}, optional={"token_budget": st.integers(-10, 3000), "format": hostile}
            ),
        ),
        st.tuples(st.just("compact_session_schema"), st.tuples(st.integers(-3, 40)), st.just({})),
        st.tuples(st.just("undo_compaction"), st.just(()), st.just({})),
        st.tuples(st.just("create_branch"), st.tuples(hostile), st.just({})),
    )

    @_settings(n)
    @given(calls)
    def case(call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> None:
        seen["cases"] += 1
        home = homes.next()
        name, args, kwargs = call
        before = export(home)
        store = MemoryStore(base_dir=home)
        try:
            getattr(store, name)(*args, **kwargs)
        except SmartContextError:
            store.close()
            assert export(home) == before, (name, args, kwargs, "a failed call changed the store")
        finally:
            store.close()

    failure = None
    try:
        case()
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"[:1500]
    return {"kind": "api", "cases": seen["cases"], "failures": [failure] if failure else []}


def figures(root: Path, n: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        base = Path(scratch)
        return [cli_cases(base, n * 7 // 10), api_cases(base, n - n * 7 // 10)]
