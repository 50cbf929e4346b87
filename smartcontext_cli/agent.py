"""The agent working state's API on MemoryStore (stable prefix, checklist, error memory, strategy).

Thin by design: each method is one call into a domain module (cache, checklist, error_memory,
strategy) on this namespace's storage, so the CLI, the compiler and library users share one
implementation. All state lives in storage documents and counters, so it survives restarts and is
identical on every backend.

Called by the compiler and the session code (the cross-team contract): ``get_stable_prefix``,
``strategy_entries``, ``open_task_lines``, ``unresolved_error_lines``, ``mark_cache_break``,
``consume_cache_break`` and ``cache_reuse``.

Why the imports sit inside the methods: ``memory.py`` imports this mixin on every CLI start-up,
and the domain modules compile regexes and tables that only their own commands need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checklist import Task
    from .config import Settings
    from .error_memory import ErrorGroup
    from .storage.base import Storage
    from .strategy import Strategy


class AgentStateMixin:
    """Mixed into ``MemoryStore``; relies on its ``storage`` and ``settings``."""

    if TYPE_CHECKING:
        # Provided by MemoryStore as a lazily opening property.
        @property
        def storage(self) -> Storage: ...

    settings: Settings
    namespace: str

    if TYPE_CHECKING:  # provided by MemoryStore

        def get_goal(self) -> str | None: ...
        def admit(self, value: Any, what: str) -> Any: ...

        @property
        def exists(self) -> bool: ...

    # stable prefix and cache breaks -----------------------------------------------------------

    def set_stable_prefix(self, text: str) -> bool:
        """Set the text the compiler puts first, byte for byte; True when it changed.

        Changing an existing prefix marks a planned cache break ("prefix changed").
        """
        from . import cache

        return cache.set_prefix(self.storage, self.admit(text, "stable prefix"))

    def get_stable_prefix(self) -> str | None:
        from . import cache

        if not self.exists:
            return None
        return cache.get_prefix(self.storage)

    def clear_stable_prefix(self) -> bool:
        from . import cache

        return cache.clear_prefix(self.storage)

    def mark_cache_break(self, reason: str = "manual") -> None:
        """Record a planned break; the next compile consumes it and its record says why."""
        from . import cache

        cache.mark_break(self.storage, reason)

    def pending_cache_break(self) -> str | None:
        from . import cache

        return cache.pending_break(self.storage)

    def consume_cache_break(self) -> str | None:
        """Called once by each compile: the pending break's reason (then cleared), or None."""
        from . import cache

        return cache.consume_break(self.storage)

    def cache_reuse(self, last_n: int = 20) -> dict[str, Any]:
        """Measured reuse between consecutive compiles among the last ``last_n`` (see README)."""
        from . import cache

        return cache.reuse_report(self.storage, last_n)

    def prefix_check(self, last_n: int = 20, system: Sequence[str] = ()) -> dict[str, Any]:
        """Reuse figures plus warnings about volatile content early in the prompt.

        Scanned, in prompt order: the stable prefix, ``system`` (the system text you pass to
        ``compile``; it is not stored, so give it here), the goal; and the block hashes of the
        last ``last_n`` compile records (reordered, inserted or changed-in-place blocks). A
        namespace that does not exist yet is not created.
        """
        from . import cache

        if not self.exists:
            return cache.check(None, [("system", t) for t in system], last_n)
        texts = [
            ("stable prefix", self.get_stable_prefix() or ""),
            *(("system", t) for t in system),
            ("goal", self.get_goal() or ""),
        ]
        return cache.check(self.storage, [(w, t) for w, t in texts if t], last_n)

    # checklist --------------------------------------------------------------------------------

    def add_task(self, text: str, parent: int | None = None) -> Task:
        from . import checklist

        return checklist.add(self.storage, self.admit(text, "task"), parent)

    def set_task_status(self, task_id: int, status: str, note: str = "") -> Task:
        from . import checklist

        return checklist.set_status(self.storage, task_id, status, self.admit(note, "task note"))

    def list_tasks(self, include_closed: bool = True) -> list[tuple[Task, int]]:
        """Tasks in list order with their depth (0 for top level)."""
        from . import checklist

        if not self.exists:
            return []
        return checklist.listing(self.storage, include_closed)

    def clear_tasks(self, everything: bool = False) -> int:
        from . import checklist

        return checklist.clear(self.storage, everything)

    def open_task_lines(self, compact: bool = False) -> list[str]:
        from . import checklist

        if not self.exists:
            return []
        return checklist.open_lines(self.storage, compact)

    # error memory -----------------------------------------------------------------------------

    def log_error(self, action: str, error: str, context: str = "") -> tuple[ErrorGroup, bool]:
        """Remember a failure; returns its group and whether the group is new."""
        from . import error_memory

        return error_memory.log(
            self.storage,
            self.admit(action, "error"),
            self.admit(error, "error"),
            self.admit(context, "error context"),
        )

    def resolve_error(self, error_id: int, resolution: str = "") -> ErrorGroup:
        """Mark an error group resolved; a resolution text becomes a learned strategy pattern."""
        from . import error_memory, strategy

        with self.storage.transaction():
            group = error_memory.resolve(
                self.storage, error_id, self.admit(resolution, "resolution")
            )
            if group.resolution:
                strategy.update(
                    self.storage,
                    "add_pattern",
                    error_memory.learned_pattern(group),
                    source="resolution",
                )
        return group

    def list_errors(self, include_resolved: bool = False) -> list[ErrorGroup]:
        from . import error_memory

        if not self.exists:
            return []
        return error_memory.listing(self.storage, include_resolved)

    def unresolved_error_lines(self) -> list[str]:
        from . import error_memory

        if not self.exists:
            return []
        return error_memory.unresolved_lines(self.storage)

    # strategy ---------------------------------------------------------------------------------

    def initialize_strategy(
        self, domain: str | None = None, template: str | None = None, reset: bool = False
    ) -> Strategy:
        """Start the strategy from a template (built-in or ``[templates.NAME]``) or blank.

        Re-initialising keeps learned entries unless ``reset``; the version keeps counting up.
        """
        from . import strategy

        return strategy.initialize(
            self.storage,
            self.admit(domain, "strategy"),
            template,
            self.settings.tables.get("templates"),
            reset,
        )

    def update_strategy(self, kind: str, text: str) -> Strategy:
        from . import strategy

        return strategy.update(self.storage, kind, self.admit(text, "strategy entry"))

    def get_strategy(self, with_history: bool = True) -> Strategy | None:
        from . import strategy

        if not self.exists:
            return None
        return strategy.load(self.storage, with_history)

    def strategy_history(self) -> list[dict[str, Any]]:
        from . import strategy

        return strategy.history(self.storage)

    def strategy_templates(self) -> list[str]:
        from . import strategy

        return sorted(strategy.templates(self.settings.tables.get("templates")))

    def strategy_entries(self) -> list[str]:
        """The strategy's entries as prompt lines, most useful first (rule: strategy.ranked)."""
        from . import strategy

        if not self.exists:
            return []
        return strategy.ranked_lines(strategy.load(self.storage))
