"""The original Porter (1980) stemming algorithm, in pure Python.

Why this exists: search tokenises and stems in Python for *both* storage backends, so the
terms the SQLite FTS5 index stores and the terms the JSON backend's in-process BM25 scores
are produced by the same code and are identical. Relying on FTS5's ``porter`` tokenizer
would make ranking depend on which backend a project happens to use.

Guarantees:

* Output matches Martin Porter's reference C implementation (the one SQLite FTS5's
  ``porter`` tokenizer follows), including its two documented departures from the paper
  in step 2 (``bli -> ble`` instead of ``abli -> able``, and ``logi -> log``).
* Words of length <= 2 and tokens containing anything but ``a-z`` (digits, upper case,
  non-ASCII letters) are returned unchanged; the reference only stems ASCII letters.
* ``stem`` never raises, never returns a longer string than it was given and never
  returns an empty string for non-empty input. It is *not* idempotent
  (``agreed -> agre -> agr``), so stem a surface token exactly once.
"""

from __future__ import annotations

import functools

__all__ = ["stem"]

# Suffix rules as (suffix, replacement). Within a step the first matching suffix decides
# the outcome even when its condition fails (as in the reference), so a suffix must come
# before any shorter suffix it ends with: "ational" before "tional", "ization" before
# "ation", "ement" before "ment" before "ent".
_STEP2 = (
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"),
    ("izer", "ize"), ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"),
    ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"), ("ator", "ate"),
    ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"),
    ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
)  # fmt: skip
_STEP3 = (
    ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"),
    ("ful", ""), ("ness", ""),
)  # fmt: skip
_STEP4 = (
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
    "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize",
)  # fmt: skip


def _pattern(word: str) -> str:
    """Map each letter to 'c' (consonant) or 'v' (vowel).

    'y' is a consonant at the start of a word or after a vowel, a vowel after a consonant.
    Whether a letter is a consonant depends only on the letters before it, so the pattern
    of a prefix is the prefix of the pattern.
    """
    out = []
    prev_consonant = False  # makes a leading 'y' a consonant
    for ch in word:
        consonant = ch not in "aeiou" and (ch != "y" or not prev_consonant)
        out.append("c" if consonant else "v")
        prev_consonant = consonant
    return "".join(out)


def _measure(stem: str) -> int:
    """Porter's m in [C](VC){m}[V]: every VC boundary closes one VC group."""
    return _pattern(stem).count("vc")


def _has_vowel(stem: str) -> bool:
    """Porter's *v*."""
    return "v" in _pattern(stem)


def _ends_cvc(stem: str) -> bool:
    """Porter's *o: ends consonant-vowel-consonant, the last not w, x or y."""
    return _pattern(stem).endswith("cvc") and stem[-1] not in "wxy"


def _ends_double_consonant(stem: str) -> bool:
    """Porter's *d."""
    return len(stem) >= 2 and stem[-1] == stem[-2] and _pattern(stem)[-1] == "c"


def _apply_rules(word: str, rules: tuple[tuple[str, str], ...]) -> str:
    """Steps 2 and 3: replace the first matching suffix if the stem has m > 0."""
    for suffix, replacement in rules:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if _measure(stem) > 0 else word
    return word


def _step1ab(word: str) -> str:
    # 1a: plurals.
    if word.endswith(("sses", "ies")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]

    # 1b: past tense and progressive forms.
    if word.endswith("eed"):
        return word[:-1] if _measure(word[:-3]) > 0 else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
            word = word[: -len(suffix)]
            break
    else:
        return word

    # Repair the stem so that e.g. conflat(ed) -> conflate, hopp(ing) -> hop, fil(ing) -> file;
    # without it the stems would not meet those of the uninflected words in later steps.
    if word.endswith(("at", "bl", "iz")):
        return word + "e"
    if _ends_double_consonant(word) and word[-1] not in "lsz":
        return word[:-1]
    if _measure(word) == 1 and _ends_cvc(word):
        return word + "e"
    return word


def _step4(word: str) -> str:
    """Strip a derivational suffix when the remaining stem has m > 1."""
    for suffix in _STEP4:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            # -ion only goes after s or t ("adoption" -> "adopt", but not "onion").
            if _measure(stem) > 1 and (suffix != "ion" or stem.endswith(("s", "t"))):
                return stem
            return word
    return word


def _step5(word: str) -> str:
    # 5a: a final e goes if the stem is long enough, except after *o (keeps "rate", "file").
    if word.endswith("e"):
        stem = word[:-1]
        m = _measure(stem)
        if m > 1 or (m == 1 and not _ends_cvc(stem)):
            word = stem
    # 5b: -ll -> -l on long stems ("controll" -> "control", but "roll" stays).
    if word.endswith("ll") and _measure(word) > 1:
        word = word[:-1]
    return word


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return the Porter stem of ``word``, an already lower-cased token."""
    if len(word) <= 2 or not (word.isascii() and word.isalpha() and word.islower()):
        return word
    word = _step1ab(word)
    # 1c: y -> i after a vowel-bearing stem ("happy" -> "happi", but "sky" stays).
    if word.endswith("y") and _has_vowel(word[:-1]):
        word = word[:-1] + "i"
    word = _apply_rules(word, _STEP2)
    word = _apply_rules(word, _STEP3)
    word = _step4(word)
    return _step5(word)
