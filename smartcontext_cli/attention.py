"""Attention: how a prompt's budget is shared between its sections, and which mode fits a task.

Why it exists: a debugging session needs recent observations and errors, exploration needs
memories, planning needs the goal and strategy. A policy states those shares once; the compiler
applies them and lets unused budget flow to the sections that need more.

Guarantees:
- Every policy's shares cover exactly the six sections (missing ones are 0) and sum to 1 within
  0.01, else a ``UsageError`` naming the policy; accepted shares are normalised to sum to 1.
- Mode detection (intent.py) weighs intent over topic: the lead verb first ("Add a crash
  reporter" is coding), on stemmed whole words, never substrings: "prefix" is not "fix",
  "planet" is not "plan". A tie or a weak signal changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .errors import UsageError

SECTIONS = ("goal", "memories", "observations", "artifacts", "strategy", "system")
SUM_TOLERANCE = 0.01
POLICY_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


class AttentionMode(str, Enum):
    CODING = "coding"
    DEBUGGING = "debugging"
    EXPLORING = "exploring"
    PLANNING = "planning"
    BALANCED = "balanced"

    def __str__(self) -> str:
        return self.value


BUILT_IN = tuple(m.value for m in AttentionMode)


@dataclass
class AttentionPolicy:
    """Shares of the budget per section; ``name`` is how ``--mode`` refers to it."""

    name: str
    mode: AttentionMode | str = AttentionMode.BALANCED
    description: str = ""
    allocation: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.allocation = validate_allocation(self.name, self.allocation)

    @property
    def key(self) -> str:
        """The name as typed on the command line: lower-case, spaces as underscores."""
        return "_".join(self.name.lower().split())

    def share(self, section: str) -> float:
        return self.allocation.get(section, 0.0)


def validate_allocation(policy: str, allocation: Mapping[str, Any]) -> dict[str, float]:
    unknown = sorted(set(allocation) - set(SECTIONS))
    if unknown:
        raise UsageError(
            f"policy {policy!r}: unknown section {unknown[0]!r}; "
            f"the sections are {', '.join(SECTIONS)}"
        )
    shares: dict[str, float] = {}
    for key in SECTIONS:
        value = allocation.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise UsageError(
                f"policy {policy!r}: the share of {key} must be a number from 0 to 1, got {value!r}"
            )
        shares[key] = float(value)
    total = sum(shares.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise UsageError(
            f"policy {policy!r}: shares sum to {total:.3f}; they must sum to 1 (within 0.01)"
        )
    return {key: value / total for key, value in shares.items()}


def _policy(mode: AttentionMode, description: str, **shares: float) -> AttentionPolicy:
    return AttentionPolicy(name=mode.value, mode=mode, description=description, allocation=shares)


# Why these numbers: each mode funds what that kind of work reads most. Observations include the
# unresolved errors, so debugging's large share is where error text lands; the goal share also
# pays for the task checklist recited at the end.
POLICIES: dict[AttentionMode, AttentionPolicy] = {
    AttentionMode.CODING: _policy(
        AttentionMode.CODING,
        "Writing code: artifacts and memories first",
        goal=0.15,
        memories=0.25,
        observations=0.20,
        artifacts=0.25,
        strategy=0.10,
        system=0.05,
    ),
    AttentionMode.DEBUGGING: _policy(
        AttentionMode.DEBUGGING,
        "Fixing failures: recent observations and errors first",
        goal=0.10,
        memories=0.15,
        observations=0.45,
        artifacts=0.15,
        strategy=0.10,
        system=0.05,
    ),
    AttentionMode.EXPLORING: _policy(
        AttentionMode.EXPLORING,
        "Understanding a system: long-term memories first",
        goal=0.10,
        memories=0.45,
        observations=0.15,
        artifacts=0.20,
        strategy=0.05,
        system=0.05,
    ),
    AttentionMode.PLANNING: _policy(
        AttentionMode.PLANNING,
        "Deciding what to do: goal, strategy and decisions first",
        goal=0.25,
        memories=0.30,
        observations=0.10,
        artifacts=0.05,
        strategy=0.25,
        system=0.05,
    ),
    AttentionMode.BALANCED: _policy(
        AttentionMode.BALANCED,
        "A bit of everything",
        goal=0.15,
        memories=0.30,
        observations=0.25,
        artifacts=0.15,
        strategy=0.10,
        system=0.05,
    ),
}


def load_policies(tables: Mapping[str, Any] | None) -> dict[str, AttentionPolicy]:
    """Custom policies from config: ``[policies.NAME]`` with an ``allocation`` table or the shares
    directly, plus optional ``description`` and ``mode`` (the built-in mode it resembles)."""
    out: dict[str, AttentionPolicy] = {}
    for name, table in sorted((tables or {}).items()):
        if not POLICY_NAME.fullmatch(name) or name == "auto":
            raise UsageError(
                f"invalid policy name {name!r}: a lower-case word such as security_audit"
            )
        if not isinstance(table, Mapping):
            raise UsageError(f"policy {name!r}: expected a table of shares")
        if "allocation" in table:
            shares = table["allocation"]
        else:
            shares = {k: v for k, v in table.items() if k not in ("description", "mode")}
        if not isinstance(shares, Mapping):
            raise UsageError(f"policy {name!r}: allocation must be a table of shares")
        base = str(table.get("mode", "balanced"))
        mode: AttentionMode | str = AttentionMode(base) if base in BUILT_IN else base
        out[name] = AttentionPolicy(
            name=name,
            mode=mode,
            description=str(table.get("description", "")),
            allocation=dict(shares),
        )
    return out


# Mode detection ---------------------------------------------------------------------------------


def score_modes(message: str) -> dict[str, float]:
    """Each built-in mode's evidence in ``message`` (0 when none); see intent.py."""
    from .intent import score_modes as scores

    return scores(message)


