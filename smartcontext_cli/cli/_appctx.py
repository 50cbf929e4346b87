"""The one per-invocation context: global flags, settings, and the lazily opened store.

Commands receive it through ``typer.Context.obj`` (``_context.app_context``); the Typer-free
fast path (``_fast``) builds one itself. Nothing here is global, so tests can run many
invocations in one process, and nothing here imports Typer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smartcontext_cli.config import Settings
    from smartcontext_cli.memory import MemoryStore


class AppContext:
    """Why a plain class: a dataclass costs its generated code at every start-up, for one
    object per invocation. The store and settings modules load when first needed."""

    def __init__(
        self,
        home: Path | None = None,
        backend: str | None = None,
        namespace: str | None = None,
        verbose: int = 0,
    ) -> None:
        self.home = home
        self.backend = backend
        self.namespace = namespace
        self.verbose = verbose
        self.flags: dict[str, Any] = {}
        self._stores: dict[str | None, MemoryStore] = {}
        self._warned = False

    def settings(self, namespace: str | None = None) -> Settings:
        chosen = namespace if namespace is not None else self.namespace
        flags = {"backend": self.backend, "namespace": chosen, **self.flags}
        from smartcontext_cli.config import Settings

        settings = Settings.load(home=self.home, flags=flags)
        if not self._warned:  # once per invocation, however often settings are loaded
            self._warned = True
            for warning in settings.warnings:
                print(f"smartcontext: warning: {warning}", file=sys.stderr)
        return settings

    def store(self, namespace: str | None = None) -> MemoryStore:
        """The namespace's store, opened once per invocation; backend notices go to stderr."""
        if namespace not in self._stores:
            from smartcontext_cli.memory import MemoryStore

            store = MemoryStore(settings=self.settings(namespace))
            for notice in store.notices:
                print(f"smartcontext: {notice}", file=sys.stderr)
            self._stores[namespace] = store
        return self._stores[namespace]

    def close(self) -> None:
        for store in self._stores.values():
            # What the door found in text this command stored (kinds and counts only).
            for note in store.admitted:
                print(f"smartcontext: {note}", file=sys.stderr)
            store.admitted.clear()
            store.close()
        self._stores.clear()
