"""Tool runs in a compacted log: grouped by the command they ran, failures named the tool's way.

A tool event's group is the command it ran: ``meta["command"]`` (``session add tool -
--command "pytest -q"``, ``add_session_item(..., command=...)``), or a first line that echoes a
shell prompt (``$ pytest -q``). Arguments that name files are dropped, so ``pytest -q
tests/test_a.py`` and ``pytest -q tests/test_b.py`` are one row. Output without a command is
never keyed on its first line (``. [100%]`` is pytest's progress, not a command): it is grouped
as ``(no command)``, or ``(no command; pytest output)`` when the output is recognisably one
tool's.

Whether a run failed, and the line that says why (its *headline*), come from the tool's own
conventions, a documented set (README, "Compaction"):

* pytest: ``FAILED``/``ERROR`` summary lines, else the first ``E `` line (never the ``>`` source
  marker); a summary with ``N failed`` or ``N error``.
* npm: a jest ``●`` test title, else the first ``npm ERR!``/``npm error`` line that is not
  bookkeeping (``code``, ``errno``, ``path``, the log file).
* cargo: ``error[E…]:``/``error:`` with its ``-->`` location; a test's ``panicked at`` line.
* go test: ``--- FAIL: TestX`` with the message under it, ``file.go:L:C:`` build errors,
  ``panic:``.
* tsc: ``file.ts(L,C): error TS…`` (or ``file.ts:L:C - error TS…``).
* mypy: ``file.py:L: error: …``.
* ruff: ``file.py:L:C: RULE …`` (or a rule line with its ``-->`` location), ``Would reformat``.
* anything else: a Python traceback's last line, ``error:``/``fatal:`` lines, ``exit code N``.

Headline lines are kept as the tool printed them (colour codes aside). Pure functions, linear in
the output's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .text import contains_any

TOOL_ROLES = frozenset({"tool", "output", "command", "shell"})
MAX_HEADLINE = 300
# Arguments that name a file or a path: runs on different files are one kind of run.
PATHLIKE_ARG = re.compile(r"/|\.(?:py|js|ts|go|rs|rb|java|c|h|cpp|json|ya?ml|toml|md|txt|sql|sh)$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Wrappers in front of the tool that names the run: env assignments, runners, interpreters.
WRAPPERS = frozenset({"uv", "run", "poetry", "pipx", "npx", "pnpm", "yarn", "exec", "sudo", "env"})
OUTCOME = re.compile(
    r"\b(?:passed|failed|errors?|warnings?|ok|done|success(?:ful)?|finished|exit(?:ed)?|"
    r"\d+ (?:files?|tests?|items?|rows?|changed))\b",
    re.I,
)


def command_of(meta_command: object, text: str) -> str | None:
    """The command a tool event ran: its ``command`` meta, or a ``$ ...`` first line."""
    if isinstance(meta_command, str) and meta_command.strip():
        return meta_command.strip().splitlines()[0].removeprefix("$ ").strip()
    first = text.lstrip("\n").split("\n", 1)[0]
    if first.startswith("$ ") and first[2:].strip():
        return first[2:].strip()
    return None


def label_of(command: str) -> str:
    words = command.split()
    cut = next((n for n, w in enumerate(words) if n and PATHLIKE_ARG.search(w)), len(words))
    return " ".join(words[:cut])[:100]


def tool_of(command: str | None) -> str | None:
    """Which known tool a command runs (``python -m pytest`` is pytest, ``npx tsc`` is tsc)."""
    if not command:
        return None
    words = [w for w in command.split() if "=" not in w or w.startswith("-")]
    while words and (words[0] in WRAPPERS or words[0].startswith("python")):
        if words[0].startswith("python") and len(words) > 2 and words[1] == "-m":
            words = words[2:]
            break
        words = words[1:]
    if not words:
        return None
    head = words[0].rsplit("/", 1)[-1]
    if head in ("pytest", "py.test"):
        return "pytest"
    if head in ("npm", "jest"):
        return "npm"
    if head == "go" and len(words) > 1 and words[1] in ("test", "build", "vet", "run"):
        return "go"
    if head in ("dmypy", "mypy"):
        return "mypy"
    if head in ("cargo", "tsc", "ruff"):
        return head
    return None


# headlines, one function per tool ---------------------------------------------------------
# Why str.find and line-level patterns: a multi-line regex scan tries every position of a long
# output; finding a needle first and matching only its line is ten times faster, and tool
# outputs are most of a log's text.


def _lines(text: str, needle: str, pattern: re.Pattern[str], start: int = 0) -> Iterator[str]:
    """Each line (from ``start``) that contains ``needle`` and begins with ``pattern``."""
    while (i := text.find(needle, start)) >= 0:
        begin = text.rfind("\n", 0, i) + 1
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        line = text[begin:end]
        if pattern.match(line):
            yield line
        start = end + 1


def _first(text: str, needle: str, pattern: re.Pattern[str]) -> str | None:
    return next(_lines(text, needle, pattern), None)


def _after(text: str, line: str, n: int) -> list[str]:
    """The ``n`` lines after the first occurrence of ``line``."""
    at = text.find(line)
    return text[at + len(line) :].lstrip("\n").split("\n", n)[:n] if at >= 0 else []


PYTEST_FAILED = re.compile(r"(?:FAILED|ERROR) \S")
PYTEST_E = re.compile(r"E {2,}\S")
PYTEST_SUMMARY = re.compile(r"=*\s*(?:\d+ \w+, )*\d+ (?:failed|errors?)\b")


def pytest_headline(text: str) -> str | None:
    failed = _first(text, "FAILED ", PYTEST_FAILED) or _first(text, "ERROR ", PYTEST_FAILED)
    detail = _first(text, "E  ", PYTEST_E)
    detail = detail[1:].strip() if detail else None
    if failed:
        return f"{failed} - {detail}" if " - " not in failed and detail else failed
    if detail:
        return detail
    summary = _first(text, " failed", PYTEST_SUMMARY) or _first(text, " error", PYTEST_SUMMARY)
    return summary.strip(" =") if summary else None


NPM_ERR = re.compile(r"npm (?:ERR!|error) ")
NPM_BOOKKEEPING = re.compile(
    r"(?:code|errno|syscall|path|signal|command|cwd|dest)\b|.*complete log|\s*$|Test failed"
    r"|A complete|\s*at ",
    re.I,
)
JEST = re.compile(r"\s*● (?!Console)\S")


def npm_headline(text: str) -> str | None:
    test = _first(text, "● ", JEST)
    if test:
        return test.strip()
    errors = [*_lines(text, "npm ERR!", NPM_ERR), *_lines(text, "npm error ", NPM_ERR)]
    for line in errors:
        if not NPM_BOOKKEEPING.match(line.split(" ", 2)[2] if line.count(" ") >= 2 else ""):
            return line
    return errors[0] if errors else None


CARGO_ERROR = re.compile(r"error(?:\[E\d+\])?: (?!could not compile|aborting due to)")
CARGO_ANY_ERROR = re.compile(r"error(?:\[E\d+\])?: ")
CARGO_AT = re.compile(r"\s*--> (\S+)")
PANIC = re.compile(r"thread '[^']*' panicked at ")
CARGO_FAILED = re.compile(r"test result: FAILED")


def _located(text: str, line: str, within: int) -> str:
    """``line`` with the ``--> file:line:col`` printed within the next ``within`` lines."""
    for later in _after(text, line, within):
        where = CARGO_AT.match(later)
        if where:
            return f"{line} --> {where.group(1)}"
    return line


def cargo_headline(text: str) -> str | None:
    error = _first(text, "error", CARGO_ERROR)
    if error:
        return _located(text, error, 2)
    panic = _first(text, "panicked at", PANIC)
    if panic:
        if panic.endswith(":"):  # Rust 1.73+: the message is on the next line
            rest = [r.strip() for r in _after(text, panic, 1) if r.strip()]
            return f"{panic} {rest[0]}" if rest else panic
        return panic
    return _first(text, "error", CARGO_ANY_ERROR) or _first(text, "test result:", CARGO_FAILED)


GO_FAIL = re.compile(r"\s*--- FAIL: \S")
GO_BUILD = re.compile(r"\S+\.go:\d+(?::\d+)?: ")
GO_PANIC = re.compile(r"panic: ")
GO_PACKAGE_FAIL = re.compile(r"FAIL\s+\S")


def go_headline(text: str) -> str | None:
    fail = _first(text, "--- FAIL:", GO_FAIL)
    if fail:
        after = _after(text, fail, 1)
        message = after[0].strip() if after and after[0].startswith((" ", "\t")) else ""
        return fail.strip() + (f" {message}" if message else "")
    found = (
        _first(text, "panic: ", GO_PANIC)
        or _first(text, ".go:", GO_BUILD)
        or _first(text, "FAIL", GO_PACKAGE_FAIL)
    )
    return found.strip() if found else None


TSC = re.compile(r"\S.*?(?:\(\d+,\d+\): | - )error TS\d+: |error TS\d+: ")


def tsc_headline(text: str) -> str | None:
    return _first(text, "error TS", TSC)


MYPY = re.compile(r"\S+?:\d+(?::\d+)?: error: ")


def mypy_headline(text: str) -> str | None:
    return _first(text, ": error: ", MYPY)


RUFF_CONCISE = re.compile(r"\S+?:\d+:\d+: [A-Z]+\d+ ")
RUFF_RULE = re.compile(r"[A-Z]+\d+ (?:\[\*\] )?\S")
RUFF_FORMAT = re.compile(r"Would reformat: ")


def ruff_headline(text: str) -> str | None:
    for line in text.splitlines():
        if RUFF_CONCISE.match(line):
            return line
        if RUFF_RULE.match(line):
            return _located(text, line, 1)
    return _first(text, "Would reformat", RUFF_FORMAT)


TRACEBACK_LAST = re.compile(
    r"(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)|Error|Exception)\b"
)
GENERIC_ERROR = re.compile(r"(?:fatal|error|ERROR|Error|FATAL)(?:\[\w+\])?: ")
EXIT = re.compile(r".*\bexit(?:ed with)? (?:code|status) [1-9]", re.I)
COUNTED = re.compile(r".*\b[1-9]\d* (?:failed|errors?)\b")
TRACEBACK = "Traceback (most recent call last)"


def crash_headline(text: str) -> str | None:
    """A Python traceback's last line, or an ``exit code N`` line."""
    at = text.rfind(TRACEBACK)
    if at >= 0:
        found = [line for line in text[at:].splitlines() if TRACEBACK_LAST.match(line)]
        if found:
            return found[-1]
    exit_line = _first(text, "xit code", EXIT) or _first(text, "xit status", EXIT)
    return exit_line.strip(" =") if exit_line else None


