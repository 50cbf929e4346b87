"""Assembly: a prompt's sections in order, planned afresh at a break or continued between breaks.

Why it exists: between planned breaks a compile must be append-only, so the provider's prompt
cache keeps everything the previous prompt sent (frozen.py says what is kept and why); at a
break, and on the first compile, everything is ranked and allotted from scratch. Both paths end
in the same ``_finish``, so the same state gives the same prompt the first time and every time.

The prompt, in order (layout.SECTION_ORDER):

1. *mandatory*: stable prefix, system text, goal (packing.pack_mandatory);
2. *head*: strategy, memories, artifacts, related links, chosen at the break;
3. *stream*: the session window from the start chosen at the break, then every event (and
   every memory learned since the break) in the order it happened;
4. *tail*, afresh each time: unresolved errors, events recalled from earlier in the session,
   more memories, the checklist.

A fresh plan (a break) shares the budget between policy groups by water-filling (packing.py).
The session's part (its share, plus what earlier sections left) goes first to unresolved
errors; when the query matches events outside the window, ``RECALL_SHARE`` of the rest is kept
for them; the window takes the other part: every event when all fit, else the newest that fill
``WINDOW_REFILL`` of it, so that appended events fit for a while without a break. The checklist
is then recited; what is left (from any section) fills the tail: recalled events and more
memories share it by their policy shares, and what one leaves the other may take.

A continuation keeps the head items that are still valid, byte for byte, and the stream with
new entries appended, as long as they, the errors and the compact checklist fit the budget;
otherwise it re-plans, and says why (``Packed.replanned``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from . import layout
from .candidates import Candidate, recall_lead
from .frozen import Frozen
from .packing import (
    QUANTUM_PARTS,
    RELATED_SHARE,
    REPRISE,
    REPRISE_DISTANCE,
    Packed,
    Plan,
    best_cut,
    emit,
    frame_cost,
    need,
    pack_focus,
    pack_mandatory,
    pack_ranked,
    select_ranked,
    water_fill,
)
from .tokens import CountCache

WINDOW_REFILL = 0.7
RECALL_SHARE = 0.5
QUERY_SHARE = 0.5  # of the memories' part, at least, for a query that differs from the goal
HEAD = ("strategy", "memories", "artifacts", "related")
STREAM_MEMORY = "memory: "  # the lead of a memory learned since the break, in the stream


def pack(plan: Plan, counter: CountCache) -> Packed:
    """Fit ``plan`` into ``plan.budget`` tokens: continue ``plan.frozen`` when it still holds,
    else plan afresh (the module docstring)."""
    replanned = None
    if plan.frozen is not None:
        out = Packed(plan.style)
        pack_mandatory(plan, out, counter)
        replanned = _continue(plan, plan.frozen, out, counter)
        if replanned is None:
            return out
        for cands in (*plan.sections.values(), plan.focus):
            for c in cands:
                c.reset()
    out = Packed(plan.style)
    _fresh(plan, out, counter)
    out.replanned = replanned
    if plan.frozen is not None:
        out.window_moved = out.window_start != plan.frozen.window_start
    return out


# a fresh plan --------------------------------------------------------------------------------


def _fresh(plan: Plan, out: Packed, counter: CountCache) -> None:
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
        "memories": need("memories", secs.get("memories", []), counter, pool, style)
        + need("more_memories", secs.get("more_memories", []), counter, pool, style),
        "artifacts": need("artifacts", secs.get("artifacts", []), counter, pool, style),
        "observations": need("errors", secs.get("errors", []), counter, pool, style)
        + need("observations", secs.get("observations", [])[::-1], counter, pool, style)
        + need("recall", secs.get("recall", []), counter, pool, style),
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
    # The query's memories (when it differs from the goal) go to the tail: their part of the
    # memories' allocation is kept out of the head and out of what flows on to the window.
    reserve = 0
    query_mems = secs.get("more_memories", [])
    if query_mems:
        head_need = need("memories", secs.get("memories", []), counter, pool, style)
        room = alloc["memories"] - related
        reserve = min(
            need("more_memories", query_mems, counter, pool, style),
            max(math.floor(room * QUERY_SHARE), room - head_need),
        )
    left = ranked("memories", alloc["memories"] - related - reserve + carry, plan.chunking)
    carry = ranked("artifacts", alloc["artifacts"] + left, plan.chunking)
    if plan.graph is not None and related > 0:
        secs["related"] = plan.graph(_included(plan, ("memories", "artifacts")))
    carry += ranked("related", related, False)
    # The session's part: errors first (packed in _finish, after the window), then the window.
    part = alloc["observations"] + carry
    part -= min(part, need("errors", secs.get("errors", []), counter, part, style))
    obs = secs.get("observations", [])
    recall_target = 0
    if _recall_waiting(plan, obs, part, counter):
        recall_target = math.ceil(part * RECALL_SHARE)
        part -= recall_target
    plan.recall_target = recall_target
    start = _window_start(plan, obs, part, counter)
    stream = obs[start:]
    for c in stream:
        c.include("in the session window")
    for c in obs[:start]:
        c.reason = "before the session window: older items that no longer fit"
    marker = start > 0 or plan.session_more
    out.frozen = Frozen(
        key=plan.key,
        created=plan.created,
        head={s: [[c.ident, _cut_tokens(c)] for c in _included(plan, (s,))] for s in HEAD},
        stream=[c.ident for c in stream],
        window_start=next((c.seq for c in stream if c.seq is not None), None),
        last_event=obs[-1].ident if obs else None,
        allocation=dict(out.allocation),
        marker=marker,
        recall_target=recall_target,
    )
    _finish(plan, out, counter, stream, marker)


def _included(plan: Plan, sections: Sequence[str]) -> list[Candidate]:
    return [
        c
        for s in sections
        for c in plan.sections.get(s, [])
        if c.outcome != "dropped" and (c.placed in (None, s))
    ]


def _cut_tokens(c: Candidate) -> int | None:
    return c.kept[1] if c.kept is not None else None


def _suffix_costs(obs: Sequence[Candidate], cap: int, counter: CountCache) -> dict[int, int]:
    """Tokens of ``obs[i:]`` for every i down to where they pass ``cap``: older items cannot
    be in a window of ``cap`` tokens, so they are never counted."""
    n = len(obs)
    suffix = {n: 0}
    i = n
    while i > 0 and suffix[i] <= cap:
        i -= 1
        suffix[i] = suffix[i + 1] + obs[i].count(counter)
    return suffix


def _window_cost(plan: Plan, start: int, suffix: dict[int, int], counter: CountCache) -> int:
    marker = start > 0 or plan.session_more
    frame = frame_cost("observations", plan.style, counter)
    return (
        frame + suffix[start] + (counter.count(layout.omitted(plan.session_fetch)) if marker else 0)
    )


def _first_fitting(plan: Plan, obs: Sequence[Candidate], limit: float, counter: CountCache) -> int:
    """The smallest start whose window fits ``limit`` tokens (len(obs) when none does)."""
    suffix = _suffix_costs(obs, math.ceil(limit), counter)
    lo, hi = min(suffix), len(obs)
    while lo < hi:  # cost falls as the start grows
        mid = (lo + hi) // 2
        if mid in suffix and _window_cost(plan, mid, suffix, counter) <= limit:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _window_start(plan: Plan, obs: Sequence[Candidate], part: int, counter: CountCache) -> int:
    """Every item when all fit ``part``; else the newest that fill ``WINDOW_REFILL`` of it."""
    if not obs:
        return 0
    if _first_fitting(plan, obs, part, counter) == 0:
        return 0
    start = _first_fitting(plan, obs, part * WINDOW_REFILL, counter)
    if start >= len(obs):
        start = _first_fitting(plan, obs, part, counter)
    if start >= len(obs):  # not even the newest item fits whole: cut it, or show nothing
        newest = obs[-1]
        marker = counter.count(layout.omitted(plan.session_fetch))
        room = part - frame_cost("observations", plan.style, counter) - marker
        kept = best_cut(newest, room, counter) if plan.chunking else None
        if kept is None:
            return len(obs)
        newest.cut(kept, "newest item did not fit whole; cut")
        return len(obs) - 1
    return start


def _recall_waiting(plan: Plan, obs: Sequence[Candidate], part: int, counter: CountCache) -> bool:
    """Whether some recalled event would be outside even a window that takes all of ``part``."""
    recall = plan.sections.get("recall", [])
    if not recall:
        return False
    start = _first_fitting(plan, obs, part, counter)
    shown = {c.seq for c in obs[start:]}
    return any(c.seq not in shown for c in recall)


# a continuation ------------------------------------------------------------------------------


def _continue(plan: Plan, frozen: Frozen, out: Packed, counter: CountCache) -> str | None:
    """Append to the previous prompt; None when done, else why a fresh plan is needed."""
    secs, style = plan.sections, plan.style
    found: dict[str, Candidate] = {}
    for section in ("strategy", "memories", "artifacts", "observations"):
        for c in secs.get(section, []):
            found.setdefault(c.ident, c)
    head: dict[str, list[Candidate]] = {}
    cuts: dict[int, tuple[str, int]] = {}
    for section in ("strategy", "memories", "artifacts"):
        head[section] = []
        for ident, cut in frozen.head.get(section, []):
            kept_c = found.get(ident)
            if kept_c is None or kept_c.section != section:
                continue  # no longer valid: deleted, edited, or not given this time
            c = kept_c
            if cut is not None:
                kept = best_cut(c, cut, counter)
                if kept is None or kept[1] != cut:
                    continue
                cuts[id(c)] = kept
            head[section].append(c)
    related: list[Candidate] = []
    if plan.graph is not None and frozen.head.get("related"):
        links = {c.ident: c for c in plan.graph(head["memories"] + head["artifacts"])}
        related = [links[i] for i, _ in frozen.head["related"] if i in links]
    secs["related"] = related
    stream = [found[i] for i in frozen.stream if i in found]
    obs = secs.get("observations", [])
    position = -1
    if frozen.last_event is not None:
        position = next((i for i, c in enumerate(obs) if c.ident == frozen.last_event), -2)
        if position == -2:
            return "the session changed under the kept prompt (an event was removed): re-planned"
    in_head = {c.ident for cs in head.values() for c in cs} | {c.ident for c in stream}
    fresh_events = [c for c in obs[position + 1 :] if c.ident not in in_head]
    learned = [
        c
        for c in secs.get("memories", [])
        if c.ident not in in_head and _created(c) > frozen.created
    ]
    stream += sorted(fresh_events + learned, key=_created)
    # Does it still fit beside the errors and the compact checklist?
    shown = [(s, cs) for s, cs in (*head.items(), ("related", related)) if cs]
    cost = sum(frame_cost(s, style, counter) for s, _ in shown)
    cost += sum(
        cuts[id(c)][1] if id(c) in cuts else c.count(counter) for _, cs in shown for c in cs
    )
    rendered = [_stream_form(c) for c in stream]
    if rendered:
        cost += frame_cost("observations", style, counter) + sum(r.count(counter) for r in rendered)
        if frozen.marker:
            cost += counter.count(layout.omitted(plan.session_fetch))
    reserve = need("errors", secs.get("errors", []), counter, plan.budget, style)
    tasks = plan.compact_tasks or [c for c in plan.focus if c.label != REPRISE]
    reserve += need("focus", tasks, counter, plan.budget, style) if tasks else 0
    if sum(out.used.values()) + cost + reserve > plan.budget:
        return "the session outgrew the prompt kept since the last break: re-planned"
    for section, cs in shown:
        for c in cs:
            if id(c) in cuts:
                c.cut(cuts[id(c)], "kept from the previous prompt; cut")
            else:
                c.include("kept from the previous prompt")
            c.placed = section
        emit(section, cs, out, counter)
    for c in stream:
        if c.section == "memories":
            c.include("learned since the last break: appended to the session stream")
            c.placed = "observations"
        elif c.ident in frozen.stream:
            c.include("in the session window")
        else:
            c.include("appended to the session window")
    for c in secs.get("observations", []):
        if c.outcome == "dropped":
            c.reason = "before the session window: older items that no longer fit"
    out.allocation = dict(frozen.allocation)
    out.targets = {g: round(s * plan.budget) for g, s in plan.shares.items()}
    out.frozen = Frozen(
        key=frozen.key,
        created=frozen.created,
        head={
            s: [[c.ident, _cut_tokens(c)] for c in cs]
            for s, cs in (*head.items(), ("related", related))
        },
        stream=[c.ident for c in stream],
        window_start=frozen.window_start,
        last_event=obs[-1].ident if obs else frozen.last_event,
        allocation=dict(frozen.allocation),
        marker=frozen.marker,
        recall_target=frozen.recall_target,
    )
    plan.recall_target = frozen.recall_target
    _finish(plan, out, counter, stream, frozen.marker)
    return None


def _created(c: Candidate) -> str:
    return str(getattr(c.source, "created_at", "") or "")


def _stream_form(c: Candidate) -> Candidate:
    """How an entry renders in the stream: events as they are, memories with a lead."""
    if c.section != "memories":
        return c
    if c.variant is None:  # kept on the candidate: one rendering and count per compile
        c.variant = replace(c, lead=STREAM_MEMORY, text="", key="", tokens=None, hint=None)
    return c.variant


# both paths ----------------------------------------------------------------------------------


def _finish(
    plan: Plan, out: Packed, counter: CountCache, stream: list[Candidate], marker: bool
) -> None:
    """The stream, then the tail: errors, the checklist's room, recalled events, more memories."""
    if stream:
        lead = [layout.omitted(plan.session_fetch)] if marker else []
        emit("observations", [_stream_form(c) for c in stream], out, counter, lead)
    out.window_start = next((c.seq for c in stream if c.seq is not None), None)
    free = plan.budget - sum(out.used.values())
    focus_need = need("focus", plan.focus, counter, free, plan.style)
    errors = secs_of(plan, "errors")
    free -= pack_ranked("errors", errors, max(0, free - min(free, focus_need)), out, counter, False)
    goal_end = sum(out.used.get(g, 0) for g in ("system",)) + out.tokens("goal")
    far = sum(out.used.values()) - goal_end >= REPRISE_DISTANCE
    free -= pack_focus(plan, free, out, counter, reprise_goal=far)
    _tail(plan, out, counter, free, {c.seq for c in stream if c.seq is not None})


