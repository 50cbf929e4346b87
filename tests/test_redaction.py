"""Secrets are caught at the door (the store never holds them) and kept out of compiled prompts;
nothing else is touched."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import given
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
def test_no_secret_reaches_a_compiled_prompt(home, backend: str, monkeypatch) -> None:
    # Stored as given (redact = warn), so this is the compiler's own redaction at work.
    monkeypatch.setenv("SMARTCONTEXT_REDACT", "warn")
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
    # With redact = warn the store keeps what was written, and says so.
    assert GITHUB in store.list()[0].content
    assert any("stored as given because redact = warn" in n for n in store.admitted)


def test_compile_says_what_it_redacted_with_verbose(sc, monkeypatch) -> None:
    monkeypatch.setenv("SMARTCONTEXT_REDACT", "off")
    assert sc("remember", f"token {GITHUB}", "--kind", "decision").exit_code == 0
    result = sc("compile", "-v")
    assert GITHUB not in result.stdout and "[REDACTED:github token]" in result.stdout
    assert "redacted 1 secret (1 github token) from the prompt" in result.stderr


# the door: text entering the store -----------------------------------------------------------

# The kinds issue 13 found reaching the prompt verbatim (fake values in their real shapes).
MISSED = {
    "aws secret": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "gitlab": "GITLAB_TOKEN=glpat-Zx9_qLm3Tr8vWn2Kp4Hs",
    "slack webhook": "https://hooks.slack.com/services/T0AB12CDE/B0CD34EFG/Xy9AbCdEfGhIjKlMnOpQrStU",
    "stripe webhook": "STRIPE_WEBHOOK_SECRET=whsec_4f8Tq2LmN9pRs3Vx7Yz1Ab5Cd6Ef0Gh2",
    "redis": "REDIS_URL=redis://:Tr0ub4dor-3x@cache.internal:6379/0",
    "password flag": "mysql -u root --password=Quartz2919&nimbus app",
    "django": "SECRET_KEY = 'k#9x!2mQ@p7Lz&4Rw^8Tn%3Vb(6Yc)1Hf-5Jd=0Gs+Ke'",
    "json secret": '{"secret_key": "Vq3nL8rT2mW9xK4pZ7sB1dF6hJ0gC5yA"}',
    "json token": '{"token": "pQ8mZ2rX5tL9vB3nK7wY1cF4hJ6gD0sA", "expires": 3600}',
    "npm": "//registry.npmjs.org/:_authToken=npm_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78",
    "hugging face": "HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "sendgrid": "SENDGRID_API_KEY=SG.Ab1Cd2Ef3Gh4Ij5Kl6Mn7O."
    + "Pq8Rs9Tu0Vw1Xy2Za3Bc4De5Fg6Hi7Jk8Lm9No0Pq1Rs",
    "azure": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
    + "Zm9vYmFy" * 10
    + "ab==;EndpointSuffix=core.windows.net",
}


@pytest.mark.parametrize(("kind", "line"), sorted(MISSED.items()))
def test_the_kinds_that_used_to_pass_are_caught(kind: str, line: str) -> None:
    out = redact(line)
    assert "[REDACTED:" in out, kind
    assert out == redact(out)  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        'password = os.environ["DB_PASSWORD"]',  # the clean line issue 13 saw altered
        "api_key = os.getenv('OPENAI_API_KEY')",
        "password: ${DB_PASSWORD}",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
        "aws_secret_access_key = <your-secret-key>",
        "max_tokens = 1024",
        "token_count = len(tokens)",
        "password = password",
    ],
)
def test_environment_references_and_code_are_not_secrets(text: str) -> None:
    assert redact(text) == text


SECRET_LINE = "deploy token ghp_" + "Zz9Yy8Xx7W" * 4 + " for CI"


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_with_redact_the_original_never_touches_disk(home, sc, backend: str) -> None:
    assert sc("--backend", backend, "remember", SECRET_LINE).exit_code == 0
    result = sc("session", "add", "tool", f"$ export GITHUB_TOKEN={SECRET_LINE.split()[2]}")
    assert "redacted 1 secret(s) (1 github token) from the session event" in result.stderr
    sc("artifact", "add", ".env", "-", input=f"TOKEN={SECRET_LINE.split()[2]}\n")
    sc("goal", SECRET_LINE)
    sc("todo", "add", SECRET_LINE)
    sc("error", "log", "deploy", f"401 with {SECRET_LINE}")
    sc("compile", "-q", SECRET_LINE)
    secret = SECRET_LINE.split()[2]
    for args in (("list", "--json"), ("export",), ("session", "show", "--json")):
        assert secret not in sc(*args).stdout
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_an_import_is_redacted_at_the_door(home, sc, tmp_path) -> None:
    secret = "sk_live_" + "Ab1Cd2Ef3Gh4" * 2
    lines = [
        {"type": "memory", "content": f"stripe key {secret}"},
        {
            "type": "doc",
            "collection": "artifacts",
            "key": "a1",
            "data": {"id": "a1", "name": "env", "content": f"STRIPE={secret}"},
        },
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = sc("import", str(source))
    assert result.exit_code == 0, result.stderr
    assert secret not in sc("export").stdout
    assert "[REDACTED:stripe key]" in sc("artifact", "show", "a1").stdout


@pytest.mark.parametrize(("policy", "stored"), [("warn", True), ("off", True), ("redact", False)])
def test_the_redact_setting(home, sc, monkeypatch, policy: str, stored: bool) -> None:
    monkeypatch.setenv("SMARTCONTEXT_REDACT", policy)
    result = sc("remember", SECRET_LINE)
    assert result.exit_code == 0
    secret = SECRET_LINE.split()[2]
    assert (secret in sc("export").stdout) is stored
    assert ("warning:" in result.stderr) is (policy == "warn")
    assert secret not in sc("compile", "-q", "deploy").stdout  # prompts are always clean


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_commit_message_is_redacted_at_the_door(home, sc, tmp_path, monkeypatch) -> None:
    # Found while merging main's git hooks: commit memories were stored as the message said.
    repo = tmp_path / "proj"
    repo.mkdir()
    secret = SECRET_LINE.split()[2]

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Ann Dev")
    git("config", "user.email", "ann@example.com")
    git("config", "commit.gpgsign", "false")
    for i, message in enumerate(
        ["Initial", f"Rotate the CI token {secret}\n\nWhy: {secret} leaked"]
    ):
        (repo / f"{i}.txt").write_text(message)
        git("add", f"{i}.txt")
        git("commit", "-q", "-m", message)
    monkeypatch.chdir(repo)
    result = sc("hook", "backfill", "--since", "HEAD~1", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["memories"] == 2
    assert "[REDACTED:github token]" in sc("list", "--json").stdout
    assert sc("doctor").exit_code == 0  # the recorded commits pass their shape check
    for path in home.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_remembering_a_secret_twice_stores_it_once(home, sc) -> None:
    # Found while merging main's duplicate check: the raw text never equalled the stored
    # (redacted) one, so `remember` stored a text holding a secret again every time.
    first = sc("remember", SECRET_LINE)
    second = sc("remember", SECRET_LINE)
    assert first.exit_code == second.exit_code == 0
    assert len(sc("list", "--json").json()) == 1
    assert "already" in second.stderr


def test_a_private_key_cut_short_is_redacted_to_the_end() -> None:
    text = "deploy key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\nAAAA"
    assert redact(text) == "deploy key:\n[REDACTED:private key]"
