"""The session protocol on ``MemoryStore``: the log, its limits, compaction, session end, branches.

What it guarantees:

* The log is append-only. Trimming, compaction and ``end_session`` never move or delete an
  item: they point the branch at a *view* (``branching.View``) that replaces the old part; the
  raw log stays readable (``get_session_items(raw=True)``) and ``undo_compaction`` restores it.
* When the visible log exceeds ``max_turns()``, the compression strategy runs on all but the
  most recent half; if that cannot leave a quarter of the limit free, the old part is compacted
  into a typed digest instead. ``none`` keeps everything. Never larger: a result with no fewer
  tokens than what it replaces is not applied, so the log may stay over the limit.
* An event is at most 1 MB; a larger tool output is kept whole as an artifact, referenced.
* Every item's token count is measured once, when it is added, so reports of tokens before and
  after cost nothing later.
* Branch switches, compaction, trimming and session end mark a planned cache break.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, UsageError
from .models import Memory, SessionItem

# branching's names, spelled here: importing branching and compression only when the session
# is used keeps them off the path of commands that never touch it (a cold `search`).
MAIN = "main"
STATE = "session_state"
SESSION = "session"

if TYPE_CHECKING:
    from .branching import Branch, BranchOps
    from .compaction import Insight
    from .config import Settings
    from .session_search import SessionHit
    from .storage.base import Storage

ROLE_RE = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
# An event is at most what a memory may be; larger tool output becomes an artifact. Input up to
# an artifact's limit is read, so that it can be.
MAX_EVENT_BYTES = 1_000_000
MAX_INPUT_BYTES = 50_000_000
MAX_ITEM_BYTES = MAX_INPUT_BYTES  # the name the MCP server's schema imports
MAX_COMMAND_CHARS = 1000
MIN_TURNS = 2


def validate_role(role: str) -> str:
    clean = role.strip().lower()
    if not ROLE_RE.fullmatch(clean):
        raise UsageError(
            f"invalid role {role!r}: one word such as user, assistant, tool, observation, "
            "decision or error (letters, digits, '_', '-', '.'; at most 32)"
        )
    return clean


def validate_command(command: str) -> str:
    clean = command.strip()
    if not clean or "\n" in clean or "\x00" in clean or len(clean) > MAX_COMMAND_CHARS:
        raise UsageError(
            f"invalid command {command[:60]!r}: one line of at most {MAX_COMMAND_CHARS} characters"
        )
    return clean


@dataclass
class SessionReport:
    """What a trim, compaction, session end or undo did (``to_dict`` is the CLI's JSON)."""

    action: str
    branch: str
    dry_run: bool = False
    events_before: int = 0
    events_after: int = 0
    compacted: int = 0
    preserved: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    strategy: str | None = None
    sections: dict[str, int] = field(default_factory=dict)
    memories_added: list[dict[str, Any]] = field(default_factory=list)
    memories_known: int = 0
    memories_removed: int = 0
    artifacts: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    view: int | None = None
    notice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SessionMixin:
    """Mixed into ``MemoryStore``; relies on its ``storage``, ``settings`` and memory API."""

    if TYPE_CHECKING:
        # Provided by MemoryStore as a lazily opening property.
        @property
        def storage(self) -> Storage: ...

        @property
        def exists(self) -> bool: ...

    settings: Settings
    namespace: str
    notices: list[str]
    last_trim: SessionReport | None = None

    if TYPE_CHECKING:

        def remember(
            self,
            content: str,
            tags: Any = None,
            kind: str = "note",
            importance: float = 0.5,
            source: str = "user",
        ) -> Memory: ...
        def store_artifact(self, name: str, content: str) -> Any: ...
        def mark_cache_break(self, reason: str = "manual") -> None: ...
        def backup(self, reason: str) -> Any: ...
        def admit(self, value: Any, what: str) -> Any: ...

    # plumbing --------------------------------------------------------------------------------

    def _ops(self) -> BranchOps:
        from .branching import BranchOps

        return BranchOps(self.storage)

    def _branch(self, dry_run: bool = False) -> Branch:
        """The current branch, after catching up with git's when following it.

        ``dry_run`` writes nothing: git's branch is used if it exists, never created.
        """
        ops = self._ops()
        state = ops.state()
        current = ops.find(str(state.get("current", MAIN))) or ops.by_id(0)
        if state.get("follow_git"):
            from .branching import git_head_branch

            head = git_head_branch()
            if head and head != current.name and dry_run:
                return ops.find(head) or current
            if head and head != current.name:
                with self.storage.transaction():
                    target = ops.find(head) or ops.create(
                        head, f"follows git branch {head}", current
                    )
                    ops.set_state(target.name, True)
                self.mark_cache_break("branch switch")
                return target
        return current

    def _tokens(self, items: list[SessionItem]) -> int:
        """The items' token count; items not yet counted (for this encoding) are counted now."""
        from .tokens import Tokenizer

        encoding = str(self.settings.get("encoding"))
        tokenizer = None
        total = 0
        for item in items:
            if item.token_count is None or item.meta.get("token_encoding") != encoding:
                tokenizer = tokenizer or Tokenizer(
                    encoding, self.settings.home / "cache" / "tokens"
                )
                n = tokenizer.count(item.content)
                total += n
                if tokenizer.exact:  # an estimate is reported, never stored as a count
                    item.token_count = n
                    item.meta["token_encoding"] = encoding
                continue
            total += item.token_count
        return total

    def _setting(self, key: str) -> Any:
        # Flags and environment variables win; then what was set for this namespace; then config.
        if self.settings.sources.get(key) in ("flag", "env"):
            return self.settings.get(key)
        doc = self.storage.get_doc(STATE, "settings") or {}
        return doc.get(key, self.settings.get(key))

    def _persist_setting(self, key: str, value: Any) -> None:
        with self.storage.transaction():
            doc = self.storage.get_doc(STATE, "settings") or {}
            doc[key] = value
            self.storage.put_doc(STATE, "settings", doc)
        self.settings.values[key] = value
        self.settings.sources[key] = "namespace"

    # the log ---------------------------------------------------------------------------------

    def add_session_item(
        self, role: str, content: str, command: str | None = None, **meta: Any
    ) -> SessionItem:
        """Append an event to the current branch's log, then trim it if it is over the limit.

        ``command`` is what a tool event ran (``"pytest -q"``): compaction groups runs by it.
        An event is at most 1 MB; a larger tool output (roles ``tool``, ``output``, ``command``,
        ``shell``, ``observation``) is stored whole as an artifact and the event keeps its first
        and last lines with the artifact's reference (``meta["artifact"]``), saying so in
        ``notices``; any other event that large is refused.
        """
        from .memory import clean_text

        role = validate_role(role)
        meta = dict(meta)
        if command is not None:
            meta["command"] = validate_command(command)
        # Secrets are kept out at the door (redaction.py), before the size cap is judged.
        content = self.admit(clean_text(content, "session event", MAX_INPUT_BYTES), "session event")
        meta = self.admit(meta, "session event")
        size = len(content.encode("utf-8", "surrogatepass"))
        if size > MAX_EVENT_BYTES:
            content = self._large_output(role, content, size, meta)
        item = SessionItem(role=role, content=content, meta=meta)
        self._tokens([item])  # outside the write lock: the tokenizer may take a moment to load
        with self.storage.transaction():
            branch = self._branch()
            item.branch = branch.name
            item.seq = self.storage.next_counter(SESSION)
            self.storage.put_doc(branch.collection, item.key, item.to_dict())
        # Kept for callers that report it (the CLI); the item is what the spec's API returns.
        self.last_trim = self._auto_trim()
        return item

    def _large_output(self, role: str, content: str, size: int, meta: dict[str, Any]) -> str:
        """A tool output over the event limit becomes an artifact; the event keeps its ends."""
        from .compression import LONG_OUTPUT_ROLES, head_and_tail

        if role not in LONG_OUTPUT_ROLES:
            raise UsageError(
                f"session event is too large ({size / 1e6:.1f} MB, limit "
                f"{MAX_EVENT_BYTES / 1e6:.0f} MB); store it as an artifact "
                "(smartcontext artifact add NAME FILE) and add a short event that names it"
            )
        artifact = self.store_artifact(f"session-{role}-output", content)
        meta["artifact"] = artifact.ref
        self.notices.append(
            f"the {role} output is {size / 1e6:.1f} MB, over the {MAX_EVENT_BYTES / 1e6:.0f} MB "
            f"event limit: stored whole as artifact {artifact.ref}; the event keeps its first "
            "and last lines"
        )
        return head_and_tail(content, artifact.ref, f"{size / 1e6:.1f} MB")

    def get_session_items(self, limit: int | None = None, raw: bool = False) -> list[SessionItem]:
        """The current branch's visible log, oldest first (the last ``limit`` items if given).

        ``raw`` shows every event ever added to the branch's history, as if never compacted.
        """
        if limit is not None and limit < 0:
            raise UsageError("limit must be zero or more")
        if limit == 0:
            return []
        ops, branch = self._ops(), self._branch()
        if raw:
            items = ops.raw_chain(branch)
        else:
            view_items, rest = ops.visible(branch, limit)
            items = view_items + rest
        return items[-limit:] if limit else items

    @property
    def session_log(self) -> list[SessionItem]:
        return self.get_session_items()

    def search_session(
        self,
        query: str,
        limit: int = 5,
        branch: str | None = None,
        all_branches: bool = False,
    ) -> list[SessionHit]:
        """The session events that best match ``query``, archived ones included, best first.

        ``branch`` (default: the current one) searches what that branch's log holds, its
        ancestors' events up to the fork included; ``all_branches`` searches every branch.
        Ranked exactly like memory search (session_search.py).
        """
        from .session_search import scope_of, search_events

        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise UsageError("limit must be a whole number, zero or more")
        if branch is not None and all_branches:
            raise UsageError("give a branch or all branches, not both")
        if not self.exists:
            return []
        ops = self._ops()
        viewer = None if all_branches else (ops.get(branch) if branch else self._branch())
        archived = {}
        for b in ops.all():
            view = ops.view(b.view)
            archived[b.id] = view.upto if view else 0
        scope = None if viewer is None else scope_of(ops, viewer)
        return search_events(self.storage, query, limit, scope, archived, viewer)

    def session_status(self) -> dict[str, Any]:
        """Where the log stands: branch, sizes, limits, and the view in force (JSON-ready)."""
        ops, branch = self._ops(), self._branch()
        view_items, raw = ops.visible(branch)
        view = ops.view(branch.view)
        return {
            "namespace": self.namespace,
            "branch": branch.name,
            "follow_git": self.follows_git(),
            "items": len(view_items) + len(raw),
            "raw_items": len(ops.raw_chain(branch)),
            "tokens": self._tokens(view_items + raw),
            "max_session_turns": self.max_turns(),
            "compression_strategy": self.compression_strategy(),
            "view": {
                "id": view.id,
                "kind": view.kind,
                "created_at": view.created_at,
                "own": view.branch == branch.id,
            }
            if view
            else None,
        }

    def pop_session_item(self) -> SessionItem:
        """Remove and return the last item (undo an ``add``)."""
        ops = self._ops()
        with self.storage.transaction():
            branch = self._branch()
            view_items, rest = ops.visible(branch)
            if not rest:
                if view_items:
                    raise UsageError(
                        "the last item is part of a compacted summary; "
                        "restore the log with: smartcontext compact --undo"
                    )
                raise NotFoundError(f"the session log of branch {branch.name!r} is empty")
            last = rest[-1]
            if last.seq <= branch.fork_seq and branch.parent is not None:
                raise UsageError(
                    f"the last item belongs to the parent branch {last.branch!r}; "
                    "switch to it to remove it there"
                )
            for child in ops.children(branch):
                if child.fork_seq >= last.seq:
                    raise UsageError(
                        f"branch {child.name!r} was forked after this item and "
                        "shares it; delete that branch first"
                    )
            self.storage.delete_doc(branch.collection, last.key)
        return last

    # limits and compression ------------------------------------------------------------------

    def max_turns(self) -> int:
        return int(self._setting("max_session_turns"))

    def set_max_turns(self, n: int) -> SessionReport | None:
        """Persist the limit for this namespace and trim right away if the log is over it."""
        from .config import check_max_session_turns  # the rule config files are held to

        check_max_session_turns(n)
        self._persist_setting("max_session_turns", n)
        return self._auto_trim()

    def compression_strategy(self) -> str:
        return str(self._setting("compression_strategy"))

    def set_compression_strategy(self, name: str) -> None:
        from .compression import STRATEGIES

        if name not in STRATEGIES:
            raise UsageError(f"unknown compression strategy {name!r}: use {', '.join(STRATEGIES)}")
        self._persist_setting("compression_strategy", name)

    def _auto_trim(self) -> SessionReport | None:
        """Trim after an append; a notice (a summariser's failure) is kept in ``notices``."""
        from .branching import ConcurrentChangeError

        try:
            report = self.trim_session()
        except ConcurrentChangeError:
            return None  # another process trimmed this log a moment ago: its view stands
        if report and report.notice:
            self.notices.append(report.notice)
        return report

    def trim_session(
        self, strategy: str | None = None, force: bool = False
    ) -> SessionReport | None:
        """Apply the compression strategy when the log is over ``max_turns()`` (or ``force``)."""
        from . import compression
        from .compression import STRATEGIES

        strategy = strategy or self.compression_strategy()
        if strategy not in STRATEGIES:
            raise UsageError(
                f"unknown compression strategy {strategy!r}: use {', '.join(STRATEGIES)}"
            )
        if strategy == "none":
            return None
        limit = self.max_turns()
        ops, branch = self._ops(), self._branch()
        view_items, raw = ops.visible(branch)
        if len(view_items) + len(raw) <= limit and not force:
            return None
        keep = min(len(raw), max(1, limit // 2))
        older_raw, recent = raw[: len(raw) - keep], raw[len(raw) - keep :]
        if not older_raw:
            return None
        older = view_items + older_raw
        # A dry pass first: if the strategy cannot get under the limit we compact instead, and
        # must not have stored artifacts for a result we throw away.
        # Why a target below the limit: a result just under it would be trimmed again on the
        # next append, storing a new view each time; a quarter of headroom spaces trims out.
        target = limit - max(1, limit // 4)
        probe = compression.compress(older, "heuristic", lambda _n, _c: "#a0")
        # Never larger: a result with no fewer tokens than the events it replaces is no trim.
        old_tokens = self._tokens(older)
        if strategy == "heuristic" and (
            len(probe.items) + keep > target or self._tokens(probe.items) >= old_tokens
        ):
            return self._trim_by_compaction(keep, limit)
        saved: list[str] = []

        def save(name: str, text: str) -> str:
            saved.append(self.store_artifact(name, text).ref)
            return saved[-1]

        timeout = float(self._setting("summarizer_timeout") or 60.0)
        result = compression.compress(older, strategy, save, self._setting("summarizer"), timeout)
        if len(result.items) + keep > target or self._tokens(result.items) >= old_tokens:
            report = self._trim_by_compaction(keep, limit)
            if report is not None:
                report.notice = result.notice
            elif result.notice:  # nothing trimmed, but the summariser's failure is news
                self.notices.append(result.notice)
            return report
        report = self._replace(
            branch,
            "trim",
            older_raw[-1].seq,
            result.items,
            view_items + raw,
            recent,
            {"strategy": result.strategy, "notice": result.notice},
        )
        report.strategy, report.notice, report.artifacts = result.strategy, result.notice, saved
        return report

    def _trim_by_compaction(self, keep: int, limit: int) -> SessionReport | None:
        """Compact instead of trimming; None when compaction would not make the log smaller."""
        report = self.compact_session_schema(preserve_recent=keep, max_items=limit, backup=False)
        return report if report.view is not None else None

    def _replace(
        self,
        branch: Branch,
        kind: str,
        upto: int,
        new_items: list[SessionItem],
        before: list[SessionItem],
        recent: list[SessionItem],
        info: dict[str, Any],
        memories: list[Memory] | None = None,
    ) -> SessionReport:
        """Point ``branch`` at a view of ``new_items`` + ``recent``; report what changed."""
        tokens_before = self._tokens(before)
        self._tokens(new_items)
        with self.storage.transaction():
            for item in new_items:
                item.branch = branch.name
                if item.seq == 0:
                    item.seq = self.storage.next_counter(SESSION)
            info = {**info, "memories": [m.id for m in memories or []]}
            view = self._ops().add_view(branch, kind, upto, new_items, info)
        self.mark_cache_break("session end" if kind == "end" else "compaction")
        return SessionReport(
            action=kind,
            branch=branch.name,
            events_before=len(before),
            events_after=len(new_items) + len(recent),
            compacted=len(before) - len(recent),
            preserved=len(recent),
            tokens_before=tokens_before,
            tokens_after=sum(i.token_count or 0 for i in new_items) + self._tokens(recent),
            memories_added=[
                {"id": m.id, "kind": m.kind, "content": m.content} for m in memories or []
            ],
            view=view.id,
        )

    # compaction, session end, undo (the work is in compaction.py) -----------------------------

    def _extract_insights_from_events(self, events: list[SessionItem]) -> list[Insight]:
        """Decisions, facts, preferences, fixes and patterns in ``events``; stores nothing."""
        from .compaction import extract

        return extract(events)

    def compact_session_schema(
        self,
        preserve_recent: int = 30,
        extract_insights: bool = True,
        dry_run: bool = False,
        max_items: int | None = None,
        backup: bool = True,
    ) -> SessionReport:
        """Compact all but the last ``preserve_recent`` events into a typed digest (reversible).

        ``max_items`` caps the resulting log (the digest becomes one item if it must).
        ``backup`` exports the namespace first (``backups``); automatic trims skip it.
        """
        from .compaction import compact

        return compact(self, preserve_recent, extract_insights, dry_run, max_items, backup)

    def end_session(self, summary: str | None = None) -> SessionReport:
        """Close the session: insights and ``summary`` go to long-term memory, the log to the
        archive, and the branch starts a fresh, empty log (``undo_compaction`` reopens it)."""
        from .compaction import end

        return end(self, summary)

    def undo_compaction(self, dry_run: bool = False) -> SessionReport:
        """Undo the latest compaction, trim or session end of the current branch
        (``dry_run``: report what it would restore, change nothing)."""
        from .compaction import undo

        return undo(self, dry_run)

    # branches --------------------------------------------------------------------------------

    def current_branch(self) -> str:
        return self._branch().name

    def create_branch(
        self, name: str, description: str = "", from_branch: str | None = None, switch: bool = False
    ) -> Branch:
        """Fork ``from_branch`` (default: the current one); its history is shared, not copied."""
        ops = self._ops()
        parent = ops.get(from_branch) if from_branch else self._branch()
        branch = ops.create(name, self.admit(description, "branch description"), parent)
        if switch:
            self.switch_branch(branch.name)
        return branch

    def switch_branch(self, name: str | None = None, follow_git: bool = False) -> Branch:
        """Make ``name`` current; with ``follow_git`` track the checked-out git branch instead."""
        ops = self._ops()
        if follow_git:
            if name:
                raise UsageError("give a branch name or --follow-git, not both")
            from .branching import git_head_branch

            head = git_head_branch()
            if head is None:
                raise UsageError("--follow-git needs a git repository with a branch checked out")
            before = self._branch()
            with self.storage.transaction():
                target = ops.find(head) or ops.create(head, f"follows git branch {head}", before)
                ops.set_state(target.name, True)
        else:
            if not name:
                raise UsageError("give a branch name (or --follow-git)")
            target = ops.get(name)
            before = self._branch()
            ops.set_state(target.name, False)
        if target.id != before.id:
            self.mark_cache_break("branch switch")
        return target

    def follows_git(self) -> bool:
        return bool(self._ops().state().get("follow_git"))

    def list_branches(self) -> list[dict[str, Any]]:
        return self._ops().describe(self._branch(), self.follows_git())

    def compare_branches(self, branch1: str, branch2: str | None = None) -> dict[str, Any]:
        """The shared history and what each side added (``branch2`` defaults to the current)."""
        ops = self._ops()
        return ops.compare(ops.get(branch1), ops.get(branch2) if branch2 else self._branch())

    def merge_branch(self, source: str, target: str | None = None) -> list[SessionItem]:
        """Append ``source``'s items since the shared history to ``target`` (default: current)."""
        ops = self._ops()
        current = self._branch()
        into = ops.get(target) if target else current
        merged = ops.merge(ops.get(source), into)
        if merged and into.id == current.id:
            self.last_trim = self._auto_trim()
        return merged

    def delete_branch(self, name: str, require_merged: bool = False) -> int:
        """Delete a branch and its own items; ``require_merged`` refuses unmerged ones."""
        ops = self._ops()
        return ops.delete(ops.get(name), self._branch(), require_merged)
