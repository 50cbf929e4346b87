"""The MCP adapter in process (``McpApp``): no argument crashes it, results are JSON objects.

The protocol side is tested through a real server in test_mcp_server.py; these properties
need thousands of calls, so they call the adapter directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli.mcp_server import McpApp
from smartcontext_cli.mcp_server.tools import build


@pytest.fixture
def app(home: Path) -> McpApp:
    app = McpApp()
    assert app.call_tool("remember", {"content": "Deploys run on Kubernetes"}).error is None
    assert app.call_tool("goal", {"text": "Move CI to GitHub Actions"}).error is None
    return app


TOOL_NAMES = [t.name for t in build(["balanced", "auto"])]
PROPERTY_NAMES = sorted({p for t in build(["auto"]) for p in t.input_schema()["properties"]})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tool=st.sampled_from(TOOL_NAMES),
    arguments=st.dictionaries(
        st.sampled_from(PROPERTY_NAMES) | st.text(max_size=8), json_values, max_size=5
    ),
)
def test_any_arguments_give_a_result_or_one_clear_error(
    app: McpApp, tool: str, arguments: dict[str, Any]
) -> None:
    outcome = app.call_tool(tool, arguments)
    if outcome.error is not None:
        assert outcome.error and "\n" not in outcome.error
        assert not outcome.error.startswith("internal error"), outcome.error
    else:
        assert isinstance(outcome.data, dict)
        json.dumps(outcome.data)


def _values(prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the property's schema accepts (so the call reaches the core)."""
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    kind = prop.get("type")
    if kind == "integer":
        return st.integers(prop["minimum"], min(prop["maximum"], 10**6))
    if kind == "number":
        return st.floats(prop["minimum"], prop["maximum"])
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(_values(prop["items"]), max_size=3)
    if "pattern" in prop:
        return st.from_regex(prop["pattern"], fullmatch=True)
    return st.text(max_size=min(prop["maxLength"], 40))


SPECS = {t.name: t for t in build(["balanced", "auto"])}


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), tool=st.sampled_from(TOOL_NAMES))
def test_schema_valid_arguments_give_a_result_or_one_clear_error(
    app: McpApp, data: st.DataObject, tool: str
) -> None:
    schema = SPECS[tool].input_schema()
    props = schema["properties"]
    chosen = data.draw(st.sets(st.sampled_from(sorted(props))))
    names = set(schema.get("required", ())) | chosen
    arguments = {n: data.draw(_values(props[n]), label=n) for n in sorted(names)}
    outcome = app.call_tool(tool, arguments)
    if outcome.error is not None:
        assert not outcome.error.startswith(("internal error", "invalid arguments")), outcome.error
        assert "\n" not in outcome.error
    else:
        json.dumps(outcome.data)


def test_the_published_schema_is_the_one_enforced(app: McpApp) -> None:
    # A value the schema refuses never reaches the core, whatever the core would do with it.
    outcome = app.call_tool("search", {"query": "kubernetes", "limit": 51})
    assert (
        outcome.error == "invalid arguments for search: limit: 51 is greater than the maximum of 50"
    )
    assert app.call_tool("search", {"query": "kubernetes", "limit": 50}).error is None


def test_custom_attention_policies_are_compile_modes(home: Path) -> None:
    (home).mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        "[policies.review]\ndescription = 'Code review'\n"
        "allocation = { goal = 0.1, memories = 0.5, observations = 0.3, artifacts = 0.1 }\n"
    )
    modes = McpApp().tools()["compile"].input_schema()["properties"]["mode"]["enum"]
    assert "review" in modes and modes[-1] == "auto"
