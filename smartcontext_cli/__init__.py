"""smartcontext: a persistent, per-project working memory for developers and their LLM tools.

The public Python API. Importing this package is cheap: heavy parts (the tokenizer, storage
backends) load when first used.
"""

from __future__ import annotations

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


# The compiler's public names, loaded on first use so ``import smartcontext_cli`` stays cheap.
_COMPILER_NAMES = {
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
    if name == "BranchManager":
        from .branching import BranchManager

        return BranchManager
    if name in _COMPILER_NAMES:
        import importlib

        return getattr(importlib.import_module(f".{_COMPILER_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'smartcontext_cli' has no attribute {name!r}")
