"""Strategy evolution: domain heuristics, learned patterns, successes and failures, versioned.

Why: what an agent learns while working (this fix worked, that approach failed) is worth more
than a generic system prompt, but only if it is kept, ranked and shown within a small budget.

Guarantees:
- Every update (``init`` included) bumps ``version`` by one and appends one history record; the
  version never goes back, even when the strategy is re-initialised from another template.
- Adding an entry that is already there (ignoring case and spacing) does not duplicate it: it
  raises that entry's ``hits``, which is what ranks it higher.
- ``ranked_lines`` orders entries by a documented rule (see its docstring), deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clock import now
from .errors import NotFoundError, UsageError
from .storage.base import Storage

STRATEGY = "strategy"  # document "current"
HISTORY = "strategy_history"  # one document per update, keyed by the history counter
KINDS = {
    "add_heuristic": "heuristic",
    "add_pattern": "pattern",
    "record_success": "success",
    "record_failure": "failure",
}
LABELS = {"heuristic": "Heuristic", "pattern": "Pattern", "success": "Worked", "failure": "Avoid"}
MAX_ENTRY_CHARS = 1000
RECENT_FAILURES = 3

BUILTIN_TEMPLATES: dict[str, dict[str, Any]] = {
    "security_audit": {
        "domain": "security",
        "heuristics": [
            "Validate and normalise all input at the trust boundary, never deeper inside",
            "Use parameterised queries; never build SQL, shell or HTML by string concatenation",
            "Check authorisation on every request path, not only authentication",
            "Keep secrets out of code, logs and error messages",
            "Prefer maintained libraries for crypto, parsing and auth over hand-written code",
        ],
        "patterns": [
            "Auth errors often come from token expiry or clock skew",
            "Path traversal hides in file names taken from user input",
        ],
        "failure_modes": ["Trusting client-side validation as a security control"],
    },
    "debugging": {
        "domain": "debugging",
        "heuristics": [
            "Reproduce the failure with the smallest input before changing code",
            "Read the whole error message and the first frame in your own code",
            "Change one thing at a time and re-run the failing case",
            "Write a failing test first, then fix until it passes",
            "Question assumptions: print the actual values, do not infer them",
        ],
        "patterns": ["Intermittent failures usually mean shared state, ordering or timing"],
        "failure_modes": ["Fixing the symptom where it surfaced instead of where it started"],
    },
    "refactoring": {
        "domain": "refactoring",
        "heuristics": [
            "Have tests covering the behaviour before restructuring it",
            "Make one small behaviour-preserving step at a time and keep tests green",
            "Separate refactoring commits from behaviour changes",
            "Rename for clarity before extracting or moving code",
        ],
        "patterns": ["Duplicated conditionals usually point to a missing abstraction"],
        "failure_modes": ["Mixing a refactor with a feature so regressions cannot be bisected"],
    },
    "code_review": {
        "domain": "code review",
        "heuristics": [
            "Check correctness and edge cases before style",
            "Look for missing tests of the changed behaviour",
            "Check error handling: what happens on bad input, timeouts and partial failure",
            "Prefer concrete suggestions with a reason over vague objections",
        ],
        "patterns": ["Off-by-one and empty-collection cases hide in new loops and slices"],
        "failure_modes": ["Approving a change without running or reading its tests"],
    },
    "data_pipeline": {
        "domain": "data pipelines",
        "heuristics": [
            "Make every step idempotent so a rerun cannot duplicate data",
            "Validate schemas at ingestion and fail loudly on drift",
            "Keep raw input immutable; derive everything else from it",
            "Process in bounded batches and record progress for restart",
            "Make time zones explicit; store timestamps in UTC",
        ],
        "patterns": [
            "Row-count mismatches between steps usually come from joins on non-unique keys"
        ],
        "failure_modes": ["Silently dropping malformed rows instead of quarantining them"],
    },
}


@dataclass
class Strategy:
    """The current strategy. ``entries`` is the source of truth; the spec's lists are views."""

    domain: str
    template: str | None = None
    version: int = 1
    entries: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    updated_at: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    def texts(self, kind: str) -> list[str]:
        return [e["text"] for e in self.entries if e["kind"] == kind]

    @property
    def heuristics(self) -> list[str]:
        return self.texts("heuristic")

    @property
    def learned_patterns(self) -> list[str]:
        return self.texts("pattern")

    @property
    def failure_modes(self) -> list[str]:
        return self.texts("failure")

    @property
    def successes(self) -> list[str]:
        return self.texts("success")

    def to_dict(self, with_history: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "domain": self.domain,
            "template": self.template,
            "version": self.version,
            "heuristics": self.heuristics,
            "learned_patterns": self.learned_patterns,
            "failure_modes": self.failure_modes,
            "successes": self.successes,
            "entries": self.entries,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if with_history:
            data["history"] = self.history
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strategy:
        return cls(
            domain=data["domain"],
            template=data.get("template"),
            version=int(data["version"]),
            entries=list(data.get("entries") or []),
            created_at=data["created_at"],
            updated_at=data.get("updated_at") or data["created_at"],
        )


def templates(user: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Built-in templates overlaid with the user's ``[templates.NAME]`` config tables."""
    merged = dict(BUILTIN_TEMPLATES)
    for name, table in (user or {}).items():
        if not isinstance(table, dict):
            raise UsageError(f"config [templates.{name}] must be a table")
        merged[name] = table
    return merged


def _clean(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise UsageError("a strategy entry needs some text")
    if len(text) > MAX_ENTRY_CHARS:
        raise UsageError(f"a strategy entry is at most {MAX_ENTRY_CHARS} characters")
    return text


def _record(storage: Storage, version: int, kind: str, text: str) -> None:
    n = storage.next_counter("strategy_history")
    storage.put_doc(
        HISTORY, f"{n:08d}", {"version": version, "kind": kind, "text": text, "at": now()}
    )


def load(storage: Storage, with_history: bool = False) -> Strategy | None:
    doc = storage.get_doc(STRATEGY, "current")
    if doc is None:
        return None
    strategy = Strategy.from_dict(doc)
    if with_history:
        strategy.history = [d for _, d in storage.list_docs(HISTORY)]
    return strategy


def initialize(
    storage: Storage,
    domain: str | None,
    template: str | None,
    user_templates: dict[str, Any] | None,
    reset: bool = False,
) -> Strategy:
    """Start (or restart) the strategy from a template, or blank.

    Re-initialising keeps what was learned (entries not taken from a template) unless ``reset``:
    switching templates should not forget the fixes and failures of past work.
    """
    available = templates(user_templates)
    spec: dict[str, Any] = {}
    if template is not None:
        if template not in available:
            raise UsageError(
                f"unknown template {template!r}; choose one of {', '.join(sorted(available))}"
            )
        spec = available[template]
    domain = " ".join((domain or str(spec.get("domain") or template or "general")).split())
    stamp = now()
    entries: list[dict[str, Any]] = []
    for kind, keys in (
        ("heuristic", ("heuristics",)),
        ("pattern", ("patterns", "learned_patterns")),
        ("failure", ("failure_modes", "failures")),
        ("success", ("successes",)),
    ):
        for key in keys:
            for text in spec.get(key) or []:
                clean = _clean(str(text))
                if not any(e["kind"] == kind and _same(e["text"], clean) for e in entries):
                    entries.append(
                        {
                            "kind": kind,
                            "text": clean,
                            "hits": 1,
                            "source": f"template:{template}",
                            "version": 1,
                            "at": stamp,
                        }
                    )
    with storage.transaction():
        old = load(storage)
        version = old.version + 1 if old else 1
        for e in entries:
            e["version"] = version
        kept = [] if old is None or reset else old.entries
        for e in kept:
            if str(e.get("source", "")).startswith("template:"):
                continue
            if not any(n["kind"] == e["kind"] and _same(n["text"], e["text"]) for n in entries):
                entries.append(e)
        strategy = Strategy(
            domain=domain,
            template=template,
            version=version,
            entries=entries,
            created_at=stamp,
            updated_at=stamp,
        )
        storage.put_doc(STRATEGY, "current", strategy.to_dict())
        _record(
            storage,
            version,
            "init",
            f"domain={domain}"
            + (f" template={template}" if template else "")
            + (" reset" if reset and old else ""),
        )
    return strategy


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def update(storage: Storage, kind: str, text: str, source: str = "user") -> Strategy:
    """Apply one update: ``add_heuristic``, ``add_pattern``, ``record_success``, ``record_failure``.

    Without a strategy, a blank one (domain ``general``) is created first, so nothing learned is
    dropped for want of an ``init``.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown strategy update {kind!r}; use one of {', '.join(KINDS)}")
    entry_kind, clean = KINDS[kind], _clean(text)
    with storage.transaction():
        strategy = load(storage) or initialize(storage, "general", None, None)
        strategy.version += 1
        strategy.updated_at = now()
        existing = next(
            (e for e in strategy.entries if e["kind"] == entry_kind and _same(e["text"], clean)),
            None,
        )
        if existing is not None:
            existing["hits"] = int(existing.get("hits", 1)) + 1
            existing["last_version"] = strategy.version
        else:
            strategy.entries.append(
                {
                    "kind": entry_kind,
                    "text": clean,
                    "hits": 1,
                    "source": source,
                    "version": strategy.version,
                    "at": strategy.updated_at,
                }
            )
        storage.put_doc(STRATEGY, "current", strategy.to_dict())
        _record(storage, strategy.version, kind, clean)
    return strategy


def history(storage: Storage) -> list[dict[str, Any]]:
    if storage.get_doc(STRATEGY, "current") is None:
        raise NotFoundError("no strategy yet: start one with `smartcontext strategy init`")
    return [d for _, d in storage.list_docs(HISTORY)]


def ranked(strategy: Strategy) -> list[dict[str, Any]]:
    """Entries most useful first. The rule, tier by tier:

    1. patterns with evidence (confirmed more than once, or learned from a resolved error),
       most hits first, then newest;
    2. the ``RECENT_FAILURES`` newest failures: the mistakes most likely to be repeated now;
    3. heuristics, in the order they were added (templates list their most important first);
    4. other patterns, newest first;
    5. successes, most hits then newest first;
    6. older failures, newest first.
    """

    def last(e: dict[str, Any]) -> int:
        return int(e.get("last_version", e["version"]))

    entries = strategy.entries
    evidenced = [
        e
        for e in entries
        if e["kind"] == "pattern" and (e["hits"] > 1 or e["source"] == "resolution")
    ]
    evidenced.sort(key=lambda e: (e["hits"], last(e)), reverse=True)
    failures = sorted((e for e in entries if e["kind"] == "failure"), key=last, reverse=True)
    others = sorted(
        (e for e in entries if e["kind"] == "pattern" and e not in evidenced),
        key=last,
        reverse=True,
    )
    successes = sorted(
        (e for e in entries if e["kind"] == "success"),
        key=lambda e: (e["hits"], last(e)),
        reverse=True,
    )
    heuristics = [e for e in entries if e["kind"] == "heuristic"]
    return [
        *evidenced,
        *failures[:RECENT_FAILURES],
        *heuristics,
        *others,
        *successes,
        *failures[RECENT_FAILURES:],
    ]


def ranked_lines(strategy: Strategy | None) -> list[str]:
    if strategy is None:
        return []
    return [f"{LABELS[e['kind']]}: {e['text']}" for e in ranked(strategy)]
