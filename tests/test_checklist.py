"""The checklist (checklist.py via MemoryStore): stable ids, subtasks, recitation, clearing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore
from smartcontext_cli.errors import NotFoundError, UsageError


@pytest.fixture(params=["sqlite", "json"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str) -> Iterator[MemoryStore]:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        yield s


def test_no_tasks_recite_nothing(store: MemoryStore) -> None:
    assert store.open_task_lines() == [] and store.open_task_lines(compact=True) == []


def test_open_tasks_are_recited_in_tree_order_with_markers(store: MemoryStore) -> None:
    plan = store.add_task("Plan the API")
    impl = store.add_task("Implement endpoints")
    tests = store.add_task("Write tests", parent=impl.id)
    fixtures = store.add_task("Add fixtures", parent=tests.id)
    docs = store.add_task("Write docs")
    store.set_task_status(plan.id, "done")
    store.set_task_status(fixtures.id, "in_progress")
    store.set_task_status(docs.id, "blocked")
    assert store.open_task_lines() == [
        "[ ] 2. Implement endpoints",
        "  [ ] 3. Write tests",
        "    [~] 4. Add fixtures",
        "[!] 5. Write docs",
    ]


def test_a_closed_parent_leaves_no_dangling_indent(store: MemoryStore) -> None:
    parent = store.add_task("Refactor storage")
    child = store.add_task("Move helpers", parent=parent.id)
    store.set_task_status(parent.id, "skipped")
    assert store.open_task_lines() == [f"[ ] {child.id}. Move helpers"]


def test_compact_form_is_shorter_and_flat(store: MemoryStore) -> None:
    parent = store.add_task(
        "Implement the full OAuth2 authorisation code flow with PKCE and refresh tokens"
    )
    store.add_task("Add the token endpoint", parent=parent.id)
    full, compact = store.open_task_lines(), store.open_task_lines(compact=True)
    assert sum(map(len, compact)) < sum(map(len, full))
    assert compact[0].startswith("[ ] 1. Implement the full OAuth2") and compact[0].endswith("…")
    assert compact[1] == "[ ] 2. Add the token endpoint"


def test_ids_are_stable_and_never_reused_after_clear(backend: str) -> None:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        a, b = s.add_task("one"), s.add_task("two")
        s.set_task_status(a.id, "done")
        assert s.clear_tasks() == 1
        c = s.add_task("three")
    assert (a.id, b.id, c.id) == (1, 2, 3)
    with MemoryStore(namespace="agent", storage_backend=backend) as s:  # restart
        assert [(t.id, t.text, d) for t, d in s.list_tasks()] == [(2, "two", 0), (3, "three", 0)]
        assert s.add_task("four").id == 4


def test_clear_keeps_a_closed_parent_whose_subtasks_stay_open(store: MemoryStore) -> None:
    parent = store.add_task("parent")
    store.add_task("child", parent=parent.id)
    store.set_task_status(parent.id, "done")
    assert store.clear_tasks() == 0
    assert [t.text for t, _ in store.list_tasks()] == ["parent", "child"]
    assert store.clear_tasks(everything=True) == 2
    assert store.list_tasks() == []


def test_status_notes_and_errors(store: MemoryStore) -> None:
    task = store.add_task("  spaced   out  ")
    assert task.text == "spaced out"
    blocked = store.set_task_status(task.id, "blocked", note="waiting for review")
    assert blocked.status == "blocked" and blocked.note == "waiting for review"
    with pytest.raises(NotFoundError):
        store.set_task_status(99, "done")
    with pytest.raises(UsageError):
        store.set_task_status(task.id, "finished")
    with pytest.raises(NotFoundError):
        store.add_task("orphan", parent=42)
    with pytest.raises(UsageError):
        store.add_task("   ")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(["pending", "in_progress", "blocked", "done", "skipped"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_recitation_lists_exactly_the_open_tasks_once(
    store: MemoryStore, plan: list[tuple[int, str]]
) -> None:
    store.clear_tasks(everything=True)
    made = []
    for parent_pick, status in plan:
        parent = made[parent_pick].id if parent_pick < len(made) else None
        task = store.add_task(f"task {len(made)}", parent=parent)
        store.set_task_status(task.id, status)
        made.append(task)
    lines = store.open_task_lines()
    open_ids = sorted(t.id for t, _ in store.list_tasks() if t.status not in ("done", "skipped"))
    recited = sorted(int(line.split("] ")[1].split(".")[0]) for line in lines)
    assert recited == open_ids
