"""Timestamps: timezone-aware UTC, serialised as ISO 8601 with microseconds.

One function so tests and stores agree on the format; the text form sorts chronologically.
"""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
