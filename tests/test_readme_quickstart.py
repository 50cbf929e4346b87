"""The README's quick start, run as written: its prompt holds the memory that matters.

The session block under "A session, pasted as it is:" is read from README.md itself, so the
test follows the README when it changes. It used to compile a prompt without "API uses JWT;
tokens expire after 1h": the goal ("Implement the OAuth2 login flow") shares no word with it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def session_block() -> list[list[str]]:
    text = README.split("A session, pasted as it is:", 1)[1]
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.strip().splitlines():
        words = shlex.split(line, comments=True)
        assert words[0] == "smartcontext", line
        commands.append(words[1:])
    return commands


def test_the_block_is_found():
    commands = session_block()
    assert commands[0][0] == "remember" and commands[-1][0] == "compile"


def test_the_quick_start_prompt_holds_the_memory_that_matters(sc):
    out = ""
    for args in session_block():
        result = sc(*args)
        assert result.exit_code == 0, (args, result.stderr)
        out = result.stdout
    assert "## Goal\nImplement the OAuth2 login flow" in out
    assert "API uses JWT; tokens expire after 1h" in out
    assert "Never log raw tokens" in out
    assert "Write tests for token refresh" in out
