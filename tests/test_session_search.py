"""``MemoryStore.search_session``: every event of every branch is searchable, compacted and
archived ones included, and the index agrees with the log after any sequence of operations."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from smartcontext_cli import MemoryStore
from smartcontext_cli.branching import BranchOps
from smartcontext_cli.errors import SmartContextError, UsageError
from smartcontext_cli.text import query_terms, terms

BACKENDS = ["sqlite", "json"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = MemoryStore(namespace="proj", storage_backend=request.param, base_dir=tmp_path)
    yield s
    s.close()


def chat(store: MemoryStore, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        store.add_session_item("user" if i % 2 else "assistant", f"small talk number {i}")


def test_finds_an_old_event_by_its_words_with_its_place_in_the_log(store):
    chat(store, 10)
    store.add_session_item("assistant", "We decided to run billing on PostgreSQL 16.")
    chat(store, 10, 10)
    (hit, *_) = store.search_session("which database does billing use?")
    assert hit.seq == 11 and hit.role == "assistant" and hit.branch == "main"
    assert "PostgreSQL 16" in hit.content and hit.archived is False and hit.score > 0
    assert hit.created_at and set(hit.to_dict()) == {
        "seq",
        "role",
        "branch",
        "created_at",
        "archived",
        "content",
        "score",
        "meta",
    }


def test_compacted_events_stay_findable_marked_archived_and_undo_restores_them(store):
    chat(store, 20)
    store.add_session_item("user", "My flight to Lisbon leaves on 14 March at 09:40.")
    chat(store, 40, 20)
    before = [h.seq for h in store.search_session("flight Lisbon")]
    assert before[0] == 21 and not store.search_session("flight Lisbon")[0].archived
    store.compact_session_schema(preserve_recent=10)
    after = store.search_session("flight Lisbon")
    assert [h.seq for h in after] == before and after[0].archived
    store.undo_compaction()
    assert not store.search_session("flight Lisbon")[0].archived
    store.end_session()
    assert store.search_session("flight Lisbon")[0].archived


def test_popped_events_are_gone_from_search(store):
    store.add_session_item("user", "remember the zebra")
    store.pop_session_item()
    assert store.search_session("zebra") == []


def test_branches_see_their_own_history_and_all_branches_sees_everything(store):
    store.add_session_item("user", "shared history about caching")
    store.create_branch("experiment", switch=True)
    store.add_session_item("tool", "experiment: caching with Redis failed")
    store.switch_branch("main")
    store.add_session_item("user", "main: caching with memcached works")
    on_main = {h.content for h in store.search_session("caching", limit=10)}
    assert on_main == {"shared history about caching", "main: caching with memcached works"}
    on_exp = store.search_session("caching", limit=10, branch="experiment")
    assert {h.content for h in on_exp} == {
        "shared history about caching",
        "experiment: caching with Redis failed",
    }
    assert {h.branch for h in on_exp} == {"main", "experiment"}
    everything = store.search_session("caching", limit=10, all_branches=True)
    assert len(everything) == 3
    # A merged event is found once, as the original.
    store.merge_branch("experiment")
    merged = store.search_session("redis", limit=10, all_branches=True)
    assert [(h.branch, h.content) for h in merged] == [
        ("experiment", "experiment: caching with Redis failed")
    ]
    assert [h.branch for h in store.search_session("redis")] == ["main"]  # the copy, on main
    store.delete_branch("experiment", require_merged=False)
    assert [h.branch for h in store.search_session("redis", all_branches=True)] == ["main"]


def test_typos_and_limits(store):
    store.add_session_item("user", "Deploy with kubernetes on Friday")
    assert store.search_session("kubernets")[0].seq == 1
    assert store.search_session("kubernetes", limit=0) == []
    assert store.search_session("?!") == []
    with pytest.raises(UsageError):
        store.search_session("x", limit=-1)
    with pytest.raises(UsageError):
        store.search_session("x", branch="main", all_branches=True)


def test_a_new_namespace_is_not_created_by_a_search(tmp_path):
    s = MemoryStore(namespace="nothing", base_dir=tmp_path)
    assert s.search_session("anything") == [] and not s.exists


def test_backends_return_the_same_hits(tmp_path):
    stores = [
        MemoryStore(namespace=f"n{b}", storage_backend=b, base_dir=tmp_path) for b in BACKENDS
    ]
    for s in stores:
        for i in range(30):
            s.add_session_item("user", f"turn {i} about {'redis cache' if i % 3 else 'postgres'}")
        s.compact_session_schema(preserve_recent=5)
    for q in ("redis", "postgres turn", "cache 7"):
        got = [
            [(h.seq, h.archived, round(h.score, 9)) for h in s.search_session(q, 10)]
            for s in stores
        ]
        assert got[0] == got[1], q
    for s in stores:
        s.close()


def test_search_survives_a_restart_in_a_new_process(tmp_path, store):
    store.add_session_item("user", "The staging database is called orion")
    backend, home = store.backend, store.home
    code = (
        "from smartcontext_cli import MemoryStore;"
        f"s = MemoryStore(namespace='proj', storage_backend={backend!r}, base_dir={str(home)!r});"
        "print(s.search_session('orion')[0].seq)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


# a state machine: the index agrees with the log after any sequence of operations -------------

WORDS = ["redis", "deploy", "lisbon", "flight", "pytest", "thanks", "ok", "billing", "march"]
QUERIES = ["redis", "lisbon flight", "pytest billing", "march ok"]


class SessionIndexMachine(RuleBasedStateMachine):
    backend = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = MemoryStore(
            namespace="sm",
            storage_backend=self.backend,
            base_dir=self.tmp.name,
            max_session_turns=12,
        )
        self.branches = ["main"]

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()

    @rule(
        words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=5),
        role=st.sampled_from(["user", "assistant", "tool", "observation"]),
    )
    def add(self, words, role):
        self.store.add_session_item(role, " ".join(words))

    @rule()
    def pop(self):
        with contextlib.suppress(
            SmartContextError
        ):  # an empty log, a compacted tail, a shared item: refused
            self.store.pop_session_item()

    @rule(keep=st.integers(0, 6))
    def compact(self, keep):
        if self.store.get_session_items():
            self.store.compact_session_schema(preserve_recent=keep)

    @rule()
    def undo(self):
        with contextlib.suppress(SmartContextError):  # nothing to undo
            self.store.undo_compaction()

    @rule()
    def end(self):
        with contextlib.suppress(SmartContextError):  # an empty log: nothing to end
            self.store.end_session()

    @precondition(lambda self: len(self.branches) < 4)
    @rule()
    def fork(self):
        self.forks = getattr(self, "forks", 0) + 1
        name = f"b{self.forks}"  # never a name used before, even after a delete
        self.store.create_branch(name, switch=True)
        self.branches.append(name)

    @rule(i=st.integers(0, 3))
    def switch(self, i):
        self.store.switch_branch(self.branches[i % len(self.branches)])

    @rule(i=st.integers(0, 3))
    def merge(self, i):
        source = self.branches[i % len(self.branches)]
        if source != self.store.current_branch():
            self.store.merge_branch(source)

    @rule(i=st.integers(1, 3))
    def delete(self, i):
        if len(self.branches) > 1:
            name = self.branches[i % len(self.branches)]
            if name != "main" and name != self.store.current_branch():
                try:
                    self.store.delete_branch(name)
                except UsageError:  # has children
                    return
                self.branches.remove(name)

    @invariant()
    def search_agrees_with_the_log(self):
        ops = BranchOps(self.store.storage)
        branch = ops.get(self.store.current_branch())
        view = ops.view(branch.view)
        raw = ops.raw_chain(branch)
        visible = {i.seq for i in ops.visible(branch)[1]}
        for q in QUERIES:
            want = set(query_terms(q))
            matching = {i.seq for i in raw if want & set(terms(i.content))}
            hits = self.store.search_session(q, limit=10_000)
            assert {h.seq for h in hits} == matching, q
            for h in hits:
                assert h.archived == (h.seq not in visible), (q, h.seq, view and view.upto)
            every = self.store.search_session(q, limit=10_000, all_branches=True)
            own = {
                int(k)
                for b in ops.all()
                for k, d in self.store.storage.list_docs(b.collection)
                if want & set(terms(d["content"]))
            }
            assert {h.seq for h in every} <= own
            scores = [h.score for h in hits]
            assert scores == sorted(scores, reverse=True)


class JSONSessionIndexMachine(SessionIndexMachine):
    backend = "json"


_settings = dict(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSQLiteSessionIndex = SessionIndexMachine.TestCase
TestSQLiteSessionIndex.settings = settings(**_settings)
TestJSONSessionIndex = JSONSessionIndexMachine.TestCase
TestJSONSessionIndex.settings = settings(**_settings)


def test_migrating_keeps_every_event_searchable(tmp_path):
    from smartcontext_cli.migrate import migrate_namespace

    s = MemoryStore(namespace="mig", storage_backend="sqlite", base_dir=tmp_path)
    s.add_session_item("user", "The canary runs in region ap-south-2")
    for i in range(30):
        s.add_session_item("assistant", f"step {i}")
    s.compact_session_schema(preserve_recent=5)
    before = [(h.seq, h.archived) for h in s.search_session("canary region")]
    for target in ("json", "sqlite"):
        migrate_namespace(s, target)
        s.close()
        s = MemoryStore(namespace="mig", base_dir=tmp_path)
        assert s.backend == target
        assert [(h.seq, h.archived) for h in s.search_session("canary region")] == before
    s.close()
