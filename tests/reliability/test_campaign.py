"""The bounded reliability campaign (issue 13), one test per part; the full one is
``python -m tests.reliability.campaign --full`` (see ``campaign.py``)."""

from __future__ import annotations

import pytest

from reliability.campaign import PARTS, failures, run, table


@pytest.mark.slow
@pytest.mark.parametrize("part", PARTS)
def test_the_bounded_campaign_finds_no_failure(part: str) -> None:
    results = run((part,))
    assert failures(results) == [], table(results)
    figures = results[part]
    assert figures, f"the {part} part measured nothing"
    if part == "load":
        from reliability.load import has_mcp

        if has_mcp():  # an MCP client took part, and its writes were acknowledged
            assert all(r["mcp_operations"] > 0 for r in figures), figures
    if part == "kills":
        assert len(figures) == 12 and all(r["trials"] for r in figures)
    if part == "fuzz":
        assert sum(r["cases"] for r in figures) >= 100
    if part == "secrets":
        for f in figures["rules"]:  # the corpus rules hold on every split
            assert f["recall"] >= 0.95 and f["fp"] <= 0.005, f
