"""The context compiler: goal, memories, observations, artifacts, strategy and system text in;
one prompt within an exact token budget out.

Why it exists: this is smartcontext's main job. ``ContextCompiler.compile`` is the spec's API and
works on plain strings; ``MemoryStore.compile`` (gather.py) feeds it from the store.

Guarantees:
- The tokenizer's count of ``to_prompt()``, headers and separators included, is at most the
  budget (less the model's safety margin), for every input: the prompt is a sequence of blocks
  whose counts add up exactly (layout.py), and packing.py never spends more than is left.
- Deterministic: the same inputs give a byte-identical prompt. Recency is measured from the
  newest timestamp among the inputs, never from the wall clock.
- ``quality_score`` is the policy-weighted share of each section's relevance mass that made it
  into the prompt (README, "Quality score"): it rises when more relevant content fits, falls
  when relevant content is dropped or cut, and padding cannot raise it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import layout
from .assembly import pack
from .attention import AttentionManager, AttentionMode
from .candidates import (
    REPRISE_MAX_CHARS,
    Candidate,
    ContextItem,
    as_item,
    context_graph,
    make_candidate,
    rank_items,
    recall_lead,
    reference_time,
    split_lines,
    task_groups,
)
from .errors import BudgetError, SmartContextError, UsageError
from .frozen import Frozen
from .packing import GROUP_OF, REPRISE, Packed, Plan
from .tokens import CountCache, Tokenizer, block_hash, default_cache_dir, model_profile

if TYPE_CHECKING:
    from .compiled import CompiledContext
    from .prepare import Preparer

__all__ = ["ContextCompiler", "ContextItem", "TransparencyLevel", "as_item", "quality"]


class TransparencyLevel(str, Enum):
    OFF = "off"
    MINIMAL = "minimal"
    NORMAL = "normal"
    FULL = "full"


def quality(plan: Plan, packed: Packed, shares: dict[str, float]) -> float:
    """The policy-weighted share of each section's relevance mass that made it in (README)."""
    mass: dict[str, float] = {}
    kept: dict[str, float] = {}
    cands = [c for s, cs in plan.sections.items() if s != "related" for c in cs]
    for c in cands + plan.focus:
        group = GROUP_OF[c.section]
        mass[group] = mass.get(group, 0.0) + c.relevance
        kept[group] = kept.get(group, 0.0) + c.relevance * c.fraction
    for part, fraction in packed.mandatory.items():
        group = GROUP_OF[part]
        mass[group] = mass.get(group, 0.0) + 1.0
        kept[group] = kept.get(group, 0.0) + fraction
    weights = {g: shares.get(g, 0.0) for g, m in mass.items() if m > 0}
    total = sum(weights.values())
    if total <= 0:
        return 1.0 if all(kept.get(g, 0) >= m for g, m in mass.items()) else 0.0
    return round(sum(w * kept[g] / mass[g] for g, w in weights.items()) / total, 4)


