"""Tool runs in a compacted log: grouped by command, failures named the way each tool names them.

The outputs below are what the tools print (trimmed to the lines that matter, layout kept):
pytest 8, npm 10 with jest 29, cargo 1.7x, go 1.22, tsc 5, mypy 1.x, ruff 0.4+ in both output
formats.
"""

from __future__ import annotations

import pytest

from smartcontext_cli.digest import build_digest, render
from smartcontext_cli.models import SessionItem
from smartcontext_cli.toolruns import describe_run, headline, label_of, sniff, tool_of

PYTEST_FAIL = """\
============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0
rootdir: /home/dev/shop
collected 3 items

tests/test_cart.py .F.                                                   [100%]

=================================== FAILURES ===================================
_______________________________ test_total_vat ________________________________

    def test_total_vat():
        cart = Cart([Item("book", 10)])
>       assert cart.total(vat=0.2) == 12.5
E       assert 12.0 == 12.5
E        +  where 12.0 = <bound method Cart.total of Cart([...])>(vat=0.2)

tests/test_cart.py:14: AssertionError
=========================== short test summary info ============================
FAILED tests/test_cart.py::test_total_vat - assert 12.0 == 12.5
========================= 1 failed, 2 passed in 0.05s ==========================
"""

PYTEST_RAISES = """\
tests/test_api.py F                                                      [100%]

=================================== FAILURES ===================================
________________________________ test_fetch ____________________________________

    def test_fetch():
>       raise ConnectionError("upstream refused")
E       ConnectionError: upstream refused

tests/test_api.py:3: ConnectionError
1 failed in 0.02s
"""

PYTEST_COLLECTION = """\
==================================== ERRORS ====================================
______________________ ERROR collecting tests/test_db.py _______________________
ImportError while importing test module '/home/dev/shop/tests/test_db.py'.
E   ModuleNotFoundError: No module named 'psycopg'
=========================== short test summary info ============================
ERROR tests/test_db.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 0.11s
"""

NPM_JEST = """\
> shop@1.0.0 test
> jest

 FAIL  src/cart.test.js
  ● Cart › applies the discount

    expect(received).toBe(expected) // Object.is equality

    Expected: 90
    Received: 100

Tests:       1 failed, 4 passed, 5 total
npm ERR! Lifecycle script `test` failed with error:
npm ERR! Error: command failed
"""

NPM_INSTALL = """\
npm ERR! code ERESOLVE
npm ERR! ERESOLVE unable to resolve dependency tree
npm ERR!
npm ERR! While resolving: shop@1.0.0
npm ERR! A complete log of this run can be found in: /home/dev/.npm/_logs/debug-0.log
"""

NPM10_MISSING = """\
npm error Missing script: "lint"
npm error
npm error To see a list of scripts, run:
npm error   npm run
npm error A complete log of this run can be found in: /home/dev/.npm/_logs/debug-0.log
"""

CARGO_BUILD = """\
   Compiling shop v0.1.0 (/home/dev/shop)
error[E0425]: cannot find value `totl` in this scope
 --> src/main.rs:4:20
  |
4 |     println!("{}", totl);
  |                    ^^^^ help: a local variable with a similar name exists: `total`

For more information about this error, try `rustc --explain E0425`.
error: could not compile `shop` (bin "shop") due to 1 previous error
"""

CARGO_TEST = """\
running 2 tests
test tests::adds ... ok
test tests::rounds ... FAILED

failures:

---- tests::rounds stdout ----
thread 'tests::rounds' panicked at src/lib.rs:12:9:
assertion `left == right` failed
  left: 12
 right: 13

failures:
    tests::rounds

test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""

GO_TEST = """\
--- FAIL: TestTotal (0.00s)
    cart_test.go:11: Total() = 12, want 13
FAIL
FAIL\texample.com/shop\t0.003s
FAIL
"""

GO_BUILD = """\
# example.com/shop
./cart.go:9:2: undefined: totl
FAIL\texample.com/shop [build failed]
"""

TSC = """\
src/cart.ts(7,5): error TS2322: Type 'string' is not assignable to type 'number'.
src/cart.ts(9,1): error TS2304: Cannot find name 'totl'.

Found 2 errors in the same file, starting at: src/cart.ts:7
"""

TSC_PRETTY = """\
src/cart.ts:7:5 - error TS2322: Type 'string' is not assignable to type 'number'.

