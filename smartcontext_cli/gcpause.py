"""Pausing the cyclic garbage collector around bulk work that creates no cycles.

Why: an import or a large compile allocates hundreds of thousands of objects that all stay
alive until it ends, and each full collection walks every one of them (a fifth of a
100,000-memory import, 4.9 s -> 4.0 s; about a fifth of a 128k-token compile). Reference
counting still frees everything as usual; collection resumes when the work ends.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """The collector off for the ``with`` block (and back on after, if it was on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run with the collector paused (``paused_gc``)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with paused_gc():
            return fn(*args, **kwargs)

    return wrapper
