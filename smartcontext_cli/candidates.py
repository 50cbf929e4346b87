"""Candidates: the items a compile considers, normalised and ranked.

Why it exists: inputs arrive as strings, ``ContextItem`` or the store's Memory / SessionItem /
Artifact; the packer needs one shape with a relevance (for the quality score), a rank (for
order), the block it renders to, and a slot for what became of it.

Guarantees:
- Ranking is deterministic: relevance to the query (search scores, else word overlap), recency
  measured from the newest timestamp among the inputs (never the wall clock), and importance;
  ties keep input order.
- An item renders to the same block in every text format, so its cached count serves them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import layout
from .errors import UsageError
from .tokens import CountCache, block_hash

if TYPE_CHECKING:
    from .prepare import Preparer

HALF_LIFE_DAYS = 14.0
REPRISE_MAX_CHARS = 300
GRAPH_GROUPS = 8
_FILE = re.compile(
    r"\b[\w.-]+\.(?:py|js|ts|tsx|md|json|toml|ya?ml|go|rs|java|c|h|cpp|sql|sh|txt|cfg|ini|html|css)\b"
)
_ARTIFACT_REF = re.compile(r"#a\d+\b")
_CODE = re.compile(r"`([^`\n]{2,40})`")


@dataclass
class Candidate:
    """One item that may go into the prompt, and what became of it."""

    section: str
    _body: str  # read as ``body``, which prepares the candidate first (prepare.py)
    label: str
    relevance: float = 1.0  # its weight in the quality score, within its section
    rank: float = 0.0  # ordering score (higher first); lists arrive already sorted
    lead: str = ""  # text after the bullet, e.g. "user: "
    fetch: str | None = None  # how to fetch the full text when cut
    seq: int | None = None  # session order (observations)
    cuttable: bool = True
    raw: bool = False  # a block of its own lines (the checklist), not a list entry
    min_cut: int = 0  # never cut before this position (a fenced item's title and fence)
    hint: tuple[str | None, int | None] | None = None  # stored (token_encoding, token_count)
    source: Any = None
    keys: tuple[str, ...] = ()  # context-graph keys: tags, files, artifact refs
    tokens: int | None = None
    text: str = ""
    key: str = ""
    outcome: str = "dropped"
    reason: str = "not reached: the budget was spent on better-ranked items"
    fraction: float = 0.0  # how much of it made it in (quality)
    kept: tuple[str, int] | None = None  # (block, tokens) when cut
    ident: str = ""  # what it is across compiles (frozen.py): m:<memory id>, s:<seq>, t:<hash>
    placed: str | None = None  # the section it was emitted in, when not its own
    companion: Candidate | None = None  # recalled events: the turn that makes it understandable
    variant: Candidate | None = None  # a memory's rendering as a session-stream entry
    # Set when the body is only a window of a much longer text: how its count was estimated.
    partial: str = ""
    shown: int = 0  # characters of the item's text the body holds (prepare.py)
    # Deferred preparation (prepare.py): fills body, min_cut and keys on first use; a sizer
    # counts an item whose body may be a window.
    prepare: Callable[[Candidate], None] | None = field(default=None, repr=False, compare=False)
    sizer: Callable[[Candidate, CountCache], int] | None = field(
        default=None, repr=False, compare=False
    )

    def ready(self) -> Candidate:
        """The candidate with its body, min_cut and keys filled (prepared on first use)."""
        if self.prepare is not None:
            prepare, self.prepare = self.prepare, None
            prepare(self)
        return self

    @property
    def body(self) -> str:
        """The item's text as it may appear in the prompt (prepared on first read)."""
        if self.prepare is not None:
            self.ready()
        return self._body

    @body.setter
    def body(self, value: str) -> None:
        self._body = value

    def shape(self, body: str) -> str:
        return layout.block(body) if self.raw else layout.item(body, self.lead)

    def render(self) -> str:
        if not self.text:
            self.ready()
            self.text = self.shape(self.body)
            self.key = block_hash(self.text)
        return self.text

    def count(self, counter: CountCache) -> int:
        if self.tokens is None:
            self.ready()
            if self.sizer is not None:
                self.tokens = self.sizer(self, counter)
            else:
                self.tokens = counter.count(self.render(), self.key, self.hint)
        return self.tokens

    def include(self, reason: str) -> None:
        self.outcome, self.reason, self.fraction = "included", reason, 1.0

    def reset(self) -> None:
        """Forget what a packing attempt decided (a continuation that had to re-plan)."""
        self.outcome, self.fraction, self.kept, self.placed = "dropped", 0.0, None, None
        self.reason = "not reached: the budget was spent on better-ranked items"

    def cut(self, kept: tuple[str, int], why: str) -> None:
        self.kept, self.outcome = kept, "cut"
        self.fraction = min(0.99, kept[1] / max(1, self.tokens or kept[1]))
        self.reason = f"{why} at a boundary to {kept[1]} of {self.tokens} tokens"


