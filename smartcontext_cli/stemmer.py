"""English Snowball ("Porter2") stemming, the one stemmer every backend's terms come from.

Why Snowball rather than the original Porter algorithm: it conflates more of the word forms
people actually type for the same thing ("generously"/"generous", "authentication"/"authentic"
stay apart less often, "-ly" adverbs meet their adjectives), and on BEAM-100K it ranked better
(tests/benchmarks/bench_retrieval.py). Why PyStemmer: it is the Snowball project's own C code,
so it is the reference implementation, not a port, and it stems in about a microsecond.

Guarantees: ``stem`` is a pure function of its argument (the same word gives the same stem on
every backend and platform); words holding anything but the letters a-z (digits, capitals,
other scripts) and words of one or two letters are returned unchanged; it never returns an
empty string for non-empty input. Changing the algorithm changes every stored term: it needs
a migration that re-indexes (see ``text.TERMS_VERSION``).
"""

from __future__ import annotations

import functools

import Stemmer

__all__ = ["ALGORITHM", "stem"]

ALGORITHM = "snowball-english"
_stem_word = Stemmer.Stemmer("english").stemWord


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of ``word``, an already folded, lower-case token."""
    if len(word) <= 2 or not (word.isascii() and word.isalpha() and word.islower()):
        return word
    return _stem_word(word) or word
