"""Compression strategies: the heuristic's rules, and hybrid with real external summarisers."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import pytest
from fixtures.sessions import pytest_output

from smartcontext_cli import MemoryStore
from smartcontext_cli.compression import (
    SummarizerError,
    compress,
    is_acknowledgement,
    near_duplicate,
    run_summarizer,
)
from smartcontext_cli.models import SessionItem

PY = shlex.quote(sys.executable)


def items(*pairs: tuple[str, str]) -> list[SessionItem]:
    return [SessionItem(role=r, content=c, seq=n + 1) for n, (r, c) in enumerate(pairs)]


class Artifacts:
    """Stands in for ``store_artifact`` where a test only needs the texts saved."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def __call__(self, name: str, text: str) -> str:
        ref = f"#a{len(self.saved) + 1}"
        self.saved[ref] = text
        return ref


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(body)
    return f"{PY} {shlex.quote(str(path))}"


@pytest.mark.parametrize(
    "text", ["ok", "Thanks!", "got it 👍", "ok thanks", "Sounds good.", "LGTM", "Will do!"]
)
def test_acknowledgements(text):
    assert is_acknowledgement(SessionItem(role="user", content=text))


@pytest.mark.parametrize(
    "role,text",
    [
        ("user", "yes"),
        ("user", "agreed"),
        ("user", "ok, do it"),
        ("user", "ok, now run the tests"),
        ("tool", "ok"),
    ],
)
def test_not_acknowledgements(role, text):
    # "yes" may be the decision itself; a tool printing "ok" is output, not politeness.
    assert not is_acknowledgement(SessionItem(role=role, content=text))


def test_near_duplicates_need_the_same_words_and_numbers():
    assert near_duplicate("Run the tests again.", "run the tests again")
    assert not near_duplicate("pytest: 14 passed in 2.1s", "pytest: 14 passed in 2.3s")
    assert not near_duplicate(
        "the billing service is owned by the billing team",
        "the billing service is owned by the mobile team",
    )


def test_none_keeps_everything_unchanged():
    log = items(("user", "ok"), ("user", "ok"))
    assert compress(log, "none", Artifacts()).items == log


def test_heuristic_rules():
    long_output = "\n".join(f"line {n}" for n in range(100))
    code = "```python\n" + "\n".join(f"x_{n} = {n}" for n in range(80)) + "\n```"
    saver = Artifacts()
    result = compress(
        items(
            ("user", "Please refactor src/billing/totals.py"),
            ("assistant", "ok"),
            ("tool", long_output),
            ("assistant", code),
            ("decision", "We keep Decimal everywhere; floats caused rounding bugs. " * 40),
            ("tool", "make lint: 0 problems"),
            ("tool", "Make lint: 0 problems!"),
            ("error", "ValueError: bad total 19.98"),
            ("error", "ValueError: bad total 19.98"),
            ("user", "thanks"),
        ),
        "heuristic",
        saver,
    )
    out = result.items
    assert (result.dropped, result.merged, result.shortened) == (2, 2, 1)
    assert out[0].role == "summary" and out[0].meta["trim"]["dropped"] == 2
    by_role = {}
    for item in out[1:]:
        by_role.setdefault(item.role, []).append(item)
    # The long tool output: head and tail, and the whole text saved under the ref it shows.
    shortened = by_role["tool"][0]
    assert shortened.content.startswith("line 0\nline 1") and shortened.content.endswith("line 99")
    assert "[80 lines omitted; full output: #a1]" in shortened.content
    assert saver.saved["#a1"] == long_output
    # Code, long decisions and numbers stay verbatim; repeats carry their count.
    assert by_role["assistant"][0].content == code
    assert by_role["decision"][0].content.count("floats caused rounding bugs") == 40
    assert by_role["tool"][1].content == "make lint: 0 problems\n[repeated 2 times]"
    assert by_role["error"][0].content == "ValueError: bad total 19.98\n[repeated 2 times]"


def test_heuristic_twice_folds_counts_instead_of_repeating_them():
    saver = Artifacts()
    first = compress(
        items(("user", "ok"), ("tool", "ls: 3 files"), ("tool", "ls: 3 files")), "heuristic", saver
    )
    later = [*first.items, SessionItem(role="user", content="thanks", seq=9)]
    again = compress(later, "heuristic", saver).items
    assert len([i for i in again if i.role == "summary"]) == 1
    assert again[0].meta["trim"]["dropped"] == 2
    assert again[0].meta["trim"]["events"] == 4
    assert again[1].content == "ls: 3 files\n[repeated 2 times]"


# hybrid: a real external command ---------------------------------------------------------------


