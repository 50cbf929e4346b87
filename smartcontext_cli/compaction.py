"""Compaction over a store: an old session log becomes a digest plus long-term memories.

The digest itself (what it keeps and how it reads) is ``digest``; the sentence choice is
``excerpts``; tool runs are ``toolruns``. This module applies it to a branch's log.

Guarantees:

* The recent events stay verbatim; nothing is deleted: the raw log is archived behind a view
  (``branching``), stays searchable (``session search``) and recallable by ``compile``, and
  ``undo`` restores it and removes the memories compaction added.
* Never larger: when the digest would not be smaller (in tokens) than the events it replaces,
  nothing is stored and the report's ``notice`` says so; automatic trimming obeys the same rule.
* A dry run changes nothing: no view, no memory, no cache break, not even a new namespace.
* Compacting a compacted log merges the old digest instead of summarising a summary.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .compression import near_duplicate
from .digest import (
    Digest,
    Insight,
    build_digest,
    digest_items,
    extract,
    insights,
    render,
    text_key,
)
from .errors import NotFoundError, UsageError
from .gcpause import paused_gc
from .models import Memory

if TYPE_CHECKING:
    from .session import SessionMixin, SessionReport

__all__ = [
    "Digest",
    "Insight",
    "build_digest",
    "compact",
    "digest_items",
    "end",
    "extract",
    "insights",
    "remember_insights",
    "render",
    "undo",
]

IMPORTANCE = {"decision": 0.7, "preference": 0.6, "error": 0.6, "pattern": 0.5, "fact": 0.5}


def same_text(existing: str, new: str) -> bool:
    """True when ``existing`` already says ``new`` (equal, contains it, or a near-duplicate)."""
    a, b = text_key(existing), text_key(new)
    return a == b or (len(b) > 20 and b in a) or near_duplicate(a, b)


def distinctive_terms(text: str, n: int = 3) -> list[str]:
    """The few query terms most likely to be rare: those with digits, then the longest.

    Why: a near-duplicate must contain these too, and a query on rare terms touches few rows,
    so checking a thousand insights stays fast however large the store is.
    """
    from .text import query_terms

    terms = query_terms(text)
    return sorted(terms, key=lambda t: (not any(c.isdigit() for c in t), -len(t)))[:n]


def remember_insights(
    store: SessionMixin, found: list[Insight], dry_run: bool
) -> tuple[list[Memory], int]:
    """Store the insights not already in long-term memory; returns (added, already known)."""
    added: list[Memory] = []
    seen: set[str] = set()  # the digest already merged near-duplicates within this batch
    known = 0
    empty = bool(found) and store.storage.count_memories() == 0  # nothing to repeat
    for insight in found:
        key = text_key(insight.text)
        terms = [] if empty else distinctive_terms(insight.text)
        # BM25 finds the few stored memories that could say the same; rapidfuzz decides.
        candidates = [m for m, _ in store.storage.bm25(terms, limit=3)] if terms else []
        if key in seen or any(same_text(m.content, insight.text) for m in candidates):
            known += 1
            continue
        seen.add(key)
        added.append(
            Memory(
                content=insight.text.strip(),
                tags=["session"],
                kind=insight.kind,
                importance=IMPORTANCE.get(insight.kind, 0.5),
                source="compaction",
            )
        )
    if added and not dry_run:
        store.storage.add_memories(added)  # one batch: a thousand facts cost one write
    return added, known


def not_smaller(replacing: int, new_tokens: int, old_tokens: int) -> str:
    """The one line saying why a span stays as it is."""
    return (
        f"nothing compacted: the digest ({new_tokens:,} tokens) would not be smaller than the "
        f"{replacing} events it replaces ({old_tokens:,} tokens); the log stays as it is"
    )


def compact(
    store: SessionMixin,
    preserve_recent: int,
    extract_insights: bool,
    dry_run: bool,
    max_items: int | None = None,
    backup: bool = False,
) -> SessionReport:
    # No cyclic collection inside: compacting 10,000 events allocates a few hundred thousand
    # small objects, none of them cyclic garbage; the collector's passes were a sixth of it.
    with paused_gc():
        return _compact(store, preserve_recent, extract_insights, dry_run, max_items, backup)


def _compact(
    store: SessionMixin,
    preserve_recent: int,
    extract_insights: bool,
    dry_run: bool,
    max_items: int | None,
    backup: bool,
) -> SessionReport:
    from .session import SessionReport

    if (
        isinstance(preserve_recent, bool)
        or not isinstance(preserve_recent, int)
        or preserve_recent < 0
    ):
        raise UsageError("preserve_recent must be a whole number, zero or more")
    nothing = f"nothing to compact: no events are older than the last {preserve_recent}"
    if not store.exists:  # opening the store would create the namespace
        return SessionReport(action="compact", branch="main", dry_run=dry_run, notice=nothing)
    ops, branch = store._ops(), store._branch(dry_run=dry_run)
    view_items, raw = ops.visible(branch)
    keep = min(preserve_recent, len(raw))
    older_raw, recent = raw[: len(raw) - keep], raw[len(raw) - keep :]
    older = view_items + older_raw
    events = len(older) + keep
    # A trimmed (not yet compacted) view is still worth compacting even with no new events.
    if not older_raw and all("compaction" in i.meta for i in view_items):
        return SessionReport(
            action="compact",
            branch=branch.name,
            dry_run=dry_run,
            events_before=events,
            events_after=events,
            preserved=keep,
            notice=nothing,
        )
    digest = build_digest(older, context=[i.content for i in recent])
    room = None if max_items is None else max(1, max_items - keep)
    new_items = digest_items(digest, keep, branch.name, room)
    old_tokens, new_tokens = store._tokens(older), store._tokens(new_items)
    if new_tokens >= old_tokens:
        recent_tokens = store._tokens(recent)
        return SessionReport(
            action="compact",
            branch=branch.name,
            dry_run=dry_run,
            preserved=keep,
            tokens_before=old_tokens + recent_tokens,
            tokens_after=old_tokens + recent_tokens,
            events_before=events,
            events_after=events,
            notice=not_smaller(len(older), new_tokens, old_tokens),
        )
    found = insights(digest) if extract_insights else []
    current = ops.view(branch.view)
    upto = older_raw[-1].seq if older_raw else (current.upto if current else 0)
    sections = {str(i.meta["compaction"]): len(i.content.splitlines()) for i in new_items}
    if dry_run:
        added, known = remember_insights(store, found, dry_run=True)
        report = SessionReport(
            action="compact",
            branch=branch.name,
            dry_run=True,
            events_before=len(older) + keep,
            events_after=len(new_items) + keep,
            compacted=len(older),
            preserved=keep,
            tokens_before=old_tokens + store._tokens(recent),
            tokens_after=new_tokens + store._tokens(recent),
            memories_added=[{"id": None, "kind": m.kind, "content": m.content} for m in added],
        )
    else:
        if backup:
            store.backup("compact")
        with store.storage.transaction():
            ops.check_unchanged(branch)  # before adding memories: it reads outside the lock
            added, known = remember_insights(store, found, dry_run=False)
            report = store._replace(
                branch,
                "compact",
                upto,
                new_items,
                older + recent,
                recent,
                {"digest_events": digest.events},
                added,
            )
    report.memories_known = known
    report.sections = sections
    report.summary = [i.content for i in new_items]
    return report


def end(store: SessionMixin, summary: str | None) -> SessionReport:
    ops, branch = store._ops(), store._branch()
    view_items, raw = ops.visible(branch)
    if not view_items and not raw:
        raise NotFoundError(f"the session log of branch {branch.name!r} is empty: nothing to end")
    current = ops.view(branch.view)
    upto = raw[-1].seq if raw else (current.upto if current else 0)
    with store.storage.transaction():
        ops.check_unchanged(branch)
        added, known = remember_insights(store, insights(build_digest(view_items + raw)), False)
        if summary and summary.strip():
            added.append(
                store.remember(
                    summary,
                    tags=["session", "session-summary"],
                    kind="note",
                    importance=0.6,
                    source="session-end",
                )
            )
        report = store._replace(
            branch, "end", upto, [], view_items + raw, [], {"summary": summary}, added
        )
    report.memories_known = known
    return report


def undo(store: SessionMixin, dry_run: bool = False) -> SessionReport:
    from .session import SessionReport

    if not store.exists:
        raise NotFoundError("nothing to undo on branch 'main': no compaction, trim or session end")
    ops, branch = store._ops(), store._branch(dry_run=dry_run)
    view = ops.view(branch.view)
    if view is None or view.branch != branch.id:
        raise NotFoundError(
            f"nothing to undo on branch {branch.name!r}: "
            "no compaction, trim or session end of its own"
        )
    if dry_run:
        before_items, before_raw = ops.visible(branch)
        restored_items, restored_raw = ops.visible(dataclasses.replace(branch, view=view.previous))
        ids = view.info.get("memories", [])
        return SessionReport(
            action=f"undo {view.kind}",
            branch=branch.name,
            dry_run=True,
            events_before=len(before_items) + len(before_raw),
            events_after=len(restored_items) + len(restored_raw),
            memories_removed=sum(store.storage.get_memory(i) is not None for i in ids),
            view=view.id,
        )
    with store.storage.transaction():
        removed = store.storage.delete_memories(view.info.get("memories", []))
        branch.view = view.previous
        ops.save(branch)
        ops.release_view(view.id)
    view_items, raw = ops.visible(branch)
    store.mark_cache_break("compaction")
    return SessionReport(
        action=f"undo {view.kind}",
        branch=branch.name,
        events_before=len(view.items),
        events_after=len(view_items) + len(raw),
        memories_removed=removed,
        view=view.id,
    )
