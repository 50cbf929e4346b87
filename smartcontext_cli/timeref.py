"""The times a text refers to, as index terms, so questions about a time find what happened then.

Why terms: a memory's times (the day it was written, and the dates its text names, resolved
against that day) become ordinary index terms such as ``_day_2024_03_15``, ``_week_2024_11``
and ``_month_2024_03``. Every backend indexes and ranks them like words, so no backend needs a
date column or a range query, and a question about a time ("what did we decide last week",
"in March", "on 2024-03-15") adds the matching terms to its query (``query_times``).

What is recognised (English): ISO dates (2024-03-15, 2024/03/15); month names with or without
a day and a year ("March 15", "15 March 2024", "Mar 3rd", "in March"); today, yesterday,
tomorrow; "N days/weeks/months ago"; last/this/next week, month and year; and, in questions,
weekday names ("on Monday": the latest Monday before now). Weekdays in memories are left alone:
"on Monday" in a note may be either side of the day it was written.

Terms start with ``_``, which no word can (``text.words`` never yields one), so a time term
never meets a word. Changing the term shapes needs a re-index, as any change of ``text.terms``.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta

MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ISO = r"(?P<iy>\d{4})[-/](?P<im>\d{1,2})[-/](?P<id>\d{1,2})"
_MDY = rf"(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?"
_DMY = (
    rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH})\.?(?:,?\s+(?P<y2>\d{{4}}))?"
)
_MY = rf"(?P<m3>{_MONTH})(?:\s+(?P<y3>\d{{4}}))?"
_REL = r"(?P<rel>today|tonight|yesterday|tomorrow)"
_AGO = r"(?P<n>\d+|a|an|one|two|three|four|five|six)\s+(?P<unit>day|week|month|year)s?\s+ago"
_SHIFT = r"(?P<which>last|this|next|past)\s+(?P<span>week|month|year)"
_WEEKDAY = rf"(?:(?P<wwhich>last|this|next|on)\s+)?(?P<wd>{'|'.join(WEEKDAYS)})"


# Why a month alone needs a year or a preposition ("in March", "since May"): "may" is also a
# verb, and "march" a noun.
# Compiled on first use: most texts and queries hold no date word at all (a substring check
# says so first), and compiling this alternation cost every cold ``search`` a few ms.
@functools.cache
def _pattern() -> re.Pattern[str]:
    return re.compile(
        rf"\b(?:{_ISO}|{_MDY}|{_DMY}|{_REL}|{_AGO}|{_SHIFT}|{_WEEKDAY}|{_MY})\b", re.IGNORECASE
    )


# Every word (or part of one) some alternative of the pattern needs, besides digits: a text
# holding none of them cannot match, so the pattern is not even compiled for it.
_NEEDS = (*MONTHS, *WEEKDAYS, "today", "tonight", "yesterday", "tomorrow", "ago", "week")
_NEEDS += ("month", "year")


def _could_match(text: str) -> bool:
    if any(map(str.isdigit, text)):  # map: no Python frame per character (a migration's CPU)
        return True
    folded = text.casefold()  # as re.IGNORECASE folds (the long s is an s)
    return any(word in folded for word in _NEEDS)


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def day_terms(day: date) -> list[str]:
    """A day's terms: the day, its ISO week and its month."""
    year, week, _ = day.isocalendar()
    return [
        f"_day_{day.year:04d}_{day.month:02d}_{day.day:02d}",
        f"_week_{year:04d}_{week:02d}",
        f"_month_{day.year:04d}_{day.month:02d}",
    ]


def week_terms(day: date) -> list[str]:
    year, week, _ = day.isocalendar()
    return [f"_week_{year:04d}_{week:02d}"]


def month_terms(year: int, month: int) -> list[str]:
    return [f"_month_{year:04d}_{month:02d}"]