def detect_mode(message: str) -> AttentionMode | None:
    """The mode ``message`` asks for: its lead verb's intent first, then a question's kind,
    then the clear winner of the evidence; None when the signal is weak or tied (intent.py)."""
    from .intent import detect

    found = detect(message)
    return AttentionMode(found) if found else None


class AttentionManager:
    """The current attention mode, its policy, and optional automatic switching.

    ``maybe_switch_mode(message)`` switches to the mode a message clearly signals; after
    ``revert_after`` messages in a row without a signal it returns to ``default_mode``.
    """

    def __init__(
        self,
        default_mode: AttentionMode | str = AttentionMode.BALANCED,
        auto_detect: bool = True,
        custom_policies: Mapping[str, AttentionPolicy] | None = None,
        revert_after: int = 3,
    ) -> None:
        self._custom_policies: dict[str, AttentionPolicy] = dict(custom_policies or {})
        self.default_mode = self._check(default_mode)
        self.mode = self.default_mode
        self.auto_detect = auto_detect
        self.revert_after = revert_after
        self.switches: list[tuple[str, str]] = []  # (new mode, why), for transparency
        self._quiet = 0

    def modes(self) -> list[str]:
        return [m.value for m in AttentionMode] + sorted(set(self._custom_policies) - set(BUILT_IN))

    def resolve(self, mode: AttentionMode | str | None = None) -> str:
        """The name ``mode`` is known by (default: the current mode), or a UsageError."""
        return self._check(mode if mode is not None else self.mode)

    def _check(self, mode: AttentionMode | str) -> str:
        name = str(mode.value if isinstance(mode, AttentionMode) else mode).strip().lower()
        if name not in self.modes():
            raise UsageError(f"unknown mode {name!r}: use {', '.join(self.modes())} or auto")
        return name

    def policy(self, mode: AttentionMode | str | None = None) -> AttentionPolicy:
        """The policy for ``mode`` (default: the current one); custom ones win over built-ins."""
        name = self._check(mode if mode is not None else self.mode)
        if name in self._custom_policies:
            return self._custom_policies[name]
        return POLICIES[AttentionMode(name)]

    def set_mode(self, mode: AttentionMode | str, why: str = "set") -> str:
        name = self._check(mode)
        if name != self.mode:
            self.switches.append((name, why))
        self.mode = name
        self._quiet = 0
        return name

    def maybe_switch_mode(self, message: str) -> str:
        """Switch when ``message`` clearly signals another mode; returns the mode now in force."""
        if not self.auto_detect:
            return self.mode
        detected = detect_mode(message)
        if detected is not None:
            self._quiet = 0
            if detected.value != self.mode:
                self.switches.append((detected.value, "detected"))
                self.mode = detected.value
            return self.mode
        self._quiet += 1
        if self._quiet >= self.revert_after and self.mode != self.default_mode:
            self.switches.append((self.default_mode, "no signal, back to default"))
            self.mode = self.default_mode
        return self.mode

    def reset(self) -> str:
        return self.set_mode(self.default_mode, "reset")
