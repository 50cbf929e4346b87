"""Identifiers for stored items.

Why random: the earlier design derived ids from a short hash of the content, so two memories with
the same text collided and one silently replaced the other. Ours are 128 random bits (uuid4) in
hex; people type a unique prefix of at least four characters, as with git.
"""

from __future__ import annotations

SHORT_ID_LENGTH = 8
MIN_PREFIX_LENGTH = 4


def new_id() -> str:
    # Why imported here: uuid pulls in platform (~2 ms) and only writes need an id.
    import uuid

    return uuid.uuid4().hex


def short(item_id: str) -> str:
    return item_id[:SHORT_ID_LENGTH]


def is_id_prefix(text: str) -> bool:
    return MIN_PREFIX_LENGTH <= len(text) <= 32 and all(c in "0123456789abcdef" for c in text)
