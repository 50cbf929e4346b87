"""The digest an old session log is compacted into: what it holds, how it is built and shown.

Events older than the recent ones are read, in one pass, into a ``Digest``: counts by role;
acknowledgements and repeats folded into counts; ``decision`` events verbatim; errors (an
``error`` event's headline, a failing tool run's headline) merged with counts and the fix
stated in the next few events; tool runs grouped by command (``toolruns``); and, from every
other event (``user``, ``assistant``, ``observation``, any other role), the sentences that carry
the most, chosen within a token budget (``excerpts``). Decision and preference sentences get
their own sections; every kept sentence keeps its event's number, speaker and time, verbatim.

An earlier digest in the span is merged, never summarised again: its records are kept as they
are, and only the events after it are read. A summariser's summary (``hybrid``) is kept as a
note, verbatim. Deterministic, offline, ``O(n log n)`` in the number of sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import excerpts, toolruns
from .compression import DUP_RATIO, REPEAT_MARK, is_acknowledgement, near_duplicate, normalise
from .models import SessionItem

# The share of the replaced events' tokens the chosen sentences may take (tuned on BEAM
# conversations 1-10 only), plus a floor so a short span keeps its few facts.
DIGEST_SHARE = 0.15
DIGEST_FLOOR = 40
_DIGITS = re.compile(r"\d+")
RESOLUTION = re.compile(
    r"\b(?:fixed|fix was|resolved|solved|the (?:cause|problem|issue) was|root cause|turned out|"
    r"workaround)\b",
    re.I,
)
RESOLUTION_WINDOW = 8
MAX_DECISION = 1000
Record = dict[str, Any]


def text_key(text: str) -> str:
    """What two texts must share to be the same: words, case and punctuation aside; text made
    of punctuation only ("/" and "//") is its own key."""
    return normalise(text) or text


def record(item: SessionItem, text: str) -> Record:
    return {"seq": item.seq, "role": item.role, "at": item.created_at, "text": text}


def as_record(value: Any) -> Record:
    """A record from a stored digest; digests before records held bare strings."""
    if isinstance(value, dict):
        return {"seq": 0, "role": "", "at": "", **value}
    return {"seq": 0, "role": "", "at": "", "text": str(value)}


def stamp(rec: Record, with_day: bool = True) -> str:
    """``[12] 2024-03-15 10:02 user: `` (what a kept sentence is prefixed with), or ''."""
    at = str(rec.get("at") or "")
    when = (at[:16].replace("T", " ") if with_day else at[11:16]) if at else ""
    head = " ".join(
        p for p in (f"[{rec['seq']}]" if rec.get("seq") else "", when, rec.get("role")) if p
    )
    return f"{head}: " if head else ""


@dataclass
class Digest:
    """The schema an old log is compacted into; merges with earlier digests."""

    events: int = 0
    first_at: str = ""
    last_at: str = ""
    roles: dict[str, int] = field(default_factory=dict)
    acks: int = 0
    repeats: int = 0
    sentences: int = 0  # candidate sentences read; ``kept`` of them were kept
    kept: int = 0
    decisions: list[Record] = field(default_factory=list)
    preferences: list[Record] = field(default_factory=list)
    excerpts: list[Record] = field(default_factory=list)  # one per event: text and its facts
    errors: list[dict[str, Any]] = field(default_factory=list)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        # Shallow: the records are plain JSON values already, and asdict's deep copy of a
        # large digest costs a tenth of a 10,000-event compaction.
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        digest = cls(**known)
        digest.decisions = [as_record(r) for r in digest.decisions]
        digest.preferences = [as_record(r) for r in digest.preferences]
        digest.excerpts = [as_record(r) for r in digest.excerpts]
        # Digests before excerpts kept "facts" as bare sentences.
        digest.excerpts += [{**as_record(f), "facts": [f]} for f in data.get("facts", [])]
        for err in digest.errors:
            if err.get("resolution") is not None:
                err["resolution"] = as_record(err["resolution"])
        return digest

    # building ----------------------------------------------------------------------------

    def _span(self, item: SessionItem, count: int = 1) -> None:
        self.events += count
        self.roles[item.role] = self.roles.get(item.role, 0) + count
        if item.created_at and (not self.first_at or item.created_at < self.first_at):
            self.first_at = item.created_at
        self.last_at = max(self.last_at, item.created_at)

    @staticmethod
    def _add(target: list[Record], rec: Record, index: dict[str, int]) -> bool:
        key = text_key(rec["text"])
        if key in index:
            return False
        # Why a window: comparing each record with every earlier one is quadratic; repeats
        # cluster in time, and exact repeats anywhere are caught by the index above.
        from rapidfuzz import fuzz, process

        texts = [r["text"] for r in target[-50:]]
        best = process.extractOne(rec["text"], texts, scorer=fuzz.ratio, score_cutoff=DUP_RATIO)
        if best is not None and near_duplicate(best[0], rec["text"]):
            return False
        index[key] = len(target)
        target.append(rec)
        return True

    def add_error(self, text: str) -> dict[str, Any]:
        key = _DIGITS.sub("#", normalise(text))
        for err in self.errors:
            if err["key"] == key:
                err["count"] += 1
                return err
        err = {"key": key, "text": text, "count": 1, "resolution": None}
        self.errors.append(err)
        return err

    def add_tool(self, item: SessionItem, text: str) -> str | None:
        """Count a tool run under its command; returns its failure headline, or None."""
        label, failure, last = toolruns.describe_run(item.meta.get("command"), text, item.role)
        run = self.tools.setdefault(label, {"count": 0, "failed": 0, "last": ""})
        repeats = int(item.meta.get("repeats", 1))
        run["count"] += repeats
        run["failed"] += repeats if failure is not None else 0
        run["last"] = last
        return None if failure is None else f"{label}: {failure}"

    def merge(self, other: Digest) -> None:
        self.events += other.events
        self.acks += other.acks
        self.repeats += other.repeats
        self.sentences += other.sentences
        self.kept += other.kept
        for role, n in other.roles.items():
            self.roles[role] = self.roles.get(role, 0) + n
        if other.first_at and (not self.first_at or other.first_at < self.first_at):
            self.first_at = other.first_at
        self.last_at = max(self.last_at, other.last_at)
        for mine, theirs in (
            (self.decisions, other.decisions),
            (self.preferences, other.preferences),
            (self.excerpts, other.excerpts),
        ):
            index = {text_key(r["text"]): i for i, r in enumerate(mine)}
            for rec in theirs:
                self._add(mine, rec, index)
        for note in other.notes:
            if note not in self.notes:
                self.notes.append(note)
        for err in other.errors:
            mine_err = self.add_error(err["text"])
            mine_err["count"] += err["count"] - 1
            mine_err["resolution"] = mine_err["resolution"] or err["resolution"]
        for label, run in other.tools.items():
            into = self.tools.setdefault(label, {"count": 0, "failed": 0, "last": run["last"]})
            into["count"] += run["count"]
            into["failed"] += run["failed"]


def _answered(items: Sequence[SessionItem], acks: Sequence[bool], position: int) -> bool:
    """Whether someone else spoke (not merely acknowledged) within the next two events;
    ``acks[i]``: whether event ``i`` is an acknowledgement."""
    role = items[position].role
    for later in range(position + 1, min(position + 3, len(items))):
        other = items[later].role
        if other != role and other != "summary" and not acks[later]:
            return True
    return False


def build_digest(
    items: Sequence[SessionItem], context: Iterable[str] = (), share: float = DIGEST_SHARE
) -> Digest:
    """Read events into a digest. ``context``: texts that stay verbatim (the recent events),
    whose words the chosen sentences need not repeat."""
    digest = Digest()
    indexes: dict[int, dict[str, int]] = {id(digest.decisions): {}, id(digest.preferences): {}}
    open_errors: list[tuple[int, dict[str, Any]]] = []
    units: list[excerpts.Unit] = []
    seen: dict[tuple[str, str], excerpts.Analysis] = {}
    tokens = 0
    acks = [is_acknowledgement(item) for item in items]  # each event's, once
    for position, item in enumerate(items):
        if item.role == "summary":
            if isinstance(item.meta.get("digest"), dict):
                digest.merge(Digest.from_dict(item.meta["digest"]))
            elif isinstance(item.meta.get("trim"), dict):
                digest.acks += int(item.meta["trim"].get("dropped", 0))
                digest.repeats += int(item.meta["trim"].get("merged", 0))
            elif "compaction" not in item.meta and item.content not in digest.notes:
                digest.notes.append(item.content)  # a summariser's text: kept, not re-read
            continue
        repeats = int(item.meta.get("repeats", 1))
        digest._span(item, repeats)
        digest.repeats += repeats - 1
        tokens += item.token_count or len(item.content) // 4
        if acks[position]:
            digest.acks += 1
            continue
        text = REPEAT_MARK.sub("", item.content)
        open_errors = [(p, e) for p, e in open_errors if position - p <= RESOLUTION_WINDOW]
        if item.role == "decision":
            Digest._add(
                digest.decisions,
                record(item, text.strip()[:MAX_DECISION]),
                indexes[id(digest.decisions)],
            )
            continue
        if item.role == "error" or item.role in toolruns.TOOL_ROLES:
            failure: str | None
            if item.role == "error":
                failure = toolruns.headline(None, text) or text.strip().splitlines()[0]
            else:
                failure = digest.add_tool(item, text)
            if failure is not None:
                err = digest.add_error(failure[: toolruns.MAX_HEADLINE])
                if err["resolution"] is None:
                    open_errors.append((position, err))
            continue
        fixes: list[str] = []
        if open_errors:
            for sentence in excerpts.split(text):
                if open_errors and RESOLUTION.search(sentence):
                    open_errors.pop()[1]["resolution"] = record(item, sentence)
                    fixes.append(sentence)
        answered = _answered(items, acks, position)
        units += excerpts.units_of(
            item.seq, item.role, item.created_at, text, answered, fixes, seen
        )
    digest.sentences += len(units)
    budget = share * tokens + DIGEST_FLOOR if units else 0
    chosen = excerpts.select(units, budget, context)
    digest.kept += len(chosen)
    by_event: dict[int, list[excerpts.Unit]] = {}
    for u in chosen:
        if u.kind in ("decision", "preference"):
            target = digest.decisions if u.kind == "decision" else digest.preferences
            rec = {"seq": u.seq, "role": u.role, "at": u.at, "text": u.text}
            Digest._add(target, rec, indexes[id(target)])
        else:
            by_event.setdefault(u.seq, []).append(u)
    for group in by_event.values():
        first = group[0]
        digest.excerpts.append(
            {
                "seq": first.seq,
                "role": first.role,
                "at": first.at,
                "text": excerpts.join(group),
                "facts": [
                    u.text for u in group if u.kind == "correction" or excerpts.is_fact(u.text)
                ],
            }
        )
    return digest


def _roles(digest: Digest) -> str:
    return ", ".join(
        f"{n} {role}" for role, n in sorted(digest.roles.items(), key=lambda x: (-x[1], x[0]))
    )


def render(digest: Digest, preserved: int) -> list[tuple[str, str]]:
    """(section, text) pairs, one per non-empty section, in a fixed order."""
    span = ""
    if digest.first_at:
        span = f", {digest.first_at[:16].replace('T', ' ')} to {digest.last_at[:16][-5:]}"
        if digest.first_at[:10] != digest.last_at[:10]:
            span = f", {digest.first_at[:16].replace('T', ' ')} to "
            span += digest.last_at[:16].replace("T", " ")
    folded = []
    if digest.acks:
        folded.append(f"{digest.acks} acknowledgements")
    if digest.repeats:
        folded.append(f"{digest.repeats} repeats")
    kept = f"{digest.kept} of {digest.sentences} sentences kept" if digest.sentences else ""
    parts = [" and ".join(folded) + " folded" if folded else "", kept]
    detail = "; ".join(p for p in parts if p)
    out = [
        (
            "overview",
            f"[Compacted {digest.events} events{span} ({_roles(digest) or 'none'})"
            + (f": {detail}" if detail else "")
            + f"; the {preserved} most recent follow verbatim. "
            "Originals: session show --raw, compact --undo]",
        )
    ]
    if digest.decisions:
        lines = [f"- {stamp(d)}{d['text']}" for d in digest.decisions]
        out.append(("decisions", "Decisions:\n" + "\n".join(lines)))
    if digest.errors:
        resolved = sum(1 for e in digest.errors if e["resolution"])
        lines = [f"Errors ({len(digest.errors)}, {resolved} resolved):"]
        for e in digest.errors:
            times = f" (×{e['count']})" if e["count"] > 1 else ""
            fix = e["resolution"]
            tail = f" -> fix: {stamp(fix)}{fix['text']}" if fix else " (unresolved)"
            lines.append(f"- {e['text']}{times}{tail}")
        out.append(("errors", "\n".join(lines)))
    if digest.excerpts or digest.notes:
        lines = ["Conversation, verbatim excerpts (… marks a cut):"]
        day = ""
        for rec in digest.excerpts:
            at = str(rec.get("at") or "")
            if at[:10] and at[:10] != day:
                day = at[:10]
                lines.append(f"{day}:")
            lines.append(f"- {stamp(rec, with_day=not at)}{rec['text']}")
        lines += [f"- (summary) {n}" for n in digest.notes]
        out.append(("facts", "\n".join(lines)))
    if digest.preferences:
        lines = [f"- {stamp(p)}{p['text']}" for p in digest.preferences]
        out.append(("preferences", "Preferences:\n" + "\n".join(lines)))
    if digest.tools:
        lines = ["Tool runs:"]
        for label, run in sorted(digest.tools.items(), key=lambda x: -int(x[1]["count"])):
            n, failed = int(run["count"]), int(run["failed"])
            outcome = f"{n - failed} passed, {failed} failed" if failed else "all passed"
            lines.append(
                f"- {label}: {n} run{'s' if n != 1 else ''}, {outcome}"
                + (f"; last: {run['last']}" if run["last"] else "")
            )
        out.append(("tools", "\n".join(lines)))
    return out


def digest_items(
    digest: Digest, preserved: int, branch: str, max_items: int | None = None
) -> list[SessionItem]:
    """One summary item per section; all in one when ``max_items`` leaves no room for more."""
    sections = render(digest, preserved)
    if max_items is not None and len(sections) > max_items:
        sections = [("overview", "\n\n".join(text for _, text in sections))]
    items = []
    for section, text in sections:
        meta: dict[str, Any] = {"compaction": section}
        if section == "overview":
            meta["digest"] = digest.to_dict()  # the one copy a later compaction merges from
        items.append(SessionItem(role="summary", content=text, branch=branch, meta=meta))
    return items


@dataclass
class Insight:
    kind: str
    text: str
    count: int = 1


def insights(digest: Digest) -> list[Insight]:
    """What deserves long-term memory: decisions, preferences, facts, fixes, recurring patterns."""
    found = [Insight("decision", d["text"]) for d in digest.decisions]
    found += [Insight("preference", p["text"]) for p in digest.preferences]
    found += [Insight("fact", f) for e in digest.excerpts for f in e.get("facts", [])]
    for e in digest.errors:
        if e["resolution"]:
            fix = e["resolution"]["text"]
            found.append(Insight("error", f"{e['text']} -> fix: {fix}", e["count"]))
        if e["count"] >= 3:
            found.append(
                Insight("pattern", f"Recurring error ({e['count']} times): {e['text']}", e["count"])
            )
    for label, run in digest.tools.items():
        if int(run["failed"]) >= 3:
            found.append(
                Insight(
                    "pattern",
                    f"`{label}` failed {run['failed']} of {run['count']} runs",
                    int(run["count"]),
                )
            )
    return found


def extract(items: Iterable[SessionItem]) -> list[Insight]:
    return insights(build_digest(list(items)))
