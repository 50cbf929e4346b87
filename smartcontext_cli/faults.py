"""Fault injection for the crash tests: ``SMARTCONTEXT_FAULT=<point>[:<n>]`` kills the process.

Why in the product code: the only honest proof that a write survives a crash at a given step is
to crash there. Each durable multi-step operation (the JSON journal, migrate) names its steps
with ``point("...")``; the tests set the variable and assert the store recovers. With the
variable unset (always, outside the tests) a point costs one dictionary lookup.

``<n>`` counts hits of the point in this process (default 1): ``json.apply:3`` dies while
applying the third file of a commit.
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("SMARTCONTEXT_FAULT")
    if not spec:
        return
    wanted, _, nth = spec.partition(":")
    if wanted != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == (int(nth) if nth.isdigit() else 1):
        # SIGKILL, not an exception: no finally block, no atexit, no flush runs, as in a crash.
        os.kill(os.getpid(), signal.SIGKILL)
