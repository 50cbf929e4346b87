"""Tests for the Porter stemmer shared by both storage backends' search."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcontext_cli.stemmer import stem

# Examples from Porter's 1980 paper, plus terms this project's users actually search for.
VOCABULARY = [
    # Step 1a
    ("caresses", "caress"),
    ("ponies", "poni"),
    ("ties", "ti"),
    ("caress", "caress"),
    ("cats", "cat"),
    # Step 1b
    ("feed", "feed"),
    ("agreed", "agre"),
    ("plastered", "plaster"),
    ("bled", "bled"),
    ("motoring", "motor"),
    ("sing", "sing"),
    ("conflated", "conflat"),
    ("troubled", "troubl"),
    ("sized", "size"),
    ("hopping", "hop"),
    ("tanned", "tan"),
    ("falling", "fall"),
    ("hissing", "hiss"),
    ("fizzed", "fizz"),
    ("failing", "fail"),
    ("filing", "file"),
    # Step 1c
    ("happy", "happi"),
    ("sky", "sky"),
    # Step 2
    ("relational", "relat"),
    ("conditional", "condit"),
    ("rational", "ration"),
    ("valenci", "valenc"),
    ("digitizer", "digit"),
    ("conformabli", "conform"),
    ("radicalli", "radic"),
    ("differentli", "differ"),
    ("vileli", "vile"),
    ("analogousli", "analog"),
    ("vietnamization", "vietnam"),
    ("predication", "predic"),
    ("operator", "oper"),
    ("feudalism", "feudal"),
    ("decisiveness", "decis"),
    ("hopefulness", "hope"),
    ("callousness", "callous"),
    ("formaliti", "formal"),
    ("sensitiviti", "sensit"),
    ("sensibiliti", "sensibl"),
    # Step 3
    ("triplicate", "triplic"),
    ("formative", "form"),
    ("formalize", "formal"),
    ("electriciti", "electr"),
    ("electrical", "electr"),
    ("hopeful", "hope"),
    ("goodness", "good"),
    # Step 4
    ("revival", "reviv"),
    ("allowance", "allow"),
    ("inference", "infer"),
    ("airliner", "airlin"),
    ("gyroscopic", "gyroscop"),
    ("adjustable", "adjust"),
    ("defensible", "defens"),
    ("irritant", "irrit"),
    ("replacement", "replac"),
    ("adjustment", "adjust"),
    ("dependent", "depend"),
    ("adoption", "adopt"),
    ("homologou", "homolog"),
    ("communism", "commun"),
    ("activate", "activ"),
    ("angulariti", "angular"),
    ("homologous", "homolog"),
    ("effective", "effect"),
    ("bowdlerize", "bowdler"),
    # Step 5
    ("probate", "probat"),
    ("rate", "rate"),
    ("cease", "ceas"),
    ("controll", "control"),
    ("roll", "roll"),
    # Several steps in sequence
    ("generalizations", "gener"),
    ("oscillators", "oscil"),
    ("connection", "connect"),
    ("connections", "connect"),
    ("connective", "connect"),
    ("connected", "connect"),
    ("connecting", "connect"),
    ("running", "run"),
    ("databases", "databas"),
    ("postgres", "postgr"),
    ("kubernetes", "kubernet"),
]


@pytest.mark.parametrize(("word", "expected"), VOCABULARY)
def test_porter_vocabulary(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        # The reference C implementation's step-2 departures from the paper.
        ("archaeologi", "archaeolog"),
        ("possibli", "possibl"),
        # A 'y' after a consonant is a vowel, so "yy" is not a double consonant.
        ("sayyed", "sayi"),
    ],
)
def test_reference_implementation_details(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize("word", ["", "a", "is", "as", "us", "ys"])
def test_short_words_are_unchanged(word: str) -> None:
    assert stem(word) == word


@pytest.mark.parametrize("word", ["cafés", "naïve", "http2", "utf8ing", "коты", "Running"])
def test_tokens_outside_a_to_z_are_unchanged(word: str) -> None:
    assert stem(word) == word


def test_stems_related_forms_to_one_term() -> None:
    assert len({stem(w) for w in ["index", "indexes", "indexing", "indexed"]}) == 1


# Porter is deliberately not asserted idempotent: "agreed" -> "agre" -> "agr".
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
    # Porter only rewrites a word's ending, so the stem shares all but its last few letters
    # with the input (suffix rewrites like "-ies" -> "-i" and "-y" -> "-i" touch at most 3).
    result = stem(word)
    keep = max(len(result) - 3, 0)
    assert word[:keep] == result[:keep]
