"""smartcontext: a persistent, per-project working memory for developers and their LLM tools.

The public Python API. Importing this package is cheap: heavy parts (the tokenizer, storage
backends) load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from .config import Settings
    from .errors import (
        AmbiguousIdError,
        BackendMismatchError,
        BudgetError,
        InvalidNamespaceError,
        NotFoundError,
        SmartContextError,
        StoreCorruptError,
        UsageError,
    )
    from .memory import MemoryStore
    from .models import Artifact, Memory, SessionItem
    from .storage import StorageConfig

__version__ = "0.1.0"

__all__ = [
    "POLICIES",
    "AmbiguousIdError",
    "Artifact",
    "AttentionManager",
    "AttentionMode",
    "AttentionPolicy",
    "BackendMismatchError",
    "BranchManager",
    "BudgetError",
    "CompiledContext",
    "ContextCompiler",
    "ContextItem",
    "InvalidNamespaceError",
    "Memory",
    "MemoryStore",
    "NotFoundError",
    "SessionItem",
    "Settings",
    "SmartContextError",
    "StorageConfig",
    "StoreCorruptError",
    "TransparencyLevel",
    "UsageError",
    "__version__",
]


# Every public name is loaded on first use, so ``import smartcontext_cli`` (which every CLI start
# does, ``--version`` included) costs nothing until a name is used.
_LAZY = {
    "Settings": "config",
    "AmbiguousIdError": "errors",
    "BackendMismatchError": "errors",
    "BudgetError": "errors",
    "InvalidNamespaceError": "errors",
    "NotFoundError": "errors",
    "SmartContextError": "errors",
    "StoreCorruptError": "errors",
    "UsageError": "errors",
    "MemoryStore": "memory",
    "Artifact": "models",
    "Memory": "models",
    "SessionItem": "models",
    "StorageConfig": "storage",
    "BranchManager": "branching",
    "AttentionMode": "attention",
    "AttentionPolicy": "attention",
    "AttentionManager": "attention",
    "POLICIES": "attention",
    "ContextCompiler": "compiler",
    "ContextItem": "compiler",
    "TransparencyLevel": "compiler",
    "CompiledContext": "compiled",
}


def __getattr__(name: str) -> object:
    # The spec imports the backends from the package; load them only when asked for.
    if name in ("SQLiteStorage", "JSONStorage"):
        from . import storage

        return getattr(storage, name)
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    raise AttributeError(f"module 'smartcontext_cli' has no attribute {name!r}")
