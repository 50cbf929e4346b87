"""Plain data: what the store keeps, with lossless dict round-trips for export and import.

No behaviour lives here beyond (de)serialisation; the domain modules own the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from .clock import now, parse
from .errors import UsageError
from .ids import new_id

KIND_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
STANDARD_KINDS = ("fact", "decision", "preference", "note", "insight", "pattern", "error")


def validate_kind(kind: str) -> str:
    if not KIND_RE.fullmatch(kind):
        raise UsageError(f"invalid kind {kind!r}: use a lower-case word such as fact or decision")
    return kind


def validate_importance(value: float) -> float:
    # Why the type check: an imported "importance": "high" would otherwise be stored as text
    # and break every later search that ranks by it.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise UsageError(f"importance must be a number between 0 and 1, got {value!r}")
    return float(value)


_BAD_TAG_CHAR = re.compile("[,\n\r\t\x00]")


def is_utf8(text: str) -> bool:
    """False for text holding lone surrogates (undecodable bytes from argv or a file name)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def normalise_tags(tags: str | Sequence[str] | None) -> list[str]:
    """Tags are trimmed, lower-cased, de-duplicated and kept in first-seen order."""
    if isinstance(tags, str):
        # ``tags="auth"`` means one tag, not the four tags a, u, t, h.
        tags = [tags]
    out: list[str] = []
    for tag in tags or ():
        if not isinstance(tag, str):
            raise UsageError(f"a tag must be text, got {tag!r}")
        clean = tag.strip().lower()
        if not clean:
            raise UsageError("a tag cannot be empty")
        if len(clean) > 64 or _BAD_TAG_CHAR.search(clean):
            raise UsageError(f"invalid tag {tag!r}: at most 64 characters, no commas or newlines")
        if not is_utf8(clean):
            raise UsageError(f"invalid tag {tag!r}: not valid UTF-8 text")
        if clean not in out:
            out.append(clean)
    return out


@dataclass
class Memory:
    """A long-term fact, decision, preference or note."""

    content: str
    id: str = field(default_factory=new_id)
    tags: list[str] = field(default_factory=list)
    kind: str = "note"
    source: str = "user"
    importance: float = 0.5
    created_at: str = field(default_factory=now)
    updated_at: str = ""
    token_count: int | None = None
    token_encoding: str | None = None
    # Set by search; never persisted.
    score: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at

    def to_dict(self) -> dict[str, Any]:
        """The stored fields in declaration order, sharing nothing mutable with ``self``."""
        tags = self.tags
        if type(tags) is not list or not all(type(t) is str for t in tags):
            data = asdict(self)  # something unusual in tags: the generic deep copy
            del data["score"]
            return data
        # Why not ``asdict`` always: its recursive deep copy was a third of a migration's CPU
        # (every record is exported twice and the copy once); the fields are str, numbers,
        # None and a list of str, so copying the list is the whole deep copy.
        return {
            "content": self.content,
            "id": self.id,
            "tags": list(tags),
            "kind": self.kind,
            "source": self.source,
            "importance": self.importance,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "token_count": self.token_count,
            "token_encoding": self.token_encoding,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Memory:
        """A memory from untrusted data (an import, a JSON store file), every field type-checked.

        Why: whatever passes here is stored and later ranked, rendered, exported and migrated;
        a wrong type would surface far away as an internal error. Content rules (not empty, no
        NUL) belong to ``MemoryStore.remember``; this only guards what every layer relies on.
        """
        known = {k: data[k] for k in MEMORY_FIELDS if k in data}
        if not isinstance(known.get("content"), str):
            raise UsageError("a memory record needs a text 'content' field")
        if "id" in known and not (isinstance(known["id"], str) and ID_RE.fullmatch(known["id"])):
            raise UsageError(
                f"invalid memory id {known['id']!r}: use 1-128 letters, digits, '.', '_' or '-'"
            )
        tags = known.get("tags", [])
        if not isinstance(tags, list):
            raise UsageError(f"a memory's tags must be a list, got {tags!r}")
        known["tags"] = normalise_tags(tags)
        if "kind" in known:
            validate_kind(_text_field("kind", known["kind"]))
        if "importance" in known:
            known["importance"] = validate_importance(known["importance"])
        if "source" in known:
            _text_field("source", known["source"])
        if known.get("token_encoding") is not None:
            _text_field("token_encoding", known["token_encoding"])
        count = known.get("token_count")
        if count is not None and (type(count) is not int or count < 0):
            raise UsageError(f"a memory's token_count must be a whole number, got {count!r}")
        for key in ("created_at", "updated_at"):
            if key in known:
                _check_time(key, known[key])
        return cls(**known)


# Ours are 32 hex digits; imports may carry others, but only names that are safe as a file
# name, so a namespace can always be migrated to the JSON backend (one file per memory).
ID_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def _text_field(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise UsageError(f"a memory's {key} must be text, got {value!r}")
    return value


def _check_time(key: str, value: Any) -> None:
    if not isinstance(value, str):
        raise UsageError(f"a memory's {key} must be an ISO 8601 time, got {value!r}")
    try:
        stamp = parse(value)
    except ValueError:
        raise UsageError(f"a memory's {key} must be an ISO 8601 time, got {value!r}") from None
    if stamp.tzinfo is None:
        # Naive and aware times cannot be compared; ranking by recency would fail later.
        raise UsageError(f"a memory's {key} needs a time zone, got {value!r}")


MEMORY_FIELDS = (
    "id",
    "content",
    "tags",
    "kind",
    "source",
    "importance",
    "created_at",
    "updated_at",
    "token_count",
    "token_encoding",
)


@dataclass
class Artifact:
    """Large content stored once and referenced by a short id such as ``#a1``."""

    id: str
    name: str
    content: str
    created_at: str = field(default_factory=now)
    token_count: int | None = None
    token_encoding: str | None = None

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Artifact:
        return cls(**{k: data[k] for k in ARTIFACT_FIELDS if k in data})


ARTIFACT_FIELDS = ("id", "name", "content", "created_at", "token_count", "token_encoding")


@dataclass
class SessionItem:
    """One event of the session log (a turn, a tool result, an observation, a decision...)."""

    role: str
    content: str
    seq: int = 0
    branch: str = "main"
    created_at: str = field(default_factory=now)
    meta: dict[str, Any] = field(default_factory=dict)
    token_count: int | None = None

    @property
    def key(self) -> str:
        return f"{self.seq:012d}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionItem:
        try:  # the stored fields exactly, as nearly every event holds (compaction reads 10,000)
            return cls(**data)
        except TypeError:  # a field of a newer version: ignored
            fields = ("role", "content", "seq", "branch", "created_at", "meta", "token_count")
            return cls(**{k: data[k] for k in fields if k in data})


R = TypeVar("R", bound="NumberedRecord")


class NumberedRecord:
    """A dataclass stored as one document keyed by its zero-padded integer id (tasks, errors).

    Unknown keys are ignored on read, so a newer version's extra fields never break an older one.
    """

    id: int

    @property
    def key(self) -> str:
        return f"{self.id:08d}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = asdict(self)  # type: ignore[call-overload]
        return data

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})
