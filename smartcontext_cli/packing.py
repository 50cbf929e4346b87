"""Packing: fitting candidate items into an exact token budget, section by section.

Why it exists: allocation is where the budget invariant and the prompt's quality are decided,
so it lives apart from gathering (gather.py) and the public API (compiler.py).

Algorithm:
1. The mandatory parts (stable prefix, system text, goal) are charged first. If they exceed the
   budget, ``strict`` raises ``BudgetError``; otherwise they are cut (the goal kept longest).
2. The rest is shared by water-filling: each policy group asks for what its candidates need,
   rounded up to a quarter of its target so small changes do not move other sections; groups
   that need less than their share get it, and the surplus goes to the others by share.
3. Sections are packed in prompt order. Ranked sections take whole items best first, skip what
   does not fit, then cut the best skipped item at a boundary to fill what is left. Whatever a
   section leaves unused flows forward to the sections after it, never backward, so content
   late in the prompt (the session, the checklist) cannot change what comes before it.
4. The session is a window of the newest items, shown oldest first, whose start is sticky:
   it moves only when the window no longer fits, and then so that it fills ``WINDOW_REFILL`` of
   its allotment, leaving room for the next items to append without moving it again.

Every count goes through ``CountCache``; the total is the sum of block counts (layout.py's rule),
and no section is ever given more than what is left, so the total never exceeds the budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import layout
from .candidates import Block, Candidate
from .chunking import MIN_CUT_TOKENS, cut_body, fit_text, longest_fit
from .errors import BudgetError
from .tokens import CountCache, block_hash

WINDOW_REFILL = 0.7
QUANTUM_PARTS = 4
RELATED_SHARE = 0.1  # of the memories target, at most, for the context graph
MAX_MISSES = 50  # a ranked section stops trying after this many items in a row do not fit
REPRISE = "goal (repeated)"
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
    sticky: bool = False
    window_start: int | None = None
    session_fetch: str | None = None
    session_more: bool = False  # older session items exist beyond those given


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


def pack_ranked(
    section: str,
    cands: Sequence[Candidate],
    avail: int,
    out: Packed,
    counter: CountCache,
    chunking: bool,
) -> int:
    """Whole items best first, skipping what does not fit; then one cut of the best skipped."""
    frame = frame_cost(section, out.style, counter)
    used = misses = 0
    chosen: list[Candidate] = []
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
            chosen.append(c)
    if chosen:
        order = {id(c): i for i, c in enumerate(cands)}
        emit(section, sorted(chosen, key=lambda c: order[id(c)]), out, counter)
    return used


def pack_window(
    cands: Sequence[Candidate], avail: int, out: Packed, counter: CountCache, plan: Plan
) -> int:
    """The newest observations that fit, oldest first, from a sticky start (module docstring)."""
    n = len(cands)
    if n == 0:
        return 0
    frame = frame_cost("observations", out.style, counter)
    # Count from the newest back only until the window overflows: older items cannot be in it.
    suffix = {n: 0}
    lowest = n
    while lowest > 0 and frame + suffix[lowest] <= avail:
        lowest -= 1
        suffix[lowest] = suffix[lowest + 1] + cands[lowest].count(counter)

    def marker(i: int) -> int:
        return (
            counter.count(layout.omitted(plan.session_fetch)) if i > 0 or plan.session_more else 0
        )

    def fits(i: int, limit: float) -> bool:
        return frame + suffix[i] + marker(i) <= limit

    def first_fitting(limit: float) -> int:
        lo, hi = lowest, n  # cost falls as i grows: the smallest i that fits
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if fits(mid, limit) else (mid + 1, hi)
        return lo

    stored = None
    if plan.window_start is not None:
        stored = next(
            (i for i, c in enumerate(cands) if c.seq is None or c.seq >= plan.window_start), n
        )
    if stored is not None and lowest <= stored < n and fits(stored, avail):
        start = stored
    elif stored is None and lowest == 0 and fits(0, avail):
        start = 0
    else:
        start = first_fitting(avail * WINDOW_REFILL if plan.sticky else avail)
        out.window_moved = stored is not None
    for i, c in enumerate(cands):
        if i >= start:
            c.include("in the session window")
        else:
            c.reason = "before the session window: older items that no longer fit"
    if start >= n:  # not even the newest item fits whole: cut it, or show nothing
        newest = cands[-1]
        kept = best_cut(newest, avail - frame - marker(n - 1), counter) if plan.chunking else None
        if kept is None:
            return 0
        newest.cut(kept, "newest item did not fit whole; cut")
        start = n - 1
    out.window_start = next((c.seq for c in cands[start:] if c.seq is not None), None)
    lead = [layout.omitted(plan.session_fetch)] if start > 0 or plan.session_more else []
    emit("observations", cands[start:], out, counter, lead)
    return out.tokens("observations")


def pack_focus(plan: Plan, avail: int, out: Packed, counter: CountCache) -> int:
    """The checklist recited last (compact, then shortened, when tight), after a goal reprise."""
    reprise = [c for c in plan.focus if c.label == REPRISE]
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


def pack(plan: Plan, counter: CountCache) -> Packed:
    """Fit ``plan`` into ``plan.budget`` tokens (the module docstring's four steps)."""
    out = Packed(plan.style)
    budget, style, secs = plan.budget, plan.style, plan.sections
    pool = max(0, budget - pack_mandatory(plan, out, counter))
    mandatory = {"system": out.used.get("system", 0), "goal": out.used.get("goal", 0)}
    out.targets = {g: round(s * budget) for g, s in plan.shares.items()}
    weights = {g: max(0.0, s * budget - mandatory.get(g, 0)) for g, s in plan.shares.items()}
    if not any(weights.values()):
        weights = dict(plan.shares)
    demand = {
        "system": 0,
        "goal": need("focus", plan.focus, counter, pool, style),
        "strategy": need("strategy", secs.get("strategy", []), counter, pool, style),
        "memories": need("memories", secs.get("memories", []), counter, pool, style),
        "artifacts": need("artifacts", secs.get("artifacts", []), counter, pool, style),
        "observations": need("errors", secs.get("errors", []), counter, pool, style)
        + need("observations", secs.get("observations", [])[::-1], counter, pool, style),
    }
    graph_need = 0
    if plan.graph is not None:
        # The context graph is built from what gets included, known only after packing; its
        # room is reserved from an estimate over all candidates, capped at a tenth of memories.
        every = [c for s in ("memories", "artifacts") for c in secs.get(s, [])]
        estimate = need("related", plan.graph(every), counter, pool, style)
        graph_need = min(estimate, math.floor(RELATED_SHARE * out.targets.get("memories", 0)))
        demand["memories"] += graph_need
    for g, d in demand.items():
        q = max(32, math.ceil(weights.get(g, 0) / QUANTUM_PARTS))
        demand[g] = math.ceil(d / q) * q
    alloc = water_fill({g: weights.get(g, 0.0) for g in demand}, demand, pool)
    out.allocation = {g: alloc.get(g, 0) + mandatory.get(g, 0) for g in plan.shares}

    def ranked(section: str, avail: int, chunking: bool) -> int:
        return avail - pack_ranked(section, secs.get(section, []), avail, out, counter, chunking)

    carry = ranked("strategy", alloc["strategy"], False)
    related = min(graph_need, alloc["memories"])
    left = ranked("memories", alloc["memories"] - related + carry, plan.chunking)
    carry = ranked("artifacts", alloc["artifacts"] + left, plan.chunking)
    if plan.graph is not None and related > 0:
        included = [
            c for s in ("memories", "artifacts") for c in secs.get(s, []) if c.outcome != "dropped"
        ]
        secs["related"] = plan.graph(included)
    carry += ranked("related", related, False)
    avail = ranked("errors", alloc["observations"] + carry, False)
    carry = avail - pack_window(secs.get("observations", []), avail, out, counter, plan)
    pack_focus(plan, alloc["goal"] + carry, out, counter)
    return out


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
