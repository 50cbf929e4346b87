"""Packing: fitting one section's candidates into the tokens it is given.

Why it exists: the budget invariant is decided item by item, so the primitives that spend
tokens live apart from gathering (gather.py), from how a prompt is assembled across compiles
(assembly.py) and from the public API (compiler.py).

- ``pack_mandatory`` charges the stable prefix, system text and goal first; if they exceed the
  budget, ``strict`` raises ``BudgetError``, otherwise they are cut (the goal kept longest).
- ``water_fill`` shares a pool between policy groups: each asks for what its candidates need,
  rounded up to a quarter of its target so small changes do not move other sections; groups
  that need less than their share get it, the surplus goes to the others by share.
- ``pack_ranked`` takes whole items best first, skips what does not fit, then cuts the best
  skipped item at a boundary to fill what is left; ``pack_focus`` recites the checklist.

Every count goes through ``CountCache``; the total is the sum of block counts (layout.py's rule),
and no section is ever given more than what is left, so the total never exceeds the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import layout
from .candidates import Block, Candidate
from .chunking import MIN_CUT_TOKENS, cut_body, fit_text, longest_fit
from .errors import BudgetError
from .tokens import CountCache, block_hash

if TYPE_CHECKING:
    from .frozen import Frozen

QUANTUM_PARTS = 4
RELATED_SHARE = 0.1  # of the memories target, at most, for the context graph
MAX_MISSES = 50  # a ranked section stops trying after this many items in a row do not fit
REPRISE = "goal (repeated)"
# Why: recitation counters a goal lost in the middle of a long prompt; in a short one the goal
# is still in view, and its repeat would be most of what changes at the prompt's end.
REPRISE_DISTANCE = 1000
GROUP_OF = {
    "prefix": "system",
    "system": "system",
    "goal": "goal",
    "focus": "goal",
    "strategy": "strategy",
    "memories": "memories",
    "related": "memories",
    "artifacts": "artifacts",
    "errors": "observations",
    "observations": "observations",
    "recall": "observations",
    "more_memories": "memories",
}


@dataclass
class Plan:
    """Everything the packer needs, already gathered and ranked (compiler.py builds it)."""

    style: str
    budget: int
    shares: dict[str, float]
    prefix: str | None = None
    system: list[str] = field(default_factory=list)
    goal: str | None = None
    sections: dict[str, list[Candidate]] = field(default_factory=dict)
    focus: list[Candidate] = field(default_factory=list)  # goal reprise, then task groups
    compact_tasks: list[Candidate] = field(default_factory=list)
    graph: Callable[[list[Candidate]], list[Candidate]] | None = None
    chunking: bool = True
    strict: bool = False
    session_fetch: str | None = None
    session_more: bool = False  # older session items exist beyond those given
    frozen: Frozen | None = None  # what the previous compile chose (assembly.py)
    key: str = ""  # the argument combination a new Frozen is stored under
    created: str = ""  # the time a break made now is recorded with
    recall_target: int = 0  # tokens of the tail kept for recalled events (assembly.py)


@dataclass
class Packed:
    """The packer's output: blocks per section, in prompt order, with the accounting."""

    style: str
    blocks: dict[str, list[Block]] = field(default_factory=dict)
    allocation: dict[str, int] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    mandatory: dict[str, float] = field(default_factory=dict)  # fraction kept, for quality
    window_start: int | None = None
    window_moved: bool = False
    frozen: Frozen | None = None  # the state the next compile continues from
    replanned: str | None = None  # why a break re-planned the prompt (None: it continued)

    def add(self, section: str, text: str, counter: CountCache, tokens: int | None = None) -> int:
        key = block_hash(text)
        n = tokens if tokens is not None else counter.count(text, key)
        self.blocks.setdefault(section, []).append(Block(section, text, n, key))
        group = GROUP_OF[section]
        self.used[group] = self.used.get(group, 0) + n
        return n

    def ordered(self) -> list[Block]:
        return [b for s in layout.SECTION_ORDER for b in self.blocks.get(s, [])]

    def tokens(self, section: str) -> int:
        return sum(b.tokens for b in self.blocks.get(section, []))


def frame_cost(section: str, style: str, counter: CountCache) -> int:
    parts = (layout.header(section, style), layout.footer(section, style))
    return sum(counter.count(t) for t in parts if t)


