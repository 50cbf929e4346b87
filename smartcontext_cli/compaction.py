"""Schema-driven compaction: an old session log becomes a typed digest plus long-term memories.

Events older than the last ``preserve_recent`` are read into a ``Digest`` (the schema): counts by
role, decisions, facts and preferences (sentences kept verbatim), errors with the fix found after
them, and tool runs merged by command with their outcomes ("pytest -q: 15 runs, 13 passed").
Acknowledgements and repeats are folded into counts. The digest is rendered as one summary item
per section; decisions, facts, preferences, resolved errors and recurring patterns also go to
long-term memory, skipped when an equal memory already exists.

Guarantees: the recent events stay verbatim; nothing is deleted (the raw log is archived behind
a view, see ``branching``; ``undo`` restores it and removes the memories it added); compacting
a compacted log merges the old digest instead of summarising a summary. Deterministic, offline,
linear in the number of events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .compression import (
    DUP_RATIO,
    REPEAT_MARK,
    TOOL_ROLES,
    is_acknowledgement,
    near_duplicate,
    normalise,
)
from .errors import NotFoundError, UsageError
from .models import Memory, SessionItem

if TYPE_CHECKING:
    from .session import SessionMixin, SessionReport

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(\[])|\n+")
DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|decided to|decision:|let's (?:go with|use|stick with)|"
    r"we(?:'ll| will) (?:go with|stick with)|we're going with|agreed (?:to|on)|settled on|"
    r"we chose|chose to)\b",
    re.I,
)
PREFERENCE = re.compile(
    r"\b(?:i|we) (?:prefer|always|never|don't like|do not like)\b|\bplease (?:always|never)\b", re.I
)
RESOLUTION = re.compile(
    r"\b(?:fixed|fix was|resolved|solved|the (?:cause|problem|issue) was|root cause|turned out|"
    r"workaround)\b",
    re.I,
)
# Narration of the assistant's own actions: recoverable from the archived diffs and runs.
NARRATION = re.compile(
    r"^(?:i'll|i will|i'm going to|let me|i've|i went|i ran|i also|looking at|now,? |next,? |"
    r"first,? |then |done|pushed|finished|that's in|see you|good morning|morning|hi\b|hey\b)",
    re.I,
)
# What makes a sentence a fact worth keeping: a date, a number with a unit, a port or version,
# a path or file name, a URL or e-mail address, or a proper name. Split by the character each
# needs, so the common sentence without any of them costs a few substring checks.
NUMERIC = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|\b\d{4}-\d\d-\d\d\b"
    # a quantity: a number and what it counts ("120 requests", "45000 orders", "30%", "2 GB")
    r"|\b\d[\d,.]*\s*(?:%|[a-z]{2,}\b)|\bport \d+|\bv?\d+\.\d+(?:\.\d+)?\b",
    re.I,
)
PATHLIKE = re.compile(
    r"(?<![\w/])/[\w.-]+/[\w./-]+|\b[\w-]+\.(?:ya?ml|json|toml|ini|cfg|env|sql|py|md)\b"
)
ADDRESS = re.compile(r"https?://\S+|\b[\w.+-]+@[\w-]+\.\w+")
WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)
DIGIT = re.compile(r"\d")
PATHLIKE_ARG = re.compile(r"/|\.(?:py|js|ts|go|rs|rb|java|c|h|cpp|json|ya?ml|toml|md|txt|sql|sh)$")
# A proper name inside a sentence (France, Priya Raman, ClickHouse, Auth0): the first word of a
# sentence is capitalised anyway, so only later words count.
NAME = re.compile(r"(?:(?<=\w )|(?<=\w[,:;] ))[A-Z][a-z]+(?:[A-Z0-9][A-Za-z0-9]*)?\b")
# Statements of who owns, runs or provides what: durable facts that carry no number or name.
RELATION = re.compile(
    r"\b(?:owned|maintained|run|managed|operated|hosted|provided|approved|reviewed) by\b"
    r"|\b(?:owns|maintains|is responsible for|in charge of|depends on|runs on|is hosted on|"
    r"is deployed (?:to|on)|belongs to|is our (?:only|main|primary|preferred))\b",
    re.I,
)
LEAD_IN = re.compile(
    r"^(?:(?:oh|ah|also|and|so|btw|by the way|anyway|fyi|note|side note[^,:]*|hello|hi|hey)"
    r"[,:]?\s+)+",
    re.I,
)
ERROR_LINE = re.compile(
    r"^(?:E\s+)?[A-Za-z_][\w.]*(?:Error|Exception|Warning)\b.*$|^E\s+.+$"
    r"|^(?:fatal|error): .+$",
    re.M,
)
FAILED = re.compile(
    r"\b[1-9]\d* (?:failed|errors?)\b|\bFAILED\b|\bexit (?:code|status) [1-9]"
    r"|^(?:fatal|error): ",
    re.M,
)
# Substrings each pattern needs: checking them first skips the regex for most text (the speed
# target is 10,000 events in a second).
FAIL_HINTS = ("failed", "FAILED", "exit code", "exit status", "fatal:", "error:")
DECISION_HINTS = ("decid", "let's", "we'll", "we will", "going with", "agreed", "settled", "chose")
PREFERENCE_HINTS = ("prefer", "always", "never", "don't like", "do not like")
OUTCOME = re.compile(
    r"\b(?:passed|failed|errors?|warnings?|ok|done|success(?:ful)?|finished|exit(?:ed)?|"
    r"\d+ (?:files?|tests?|items?|rows?|changed))\b",
    re.I,
)
RESOLUTION_WINDOW = 8
MAX_SENTENCE = 400


def text_key(text: str) -> str:
    """What two texts must share to be the same: words, case and punctuation aside; text made
    of punctuation only ("/" and "//") is its own key."""
    return normalise(text) or text


def sentences(text: str) -> list[str]:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # code is archived, not a sentence
    return [s.strip() for s in SENTENCE.split(text) if s and s.strip()]


def clean_sentence(text: str) -> str:
    """Drop discourse lead-ins ("Oh, and before I forget:") so the fact reads on its own."""
    head, sep, rest = text.partition(": ")
    if sep and len(head.split()) <= 6 and len(rest) > 12:
        text = rest
    text = LEAD_IN.sub("", text).strip()
    text = re.sub(r"\s+(?:anyway|anyhow)[.!]?$", "", text, flags=re.I)
    if len(text) > MAX_SENTENCE:
        text = text[: MAX_SENTENCE - 1] + "…"
    return text[:1].upper() + text[1:]


def is_fact(sentence: str) -> bool:
    if len(sentence) < 12 or sentence.endswith("?") or NARRATION.match(sentence):
        return False
    return bool(
        (DIGIT.search(sentence) and NUMERIC.search(sentence))
        or (("/" in sentence or "." in sentence) and PATHLIKE.search(sentence))
        or (("://" in sentence or "@" in sentence) and ADDRESS.search(sentence))
        or ("day" in sentence and WEEKDAY.search(sentence))
        or NAME.search(sentence)
        or RELATION.search(sentence)
    )


def error_line(text: str) -> str | None:
    lines = ERROR_LINE.findall(text)
    return lines[-1].strip()[:MAX_SENTENCE] if lines else None


@dataclass
class Insight:
    kind: str
    text: str
    count: int = 1


@dataclass
class Digest:
    """The schema an old log is compacted into; merges with earlier digests."""

    events: int = 0
    first_at: str = ""
    last_at: str = ""
    roles: dict[str, int] = field(default_factory=dict)
    acks: int = 0
    repeats: int = 0
    decisions: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    preferences: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    # building ----------------------------------------------------------------------------

    def _span(self, item: SessionItem, count: int = 1) -> None:
        self.events += count
        self.roles[item.role] = self.roles.get(item.role, 0) + count
        if item.created_at and (not self.first_at or item.created_at < self.first_at):
            self.first_at = item.created_at
        self.last_at = max(self.last_at, item.created_at)

    @staticmethod
    def _add(target: list[str], text: str, index: dict[str, int]) -> bool:
        key = text_key(text)
        if key in index:
            return False
        # Why a window: comparing each sentence with every earlier one is quadratic; repeats of
        # a fact cluster in time, and exact repeats anywhere are caught by the index above.
        from rapidfuzz import fuzz, process

        best = process.extractOne(text, target[-50:], scorer=fuzz.ratio, score_cutoff=DUP_RATIO)
        if best is not None and near_duplicate(best[0], text):
            return False
        index[key] = len(target)
        target.append(text)
        return True

    def add_error(self, text: str) -> dict[str, Any]:
        key = re.sub(r"\d+", "#", normalise(text))
        for err in self.errors:
            if err["key"] == key:
                err["count"] += 1
                return err
        err = {"key": key, "text": text, "count": 1, "resolution": None}
        self.errors.append(err)
        return err

    def add_tool(self, item: SessionItem, text: str) -> str | None:
        """Count a tool run under its command; returns what failed (a line), or None."""
        lines = text.strip().splitlines() or [""]
        command = str(item.meta.get("command") or lines[0]).removeprefix("$ ").strip()
        # Runs of one command on different files are one kind of run: "pytest -q", not 40 rows.
        words = command.split()
        cut = next((n for n, w in enumerate(words) if n and PATHLIKE_ARG.search(w)), len(words))
        label = " ".join(words[:cut])[:100]
        # A command's outcome is printed at its end; a traceback anywhere means it failed.
        tail = text[-2000:]
        failure = None
        if "Traceback" in text:
            failure = lines[-1].strip()
        elif any(w in tail for w in FAIL_HINTS):
            match = FAILED.search(tail)
            if match:
                start = tail.rfind("\n", 0, match.start()) + 1
                end = tail.find("\n", match.end())
                failure = tail[start : end if end >= 0 else None].strip(" =")
        run = self.tools.setdefault(label, {"count": 0, "failed": 0, "last": ""})
        repeats = int(item.meta.get("repeats", 1))
        run["count"] += repeats
        run["failed"] += repeats if failure is not None else 0
        # The last line is worth keeping only when it reports an outcome (not a line of a diff).
        last = lines[-1].strip(" =")[:160]
        run["last"] = last if OUTCOME.search(last) else ""
        return None if failure is None else f"{label}: {failure}"[:MAX_SENTENCE]

    def merge(self, other: Digest) -> None:
        self.events += other.events
        self.acks += other.acks
        self.repeats += other.repeats
        for role, n in other.roles.items():
            self.roles[role] = self.roles.get(role, 0) + n
        if other.first_at and (not self.first_at or other.first_at < self.first_at):
            self.first_at = other.first_at
        self.last_at = max(self.last_at, other.last_at)
        for mine, theirs in (
            (self.decisions, other.decisions),
            (self.facts, other.facts),
            (self.preferences, other.preferences),
            (self.notes, other.notes),
        ):
            index = {text_key(t): i for i, t in enumerate(mine)}
            for text in theirs:
                self._add(mine, text, index)
        for err in other.errors:
            mine_err = self.add_error(err["text"])
            mine_err["count"] += err["count"] - 1
            mine_err["resolution"] = mine_err["resolution"] or err["resolution"]
        for label, run in other.tools.items():
            into = self.tools.setdefault(label, {"count": 0, "failed": 0, "last": run["last"]})
            into["count"] += run["count"]
            into["failed"] += run["failed"]


def build_digest(items: Sequence[SessionItem]) -> Digest:
    """Read events into a digest, one pass, linear in their number."""
    digest = Digest()
    indexes: dict[int, dict[str, int]] = {
        id(digest.decisions): {},
        id(digest.facts): {},
        id(digest.preferences): {},
        id(digest.notes): {},
    }
    open_errors: list[tuple[int, dict[str, Any]]] = []
    for position, item in enumerate(items):
        if item.role == "summary":
            if isinstance(item.meta.get("digest"), dict):
                digest.merge(Digest.from_dict(item.meta["digest"]))
            elif isinstance(item.meta.get("trim"), dict):
                digest.acks += int(item.meta["trim"].get("dropped", 0))
                digest.repeats += int(item.meta["trim"].get("merged", 0))
            elif "compaction" not in item.meta:  # a summariser's text: keep it as a note
                Digest._add(digest.notes, item.content, indexes[id(digest.notes)])
            continue
        repeats = int(item.meta.get("repeats", 1))
        digest._span(item, repeats)
        digest.repeats += repeats - 1
        if is_acknowledgement(item):
            digest.acks += 1
            continue
        text = REPEAT_MARK.sub("", item.content)
        open_errors = [(p, e) for p, e in open_errors if position - p <= RESOLUTION_WINDOW]
        if item.role == "decision":
            Digest._add(digest.decisions, text.strip()[:1000], indexes[id(digest.decisions)])
            continue
        if item.role == "error" or item.role in TOOL_ROLES:
            failure = digest.add_tool(item, text) if item.role in TOOL_ROLES else text.strip()
            if failure is None:
                continue
            line = error_line(text) or failure.splitlines()[0][:MAX_SENTENCE]
            if line:
                err = digest.add_error(line)
                if err["resolution"] is None:
                    open_errors.append((position, err))
            continue
        for sentence in sentences(text):
            target = None
            low = sentence.lower()
            if any(h in low for h in DECISION_HINTS) and DECISION.search(sentence):
                target = digest.decisions
            elif any(h in low for h in PREFERENCE_HINTS) and PREFERENCE.search(sentence):
                target = digest.preferences
            elif open_errors and RESOLUTION.search(sentence):
                open_errors.pop()[1]["resolution"] = clean_sentence(sentence)
                continue
            elif is_fact(sentence):
                target = digest.facts
            if target is not None:
                Digest._add(target, clean_sentence(sentence), indexes[id(target)])
    return digest


def render(digest: Digest, preserved: int) -> list[tuple[str, str]]:
    """(section, text) pairs, one per non-empty section, in a fixed order."""
    roles = ", ".join(
        f"{n} {role}" for role, n in sorted(digest.roles.items(), key=lambda x: -x[1])
    )
    span = f" from {digest.first_at[:16]} to {digest.last_at[:16]}" if digest.first_at else ""
    out = [
        (
            "overview",
            f"[Compacted {digest.events} earlier events{span} ({roles or 'none'}); "
            f"{digest.acks} acknowledgements and {digest.repeats} repeats folded into counts; "
            f"the {preserved} most recent events follow verbatim. Originals are archived: "
            "smartcontext session show --raw; smartcontext compact --undo]",
        )
    ]
    if digest.decisions:
        out.append(("decisions", "Decisions:\n" + "\n".join(f"- {d}" for d in digest.decisions)))
    if digest.errors:
        resolved = sum(1 for e in digest.errors if e["resolution"])
        lines = [f"Errors ({len(digest.errors)}, {resolved} resolved):"]
        for e in digest.errors:
            times = f" (×{e['count']})" if e["count"] > 1 else ""
            fix = f" -> fix: {e['resolution']}" if e["resolution"] else " (unresolved)"
            lines.append(f"- {e['text']}{times}{fix}")
        out.append(("errors", "\n".join(lines)))
    if digest.facts or digest.notes:
        body = [f"- {f}" for f in digest.facts] + [f"- (summary) {n}" for n in digest.notes]
        out.append(("facts", "Facts:\n" + "\n".join(body)))
    if digest.preferences:
        out.append(
            ("preferences", "Preferences:\n" + "\n".join(f"- {p}" for p in digest.preferences))
        )
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


def insights(digest: Digest) -> list[Insight]:
    """What deserves long-term memory: decisions, preferences, facts, fixes, recurring patterns."""
    found = [Insight("decision", d) for d in digest.decisions]
    found += [Insight("preference", p) for p in digest.preferences]
    found += [Insight("fact", f) for f in digest.facts]
    for e in digest.errors:
        if e["resolution"]:
            found.append(Insight("error", f"{e['text']} -> fix: {e['resolution']}", e["count"]))
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


def same_text(existing: str, new: str) -> bool:
    """True when ``existing`` already says ``new`` (equal, contains it, or a near-duplicate)."""
    a, b = text_key(existing), text_key(new)
    return a == b or (len(b) > 20 and b in a) or near_duplicate(a, b)


# Orchestration over a store (the session mixin's methods delegate here) --------------------

IMPORTANCE = {"decision": 0.7, "preference": 0.6, "error": 0.6, "pattern": 0.5, "fact": 0.5}


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
    for insight in found:
        key = text_key(insight.text)
        terms = distinctive_terms(insight.text)
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


def compact(
    store: SessionMixin,
    preserve_recent: int,
    extract_insights: bool,
    dry_run: bool,
    max_items: int | None = None,
    backup: bool = False,
) -> SessionReport:
    from .session import SessionReport

    if (
        isinstance(preserve_recent, bool)
        or not isinstance(preserve_recent, int)
        or preserve_recent < 0
    ):
        raise UsageError("preserve_recent must be a whole number, zero or more")
    ops, branch = store._ops(), store._branch()
    view_items, raw = ops.visible(branch)
    keep = min(preserve_recent, len(raw))
    older_raw, recent = raw[: len(raw) - keep], raw[len(raw) - keep :]
    older = view_items + older_raw
    # A trimmed (not yet compacted) view is still worth compacting even with no new events.
    if not older_raw and all("compaction" in i.meta for i in view_items):
        return SessionReport(
            action="compact",
            branch=branch.name,
            dry_run=dry_run,
            events_before=len(older) + keep,
            events_after=len(older) + keep,
            preserved=keep,
            notice=f"nothing to compact: no events are older than the last {preserve_recent}",
        )
    digest = build_digest(older)
    room = None if max_items is None else max(1, max_items - keep)
    new_items = digest_items(digest, keep, branch.name, room)
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
            tokens_before=store._tokens(older + recent),
            tokens_after=store._tokens(new_items) + store._tokens(recent),
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


def undo(store: SessionMixin) -> SessionReport:
    from .session import SessionReport

    ops, branch = store._ops(), store._branch()
    view = ops.view(branch.view)
    if view is None or view.branch != branch.id:
        raise NotFoundError(
            f"nothing to undo on branch {branch.name!r}: "
            "no compaction, trim or session end of its own"
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