def generic_headline(text: str) -> str | None:
    crash = crash_headline(text)
    if crash:
        return crash
    errors = [
        line
        for needle in ("error", "Error", "ERROR", "fatal", "FATAL")
        if (line := _first(text, needle, GENERIC_ERROR))
    ]
    if errors:
        return min(errors, key=text.find)
    counted = _first(text, " failed", COUNTED) or _first(text, " error", COUNTED)
    return counted.strip(" =") if counted else None


HEADLINES: dict[str, Callable[[str], str | None]] = {
    "pytest": pytest_headline,
    "npm": npm_headline,
    "cargo": cargo_headline,
    "go": go_headline,
    "tsc": tsc_headline,
    "mypy": mypy_headline,
    "ruff": ruff_headline,
}
# How to recognise a tool's output when no command says which tool ran (cheap substrings).
SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pytest", ("short test summary info", "test session starts", " passed in ", " failed in ")),
    ("npm", ("npm ERR!", "npm error ", "Test Suites:")),
    ("cargo", ("test result: ", "error[E", "Compiling ", "could not compile")),
    ("go", ("--- FAIL:", "--- PASS:", "\nok  \t", "\nFAIL\t")),
    ("tsc", ("error TS",)),
    ("mypy", ("Success: no issues found", ": error: ", "[mypy]")),
    ("ruff", ("All checks passed!", "Found ", "Would reformat")),
)


