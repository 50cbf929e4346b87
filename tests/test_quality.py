"""The quality score is honest: given items count for what they match, like everything else,
and the README's worked examples are what the compiler computes."""

from __future__ import annotations

import pytest

from smartcontext_cli.compiler import ContextCompiler, ContextItem

GOAL = "Fix the login timeout"
MEMORIES = [
    "Fix: raise the login timeout to 60 s",
    "The login timeout is 30 s",
    "Deploys run on Kubernetes",
]


@pytest.mark.parametrize(
    ("given", "included", "quality"),
    [
        (None, ["Fix: raise the login timeout to 60 s"], 0.7333),
        ("lorem ipsum dolor sit amet", ["lorem ipsum dolor sit amet"], 0.3333),
        ("the timeout", ["the timeout", "The login timeout is 30 s"], 0.6667),
    ],
)
def test_the_readmes_worked_examples(given, included, quality) -> None:
    extra = [ContextItem(given, pinned=True)] if given else []
    ctx = ContextCompiler().compile(goal=GOAL, memories=[*extra, *MEMORIES], token_budget=25)
    shown = [line[2:] for line in ctx.sections["memories"].splitlines()[1:]]
    assert shown == included
    assert ctx.quality_score == quality


def seeded(sc, namespace: str) -> None:
    assert sc("-n", namespace, "goal", GOAL).exit_code == 0
    long = "The login service times out after 30 seconds when the session store is slow " * 3
    assert sc("-n", namespace, "remember", long.strip()).exit_code == 0
    assert sc("-n", namespace, "remember", "Deploys run on Kubernetes").exit_code == 0


def quality(result) -> float:
    line = result.stderr.splitlines()[0]
    return float(line.split("quality ")[1].split()[0])


@pytest.mark.parametrize("budget", ["30", "60", "400"])
def test_lorem_ipsum_never_raises_the_score(sc, budget: str) -> None:
    # The issue: -M "lorem ipsum" raised quality_score from 0.33 to 0.83 while the relevant
    # memory stayed out. Pinned filler matches no query word: it weighs nothing.
    # Two namespaces: each compile is a first one, not a continuation of the other.
    seeded(sc, "plain")
    seeded(sc, "padded")
    plain = sc("-n", "plain", "compile", "-b", budget, "-v")
    padded = sc("-n", "padded", "compile", "-b", budget, "-v", "-M", "lorem ipsum")
    assert plain.exit_code == padded.exit_code == 0
    assert quality(padded) <= quality(plain)
    assert "lorem ipsum" in padded.stdout  # given items are still shown first


def test_a_given_item_that_matches_counts_beside_search_results(sc) -> None:
    seeded(sc, "given")
    result = sc(
        "-n", "given", "compile", "-b", "400", "-v", "-M", "the login timeout is in auth.yaml"
    )
    assert quality(result) == 1.0  # everything relevant is in
    explain = sc("-n", "given", "explain", "--json").json()["explanation"]["decisions"]
    given = next(d for d in explain if d["item"] == "memory 1 (given)")
    assert given["outcome"] == "included"
