"""Auto mode on goal phrases with the mode a person would pick (tests/fixtures/mode_goals.py).

The held-out part was not looked at while tuning intent.py; its figure is the one reported
(README, *Modes*). The issue's target: at least 90% right.
"""

from __future__ import annotations

import pytest
from fixtures.mode_goals import HELD_OUT, TUNING

from smartcontext_cli.attention import detect_mode


def accuracy(phrases: list[tuple[str, str]]) -> float:
    right = 0
    for phrase, expected in phrases:
        found = detect_mode(phrase)
        right += (found.value if found else "balanced") == expected
    return right / len(phrases)


def test_the_fixture_is_large_enough_and_covers_every_mode() -> None:
    phrases = TUNING + HELD_OUT
    assert len(phrases) >= 40 and len(HELD_OUT) >= 20
    modes = {m for _, m in HELD_OUT}
    assert modes == {"coding", "debugging", "exploring", "planning", "balanced"}
    assert len({p for p, _ in phrases}) == len(phrases)


@pytest.mark.parametrize(("part", "phrases"), [("tuning", TUNING), ("held out", HELD_OUT)])
def test_auto_mode_is_right_on_at_least_nine_in_ten(part: str, phrases) -> None:
    assert accuracy(phrases) >= 0.9, part
