"""Tokenisation for search: the one definition of a 'term', shared by every backend.

Why in Python: SQLite's tokenizers and any Python re-implementation would drift apart, and the
JSON backend must rank exactly like SQLite. So both index the same pre-computed terms; SQLite's
FTS5 only splits them on spaces (``tokenize="ascii tokenchars '_'"``), and its BM25 sees what
ours sees.

A text's terms, for prose and code alike:

* every run of letters or digits, folded (lower case, no diacritics) and Snowball-stemmed
  (``stemmer.py``); ``snake_case``, ``kebab-case``, ``camelCase``, dotted names and paths are
  split into their words ("UserRepo" -> "user", "repo");
* and each such identifier once more as a whole, unstemmed, its parts joined by ``_``
  ("auth-service" -> "auth_service", "refresh_token()" -> "refresh_token", "UserRepo" ->
  "userrepo", "src/auth/login.py" -> "src_auth_login_py", "v2.3.1" -> "v2_3_1"), so a query
  naming the identifier matches it exactly and far above a text that merely has its words.

Stop words stay in the index (they count in a text's length) and leave queries, as do
question words ("what", "did", "when"). Changing any of this changes stored terms: bump
``TERMS_VERSION`` and add a migration that re-indexes (SQLite ``m008_snowball_terms``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from .stemmer import stem
from .timeref import document_times

TERMS_VERSION = 2

# Runs of letters or digits; '_' separates, so "user_id" is "user" + "id".
_WORD = re.compile(r"[^\W_]+")
# The same runs for lower-cased ASCII text, where they are exactly [a-z0-9]+. Why a second
# pattern: it matches about twice as fast, and tokenising is most of the cost of an import.
_ASCII_WORD = re.compile(r"[a-z0-9]+")
# Where camelCase splits: "userRepo" -> "user Repo", "HTTPServer" -> "HTTP Server". Letters and
# digits stay together ("ipv6", "h264", "oauth2"): splitting them would make "6" a term.
# (No lookbehind: a pattern that starts with a character class is scanned several times faster.)
_CAMEL = re.compile(r"[a-z0-9](?=[A-Z])|[A-Z](?=[A-Z][a-z])")
# Identifiers worth a whole term: words joined by connectors (auth-service, a.b.c, src/x.py,
# 2024-03-15, 3.11), words holding '_' (refresh_token), camelCase words, digit groups (10,000).
# Why a trigger and a chunk pattern rather than one pattern: a pattern that finds identifiers
# directly must try every position of every word, which made tokenising ten times slower.
_TRIGGER = re.compile(r"[^\W_](?:[-./:,]+|_+)\w|_[^\W_]|[a-z0-9][A-Z]|[A-Z][A-Z][a-z]")
_CHUNK = re.compile(r"\w+(?:(?:[-./:]+|,(?=\d))\w+)*")
_CHUNK_CHARS = frozenset("-./:,_")
_SEP = re.compile(r"[\W_]+")
_DIGIT_GROUPS = re.compile(r"\d{1,3}(?:,\d{3})+")

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
# Words that ask rather than say: dropped from queries, never from texts. Why: "what did I tell
# you about my sister" must rank by "sister", not by the many texts that hold "tell". The
# second line are words about the conversation itself ("what did we discuss earlier across
# our sessions"): every turn of a chat is in it, so they only find the turns that say so.
QUESTION_WORDS = frozenset(
    """whose whats tell told remind recall mention mentioned said say ask asked please
    let know also ever exactly specific specifically
    conversation conversations discuss discussed discussion talk talked brought bring
    throughout across earlier previously""".split()  # noqa: SIM905
)
QUERY_STOPWORDS = STOPWORDS | QUESTION_WORDS


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
    """The folded, unstemmed words of ``text`` (identifiers are not split here)."""
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return _WORD.findall(fold(text))


def split_words(text: str) -> list[str]:
    """The folded, unstemmed words of ``text`` with camelCase split: ``words`` for code too."""
    return words(_CAMEL.sub(r"\g<0> ", text))


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


def whole(identifier: str) -> str | None:
    """The whole-identifier term of one identifier, or None when it has a single part."""
    if _DIGIT_GROUPS.fullmatch(identifier):
        return identifier.replace(",", "")  # "10,000" is the number 10000
    parts = [p for p in _SEP.split(fold(identifier)) if p]
    if not parts:
        return None
    if len(parts) == 1:
        # camelCase ("UserRepo") is one run once folded.
        return parts[0] if _CAMEL.search(identifier) else None
    return "_".join(parts)


def identifiers(text: str) -> list[str]:
    """The whole-identifier terms of ``text``, in order (duplicates kept: they are counts)."""
    out: list[str] = []
    done = 0
    for hit in _TRIGGER.finditer(text):
        if hit.start() < done:
            continue  # a second trigger inside the identifier just read
        begin = hit.start()
        while begin and (text[begin - 1].isalnum() or text[begin - 1] in _CHUNK_CHARS):
            begin -= 1
        chunk = _CHUNK.search(text, begin)
        if chunk is None:  # pragma: no cover - a trigger always starts inside a chunk
            continue
        done = chunk.end()
        out += _chunk_terms(chunk.group())
    return out


_SEGMENT = re.compile(r"[./:]+")


def _chunk_terms(chunk: str) -> list[str]:
    """A chunk's whole term, the whole terms of its dotted or slashed tails and of each part
    that is an identifier itself: "src/billing/retry_policy.py" is also "retry_policy_py" and
    "retry_policy"; "UserRepo.find_by_email" is also "userrepo" and "find_by_email"."""
    first = whole(chunk)
    found = [first] if first is not None else []
    segments = [s for s in _SEGMENT.split(chunk) if s]
    if len(segments) > 1:
        for i in range(1, len(segments) - 1):
            tail = whole(".".join(segments[i:]))
            if tail is not None:
                found.append(tail)
        for segment in segments:
            part = whole(segment)
            if part is not None:
                found.append(part)
    return list(dict.fromkeys(found))


def terms(text: str) -> list[str]:
    """Index terms: stemmed words (stop words kept: they count in length), then identifiers."""
    return list(map(_stem, split_words(text))) + identifiers(text)


def query_terms(text: str) -> list[str]:
    """The distinct content terms of a query, in order; all words when there are only stopwords.

    Whole identifiers come first: they are what a query naming one is looking for.
    """
    ws = split_words(text)
    content = [w for w in ws if w not in QUERY_STOPWORDS] or ws
    out: list[str] = []
    for t in [*identifiers(text), *map(_stem, content)]:
        if t not in out:
            out.append(t)
    return out


# Terms every stored memory carries besides its words: its kind and the day, week and month it
# was written (an event: the three times). Why they matter: they are in FTS5's lengths, and a
# constant added to every length weakens length normalisation, so ranking subtracts them.
MEMORY_EXTRA_TERMS = 4
EVENT_EXTRA_TERMS = 3


def word_length(counts: Mapping[str, int]) -> int:
    """A document's length in words: its terms less the ``_`` ones (kind, time)."""
    return sum(counts.values()) - sum(n for t, n in counts.items() if t[:1] == "_")


def kind_term(kind: str) -> str:
    """The index term naming a memory's kind (``_kind_decision``), for boosts and the pool."""
    return "_kind_" + "_".join(_SEP.split(kind.lower())).strip("_")


def document_terms(
    content: str, tags: Sequence[str] = (), kind: str | None = None, created_at: str = ""
) -> list[str]:
    """Everything a stored text is indexed by: its terms, its tags' terms, its kind, and the
    times it refers to (the day it was written and the dates it names; ``timeref``)."""
    out = terms(content + " " + " ".join(tags) if tags else content)
    if kind:
        out.append(kind_term(kind))
    if created_at:
        out += document_times(content, created_at)
    return out
