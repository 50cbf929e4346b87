"""Plain data: what the store keeps, with lossless dict round-trips for export and import.

No behaviour lives here beyond (de)serialisation; the domain modules own the rules.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .clock import now
from .errors import UsageError
from .ids import new_id

KIND_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
STANDARD_KINDS = ("fact", "decision", "preference", "note", "insight", "pattern", "error")


def validate_kind(kind: str) -> str:
    if not KIND_RE.fullmatch(kind):
        raise UsageError(f"invalid kind {kind!r}: use a lower-case word such as fact or decision")
    return kind


def validate_importance(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"importance must be between 0 and 1, got {value}")
    return float(value)


def normalise_tags(tags: list[str] | tuple[str, ...] | None) -> list[str]:
    """Tags are trimmed, lower-cased, de-duplicated and kept in first-seen order."""
    out: list[str] = []
    for tag in tags or ():
        clean = tag.strip().lower()
        if not clean:
            raise UsageError("a tag cannot be empty")
        if len(clean) > 64 or any(ch in clean for ch in ",\n\r\t"):
            raise UsageError(f"invalid tag {tag!r}: at most 64 characters, no commas or newlines")
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
        data = asdict(self)
        del data["score"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Memory:
        known = {k: data[k] for k in MEMORY_FIELDS if k in data}
        if "content" not in known or not isinstance(known["content"], str):
            raise UsageError("a memory record needs a text 'content' field")
        known["tags"] = list(known.get("tags") or [])
        return cls(**known)


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
        fields = ("role", "content", "seq", "branch", "created_at", "meta", "token_count")
        return cls(**{k: data[k] for k in fields if k in data})