def test_summarizer_gets_the_text_on_stdin(tmp_path):
    received = tmp_path / "received.txt"
    command = script(
        tmp_path,
        "summarize.py",
        "import sys, pathlib\n"
        f"text = sys.stdin.read(); pathlib.Path({str(received)!r}).write_text(text)\n"
        "print(f'SUMMARY of {len(text.splitlines())} lines')\n",
    )
    result = compress(
        items(
            ("user", "We looked at the invoice export"),
            ("decision", "Invoices are generated at 02:00 UTC"),
            ("error", "TimeoutError: S3 upload took 31s"),
        ),
        "hybrid",
        Artifacts(),
        command=command,
        timeout=20,
    )
    assert result.notice is None and result.strategy == "hybrid"
    [summary] = result.items
    assert summary.role == "summary" and summary.content.startswith("[summary of 3 earlier events")
    assert "SUMMARY of" in summary.content
    # Decisions and errors stay verbatim next to the summary.
    assert "- decision: Invoices are generated at 02:00 UTC" in summary.content
    assert "- error: TimeoutError: S3 upload took 31s" in summary.content
    sent = received.read_text()
    assert "Keep every decision" in sent and "user: We looked at the invoice export" in sent


def test_llm_echo_as_the_summarizer(tmp_path, monkeypatch):
    # llm keeps its config under LLM_USER_PATH: point it at a temporary directory.
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    result = compress(
        items(("user", "The nightly batch handles 48000 orders")),
        "hybrid",
        Artifacts(),
        command=f"{PY} -m llm -m echo",
        timeout=60,
    )
    assert result.notice is None
    body = result.items[0].content.split("\n", 1)[1]
    echoed = json.loads(body[: body.rindex("}") + 1])
    assert "user: The nightly batch handles 48000 orders" in echoed["prompt"]


@pytest.mark.parametrize(
    "body,expected",
    [
        (
            "import sys; sys.stderr.write('quota exceeded\\n'); sys.exit(3)",
            "exited with status 3: quota exceeded",
        ),
        ("import sys; sys.stdin.read()", "printed nothing"),
    ],
)
def test_summarizer_failure_falls_back_to_heuristic(tmp_path, body, expected):
    command = script(tmp_path, "bad.py", body)
    result = compress(
        items(("user", "ok"), ("user", "Deploy on Tuesday")), "hybrid", Artifacts(), command, 20
    )
    assert result.strategy == "heuristic"
    assert expected in result.notice and "used the heuristic strategy" in result.notice
    assert [i.content for i in result.items if i.role == "user"] == ["Deploy on Tuesday"]


def test_missing_command_and_no_configuration_fall_back():
    log = items(("user", "Deploy on Tuesday"))
    missing = compress(log, "hybrid", Artifacts(), "no-such-summarizer-xyz --fast", 5)
    assert "cannot run 'no-such-summarizer-xyz'" in missing.notice
    unset = compress(log, "hybrid", Artifacts(), None, 5)
    assert "no summarizer is configured" in unset.notice


def test_timeout_kills_the_whole_process_group(tmp_path):
    # A wrapper whose child keeps the pipes open: only killing the group returns promptly.
    wrapper = tmp_path / "slow.sh"
    wrapper.write_text("#!/bin/sh\nsleep 30\necho never\n")
    wrapper.chmod(0o755)
    start = time.monotonic()
    with pytest.raises(SummarizerError, match=r"timed out after 0\.5 s"):
        run_summarizer(shlex.quote(str(wrapper)), "text", 0.5)
    assert time.monotonic() - start < 10


def test_store_trims_with_hybrid_and_reports_the_fallback(home, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "SMARTCONTEXT_SUMMARIZER", script(tmp_path, "fail.py", "raise SystemExit(2)")
    )
    store = MemoryStore(namespace="hy", max_session_turns=4, compression_strategy="hybrid")
    for n in range(5):
        store.add_session_item("tool", pytest_output(n), command="pytest -v")
    assert store.last_trim is not None
    assert "exited with status 2" in store.last_trim.notice
    assert any("used the heuristic strategy" in n for n in store.notices)
    assert len(store.get_session_items()) <= 4

    good = script(tmp_path, "good.py", "import sys; sys.stdin.read(); print('All five steps done')")
    monkeypatch.setenv("SMARTCONTEXT_SUMMARIZER", good)
    store = MemoryStore(namespace="hy2", max_session_turns=4, compression_strategy="hybrid")
    for n in range(5):
        store.add_session_item("tool", pytest_output(n), command="pytest -v")
    first = store.get_session_items()[0]
    assert first.role == "summary" and "All five steps done" in first.content
    assert store.last_trim.strategy == "hybrid" and store.last_trim.notice is None


def test_no_acknowledgement_word_holds_a_digit() -> None:
    """is_acknowledgement answers no at once for a text with a digit; that holds only while no
    acknowledgement word or phrase has one."""
    from smartcontext_cli.compression import ACK_PHRASES, ACK_WORDS

    assert not any(ch.isdigit() for w in (*ACK_WORDS, *ACK_PHRASES) for ch in w)