def _months_back(day: date, n: int) -> tuple[int, int]:
    total = day.year * 12 + day.month - 1 - n
    return total // 12, total % 12 + 1


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _resolve(m: re.Match[str], anchor: date, question: bool) -> tuple[list[str], bool]:
    """The terms of one match, and whether it was a time expression at all."""
    g = m.groupdict()
    if g["iy"]:
        d = _safe_date(int(g["iy"]), int(g["im"]), int(g["id"]))
        return (day_terms(d), True) if d else ([], False)
    for mk, dk, yk in (("m1", "d1", "y1"), ("m2", "d2", "y2")):
        if g[mk]:
            month = MONTHS[g[mk].lower()]
            year = int(g[yk]) if g[yk] else anchor.year
            d = _safe_date(year, month, int(g[dk]))
            if d and not g[yk] and question and d > anchor:
                d = _safe_date(year - 1, month, int(g[dk]))  # "March 15" asked in January
            return (day_terms(d), True) if d else ([], False)
    if g["rel"]:
        shift = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[g["rel"].lower()]
        return day_terms(anchor + timedelta(days=shift)), True
    if g["unit"]:
        n = _NUMBER_WORDS.get(g["n"].lower()) or int(g["n"])
        unit = g["unit"].lower()
        if unit == "day":
            return day_terms(anchor - timedelta(days=n)), True
        if unit == "week":
            return week_terms(anchor - timedelta(weeks=n)), True
        if unit == "month":
            return month_terms(*_months_back(anchor, n)), True
        return [], False  # years ago: too coarse to favour anything
    if g["span"]:
        step = {"last": -1, "past": -1, "this": 0, "next": 1}[g["which"].lower()]
        span = g["span"].lower()
        if span == "week":
            return week_terms(anchor + timedelta(weeks=step)), True
        if span == "month":
            return month_terms(*_months_back(anchor, -step)), True
        return [], False
    if g["wd"]:
        which = (g["wwhich"] or "").lower()
        if not question and which not in ("last", "next"):
            return [], False
        target = WEEKDAYS.index(g["wd"].lower())
        if which == "next":
            ahead = (target - anchor.weekday()) % 7 or 7
            return day_terms(anchor + timedelta(days=ahead)), True
        back = (anchor.weekday() - target) % 7 or 7
        return day_terms(anchor - timedelta(days=back)), True
    if g["m3"]:
        before = text_before(m)
        if not g["y3"] and before not in _MONTH_PREPOSITIONS:
            return [], False
        month = MONTHS[g["m3"].lower()]
        year = int(g["y3"]) if g["y3"] else anchor.year
        if question and not g["y3"] and (year, month) > (anchor.year, anchor.month):
            year -= 1
        return month_terms(year, month), True
    return [], False  # pragma: no cover - every alternative is handled above


_MONTH_PREPOSITIONS = frozenset(
    [
        "in",
        "of",
        "during",
        "since",
        "until",
        "till",
        "before",
        "after",
        "from",
        "by",
        "early",
        "late",
    ]
)


def text_before(m: re.Match[str]) -> str:
    """The lower-cased word before a match (for "in March" against "may")."""
    head = m.string[max(0, m.start() - 12) : m.start()].strip().lower()
    return head.rsplit(" ", 1)[-1] if head else ""


def mentioned(text: str, anchor: date) -> list[str]:
    """The time terms of the dates ``text`` names, resolved against the day it was written."""
    if not any(map(str.isdigit, text)) and not (_could_match(text) and _maybe().search(text)):
        return []  # the common case: no date words at all
    out: list[str] = []
    for m in _pattern().finditer(text):
        found, _ = _resolve(m, anchor, question=False)
        out += found
    return out


@functools.cache
def _maybe() -> re.Pattern[str]:
    return re.compile(
        rf"\b(?:{_MONTH}|today|tonight|yesterday|tomorrow|ago|week|month)\b", re.IGNORECASE
    )


def query_times(query: str, now: date) -> tuple[list[str], str]:
    """A question's time terms and its text with the time expressions removed."""
    out: list[str] = []
    rest = query
    if not _could_match(query):
        return out, rest
    for m in reversed(list(_pattern().finditer(query))):
        found, is_time = _resolve(m, now, question=True)
        if is_time:
            out = found + out
            rest = rest[: m.start()] + " " + rest[m.end() :]
    return list(dict.fromkeys(out)), rest


def anchor_of(stamp: str) -> date | None:
    """The day of an ISO timestamp (``created_at``), or None when it does not parse."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).date()
    except (ValueError, AttributeError):
        return None


def document_times(text: str, created_at: str) -> list[str]:
    """Every time term of a stored text: the day it was written and the dates it names."""
    anchor = anchor_of(created_at)
    if anchor is None:
        return []
    return day_terms(anchor) + mentioned(text, anchor)
