"""Session branches: forks of the session log that share their parent's history without copying.

Layout in the store (documents only, so every backend behaves alike):

* ``branches/<id>``: ``{id, name, parent, fork_seq, description, created_at, view,
  merged_upto}``. ``main`` is id 0 and always exists, stored or not.
* ``session`` (main) and ``session-<id>`` (other branches): a branch's own items, keyed by the
  zero-padded global sequence number from the ``session`` counter, so keys sort by time.
* ``session_views/<id>``: a *view* replaces a branch's history up to ``upto`` by its ``items``
  (a compaction digest, a trimmed log, or nothing after ``session end``). Raw items are never
  moved or rewritten: undo just points the branch back at the previous view.
* ``session_state/state``: the current branch and whether it follows git.

What a branch sees (``visible``): its view's items, then the raw items after ``view.upto`` along
its ancestry, the parent's only up to ``fork_seq``. Sequence numbers come from one counter, so a
branch's own items always come after its fork point and the raw chain is ordered by ``seq``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .clock import now
from .config import git_root
from .errors import NotFoundError, SmartContextError, UsageError
from .models import SessionItem

MAIN = "main"
BRANCHES = "branches"
VIEWS = "session_views"
STATE = "session_state"
SESSION = "session"
UNDO_DEPTH = 20  # compactions, trims and session ends that `compact --undo` can step back
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,99}")


class ConcurrentChangeError(SmartContextError):
    """Another process changed the branch's view while this one was computing a new one."""


def validate_name(name: str) -> str:
    """Branch names are data, never file names, so git's names (``feature/x``) fit as they are."""
    name = name.strip()
    if not NAME_RE.fullmatch(name) or ".." in name or name.endswith(("/", ".")) or "//" in name:
        raise UsageError(
            f"invalid branch name {name!r}: use 1-100 letters, digits, '.', '_', '-', '+' or '/', "
            "starting with a letter or digit"
        )
    return name


def seq_key(seq: int) -> str:
    return f"{seq:012d}"


@dataclass
class Branch:
    name: str
    id: int = 0
    parent: int | None = None
    fork_seq: int = 0
    description: str = ""
    created_at: str = ""
    view: int | None = None
    # The newest of its own items merged anywhere: deleting is safe up to here.
    merged_upto: int = 0

    @property
    def collection(self) -> str:
        return SESSION if self.id == 0 else f"{SESSION}-{self.id}"

    @property
    def key(self) -> str:
        return f"{self.id:06d}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Branch:
        names = (
            "name",
            "id",
            "parent",
            "fork_seq",
            "description",
            "created_at",
            "view",
            "merged_upto",
        )
        return cls(**{k: data[k] for k in names if k in data})


