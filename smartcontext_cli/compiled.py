"""The result of a compile: the prompt, its accounting, how it renders, and how it is recorded.

Why apart from compiler.py: what a compile *produced* (rendering in five formats, the
transparency report, the compile record, stats and explanations over records) is read by the
CLI, gather.py and library users, while how it is produced stays in compiler.py and packing.py.

Guarantees:
- ``to_prompt()`` is exactly the concatenation of ``blocks``, and ``total_tokens`` is the sum of
  their counts; for ``json`` and ``messages`` the budget applies to that same prompt text, which
  they carry unchanged (``prompt``, or the contents of the messages joined).
- Records follow the cross-team contract (collection ``compilations``), so cache.py can measure
  reuse from their ``blocks``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .attention import AttentionPolicy
from .candidates import Block

SPARKS = "▁▂▃▄▅▆▇█"
TREND_DELTA = 0.05
BAR_WIDTH = 20
MAX_DROPPED_RECORDED = 200  # dropped candidates kept in a record beyond the included ones


@dataclass
class CompiledContext:
    """A compiled prompt and everything about how it was made."""

    blocks: list[Block]
    budget: int
    effective_budget: int
    encoding: str
    estimate: bool
    mode: str
    format: str
    policy: AttentionPolicy
    allocation: dict[str, int]
    targets: dict[str, int]
    used: dict[str, int]
    quality_score: float
    decisions: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loaded: dict[str, int] = field(default_factory=dict)
    window_start: int | None = None
    window_moved: bool = False
    frozen: Any = field(default=None, repr=False)  # frozen.Frozen: what the next compile keeps
    replanned: str | None = None  # why this compile re-planned instead of appending
    compile_id: int | None = None
    cache_break: str | None = None
    reuse: dict[str, Any] | None = None
    branch: str | None = None
    query: str | None = None
    # (source object, token_encoding label, count) for stored items counted afresh: gather.py
    # writes them back so the next compile need not count them again.
    counted: list[tuple[Any, str, int]] = field(default_factory=list, repr=False)

    @property
    def total_tokens(self) -> int:
        return sum(b.tokens for b in self.blocks)

    @property
    def sections(self) -> dict[str, str]:
        """Each section's exact text in the prompt (headers included), in prompt order."""
        out: dict[str, str] = {}
        for b in self.blocks:
            out[b.section] = out.get(b.section, "") + b.text
        return out

    @property
    def section_tokens(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.blocks:
            out[b.section] = out.get(b.section, 0) + b.tokens
        return out

    def to_prompt(self) -> str:
        return "".join(b.text for b in self.blocks)

    def to_messages(self) -> list[dict[str, str]]:
        """Chat messages: the stable prefix and system text as ``system``, the rest as ``user``.

        OpenAI's chat API takes the list as it is; Anthropic's takes the system message's
        content as ``system=`` only when there is one, and the others as ``messages=`` (README).
        A compile in the ``messages`` format always has a user message, or fails.
        """
        head = "".join(b.text for b in self.blocks if b.section in ("prefix", "system"))
        rest = "".join(b.text for b in self.blocks if b.section not in ("prefix", "system"))
        messages = []
        if head:
            messages.append({"role": "system", "content": head})
        if rest:
            messages.append({"role": "user", "content": rest})
        return messages

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` shape (README)."""
        return {
            "prompt": self.to_prompt(),
            "sections": self.sections,
            "section_tokens": self.section_tokens,
            "total_tokens": self.total_tokens,
            "budget": self.budget,
            "effective_budget": self.effective_budget,
            "encoding": self.encoding,
            "estimate": self.estimate,
            "mode": self.mode,
            "quality_score": self.quality_score,
            "allocation": self.allocation,
            "used": self.used,
            "compile_id": self.compile_id,
            "warnings": self.warnings,
        }

    def render(self) -> str:
        """What ``smartcontext compile`` prints for this context's format."""
        if self.format == "json":
            return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        if self.format == "messages":
            return json.dumps(self.to_messages(), ensure_ascii=False, indent=2) + "\n"
        return self.to_prompt()

    # transparency -------------------------------------------------------------------------

    def report(self, level: str) -> str:
        """What the transparency level shows on stderr: off, minimal, normal or full."""
        level = str(getattr(level, "value", level))
        if level == "off":
            return ""
        kind = "estimated " if self.estimate else ""
        line = (
            f"compiled {self.total_tokens:,}/{self.effective_budget:,} {kind}tokens "
            f"({self.encoding})"
            f" · mode {self.mode} · quality {self.quality_score:.2f}"
        )
        if self.reuse and self.reuse.get("previous_tokens"):
            line += f" · cache reuse {self.reuse['reuse_of_previous']:.0%} of the previous prompt"
        if self.cache_break:
            line += f" · planned cache break: {self.cache_break}"
        elif self.replanned:
            line += f" · re-planned: {self.replanned}"
        lines = [line]
        if level in ("normal", "full"):
            loaded = ", ".join(f"{v} {k}" for k, v in self.loaded.items() if v)
            lines.append(f"loaded: {loaded or 'nothing'}")
            lines.append(
                f"policy {self.policy.key}: "
                + ", ".join(f"{k} {v:.0%}" for k, v in self.policy.allocation.items() if v)
            )
            lines.extend(self.bar_chart())
            if self.window_start is not None:
                moved = " (moved)" if self.window_moved else ""
                lines.append(f"session window starts at item {self.window_start}{moved}")
        lines.extend(f"note: {n}" for n in self.notes)
        if level == "full":
            for d in self.decisions:
                tokens = "?" if d["tokens"] is None else d["tokens"]
                lines.append(
                    f"  {d['outcome']:<8} {d['section']:<12} {d['item'][:40]:<40} {tokens:>6}"
                    f"  {d['reason']}"
                )
        return "\n".join(lines)

    def bar_chart(self) -> list[str]:
        rows = ["section        used / allocated"]
        for group in self.policy.allocation:
            alloc, used = self.allocation.get(group, 0), self.used.get(group, 0)
            if not alloc and not used:
                continue
            filled = min(BAR_WIDTH, round(BAR_WIDTH * used / alloc)) if alloc else BAR_WIDTH
            bar = "█" * filled + "░" * (BAR_WIDTH - filled)
            extra = " +spill" if used > alloc else ""
            rows.append(f"{group:<12} {used:>6} / {alloc:<6} {bar}{extra}")
        return rows

    # records ------------------------------------------------------------------------------

    def record(self, n: int, created_at: str) -> dict[str, Any]:
        """The compile record (cross-team contract), with a few extra keys of our own."""
        decisions = [d for d in self.decisions if d["outcome"] != "dropped"]
        dropped = [d for d in self.decisions if d["outcome"] == "dropped"]
        return {
            "id": n,
            "created_at": created_at,
            "mode": self.mode,
            "budget": self.budget,
            "effective_budget": self.effective_budget,
            "encoding": self.encoding,
            "estimate": self.estimate,
            "format": self.format,
            "query": self.query,
            "total_tokens": self.total_tokens,
            "sections": self.section_tokens,
            "allocation": self.allocation,
            "used": self.used,
            "quality": self.quality_score,
            "decisions": decisions + dropped[:MAX_DROPPED_RECORDED],
            "dropped_not_recorded": max(0, len(dropped) - MAX_DROPPED_RECORDED),
            "blocks": [[b.key, b.tokens] for b in self.blocks],
            "cache_break": self.cache_break,
            "replanned": self.replanned,
            "branch": self.branch,
            "policy": {
                "name": self.policy.key,
                "description": self.policy.description,
                "allocation": self.policy.allocation,
            },
            "loaded": self.loaded,
            "window_start": self.window_start,
            "window_moved": self.window_moved,
            "warnings": self.warnings,
        }


def decision(
    item: str, section: str, score: float, tokens: int | None, outcome: str, reason: str
) -> dict[str, Any]:
    return {
        "item": item,
        "section": section,
        "score": round(score, 4),
        "tokens": tokens,
        "outcome": outcome,
        "reason": reason,
    }


def quality_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, spread, trend and sparkline of the records' quality scores (oldest first)."""
    values = [float(r.get("quality", 0.0)) for r in records]
    if not values:
        return {
            "quality_scores": {"mean": None, "min": None, "max": None, "last": None, "values": []},
            "trend": "unknown",
            "sparkline": "",
        }
    half = len(values) // 2
    trend = "unknown"
    if len(values) >= 2:
        early = values[:half] if half else values[:1]
        late = values[half:]
        delta = sum(late) / len(late) - sum(early) / len(early)
        trend = (
            "improving"
            if delta > TREND_DELTA
            else "declining"
            if delta < -TREND_DELTA
            else "stable"
        )
    spark = "".join(SPARKS[min(len(SPARKS) - 1, int(v * len(SPARKS)))] for v in values)
    return {
        "quality_scores": {
            "mean": round(sum(values) / len(values), 4),
            "min": min(values),
            "max": max(values),
            "last": values[-1],
            "values": values,
        },
        "trend": trend,
        "sparkline": spark,
    }


def explain_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record's decisions in the spec's shape: ``explanation.strategy_used`` and
    ``explanation.decisions`` (each with ``decision`` and ``rationale`` besides the raw fields)."""
    policy = record.get("policy") or {}
    shares = ", ".join(f"{k} {v:.0%}" for k, v in (policy.get("allocation") or {}).items() if v)
    strategy = (
        f"{policy.get('name', record.get('mode'))} policy ({shares}); items ranked by relevance, "
        "recency and importance; unused budget flows forward to later sections"
    )
    decisions = [
        {**d, "decision": f"{d['outcome']} {d['item']}", "rationale": d["reason"]}
        for d in record.get("decisions", [])
    ]
    return {
        "compile_id": record.get("id"),
        "created_at": record.get("created_at"),
        "mode": record.get("mode"),
        "budget": record.get("budget"),
        "total_tokens": record.get("total_tokens"),
        "quality": record.get("quality"),
        "encoding": record.get("encoding"),
        "sections": record.get("sections"),
        "allocation": record.get("allocation"),
        "dropped_not_recorded": record.get("dropped_not_recorded", 0),
        "explanation": {"strategy_used": strategy, "decisions": decisions},
    }
