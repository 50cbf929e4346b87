"""Session branches: the spec's BranchManager, shared history, compare, merge, delete, git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures.sessions import fill_runs

from smartcontext_cli import BranchManager, MemoryStore, NotFoundError, UsageError

BACKENDS = ["sqlite", "json"]


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, home: Path):
    opened: list[MemoryStore] = []

    def _open() -> MemoryStore:
        store = MemoryStore(namespace="proj", storage_backend=request.param)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


def log(store: MemoryStore) -> list[str]:
    return [i.content for i in store.get_session_items()]


def test_the_spec_example(open_store):
    branch_mgr = BranchManager(open_store())
    branch_mgr.session.add_item("user", "Implementing feature A")
    branch_mgr.create_branch("experiment", "Trying alternative approach")
    branch_mgr.switch_branch("experiment")
    branch_mgr.session.add_item("assistant", "Trying a queue instead of polling")
    comparison = branch_mgr.compare_branches("main", "experiment")
    assert comparison["branch1"]["item_count"] == 1
    assert comparison["branch2"]["item_count"] == 2
    branch_mgr.switch_branch("main")
    assert branch_mgr.delete_branch("experiment") == 1
    assert [b["name"] for b in branch_mgr.list_branches()] == ["main"]


def test_default_manager_uses_the_current_project(home):
    manager = BranchManager()
    manager.session.add_item("user", "hello")
    assert manager.current == "main"
    assert [i.content for i in MemoryStore().get_session_items()] == ["hello"]


def test_history_is_shared_not_copied(open_store):
    store = open_store()
    for n in range(3):
        store.add_session_item("user", f"main {n}")
    branch = store.create_branch("exp", "spike", switch=True)
    assert store.storage.list_docs(f"session-{branch.id}") == []  # nothing copied
    store.add_session_item("user", "exp only")
    assert log(store) == ["main 0", "main 1", "main 2", "exp only"]
    store.switch_branch("main")
    store.add_session_item("user", "main later")
    assert log(store) == ["main 0", "main 1", "main 2", "main later"]
    # A restart sees the same branches, the same current branch and the same logs.
    again = open_store()
    assert again.current_branch() == "main"
    again.switch_branch("exp")
    assert log(again) == ["main 0", "main 1", "main 2", "exp only"]
    assert store.consume_cache_break() == "branch switch"


def test_nested_branches_see_their_ancestry_up_to_each_fork(open_store):
    store = open_store()
    store.add_session_item("user", "a")
    store.create_branch("b1", switch=True)
    store.add_session_item("user", "b")
    store.create_branch("b2", switch=True)
    store.add_session_item("user", "c")
    store.switch_branch("b1")
    store.add_session_item("user", "b-later")
    store.switch_branch("b2")
    assert log(store) == ["a", "b", "c"]
    assert store.get_session_items(limit=2)[-1].content == "c"


def test_compare_shows_shared_history_and_what_each_added(open_store):
    store = open_store()
    store.add_session_item("user", "shared")
    store.create_branch("exp")
    store.add_session_item("user", "main side")
    store.switch_branch("exp")
    store.add_session_item("user", "exp side 1")
    store.add_session_item("user", "exp side 2")
    result = store.compare_branches("main")  # against the current branch
    assert result["common"]["item_count"] == 1
    assert result["branch1"]["name"] == "main" and result["branch2"]["name"] == "exp"
    assert [i["content"] for i in result["branch1"]["added"]] == ["main side"]
    assert [i["content"] for i in result["branch2"]["added"]] == ["exp side 1", "exp side 2"]
    assert (result["branch1"]["item_count"], result["branch2"]["item_count"]) == (2, 3)
    assert result["identical"] is False


def test_merge_appends_once_and_never_duplicates(open_store):
    store = open_store()
    store.add_session_item("user", "shared")
    store.create_branch("exp", switch=True)
    store.add_session_item("user", "idea 1")
    store.add_session_item("decision", "Use a queue")
    store.switch_branch("main")
    store.add_session_item("user", "main work")
    merged = store.merge_branch("exp")
    assert [i.content for i in merged] == ["idea 1", "Use a queue"]
    assert merged[0].meta["merged_from"] == {"branch": "exp", "seq": 2}
    assert log(store) == ["shared", "main work", "idea 1", "Use a queue"]
    assert store.merge_branch("exp") == []
    # Merging back the other way brings only what main added, not exp's own items again.
    back = store.merge_branch("main", target="exp")
    assert [i.content for i in back] == ["main work"]
    store.switch_branch("exp")
    assert log(store) == ["shared", "idea 1", "Use a queue", "main work"]
    assert store.merge_branch("main") == []
    with pytest.raises(UsageError, match="itself"):
        store.merge_branch("exp")


def test_delete_rules(open_store):
    store = open_store()
    store.add_session_item("user", "shared")
    with pytest.raises(UsageError, match="main branch cannot be deleted"):
        store.delete_branch("main")
    store.create_branch("exp", switch=True)
    store.add_session_item("user", "unmerged idea")
    with pytest.raises(UsageError, match="current branch"):
        store.delete_branch("exp")
    store.create_branch("child")
    store.switch_branch("main")
    with pytest.raises(UsageError, match="forked from it"):
        store.delete_branch("exp")
    assert store.delete_branch("child") == 0
    with pytest.raises(UsageError, match="1 items not merged"):
        store.delete_branch("exp", require_merged=True)
    store.merge_branch("exp")
    assert store.delete_branch("exp", require_merged=True) == 1
    with pytest.raises(NotFoundError, match="no branch 'exp'"):
        store.switch_branch("exp")
    assert [b["name"] for b in open_store().list_branches()] == ["main"]


def test_names_and_duplicates(open_store):
    store = open_store()
    store.create_branch("feature/login-2")
    with pytest.raises(UsageError, match="already exists"):
        store.create_branch("feature/login-2")
    for bad in ("", "-x", "a..b", "/x", "x/", "has space", "x" * 101):
        with pytest.raises(UsageError, match="invalid branch name"):
            store.create_branch(bad)


def test_compaction_is_per_branch(open_store):
    store = open_store()
    fill_runs(store, 6)  # events a digest can make smaller: compaction never grows a log
    store.create_branch("exp", switch=True)
    store.add_session_item("user", "exp work")
    store.compact_session_schema(preserve_recent=1)
    assert log(store)[-1] == "exp work" and len(log(store)) < 7
    store.switch_branch("main")
    assert len(log(store)) == 6  # the parent is untouched
    store.compact_session_schema(preserve_recent=2)
    store.create_branch("late", switch=True)  # forked after compaction: shares the compacted view
    assert log(store) == log(open_store())
    with pytest.raises(NotFoundError, match="nothing to undo on branch 'late'"):
        store.undo_compaction()


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_follow_git_switches_and_creates_branches(home, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    monkeypatch.chdir(repo)
    store = MemoryStore(namespace="proj")
    store.add_session_item("user", "on main")
    store.switch_branch(follow_git=True)
    assert store.follows_git() and store.current_branch() == "main"
    git(repo, "symbolic-ref", "HEAD", "refs/heads/feature/login")
    store.add_session_item("user", "on the feature")
    assert store.current_branch() == "feature/login"
    assert log(store) == ["on main", "on the feature"]
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    assert log(MemoryStore(namespace="proj")) == ["on main"]
    # An explicit switch stops following.
    store.switch_branch("feature/login")
    git(repo, "symbolic-ref", "HEAD", "refs/heads/other")
    assert store.current_branch() == "feature/login" and not store.follows_git()


def test_follow_git_needs_a_repository(home):
    with pytest.raises(UsageError, match="git repository"):
        MemoryStore(namespace="proj").switch_branch(follow_git=True)
