"""The few exceptions smartcontext raises on purpose.

Every error a user can cause is a ``SmartContextError`` carrying one clear sentence; the CLI prints
that sentence on stderr and exits with ``exit_code``. Anything else escaping the core is a bug.
"""

from __future__ import annotations


class SmartContextError(Exception):
    """Base class: a runtime failure the user should read (exit code 1)."""

    exit_code = 1


class UsageError(SmartContextError):
    """Bad input from the caller: an invalid name, flag value or argument (exit code 2)."""

    exit_code = 2


class InvalidNamespaceError(UsageError):
    """A namespace name that could escape the data directory or is otherwise unusable."""


class NotFoundError(SmartContextError):
    """The thing asked for does not exist (exit code 1: 'nothing found' is an answer)."""


class AmbiguousIdError(UsageError):
    """An id prefix that matches more than one item."""


class StoreCorruptError(SmartContextError):
    """A store file could not be read; it is named and never overwritten."""


class StoreMovedError(SmartContextError):
    """The store was moved away (``migrate``) after this process opened it; nothing was written."""


class BackendMismatchError(SmartContextError):
    """A namespace exists with a different backend than the one asked for."""


class BudgetError(SmartContextError):
    """The mandatory parts of a prompt cannot fit the token budget (``compile --strict``)."""

    exit_code = 3