class ContextCompiler:
    """Compiles prompts under an attention manager's policy (the spec's API).

    ``transparency`` sets what ``CompiledContext.report()`` shows by default; ``history`` keeps
    the last compiles' records for ``get_compilation_stats`` and ``explain_compilation``.
    """

    def __init__(
        self,
        attention: AttentionManager | None = None,
        encoding: str | None = None,
        transparency: TransparencyLevel | str = TransparencyLevel.OFF,
        cache_dir: Path | None = None,
    ) -> None:
        self.attention = attention or AttentionManager()
        self.encoding = encoding
        self.transparency = TransparencyLevel(getattr(transparency, "value", transparency))
        self.cache_dir = cache_dir
        self.history: list[dict[str, Any]] = []

    def compile(
        self,
        goal: str | None = None,
        memories: Sequence[Any] = (),
        observations: Sequence[Any] = (),
        artifacts: Sequence[Any] = (),
        strategy: str | Sequence[str] | None = None,
        system: str | Sequence[str] | None = None,
        token_budget: int = 4000,
        include_context_graph: bool = False,
        temporal_decay: bool = True,
        semantic_chunking: bool = True,
        *,
        query: str | None = None,
        prefix: str | None = None,
        tasks: Sequence[str] = (),
        compact_tasks: Sequence[str] | None = None,
        errors: Sequence[str] = (),
        format: str = "markdown",
        mode: AttentionMode | str | None = None,
        strict: bool = False,
        model: str | None = None,
        safety_margin: float | None = None,
        counter: CountCache | None = None,
        session_fetch: str | None = None,
        session_more: bool = False,
        recall: Sequence[tuple[Any, Any]] = (),
        query_memories: Sequence[Any] | None = None,
        frozen: Frozen | None = None,
        frozen_key: str = "",
        created: str = "",
    ) -> CompiledContext:
        """One prompt within ``token_budget`` tokens; see the module docstring's guarantees.

        Items may be strings, ``ContextItem``, or the store's Memory / SessionItem / Artifact.
        Observations are chronological (oldest first); the other lists are in any order.
        ``recall``: events from earlier in the session, best first, each with the turn that
        makes it understandable (or None). ``query_memories``: memories for ``query`` when it
        differs from the goal; ``memories`` are then the goal's (the kept head) and these fill
        the tail, so a changing query never moves what the head holds (assembly.py).
        ``frozen``: the state a previous compile returned (``CompiledContext.frozen``), to
        continue it append-only; ``frozen_key`` and ``created`` label the state a break makes.
        """
        from .compiled import CompiledContext

        if isinstance(token_budget, bool) or not isinstance(token_budget, int) or token_budget < 1:
            raise UsageError(
                f"the token budget must be a positive whole number, got {token_budget!r}"
            )
        if format not in layout.FORMATS:
            raise UsageError(f"unknown format {format!r}: use {', '.join(layout.FORMATS)}")
        profile = model_profile(model, self.encoding, self.encoding is not None, safety_margin)
        if counter is None:
            counter = CountCache(Tokenizer(profile.encoding, self.cache_dir or default_cache_dir()))
        elif counter.encoding != profile.encoding:
            raise UsageError(
                f"the count cache is for {counter.encoding} but {profile.encoding} is in use"
            )
        effective = max(1, math.floor(token_budget * (1.0 - profile.margin)))
        # Secrets never reach a prompt: every text is prepared (redacted, and escaped in xml)
        # before it is counted or packed; items only when the packer first looks at them.
        from .prepare import Preparer
        from .redaction import redact

        prep = Preparer(effective, xml=format == "xml")
        text = prep.text
        mode_name = self.attention.resolve(mode)
        policy = self.attention.policy(mode_name)
        # The query ranks and is recorded; it is never printed, so it is not escaped.
        query_text = redact(query if query is not None else goal or "")
        from .text import query_terms

        qterms = set(query_terms(query_text))
        head_terms = set(query_terms(goal)) if query_memories is not None and goal else qterms
        # Empty items are skipped: they would print an empty entry (the CLI refuses them).
        mem_items = _texts(memories)
        qmem_items = _texts(query_memories or ())
        obs_items = _texts(observations)
        art_items = _texts(artifacts)
        for i, a in enumerate(art_items):  # a multi-line string is content; one line, a reference
            if a.name is None and "\n" in a.text.strip():
                art_items[i] = dataclasses.replace(a, name=a.id or f"artifact {i + 1}")
        # Why not the session's time: ranking memories must not change when an event is added.
        ref = reference_time([*mem_items, *qmem_items, *art_items]) if temporal_decay else None
        n_obs = len(obs_items)
        obs_cands = [
            make_candidate("observations", it, 0.9 ** (n_obs - 1 - i), 0.0, i, prep)
            for i, it in enumerate(obs_items)
        ]
        goal_text = layout.clean(text(goal)) if goal and goal.strip() else None
        tasks = [text(t) for t in tasks if t.strip()]
        focus = task_groups(tasks, "task")
        compact = task_groups(
            [text(t) for t in compact_tasks if t.strip()] if compact_tasks is not None else tasks,
            "task",
        )
        if goal_text and focus and len(goal_text) <= REPRISE_MAX_CHARS and "\n" not in goal_text:
            focus.insert(
                0,
                Candidate(
                    "focus", f"Goal: {goal_text}", REPRISE, relevance=0.0, raw=True, cuttable=False
                ),
            )
        plan = Plan(
            style=layout.style_of(format),
            budget=effective,
            shares=dict(policy.allocation),
            prefix=text(prefix) if prefix and prefix.strip() else None,
            system=[text(s) for s in _lines_blocks(system)],
            goal=goal_text,
            sections={
                "strategy": [
                    Candidate(
                        "strategy",
                        line,
                        f"strategy {i + 1}",
                        relevance=1.0,
                        cuttable=False,
                        ident=f"t:{block_hash(line)[:24]}",
                    )
                    for i, line in enumerate(split_lines(list(map(text, _lines_blocks(strategy)))))
                ],
                "memories": rank_items(
                    "memories", mem_items, head_terms, ref, temporal_decay, prep
                ),
                "artifacts": rank_items("artifacts", art_items, qterms, ref, temporal_decay, prep),
                "errors": [
                    Candidate("errors", layout.clean(text(e)), f"error {i + 1}", cuttable=False)
                    for i, e in enumerate(errors)
                    if e.strip()
                ],
                "observations": obs_cands,
                "recall": _recall_candidates(recall, prep),
                **(
                    {
                        "more_memories": rank_items(
                            "memories", qmem_items, qterms, ref, temporal_decay, prep
                        )
                    }
                    if query_memories is not None
                    else {}
                ),
            },
            focus=focus,
            compact_tasks=compact,
            graph=context_graph if include_context_graph else None,
            chunking=semantic_chunking,
            strict=strict,
            session_fetch=prep.escape(session_fetch) if session_fetch else session_fetch,
            session_more=session_more,
            frozen=frozen,
            key=frozen_key,
            created=created,
        )
        packed = pack(plan, counter)
        if format == "messages":
            _require_user_message(plan, packed, token_budget, strict)
        notes = [profile.note] if profile.note and not profile.fallback else []
        if prep.found.total:
            notes.append(prep.found.summary() + " from the prompt")
        if profile.fallback and profile.note:
            packed.warnings.insert(0, profile.note)
        if counter.tokenizer.warning:  # no encoding loaded: always said, not only when asked
            packed.warnings.insert(0, counter.tokenizer.warning)
        ctx = CompiledContext(
            blocks=packed.ordered(),
            budget=token_budget,
            effective_budget=effective,
            encoding=counter.encoding,
            estimate=profile.estimate or not counter.tokenizer.exact,
            mode=mode_name,
            format=format,
            policy=policy,
            allocation=packed.allocation,
            targets=packed.targets,
            used={g: packed.used.get(g, 0) for g in policy.allocation},
            quality_score=quality(plan, packed, policy.allocation),
            decisions=_decisions(plan, packed),
            warnings=packed.warnings,
            notes=notes,
            loaded={
                "goal": int(goal_text is not None),
                "memories": len(mem_items) + len(qmem_items),
                "observations": n_obs,
                "artifacts": len(art_items),
                "strategy entries": len(plan.sections["strategy"]),
                "errors": len(plan.sections["errors"]),
                "tasks": len(tasks),
                "recalled events": len(plan.sections["recall"]),
            },
            window_start=packed.window_start,
            window_moved=packed.window_moved,
            frozen=packed.frozen,
            replanned=packed.replanned,
            query=query_text or None,
            counted=[
                (c.source, counter.label(c.key), c.tokens)
                for cs in plan.sections.values()
                for c in cs
                if c.source is not None
                and c.tokens is not None
                and c.hint is not None
                and c.hint != (counter.label(c.key), c.tokens)
                and not c.partial  # an estimate from a window is never stored as a count
                and counter.tokenizer.exact
            ],
        )
        self.history = [*self.history[-99:], ctx.record(len(self.history) + 1, "")]
        return ctx

    def get_compilation_stats(self, last_n: int = 20) -> dict[str, Any]:
        """Quality mean and trend over this compiler's last ``last_n`` compiles."""
        from .compiled import quality_stats

        return {
            "compilations": len(self.history),
            **quality_stats(self.history[-last_n:] if last_n else []),
        }

    def explain_compilation(self) -> dict[str, Any]:
        """The last compile's decisions (the spec's shape, see ``compiled.explain_record``)."""
        from .compiled import explain_record

        if not self.history:
            raise UsageError("nothing compiled yet")
        return explain_record(self.history[-1])


