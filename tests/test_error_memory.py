"""Error memory (error_memory.py via MemoryStore): grouping, full text, resolution -> strategy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore
from smartcontext_cli.error_memory import headline, normalise, shorten_keeping_message
from smartcontext_cli.errors import NotFoundError, UsageError

TRACEBACK = (
    "Traceback (most recent call last):\n"
    + "".join(
        f'  File "/srv/app/module_{i}.py", line {i * 10}, in handler_{i}\n    call_{i}()\n'
        for i in range(80)
    )
    + "KeyError: 'user_id' missing from session payload"
)


@pytest.fixture(params=["sqlite", "json"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str) -> Iterator[MemoryStore]:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        yield s


def test_similar_errors_group_with_a_count(store: MemoryStore) -> None:
    a, new_a = store.log_error(
        "pytest", "AssertionError: expected 200, got 500 in /srv/app/api.py:41"
    )
    b, new_b = store.log_error(
        "pytest -x", "AssertionError: expected 200, got 502 in /srv/app/views.py:97"
    )
    c, new_c = store.log_error("make build", "gcc: fatal error: no input files")
    assert (new_a, new_b, new_c) == (True, False, True)
    assert b.id == a.id and b.count == 2 and b.actions == ["pytest", "pytest -x"]
    assert c.id != a.id
    # The newest occurrence's text is the one shown: it is what the agent just saw.
    assert [g.id for g in store.list_errors()] == [c.id, a.id]
    assert "got 502" in store.list_errors()[1].error


def test_unresolved_lines_keep_the_full_message_and_count(store: MemoryStore) -> None:
    message = (
        "ValueError: invalid literal for int() with base 10: 'abc' "
        "(while parsing the config key retries)"
    )
    store.log_error("load config", message, context="after editing settings.toml")
    store.log_error("load config", message)
    [line] = store.unresolved_error_lines()
    assert line.startswith("[E1] load config (x2): ")
    assert message in line and "context: after editing settings.toml" in line


def test_a_long_traceback_keeps_its_final_message(store: MemoryStore) -> None:
    store.log_error("run server", TRACEBACK)
    assert store.list_errors()[0].error == TRACEBACK  # stored in full
    [line] = store.unresolved_error_lines()
    assert "KeyError: 'user_id' missing from session payload" in line
    assert "Traceback (most recent call last):" in line
    assert "lines omitted" in line and len(line) < len(TRACEBACK) / 2
    assert headline(TRACEBACK) == "KeyError: 'user_id' missing from session payload"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=120),
        min_size=1,
        max_size=60,
    )
)
def test_shortening_always_keeps_the_last_line(lines: list[str]) -> None:
    text = "\n".join([*lines, "FatalError: the real message"])
    short = shorten_keeping_message(text)
    assert short.endswith("FatalError: the real message")


def test_resolution_becomes_a_learned_pattern_and_leaves_the_prompt(store: MemoryStore) -> None:
    group, _ = store.log_error(
        "alembic upgrade", "sqlalchemy.exc.OperationalError: no such table: users"
    )
    resolved = store.resolve_error(group.id, "run `alembic upgrade head` before the tests")
    assert resolved.resolved and resolved.resolved_at
    assert store.unresolved_error_lines() == []
    assert store.list_errors() == [] and len(store.list_errors(include_resolved=True)) == 1
    strategy = store.get_strategy()
    assert strategy is not None
    assert strategy.learned_patterns == [
        "When `alembic upgrade` fails with "
        '"sqlalchemy.exc.OperationalError: no such table: users": '
        "run `alembic upgrade head` before the tests"
    ]
    assert store.strategy_entries()[0].startswith("Pattern: When `alembic upgrade` fails")
    with pytest.raises(UsageError):
        store.resolve_error(group.id, "again")


def test_a_recurring_resolved_error_opens_a_new_group_that_recalls_the_fix(
    store: MemoryStore,
) -> None:
    first, _ = store.log_error("pytest", "ImportError: cannot import name 'Client' from 'api'")
    store.resolve_error(first.id, "reinstall with pip install -e .")
    again, new = store.log_error("pytest", "ImportError: cannot import name 'Client' from 'api'")
    assert new and again.id != first.id and again.recurrence_of == first.id
    [line] = store.unresolved_error_lines()
    assert f"seen before (E{first.id}), resolved by: reinstall with pip install -e ." in line


def test_resolving_without_text_teaches_nothing(store: MemoryStore) -> None:
    group, _ = store.log_error("deploy", "Permission denied (publickey)")
    store.resolve_error(group.id)
    assert store.get_strategy() is None


def test_state_survives_restart(backend: str) -> None:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        s.log_error("npm test", "TypeError: x is undefined")
        s.log_error("npm test", "TypeError: y is undefined")
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        [group] = s.list_errors()
        assert group.count == 2 and group.error == "TypeError: y is undefined"


@pytest.mark.parametrize(
    ("action", "error"), [("", "boom"), ("pytest", ""), ("pytest", "   "), ("pytest", "a\x00b")]
)
def test_bad_input_is_refused(store: MemoryStore, action: str, error: str) -> None:
    with pytest.raises(UsageError):
        store.log_error(action, error)


def test_unknown_ids(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError):
        store.resolve_error(7)


def test_normalise_hides_incidental_detail() -> None:
    assert normalise("Timeout after 30s at /a/b/c.py:12 (0xdeadbeef)") == normalise(
        "Timeout after 45s at /x/y/z.py:99 (0x1234)"
    )
    assert normalise("KeyError: 'a'") != normalise("ConnectionRefusedError: port closed")
