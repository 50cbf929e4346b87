"""Cuts close code fences the way they were opened (CommonMark), so what follows a cut item
never renders inside a code block."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.chunking import cut_body, cut_points, open_fence
from smartcontext_cli.compiler import ContextCompiler, ContextItem

NESTED = "Intro.\n````markdown\nA doc:\n```python\nx = 1\n```\nmore doc\nand more\n````\nAfter."


def test_an_inner_shorter_fence_does_not_close_the_outer_one() -> None:
    inside = NESTED.index("more doc")
    assert open_fence(NESTED[:inside]) == "````"
    assert open_fence(NESTED) is None
    assert open_fence("```py\nx\n``` not a close\n") == "```"  # text after the fence: still open
    assert open_fence("~~~\nx\n```\n") == "~~~"  # another character never closes it
    assert open_fence("```\nx\n`````\n") is None  # a longer one does


def test_a_cut_closes_with_the_opening_fence() -> None:
    inside = NESTED.index("more doc")
    body = cut_body(NESTED, inside, "smartcontext show abc")
    assert body.endswith("\n````\n[… cut; the rest: smartcontext show abc]")
    assert open_fence(body) is None


def test_no_cut_point_inside_code_but_at_line_ends() -> None:
    primary, words = cut_points(NESTED)
    code = range(NESTED.index("A doc:"), NESTED.index("\n````\nAfter"))
    lines = {m.end() for m in re.finditer(r"[^\n]+", NESTED)}
    assert all(p in lines for p in primary if p in code)
    assert not [w for w in words if w in code]


def fences_balanced(markdown: str) -> bool:
    return open_fence(markdown) is None


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    parts=st.lists(
        st.sampled_from(["```", "````", "~~~", "```py", "text line.", "x = 1", "", "  ```"]),
        min_size=1,
        max_size=30,
    ),
    budget=st.integers(60, 200),
)
def test_a_cut_item_never_leaves_a_fence_open(parts: list[str], budget: int) -> None:
    text = "\n".join(parts) + "\nend of the note."
    ctx = ContextCompiler().compile(
        goal="note",
        memories=[ContextItem(text * 3, id="abc")],
        observations=["after the memories"],
        token_budget=budget,
    )
    cut = [b for b in ctx.blocks if "[… cut" in b.text]
    for block in cut:  # a cut block is balanced, whatever the item: nothing leaks past it
        body = "\n".join(line[2:] for line in block.text.split("\n"))
        assert fences_balanced(body), block.text


@pytest.mark.parametrize("budget", [90, 120, 160])
def test_a_cut_artifact_holding_a_fence_keeps_the_rest_of_the_prompt_outside_code(
    budget: int,
) -> None:
    content = "\n".join(
        ["# Readme", "```sh", "make test", "```", *[f"line {i}" for i in range(80)]]
    )
    ctx = ContextCompiler().compile(
        goal="readme",
        artifacts=[ContextItem(content, name="README.md")],
        observations=["the session comes after"],
        token_budget=budget,
    )
    art = ctx.sections["artifacts"]
    assert "````markdown" in art and "[… cut" in art
    assert art.rstrip().split("\n")[-2].strip() == "````"  # closed with the opening fence
    assert fences_balanced(ctx.to_prompt())
