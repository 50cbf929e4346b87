"""What the MCP server does, without the protocol: tools, resources and the prompt as plain calls.

``McpApp`` is the adapter between MCP requests and the core. ``server.py`` only translates its
answers into SDK types, so everything here is testable without the SDK.

Guarantees:
- One ``MemoryStore`` per request, closed before the answer is sent: no connection, lock or
  transaction outlives a call, so CLI commands, git hooks and other servers on the same
  namespace interleave with it safely (SQLite WAL + busy timeout, JSON flock).
- Arguments are checked against the tool's own published schema before any core call; a bad
  argument or a core error is a tool error with one clear sentence, never a crash.
- Every text leaving the server (results, resources, prompts) passes the same redaction as a
  compiled prompt (``redaction.redact``): whatever reaches an MCP client reaches a model.
- Only namespace names reach the storage layer (validated, confined to the data directory);
  no tool takes a file path.
- Nothing is printed: notices (e.g. a backend mismatch) travel inside results.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smartcontext_cli.errors import NotFoundError, SmartContextError, UsageError

from .tools import MAX_BUDGET, ToolSpec

if TYPE_CHECKING:
    from smartcontext_cli.config import Settings
    from smartcontext_cli.memory import MemoryStore

log = logging.getLogger("smartcontext.mcp")

SCHEME = "smartcontext://"
# (name, what it is, MIME type) for the fixed resources; artifacts are listed one by one.
RESOURCES = (
    ("goal", "The current goal", "text/plain"),
    ("checklist", "Open tasks, as recited in prompts", "text/markdown"),
    ("strategy", "Strategy entries, most useful first", "text/markdown"),
    ("prefix", "The stable prompt prefix, byte for byte", "text/plain"),
)
ARTIFACT = "artifact/"
PROMPT_ARGS = (
    ("query", "The current message or topic (default: the goal)"),
    ("budget", "Token budget (default: config)"),
    ("mode", "Attention mode, or auto"),
)

INSTRUCTIONS = (
    "smartcontext is this project's persistent memory. Before a task, call compile (or search) "
    "for context; remember decisions and facts worth keeping; log failures with error_log and "
    "resolve them; keep the checklist with todo. Every tool takes an optional namespace "
    "(default: the server's project)."
)


@dataclass
class ToolOutcome:
    """A tool's answer: ``data`` (JSON object) on success, else ``error`` (one sentence)."""

    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    text: str | None = None  # for compile: the prompt itself, as the first content block