@dataclass
class View:
    """A branch's history up to ``upto`` replaced by ``items`` (``kind``: trim, compact, end)."""

    id: int
    branch: int
    kind: str
    upto: int
    items: list[SessionItem]
    previous: int | None = None
    created_at: str = field(default_factory=now)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Not ``asdict``: its recursive deep copy of the items (a digest's records in their
        # meta) was a fifth of compacting 10,000 events. A JSON round trip copies in C, and the
        # view is stored as JSON anyway.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["items"] = [{f.name: getattr(i, f.name) for f in fields(i)} for i in self.items]
        copied: dict[str, Any] = json.loads(json.dumps(data))
        return copied

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> View:
        data = dict(data)
        data["items"] = [SessionItem.from_dict(i) for i in data.get("items", [])]
        return cls(**data)


class Branches:
    """Branch records and views of one store; every method is a few document reads or writes."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    # records ---------------------------------------------------------------------------------

    def all(self) -> list[Branch]:
        found = [Branch.from_dict(d) for _, d in self.storage.list_docs(BRANCHES)]
        if not any(b.id == 0 for b in found):
            found.insert(0, Branch(name=MAIN))
        return found

    def by_id(self, branch_id: int) -> Branch:
        doc = self.storage.get_doc(BRANCHES, f"{branch_id:06d}")
        if doc:
            return Branch.from_dict(doc)
        if branch_id == 0:
            return Branch(name=MAIN)
        raise NotFoundError(f"branch {branch_id} is missing from the store")

    def find(self, name: str) -> Branch | None:
        if name == MAIN:
            return self.by_id(0)
        return next((b for b in self.all() if b.name == name), None)

    def get(self, name: str) -> Branch:
        branch = self.find(name)
        if branch is None:
            raise NotFoundError(
                f"no branch {name!r} (create it with: smartcontext branch create {name})"
            )
        return branch

    def save(self, branch: Branch) -> None:
        self.storage.put_doc(BRANCHES, branch.key, branch.to_dict())

    def children(self, branch: Branch) -> list[Branch]:
        return [b for b in self.all() if b.parent == branch.id and b.id != branch.id]

    def create(self, name: str, description: str, parent: Branch) -> Branch:
        name = validate_name(name)
        with self.storage.transaction():
            if self.find(name) is not None:
                raise UsageError(f"branch {name!r} already exists")
            branch = Branch(
                name=name,
                id=self.storage.next_counter("branch"),
                parent=parent.id,
                # Everything numbered so far is history the new branch shares with its parent.
                fork_seq=self.storage.get_counters().get(SESSION, 0),
                description=description.strip(),
                created_at=now(),
                # The parent's compaction state is shared by reference, never copied.
                view=parent.view,
            )
            self.save(branch)
        return branch

    # current branch --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self.storage.get_doc(STATE, "state") or {"current": MAIN, "follow_git": False}

    def set_state(self, current: str, follow_git: bool) -> None:
        self.storage.put_doc(STATE, "state", {"current": current, "follow_git": follow_git})

    # views -----------------------------------------------------------------------------------

    def view(self, view_id: int | None) -> View | None:
        if view_id is None:
            return None
        doc = self.storage.get_doc(VIEWS, f"{view_id:08d}")
        return View.from_dict(doc) if doc else None

    def add_view(
        self, branch: Branch, kind: str, upto: int, items: list[SessionItem], info: dict[str, Any]
    ) -> View:
        """Point ``branch`` at a new view; the old one stays stored for ``undo``."""
        with self.storage.transaction():
            self.check_unchanged(branch)
            view = View(
                id=self.storage.next_counter("session_view"),
                branch=branch.id,
                kind=kind,
                upto=upto,
                items=items,
                previous=branch.view,
                info=info,
            )
            self.storage.put_doc(VIEWS, f"{view.id:08d}", view.to_dict())
            branch.view = view.id
            self.save(branch)
            self._prune_history(view)
        return view

    def _prune_history(self, view: View) -> None:
        """Keep ``UNDO_DEPTH`` views behind the newest; older ones are released.

        Why: a long session trimmed every few dozen events would otherwise keep every trimmed
        log it ever had. The raw events are never pruned, only the ways of viewing them.
        """
        node, depth = view, 0
        while node.previous is not None and depth < UNDO_DEPTH:
            older = self.view(node.previous)
            if older is None:
                return
            node, depth = older, depth + 1
        if node.previous is None or depth < UNDO_DEPTH:
            return
        doomed: int | None = node.previous
        node.previous = None
        self.storage.put_doc(VIEWS, f"{node.id:08d}", node.to_dict())
        while doomed is not None:
            gone = self.view(doomed)
            self.release_view(doomed)
            doomed = gone.previous if gone else None

    def check_unchanged(self, branch: Branch) -> None:
        """Refuse to replace a view another process replaced since ``branch`` was read.

        Why: views are computed outside the write lock (a summariser may take a minute), so two
        processes may compact at once; the second must not point the branch past the first's.
        """
        if self.by_id(branch.id).view != branch.view:
            raise ConcurrentChangeError(
                f"the log of branch {branch.name!r} was compacted by another process meanwhile; "
                "run the command again"
            )

    def release_view(self, view_id: int) -> None:
        """Delete a view nothing needs any more (an undone one, a pruned or deleted branch's).

        Still needed: a branch's current view, and a view another branch's view would go back
        to on undo (a branch forked after a compaction starts from its parent's view).
        """
        if any(b.view == view_id for b in self.all()):
            return
        doc = self.storage.get_doc(VIEWS, f"{view_id:08d}")
        if doc is None:
            return
        for _, other in self.storage.list_docs(VIEWS):
            if other.get("previous") == view_id and other.get("branch") != doc.get("branch"):
                return
        self.storage.delete_doc(VIEWS, f"{view_id:08d}")

    # what a branch sees ----------------------------------------------------------------------

    def raw_chain(self, branch: Branch, after: int = 0) -> list[SessionItem]:
        """Raw items with ``seq > after`` along the ancestry, oldest first, never a view."""
        parts: list[list[SessionItem]] = []
        node: Branch | None = branch
        upper: int | None = None
        while node is not None and (upper is None or upper > after):
            docs = self.storage.list_docs(node.collection, start=seq_key(after + 1))
            own = [SessionItem.from_dict(d) for _, d in docs]
            if upper is not None:
                own = [i for i in own if i.seq <= upper]
            parts.append(own)
            if node.parent is None:
                break
            upper = node.fork_seq if upper is None else min(upper, node.fork_seq)
            node = self.by_id(node.parent)
        return [item for part in reversed(parts) for item in part]

    def visible(
        self, branch: Branch, limit: int | None = None
    ) -> tuple[list[SessionItem], list[SessionItem]]:
        """The branch's log as (view items, raw items after the view), both oldest first."""
        view = self.view(branch.view)
        after = view.upto if view else 0
        if limit is not None:
            # Fast path for the compiler's "last N observations": the own collection is enough.
            docs = self.storage.list_docs(
                branch.collection, start=seq_key(after + 1), limit=limit, reverse=True
            )
            # Fewer than asked from a branch with no parent is all there is: no second read.
            if len(docs) >= limit or (branch.parent is None and view is None):
                return [], [SessionItem.from_dict(d) for _, d in reversed(docs)]
        return (view.items if view else []), self.raw_chain(branch, after)


def common_prefix(a: list[SessionItem], b: list[SessionItem]) -> int:
    """How many leading items two logs share (items are identified by their sequence number)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x.seq != y.seq:
            break
        n += 1
    return n


def git_head_branch(start: Path | None = None) -> str | None:
    """The checked-out branch of the enclosing git repository, read from HEAD (no subprocess).

    None outside a repository and on a detached HEAD. Handles worktrees, whose ``.git`` is a
    file pointing at the real git directory.
    """
    root = git_root(start)
    if root is None:
        return None
    gitdir = root / ".git"
    try:
        if gitdir.is_file():
            text = gitdir.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                return None
            target = Path(text[len("gitdir:") :].strip())
            gitdir = target if target.is_absolute() else root / target
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    if not head.startswith(prefix):
        return None
    # A git name our branch names cannot hold (rare characters) is mapped, not refused.
    name = re.sub(r"[^A-Za-z0-9._/+-]", "-", head[len(prefix) :]).strip("/.")
    name = re.sub(r"\.\.+", ".", name)
    return name if name and NAME_RE.fullmatch(name) else None


def item_summary(item: SessionItem) -> dict[str, Any]:
    return {
        "seq": item.seq,
        "role": item.role,
        "branch": item.branch,
        "content": item.content,
        "created_at": item.created_at,
    }


class BranchOps(Branches):
    """Compare, merge and delete: the operations that read two branches' histories."""

    def compare(self, first: Branch, second: Branch) -> dict[str, Any]:
        raw1, raw2 = self.raw_chain(first), self.raw_chain(second)
        shared = common_prefix(raw1, raw2)
        side: dict[str, Any] = {}
        for key, branch, raw in (("branch1", first, raw1), ("branch2", second, raw2)):
            view_items, rest = self.visible(branch)
            added = raw[shared:]
            side[key] = {
                "name": branch.name,
                "item_count": len(view_items) + len(rest),
                "raw_count": len(raw),
                "added_count": len(added),
                "added": [item_summary(i) for i in added],
                "compacted": branch.view is not None,
            }
        side["common"] = {"item_count": shared, "last_seq": raw1[shared - 1].seq if shared else 0}
        side["identical"] = shared == len(raw1) == len(raw2)
        return side

    def merge(self, source: Branch, target: Branch) -> list[SessionItem]:
        """Append ``source``'s raw items since the shared history to ``target``, once each."""
        if source.id == target.id:
            raise UsageError("cannot merge a branch into itself")
        with self.storage.transaction():
            src, dst = self.raw_chain(source), self.raw_chain(target)
            shared = common_prefix(src, dst)
            have = {i.seq for i in dst} | {
                int(i.meta["merged_from"]["seq"])
                for i in dst
                if isinstance(i.meta.get("merged_from"), dict)
            }
            todo = [
                i
                for i in src[shared:]
                if i.seq not in have
                # An item the source once merged from the target is already there.
                and not (
                    isinstance(i.meta.get("merged_from"), dict)
                    and int(i.meta["merged_from"]["seq"]) in have
                )
            ]
            merged = []
            for item in todo:
                meta = {**item.meta, "merged_from": {"branch": source.name, "seq": item.seq}}
                copy = SessionItem(
                    role=item.role,
                    content=item.content,
                    branch=target.name,
                    meta=meta,
                    token_count=item.token_count,
                )
                copy.seq = self.storage.next_counter(SESSION)
                self.storage.put_doc(target.collection, copy.key, copy.to_dict())
                merged.append(copy)
            if todo:
                source.merged_upto = max(source.merged_upto, todo[-1].seq)
                self.save(source)
        return merged

    def delete(self, branch: Branch, current: Branch, require_merged: bool) -> int:
        """Delete a branch and its own items; returns how many items went with it."""
        if branch.id == 0:
            raise UsageError("the main branch cannot be deleted")
        if branch.id == current.id:
            raise UsageError(f"cannot delete the current branch {branch.name!r}; switch away first")
        children = self.children(branch)
        if children:
            names = ", ".join(c.name for c in children)
            raise UsageError(
                f"branch {branch.name!r} has branches forked from it ({names}); delete them first"
            )
        with self.storage.transaction():
            own = [SessionItem.from_dict(d) for _, d in self.storage.list_docs(branch.collection)]
            unmerged = [i for i in own if i.seq > branch.merged_upto]
            if require_merged and unmerged:
                raise UsageError(
                    f"branch {branch.name!r} has {len(unmerged)} items not merged anywhere; "
                    "merge it first or delete it with --force"
                )
            views = [d for _, d in self.storage.list_docs(VIEWS) if d.get("branch") == branch.id]
            self.storage.delete_collection(branch.collection)
            self.storage.delete_doc(BRANCHES, branch.key)
            for view in views:
                self.release_view(int(view["id"]))
        return len(own)

    def describe(self, current: Branch, follow_git: bool) -> list[dict[str, Any]]:
        names = {b.id: b.name for b in self.all()}
        rows = []
        for b in self.all():
            view_items, rest = self.visible(b)
            rows.append(
                {
                    "name": b.name,
                    "current": b.id == current.id,
                    "parent": names.get(b.parent) if b.parent is not None else None,
                    "fork_seq": b.fork_seq,
                    "description": b.description,
                    "created_at": b.created_at,
                    "item_count": len(view_items) + len(rest),
                    "compacted": b.view is not None,
                    "follow_git": follow_git and b.id == current.id,
                }
            )
        return rows


class SessionView:
    """``BranchManager().session``: the spec's handle on the current branch's log."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def add_item(self, role: str, content: str, **meta: Any) -> SessionItem:
        return self._store.add_session_item(role, content, **meta)  # type: ignore[no-any-return]

    def get_items(self, limit: int | None = None) -> list[SessionItem]:
        return self._store.get_session_items(limit)  # type: ignore[no-any-return]

    def pop(self) -> SessionItem:
        return self._store.pop_session_item()  # type: ignore[no-any-return]


class BranchManager:
    """The spec's branching API over a ``MemoryStore`` (by default the current project's)."""

    def __init__(self, store: Any = None) -> None:
        if store is None:
            from .memory import MemoryStore

            store = MemoryStore()
        self.store = store
        self.session = SessionView(store)

    @property
    def current(self) -> str:
        return self.store.current_branch()  # type: ignore[no-any-return]

    def create_branch(self, name: str, description: str = "") -> Branch:
        return self.store.create_branch(name, description)  # type: ignore[no-any-return]

    def switch_branch(self, name: str) -> Branch:
        return self.store.switch_branch(name)  # type: ignore[no-any-return]

    def compare_branches(self, branch1: str, branch2: str) -> dict[str, Any]:
        return self.store.compare_branches(branch1, branch2)  # type: ignore[no-any-return]

    def merge_branch(self, source: str, target: str | None = None) -> list[SessionItem]:
        return self.store.merge_branch(source, target)  # type: ignore[no-any-return]

    def delete_branch(self, name: str, require_merged: bool = False) -> int:
        return self.store.delete_branch(name, require_merged)  # type: ignore[no-any-return]

    def list_branches(self) -> list[dict[str, Any]]:
        return self.store.list_branches()  # type: ignore[no-any-return]
