"""The session protocol's API on MemoryStore (session log, trimming, compaction, branches)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings
    from .storage.base import Storage


class SessionMixin:
    """Mixed into ``MemoryStore``; relies on its ``storage`` and ``settings``."""

    storage: Storage
    settings: Settings
    namespace: str