def water_fill(weights: dict[str, float], demand: dict[str, int], pool: int) -> dict[str, int]:
    """Give each group its demand when that is below its weighted part of what is left; split
    the rest by weight among the groups that need more. Groups of weight 0 get leftovers only."""
    alloc = {g: 0 for g in weights}
    open_ = sorted(g for g in weights if demand.get(g, 0) > 0)
    remaining = pool
    while open_:
        total = sum(weights[g] for g in open_)
        if total <= 0:
            for g in open_:
                alloc[g] = min(demand[g], remaining // len(open_))
            break
        satisfied = [g for g in open_ if demand[g] <= remaining * weights[g] / total]
        if not satisfied:
            for g in open_:
                alloc[g] = math.floor(remaining * weights[g] / total)
            break
        for g in satisfied:
            alloc[g] = demand[g]
            remaining -= demand[g]
            open_.remove(g)
    return alloc


def lazy_demand(cands: Sequence[Candidate], counter: CountCache, cap: int) -> int:
    """Tokens all of ``cands`` need, counting in rank order only until ``cap`` is passed."""
    total = 0
    for c in cands:
        total += c.count(counter)
        if total > cap:
            break
    return total


def best_cut(cand: Candidate, space: int, counter: CountCache) -> tuple[str, int] | None:
    """The longest cut of ``cand`` whose block fits ``space`` tokens, at a boundary, or None."""
    if space < MIN_CUT_TOKENS or not cand.cuttable:
        return None
    render = lambda p: cand.shape(cut_body(cand.body, p, cand.fetch))  # noqa: E731
    return longest_fit(cand.body, space, counter, render, cand.min_cut)


def emit(
    section: str,
    chosen: Sequence[Candidate],
    out: Packed,
    counter: CountCache,
    lead: Sequence[str] = (),
) -> None:
    opening = layout.header(section, out.style)
    if opening:
        out.add(section, opening, counter)
    for text in lead:
        out.add(section, text, counter)
    for c in chosen:
        if c.kept is not None:
            out.add(section, c.kept[0], counter, c.kept[1])
        else:
            out.add(section, c.render(), counter, c.tokens)
    closing = layout.footer(section, out.style)
    if closing:
        out.add(section, closing, counter)


def select_ranked(
    section: str,
    cands: Sequence[Candidate],
    avail: int,
    style: str,
    counter: CountCache,
    chunking: bool,
) -> tuple[list[Candidate], int]:
    """Whole items best first, skipping what does not fit; then one cut of the best skipped.

    Returns the chosen candidates (in rank order) and the tokens they take with the section's
    frame. Only candidates still ``dropped`` are considered, so one ranked list can feed two
    sections (the memories, then the tail's more memories). Nothing is emitted.
    """
    frame = frame_cost(section, style, counter)
    used = misses = 0
    chosen: list[Candidate] = []
    cands = [c for c in cands if c.outcome == "dropped"]
    for c in cands:
        room = avail - used - (0 if chosen else frame)
        if room <= 0 or misses >= MAX_MISSES:
            break
        n = c.count(counter)
        if n <= room:
            used += n + (0 if chosen else frame)
            chosen.append(c)
            c.include(f"fits: {n} tokens")
            misses = 0
        else:
            c.reason = f"no room: needs {n} tokens, {room} left in {section}"
            misses += 1
    skipped = [c for c in cands if c.outcome == "dropped" and c.tokens is not None]
    if chunking and skipped:
        c = skipped[0]
        kept = best_cut(c, avail - used - (0 if chosen else frame), counter)
        if kept is not None:
            used += kept[1] + (0 if chosen else frame)
            c.cut(kept, "did not fit whole; cut")
            index = {id(x): i for i, x in enumerate(cands)}
            chosen.append(c)
            chosen.sort(key=lambda x: index[id(x)])
    for c in chosen:
        c.placed = section
    return chosen, used


def pack_ranked(
    section: str,
    cands: Sequence[Candidate],
    avail: int,
    out: Packed,
    counter: CountCache,
    chunking: bool,
) -> int:
    """``select_ranked``, emitted in rank order; returns the tokens used."""
    chosen, used = select_ranked(section, cands, avail, out.style, counter, chunking)
    if chosen:
        emit(section, chosen, out, counter)
    return used


def pack_focus(
    plan: Plan, avail: int, out: Packed, counter: CountCache, reprise_goal: bool = True
) -> int:
    """The checklist recited last (compact, then shortened, when tight), after a goal reprise
    (only when ``reprise_goal``: assembly.py repeats the goal only far from the top)."""
    reprise = [c for c in plan.focus if c.label == REPRISE]
    if not reprise_goal:
        for c in reprise:
            c.reason = f"short prompt: the goal at its top is under {REPRISE_DISTANCE} tokens away"
        reprise = []
    full = [c for c in plan.focus if c.label != REPRISE]
    compact = plan.compact_tasks or full
    frame = frame_cost("focus", out.style, counter)
    chosen: list[Candidate] = []
    if full and frame + sum(c.count(counter) for c in full) <= avail:
        chosen = list(full)
        for c in full:
            c.include("recited in full")
    elif full:
        used = frame
        for c in compact:
            if used + c.count(counter) > avail:
                break
            used += c.count(counter)
            chosen.append(c)
        for i, c in enumerate(full):
            if i < len(chosen):
                c.outcome, c.fraction, c.reason = "cut", 0.8, "recited in compact form to fit"
            else:
                c.reason = "no room left for this task in the checklist"
    used = (frame if chosen else 0) + sum(c.count(counter) for c in chosen)
    for c in reprise:
        extra = c.count(counter) + (0 if chosen else frame)
        if used + extra <= avail:
            used += extra
            c.include("the goal, repeated at the end")
            chosen.insert(0, c)
        else:
            c.reason = "no room to repeat the goal at the end"
    if chosen:
        emit("focus", chosen, out, counter)
    return used


def need(
    section: str, cands: Sequence[Candidate], counter: CountCache, cap: int, style: str
) -> int:
    return frame_cost(section, style, counter) + lazy_demand(cands, counter, cap) if cands else 0


def pack_mandatory(plan: Plan, out: Packed, counter: CountCache) -> int:
    """Charge the prefix, system text and goal; cut them (goal last) only when they cannot fit.

    A goal or first system text that starts with a joiner is glued to its section's header in
    one block (layout.py's rule), so its count cannot depend on the block before it.
    """
    style = plan.style
    goal = (plan.goal or "").strip()
    systems = layout.merge_joined([s.strip() for s in plan.system if s.strip()])
    prefix = layout.prefix_block(plan.prefix) if plan.prefix else ""
    glued = {
        "goal": layout.joins(goal),
        # Why only then: in markdown and text the system text has no header, and with nothing
        # before it (no prefix) it is the prompt's first block, where any start is safe.
        "system": bool(systems) and layout.joins(systems[0]) and (style == "xml" or bool(prefix)),
        "prefix": False,
    }

    def maker(section: str, index: int) -> Callable[[str], str]:
        if section == "prefix":
            return layout.prefix_block
        if glued[section] and index == 0:
            head = layout.glue_header(section, style)
            return lambda body: head + layout.block(body)
        return layout.block

    def frame_of(section: str) -> int:
        if not glued[section]:
            return frame_cost(section, style, counter)
        closing = layout.footer(section, style)
        return counter.count(closing) if closing else 0

    bodies = {"goal": [goal] if goal else [], "system": systems, "prefix": [plan.prefix or ""]}
    if not prefix:
        bodies["prefix"] = []
    parts = {
        section: sum(counter.count(maker(section, i)(b)) for i, b in enumerate(texts))
        + (frame_of(section) if texts else 0)
        for section, texts in bodies.items()
    }
    space = plan.budget
    if sum(parts.values()) > space and plan.strict:
        raise mandatory_error(parts, space)
    kept: dict[str, list[tuple[str, int]]] = {"prefix": [], "system": [], "goal": []}
    # Why this order: the goal says what the prompt is for; the system text, then the prefix,
    # matter less when something has to give.
    for section, fetch in (("goal", "smartcontext goal"), ("system", None), ("prefix", None)):
        texts = bodies[section]
        if not texts:
            continue
        frame = frame_of(section)
        full = parts[section]
        budget_left = space - frame
        got = 0
        for i, text in enumerate(texts):
            fit = fit_text(text, budget_left - got, counter, maker(section, i), fetch)
            if fit is None:
                break
            kept[section].append(fit)
            got += fit[1]
        if got and got + frame <= space:
            space -= got + frame
            out.mandatory[section] = (got + frame) / full if full else 1.0
        else:
            kept[section] = []
            out.mandatory[section] = 0.0
        if out.mandatory[section] < 1.0:
            out.warnings.append(
                f"the {section} was {'cut' if kept[section] else 'left out'} "
                f"to fit the budget of {plan.budget} tokens"
                f" (it needs {full})"
            )
    for section in ("prefix", "system", "goal"):
        if not kept[section]:
            continue
        opening = None if glued[section] else layout.header(section, style)
        if section != "prefix" and opening:
            out.add(section, opening, counter)
        for text, n in kept[section]:
            out.add(section, text, counter, n)
        if layout.footer(section, style):
            out.add(section, layout.footer(section, style) or "", counter)
    return sum(out.used.values())


def mandatory_error(parts: dict[str, int], budget: int) -> BudgetError:
    detail = ", ".join(f"{k} {v}" for k, v in parts.items() if v)
    return BudgetError(
        f"the mandatory parts need {sum(parts.values())} tokens ({detail}) "
        f"but the budget is {budget}"
    )
