"""Secrets are kept out of compiled prompts, and nothing else is touched."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore
from smartcontext_cli.redaction import Redactions, redact
from smartcontext_cli.tokens import count_tokens

GITHUB = "ghp_" + "A1b2C3d4E5" * 4
SECRETS = {
    "aws access key": "AKIAIOSFODNN7EXAMPLE",
    "github token": GITHUB,
    "api key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
    "slack token": "xoxb-1234567890-abcdefghij",
    "stripe key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "google api key": "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"[:35],
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
}


@pytest.mark.parametrize(("kind", "secret"), sorted(SECRETS.items()))
def test_each_known_credential_shape_is_redacted(kind: str, secret: str) -> None:
    found = Redactions()
    text = redact(f"deploy with {secret} tonight", found)
    assert secret not in text
    assert text == f"deploy with [REDACTED:{kind}] tonight"
    assert found.counts == {kind: 1}


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("DATABASE_URL=postgres://app:s3cr3t-pw@db:5432/x", "postgres://app:", "s3cr3t-pw"),
        ("password: 'correct horse'", "password: '", "correct"),
        ("client_secret=9f8e7d6c5b4a", "client_secret=", "9f8e7d6c5b4a"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012", "Bearer ", "abcdefghijklmnop"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz\n-----END OPENSSH PRIVATE KEY-----",
            "",
            "b3Blbn",
        ),
    ],
)
def test_assignments_keep_their_name_and_lose_their_value(text: str, kept: str, gone: str) -> None:
    out = redact(text)
    assert kept in out and gone not in out and "[REDACTED:" in out


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f2a9c1b4d5e6f708192a3b4c5d6e7f8a9b0c1d2",
        "request id 123e4567-e89b-12d3-a456-426614174000",
        "The password policy requires 12 characters",
        "see https://example.com/docs and task-list items",
        "skip the sk- prefix check for short ids like sk-12",
        "memory 3f2a9c1b: #a1 auth_service.py",
    ],
)
def test_ordinary_text_passes_untouched(text: str) -> None:
    assert redact(text) == text


@given(st.text())
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_no_secret_reaches_a_compiled_prompt(home, backend: str) -> None:
    store = MemoryStore(namespace="secrets", storage_backend=backend)
    store.set_goal(f"Rotate the deploy key {SECRETS['aws access key']}")
    store.remember(f"CI token is {GITHUB}; rotate monthly", kind="decision")
    store.add_session_item("tool", "export DATABASE_URL=postgres://app:hunter22@db/x")
    store.store_artifact(".env", "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx\nDEBUG=1\n")
    store.log_error("deploy", f"401 for token {SECRETS['slack token']}")
    ctx = store.compile(token_budget=4000)
    prompt = ctx.to_prompt()
    for secret in (SECRETS["aws access key"], GITHUB, "hunter22", SECRETS["slack token"]):
        assert secret not in prompt
    assert "[REDACTED:github token]" in prompt and "rotate monthly" in prompt
    assert ctx.total_tokens == count_tokens(prompt) <= 4000
    # The store keeps what was written: it is the user's own, private file.
    assert GITHUB in store.list()[0].content


def test_compile_says_what_it_redacted_with_verbose(sc) -> None:
    assert sc("remember", f"token {GITHUB}", "--kind", "decision").exit_code == 0
    result = sc("compile", "-v")
    assert GITHUB not in result.stdout and "[REDACTED:github token]" in result.stdout
    assert "redacted 1 secret (1 github token) from the prompt" in result.stderr


# The triggers: a rule runs only when its literal is present, which never changes the result.


def redact_every_rule(text: str) -> str:
    """The reference: every rule applied, none skipped (what redact did before triggers)."""
    from smartcontext_cli import redaction

    for rule in redaction._COMPILED:
        pattern, group, kind = rule.pattern, rule.group, rule.kind

        def replace(match, group=group, kind=kind):
            secret = match.group(group)
            if redaction._ALREADY.fullmatch(secret):
                return match.group(0)
            start, end = match.span(group)
            whole = match.group(0)
            at = match.start(0)
            return whole[: start - at] + f"[REDACTED:{kind}]" + whole[end - at :]

        text = pattern.sub(replace, text)
    return text


FRAGMENTS = st.sampled_from(
    [
        *SECRETS.values(),
        "password",
        "PASSWORD",
        "paſſword",
        "Pwd",
        "apı_key",
        "API-KEY",
        "client_secret",
        "Access_Token",
        "private-key",
        "BEARER",
        "Bearer ",
        "://",
        "postgres://u:",
        "@db",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "=",
        ": ",
        " ",
        "\n",
        "'",
        '"',
        "abcdefghijklmnop123456",
        "sk-",
        "ghp_",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=12).map("".join))
def test_triggers_never_change_what_is_redacted(text: str) -> None:
    assert redact(text) == redact_every_rule(text)


def test_case_insensitive_triggers_fold_as_re_does() -> None:
    import re

    from smartcontext_cli.redaction import _TRIGGERS, folded

    letters = {ch for needles, fold, _ in _TRIGGERS if fold for n in needles for ch in n}
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for letter in sorted(letters):
        for ch in re.findall(letter, everything, re.IGNORECASE):  # every character re matches
            assert letter in folded(ch), f"{ch!r} matches {letter!r} under re.I but does not fold"


def test_a_private_key_cut_short_is_redacted_to_the_end() -> None:
    text = "deploy key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\nAAAA"
    assert redact(text) == "deploy key:\n[REDACTED:private key]"
