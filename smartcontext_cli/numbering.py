"""Which counter numbers which records: so a counter can be checked against, and rebuilt from, data.

Records numbered by a counter (tasks, errors, artifacts, session events, views, branches,
compile records, strategy history) are stored under a key made from the number. If a counter
ever falls behind its records (``counters.json`` lost or restored from an old copy, a hand edit,
an import of records without their counters), the next number would name a record that
exists, and writing it would overwrite that record. This module knows the mapping both ways:

* ``claim(collection, key)``: the counter and number a new record's key was made from, so the
  store can refuse to write a freshly numbered record over an existing one;
* ``used(collection, key, data)``: every number a stored record holds, so ``import`` and
  ``doctor --repair`` can move counters past the records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

# collection -> counter, for records keyed by their zero-padded number
BY_NUMBER = {
    "tasks": "task",
    "errors": "error",
    "branches": "branch",
    "session_views": "session_view",
    "compilations": "compilation",
    "strategy_history": "strategy_history",
}
SESSION_COUNTER = "session"
ARTIFACT_COUNTER = "artifact"
_SESSION = re.compile(r"session(?:-[1-9]\d*)?")
_ARTIFACT_KEY = re.compile(r"a([1-9]\d*)")


def claim(collection: str, key: str) -> tuple[str, int] | None:
    """The (counter, number) a record's key was made from, or None for other records."""
    if key.isdigit():
        counter = BY_NUMBER.get(collection)
        if counter is None and _SESSION.fullmatch(collection):
            counter = SESSION_COUNTER
        return (counter, int(key)) if counter else None
    if collection == "artifacts":
        match = _ARTIFACT_KEY.fullmatch(key)
        return (ARTIFACT_COUNTER, int(match.group(1))) if match else None
    return None


def used(collection: str, key: str, data: Any) -> Iterator[tuple[str, int]]:
    """Every (counter, number) the record holds: its own, and the session events of a view."""
    own = claim(collection, key)
    if own is not None:
        yield own
    if collection == "session_views" and isinstance(data, dict):
        for item in data.get("items") or []:
            seq = item.get("seq") if isinstance(item, dict) else None
            if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0:
                yield (SESSION_COUNTER, seq)


def highest(docs: Iterable[tuple[str, str, Any]]) -> dict[str, int]:
    """The highest number each counter has handed out, as the records show."""
    top: dict[str, int] = {}
    for collection, key, data in docs:
        for counter, n in used(collection, key, data):
            if n > top.get(counter, 0):
                top[counter] = n
    return top
