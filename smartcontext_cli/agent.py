"""The agent working state's API on MemoryStore (stable prefix, checklist, error memory, strategy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings
    from .storage.base import Storage


class AgentStateMixin:
    """Mixed into ``MemoryStore``; relies on its ``storage`` and ``settings``."""

    storage: Storage
    settings: Settings
    namespace: str
