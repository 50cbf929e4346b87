"""Git hooks in real temporary repositories: install, commit, and the memories are there.

Every test drives real ``git`` (subprocess) in a fresh repository; the hooks run the real CLI
(this interpreter, ``python -m smartcontext_cli``) against the test's ``SMARTCONTEXT_HOME``.
Most install with ``--sync`` so a test can read the store right after ``git commit``; one test
covers the default background recording.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartcontext_cli import MemoryStore
from smartcontext_cli.gitlog import decisions

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MESSAGE = """Add rate limiting to the public API

We looked at leaky buckets and fixed windows first.

Decision: a token bucket per API key
Why: bursts are fine,
  sustained abuse is not
Co-authored-by: Bob Builder <bob@example.com>
Signed-off-by: Ann Dev <ann@example.com>
"""


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=check, timeout=60
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Ann Dev")
    git(path, "config", "user.email", "ann@example.com")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit(repo: Path, message: str, name: str = "a.txt", text: str | None = None) -> str:
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text if text is not None else message, encoding="utf-8")
    git(repo, "add", name)
    result = git(repo, "commit", "-q", "-m", message)
    assert result.returncode == 0, result.stderr
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def short(repo: Path, sha: str) -> str:
    return git(repo, "rev-parse", "--short", sha).stdout.strip()


def memories(repo: Path) -> list:
    store = MemoryStore(namespace=repo.name)
    try:
        return store.list(limit=None) if store.exists else []
    finally:
        store.close()


def contents(repo: Path) -> list[str]:
    return sorted(m.content for m in memories(repo))


def install(sc, repo: Path, *extra: str) -> None:
    result = sc("hook", "install", "--repo", str(repo), "--sync", *extra)
    assert result.exit_code == 0, result.stderr


# parsing -------------------------------------------------------------------------------------


def test_decision_lines_are_found_and_attribution_is_not():
    assert decisions(MESSAGE) == [
        ("Decision", "a token bucket per API key"),
        ("Why", "bursts are fine, sustained abuse is not"),
    ]
    assert decisions("Subject: not a decision\n\n- Breaking: drops py3.8\nRefs: #12") == [
        ("Breaking", "drops py3.8")
    ]
    assert decisions("Only a subject") == []


# post-commit ---------------------------------------------------------------------------------


def test_a_commit_with_trailers_becomes_decision_memories(sc, repo):
    install(sc, repo)
    sha = commit(repo, MESSAGE, name="api/limits.py")
    h = short(repo, sha)
    found = memories(repo)
    assert {m.kind for m in found} == {"decision"}
    assert all("commit" in m.tags and m.source == "git" for m in found)
    assert sorted(m.content for m in found) == sorted(
        [
            f"Commit {h} by Ann Dev: Add rate limiting to the public API (files: api/limits.py)",
            f"Decision: a token bucket per API key (commit {h}: Add rate limiting to the "
            "public API)",
            f"Why: bursts are fine, sustained abuse is not (commit {h}: Add rate limiting to the "
            "public API)",
        ]
    )
    assert not any("Bob" in m.content or "Signed" in m.content for m in found)
    # Searchable like any memory, through the CLI.
    hit = sc("-n", repo.name, "search", "token bucket", "--json").json()[0]
    assert hit["content"].startswith("Decision: a token bucket")


def test_amend_and_rebase_do_not_create_duplicates(sc, repo):
    install(sc, repo)
    commit(repo, "First commit", name="one.txt")
    commit(repo, "Second commit\n\nDecision: keep it simple", name="two.txt")
    git(repo, "commit", "-q", "--amend", "-m", "Second commit, amended\n\nDecision: keep it simple")
    texts = contents(repo)
    assert sum("Second commit" in t and t.startswith("Commit") for t in texts) == 1
    assert sum(t.startswith("Decision: keep it simple") for t in texts) == 1
    assert any("Second commit, amended" in t for t in texts)
    # A rebase rewrites both commits of a branch onto main: each is still remembered once.
    git(repo, "checkout", "-q", "-b", "feature", "HEAD~1")
    commit(repo, "Feature work\n\nWhy: users asked", name="f.txt")
    git(repo, "checkout", "-q", "main")
    commit(repo, "Main moves on", name="m.txt")
    git(repo, "checkout", "-q", "feature")
    git(repo, "rebase", "-q", "main")
    texts = contents(repo)
    assert sum(t.startswith("Commit") and "Feature work" in t for t in texts) == 1
    assert sum(t.startswith("Why: users asked") for t in texts) == 1
    new = short(repo, "HEAD")
    assert any(t.startswith(f"Commit {new} ") for t in texts)
    # Every commit memory names a commit that exists now.
    for t in texts:
        if t.startswith("Commit "):
            assert git(repo, "cat-file", "-t", t.split()[1]).stdout.strip() == "commit"


def test_the_default_hook_records_in_the_background(sc, repo):
    assert sc("hook", "install", "--repo", str(repo)).exit_code == 0
    text = (repo / ".git" / "hooks" / "post-commit").read_text()
    assert text.rstrip().splitlines()[-2].endswith("&")
    commit(repo, "Background commit\n\nDecision: record after git returns")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(contents(repo)) < 2:
        time.sleep(0.1)
    assert len(contents(repo)) == 2


# chaining ------------------------------------------------------------------------------------


def test_an_existing_hook_still_runs_and_uninstall_restores_it(sc, repo):
    hooks = repo / ".git" / "hooks"
    original = b'#!/bin/sh\n# my hook\necho "mine $(git rev-parse --short HEAD)" >> mine.log\n'
    (hooks / "post-commit").write_bytes(original)
    os.chmod(hooks / "post-commit", 0o750)
    install(sc, repo)
    status = sc("hook", "status", "--repo", str(repo), "--json").json()
    row = next(r for r in status["hooks"] if r["hook"] == "post-commit")
    assert row["installed"] and row["chained"].endswith("post-commit.pre-smartcontext")
    sha = commit(repo, "Chained commit")
    assert (repo / "mine.log").read_text() == f"mine {short(repo, sha)}\n"
    assert any(t.startswith("Commit ") for t in contents(repo))
    assert sc("hook", "uninstall", "--repo", str(repo)).exit_code == 0
    assert (hooks / "post-commit").read_bytes() == original
    assert stat.S_IMODE((hooks / "post-commit").stat().st_mode) == 0o750
    assert not (hooks / "post-commit.pre-smartcontext").exists()
    assert not (hooks / "post-checkout").exists() and not (hooks / "post-rewrite").exists()


def test_the_original_hooks_exit_status_is_kept(sc, repo):
    hooks = repo / ".git" / "hooks"
    (hooks / "post-checkout").write_text('#!/bin/sh\necho "$@" > args.log\nexit 7\n')
    os.chmod(hooks / "post-checkout", 0o755)
    install(sc, repo)
    commit(repo, "base")
    result = subprocess.run([str(hooks / "post-checkout"), "a", "b", "1"], cwd=repo, timeout=60)
    assert result.returncode == 7
    assert (repo / "args.log").read_text() == "a b 1\n"


def test_core_hooks_path_is_respected(sc, repo, tmp_path):
    shared = tmp_path / "shared-hooks"
    git(repo, "config", "core.hooksPath", str(shared))
    install(sc, repo)
    assert (shared / "post-commit").is_file() and not (repo / ".git/hooks/post-commit").exists()
    commit(repo, "Through core.hooksPath")
    assert any("Through core.hooksPath" in t for t in contents(repo))
    # A relative core.hooksPath is taken from the top of the work tree, as git does.
    git(repo, "config", "core.hooksPath", ".githooks")
    (repo / "sub").mkdir()
    install(sc, repo / "sub")
    assert (repo / ".githooks" / "post-commit").is_file()


def test_worktrees_share_the_hooks_and_record_in_their_own_namespace(sc, repo, tmp_path):
    commit(repo, "base")
    tree = tmp_path / "proj-wt"
    git(repo, "worktree", "add", "-q", "-b", "wt-branch", str(tree))
    install(sc, tree)  # installed from the worktree: into the common hooks directory
    assert (repo / ".git" / "hooks" / "post-commit").is_file()
    commit(tree, "Work in the worktree", name="w.txt")
    assert any("Work in the worktree" in t for t in contents(tree))
    assert not any("Work in the worktree" in t for t in contents(repo))


def test_pre_commit_managed_repositories_keep_working(sc, repo, tmp_path):
    if shutil.which("pre-commit") is None and not _has_module("pre_commit"):
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: note\n    name: note\n"
        "    entry: sh -c 'echo ran >> pre-commit-ran.log'\n    language: system\n"
        "    stages: [post-commit]\n    always_run: true\n    pass_filenames: false\n"
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    pc = [sys.executable, "-m", "pre_commit"]
    subprocess.run(
        [*pc, "install", "-t", "post-commit"], cwd=repo, env=env, check=True, capture_output=True
    )
    theirs = (repo / ".git/hooks/post-commit").read_bytes()
    install(sc, repo)
    commit(repo, "Managed by pre-commit\n\nDecision: both hooks run")
    assert (repo / "pre-commit-ran.log").read_text() == "ran\n"
    assert any(t.startswith("Decision: both hooks run") for t in contents(repo))
    status = sc("hook", "status", "--repo", str(repo), "--json").json()
    assert next(r for r in status["hooks"] if r["hook"] == "post-commit")["installed"]
    assert sc("hook", "uninstall", "--repo", str(repo)).exit_code == 0
    assert (repo / ".git/hooks/post-commit").read_bytes() == theirs
    # The other order: pre-commit installed over ours chains it as post-commit.legacy.
    subprocess.run(
        [*pc, "uninstall", "-t", "post-commit"], cwd=repo, env=env, check=True, capture_output=True
    )
    install(sc, repo)
    subprocess.run(
        [*pc, "install", "-t", "post-commit"], cwd=repo, env=env, check=True, capture_output=True
    )
    assert (repo / ".git/hooks/post-commit.legacy").is_file()
    commit(repo, "pre-commit on top\n\nWhy: it renames ours to legacy", name="b.txt")
    assert (repo / "pre-commit-ran.log").read_text() == "ran\nran\n"
    assert any(t.startswith("Why: it renames ours") for t in contents(repo))
    assert sc("hook", "uninstall", "--repo", str(repo)).exit_code == 0
    assert not (repo / ".git/hooks/post-commit.legacy").exists()
    assert (repo / ".git/hooks/post-commit").read_bytes() == theirs


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# failures never block git --------------------------------------------------------------------


def test_a_broken_store_does_not_fail_the_commit(sc, repo, home):
    install(sc, repo)
    commit(repo, "first")
    db = next(home.rglob("*.db"))
    for extra in db.parent.glob(db.name + "-*"):
        extra.unlink()
    db.write_bytes(b"this is not a database" * 100)
    (repo / "b.txt").write_text("b")
    git(repo, "add", "b.txt")
    result = git(repo, "commit", "-q", "-m", "second", check=False)
    assert result.returncode == 0 and result.stderr == ""
    assert git(repo, "log", "-1", "--format=%s").stdout.strip() == "second"
    log = (home / "logs" / "hooks.log").read_text().splitlines()
    assert len(log) == 1 and "post-commit:" in log[0]
    status = sc("hook", "status", "--repo", str(repo), "--json").json()
    assert status["last_failure"] == log[0]


def test_hook_run_logs_and_exits_zero_on_any_error(sc, home, tmp_path):
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    os.chdir(outside)
    result = sc("hook", "run", "post-commit", "--json")
    assert result.exit_code == 0
    assert "error" in result.json()
    assert (home / "logs" / "hooks.log").read_text().count("\n") == 1
    assert sc("hook", "run", "pre-push").exit_code == 2  # a name it does not know is usage


# post-checkout and post-merge ----------------------------------------------------------------


def test_post_checkout_makes_the_session_follow_the_git_branch(sc, repo):
    install(sc, repo)
    commit(repo, "base")
    os.chdir(repo)
    git(repo, "checkout", "-q", "-b", "feature/login")
    current = sc("branch", "current", "--json").json()
    assert current == {"branch": "feature/login", "follow_git": True}
    git(repo, "checkout", "-q", "main")
    assert sc("branch", "current", "--json").json()["branch"] == "main"
    git(repo, "checkout", "-q", "HEAD~0", "--detach")  # detached: the session stays put
    assert sc("branch", "current", "--json").json()["branch"] == "main"


def test_post_merge_records_the_merge_commit(sc, repo):
    install(sc, repo, "--post-commit", "--post-merge")
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, "Topic work", name="t.txt")
    git(repo, "checkout", "-q", "main")
    commit(repo, "Main work", name="m.txt")
    git(repo, "merge", "-q", "--no-ff", "topic", "-m", "Merge topic\n\nDecision: ship topic now")
    merges = [m for m in memories(repo) if "merge" in m.tags]
    assert len(merges) == 1 and merges[0].content.startswith("Merge ")
    assert "Merge topic" in merges[0].content
    assert any(t.startswith("Decision: ship topic now") for t in contents(repo))
    assert not (repo / ".git/hooks/post-checkout").exists()  # only what was asked for


# backfill ------------------------------------------------------------------------------------


def test_backfill_records_past_commits_once(sc, repo):
    first = commit(repo, "Initial", name="0.txt")
    for i in range(3):
        commit(repo, f"Change {i}\n\nDecision: option {i}", name=f"{i}.txt")
    os.chdir(repo)
    result = sc("hook", "backfill", "--since", first, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"commits": 3, "memories": 6, "skipped": 0}
    texts = contents(repo)
    assert not any("Initial" in t for t in texts)
    assert sum(t.startswith("Decision: option") for t in texts) == 3
    again = sc("hook", "backfill", "--since", first, "--json").json()
    assert again == {"commits": 0, "memories": 0, "skipped": 3}
    bad = sc("hook", "backfill", "--since", "no-such-rev")
    assert bad.exit_code == 2 and bad.stderr.startswith("smartcontext: error: git rev-parse")


def test_install_outside_a_repository_is_one_clear_error(sc, tmp_path):
    result = sc("hook", "install", "--repo", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"smartcontext: error: {tmp_path} is not inside a git repository\n"


def test_status_reports_foreign_hooks(sc, repo):
    (repo / ".git/hooks/post-merge").write_text("#!/bin/sh\ntrue\n")
    os.chmod(repo / ".git/hooks/post-merge", 0o755)
    data = sc("hook", "status", "--repo", str(repo), "--json").json()
    rows = {r["hook"]: r for r in data["hooks"]}
    assert rows["post-merge"]["other"] == "other" and not rows["post-merge"]["installed"]
    assert json.dumps(data)  # a plain JSON shape
