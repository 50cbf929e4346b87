"""Commits as memories: what the git hooks record, and how rewrites keep them single.

A commit becomes one memory of kind ``decision`` (subject, short hash, author, files changed;
tagged ``commit``), and each decision line of its message (``Decision:``, ``Why:``,
``Breaking:`` ...; see ``gitlog.decisions``) one more, linked to it by the short hash in its
text and by the record below. Attribution trailers are not decisions.

No duplicates: each recorded commit has a document ``git_commits/<sha>`` listing its memories,
written in the same transaction as they are, so recording a commit twice (a hook run twice, a
backfill over recorded history) does nothing. Amends and rebases run ``post-commit`` for the new
commits and then ``post-rewrite`` with old -> new pairs: the old commits' memories are deleted
(except any the new commit shares), so a rewritten commit is remembered once, as it is now.

Every function takes a ``MemoryStore`` and a repository directory; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import now
from .gitlog import Commit, head_sha, read_commits, run_git
from .models import Memory

if TYPE_CHECKING:
    from .memory import MemoryStore

COMMITS = "git_commits"
MAX_FILES_LISTED = 10
COMMIT_IMPORTANCE = 0.4
DECISION_IMPORTANCE = 0.7


def _when(date: str) -> str:
    """A git ISO date as the store's timestamp form (UTC, microseconds)."""
    try:
        moment = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return now()
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _files(files: Sequence[str]) -> str:
    if not files:
        return ""
    shown = ", ".join(files[:MAX_FILES_LISTED])
    more = len(files) - MAX_FILES_LISTED
    return f" (files: {shown}" + (f" and {more} more)" if more > 0 else ")")


def commit_memories(commit: Commit, merge: bool = False) -> list[Memory]:
    """The memories a commit is recorded as: the commit itself, then one per decision line."""
    when = _when(commit.date)
    subject = commit.subject or "(no subject)"
    what = "Merge" if merge else "Commit"
    tags = ["commit", "merge", "git"] if merge else ["commit", "git"]
    out = [
        Memory(
            content=f"{what} {commit.short} by {commit.author}: {subject}{_files(commit.files)}",
            tags=tags,
            kind="decision",
            source="git",
            importance=COMMIT_IMPORTANCE,
            created_at=when,
        )
    ]
    for key, text in commit.decisions():
        out.append(
            Memory(
                content=f"{key}: {text} (commit {commit.short}: {subject})",
                tags=["commit", "git", key.lower()],
                kind="decision",
                source="git",
                importance=DECISION_IMPORTANCE,
                created_at=when,
            )
        )
    return out


def is_recorded(store: MemoryStore, sha: str) -> bool:
    return store.exists and store.storage.get_doc(COMMITS, sha) is not None


def record_commit(store: MemoryStore, commit: Commit, merge: bool = False) -> list[str] | None:
    """Record ``commit``; its memory ids, or None when it was recorded before."""
    memories = commit_memories(commit, merge)
    for memory in memories:  # a commit message is text entering the store: the same door
        memory.content = store.admit(memory.content, "commit memory")
    subject = store.admit(commit.subject, "commit subject")
    storage = store.storage
    with storage.transaction():
        if storage.get_doc(COMMITS, commit.sha) is not None:
            return None
        storage.add_memories(memories)
        storage.put_doc(
            COMMITS,
            commit.sha,
            {
                "short": commit.short,
                "subject": subject,
                "merge": merge,
                "memories": [m.id for m in memories],
                "recorded_at": now(),
            },
        )
    return [m.id for m in memories]


def forget_commit(store: MemoryStore, sha: str, keep: Iterable[str] = ()) -> int:
    """Delete a recorded commit's memories (not those in ``keep``); how many were deleted."""
    storage = store.storage
    with storage.transaction():
        doc = storage.get_doc(COMMITS, sha)
        if doc is None:
            return 0
        kept = set(keep)
        doomed = [m for m in doc.get("memories", []) if m not in kept]
        deleted = storage.delete_memories(doomed)
        storage.delete_doc(COMMITS, sha)
    return deleted


def record_revs(
    store: MemoryStore, revs: Sequence[str], repo: Path, walk: bool = False
) -> dict[str, int]:
    """Record the commits ``revs`` names (a range with ``walk``), oldest first, skipping known."""
    counts = {"commits": 0, "memories": 0, "skipped": 0}
    for commit in read_commits(revs, repo, walk=walk):
        if is_recorded(store, commit.sha):
            counts["skipped"] += 1
            continue
        ids = record_commit(store, commit, merge=commit.is_merge)
        if ids is None:
            counts["skipped"] += 1
        else:
            counts["commits"] += 1
            counts["memories"] += len(ids)
    return counts


def record_rewrites(
    store: MemoryStore, pairs: Sequence[tuple[str, str]], repo: Path
) -> dict[str, int]:
    """After an amend or a rebase: forget the old commits, record the new ones (once)."""
    counts = {"commits": 0, "memories": 0, "skipped": 0, "forgotten": 0}
    if not store.exists:
        return counts
    new_shas = [new for _, new in pairs if not is_recorded(store, new)]
    if new_shas:
        for key, value in record_revs(store, list(dict.fromkeys(new_shas)), repo).items():
            counts[key] += value
    for old, new in pairs:
        if old == new:
            continue
        doc = store.storage.get_doc(COMMITS, new) or {}
        counts["forgotten"] += forget_commit(store, old, keep=doc.get("memories", []))
    return counts


def parse_rewrites(text: str) -> list[tuple[str, str]]:
    """post-rewrite's standard input: ``OLD NEW [extra]`` per line."""
    pairs = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            pairs.append((parts[0], parts[1]))
    return pairs


def follow_checkout(store: MemoryStore, flag: str) -> str | None:
    """post-checkout: the session follows the checked-out git branch; its name, or None.

    Only branch checkouts (flag 1) with a branch checked out: a file checkout or a detached
    HEAD (a rebase in progress, ``git checkout SHA``) leaves the session branch alone.
    """
    from .branching import git_head_branch

    if flag != "1" or git_head_branch() is None:
        return None
    return store.switch_branch(follow_git=True).name


def record_merge(store: MemoryStore, repo: Path) -> dict[str, int]:
    """post-merge: the merge commit (a fast-forward creates none, so nothing is recorded)."""
    sha = head_sha(repo)
    commits = read_commits([sha], repo)
    if not commits or not commits[0].is_merge:
        return {"commits": 0, "memories": 0, "skipped": 0}
    return record_revs(store, [sha], repo)


def backfill(store: MemoryStore, since: str, repo: Path) -> dict[str, int]:
    """Record the commits after ``since`` up to HEAD (``git log SINCE..HEAD``), oldest first."""
    run_git(["rev-parse", "--verify", "--quiet", f"{since}^{{commit}}"], cwd=repo)
    return record_revs(store, [f"{since}..HEAD"], repo, walk=True)


def run(
    store: MemoryStore, hook: str, args: Sequence[str], stdin: str, repo: Path
) -> dict[str, Any]:
    """What the installed ``hook`` does; a report of what it recorded."""
    report: dict[str, Any] = {"hook": hook, "namespace": store.namespace}
    if hook == "post-commit":
        sha = args[0] if args else head_sha(repo)
        report.update(record_revs(store, [sha], repo))
    elif hook == "post-rewrite":
        report.update(record_rewrites(store, parse_rewrites(stdin), repo))
    elif hook == "post-checkout":
        report["branch"] = follow_checkout(store, args[2] if len(args) > 2 else "1")
    elif hook == "post-merge":
        report.update(record_merge(store, repo))
    return report
