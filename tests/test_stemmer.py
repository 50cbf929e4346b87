"""Tests for the Snowball English stemmer shared by both storage backends' search."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcontext_cli.stemmer import stem

# Examples from the Snowball project's English stemmer page (its sample vocabulary and the
# algorithm's exceptional forms), plus words this project's users search for.
VOCABULARY = [
    ("consign", "consign"),
    ("consigned", "consign"),
    ("consigning", "consign"),
    ("consignment", "consign"),
    ("consistency", "consist"),
    ("consolation", "consol"),
    ("consolatory", "consolatori"),
    ("consolidate", "consolid"),
    ("conspiracy", "conspiraci"),
    ("constable", "constabl"),
    ("knackeries", "knackeri"),
    ("knightly", "knight"),
    ("knives", "knive"),
    ("kneeling", "kneel"),
    ("generously", "generous"),
    # Exceptional forms Porter got wrong.
    ("dying", "die"),
    ("skies", "sky"),
    ("news", "news"),
    ("succeeded", "succeed"),
    ("generate", "generat"),
    ("generic", "generic"),
    ("communism", "communism"),
    ("arsenal", "arsenal"),
    # What developers type.
    ("deployments", "deploy"),
    ("authentication", "authent"),
    ("databases", "databas"),
    ("repositories", "repositori"),
    ("kubernetes", "kubernet"),
]


@pytest.mark.parametrize(("word", "expected"), VOCABULARY)
def test_snowball_vocabulary(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize("word", ["", "a", "is", "as", "us", "ys"])
def test_short_words_are_unchanged(word: str) -> None:
    assert stem(word) == word


@pytest.mark.parametrize("word", ["cafés", "naïve", "http2", "utf8ing", "коты", "Running"])
def test_tokens_outside_a_to_z_are_unchanged(word: str) -> None:
    assert stem(word) == word


def test_stems_related_forms_to_one_term() -> None:
    assert len({stem(w) for w in ["index", "indexes", "indexing", "indexed"]}) == 1


# Not asserted idempotent: a stem is stemmed once, from the surface word.
LOWERCASE_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=30)


@given(st.one_of(LOWERCASE_WORDS, st.text(max_size=30)))
def test_stem_is_total_and_never_grows(word: str) -> None:
    result = stem(word)
    assert isinstance(result, str)
    assert len(result) <= len(word)
    if word:
        assert result


@given(LOWERCASE_WORDS)
def test_stem_is_a_prefix_modulo_the_rewritten_tail(word: str) -> None:
    # Snowball only rewrites a word's ending, so the stem shares all but its last few letters
    # with the input (suffix rewrites like "-ies" -> "-i" and "-y" -> "-i" touch at most 3).
    result = stem(word)
    keep = max(len(result) - 3, 0)
    assert word[:keep] == result[:keep]