@dataclass
class Block:
    section: str
    text: str
    tokens: int
    key: str


@dataclass
class ContextItem:
    """A richer input than a string: relevance, timestamps, importance and a cached count."""

    text: str
    id: str | None = None
    score: float | None = None  # relevance, e.g. a search score (higher is better)
    created_at: str | None = None
    importance: float = 0.5
    tags: Sequence[str] = ()
    role: str | None = None  # session items: user, assistant, tool ...
    name: str | None = None  # artifact content: rendered fenced under this name
    seq: int | None = None
    token_count: int | None = None
    token_encoding: str | None = None
    pinned: bool = False  # given explicitly for this compile: ranked first
    fetch: str | None = None  # the command that prints the full text
    source: Any = None


def as_item(obj: Any) -> ContextItem:
    """A ContextItem from a string, a ContextItem, or a Memory / SessionItem / Artifact."""
    if isinstance(obj, ContextItem):
        return obj
    if isinstance(obj, str):
        return ContextItem(obj)
    if hasattr(obj, "role") and hasattr(obj, "seq"):  # SessionItem
        return ContextItem(
            obj.content,
            id=f"s{obj.seq}",
            created_at=obj.created_at,
            role=obj.role,
            seq=obj.seq,
            token_count=None,
            source=obj,
        )
    if hasattr(obj, "ref") and hasattr(obj, "name"):  # Artifact: its content, fenced
        return ContextItem(
            obj.content,
            id=obj.ref,
            created_at=obj.created_at,
            name=f"{obj.name} ({obj.ref})",
            fetch=f"smartcontext artifact show '{obj.ref}'",
            source=obj,
        )
    if hasattr(obj, "content") and hasattr(obj, "importance"):  # Memory
        short = str(obj.id)[:8]
        return ContextItem(
            obj.content,
            id=short,
            score=getattr(obj, "score", None) or None,
            created_at=obj.updated_at or obj.created_at,
            importance=obj.importance,
            tags=tuple(obj.tags),
            token_count=obj.token_count,
            token_encoding=obj.token_encoding,
            fetch=f"smartcontext show {short}",
            source=obj,
        )
    raise UsageError(f"cannot compile an item of type {type(obj).__name__}")


ADHOC = (
    ("memories", "memory", "--memory"),
    ("observations", "observation", "--observation"),
    ("artifacts", "artifact", "--artifact"),
    ("system", "system text", "--system"),
)


def require_text(given: dict[str, Sequence[Any]]) -> None:
    """Refuse an empty ad-hoc item (``-M ""``): it would print an empty entry. ``given`` maps
    ``memories``/``observations``/``artifacts``/``system`` to what the caller passed."""
    for key, kind, option in ADHOC:
        for value in given.get(key, ()):
            text = value.text if isinstance(value, ContextItem) else str(value)
            if not text.strip():
                name = getattr(value, "name", None)
                what = f"the artifact {name}" if name else f"an ad-hoc {kind}"
                raise UsageError(f"{what} is empty ({option}): give it some text or leave it out")


