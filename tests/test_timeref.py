"""Time expressions: the substring check that spares compiling the pattern never hides a date."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import timeref

WORDS = st.sampled_from(
    [*timeref.MONTHS, *timeref.WEEKDAYS, "last", "next", "ago", "2 days", "week", "the", "on"]
)
TEXT = st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_a_text_the_check_rules_out_holds_no_time_expression(text: str) -> None:
    if not timeref._could_match(text):
        assert timeref._pattern().search(text) is None
        assert timeref.query_times(text, date(2026, 12, 2)) == ([], text)


def test_questions_about_time_still_resolve() -> None:
    terms, rest = timeref.query_times("what did we decide last week?", date(2026, 12, 2))
    assert terms and "last week" not in rest
    assert timeref.query_times("postgres connection pool", date(2026, 12, 2)) == (
        [],
        "postgres connection pool",
    )
