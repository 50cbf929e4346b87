"""Error memory: failures are remembered, grouped when similar, and kept in view until resolved.

Why: an agent that forgets an error repeats the action that caused it. Keeping unresolved errors
in the prompt (and turning each resolution into a learned pattern) breaks that loop.

Guarantees:
- The full error text is stored as given; nothing is truncated on the way in.
- Similar errors (rapidfuzz on a normalised form: numbers, paths, hex and quoted names replaced by
  placeholders) are one group with an occurrence count, so a retried failure does not flood the
  prompt. Only *unresolved* groups absorb new occurrences; an error that returns after being
  resolved opens a new group that points back at the old one and its resolution.
- A rendered line keeps the error's message: when a long text must be shortened for the prompt,
  the head and the tail (where tracebacks put the message) are kept, and the middle is elided
  with a count of the lines left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .clock import now
from .errors import NotFoundError, UsageError
from .models import NumberedRecord
from .storage.base import Storage

ERRORS = "errors"
SIMILARITY = 88.0  # rapidfuzz ratio (0-100) on normalised text above which errors group
MAX_ERROR_BYTES = 1_000_000
PROMPT_CHARS = 1500  # a rendered error longer than this keeps its head and tail
HEAD_CHARS = 400

_NORMALISERS = [
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<id>",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{7,}\b"), "<hex>"),
    (
        re.compile(
            r"(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}[\\/]?|\b[\w.-]+\.(?:py|js|ts|go|rs|java|rb|c|h|cpp|json|toml|yaml|yml)\b"
        ),
        "<path>",
    ),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise(text: str) -> str:
    """The error with its incidental parts (numbers, paths, ids) replaced, for comparison."""
    out = text.strip().lower()
    for pattern, repl in _NORMALISERS:
        out = pattern.sub(repl, out)
    return out


def headline(text: str) -> str:
    """The line that carries the message: a traceback's last line, else the first error-ish line."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Traceback") or (
        len(lines) > 1 and re.match(r"^\w+(\.\w+)*(Error|Exception)\b", lines[-1])
    ):
        return lines[-1]
    for ln in lines:
        if re.search(r"error|exception|fail|fatal|panic|denied|not found", ln, re.IGNORECASE):
            return ln
    return lines[0]


def shorten_keeping_message(text: str, limit: int = PROMPT_CHARS) -> str:
    """``text`` if short enough; else its head and tail with the middle elided at line breaks."""
    text = text.strip()
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    head: list[str] = []
    for ln in lines:
        if sum(len(h) + 1 for h in head) + len(ln) > HEAD_CHARS and head:
            break
        head.append(ln)
    tail: list[str] = []
    for ln in reversed(lines[len(head) :]):
        if sum(len(t) + 1 for t in tail) + len(ln) > limit - HEAD_CHARS and tail:
            break
        tail.insert(0, ln)
    omitted = len(lines) - len(head) - len(tail)
    if omitted <= 0:  # one enormous line: keep both ends of it
        left, right = text[:HEAD_CHARS], text[-(limit - HEAD_CHARS) :]
        return f"{left} … [{len(text) - limit} characters omitted] … {right}"
    return "\n".join([*head, f"… [{omitted} lines omitted] …", *tail])


@dataclass
class ErrorGroup(NumberedRecord):
    id: int
    action: str
    error: str
    context: str = ""
    count: int = 1
    actions: list[str] = field(default_factory=list)
    first_seen: str = field(default_factory=now)
    last_seen: str = ""
    resolved: bool = False
    resolution: str = ""
    resolved_at: str = ""
    recurrence_of: int | None = None
    signature: str = ""


def _all(storage: Storage) -> list[ErrorGroup]:
    return [ErrorGroup.from_dict(d) for _, d in storage.list_docs(ERRORS)]


def get(storage: Storage, error_id: int) -> ErrorGroup:
    doc = storage.get_doc(ERRORS, f"{error_id:08d}")
    if doc is None:
        raise NotFoundError(f"no error {error_id}")
    return ErrorGroup.from_dict(doc)


def _similar(a: str, b: str) -> bool:
    from rapidfuzz import fuzz

    return a == b or fuzz.ratio(a, b) >= SIMILARITY


def log(storage: Storage, action: str, error: str, context: str = "") -> tuple[ErrorGroup, bool]:
    """Record one failure; returns its group and whether the group is new."""
    action = " ".join(action.split())
    if not action:
        raise UsageError("say which action failed (ACTION is empty)")
    if not error.strip():
        raise UsageError("the error text is empty")
    if "\x00" in error or len(error.encode("utf-8", "surrogatepass")) > MAX_ERROR_BYTES:
        raise UsageError(
            f"the error text must be text without NUL bytes, at most {MAX_ERROR_BYTES} bytes"
        )
    signature = normalise(error)
    stamp = now()
    with storage.transaction():
        groups = _all(storage)
        match = next(
            (g for g in reversed(groups) if not g.resolved and _similar(g.signature, signature)),
            None,
        )
        if match is not None:
            match.count += 1
            match.last_seen = stamp
            # The newest text is kept in full: it is the one the agent just saw.
            match.error = error.strip("\n")
            if context:
                match.context = context.strip()
            if action not in match.actions:
                match.actions.append(action)
            storage.put_doc(ERRORS, match.key, match.to_dict())
            return match, False
        earlier = next(
            (g for g in reversed(groups) if g.resolved and _similar(g.signature, signature)), None
        )
        group = ErrorGroup(
            id=storage.next_counter("error"),
            action=action,
            error=error.strip("\n"),
            context=context.strip(),
            actions=[action],
            first_seen=stamp,
            last_seen=stamp,
            recurrence_of=earlier.id if earlier else None,
            signature=signature,
        )
        storage.put_doc(ERRORS, group.key, group.to_dict())
    return group, True


def resolve(storage: Storage, error_id: int, resolution: str = "") -> ErrorGroup:
    with storage.transaction():
        group = get(storage, error_id)
        if group.resolved:
            raise UsageError(f"error {error_id} is already resolved")
        group.resolved, group.resolved_at = True, now()
        group.resolution = resolution.strip()
        storage.put_doc(ERRORS, group.key, group.to_dict())
    return group


def listing(storage: Storage, include_resolved: bool = False) -> list[ErrorGroup]:
    """Groups, most relevant first: unresolved, then most recent, then most frequent."""
    groups = [g for g in _all(storage) if include_resolved or not g.resolved]
    groups.sort(key=lambda g: (g.last_seen, g.count, g.id), reverse=True)
    groups.sort(key=lambda g: g.resolved)  # stable: keeps the recency order inside each half
    return groups


def prompt_line(group: ErrorGroup, earlier: ErrorGroup | None = None) -> str:
    times = f" (x{group.count})" if group.count > 1 else ""
    line = f"[E{group.id}] {group.action}{times}: {shorten_keeping_message(group.error)}"
    if group.context:
        line += f"\n  context: {shorten_keeping_message(group.context, 400)}"
    if earlier is not None and earlier.resolution:
        line += f"\n  seen before (E{earlier.id}), resolved by: {earlier.resolution}"
    return line


def unresolved_lines(storage: Storage) -> list[str]:
    groups = listing(storage, include_resolved=True)
    by_id = {g.id: g for g in groups}
    return [
        prompt_line(g, by_id.get(g.recurrence_of) if g.recurrence_of else None)
        for g in groups
        if not g.resolved
    ]


def learned_pattern(group: ErrorGroup) -> str:
    """The strategy pattern a resolution teaches: the failing action, its message, the fix."""
    return f'When `{group.action}` fails with "{headline(group.error)}": {group.resolution}'