def sniff(text: str) -> str | None:
    """The tool whose output ``text`` looks like, or None."""
    for tool, marks in SIGNATURES:
        if contains_any(text, marks):
            if tool == "ruff" and not ("All checks passed!" in text or ruff_headline(text)):
                continue
            return tool
    return None


# Every failure any parser reports contains one of these; output with none of them passed.
FAILURE_HINTS = (
    "FAIL",
    "ERR",
    "rror",
    "failed",
    "panic",
    "Traceback",
    "xit code",
    "xit status",
    "Would reformat",
    "●",
    "fatal",
    "Exception",
    "Interrupt",
    "Exit",
)


def headline(tool: str | None, text: str) -> str | None:
    """The line that says why a run of ``tool`` failed, or None when it did not fail."""
    text = ANSI.sub("", text) if "\x1b" in text else text
    if not contains_any(text, FAILURE_HINTS):
        return None
    parse = HEADLINES.get(tool or "")
    # A known tool's silence means it passed; only a crash (a traceback, an exit status)
    # overrides it, so "error:" in captured logs of a passing run is no failure.
    found = generic_headline(text) if parse is None else parse(text) or crash_headline(text)
    return found.strip()[:MAX_HEADLINE] if found else None


def last_outcome(text: str) -> str:
    """The output's last line when it reports an outcome (``42 passed in 1.2s``), else ''."""
    tail = text[-400:].rstrip()
    if not tail:
        return ""
    last = ANSI.sub("", tail.rsplit("\n", 1)[-1]).strip(" =")[:160]
    return last if OUTCOME.search(last) else ""


def describe_run(meta_command: object, text: str, role: str) -> tuple[str, str | None, str]:
    """(group label, failure headline or None, outcome line) for one tool event."""
    command = command_of(meta_command, text)
    if command is not None:
        body = text if meta_command else text.split("\n", 1)[1] if "\n" in text else ""
        tool = tool_of(command) or sniff(body)
        return label_of(command), headline(tool, body), last_outcome(body)
    tool = sniff(text)
    label = f"(no command; {tool} output)" if tool else "(no command)"
    if role != "tool":
        label = f"{role} {label}"
    return label, headline(tool, text), last_outcome(text)
