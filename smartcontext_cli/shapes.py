"""The stable JSON shapes of results, defined once for every front end.

Why here: ``smartcontext ... --json`` and the MCP server's structured results must be the same
objects (the README documents them once), so neither front end builds its own. Each function
turns a core result into plain JSON-ready data; none reads the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checklist import Task
    from .error_memory import ErrorGroup
    from .models import Artifact, Memory, SessionItem
    from .session import SessionReport
    from .strategy import Strategy


def memory(m: Memory, with_score: bool = False) -> dict[str, Any]:
    """A memory as stored; ``score`` (raw BM25 with priors) only for search hits."""
    data = m.to_dict()
    if with_score:
        data["score"] = m.score
    return data


def error_group(group: ErrorGroup) -> dict[str, Any]:
    """An error group with its one-line ``headline``; the internal signature is left out."""
    from .error_memory import headline

    data = group.to_dict()
    del data["signature"]  # an internal comparison key, not part of the stable shape
    # One id form everywhere: E3 in the text, in JSON and as an argument.
    data["id"] = f"E{group.id}"
    if data.get("recurrence_of") is not None:
        data["recurrence_of"] = f"E{data['recurrence_of']}"
    return {**data, "headline": headline(group.error)}


def tasks(rows: Sequence[tuple[Task, int]]) -> list[dict[str, Any]]:
    """Checklist rows in list order, each with its ``depth`` (0 for top level)."""
    return [{**t.to_dict(), "depth": d} for t, d in rows]


def artifact_summary(a: Artifact) -> dict[str, Any]:
    """An artifact without its content, with its size in ``bytes``."""
    return {k: v for k, v in artifact(a).items() if k != "content"} | {
        "bytes": len(a.content.encode())
    }


def artifact(a: Artifact) -> dict[str, Any]:
    """An artifact with its content; its id in the one form used everywhere: ``#a1``."""
    return {**a.to_dict(), "id": a.ref}


def session_added(item: SessionItem, trim: SessionReport | None) -> dict[str, Any]:
    """What ``session add`` did: the event's place, and the trim it caused if any."""
    return {
        "seq": item.seq,
        "branch": item.branch,
        "role": item.role,
        "tokens": item.token_count,
        "artifact": item.meta.get("artifact"),
        "trimmed": trim.to_dict() if trim else None,
    }


def strategy(s: Strategy | None, ranked: Sequence[str]) -> dict[str, Any] | None:
    """The strategy with its entries as prompt lines, most useful first (``ranked``)."""
    return None if s is None else {**s.to_dict(), "ranked": list(ranked)}
