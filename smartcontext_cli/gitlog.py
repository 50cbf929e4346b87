"""Reading commits from git: one ``git log`` call per batch, and the decisions in a message.

Why a subprocess: commit metadata, changed files and rewrites are git's own business (packs,
grafts, replace refs, worktrees); reading its object store by hand would be wrong in corner
cases. Each call is one ``git log -z`` over the revisions wanted, parsed with separators that
cannot occur in a commit header (``\\x1e`` between commits, ``\\x1f`` between fields).

Decisions in a message: a line ``Key: value`` whose key is one of ``DECISION_KEYS`` (in the
body or the trailer block, optionally as a ``-``/``*`` bullet; indented lines continue it).
Attribution trailers (``Co-authored-by``, ``Signed-off-by`` ...) are never decisions.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

# Keys (lower-case) whose lines record a decision; "breaking change" is Conventional Commits'.
DECISION_KEYS = {
    "decision": "Decision",
    "why": "Why",
    "breaking": "Breaking",
    "breaking change": "Breaking",
    "breaking-change": "Breaking",
    "rationale": "Rationale",
    "reason": "Reason",
    "tradeoff": "Tradeoff",
    "trade-off": "Tradeoff",
    "constraint": "Constraint",
}
_KEY_LINE = re.compile(r"^(?:[-*]\s+)?([A-Za-z][A-Za-z-]*(?: [A-Za-z]+)?)\s*:\s*(\S.*)$")
_FORMAT = "%x1e%H%x1f%h%x1f%an%x1f%ae%x1f%aI%x1f%P%x1f%B%x1f"
GIT_TIMEOUT = 30.0


@dataclass
class Commit:
    sha: str
    short: str
    author: str
    email: str
    date: str
    parents: list[str]
    message: str
    files: list[str] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0].strip() if self.message.strip() else ""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    def decisions(self) -> list[tuple[str, str]]:
        return decisions(self.message)


def decisions(message: str) -> list[tuple[str, str]]:
    """``(Key, text)`` for every decision line of a commit message (not the subject)."""
    lines = message.strip("\n").splitlines()[1:]
    found: list[list[str]] = []
    continuing = False
    for line in lines:
        if continuing and line[:1] in (" ", "\t") and line.strip():
            found[-1][1] += " " + line.strip()
            continue
        continuing = False
        match = _KEY_LINE.match(line.strip())
        if match:
            key = DECISION_KEYS.get(match.group(1).lower())
            if key:
                found.append([key, match.group(2).strip()])
                continuing = True
    return [(k, v) for k, v in found if v]


def run_git(args: Sequence[str], cwd: Path | str | None = None) -> str:
    """``git ARGS`` in ``cwd``; its stdout as text, or one clear error naming the command."""
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            env=env,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {' '.join(args[:2])} took longer than {GIT_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit {proc.returncode}"
        raise UsageError(f"git {' '.join(args[:2])} failed: {reason}")
    return proc.stdout.decode("utf-8", "replace")


def repo_paths(repo: Path | str | None = None) -> tuple[Path, Path]:
    """(work tree top level, hooks directory) of the repository at ``repo`` (default: cwd).

    The hooks directory is git's own answer: ``core.hooksPath`` when set, else the common
    ``.git/hooks`` that every worktree of the repository shares.
    """
    where = Path(repo) if repo is not None else Path.cwd()
    if not where.exists():
        raise UsageError(f"no such directory: {where}")
    try:
        out = run_git(["rev-parse", "--show-toplevel", "--git-path", "hooks"], cwd=where)
    except UsageError as exc:
        if "not a git repository" in str(exc):
            raise UsageError(f"{where} is not inside a git repository") from None
        raise
    lines = out.splitlines()
    if len(lines) < 2:
        raise UsageError(f"{where} is not inside a git work tree")
    top = Path(lines[0])
    hooks = Path(lines[1])
    if not hooks.is_absolute():
        # rev-parse prints --git-path relative to where it ran (a relative core.hooksPath too).
        hooks = where / hooks
    return top, hooks.resolve()


def read_commits(
    revs: Sequence[str], cwd: Path | str | None = None, walk: bool = False
) -> list[Commit]:
    """The commits ``revs`` name, oldest first; ``walk`` reads a range (``A..B``) instead.

    Merges list no files (``git log`` shows a merge's files only against one parent).
    """
    if not revs:
        return []
    args = ["log", "-z", "--name-only", "--no-renames", f"--format={_FORMAT}", "--reverse"]
    if not walk:
        args.append("--no-walk=unsorted")
    out = run_git([*args, *revs, "--"], cwd=cwd)
    commits = [_parse(record) for record in out.split("\x1e")[1:]]
    if not walk:
        # --no-walk keeps the order given; --reverse does not apply to it.
        order = {c.sha: i for i, c in enumerate(commits)}
        commits.sort(key=lambda c: order[c.sha])
    return commits


def _parse(record: str) -> Commit:
    sha, short, author, email, date, parents, message, rest = record.split("\x1f", 7)
    files = [f for f in rest.lstrip("\x00").lstrip("\n").split("\x00") if f.strip()]
    return Commit(
        sha=sha,
        short=short,
        author=author,
        email=email,
        date=date,
        parents=parents.split(),
        message=message,
        files=files,
    )


def head_sha(cwd: Path | str | None = None) -> str:
    return run_git(["rev-parse", "HEAD"], cwd=cwd).strip()


def is_ancestor(old: str, new: str, cwd: Path | str | None = None) -> bool:
    try:
        run_git(["merge-base", "--is-ancestor", old, new], cwd=cwd)
    except UsageError:
        return False
    return True
