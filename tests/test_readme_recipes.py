"""The README's recipe for sending ``compile --format messages`` to OpenAI and Anthropic, run as
written against stand-in client modules, with and without a system message.

Why stand-ins: the recipe's correctness is what it passes to each API (Anthropic's takes system
text apart and rejects a ``system`` role in ``messages``), not the network call.
"""

from __future__ import annotations

import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def recipe() -> str:
    match = re.search(r"<!-- recipe: messages -->\n\s*```python\n(.*?)\n\s*```", README, re.S)
    assert match, "the messages recipe is missing from README.md"
    return textwrap.dedent(match.group(1))


class Recorder:
    calls: list[tuple[str, dict[str, Any]]]

    def __init__(self) -> None:
        self.calls = []

    def modules(self) -> dict[str, types.ModuleType]:
        calls = self.calls

        class Completions:
            def create(self, **kwargs: Any) -> None:
                calls.append(("openai", kwargs))

        class OpenAI:
            def __init__(self) -> None:
                self.chat = types.SimpleNamespace(completions=Completions())

        class Messages:
            def create(self, **kwargs: Any) -> None:
                calls.append(("anthropic", kwargs))

        class Anthropic:
            def __init__(self) -> None:
                self.messages = Messages()

        openai = types.ModuleType("openai")
        openai.OpenAI = OpenAI  # type: ignore[attr-defined]
        anthropic = types.ModuleType("anthropic")
        anthropic.Anthropic = Anthropic  # type: ignore[attr-defined]
        return {"openai": openai, "anthropic": anthropic}


@pytest.mark.parametrize("with_system", [True, False])
def test_the_recipe_sends_what_each_api_expects(sc, monkeypatch, with_system: bool) -> None:
    assert sc("goal", "Implement the OAuth2 login flow").exit_code == 0
    assert sc("remember", "The API uses JWT access tokens").exit_code == 0
    args = ["compile", "--format", "messages", "-b", "500"]
    if with_system:
        args += ["--system", "You are a security expert"]
    result = sc(*args)
    assert result.exit_code == 0, result.stderr
    Path("request.json").write_text(result.stdout, encoding="utf-8")
    recorder = Recorder()
    for name, module in recorder.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    exec(compile(recipe(), "README.md recipe", "exec"), {})
    (_, openai), (_, anthropic) = recorder.calls
    messages = result.json()
    prompt = "".join(m["content"] for m in messages)
    assert openai["messages"] == messages
    assert [m["role"] for m in anthropic["messages"]] == ["user"]
    assert "Implement the OAuth2 login flow" in anthropic["messages"][0]["content"]
    if with_system:
        assert anthropic["system"] == "You are a security expert\n"
        assert anthropic["system"] + anthropic["messages"][0]["content"] == prompt
    else:
        assert "system" not in anthropic  # never the whole prompt as system text
        assert anthropic["messages"][0]["content"] == prompt