def secs_of(plan: Plan, section: str) -> list[Candidate]:
    return plan.sections.get(section, [])


def _tail(plan: Plan, out: Packed, counter: CountCache, space: int, shown: set[int]) -> None:
    """Recalled events and the query's memories share ``space`` (module docstring)."""
    present = _present(plan, out)
    recall = []
    for c in secs_of(plan, "recall"):
        if c.seq in shown:
            c.reason = "already in the session window"
        elif _flat(c.body) in present:
            c.reason = "its text is already in the prompt"
        else:
            recall.append(c)
    # The query's own memories when it differs from the goal, else what the head left.
    source = "more_memories" if "more_memories" in plan.sections else "memories"
    # After the query's memories, the goal's memories the head had no room for: budget left at
    # the end goes to every section that still has candidates (issue 9), in rank order.
    sources = [source] if source == "memories" else [source, "memories"]
    more, seen = [], set()
    for c in (c for s in sources for c in secs_of(plan, s)):
        if c.outcome != "dropped" or c.ident in seen:
            continue
        seen.add(c.ident)
        if _flat(c.body) in present:
            c.reason = "its text is already in the prompt"
        else:
            more.append(c)
    if space <= 0 or not (recall or more):
        return
    # Recalled events are sure of their target (kept for them at the break); the memories get
    # the rest; recalled events then take what the memories leave.
    target = 0
    if recall and plan.recall_target:
        target = min(space, plan.recall_target, need("recall", recall, counter, space, plan.style))
    mem, mem_used = select_ranked(
        "more_memories", more, space - target, plan.style, counter, plan.chunking
    )
    chosen, used = _select_recall(plan, recall, space - mem_used, counter)
    queried = {id(c) for c in secs_of(plan, "more_memories")}
    # What is still left: the events just before the window, newest first.
    have = shown | {c.seq for c in chosen if c.seq is not None}
    more_gap, gap_used = _gap_fill(
        plan, counter, space - used - mem_used, bool(chosen), have, present
    )
    # The last tokens: memories small enough for what recall left (its items are longer).
    rest = space - used - mem_used - gap_used
    if rest > 0 and more:
        paid = frame_cost("more_memories", plan.style, counter) if mem else 0
        extra, _ = select_ranked(
            "more_memories", more, rest + paid, plan.style, counter, plan.chunking
        )
        if extra:
            order = {id(c): i for i, c in enumerate(more)}
            mem = sorted([*mem, *extra], key=lambda c: order[id(c)])
    for v in more_gap:
        original = v.variant
        assert original is not None
        original.outcome, original.fraction, original.placed = "included", 1.0, "recall"
        original.reason = "before the session window; filled leftover budget as an earlier event"
    chosen += more_gap
    if chosen:
        emit("recall", sorted(chosen, key=lambda c: c.seq or 0), out, counter)
    if mem:
        for c in mem:
            why = "matches the query: " if id(c) in queried else "filled leftover budget: "
            c.reason = why + c.reason
        emit("more_memories", mem, out, counter)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _present(plan: Plan, out: Packed) -> set[str]:
    """Texts the prompt already holds: every included item, and every line of every block
    (a compaction digest lists facts one per line), so the tail never repeats them."""
    seen = {
        _flat(c.body) for cands in plan.sections.values() for c in cands if c.outcome != "dropped"
    }
    for block in out.ordered():
        for line in block.text.split("\n"):
            line = line.strip()
            if line.startswith("- "):
                line = line[2:]
            if line:
                seen.add(_flat(line))
    return seen