7     total = "12";
      ~~~~~

Found 1 error in src/cart.ts:7
"""

MYPY = """\
src/cart.py:12: note: By default the bodies of untyped functions are not checked
src/cart.py:14: error: Incompatible return value type (got "str", expected "int")  [return-value]
Found 1 error in 1 file (checked 4 source files)
"""

RUFF_CONCISE = """\
src/cart.py:1:8: F401 [*] `os` imported but unused
src/cart.py:9:89: E501 Line too long (97 > 88)
Found 2 errors.
[*] 1 fixable with the `--fix` option.
"""

RUFF_FULL = """\
F401 [*] `os` imported but unused
 --> src/cart.py:1:8
  |
1 | import os
  |        ^^
  |
help: Remove unused import: `os`

Found 1 error.
[*] 1 fixable with the `--fix` option.
"""

RUFF_FORMAT = """\
Would reformat: src/cart.py
1 file would be reformatted, 3 files already formatted
"""


@pytest.mark.parametrize(
    "tool,output,expected",
    [
        ("pytest", PYTEST_FAIL, "FAILED tests/test_cart.py::test_total_vat - assert 12.0 == 12.5"),
        ("pytest", PYTEST_RAISES, "ConnectionError: upstream refused"),
        (
            "pytest",
            PYTEST_COLLECTION,
            "ERROR tests/test_db.py - ModuleNotFoundError: No module named 'psycopg'",
        ),
        ("npm", NPM_JEST, "● Cart › applies the discount"),
        ("npm", NPM_INSTALL, "npm ERR! ERESOLVE unable to resolve dependency tree"),
        ("npm", NPM10_MISSING, 'npm error Missing script: "lint"'),
        (
            "cargo",
            CARGO_BUILD,
            "error[E0425]: cannot find value `totl` in this scope --> src/main.rs:4:20",
        ),
        (
            "cargo",
            CARGO_TEST,
            "thread 'tests::rounds' panicked at src/lib.rs:12:9: assertion `left == right` failed",
        ),
        ("go", GO_TEST, "--- FAIL: TestTotal (0.00s) cart_test.go:11: Total() = 12, want 13"),
        ("go", GO_BUILD, "./cart.go:9:2: undefined: totl"),
        (
            "tsc",
            TSC,
            "src/cart.ts(7,5): error TS2322: Type 'string' is not assignable to type 'number'.",
        ),
        (
            "tsc",
            TSC_PRETTY,
            "src/cart.ts:7:5 - error TS2322: Type 'string' is not assignable to type 'number'.",
        ),
        (
            "mypy",
            MYPY,
            'src/cart.py:14: error: Incompatible return value type (got "str", expected "int")'
            "  [return-value]",
        ),
        ("ruff", RUFF_CONCISE, "src/cart.py:1:8: F401 [*] `os` imported but unused"),
        ("ruff", RUFF_FULL, "F401 [*] `os` imported but unused --> src/cart.py:1:8"),
        ("ruff", RUFF_FORMAT, "Would reformat: src/cart.py"),
    ],
)
def test_each_tool_names_its_failure_its_own_way(tool, output, expected):
    assert headline(tool, output) == expected
    # Without a command, the output alone says which tool it was.
    assert sniff(output) == tool
    assert headline(sniff(output), output) == expected


def test_the_source_marker_is_never_the_headline():
    # The issue: pytest's ">       raise ..." line was taken for the error.
    assert headline("pytest", PYTEST_RAISES) == "ConnectionError: upstream refused"
    # Not knowing the tool, the generic rules take the run's count of failures, still not ">".
    assert headline(None, PYTEST_RAISES) == "1 failed in 0.02s"


@pytest.mark.parametrize(
    "tool,output",
    [
        ("pytest", "collected 40 items\n\n" + "." * 40 + " [100%]\n40 passed in 1.20s\n"),
        ("npm", "> jest\n\nTests:       5 passed, 5 total\nTime:        0.8 s\n"),
        ("cargo", "test result: ok. 2 passed; 0 failed; 0 ignored; finished in 0.00s\n"),
        ("go", "ok  \texample.com/shop\t0.004s\n"),
        ("tsc", ""),
        ("mypy", "Success: no issues found in 4 source files\n"),
        ("ruff", "All checks passed!\n"),
        # A passing run whose captured log mentions errors is still a pass.
        ("pytest", "log: retrying after error: timeout\n3 passed in 0.4s\n"),
    ],
)
def test_passing_runs_have_no_headline(tool, output):
    assert headline(tool, output) is None


def test_a_crash_overrides_a_quiet_tool():
    crash = "Traceback (most recent call last):\n  File 'x.py', line 1\nKeyError: 'currency'\n"
    assert headline("pytest", crash) == "KeyError: 'currency'"
    assert headline("go", "build step\nexit status 2\n") == "exit status 2"


@pytest.mark.parametrize(
    "command,tool",
    [
        ("pytest -q", "pytest"),
        ("python -m pytest -x tests/", "pytest"),
        ("uv run pytest", "pytest"),
        ("npm test", "npm"),
        ("npx tsc --noEmit", "tsc"),
        ("cargo test", "cargo"),
        ("go test ./...", "go"),
        ("mypy --strict src", "mypy"),
        ("ruff check .", "ruff"),
        ("ls -la", None),
    ],
)
def test_the_command_names_the_tool(command, tool):
    assert tool_of(command) == tool


def test_runs_on_different_files_are_one_kind_of_run():
    assert label_of("pytest -q tests/test_a.py") == label_of("pytest -q tests/test_b.py")
    assert label_of("pytest -q tests/test_a.py") == "pytest -q"


def test_without_a_command_the_first_output_line_is_never_the_key():
    # The issue: `pytest -q | session add tool -` was grouped as "- . [100%]: 10 runs".
    out = ".                                                                        [100%]\n"
    label, failure, last = describe_run(None, out + "1 passed in 0.01s\n", "tool")
    assert label == "(no command; pytest output)" and failure is None
    assert last == "1 passed in 0.01s"
    assert describe_run(None, "total 8\ndrwxr-xr-x 2 dev dev 4096 .\n", "tool")[0] == "(no command)"
    # A shell prompt echoed on the first line is the command; the meta command wins over it.
    assert describe_run(None, "$ pytest -q tests/test_a.py\n1 passed", "tool")[0] == "pytest -q"
    assert describe_run("pytest -x", "$ echo hi\n1 passed", "tool")[0] == "pytest -x"


def items(*events: tuple[str, str, dict]) -> list[SessionItem]:
    return [SessionItem(role=r, content=c, seq=n + 1, meta=m) for n, (r, c, m) in enumerate(events)]


def test_the_digest_groups_runs_by_command_and_keeps_failure_headlines():
    passing = "collected 40 items\n" + "." * 40 + " [100%]\n40 passed in 1.20s\n"
    log = items(
        *[("tool", passing, {"command": "pytest -q"}) for _ in range(8)],
        ("tool", PYTEST_FAIL, {"command": "pytest -q tests/test_cart.py"}),
        ("tool", MYPY, {"command": "mypy src"}),
        *[("tool", ".   [100%]\n1 passed in 0.01s\n", {}) for _ in range(3)],
    )
    digest = build_digest(log)
    assert digest.tools["pytest -q"] == {
        "count": 9,
        "failed": 1,
        "last": "1 failed, 2 passed in 0.05s",
    }
    assert digest.tools["(no command; pytest output)"]["count"] == 3
    assert [e["text"] for e in digest.errors] == [
        "pytest -q: FAILED tests/test_cart.py::test_total_vat - assert 12.0 == 12.5",
        'mypy src: src/cart.py:14: error: Incompatible return value type (got "str", expected '
        '"int")  [return-value]',
    ]
    text = "\n".join(t for _, t in render(digest, 0))
    assert "- pytest -q: 9 runs, 8 passed, 1 failed" in text
    assert "[100%]:" not in text and ">" not in text.split("Tool runs:")[1]


def test_observations_are_not_tool_runs():
    # The issue: "User clicked login: 15 runs, all passed".
    log = items(*[("observation", "User clicked login", {}) for _ in range(15)])
    log += items(("observation", "The login page shows a 502 from the auth proxy.", {}))
    digest = build_digest(log)
    assert digest.tools == {}
    text = "\n".join(t for _, t in render(digest, 0))
    assert "runs" not in text
    assert "observation: The login page shows a 502 from the auth proxy." in text
