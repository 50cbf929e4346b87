"""Search over the session log: every event of every branch, archived ones included.

Why it exists: agents and chats put their context into the session log, and the prompt can
only show its newest window; what is older, or compacted away, is reachable only through
search. The index lives in the storage layer (``storage/events.py``), which keeps it in sync
with every write; this module ranks it exactly as memory search ranks memories (search.py:
typo widening, the FTS5 pool re-scored with BM25 k1=1.5 b=1, the phrase boost), then maps each
hit to its branch and says whether a compaction, trim or session end archived it.

Scope: a branch sees its own events and its ancestors' up to each fork point, as its log does
(``branching.Branches.raw_chain``); ``all_branches`` searches every branch's own events, and an
event merged into another branch is returned once, as the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .branching import Branch, BranchOps
from .models import SessionItem
from .search import expand_typos, phrase_boost, query_phrase, score_texts
from .storage.base import Storage
from .storage.events import is_event_collection
from .text import query_terms

POOL_FACTOR = 4
MIN_POOL = 40


@dataclass
class SessionHit:
    """One event found by ``search_session``; ``archived``: outside the branch's visible log."""

    seq: int
    role: str
    branch: str
    created_at: str
    archived: bool
    content: str
    score: float
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def item(self) -> SessionItem:
        return SessionItem(
            role=self.role,
            content=self.content,
            seq=self.seq,
            branch=self.branch,
            created_at=self.created_at,
            meta=dict(self.meta),
        )


def scope_of(ops: BranchOps, branch: Branch) -> list[tuple[Branch, int | None]]:
    """The branches whose own events ``branch`` sees, each with the last seq it sees there."""
    out: list[tuple[Branch, int | None]] = []
    node: Branch | None = branch
    upper: int | None = None
    while node is not None:
        out.append((node, upper))
        if node.parent is None:
            break
        upper = node.fork_seq if upper is None else min(upper, node.fork_seq)
        node = ops.by_id(node.parent)
    return out


def search_events(
    storage: Storage,
    query: str,
    limit: int,
    scope: Sequence[tuple[Branch, int | None]] | None,
    archived_upto: dict[int, int],
    viewer: Branch | None,
) -> list[SessionHit]:
    """The ``limit`` best events for ``query`` within ``scope`` (None: every branch).

    ``archived_upto`` maps a branch id to the last seq its view replaces; an event counts as
    archived for ``viewer`` (or, with no viewer, for the branch that holds it).
    """
    qterms = query_terms(query)
    if limit <= 0 or not qterms:
        return []
    expanded = expand_typos(storage, qterms, storage.event_doc_freq, storage.event_vocabulary)
    ops = BranchOps(storage)
    owners: dict[str, tuple[Branch, int | None]]
    if scope is None:
        owners = {b.collection: (b, None) for b in ops.all()}
        collections: list[str] | None = None
    else:
        owners = {b.collection: (b, upper) for b, upper in scope}
        collections = list(owners)
    # Four times the limit, as memory search, but at most 200 more: the pool is re-scored from
    # the stored events, and a compile asks for hundreds.
    pool_size = max(MIN_POOL, limit + min(limit * (POOL_FACTOR - 1), 200))
    found: list[tuple[Branch, SessionItem]] = []
    for collection, key, _ in storage.event_bm25(expanded, pool_size, collections):
        owner = owners.get(collection)
        if owner is None or not is_event_collection(collection):
            continue  # an orphaned collection (its branch record is gone)
        branch, upper = owner
        if upper is not None and int(key) > upper:
            continue  # the parent's events after the fork are not this branch's history
        doc = storage.get_doc(collection, key)
        if doc is not None:
            found.append((branch, SessionItem.from_dict(doc)))
    if scope is None:  # every branch: a merged copy is the original, once
        originals = {item.seq for _, item in found}
        found = [
            (b, i)
            for b, i in found
            if not (
                isinstance(i.meta.get("merged_from"), dict)
                and i.meta["merged_from"].get("seq") in originals
            )
        ]
    texts = [item.content for _, item in found]
    scores = score_texts(texts, expanded, storage.event_index_stats(), storage.event_doc_freq)
    phrase = query_phrase(query)
    hits = []
    for n, (branch, item) in enumerate(found):
        base = scores[n] if scores is not None else 0.0
        judge = viewer or branch
        hits.append(
            SessionHit(
                seq=item.seq,
                role=item.role,
                branch=branch.name,
                created_at=item.created_at,
                archived=item.seq <= archived_upto.get(judge.id, 0),
                content=item.content,
                score=base * phrase_boost(phrase, item.content),
                meta={k: v for k, v in item.meta.items() if k != "token_encoding"},
            )
        )
    # Best first; equal scores newest first: the same order on every backend.
    hits.sort(key=lambda h: h.seq, reverse=True)
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:limit]


def previous_event(
    storage: Storage, collection: str, seq: int, reach: int = 20
) -> SessionItem | None:
    """The event just before ``seq`` in ``collection`` (sequence numbers are global, so it is
    the nearest lower one stored there, looked for within ``reach``)."""
    doc = storage.get_doc(collection, f"{seq - 1:012d}")
    if doc is not None:  # the usual case: one branch, consecutive numbers
        return SessionItem.from_dict(doc)
    docs = storage.list_docs(collection, start=f"{max(0, seq - reach):012d}", limit=reach)
    before = [d for k, d in docs if int(k) < seq]
    return SessionItem.from_dict(before[-1]) if before else None
