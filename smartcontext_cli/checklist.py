"""The checklist: a task list the compiler recites at the end of every prompt (Manus-style).

Why recite: models attend most to the start and the end of a long context; repeating the open
tasks last keeps the goal in view across many steps.

Guarantees:
- Task ids come from a counter and never change or get reused, even after ``clear``.
- Subtasks keep their parent; a parent cannot be removed while it has children that stay.
- ``open_lines`` renders open tasks (not done or skipped) in tree order, and nothing at all when
  there are none, so an empty checklist costs no tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .clock import now
from .errors import NotFoundError, UsageError
from .models import NumberedRecord
from .storage.base import Storage

TASKS = "tasks"
STATUSES = ("pending", "in_progress", "blocked", "done", "skipped")
CLOSED = ("done", "skipped")
MARKERS = {
    "pending": "[ ]",
    "in_progress": "[~]",
    "blocked": "[!]",
    "done": "[x]",
    "skipped": "[-]",
}
MAX_TASK_CHARS = 2000
COMPACT_CHARS = 60


@dataclass
class Task(NumberedRecord):
    id: int
    text: str
    status: str = "pending"
    parent: int | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = ""
    note: str = ""


def _all(storage: Storage) -> list[Task]:
    return [Task.from_dict(d) for _, d in storage.list_docs(TASKS)]


def get(storage: Storage, task_id: int) -> Task:
    doc = storage.get_doc(TASKS, f"{task_id:08d}")
    if doc is None:
        raise NotFoundError(f"no task {task_id}")
    return Task.from_dict(doc)


def add(storage: Storage, text: str, parent: int | None = None) -> Task:
    text = " ".join(text.split())
    if not text:
        raise UsageError("a task needs some text")
    if len(text) > MAX_TASK_CHARS:
        raise UsageError(f"a task is at most {MAX_TASK_CHARS} characters; keep details in memories")
    with storage.transaction():
        if parent is not None:
            get(storage, parent)  # raises when the parent does not exist
        task = Task(id=storage.next_counter("task"), text=text, parent=parent)
        task.updated_at = task.created_at
        storage.put_doc(TASKS, task.key, task.to_dict())
    return task


def set_status(storage: Storage, task_id: int, status: str, note: str = "") -> Task:
    if status not in STATUSES:
        raise UsageError(f"status must be one of {', '.join(STATUSES)}")
    with storage.transaction():
        task = get(storage, task_id)
        task.status, task.updated_at = status, now()
        if note:
            task.note = " ".join(note.split())
        storage.put_doc(TASKS, task.key, task.to_dict())
    return task


def tree(tasks: list[Task]) -> list[tuple[Task, int]]:
    """Tasks in list order (parents by id, each followed by its subtasks) with their depth."""
    children: dict[int | None, list[Task]] = {}
    ids = {t.id for t in tasks}
    for t in tasks:
        # An orphan (parent removed by a direct storage edit) is shown at top level, not lost.
        children.setdefault(t.parent if t.parent in ids else None, []).append(t)
    out: list[tuple[Task, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for t in sorted(children.get(parent, []), key=lambda t: t.id):
            out.append((t, depth))
            walk(t.id, depth + 1)

    walk(None, 0)
    return out


def listing(storage: Storage, include_closed: bool = True) -> list[tuple[Task, int]]:
    """Tasks in list order with their depth; without closed tasks, depth counts open ancestors."""
    tasks = _all(storage)
    if include_closed:
        return tree(tasks)
    by_id = {t.id: t for t in tasks}
    return [(t, _open_depth(t, by_id)) for t, _ in tree(tasks) if t.status not in CLOSED]


def _open_depth(task: Task, by_id: dict[int, Task]) -> int:
    depth, parent = 0, by_id.get(task.parent) if task.parent else None
    while parent is not None:
        depth += parent.status not in CLOSED
        parent = by_id.get(parent.parent) if parent.parent else None
    return depth


def clear(storage: Storage, everything: bool = False) -> int:
    """Remove done and skipped tasks (or all with ``everything``); returns how many went.

    A closed task whose subtasks stay open is kept, so no open subtask loses its parent.
    """
    with storage.transaction():
        tasks = _all(storage)
        if everything:
            doomed = {t.id for t in tasks}
        else:
            doomed = {t.id for t in tasks if t.status in CLOSED}
            changed = True
            while changed:  # keep ancestors of anything that stays
                changed = False
                for t in tasks:
                    if t.id not in doomed and t.parent in doomed:
                        doomed.discard(t.parent)
                        changed = True
        for task_id in doomed:
            storage.delete_doc(TASKS, f"{task_id:08d}")
    return len(doomed)


def _shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] or text[: width - 1]
    return cut + "…"


def open_lines(storage: Storage, compact: bool = False) -> list[str]:
    """Open tasks as prompt lines: ``[ ] 3. Write tests``, subtasks indented two spaces per level.

    The compact form drops the indentation and shortens each text to about 60 characters.
    A subtask's depth counts only open ancestors, so closing a parent does not leave a dangling
    indent.
    """
    lines = []
    for task, depth in listing(storage, include_closed=False):
        marker = MARKERS[task.status]
        if compact:
            lines.append(f"{marker} {task.id}. {_shorten(task.text, COMPACT_CHARS)}")
        else:
            lines.append(f"{'  ' * depth}{marker} {task.id}. {task.text}")
    return lines
