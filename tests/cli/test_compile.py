"""The compile, stats, explain and mode commands, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smartcontext_cli.tokens import Tokenizer


@pytest.fixture
def project(sc) -> None:
    for args in (
        ("remember", "API uses JWT; tokens expire after 1h", "-t", "auth", "--kind", "fact"),
        ("remember", "Never log raw tokens", "-t", "auth"),
        ("remember", "The billing database is PostgreSQL 16"),
        ("goal", "Implement the OAuth2 login flow with token refresh"),
        ("todo", "add", "Write tests for token refresh"),
        ("prefix", "set", "You are a careful senior engineer."),
    ):
        assert sc(*args).exit_code == 0, args


def test_compile_prints_only_the_prompt(sc, project) -> None:
    result = sc("compile")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("You are a careful senior engineer.\n## Goal\n")
    assert "- API uses JWT; tokens expire after 1h\n" in result.stdout
    assert "PostgreSQL" not in result.stdout
    assert result.stdout.endswith("Write tests for token refresh\n")
    assert Tokenizer().count(result.stdout) <= 4000


def test_verbose_reports_on_stderr_and_leaves_stdout_alone(sc, project) -> None:
    quiet = sc("compile", "--budget", "300").stdout
    result = sc("compile", "--budget", "300", "-v")
    assert result.stdout == quiet
    assert "compiled " in result.stderr and "/300 tokens (cl100k_base)" in result.stderr
    assert "section        used / allocated" in result.stderr and "█" in result.stderr
    assert "cache reuse 100% of the previous prompt" in result.stderr
    full = sc("compile", "--budget", "300", "-vv").stderr
    assert "included" in full and "mandatory" in full
    minimal = sc("compile", "--transparency", "minimal").stderr
    assert minimal.count("\n") == 1 and minimal.startswith("compiled ")


def test_transparency_from_config(sc, project, monkeypatch) -> None:
    monkeypatch.setenv("SMARTCONTEXT_TRANSPARENCY", "normal")
    assert "loaded: 1 goal, 2 memories" in sc("compile").stderr


@pytest.mark.parametrize("fmt", ["text", "markdown", "xml"])
def test_text_formats(sc, project, fmt: str) -> None:
    result = sc("compile", "--format", fmt)
    assert result.exit_code == 0
    assert result.stdout.startswith("You are a careful senior engineer.\n")
    header = {"text": "GOAL:\n", "markdown": "## Goal\n", "xml": "<goal>\n"}[fmt]
    assert header in result.stdout


def test_json_and_messages_formats(sc, project) -> None:
    data = sc("compile", "--format", "json").json()
    assert data["total_tokens"] <= data["budget"] == 4000 and data["encoding"] == "cl100k_base"
    assert data["prompt"] == sc("compile").stdout and data["compile_id"] >= 1
    messages = sc("compile", "-f", "messages").json()
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == "You are a careful senior engineer.\n"
    assert "".join(m["content"] for m in messages) == data["prompt"]


def test_ad_hoc_inputs_and_stdin(sc, project, tmp_path: Path) -> None:
    code = tmp_path / "refresh.py"
    code.write_text("def refresh(token):\n    return rotate(token)\n")
    result = sc(
        "compile",
        "-M",
        "Refresh tokens rotate on use",
        "-O",
        "CI is green",
        "--system",
        "Answer briefly.",
        "--artifact",
        str(code),
        "-M",
        "-",
        input="from stdin: sessions last 30 days",
    )
    out = result.stdout
    assert result.exit_code == 0, result.stderr
    assert (
        "- Refresh tokens rotate on use\n" in out and "- from stdin: sessions last 30 days\n" in out
    )
    assert "- CI is green\n" in out and "Answer briefly.\n" in out
    assert "- refresh.py:\n  ```python\n  def refresh(token):\n" in out
    two = sc("compile", "-M", "-", "--system", "-", input="x")
    assert two.exit_code == 2 and "only one option can read standard input" in two.stderr


def test_strict_budget_exit_code_and_the_warning_without_it(sc, project) -> None:
    strict = sc("compile", "--budget", "10", "--strict")
    assert strict.exit_code == 3 and strict.stdout == ""
    assert "smartcontext: error: the mandatory parts need" in strict.stderr
    loose = sc("compile", "--budget", "10")
    assert loose.exit_code == 0
    assert (
        "smartcontext: warning: the" in loose.stderr and "to fit the budget of 10" in loose.stderr
    )
    assert Tokenizer().count(loose.stdout) <= 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--budget", "0"), "budget"),
        (("--format", "yaml"), "--format must be one of"),
        (("--mode", "turbo"), "unknown mode 'turbo'"),
        (("--encoding", "p50k"), "unknown encoding 'p50k'"),
        (("--transparency", "loud"), "--transparency must be one of"),
    ],
)
def test_bad_options_are_usage_errors(sc, project, args, message) -> None:
    result = sc("compile", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_nothing_to_compile(sc) -> None:
    result = sc("compile")
    assert result.exit_code == 1 and "nothing to compile in namespace 'default'" in result.stderr


def test_stats(sc, project) -> None:
    assert sc("stats").stdout.startswith("working\t")  # tiers first, even before any compile
    for budget in ("60", "4000"):
        sc("compile", "--budget", budget)
    data = sc("stats", "--json").json()
    assert {"tiers", "compilations", "quality_scores", "trend", "sparkline", "cache"} <= set(data)
    assert data["tiers"]["long_term"]["items"] == 3 and data["compilations"] == 2
    assert data["trend"] in ("improving", "stable")
    text = sc("stats").stdout
    assert "long_term\t3\t" in text and "quality: mean" in text and "cache reuse:" in text


def test_explain(sc, project) -> None:
    assert sc("explain").exit_code == 1
    sc("compile", "--budget", "40")
    sc("compile")
    data = sc("explain", "1", "--json").json()
    assert data["compile_id"] == 1 and data["budget"] == 40
    outcomes = {d["outcome"] for d in data["explanation"]["decisions"]}
    assert "dropped" in outcomes or "cut" in outcomes
    text = sc("explain").stdout
    assert text.startswith("compile 2 at ") and "strategy: balanced policy" in text
    assert "\tmemories\tmemory " in text
    missing = sc("explain", "99")
    assert missing.exit_code == 1 and "no compilation 99" in missing.stderr


def test_mode(sc, project) -> None:
    shown = sc("mode")
    assert shown.stdout == "balanced\n" and "from default" in shown.stderr
    assert sc("mode", "debugging").exit_code == 0
    data = sc("mode", "--json").json()
    assert data["mode"] == "debugging" and data["source"] == "namespace"
    assert data["policy"]["allocation"]["observations"] == 0.45
    assert "mode debugging" in sc("compile", "-v").stderr
    assert sc("mode", "--clear").exit_code == 0 and sc("mode").stdout == "balanced\n"
    bad = sc("mode", "turbo")
    assert bad.exit_code == 2 and "unknown mode 'turbo'" in bad.stderr
    assert sc("mode", "auto").exit_code == 0
    assert "mode auto: coding (detected)" in sc("compile", "-v").stderr  # "Implement ..." is coding


def test_custom_policy_from_project_config(sc, project, home: Path) -> None:
    (home / "config.toml").write_text(
        "[policies.security_audit.allocation]\n"
        "goal = 0.2\nmemories = 0.25\nobservations = 0.3\n"
        "artifacts = 0.15\nstrategy = 0.05\nsystem = 0.05\n"
    )
    result = sc("compile", "--mode", "security_audit", "-v")
    assert result.exit_code == 0 and "policy security_audit: goal 20%" in result.stderr
    (home / "config.toml").write_text("[policies.half]\ngoal = 0.5\n")
    broken = sc("compile", "--mode", "half")
    assert broken.exit_code == 2 and "policy 'half': shares sum to 0.500" in broken.stderr


def test_the_prompt_arrives_intact_through_llm(sc, project, tmp_path: Path) -> None:
    # Real processes, a real pipe: smartcontext compile | llm -m echo (llm-echo, test extra).
    llm = shutil.which("llm") or str(Path(sys.executable).parent / "llm")
    assert Path(llm).exists(), "llm is part of the test extra: pip install -e '.[test]'"
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path / "llm")}
    sc("remember", 'Ünïcödé survives: 東京 🙂 `code` <xml> "quotes"', "-t", "auth")
    expected = sc("compile", "-q", "survives auth").stdout
    producer = subprocess.Popen(
        [sys.executable, "-m", "smartcontext_cli", "compile", "-q", "survives auth"],
        stdout=subprocess.PIPE,
        env=env,
    )
    consumer = subprocess.run(
        [llm, "-m", "echo"], stdin=producer.stdout, capture_output=True, env=env, timeout=120
    )
    producer.stdout.close()  # type: ignore[union-attr]
    assert producer.wait(timeout=60) == 0 and consumer.returncode == 0, consumer.stderr
    echoed = json.loads(consumer.stdout)
    assert echoed["prompt"] == expected and "東京 🙂" in echoed["prompt"]


def test_warm_compile_and_mode_do_not_import_tiktoken(sc, project, home: Path) -> None:
    sc("compile")  # fills the count caches...
    sc("compile", "--format", "xml")  # ...including xml's own section tags
    probe = (
        "import sys\nfrom smartcontext_cli.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('tiktoken' in sys.modules, file=sys.stderr)\n"
    )
    for args in (["compile"], ["mode"], ["compile", "--format", "xml"]):
        proc = subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "SMARTCONTEXT_HOME": str(home)},
            timeout=60,
        )
        assert proc.stderr.strip().splitlines()[-1] == "False", (args, proc.stderr)


def test_an_unavailable_encoding_is_a_warning_and_a_margin(
    sc, project, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    result = sc("compile", "--encoding", "o200k_base", "--budget", "200", "--format", "json")
    assert result.exit_code == 0
    assert "warning: o200k_base is not in tiktoken's cache" in result.stderr
    data = result.json()
    assert data["effective_budget"] == 190 and data["estimate"] is True
    assert Tokenizer().count(data["prompt"]) <= 190