def _recall_candidates(pairs: Sequence[tuple[Any, Any]], prep: Preparer) -> list[Candidate]:
    """Recalled events as candidates, best first, each marked with its seq and time."""
    items = [(as_item(hit), mate) for hit, mate in pairs]
    top = max((it.score or 0.0 for it, _ in items), default=0.0)
    out = []
    for i, (it, mate) in enumerate(items):
        rel = (it.score or 0.0) / top if top > 0 else 0.0
        c = _recalled(it, rel, i, prep)
        if mate is not None:
            c.companion = _recalled(as_item(mate), 0.0, i, prep)
        out.append(c)
    return out


def _recalled(it: ContextItem, rel: float, index: int, prep: Preparer) -> Candidate:
    c = make_candidate("recall", it, rel, rel, index, prep)
    c.lead = prep.escape(recall_lead(it.seq, it.created_at, it.role))
    c.fetch = "smartcontext session show --raw"
    return c


def _require_user_message(plan: Plan, packed: Packed, budget: int, strict: bool) -> None:
    """``messages`` must hold a user message: a list with only a system message (or none) is
    no request at all, so the compile fails rather than print it."""
    head = ("prefix", "system")
    if any(b.section not in head for b in packed.ordered()):
        return
    wanted = bool(plan.goal or plan.focus) or any(
        cands for section, cands in plan.sections.items() if section != "related"
    )
    if not wanted:
        raise SmartContextError(
            "--format messages needs a user message, but this compile has nothing for one: no "
            "goal, and no memory, session event or ad-hoc item was selected beside the system "
            "text (set a goal, or pass --query, --memory, --observation or --artifact)"
        )
    used = sum(b.tokens for b in packed.ordered())
    message = (
        f"--format messages needs a user message, but the budget of {budget} tokens leaves no "
        f"room for one after the system text ({used} tokens): raise --budget or use another "
        "format"
    )
    raise BudgetError(message) if strict else SmartContextError(message)


