"""Semantic chunking: where an item may be cut, and the longest cut that fits a token budget.

Why it exists: an item that does not fit whole is more useful cut than dropped, but only at a
boundary a reader expects. A cut never falls inside a word or inside a code line; code that is
cut stays fenced; the kept text ends with a marker that says how to fetch the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .tokens import CountCache

MIN_CUT_TOKENS = 24  # below this, a cut keeps too little to be worth its marker

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*(?=\s)|[。！？]")
_WORD_END = re.compile(r"\S(?=\s)")


def _closes(line: str, fence: str) -> bool:
    """True when ``line`` closes a block opened by ``fence`` (CommonMark): the same character,
    at least as many, indented at most three spaces, nothing after but spaces."""
    match = _FENCE.match(line)
    return (
        match is not None
        and match.group(1)[0] == fence[0]
        and len(match.group(1)) >= len(fence)
        and not line[match.end() :].strip()
    )


def _fences(text: str) -> list[tuple[int, str | None]]:
    """Each line's start offset with the fence open *before* it (None outside code)."""
    out: list[tuple[int, str | None]] = []
    fence: str | None = None
    pos = 0
    for line in text.split("\n"):
        out.append((pos, fence))
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence = match.group(1)
        elif _closes(line, fence):
            fence = None
        pos += len(line) + 1
    return out


def cut_points(text: str) -> tuple[list[int], list[int]]:
    """Where ``text`` may be cut: (line and sentence ends, word ends in prose), ascending.

    A cut at ``p`` keeps ``text[:p]``. Inside fenced code only line ends are allowed, so a code
    line is never split; word ends are the fallback for prose with no sentence end that fits.
    """
    primary: list[int] = []
    words: list[int] = []
    lines = text.split("\n")
    for (pos, fence), line in zip(_fences(text), lines, strict=True):
        end = pos + len(line)
        if fence is None and not _FENCE.match(line):
            primary.extend(pos + m.end() for m in _SENTENCE_END.finditer(line))
            words.extend(pos + m.end() for m in _WORD_END.finditer(line))
        if line.strip():
            primary.append(end)
    return sorted(set(primary)), sorted(set(words))


def open_fence(text: str) -> str | None:
    """The fence left open at the end of ``text``, if any, exactly as it was opened (so a cut
    closes it with the same fence: a shorter one would not close it)."""
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence = match.group(1)
        elif _closes(line, fence):
            fence = None
    return fence


def cut_marker(fetch: str | None) -> str:
    return f"[… cut; the rest: {fetch}]" if fetch else "[… cut]"


def cut_body(text: str, pos: int, fetch: str | None) -> str:
    """``text`` kept up to ``pos``, any open fence closed, and the cut marker appended."""
    kept = text[:pos].rstrip()
    fence = open_fence(kept)
    if fence is not None:
        return f"{kept}\n{fence}\n{cut_marker(fetch)}"
    if _FENCE.match(kept[kept.rfind("\n") + 1 :]):
        # A closing fence must stand alone on its line: the marker goes on the next one.
        return f"{kept}\n{cut_marker(fetch)}"
    return f"{kept} {cut_marker(fetch)}"


def longest_fit(
    body: str, space: int, counter: CountCache, render: Callable[[int], str], min_pos: int = 0
) -> tuple[str, int] | None:
    """The longest ``render(p)`` over ``body``'s cut points that fits ``space`` tokens.

    Binary search: a longer cut never has fewer tokens in practice, and the chosen text is
    always counted exactly, so a rare non-monotone step can only cost a shorter cut.
    """
    primary, words = cut_points(body)
    if len(body) > 8000:
        # Why: binary search over a huge file would encode it ~log2(lines) times; the first
        # ``space`` tokens bound how far a fitting cut can reach.
        bound = counter.tokenizer.prefix_chars(body, space) + 1
        primary = [p for p in primary if p <= bound]
        words = [p for p in words if p <= bound]
    end = len(body.rstrip())
    for points in (primary, words):
        points = [p for p in points if min_pos < p < end]
        lo, hi, found = 0, len(points) - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            text = render(points[mid])
            n = counter.count(text)
            if n <= space:
                found, lo = (text, n), mid + 1
            else:
                hi = mid - 1
        if found is not None:
            return found
    return None


def fit_text(
    body: str, space: int, counter: CountCache, make: Callable[[str], str], fetch: str | None
) -> tuple[str, int] | None:
    """A mandatory free-text part whole if it fits ``space``, else cut at a boundary, else None."""
    whole = make(body)
    n = counter.count(whole)
    if n <= space:
        return whole, n
    return longest_fit(body, space, counter, lambda p: make(cut_body(body, p, fetch)))