class McpApp:
    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        namespace: str | None = None,
        backend: str | None = None,
    ) -> None:
        self.home = home
        self.namespace = namespace
        self.backend = backend
        self._tools: dict[str, ToolSpec] | None = None
        self._validators: dict[str, Any] = {}

    # stores -----------------------------------------------------------------------------------

    def settings(self, namespace: str | None = None) -> Settings:
        from smartcontext_cli.config import Settings

        # Read per request, as the CLI reads them per command: a config change applies to the
        # next call. The namespace defaults as for the CLI (flag, env, config, git repository
        # of the server's working directory).
        flags = {"namespace": namespace or self.namespace, "backend": self.backend}
        return Settings.load(home=self.home, flags=flags)

    def open(self, namespace: str | None = None) -> MemoryStore:
        from smartcontext_cli.memory import MemoryStore

        return MemoryStore(settings=self.settings(namespace))

    # tools ------------------------------------------------------------------------------------

    def tools(self) -> dict[str, ToolSpec]:
        if self._tools is None:
            from smartcontext_cli.memory import MemoryStore

            from .tools import build

            modes = [*MemoryStore(settings=self.settings()).attention_manager().modes(), "auto"]
            self._tools = {t.name: t for t in build(modes)}
        return self._tools

    def call_tool(self, name: str, arguments: dict[str, Any] | None) -> ToolOutcome:
        spec = self.tools().get(name)
        if spec is None:
            raise UsageError(f"unknown tool {name!r}")
        args = dict(arguments or {})
        problem = self._invalid(spec, args)
        if problem:
            return ToolOutcome(error=f"invalid arguments for {name}: {problem}")
        try:
            with self.open(args.pop("namespace", None)) as store:
                data = spec.handler(store, args)
                notices = list(store.notices)
        except SmartContextError as exc:
            return ToolOutcome(error=str(exc))
        except UnicodeEncodeError:
            return ToolOutcome(error="the input is not valid UTF-8 text")
        except Exception as exc:  # a bug: report it, keep serving
            log.exception("tool %s failed", name)
            return ToolOutcome(error=f"internal error: {type(exc).__name__}: {exc}")
        if notices:
            data["notices"] = notices
        if name == "compile":
            # Redacted by the compiler itself, before counting: redacting again here could
            # only make the token count inexact.
            return ToolOutcome(data=data, text=data["prompt"])
        return ToolOutcome(data=_redacted(data))

    def _invalid(self, spec: ToolSpec, args: dict[str, Any]) -> str | None:
        validator = self._validators.get(spec.name)
        if validator is None:
            # Why jsonschema: the schema published in tools/list is the one enforced, so what
            # a client was told and what the server accepts cannot drift apart.
            import jsonschema

            validator = jsonschema.Draft202012Validator(spec.input_schema())
            self._validators[spec.name] = validator
        from jsonschema.exceptions import best_match

        error = best_match(validator.iter_errors(args))
        if error is None:
            return None
        where = ".".join(str(p) for p in error.absolute_path)
        return f"{where}: {_short(error.message)}" if where else _short(error.message)

    # resources --------------------------------------------------------------------------------

    def resources(self) -> list[dict[str, str]]:
        """The fixed resources plus one per artifact of the server's namespace."""
        out = [
            {"uri": SCHEME + name, "name": name, "description": what, "mimeType": mime}
            for name, what, mime in RESOURCES
        ]
        with self.open() as store:
            for a in store.list_artifacts():
                out.append(
                    {
                        "uri": f"{SCHEME}{ARTIFACT}{a.id}",
                        "name": a.name,
                        "description": f"Artifact {a.ref}",
                        "mimeType": "text/plain",
                    }
                )
        return out

    def read_resource(self, uri: str) -> tuple[str, str]:
        """(text, MIME type) of a resource of the server's namespace; NotFoundError if none."""
        from smartcontext_cli.redaction import redact

        if not uri.startswith(SCHEME):
            raise NotFoundError(f"no resource {uri!r}")
        name = uri[len(SCHEME) :]
        mimes = {n: m for n, _, m in RESOURCES}
        with self.open() as store:
            if name == "goal":
                text = store.get_goal() or ""
            elif name == "checklist":
                text = "\n".join(store.open_task_lines())
            elif name == "strategy":
                text = "\n".join(f"- {line}" for line in store.strategy_entries())
            elif name == "prefix":
                text = store.get_stable_prefix() or ""
            elif re.fullmatch(ARTIFACT + r"a[0-9]{1,12}", name):
                text = store.get_artifact(name[len(ARTIFACT) :]).content
            else:
                raise NotFoundError(f"no resource {uri!r}")
        return redact(text), mimes.get(name, "text/plain")

    # the prompt -------------------------------------------------------------------------------

    def prompt(self, arguments: dict[str, str] | None) -> tuple[str, str]:
        """(description, prompt text) of the ``compile`` prompt; the compile is recorded."""
        args = {k: v for k, v in (arguments or {}).items() if v not in (None, "")}
        unknown = sorted(set(args) - {name for name, _ in PROMPT_ARGS})
        if unknown:
            raise UsageError(f"unknown argument {unknown[0]!r}; use query, budget or mode")
        budget = None
        if "budget" in args:
            text = args["budget"].strip()
            if not text.isdigit() or not 1 <= int(text) <= MAX_BUDGET:
                raise UsageError(f"budget must be a whole number from 1 to {MAX_BUDGET}")
            budget = int(text)
        with self.open() as store:
            ctx = store.compile(query=args.get("query"), token_budget=budget, mode=args.get("mode"))
        description = (
            f"smartcontext: {ctx.total_tokens}/{ctx.budget} tokens ({ctx.encoding}), "
            f"mode {ctx.mode}, compile {ctx.compile_id}"
        )
        return description, ctx.to_prompt()


def _short(message: str, limit: int = 200) -> str:
    """A validation message short enough to read (jsonschema quotes whole values)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _redacted(value: Any) -> Any:
    from smartcontext_cli.redaction import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value
