"""The frozen part of a prompt: what a compile keeps from the previous one until a planned break.

Why it exists: providers cache prompts by prefix, and an agent loop compiles after every step.
If each compile re-ranked everything, a new memory at the top of the memories section, or an
allocation that shrank as the session grew, would change the prompt near its start and throw
the cache away. So between breaks a compile is append-only (README, "Cache-friendly by design"):

* the *head* (strategy lines, memories, artifacts chosen at the break) is kept byte for byte,
  in the same order, while each item is still valid (a deleted or edited memory drops out);
* the *stream* (the session window from the start chosen at the break) only grows: new events,
  and memories learned since the break, are appended in the order they happened;
* the *tail* (unresolved errors, events recalled from earlier in the session, more memories,
  the checklist) is computed afresh every time: it holds what a changing query or a new error
  changes, where that invalidates the least.

A break re-plans everything from scratch: the first compile, a planned break (goal change,
``prefix break``, ``mark_cache_break()``, compaction, a branch switch, ``--rerank``), different
arguments (budget, format, mode, encoding, strategy, system text: each combination keeps its
own slot), or a stream that no longer fits beside the head. The reason is recorded.

Nothing here packs or counts; ``Frozen`` is plain data, stored as a document by gather.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 1
MAX_SLOTS = 8  # argument combinations remembered per namespace (least recently used go)


@dataclass
class Frozen:
    """What the previous compile chose at its break, by item identity (``Candidate.ident``)."""

    key: str
    created: str  # when the break happened: memories created later are "learned since"
    head: dict[str, list[list[Any]]] = field(default_factory=dict)  # section -> [[ident, cut]]
    stream: list[str] = field(default_factory=list)  # idents, in prompt order
    window_start: int | None = None
    last_event: str | None = None  # the newest observation at the break, shown or not
    allocation: dict[str, int] = field(default_factory=dict)
    marker: bool = False  # the stream opens with "earlier items not shown"
    recall_target: int = 0  # tokens kept for recalled events at the break
    content: dict[str, str] = field(default_factory=dict)  # fingerprints of goal, prefix ...
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Frozen | None:
        """A stored state, or None when it is not one this version can continue."""
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return None
        try:
            head: dict[str, list[list[Any]]] = {}
            for section, entries in dict(data.get("head") or {}).items():
                head[str(section)] = [[str(ident), _int_or_none(cut)] for ident, cut in entries]
            start = data.get("window_start")
            return cls(
                key=str(data["key"]),
                created=str(data["created"]),
                head=head,
                stream=[str(s) for s in data.get("stream") or []],
                window_start=_int_or_none(start),
                last_event=None if data.get("last_event") is None else str(data["last_event"]),
                allocation={str(k): int(v) for k, v in dict(data.get("allocation") or {}).items()},
                marker=bool(data.get("marker")),
                recall_target=_int_or_none(data.get("recall_target")) or 0,
                content={str(k): str(v) for k, v in dict(data.get("content") or {}).items()},
            )
        except (KeyError, TypeError, ValueError):
            return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fingerprint(*values: Any, **parts: Any) -> str:
    """A short stable hash of JSON-able values (an argument combination, a text)."""
    text = json.dumps([values, parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# A change of these is a planned break (the agent or user changed them on purpose); a change of
# the system text, passed anew with every compile, is not: ``prefix check`` flags it.
PLANNED_CHANGES = {
    "goal": "goal changed",
    "prefix": "prefix changed",
    "strategy": "strategy changed",
}


def changes(frozen: Frozen, content: dict[str, str]) -> list[str]:
    return sorted(
        k for k in set(frozen.content) | set(content) if frozen.content.get(k) != content.get(k)
    )


def find_slot(doc: dict[str, Any] | None, key: str) -> Frozen | None:
    for slot in (doc or {}).get("slots", []):
        if isinstance(slot, dict) and slot.get("key") == key:
            return Frozen.from_dict(slot)
    return None


def store_slot(doc: dict[str, Any] | None, frozen: Frozen) -> dict[str, Any]:
    """The slots document with ``frozen`` first and the least recently used dropped."""
    slots = [s for s in (doc or {}).get("slots", []) if isinstance(s, dict)]
    slots = [s for s in slots if s.get("key") != frozen.key]
    return {"slots": [frozen.to_dict(), *slots][:MAX_SLOTS]}
