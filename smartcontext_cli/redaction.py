"""Secret redaction: credentials never reach a compiled prompt.

People paste tokens into notes, tool output carries connection strings, and a prompt may leave
the machine for a provider. So every text the compiler receives passes ``redact`` first: a known
credential shape is replaced by ``[REDACTED:<kind>]``. The store keeps what was written (it is
the user's own, private file); only prompts are cleaned. Patterns are specific (prefixes such as
``AKIA``, ``ghp_``, ``sk-``; key blocks; ``password=`` assignments), so ids, hashes and UUIDs
pass through untouched. Deterministic, so a redacted prompt is as cache-stable as any other.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# (kind, pattern, group to replace: 0 = the whole match). Order matters: the specific shapes
# first, so a GitHub token inside "token=ghp_..." is named for what it is.
_RULES: list[tuple[str, str, int]] = [
    (
        "private key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?"
        r"-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
        0,
    ),
    ("aws access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    ("github token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b", 0),
    ("api key", r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", 0),
    ("slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),
    ("stripe key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b", 0),
    ("google api key", r"\bAIza[0-9A-Za-z_-]{35}\b", 0),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0),
    ("bearer token", r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)", 1),
    ("url password", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@", 1),
    (
        "password",
        r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token"
        r"|client[_-]?secret|private[_-]?key)\b[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{6,})",
        1,
    ),
]
_COMPILED = [(kind, re.compile(pattern), group) for kind, pattern, group in _RULES]
_ALREADY = re.compile(r"\[REDACTED:[a-z ]+\]")


@dataclass
class Redactions:
    """What was removed, by kind (never the secrets themselves)."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return f"redacted {self.total} secret{'s' if self.total != 1 else ''} ({kinds})"


def redact(text: str, found: Redactions | None = None) -> str:
    """``text`` with every recognised credential replaced by ``[REDACTED:<kind>]``."""
    if not text:
        return text
    for kind, pattern, group in _COMPILED:

        def replace(match: re.Match[str], kind: str = kind, group: int = group) -> str:
            secret = match.group(group)
            if _ALREADY.fullmatch(secret):
                return match.group(0)
            if found is not None:
                found.counts[kind] += 1
            start, end = match.span(group)
            whole_start = match.start(0)
            whole = match.group(0)
            return whole[: start - whole_start] + f"[REDACTED:{kind}]" + whole[end - whole_start :]

        text = pattern.sub(replace, text)
    return text