def _gap_fill(
    plan: Plan,
    counter: CountCache,
    space: int,
    framed: bool,
    shown: set[int],
    present: set[str],
) -> tuple[list[Candidate], int]:
    """Events just before the window that fit ``space`` (whole), newest first, and the tokens
    they take (with the recall frame when they open the section).

    Why not select_ranked: its candidates would be every older event; these are made one at a
    time, from the window's start backwards, only while they fit.
    """
    frame = 0 if framed else frame_cost("recall", plan.style, counter)
    used, out = 0, []
    misses = 0
    for c in reversed(secs_of(plan, "observations")):
        if used + frame >= space or misses >= 10:
            break
        if c.outcome != "dropped" or c.seq is None or c.seq in shown or _flat(c.body) in present:
            continue
        form = _recall_form(c)
        n = form.count(counter)
        if used + frame + n > space:
            misses += 1
            continue
        used += n
        form.include(f"fits: {n} tokens")
        form.placed = "recall"
        out.append(form)
    return out, (used + frame if out else 0)


def _recall_form(c: Candidate) -> Candidate:
    """An event before the window, rendered as recalled events are (seq and time first)."""
    form = replace(
        c,
        section="recall",
        lead=recall_lead(c.seq, _created(c), getattr(c.source, "role", None)),
        text="",
        key="",
        tokens=None,
        hint=None,
        outcome="dropped",
        variant=c,  # back to the window's candidate, which explain lists
    )
    return form


def _select_recall(
    plan: Plan, recall: list[Candidate], avail: int, counter: CountCache
) -> tuple[list[Candidate], int]:
    """Recalled events best first, each with its companion turn when that fits too."""
    chosen, used = select_ranked("recall", recall, avail, plan.style, counter, plan.chunking)
    have = {c.seq for c in chosen} | {
        c.seq for c in plan.sections.get("observations", []) if c.outcome != "dropped"
    }
    extra: list[Candidate] = []
    for c in chosen:
        mate = c.companion
        if mate is None or mate.seq in have:
            continue
        n = mate.count(counter)
        if used + n <= avail:
            used += n
            mate.include(f"the turn before recalled event {c.seq}, for context")
            mate.placed = "recall"
            extra.append(mate)
            have.add(mate.seq)
    for c in chosen:
        if c.outcome == "included":
            c.reason = f"recalled: matches the query ({c.reason})"
    return chosen + extra, used
