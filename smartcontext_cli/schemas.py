"""The shape of every document the code reads, checked in one place.

Why: documents are plain JSON, written by us, by ``import`` and by people editing JSON files by
hand. A document without the field the code reads used to surface far away as ``KeyError:
'text'`` or ``TypeError: SessionItem.__init__()``. The same table now guards three doors:
``import`` refuses a record that does not fit (naming its line), every read of a stored one
(``storage.guard``) names the damaged file or record, and ``doctor`` lists them all.

Rules are written against what the readers need (required fields, their types, the key
format), not against everything a writer happens to put: unknown extra fields are allowed,
except where the reader would choke on them (views are built with ``View(**data)``).
Collections not listed here (a library user's own) may hold any JSON object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _count(v: Any) -> bool:
    return _int(v) and v >= 0


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _dict(v: Any) -> bool:
    return isinstance(v, dict)


def _opt(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _list_of(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def _one_of(*choices: str) -> Check:
    return lambda v: v in choices


def _dict_of(check: Check) -> Check:
    return lambda v: isinstance(v, dict) and all(check(x) for x in v.values())


ROLE = re.compile(r"[a-z][a-z0-9_.-]{0,31}")

# field -> (check, required)
Fields = dict[str, tuple[Check, bool]]

SESSION_ITEM: Fields = {
    "role": (lambda v: isinstance(v, str) and ROLE.fullmatch(v) is not None, True),
    "content": (_str, True),
    "seq": (_count, False),
    "branch": (_str, False),
    "created_at": (_str, False),
    "meta": (_dict, False),
    "token_count": (_opt(_count), False),
}
STRATEGY_ENTRY: Fields = {
    "kind": (_one_of("heuristic", "pattern", "success", "failure"), True),
    "text": (_str, True),
    "hits": (_count, True),
    "source": (_str, True),
    "version": (_int, True),
    "last_version": (_int, False),
    "at": (_str, False),
}
DECISION: Fields = {"outcome": (_str, True), "item": (_str, True), "reason": (_str, True)}
SETTINGS: Fields = {
    "max_session_turns": (_int, False),
    "compression_strategy": (_str, False),
    "summarizer": (_opt(_str), False),
    "summarizer_timeout": (_opt(_num), False),
}


def _fits(data: dict[str, Any], fields: Fields, closed: bool) -> bool:
    """Whether ``data`` has every required field, each present one of its type (and, when
    ``closed``, no other): the answer for almost every document, found without building a
    message (a compaction reads 10,000 events through this)."""
    for name, (check, required) in fields.items():
        if name in data:
            if not check(data[name]):
                return False
        elif required:
            return False
    return not closed or all(name in fields for name in data)


def _problems(data: Any, fields: Fields, closed: bool = False) -> list[str]:
    if not isinstance(data, dict):
        return ["it is not a JSON object"]
    if _fits(data, fields, closed):
        return []
    out = [f"'{name}' is missing" for name, (_, req) in fields.items() if req and name not in data]
    out += [
        f"'{name}' has the wrong type or value ({data[name]!r:.40})"
        for name, (check, _) in fields.items()
        if name in data and not check(data[name])
    ]
    if closed:
        out += [f"unknown field '{name}'" for name in data if name not in fields]
    return out


def _block(b: Any) -> bool:
    return isinstance(b, list) and len(b) == 2 and _str(b[0]) and _int(b[1])


def _records(fields: Fields, closed: bool = False) -> Check:
    return lambda v: isinstance(v, list) and all(not _problems(x, fields, closed) for x in v)


def _numbered(digits: int) -> re.Pattern[str]:
    # Keys are numbers zero-padded to ``digits`` (``f"{n:08d}"``): past 10^digits they are
    # longer, and still the record's own key (up to 19 digits: 2^63-1, the counters' limit).
    return re.compile(rf"\d{{{digits},19}}")


# collection -> (key pattern or None, fields, id field that must equal int(key), closed)
Rule = tuple[re.Pattern[str] | None, Fields, str | None, bool]

RULES: dict[str, Rule] = {
    "artifacts": (
        re.compile(r"a[1-9]\d*"),
        {
            "id": (_str, True),
            "name": (_str, True),
            "content": (_str, True),
            "created_at": (_str, False),
            "token_count": (_opt(_count), False),
            "token_encoding": (_opt(_str), False),
        },
        None,
        False,
    ),
    "tasks": (
        _numbered(8),
        {
            "id": (_count, True),
            "text": (_str, True),
            "status": (_one_of("pending", "in_progress", "blocked", "done", "skipped"), False),
            "parent": (_opt(_count), False),
            "created_at": (_str, False),
            "updated_at": (_str, False),
            "note": (_str, False),
        },
        "id",
        False,
    ),
    "errors": (
        _numbered(8),
        {
            "id": (_count, True),
            "action": (_str, True),
            "error": (_str, True),
            "context": (_str, False),
            "count": (_count, False),
            "actions": (_list_of(_str), False),
            "first_seen": (_str, False),
            "last_seen": (_str, False),
            "resolved": (_bool, False),
            "resolution": (_str, False),
            "resolved_at": (_str, False),
            "recurrence_of": (_opt(_count), False),
            "signature": (_str, False),
        },
        "id",
        False,
    ),
    "branches": (
        _numbered(6),
        {
            "name": (_str, True),
            "id": (_count, True),
            "parent": (_opt(_count), False),
            "fork_seq": (_count, False),
            "description": (_str, False),
            "created_at": (_str, False),
            "view": (_opt(_count), False),
            "merged_upto": (_count, False),
        },
        "id",
        False,
    ),
    "session_views": (
        _numbered(8),
        {
            "id": (_count, True),
            "branch": (_count, True),
            "kind": (_str, True),
            "upto": (_count, True),
            "items": (_records(SESSION_ITEM), True),
            "previous": (_opt(_count), False),
            "created_at": (_str, False),
            "info": (
                lambda v: isinstance(v, dict) and _list_of(_str)(v.get("memories", [])),
                False,
            ),
        },
        "id",
        True,  # View.from_dict passes every field to the constructor
    ),
    "strategy_history": (
        _numbered(8),
        {"version": (_int, True), "kind": (_str, True), "text": (_str, True), "at": (_str, False)},
        None,
        False,
    ),
    "compilations": (
        _numbered(8),
        {
            "id": (_count, True),
            "quality": (_num, False),
            "blocks": (_list_of(_block), False),
            "decisions": (_records(DECISION), False),
            "policy": (
                lambda v: isinstance(v, dict) and _opt(_dict_of(_num))(v.get("allocation")),
                False,
            ),
            "branch": (_opt(_str), False),
            "cache_break": (_opt(_str), False),
        },
        "id",
        False,
    ),
    # git_memory: a recorded commit, keyed by its full hash (SHA-1 or SHA-256)
    "git_commits": (
        re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}"),
        {
            "short": (_str, False),
            "subject": (_str, False),
            "merge": (_bool, False),
            "memories": (_list_of(_str), True),
            "recorded_at": (_str, False),
        },
        None,
        False,
    ),
}

# Collections whose documents have fixed keys: (collection, key) -> fields.
NAMED: dict[tuple[str, str], Fields] = {
    ("working", "goal"): {"text": (_str, True), "updated_at": (_str, False)},
    ("agent", "prefix"): {"text": (_str, True), "updated_at": (_str, False)},
    ("agent", "cache_break"): {"reasons": (_list_of(_str), True), "marked_at": (_str, False)},
    ("session_state", "state"): {"current": (_str, True), "follow_git": (_bool, False)},
    ("session_state", "settings"): SETTINGS,
    ("compiler", "mode"): {"mode": (_str, True), "updated_at": (_str, False)},
    ("compiler", "windows"): {},  # branch -> window start, checked below
    ("strategy", "current"): {
        "domain": (_str, True),
        "version": (_int, True),
        "created_at": (_str, True),
        "template": (_opt(_str), False),
        "entries": (_records(STRATEGY_ENTRY), False),
        "updated_at": (_opt(_str), False),
    },
}
SESSION = re.compile(r"session(?:-[1-9]\d*)?")
SESSION_KEY = _numbered(12)


def _session_fits(key: str, d: dict[str, Any]) -> bool:
    """``SESSION_ITEM``'s rules for one event, spelled out: a compaction checks 10,000 events
    as it reads them, and this is several times faster than the general loop. JSON holds no
    subclasses, so ``type(...) is`` says what ``isinstance`` would (and keeps bools out)."""
    role, content, seq = d.get("role"), d.get("content"), d.get("seq")
    count = d.get("token_count")
    return (
        type(role) is str
        and ROLE.fullmatch(role) is not None
        and type(content) is str
        and ((seq is None and "seq" not in d) or (type(seq) is int and seq == int(key)))
        and type(d.get("branch", "")) is str
        and type(d.get("created_at", "")) is str
        and type(d.get("meta", {})) is dict
        and (count is None or (type(count) is int and count >= 0))
    )


def problems(collection: str, key: str, data: Any) -> list[str]:
    """Why ``data`` cannot be the document ``collection/key``; empty when it fits."""
    if not isinstance(data, dict):
        return ["it is not a JSON object"]
    if SESSION.fullmatch(collection):
        if SESSION_KEY.fullmatch(key) and _session_fits(key, data):
            return []
        if not SESSION_KEY.fullmatch(key):
            return [f"key {key!r} is not a 12-digit sequence number"]
        found = _problems(data, SESSION_ITEM)
        if not found and data.get("seq", int(key)) != int(key):
            found.append(f"'seq' ({data['seq']}) differs from its key")
        return found
    fields = NAMED.get((collection, key))
    if fields is not None:
        found = _problems(data, fields)
        if (collection, key) == ("compiler", "windows") and not all(
            isinstance(k, str) and (v is None or _count(v)) for k, v in data.items()
        ):
            found.append("a window start is not a whole number")
        return found
    if collection == "compiler" and key.startswith("counts-"):
        return _problems(data, {"counts": (_dict_of(_count), True)})
    rule = RULES.get(collection)
    if rule is None:
        return []
    pattern, fields, id_field, closed = rule
    if pattern is not None and not pattern.fullmatch(key):
        return [f"key {key!r} is not a valid {collection} key"]
    found = _problems(data, fields, closed)
    if not found and id_field and data[id_field] != int(key):
        found.append(f"'{id_field}' ({data[id_field]}) differs from its key")
    if not found and collection == "artifacts" and data["id"] != key:
        found.append(f"'id' ({data['id']!r}) differs from its key")
    return found


def known(collection: str) -> bool:
    """Whether the code reads this collection (and ``problems`` knows its shape)."""
    return (
        collection in RULES
        or SESSION.fullmatch(collection) is not None
        or any(c == collection for c, _ in NAMED)
        or collection == "compiler"
    )
