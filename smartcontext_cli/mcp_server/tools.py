"""The MCP tools: name, description, input schema, annotations, and one core call each.

Why a table of plain data: the whole ``tools/list`` answer is read into every prompt of every
MCP client, so it is written by hand to stay small (under 2,000 cl100k tokens, measured by
tests/benchmarks/bench_mcp.py) and exact (bounds and enums taken from the core's own limits).

Each handler receives an open ``MemoryStore`` and arguments already validated against the
tool's schema, calls the same core API as the CLI, and returns the same JSON shapes as the
CLI's ``--json`` (``smartcontext_cli.shapes``). Nothing here imports the MCP SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smartcontext_cli.errors import UsageError

if TYPE_CHECKING:
    from smartcontext_cli.memory import MemoryStore
    from smartcontext_cli.strategy import Strategy

Handler = Callable[["MemoryStore", dict[str, Any]], dict[str, Any]]

NAMESPACE = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
MAX_BUDGET = 1_000_000


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    read_only: bool
    destructive: bool
    idempotent: bool
    handler: Handler

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments; every tool also takes ``namespace``."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {**self.properties, "namespace": NAMESPACE},
            "additionalProperties": False,
        }
        if self.required:
            schema["required"] = list(self.required)
        return schema

    def annotations(self) -> dict[str, bool]:
        # openWorldHint false: every tool works on the local store only, never the network.
        return {
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": False,
        }


def _text(max_length: int, description: str | None = None) -> dict[str, Any]:
    # No minLength: the core refuses empty text with a clearer sentence than a schema error,
    # and every repeated keyword costs tokens in every client's prompt.
    prop: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if description:
        prop["description"] = description
    return prop


def _int(minimum: int, maximum: int, description: str | None = None) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if description:
        prop["description"] = description
    return prop


def _need(args: dict[str, Any], tool: str, action: str, *names: str) -> None:
    missing = [n for n in names if args.get(n) is None]
    if missing:
        raise UsageError(f"{tool} {action} needs {' and '.join(missing)}")


# handlers: one core call each ---------------------------------------------------------------


def _remember(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    memory = store.remember(
        a["content"],
        tags=a.get("tags"),
        kind=a.get("kind", "note"),
        importance=a.get("importance", 0.5),
        source="mcp",
    )
    return {"id": memory.id, "namespace": store.namespace}


def _search(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    from smartcontext_cli import shapes

    scope, limit = a.get("scope", "all"), a.get("limit", 5)
    out: dict[str, Any] = {}
    if scope in ("memories", "all"):
        found = store.search(a["query"], limit=limit, tags=a.get("tags"), kind=a.get("kind"))
        out["memories"] = [shapes.memory(m, with_score=True) for m in found]
    if scope in ("session", "all"):
        out["session"] = [h.to_dict() for h in store.search_session(a["query"], limit=limit)]
    return out


def _forget(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    return {"deleted": store.forget(a["id"]), "id": a["id"]}


def _compile(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    ctx = store.compile(
        query=a.get("query"),
        token_budget=a.get("budget"),
        mode=a.get("mode"),
        format=a.get("format", "markdown"),
        rerank=bool(a.get("rerank", False)),
    )
    data = ctx.to_dict()
    # The prompt once: ``sections`` would repeat all of its text.
    del data["sections"]
    if ctx.format == "messages":
        data["messages"] = ctx.to_messages()
    return {**data, "notes": ctx.notes}


def _session_add(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    from smartcontext_cli import shapes

    item = store.add_session_item(a["role"], a["content"], command=a.get("command"))
    return shapes.session_added(item, store.last_trim)


def _goal(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    if a.get("text") is not None:
        store.set_goal(a["text"])
    return {"goal": store.get_goal()}


def _todo(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    from smartcontext_cli import shapes

    action = a["action"]
    if action == "add":
        _need(a, "todo", "add", "text")
        return store.add_task(a["text"], a.get("parent")).to_dict()
    if action == "update":
        _need(a, "todo", "update", "id", "status")
        return store.set_task_status(a["id"], a["status"], a.get("note", "")).to_dict()
    return {"tasks": shapes.tasks(store.list_tasks(include_closed=a.get("all", False)))}


def _error_log(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    from smartcontext_cli import shapes

    group, new = store.log_error(a["action"], a["error"], a.get("context", ""))
    return {**shapes.error_group(group), "new": new}


def _error_resolve(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    from smartcontext_cli import shapes

    ref = a["id"]  # "E3" as results show it (one id form everywhere), or the bare number
    number = int(ref[1:]) if isinstance(ref, str) else ref
    return shapes.error_group(store.resolve_error(number, a.get("resolution", "")))


def _strategy(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    from smartcontext_cli import shapes

    current: Strategy | None
    if a["action"] == "update":
        _need(a, "strategy", "update", "kind", "text")
        current = store.update_strategy(a["kind"], a["text"])
    else:
        current = store.get_strategy(with_history=False)
    return {"strategy": shapes.strategy(current, store.strategy_entries() if current else [])}


def _explain(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    return store.explain_compilation(a.get("compile_id"))


def _stats(store: MemoryStore, a: dict[str, Any]) -> dict[str, Any]:
    return store.get_compilation_stats(a.get("last", 20))


# the table ------------------------------------------------------------------------------------


def build(modes: list[str]) -> list[ToolSpec]:
    """The tools, with ``modes`` (built-in, custom policies, auto) as the compile mode enum."""
    from smartcontext_cli.checklist import MAX_TASK_CHARS, STATUSES
    from smartcontext_cli.error_memory import MAX_ERROR_BYTES
    from smartcontext_cli.layout import FORMATS
    from smartcontext_cli.memory import MAX_MEMORY_BYTES
    from smartcontext_cli.session import MAX_COMMAND_CHARS, MAX_ITEM_BYTES
    from smartcontext_cli.strategy import KINDS, MAX_ENTRY_CHARS

    tags = {"type": "array", "items": _text(64), "maxItems": 20}
    kind = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,31}$"}
    return [
        ToolSpec(
            "remember",
            "Store a long-term memory (fact, decision, preference, note) for later search and "
            "compile. Returns its id.",
            {
                "content": _text(MAX_MEMORY_BYTES),
                "tags": tags,
                "kind": {**kind, "description": "fact, decision, preference, note..."},
                "importance": {"type": "number", "minimum": 0, "maximum": 1},
            },
            ("content",),
            False,
            False,
            False,
            _remember,
        ),
        ToolSpec(
            "search",
            "Search memories and session history (archived events included), best match "
            "first. Memories have ids for forget.",
            {
                "query": _text(10_000),
                "scope": {"enum": ["memories", "session", "all"], "default": "all"},
                "limit": {**_int(1, 50), "default": 5},
                "tags": {**tags, "description": "Memories with all these tags"},
                "kind": kind,
            },
            ("query",),
            True,
            False,
            True,
            _search,
        ),
        ToolSpec(
            "forget",
            "Delete one memory by id (as returned by search or remember). Cannot be undone.",
            {"id": {"type": "string", "pattern": "^[0-9a-f]{8,32}$"}},
            ("id",),
            False,
            True,
            True,
            _forget,
        ),
        ToolSpec(
            "compile",
            "Compile goal, strategy, relevant memories, session, errors and checklist into one "
            "prompt within a token budget. Returns the prompt and its exact token count.",
            {
                "query": _text(
                    100_000,
                    "The current user message or topic to fit the context to; default: the goal",
                ),
                "budget": {**_int(1, MAX_BUDGET), "description": "Tokens; default: config"},
                "mode": {"enum": modes},
                "format": {"enum": list(FORMATS), "default": "markdown"},
                "rerank": {"type": "boolean", "description": "Re-rank all (a cache break)"},
            },
            (),
            False,
            False,
            False,
            _compile,
        ),
        ToolSpec(
            "session_add",
            "Append an event to the session log (user/assistant turn, tool output, "
            "observation, decision, error); command: what a tool event ran (compaction "
            "groups tool runs by it).",
            {
                "role": {"type": "string", "pattern": "^[a-z][a-z0-9_.-]{0,31}$"},
                "content": _text(MAX_ITEM_BYTES),
                "command": {
                    "type": "string",
                    "pattern": "^[^\\n]+$",
                    "maxLength": MAX_COMMAND_CHARS,
                },
            },
            ("role", "content"),
            False,
            False,
            False,
            _session_add,
        ),
        ToolSpec(
            "goal",
            "Get the current goal, or set it by giving text.",
            {"text": _text(MAX_MEMORY_BYTES)},
            (),
            False,
            False,
            True,
            _goal,
        ),
        ToolSpec(
            "todo",
            "The checklist recited at the end of every prompt. list (all: include closed), "
            "add (text, parent), update (id, status, note).",
            {
                "action": {"enum": ["list", "add", "update"]},
                "text": _text(MAX_TASK_CHARS),
                "parent": _int(1, 10**9),
                "id": _int(1, 10**9),
                "status": {"enum": list(STATUSES)},
                "note": _text(MAX_TASK_CHARS),
                "all": {"type": "boolean"},
            },
            ("action",),
            False,
            False,
            False,
            _todo,
        ),
        ToolSpec(
            "error_log",
            "Record a failure: similar errors group with a count and stay in prompts until "
            "resolved. Returns the group id.",
            {
                "action": _text(10_000, "What was attempted"),
                "error": _text(MAX_ERROR_BYTES),
                "context": _text(10_000),
            },
            ("action", "error"),
            False,
            False,
            False,
            _error_log,
        ),
        ToolSpec(
            "error_resolve",
            "Mark an error group resolved; the resolution becomes a learned strategy pattern.",
            {
                "id": {
                    "type": ["string", "integer"],
                    "pattern": "^E[1-9][0-9]{0,8}$",
                    "minimum": 1,
                    "maximum": 10**9,
                },
                "resolution": _text(MAX_ENTRY_CHARS),
            },
            ("id",),
            False,
            False,
            False,
            _error_resolve,
        ),
        ToolSpec(
            "strategy",
            "Show the strategy (heuristics, patterns, what worked or failed), or update it "
            "with kind and text.",
            {
                "action": {"enum": ["show", "update"]},
                "kind": {"enum": list(KINDS)},
                "text": _text(MAX_ENTRY_CHARS),
            },
            ("action",),
            False,
            False,
            False,
            _strategy,
        ),
        ToolSpec(
            "explain",
            "Explain a recorded compile (default: the latest): each candidate's section, "
            "score, tokens, outcome and reason.",
            {"compile_id": _int(1, 10**9)},
            (),
            True,
            False,
            True,
            _explain,
        ),
        ToolSpec(
            "stats",
            "Tokens per tier, and the recent compiles' quality trend and cache reuse.",
            {"last": {**_int(0, 1000), "default": 20}},
            (),
            # Read-only for the user: it only caches token counts it had to measure.
            True,
            False,
            True,
            _stats,
        ),
    ]
