"""Secret redaction: credentials never reach a compiled prompt.

People paste tokens into notes, tool output carries connection strings, and a prompt may leave
the machine for a provider. So every text the compiler receives passes ``redact`` first: a known
credential shape is replaced by ``[REDACTED:<kind>]``. The store keeps what was written (it is
the user's own, private file); only prompts are cleaned. Patterns are specific (prefixes such as
``AKIA``, ``ghp_``, ``sk-``; key blocks; ``password=`` assignments), so ids, hashes and UUIDs
pass through untouched. Deterministic, so a redacted prompt is as cache-stable as any other.

Why the triggers: each rule needs some literal text to match (``AKIA``, ``sk-``, ``://``...), and
looking for a few substrings is far cheaper than running eleven regexes, most of which start
with ``\\b`` and so try every position. A rule runs only when its literal is present, which
cannot change the result (tests/test_redaction.py checks it, case-insensitive rules included:
their literals are looked for after the case folding ``re`` itself applies).

A private key block whose end is missing (a text cut short, or pasted in part) is redacted to
the end of the text: so a prefix of a text is never less redacted than the whole would be.
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
    ("private key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*\Z", 0),
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


class _Rule:
    """A rule whose regex is compiled on first use: most texts never need most rules, and a cold
    compile would otherwise pay for a dozen regex compilations at import."""

    def __init__(self, kind: str, pattern: str, group: int) -> None:
        self.kind, self.source, self.group = kind, pattern, group
        self._pattern: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(self.source)
        return self._pattern


_COMPILED = [_Rule(kind, pattern, group) for kind, pattern, group in _RULES]
_ALREADY = re.compile(r"\[REDACTED:[a-z ]+\]")
# Per rule, in _RULES order: substrings one of which every match contains; whether they are
# looked for in the case-folded text (the rule is case-insensitive) or as they are; and
# characters one of which every match also contains ("" when none is needed).
_TRIGGERS: list[tuple[tuple[str, ...], bool, str]] = [
    (("-----BEGIN",), False, ""),
    (("-----BEGIN",), False, ""),
    (("AKIA", "ASIA"), False, ""),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), False, ""),
    (("sk-",), False, ""),
    (("xox",), False, ""),
    (("k_live_", "k_test_"), False, ""),
    (("AIza",), False, ""),
    (("eyJ",), False, ""),
    (("bearer",), True, ""),
    (("://",), False, "@"),
    (("pass", "pwd", "secret", "key", "token"), True, ":="),
]
# Why these: under re.IGNORECASE a few characters match an ASCII letter that str.lower() does
# not turn into it (sre's equivalence table): dotless i and long s (the Kelvin sign lowers to k).
_FOLD = (("\u0131", "i"), ("\u017f", "s"))


def folded(text: str) -> str:
    """``text`` case-folded as ``re.IGNORECASE`` compares ASCII letters."""
    low = text.lower()
    for odd, plain in _FOLD:
        if odd in low:
            low = low.replace(odd, plain)
    return low


def _rules(text: str) -> list[_Rule]:
    """The rules whose literals are in ``text``: no other rule can match it."""
    low: str | None = None
    out = []
    for rule, (needles, fold, chars) in zip(_COMPILED, _TRIGGERS, strict=True):
        if chars and not any(ch in text for ch in chars):
            continue
        if fold and low is None:
            low = folded(text)
        haystack = low if fold else text
        for needle in needles:
            if needle in haystack:  # type: ignore[operator]
                out.append(rule)
                break
    return out


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
    for rule in _rules(text):
        kind, pattern, group = rule.kind, rule.pattern, rule.group

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
