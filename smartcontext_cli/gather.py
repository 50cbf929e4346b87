"""The compiler's API on MemoryStore: gathering from the store and compiling (compile, stats, explain)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings
    from .storage.base import Storage


class CompileMixin:
    """Mixed into ``MemoryStore``; relies on its ``storage`` and ``settings``."""

    storage: Storage
    settings: Settings
    namespace: str