def split_lines(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [line.strip() for text in items for line in text.split("\n") if line.strip()]


def _age_days(stamp: str | None, ref: datetime | None) -> float | None:
    if not stamp or ref is None:
        return None
    try:
        return max(0.0, (ref - datetime.fromisoformat(stamp)).total_seconds() / 86400)
    except (ValueError, TypeError):
        return None


def reference_time(items: Iterable[ContextItem]) -> datetime | None:
    stamps = []
    for it in items:
        try:
            stamps.append(datetime.fromisoformat(it.created_at)) if it.created_at else None
        except (ValueError, TypeError):
            continue
    try:
        return max(stamps) if stamps else None
    except TypeError:  # naive and aware times mixed: no decay rather than a wrong one
        return None


def _lexical(query: set[str], text: str) -> float:
    from .text import terms

    if not query:
        return 0.0
    return len(query.intersection(terms(text))) / len(query)


def rank_items(
    section: str,
    items: Sequence[ContextItem],
    query: set[str],
    ref: datetime | None,
    decay: bool,
    prep: Preparer | None = None,
) -> list[Candidate]:
    """Candidates best first: relevance to the query, recency (decay) and importance.

    Relevance, the item's weight in the quality score (README, "Quality score"): 1 for every
    item when there is no query. An item the search scored: its score over the section's best.
    Any other item, those given for this compile included: the share of the query's words it
    contains, over the best such share in its section, or as it is beside search results,
    whose best is a full match. The store's standing memories (unscored) stay at 0. Given
    (pinned) items rank first whatever their relevance, but count only for what they match.
    """
    limit = prep.window if prep is not None else None
    scored = [it.score for it in items if it.score is not None and it.score > 0]
    top = max(scored, default=0.0)

    def words(it: ContextItem) -> str:
        # Why the limit: only a window of a huge text can be in the prompt (prepare.py).
        text = it.text if limit is None else it.text[:limit]
        return text + " " + (it.name or "")

    lexical = {
        i: _lexical(query, words(it))
        for i, it in enumerate(items)
        if query and (not top or (it.pinned and it.score is None))
    }
    best = 1.0 if top else max(lexical.values(), default=0.0)
    out = []
    for i, it in enumerate(items):
        if not query and not top:
            rel = 1.0
        elif top and it.score is not None:
            rel = max(0.0, min(1.0, it.score / top))
        elif i in lexical:
            rel = lexical[i] / best if best else 0.0
        else:
            rel = 0.0
        age = _age_days(it.created_at, ref) if decay else None
        recency = 0.5 ** (age / HALF_LIFE_DAYS) if age is not None else 1.0
        score = (
            (0.7 * rel + 0.2 * recency + 0.1 * it.importance)
            if decay
            else (0.85 * rel + 0.15 * it.importance)
        )
        rank = score + (1.0 if it.pinned else 0.0)
        out.append(make_candidate(section, it, rel, rank, i, prep))
    order = sorted(range(len(out)), key=lambda i: (-out[i].rank, i))
    return [out[i] for i in order]


def make_candidate(
    section: str,
    it: ContextItem,
    rel: float,
    rank: float,
    index: int,
    prep: Preparer | None = None,
) -> Candidate:
    """The candidate for ``it``; ``index`` (its input position) names it when it has no id.

    With ``prep`` its text is prepared (redacted, escaped, windowed) only when first needed.
    """
    what = {
        "memories": "memory",
        "artifacts": "artifact",
        "observations": "observation",
        "recall": "event",
    }[section]
    cand = Candidate(
        section,
        "",
        f"{what} {it.id}" if it.id else f"{what} {index + 1} (given)",
        ident=identity(it),
        relevance=rel,
        rank=round(rank, 6),
        lead=f"{prep.escape(it.role) if prep is not None else it.role}: " if it.role else "",
        fetch=prep.escape(it.fetch) if prep is not None and it.fetch else it.fetch,
        seq=it.seq,
        # Why only then: an item with a slot of its own (a stored memory, or a count given by
        # the caller) keeps its count there; the rest go to the compile's count cache.
        hint=(it.token_encoding, it.token_count)
        if it.token_count is not None or hasattr(it.source, "importance")
        else None,
        source=it.source,
    )
    if prep is None:
        fill(cand, it, it.text, it.name, list(it.tags))
    else:
        prep.defer(cand, it)
    return cand


# Context-graph keys by body, for this process (like prepare._PREPARED): three regex scans a
# text, the same texts compile after compile.
_KEYS: dict[str, frozenset[str]] = {}
KEYS_MAX = 65_536


def _keys_of(body: str) -> frozenset[str]:
    keys = _KEYS.get(body)
    if keys is None:
        keys = frozenset(_ARTIFACT_REF.findall(body)) | frozenset(_FILE.findall(body))
        keys |= frozenset(_CODE.findall(body))
        if len(_KEYS) >= KEYS_MAX:
            _KEYS.clear()
        _KEYS[body] = keys
    return keys


def fill(cand: Candidate, it: ContextItem, text: str, name: str | None, tags: list[str]) -> None:
    """Set ``cand``'s body (fenced under ``name`` for artifact content), the position before
    which it must not be cut, and its context-graph keys, from already prepared text."""
    body = layout.clean(text)
    min_cut = 0
    if name is not None:
        lang = layout.language((it.name or name).split(" (")[0])
        body, min_cut = layout.fenced(name, body, lang)
    keys = set(tags) | _keys_of(body)
    if it.id and it.id.startswith("#a"):
        keys.add(it.id)
    cand.body, cand.min_cut, cand.keys = body, min_cut, tuple(sorted(keys))
    cand.text = cand.key = ""


def recall_lead(seq: int | None, created_at: str | None, role: str | None) -> str:
    """The lead of an event shown outside the window: ``[#12 · 2026-11-30 14:02] user: ``,
    so the model can tell it is old and where it sits."""
    when = (created_at or "")[:16].replace("T", " ")
    return f"[#{seq}{' · ' + when if when else ''}] {role or 'event'}: "


def identity(it: ContextItem) -> str:
    """What an item is across compiles: a stored memory by id, an event by seq, else its text
    (as given, with its name: the prepared body may not exist yet, prepare.py)."""
    source = it.source
    if source is not None and hasattr(source, "importance") and hasattr(source, "id"):
        return f"m:{source.id}"
    if it.seq is not None:
        return f"s:{it.seq}"
    if it.id and it.id.startswith("#a"):
        return f"a:{it.id}"
    return f"t:{block_hash(f'{it.name or chr(0)}{chr(0)}{it.text}')[:24]}"


def context_graph(included: list[Candidate]) -> list[Candidate]:
    """Cross-references: included items that share a tag, a file, an artifact or a code name."""
    groups: dict[str, list[Candidate]] = {}
    for c in included:
        for key in c.ready().keys:
            groups.setdefault(key, []).append(c)
    shared = sorted(
        ((k, v) for k, v in groups.items() if len(v) > 1), key=lambda kv: (-len(kv[1]), kv[0])
    )
    links = []
    for key, members in shared[:GRAPH_GROUPS]:
        names = " · ".join(_abbrev(c.body) for c in members[:5])
        text = f"{key}: {names}"
        links.append(
            Candidate(
                "related",
                text,
                f"link {key}",
                relevance=0.0,
                cuttable=False,
                ident=f"t:{block_hash(text)[:24]}",
            )
        )
    return links


def _abbrev(text: str, words: int = 6) -> str:
    first = text.split("\n", 1)[0].split()
    return " ".join(first[:words]) + ("…" if len(first) > words or "\n" in text else "")


def task_groups(lines: Sequence[str], section_label: str) -> list[Candidate]:
    """Checklist lines grouped as a top-level task with its indented subtasks, one block each."""
    groups: list[list[str]] = []
    for line in lines:
        if groups and line[:1].isspace():
            groups[-1].append(line.rstrip())
        else:
            groups.append([line.strip()])
    # Why not raw when it starts with a joiner ("/deploy"): a raw block would start with it and
    # break the block rule (layout.py); as a list entry ("- /deploy") it starts with "-".
    return [
        Candidate(
            "focus",
            "\n".join(g),
            f"{section_label} {g[0][:40]}",
            raw=not layout.joins(g[0]),
            cuttable=False,
        )
        for g in groups
    ]
