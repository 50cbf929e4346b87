"""KV-cache friendliness: the stable prefix, planned breaks, and reuse measured from compiles.

Why measured: a provider's KV cache reuses the longest common *token prefix* of two prompts, so
the only honest figure is computed from what was actually sent. The compiler records each prompt
as an ordered list of ``[hash16, tokens]`` blocks whose concatenation is the prompt exactly; two
consecutive prompts therefore share at least the tokens of their common leading blocks.

Guarantees:
- ``common_prefix_tokens`` is a lower bound that is exact at block granularity: we never claim
  reuse inside the first differing block, because hashes cannot tell how much of it matches.
- The stable prefix is stored byte for byte (no stripping), so the compiler can put it first.
- A planned break (``mark_cache_break``) is pending until exactly one compile consumes it; several
  marks before one compile are joined, so no reason is lost.
- The volatility scan reports *what* looks volatile and where, with the matched text, so the user
  can move or remove it; it never edits anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from .clock import now
from .errors import UsageError
from .storage.base import Storage

AGENT = "agent"  # documents: "prefix", "cache_break"
COMPILATIONS = "compilations"
MAX_PREFIX_BYTES = 200_000
# A break that reuses less than this share of the previous prompt, without being planned,
# is reported as unplanned: something early in the prompt changed.
UNPLANNED_BELOW = 0.5


# stable prefix ---------------------------------------------------------------------------------


def set_prefix(storage: Storage, text: str) -> bool:
    """Store ``text`` exactly; returns True when it differs from the previous prefix."""
    if not text.strip():
        raise UsageError("the stable prefix is empty (use `prefix clear` to remove it)")
    if "\x00" in text:
        raise UsageError("the stable prefix contains NUL bytes")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PREFIX_BYTES:
        raise UsageError(f"the stable prefix is too large ({size} bytes, limit {MAX_PREFIX_BYTES})")
    with storage.transaction():
        old = get_prefix(storage)
        if old == text:
            return False
        storage.put_doc(AGENT, "prefix", {"text": text, "updated_at": now()})
        # Why mark: changing the prefix invalidates every cached prompt; the user asked for it,
        # so the next compile's break is planned, not a surprise.
        if old is not None:
            mark_break(storage, "prefix changed")
    return True


def get_prefix(storage: Storage) -> str | None:
    doc = storage.get_doc(AGENT, "prefix")
    return str(doc["text"]) if doc else None


def clear_prefix(storage: Storage) -> bool:
    with storage.transaction():
        removed = storage.delete_doc(AGENT, "prefix")
        if removed:
            mark_break(storage, "prefix cleared")
    return removed


# planned breaks --------------------------------------------------------------------------------


def mark_break(storage: Storage, reason: str = "manual") -> None:
    reason = " ".join(reason.split()) or "manual"
    with storage.transaction():
        doc = storage.get_doc(AGENT, "cache_break")
        reasons = list(doc["reasons"]) if doc else []
        if reason not in reasons:
            reasons.append(reason)
        storage.put_doc(AGENT, "cache_break", {"reasons": reasons, "marked_at": now()})


def pending_break(storage: Storage) -> str | None:
    doc = storage.get_doc(AGENT, "cache_break")
    return "; ".join(doc["reasons"]) if doc else None


def consume_break(storage: Storage) -> str | None:
    with storage.transaction():
        reason = pending_break(storage)
        if reason is not None:
            storage.delete_doc(AGENT, "cache_break")
    return reason


# reuse between consecutive compiles ------------------------------------------------------------


def common_prefix_tokens(earlier: Sequence[Sequence[Any]], later: Sequence[Sequence[Any]]) -> int:
    """Tokens of the leading blocks two prompts share (same hash and same token count)."""
    total = 0
    for a, b in zip(earlier, later, strict=False):
        if a[0] != b[0] or int(a[1]) != int(b[1]):
            break
        total += int(a[1])
    return total


def window_moved(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    """Whether the compiler's session window starts at another item than in the earlier compile.

    Why compared here rather than read from the record's own ``window_moved``: that flag says the
    window was recomputed, which can happen while it still starts at the same item; for the
    cache only a different first item matters. A moved window is an explained break (the budget
    was full), so it is reported as such and never blamed on volatile content.
    """
    a, b = earlier.get("window_start"), later.get("window_start")
    return a is not None and b is not None and a != b


def compare(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """Reuse of one compile record by the next (keys documented in the README)."""
    blocks_a, blocks_b = earlier.get("blocks") or [], later.get("blocks") or []
    tokens_a = sum(int(b[1]) for b in blocks_a)
    tokens_b = sum(int(b[1]) for b in blocks_b)
    common = common_prefix_tokens(blocks_a, blocks_b)
    planned = later.get("cache_break")
    share = common / tokens_a if tokens_a else 0.0
    return {
        "id": later.get("id"),
        "previous_id": earlier.get("id"),
        "prompt_tokens": tokens_b,
        "previous_tokens": tokens_a,
        "common_prefix_tokens": common,
        "reuse_of_previous": round(share, 4),
        "reuse_of_current": round(common / tokens_b, 4) if tokens_b else 0.0,
        "planned_break": planned or None,
        "unplanned_break": not planned and tokens_a > 0 and share < UNPLANNED_BELOW,
        "branch_changed": earlier.get("branch") != later.get("branch"),
        "window_moved": window_moved(earlier, later),
    }


def recent_records(storage: Storage, last_n: int) -> list[dict[str, Any]]:
    """The last ``last_n`` compile records, oldest first."""
    if last_n <= 0:
        return []
    docs = storage.list_docs(COMPILATIONS, limit=last_n, reverse=True)
    return [d for _, d in reversed(docs)]


def empty_report() -> dict[str, Any]:
    return {
        "compiles": 0,
        "pairs": [],
        "last": None,
        "mean_reuse": None,
        "mean_reuse_unplanned": None,
        "planned_breaks": 0,
        "unplanned_breaks": 0,
        "pending_break": None,
    }


def reuse_report(storage: Storage, last_n: int = 20) -> dict[str, Any]:
    """Reuse over the last ``last_n`` compiles: one pair per consecutive compile, plus means.

    ``mean_reuse`` averages every pair; ``mean_reuse_unplanned`` leaves out planned breaks, which
    is the figure to watch (planned breaks are supposed to cost the cache).
    """
    records = recent_records(storage, last_n)
    pairs = [compare(a, b) for a, b in pairwise(records)]
    unplanned = [p for p in pairs if not p["planned_break"]]

    def mean(items: list[dict[str, Any]]) -> float | None:
        return round(sum(p["reuse_of_previous"] for p in items) / len(items), 4) if items else None

    return {
        **empty_report(),
        "compiles": len(records),
        "pairs": pairs,
        "last": pairs[-1] if pairs else None,
        "mean_reuse": mean(pairs),
        "mean_reuse_unplanned": mean(unplanned),
        "planned_breaks": sum(1 for p in pairs if p["planned_break"]),
        "unplanned_breaks": sum(1 for p in pairs if p["unplanned_break"]),
        "pending_break": pending_break(storage),
    }


# volatility ------------------------------------------------------------------------------------

# Each rule: (kind, pattern, why it hurts). Ordered so the most specific kind claims a span first.
VOLATILE_RULES: list[tuple[str, re.Pattern[str], str]] = [
    (
        "uuid",
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "a random id changes on every run",
    ),
    (
        "timestamp",
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
        ),
        "a timestamp changes on every compile",
    ),
    (
        "date",
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
            r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2},? \d{4}\b"
        ),
        "a date changes daily",
    ),
    (
        "time",
        re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?\b"),
        "a clock time changes on every compile",
    ),
    (
        "epoch",
        re.compile(r"\b1[5-9]\d{8}(?:\d{3})?\b"),
        "a Unix timestamp changes on every compile",
    ),
    (
        "random id",
        re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{12,}\b"),
        "a random-looking id changes between runs",
    ),
    (
        "counter",
        re.compile(
            # Why a keyword is required: a bare "#12" is usually a stable issue reference.
            r"\b(?:session|run|step|turn|iteration|attempt|request|build|call|round)"
            r"\s*(?:#|no\.?|number)?\s*\d+\b",
            re.IGNORECASE,
        ),
        "a counter changes as the session advances",
    ),
]


def scan_volatile(text: str, where: str) -> list[dict[str, Any]]:
    """Volatile-looking spans in ``text``: kind, matched text, line number and a reason."""
    found: list[dict[str, Any]] = []
    claimed: list[tuple[int, int]] = []
    for kind, pattern, why in VOLATILE_RULES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in claimed):
                continue  # already reported as a more specific kind (a date inside a timestamp)
            claimed.append((start, end))
            found.append(
                {
                    "where": where,
                    "kind": kind,
                    "text": match.group(0),
                    "line": text.count("\n", 0, start) + 1,
                    "offset": start,
                    "why": why,
                }
            )
    return sorted(found, key=lambda f: f["offset"])


def section_at(record: dict[str, Any], offset: int) -> str | None:
    """The section holding the token at ``offset`` of a recorded prompt.

    Why computed: records keep tokens per section, not per block. Sections are contiguous and
    ordered as in ``layout.SECTION_ORDER`` (storage sorts a document's keys, so the record's own
    order is lost), which is enough to place any block.
    """
    from .layout import SECTION_ORDER

    sections = record.get("sections") or {}
    rank = {name: k for k, name in enumerate(SECTION_ORDER)}
    start = 0
    for name in sorted(sections, key=lambda n: rank.get(n, len(rank))):
        end = start + int(sections[name])
        if start <= offset < end:
            return str(name)
        start = end
    return None


def block_warnings(
    records: Sequence[dict[str, Any]], early_share: float = 0.5
) -> list[dict[str, Any]]:
    """Early blocks that changed between unplanned consecutive compiles, classified.

    - ``reordered``: the first differing block of the later prompt appears elsewhere in the earlier
      one (same content, new order), e.g. a list serialised from an unordered set.
    - ``inserted``: a new block sits where the earlier prompt's block now follows it: content
      added early pushes everything after it out of the cache.
    - ``changed in place``: one block differs while the blocks after it are identical, i.e. a value
      inside an otherwise stable part changed (a counter, a clock, a score).
    Only breaks within the first ``early_share`` of the earlier prompt are reported.
    """
    warnings: list[dict[str, Any]] = []
    for earlier, later in pairwise(records):
        if later.get("cache_break") or window_moved(earlier, later):
            continue  # the cause is known: nothing volatile to point at
        a, b = earlier.get("blocks") or [], later.get("blocks") or []
        total = sum(int(x[1]) for x in a)
        common = common_prefix_tokens(a, b)
        if not a or not b or common >= total * early_share:
            continue
        i = next(
            (k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x[0] != y[0]),
            min(len(a), len(b)),
        )
        if i >= min(len(a), len(b)):
            continue
        hashes_a, hashes_b = [x[0] for x in a], [y[0] for y in b]
        section = section_at(later, common) or "prompt"
        base = {
            "where": f"{section} section",
            "section": section,
            "block": i,
            "compile": later.get("id"),
            "previous_compile": earlier.get("id"),
            "common_prefix_tokens": common,
        }
        if b[i][0] in hashes_a[i + 1 :] or a[i][0] in hashes_b[i + 2 :]:
            kind, why = (
                "reordered",
                (
                    "it holds content the previous compile had at another position: "
                    "a list is serialised in an unstable order"
                ),
            )
        elif hashes_b[i + 1 : i + 4] and hashes_b[i + 1 : i + 4] == hashes_a[i : i + 3]:
            kind, why = (
                "inserted",
                (
                    "new content was added here, early in the prompt, and pushed everything "
                    "after it out of the cache; new content is cheapest at the end"
                ),
            )
        elif hashes_a[i + 1 : i + 4] and hashes_a[i + 1 : i + 4] == hashes_b[i + 1 : i + 4]:
            kind, why = (
                "changed in place",
                (
                    "only this block changed while the blocks after it stayed the same: "
                    "it holds a volatile value (time, counter, score)"
                ),
            )
        else:
            continue
        warnings.append({**base, "kind": kind, "why": why})
    return warnings


def check(
    storage: Storage | None, texts: Sequence[tuple[str, str]], last_n: int = 20
) -> dict[str, Any]:
    """``prefix check``: the reuse report plus warnings, each naming what looks volatile and where.

    ``texts`` are the parts the compiler puts early, as ``(where, text)`` pairs (the stable prefix
    first); block warnings come from the compile records themselves. ``storage`` is None for a
    namespace that does not exist yet: nothing is measured, the texts are still scanned.
    """
    report = reuse_report(storage, last_n) if storage is not None else empty_report()
    warnings: list[dict[str, Any]] = []
    for where, text in texts:
        warnings.extend(scan_volatile(text, where))
    if storage is not None:
        warnings.extend(block_warnings(recent_records(storage, last_n)))
    report["warnings"] = warnings
    return report