def _texts(values: Sequence[Any]) -> list[ContextItem]:
    return [it for it in map(as_item, values) if it.text and not it.text.isspace()]


def _lines_blocks(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [v for v in ([value] if isinstance(value, str) else list(value)) if v.strip()]


def _decisions(plan: Plan, packed: Packed) -> list[dict[str, Any]]:
    """Every candidate's outcome, listed under the section it went to (explain)."""
    from .compiled import decision

    out = []
    for part in ("prefix", "system", "goal"):
        if part in packed.mandatory:
            kept = packed.mandatory[part]
            outcome = "included" if kept >= 1 else "cut" if kept > 0 else "dropped"
            out.append(decision(part, part, 1.0, packed.tokens(part) or None, outcome, "mandatory"))
    for section in layout.SECTION_ORDER:
        cands = plan.focus if section == "focus" else plan.sections.get(section, [])
        for c in cands:
            where = c.placed or section
            shown = c.variant if c.variant is not None and where == "observations" else c
            why = f"{c.reason} ({c.partial})" if c.partial else c.reason
            score = c.rank or c.relevance
            out.append(decision(c.label, where, score, shown.tokens, c.outcome, why))
            mate = c.companion
            if section == "recall" and mate is not None and mate.outcome != "dropped":
                out.append(decision(mate.label, where, 0.0, mate.tokens, mate.outcome, mate.reason))
    return out
