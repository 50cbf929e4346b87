"""Preparing the compiler's input texts: redaction, xml escaping, and windows of huge texts.

Why it exists: every text must be redacted (and, in xml, escaped) before it is counted or
packed, but a compile over 10,000 session events or a 13 MB ``--artifact`` must not pay for
text that cannot fit. So an item is prepared only when the packer first looks at it
(``Candidate.ready``), each distinct text once per compile, and a text far longer than the
budget only up to a window that alone needs more than the whole budget. Within a process the
prepared form of a text is remembered (``_PREPARED``), so compiling again costs only what is new.

Guarantees:
- No secret reaches a prompt: every text in a prompt went through ``Preparer.text`` (redaction,
  then xml escaping). A window ends at whitespace, so no secret is split at its end, and
  redaction treats a key block cut short as a key (redaction.py).
- A window is never shown whole: it stands for a text that needs more than the budget, so it
  can only be cut (with a marker); its count is an estimate, said so in ``explain``
  (``Candidate.partial``), and never stored as the item's count.
- In xml every text is escaped (``layout.xml_text``), so the prompt parses whatever it holds.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

from . import layout
from .redaction import Redactions, redact

if TYPE_CHECKING:
    from .candidates import Candidate, ContextItem
    from .tokens import CountCache

WINDOW_MIN_CHARS = 16_384
# Why 8: prose and code average 3-5 characters per token, so a window of 8 per token of budget
# almost always proves at once that the text cannot fit; when it does not, it doubles.
WINDOW_CHARS_PER_TOKEN = 8


# Prepared texts of this process, by (text, xml): a long-running agent or MCP server compiles
# the same memories and events again and again, and redaction is a pure function of the text.
# Bounded: cleared whole when full (a compile then prepares afresh, as a new process would).
_PREPARED: dict[tuple[str, bool], tuple[str, Counter[str]]] = {}
PREPARED_MAX = 65_536


def _prepared(value: str, xml: bool) -> tuple[str, Counter[str]]:
    """``value`` redacted (and escaped in xml), with what was redacted, memoised."""
    hit = _PREPARED.get((value, xml))
    if hit is None:
        found = Redactions()
        done = redact(value, found)
        if xml:
            done = layout.xml_text(done)
        if len(_PREPARED) >= PREPARED_MAX:
            _PREPARED.clear()
        hit = _PREPARED[(value, xml)] = (done, found.counts)
    return hit


def window_of(text: str, size: int) -> str:
    """The first ``size`` characters of ``text``, shortened to end at a line end (or else at a
    space) when one is in the second half, so that no word or secret is split."""
    if len(text) <= size:
        return text
    for stop in ("\n", " ", "\t"):
        end = text.rfind(stop, size // 2, size)
        if end > 0:
            return text[:end]
    return text[:size]


class Preparer:
    """Prepares texts for one compile: ``text()`` for free text, ``defer()`` for items."""

    def __init__(self, budget: int, xml: bool = False) -> None:
        self.budget = budget
        self.xml = xml
        self.found = Redactions()
        self.window = max(WINDOW_MIN_CHARS, budget * WINDOW_CHARS_PER_TOKEN)
        self._memo: dict[str, str] = {}

    def text(self, value: str) -> str:
        """``value`` redacted and, in xml, escaped; once per distinct text."""
        done = self._memo.get(value)
        if done is None:
            done, kinds = _prepared(value, self.xml)
            self.found.counts.update(kinds)
            self._memo[value] = done
        return done

    def escape(self, value: str) -> str:
        """Text of the compiler's own (a fetch command): escaped in xml, never redacted."""
        return layout.xml_text(value) if self.xml else value

    def defer(self, cand: Candidate, item: ContextItem) -> None:
        """Fill ``cand`` from ``item`` when it is first needed; size it by a window when the
        item's text is longer than a window."""
        size = self.window if len(item.text) > self.window else None
        cand.prepare = lambda c: self._fill(c, item, size)
        if size is not None:
            cand.sizer = lambda c, counter: self._size(c, item, size, counter)

    def _fill(self, cand: Candidate, item: ContextItem, size: int | None) -> None:
        from .candidates import fill

        text = item.text if size is None else window_of(item.text, size)
        name = None if item.name is None else self.text(item.name)
        fill(cand, item, self.text(text), name, [self.text(t) for t in item.tags])
        cand.shown = len(text)

    def _size(self, cand: Candidate, item: ContextItem, size: int, counter: CountCache) -> int:
        """The candidate's tokens: an estimate from a window that alone exceeds the budget, or,
        if no window short of the whole text does, the exact count of the whole."""
        while True:
            n = counter.count(cand.render(), cand.key)
            if n > self.budget:
                total = math.ceil(n * len(item.text) / max(1, cand.shown))
                cand.partial = (
                    f"about {total:,} tokens, estimated from its first {cand.shown:,} of "
                    f"{len(item.text):,} characters ({n:,} tokens)"
                )
                return total
            size *= 2
            whole = size >= len(item.text)
            self._fill(cand, item, None if whole else size)
            if whole:
                cand.sizer = None
                return counter.count(cand.render(), cand.key, cand.hint)
