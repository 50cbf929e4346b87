"""The compiler's API on MemoryStore: gathering from the store and compiling (compile, stats,
explain, mode).

Why here: ``smartcontext compile``, scripts and the MCP server must get the same prompt, so the
gathering (goal, strategy, checklist, errors, relevant memories, the session window, artifact
references, the stable prefix) is core API, not CLI code. Every compile is recorded.

Guarantees:
- Importing this module is free: the compiler and the tokenizer load inside the methods (this
  mixin is imported by ``MemoryStore`` on every CLI start).
- Deterministic: the same store and arguments give a byte-identical prompt (search ranks with
  the newest memory's time as "now", never the wall clock).
- Counts computed by a compile are stored (memories: ``set_token_counts``; other blocks: one
  cache document), so the next compile over the same items needs no tokenizer at all.
- State lives in documents and counters only, identically on every backend: collection
  ``compiler`` (``mode``, ``windows``, ``counts-<encoding>``) and ``compilations`` (records).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .gcpause import gc_paused

if TYPE_CHECKING:
    from .compiled import CompiledContext
    from .config import Settings
    from .frozen import Frozen
    from .models import Memory, SessionItem
    from .search_memo import SearchMemo
    from .storage.base import Storage
    from .tokens import CountCache

MAX_BUDGET = 100_000_000
COMPILER = "compiler"
LAYOUTS = "layouts"  # frozen.py's slots: what each argument combination's next compile keeps
RECALL_MIN = 10
RECALL_TOKENS = 25  # recall ranks budget / 25 events: more than can fit beside the window
RECALL_CONTEXT = 20  # the best recalled answers get the question before them, when it fits
COMPILATIONS = "compilations"
KEEP_RECORDS = 1000
SESSION_FETCH = "smartcontext session show"
STANDING_KINDS = frozenset({"decision", "preference"})
STANDING_IMPORTANCE = 0.8


def candidate_limit(budget: int, wide: bool = False) -> int:
    """How many memories to rank: about as many as fit at 25 tokens each; ``wide``: as many as
    fit at 5 (the least a memory takes), ranked only when the first pass left budget unused
    while every candidate got in (``MemoryStore.compile``). No cap: a 128k budget can hold
    thousands."""
    return max(20, budget // (5 if wide else 25))


class CompileMixin:
    """Mixed into ``MemoryStore``; relies on its ``storage``, ``settings`` and the other mixins."""

    if TYPE_CHECKING:
        # Provided by MemoryStore as a lazily opening property.
        @property
        def storage(self) -> Storage: ...

    settings: Settings
    namespace: str
    home: Path

    if TYPE_CHECKING:  # provided by MemoryStore and the other mixins (the cross-team contract)

        @property
        def exists(self) -> bool: ...

        def get_goal(self) -> str | None: ...
        def get_stable_prefix(self) -> str | None: ...
        def strategy_entries(self) -> list[str]: ...
        def open_task_lines(self, compact: bool = False) -> list[str]: ...
        def list_tasks(self, include_closed: bool = True) -> list[tuple[Any, int]]: ...
        def unresolved_error_lines(self) -> list[str]: ...
        def consume_cache_break(self) -> str | None: ...
        def pending_cache_break(self) -> str | None: ...
        def search_session(self, query: str, limit: int = 5) -> list[Any]: ...
        def cache_reuse(self, last_n: int = 20) -> dict[str, Any]: ...
        def get_session_items(self, limit: int | None = None) -> list[SessionItem]: ...
        def current_branch(self) -> str: ...
        def list_artifacts(self) -> list[Any]: ...
        def admit(self, value: Any, what: str) -> Any: ...

    @property
    def search_memo(self) -> SearchMemo:
        """This store's search results, kept while its memories are unchanged (search_memo)."""
        memo: SearchMemo | None = self.__dict__.get("_search_memo")
        if memo is None:
            from .search_memo import SearchMemo

            memo = self.__dict__["_search_memo"] = SearchMemo()
        return memo

    # mode -------------------------------------------------------------------------------------

    def _policies(self) -> dict[str, Any]:
        from .attention import load_policies

        return load_policies(self.settings.tables.get("policies"))

    def attention_manager(self) -> Any:
        """An AttentionManager that knows this namespace's custom policies."""
        from .attention import AttentionManager

        return AttentionManager(auto_detect=False, custom_policies=self._policies())

    def get_mode(self) -> str:
        """The mode in force: ``--mode``/``SMARTCONTEXT_MODE``, else the namespace's mode (``mode
        MODE``), else config; "auto" means detect it from the goal or query at compile time."""
        return str(self.mode_status()["mode"])

    def mode_status(self) -> dict[str, Any]:
        source = self.settings.sources.get("mode", "default")
        mode, where = str(self.settings.get("mode", "balanced")), source
        if source not in ("flag", "env") and self.exists:
            doc = self.storage.get_doc(COMPILER, "mode")
            if doc:
                mode, where = str(doc["mode"]), "namespace"
        manager = self.attention_manager()
        return {
            "mode": mode,
            "source": where,
            "modes": [*manager.modes(), "auto"],
            "policy": None if mode == "auto" else _policy_json(manager.policy(mode)),
        }

    def set_mode(self, mode: str | None) -> str | None:
        """Persist the namespace's mode (a built-in, a custom policy or "auto"); None clears it."""
        from .clock import now

        if mode is None:
            self.storage.delete_doc(COMPILER, "mode")
            return None
        name = mode.strip().lower()
        if name != "auto":
            name = self.attention_manager().set_mode(name)
        self.storage.put_doc(COMPILER, "mode", {"mode": name, "updated_at": now()})
        return name

    def _resolve_mode(self, requested: str | None, text: str) -> tuple[str, str | None]:
        from .attention import detect_mode

        mode = (requested or self.get_mode()).strip().lower()
        if mode != "auto":
            return self.attention_manager().set_mode(mode), None
        detected = detect_mode(text)
        chosen = detected.value if detected else "balanced"
        return chosen, f"mode auto: {chosen}" + (
            " (detected)" if detected else " (no clear signal)"
        )

    # compile ----------------------------------------------------------------------------------

    @gc_paused
    def compile(
        self,
        query: str | None = None,
        token_budget: int | None = None,
        mode: str | None = None,
        *,
        format: str = "markdown",
        encoding: str | None = None,
        strict: bool = False,
        memories: Sequence[Any] = (),
        observations: Sequence[Any] = (),
        artifacts: Sequence[Any] = (),
        system: Sequence[str] = (),
        include_context_graph: bool = True,
        temporal_decay: bool = True,
        semantic_chunking: bool = True,
        record: bool = True,
        rerank: bool = False,
    ) -> CompiledContext:
        """Gather from the store, compile within ``token_budget`` and record the compile.

        ``memories``/``observations``/``artifacts``/``system`` add ad-hoc items (strings or
        ``ContextItem``) to what the store provides; they rank first in their sections.
        Between planned breaks the prompt is append-only (assembly.py, frozen.py); ``rerank``
        makes this compile a planned break. Returns exactly what ``smartcontext compile``
        prints (``render()``).
        """
        from .candidates import require_text
        from .clock import now
        from .compiler import ContextCompiler
        from .errors import NotFoundError
        from .frozen import PLANNED_CHANGES, changes, find_slot, fingerprint

        given = {"memories": memories, "observations": observations, "artifacts": artifacts}
        require_text({**given, "system": system})
        budget = int(self.settings.get("budget", 4000) if token_budget is None else token_budget)
        if budget > MAX_BUDGET:
            from .errors import UsageError

            # Why a ceiling: no model reads this much, and the sizes derived from the budget
            # (candidates, session window) must stay within what the stores can bind.
            raise UsageError(f"the token budget is at most {MAX_BUDGET:,}, got {budget:,}")
        # Explicit: --encoding, or config/env that is not the default. Only then does it win
        # over the model's own encoding (tokens.model_profile).
        explicit_encoding = encoding is not None or self.settings.sources.get("encoding") not in (
            None,
            "default",
        )
        encoding = encoding or self.settings.get("encoding")
        exists = self.exists
        goal = self.get_goal() if exists else None
        mode_name, mode_note = self._resolve_mode(mode, " ".join(t for t in (query, goal) if t))
        counter = self._counter(encoding, explicit_encoding, exists)
        # Why the open tasks too: the goal names the aim, the checklist what is being done now.
        # "Write tests for token refresh" is what makes "tokens expire after 1h" relevant to
        # the goal "Implement the OAuth2 login flow", which shares no word with it.
        tasks = [t.text for t, _ in self.list_tasks(include_closed=False)] if exists else []
        goal_text = " ".join([goal or "", *tasks]).strip()
        search_text = query if query is not None else goal_text
        branch = self.current_branch() if exists else None
        strategy = self.strategy_entries() if exists else []
        prefix = self.get_stable_prefix() if exists else None
        # Each argument combination keeps its own frozen prompt; a change of content re-plans.
        key = fingerprint(
            branch=branch,
            budget=budget,
            style=format if format in ("text", "markdown", "xml") else "markdown",
            encoding=counter.encoding,
            mode=mode_name,
            options=[include_context_graph, temporal_decay, semantic_chunking, strict],
            model=self.settings.get("model"),
            margin=self.settings.get("safety_margin"),
        )
        content = {
            "goal": fingerprint(goal),
            "prefix": fingerprint(prefix),
            "system": fingerprint(list(system)),
            "strategy": fingerprint(strategy),
        }
        slots = (self.storage.get_doc(COMPILER, LAYOUTS) or {}) if exists else {}
        planned = self.pending_cache_break() if exists else None
        frozen = None if planned or rerank else find_slot(slots, key)
        replanned = planned or ("--rerank" if rerank else None)
        if frozen is not None and changes(frozen, content):
            changed = changes(frozen, content)
            reasons = [PLANNED_CHANGES[c] for c in changed if c in PLANNED_CHANGES]
            planned = "; ".join(reasons) or None
            replanned = planned or f"{', '.join(changed)} changed"
            frozen = None
        # The head's memories follow the goal; a query that differs from it chooses its own,
        # which fill the tail (assembly.py), so a changing query never moves the head.
        separate = query is not None and query.strip() != (goal or "").strip()
        head_text = goal_text if separate else search_text
        memories_found, saturated = (
            self._relevant(head_text, budget, frozen) if exists else ([], False)
        )
        query_found: list[Memory] | None = None
        if separate:
            query_found, q_saturated = (
                self._relevant(query or "", budget, None, standing=False) if exists else ([], False)
            )
            held = {m.id for m in memories_found}
            query_found = [m for m in query_found if m.id not in held]
            saturated = saturated or q_saturated
        session, more = self._session(budget, frozen) if exists else ([], False)
        recall = self._recall(search_text, budget) if exists else []
        pinned = [_pinned(x) for x in (*memories, *observations, *artifacts)]
        n_mem, n_obs = len(memories), len(observations)
        gathered: dict[str, Any] = dict(
            goal=goal,
            memories=[*pinned[:n_mem], *memories_found],
            observations=[*session, *pinned[n_mem : n_mem + n_obs]],
            artifacts=[*pinned[n_mem + n_obs :], *(_artifact_ref(a) for a in self.list_artifacts())]
            if exists
            else pinned[n_mem + n_obs :],
            strategy=strategy,
            system=list(system),
            prefix=prefix,
            tasks=self.open_task_lines(False) if exists else [],
            compact_tasks=self.open_task_lines(True) if exists else [],
            errors=self.unresolved_error_lines() if exists else [],
        )
        if not any(gathered.values()) and not query_found:
            raise NotFoundError(
                f"nothing to compile in namespace '{self.namespace}': "
                "set a goal (smartcontext goal "
                "TEXT), remember something, or pass --memory/--observation/--artifact/--system"
            )
        compiler = ContextCompiler(
            self.attention_manager(), encoding=encoding if explicit_encoding else None
        )
        created = now()
        gathered_query = query_found

        def run() -> CompiledContext:
            return compiler.compile(
                **gathered,
                token_budget=budget,
                include_context_graph=include_context_graph,
                temporal_decay=temporal_decay,
                semantic_chunking=semantic_chunking,
                query=query,
                format=format,
                mode=mode_name,
                strict=strict,
                model=self.settings.get("model"),
                safety_margin=self.settings.get("safety_margin"),
                counter=counter,
                session_fetch=SESSION_FETCH,
                session_more=more,
                recall=recall,
                query_memories=gathered_query,
                frozen=frozen,
                frozen_key=key,
                created=created,
            )

        ctx = run()
        if saturated and _underfilled(ctx):
            # Every ranked memory got in, budget is left, and more may match: rank wider.
            wider, _ = self._relevant(head_text, budget, frozen, wide=True)
            gathered["memories"] = [*pinned[:n_mem], *wider]
            if separate:
                wider_q, _ = self._relevant(query or "", budget, None, wide=True, standing=False)
                held = {m.id for m in wider}
                gathered_query = [m for m in wider_q if m.id not in held]
            ctx = run()
        ctx.branch = branch
        if mode_note:
            ctx.notes.insert(0, mode_note)
        if ctx.frozen is not None:
            ctx.frozen.content = content
        if frozen is None:
            ctx.replanned = replanned
            planned = planned or ("--rerank" if rerank else None)
        else:  # the continuation itself re-planned when the session outgrew it
            planned = ctx.replanned
        if record and exists:
            self._record(ctx, counter, slots, planned)
        return ctx

    def _counter(self, encoding: str | None, explicit: bool, exists: bool) -> CountCache:
        from .tokens import CountCache, Tokenizer, model_profile

        profile = model_profile(
            self.settings.get("model"), encoding, explicit, self.settings.get("safety_margin")
        )
        tokenizer = Tokenizer(profile.encoding, self.home / "cache" / "tokens")
        doc = self.storage.get_doc(COMPILER, f"counts-{tokenizer.name}") if exists else None
        return CountCache(tokenizer, dict((doc or {}).get("counts", {})))

    def _relevant(
        self,
        text: str,
        budget: int,
        frozen: Frozen | None = None,
        wide: bool = False,
        standing: bool = True,
    ) -> tuple[list[Memory], bool]:
        """The memories to rank for ``text``, and whether search returned as many as asked."""
        from datetime import datetime, timezone

        from .clock import parse
        from .search import search

        newest = self.storage.list_memories(limit=1)
        if not newest:
            return [], False
        try:
            ref = parse(newest[0].created_at)
        except ValueError:
            ref = datetime.now(timezone.utc)
        limit = candidate_limit(budget, wide)

        def matches() -> tuple[list[Memory], bool]:
            found = search(self.storage, text, limit, now=ref) if text.strip() else []
            saturated = len(found) >= limit
            # Why standing memories: a decision or preference binds the whole project even
            # when it shares no word with the goal ("We chose PostgreSQL" for "add a read
            # replica"). They rank after every match (relevance 0: they never raise the
            # quality score) and take only budget the matches left unused. Other unmatched
            # memories stay out: padding.
            seen = {m.id for m in found}
            for memory in self.storage.list_memories(limit=limit) if standing else ():
                if len(found) >= limit:
                    break
                if memory.id not in seen and (
                    memory.kind in STANDING_KINDS or memory.importance >= STANDING_IMPORTANCE
                ):
                    memory.score = 0.0
                    found.append(memory)
                    seen.add(memory.id)
            return found, saturated

        found, saturated = self.search_memo.recall(
            self.storage, (text, limit, newest[0].id, standing), matches
        )
        seen = {m.id for m in found}
        # What the previous prompt holds stays a candidate, matched by this query or not.
        if frozen is not None:
            kept = [i[2:] for i, _ in frozen.head.get("memories", [])]
            kept += [i[2:] for i in frozen.stream if i.startswith("m:")]
            for mid in kept:
                held = self.storage.get_memory(mid) if mid not in seen else None
                if held is not None:
                    held.score = 0.0
                    found.append(held)
                    seen.add(mid)
        return found, saturated

    def _session(self, budget: int, frozen: Frozen | None = None) -> tuple[list[SessionItem], bool]:
        """The newest session items that could possibly fit (and, continuing a prompt, every
        item since its window's start), and whether older ones exist."""
        # Newest first, in pages, until the events read hold more tokens than the whole budget
        # (each event's count is stored when it is added): older ones cannot be shown.
        cap = max(100, min(50_000, budget // 4))
        limit = min(cap, 400)
        while True:
            items = self.get_session_items(limit=limit + 1)
            if len(items) <= limit or limit >= cap:
                break
            held = sum(i.token_count or len(i.content) // 3 for i in items)
            if held > budget:
                break
            # The next page is sized by what this one held, so a large budget takes one more
            # read, not one per doubling (each read starts again at the newest event).
            limit = min(cap, max(limit * 2, math.ceil(limit * 1.25 * budget / max(1, held))))
        start = frozen.window_start if frozen is not None else None
        if start is not None and items and items[0].seq > start:
            # Every event since the window's start: by seq, that many (seqs of a log rise by
            # one), else the whole log.
            items = self.get_session_items(limit=items[-1].seq - start + 2)
            if items and items[0].seq > start:
                items = self.get_session_items()
            since = sum(1 for i in items if i.seq >= start)
            keep = max(limit, since)
            return items[-keep:], len(items) > keep
        return (items[1:], True) if len(items) > limit else (items, False)

    def _recall(self, text: str, budget: int) -> list[tuple[Any, Any]]:
        """Session events matching ``text``, best first, each with the question before it when
        it is an answer (assembly.py keeps those outside the window)."""
        from .session_search import previous_event

        if not text.strip():
            return []
        hits = self.search_session(text, limit=max(RECALL_MIN, budget // RECALL_TOKENS))
        collections = {b["name"]: _collection(b) for b in self._branch_records()}
        pairs = []
        for rank, hit in enumerate(hits):
            mate = None
            if rank < RECALL_CONTEXT and hit.role != "user" and hit.branch in collections:
                prev = previous_event(self.storage, collections[hit.branch], hit.seq)
                if prev is not None and prev.role == "user":
                    mate = _event_item(prev, None)
            pairs.append((_event_item(hit, hit.score), mate))
        return pairs

    def _branch_records(self) -> list[dict[str, Any]]:
        from .branching import Branches

        return [b.to_dict() for b in Branches(self.storage).all()]

    def _record(
        self,
        ctx: CompiledContext,
        counter: CountCache,
        slots: dict[str, Any],
        planned: str | None,
    ) -> None:
        from .cache import compare
        from .clock import now
        from .frozen import find_slot, store_slot

        with self.storage.transaction():
            fresh = {m.id: (label, n) for m, label, n in ctx.counted if _is_memory(m)}
            if fresh:
                self.storage.set_token_counts(fresh)
            if counter.added:
                self.storage.put_doc(
                    COMPILER, f"counts-{counter.encoding}", {"counts": counter.export()}
                )
            if ctx.frozen is not None and find_slot(slots, ctx.frozen.key) != ctx.frozen:
                self.storage.put_doc(COMPILER, LAYOUTS, store_slot(slots, ctx.frozen))
            ctx.cache_break = self.consume_cache_break() or planned
            n = self.storage.next_counter("compilation")
            ctx.compile_id = n
            record = ctx.record(n, now())
            # The query is kept in the record: it passes the same door as any stored text.
            record["query"] = self.admit(record.get("query"), "compile query")
            previous = self.storage.list_docs(COMPILATIONS, limit=1, reverse=True)
            self.storage.put_doc(COMPILATIONS, f"{n:08d}", record)
            if n > KEEP_RECORDS and n % 100 == 0:
                for key, _ in self.storage.list_docs(COMPILATIONS, limit=100):
                    if int(key) <= n - KEEP_RECORDS:
                        self.storage.delete_doc(COMPILATIONS, key)
        # The record in hand, not read back: what ``compare`` reads survives a JSON round trip.
        ctx.reuse = compare(previous[0][1], record) if previous else None

    # stats and explain ------------------------------------------------------------------------

    def get_compilation_stats(self, last_n: int = 20) -> dict[str, Any]:
        """Counts and tokens per tier, and the last ``last_n`` compiles' quality and cache reuse."""
        from .compiled import quality_stats

        if last_n < 0:
            from .errors import UsageError

            raise UsageError("last_n must be zero or more")
        if not self.exists:
            tiers = {
                t: {"items": 0, "tokens": 0}
                for t in ("working", "session", "long_term", "artifacts")
            }
            return {
                "namespace": self.namespace,
                "tiers": tiers,
                "compilations": 0,
                "last_n": last_n,
                **quality_stats([]),
                "cache": None,
            }
        records = (
            [
                d
                for _, d in reversed(
                    self.storage.list_docs(COMPILATIONS, limit=last_n, reverse=True)
                )
            ]
            if last_n
            else []
        )
        return {
            "namespace": self.namespace,
            "encoding": self._counter(self.settings.get("encoding"), False, True).encoding,
            "tiers": self._tiers(),
            "compilations": self.storage.get_counters().get("compilation", 0),
            "last_n": last_n,
            **quality_stats(records),
            "cache": self.cache_reuse(last_n),
        }

    def _tiers(self) -> dict[str, dict[str, int]]:
        from . import layout

        counter = self._counter(self.settings.get("encoding"), False, True)
        working = [t for t in (self.get_goal(), self.get_stable_prefix()) if t]
        working += self.strategy_entries() + self.open_task_lines() + self.unresolved_error_lines()
        session = self.get_session_items()
        fresh: dict[str, tuple[str, int]] = {}
        memory_tokens = n_memories = 0
        for m in self.storage.iter_memories():
            text = layout.item(layout.clean(m.content))
            key = _hash(text)
            n = counter.count(text, key, (m.token_encoding, m.token_count))
            if m.token_encoding != counter.label(key):
                fresh[m.id] = (counter.label(key), n)
            memory_tokens += n
            n_memories += 1
        artifacts = self.list_artifacts()
        tiers = {
            "working": {
                "items": len(working),
                "tokens": sum(counter.count(layout.block(t)) for t in working),
            },
            "session": {
                "items": len(session),
                "tokens": sum(
                    counter.count(layout.item(layout.clean(s.content), f"{s.role}: "))
                    for s in session
                ),
            },
            "long_term": {"items": n_memories, "tokens": memory_tokens},
            "artifacts": {
                "items": len(artifacts),
                "tokens": sum(counter.count(a.content) for a in artifacts),
            },
        }
        with self.storage.transaction():
            if fresh:
                self.storage.set_token_counts(fresh)
            if counter.added:
                self.storage.put_doc(
                    COMPILER, f"counts-{counter.encoding}", {"counts": counter.export()}
                )
        return tiers

    def explain_compilation(self, compile_id: int | None = None) -> dict[str, Any]:
        """A compile's decisions (the latest when ``compile_id`` is None), in the spec's shape."""
        from .compiled import explain_record
        from .errors import NotFoundError

        doc = None
        if self.exists:
            if compile_id is None:
                docs = self.storage.list_docs(COMPILATIONS, limit=1, reverse=True)
                doc = docs[0][1] if docs else None
            else:
                doc = self.storage.get_doc(COMPILATIONS, f"{int(compile_id):08d}")
        if doc is None:
            what = (
                "no compilations recorded yet"
                if compile_id is None
                else f"no compilation {compile_id}"
            )
            raise NotFoundError(f"{what} in namespace '{self.namespace}'")
        return explain_record(doc)


def _underfilled(ctx: CompiledContext) -> bool:
    dropped = any(
        d["outcome"] == "dropped" and d["item"].startswith("memory ") for d in ctx.decisions
    )
    return not dropped and ctx.total_tokens < 0.98 * ctx.effective_budget


def _collection(branch: dict[str, Any]) -> str:
    from .branching import Branch

    return Branch.from_dict(branch).collection


def _event_item(event: Any, score: float | None) -> Any:
    from .candidates import ContextItem

    return ContextItem(
        event.content,
        id=f"s{event.seq}",
        score=score,
        created_at=event.created_at,
        role=event.role,
        seq=event.seq,
        source=event,
    )


def _hash(text: str) -> str:
    from .tokens import block_hash

    return block_hash(text)


def _is_memory(obj: Any) -> bool:
    return (
        hasattr(obj, "importance")
        and hasattr(obj, "tags")
        and isinstance(getattr(obj, "id", None), str)
    )


def _pinned(value: Any) -> Any:
    from .compiler import ContextItem

    if isinstance(value, ContextItem):
        value.pinned = True
        return value
    return ContextItem(str(value), pinned=True)


def _artifact_ref(artifact: Any) -> Any:
    from .compiler import ContextItem

    size = len(artifact.content.encode("utf-8"))
    shown = (
        f"{size} bytes"
        if size < 1024
        else f"{size / 1024:.1f} KB"
        if size < 1 << 20
        else f"{size / (1 << 20):.1f} MB"
    )
    return ContextItem(
        f"{artifact.ref} {artifact.name} ({shown})",
        id=artifact.ref,
        created_at=artifact.created_at,
        fetch=f"smartcontext artifact show '{artifact.ref}'",
    )


def _policy_json(policy: Any) -> dict[str, Any]:
    return {"name": policy.key, "description": policy.description, "allocation": policy.allocation}
