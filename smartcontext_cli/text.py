"""Tokenisation for search: the one definition of a 'term', shared by every backend.

Why in Python: SQLite's ``porter`` tokenizer and any Python re-implementation would drift apart,
and the JSON backend must rank exactly like SQLite. So both index the same pre-stemmed terms;
SQLite's FTS5 only splits them on spaces (``unicode61``), and its BM25 sees what ours sees.
"""

from __future__ import annotations

import re
import unicodedata

from .stemmer import stem

# Runs of letters or digits; '_' separates, as unicode61 does, so "user_id" is "user" + "id".
_WORD = re.compile(r"[^\W_]+")
# The same runs for lower-cased ASCII text, where they are exactly [a-z0-9]+. Why a second
# pattern: it matches about twice as fast, and tokenising is most of the cost of an import.
_ASCII_WORD = re.compile(r"[a-z0-9]+")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t d ll m re ve""".split()  # noqa: SIM905 - a word block reads better than 130 literals
)


def contains_any(text: str, needles: tuple[str, ...]) -> bool:
    """Whether one of ``needles`` occurs in ``text``: a plain loop, three times as fast as
    ``any()`` over a generator (compaction checks every sentence against a few dozen)."""
    for needle in needles:  # noqa: SIM110 - the loop is the point
        if needle in text:
            return True
    return False


def fold(text: str) -> str:
    """Lower-case and strip diacritics (café -> cafe); ASCII text takes the fast path.

    Why normalise before lower-casing: compatibility letters decompose to capitals
    ('ℕ' -> 'N', '𝑻' -> 'T'); lower-casing last makes every term lower-case, which FTS5 would
    otherwise do on its own, and the backends would disagree.
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text).lower()
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded, unstemmed words of ``text``."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return _WORD.findall(fold(text))


class _StemCache(dict[str, str]):
    """word -> stem, filled on first use and emptied when it grows past ``_STEM_CACHE_SIZE``.

    Why on top of the stemmer's lru_cache: a plain dict lookup is about twice as fast as the
    lru_cache wrapper, and stemming every word is a tenth of a large import.
    """

    def __missing__(self, word: str) -> str:
        if len(self) >= _STEM_CACHE_SIZE:
            self.clear()
        value = self[word] = stem(word)
        return value


_STEM_CACHE_SIZE = 200_000
_stem = _StemCache().__getitem__


def terms(text: str) -> list[str]:
    """Index terms: folded, stemmed words, stopwords kept (they count in document length)."""
    return list(map(_stem, words(text)))


def query_terms(text: str) -> list[str]:
    """The distinct content terms of a query, in order; all words when there are only stopwords."""
    ws = words(text)
    content = [w for w in ws if w not in STOPWORDS] or ws
    out: list[str] = []
    for w in content:
        t = stem(w)
        if t not in out:
            out.append(t)
    return out
