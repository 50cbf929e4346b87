"""Compression strategies for trimming a session log: ``none``, ``heuristic`` and ``hybrid``.

Guarantees, whatever the strategy:

* Nothing is silently discarded: a dropped acknowledgement is counted in a note item, a merged
  repeat keeps its count (``[repeated 3 times]``), a shortened tool output keeps its full text as
  an artifact referenced from the log (``#a12``). The raw log itself stays archived in the store.
* Decisions, errors, code, numbers, paths and identifiers are kept verbatim: only tool outputs
  are shortened, and two items merge only when they carry the same numbers and names.
* ``heuristic`` is deterministic and offline. ``hybrid`` runs the heuristic, then an external
  summariser command (text on stdin, redacted; summary on stdout, no shell, with a timeout) over
  the events no summary covers yet, never over an earlier summary; decisions and errors follow
  it verbatim. When the summariser fails the heuristic result is used and ``notice`` says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .models import SessionItem

STRATEGIES = ("none", "heuristic", "hybrid")
# Roles whose long text is output, shortened to its ends (the whole kept as an artifact). An
# observation's output is shortened like a tool's, but it is no tool run (see toolruns).
LONG_OUTPUT_ROLES = frozenset({"tool", "observation", "output", "command", "shell"})
VERBATIM_ROLES = frozenset({"decision", "error"})
HEAD_CHARS, TAIL_CHARS = 4000, 2000
ACK_ROLES = frozenset({"user", "assistant"})
# Words that make up an acknowledgement. Deliberately without "yes", "agreed" or "right": those
# answer a question, and the answer may be the decision itself.
_ACKS = "ok okay k kk thanks thank you thx ty got it cool nice great perfect awesome sounds good"
ACK_WORDS = frozenset(f"{_ACKS} lgtm noted understood makes sense much alright cheers".split())
# "will do" acknowledges; "do it" approves something, so "do" is no acknowledgement on its own.
ACK_PHRASES = ("will do",)
ACK_MAX_WORDS = 6
LONG_LINES = 40
LONG_CHARS = 2000
HEAD_LINES, TAIL_LINES = 12, 8
DUP_RATIO = 92.0
DUP_WINDOW = 20
REPEAT_MARK = re.compile(r"\n\[repeated \d+ times\]$")
# Tokens two items must share to count as repeats: numbers, paths, dotted or snake identifiers.
SALIENT = re.compile(r"\d+(?:[.:/-]\d+)*|[\w.-]*[/\\][\w./\\-]+|\w+(?:[._]\w+)+|`[^`]+`")
SUMMARY_PROMPT = (
    "Summarise this excerpt of a working session for the same team later. Keep every decision, "
    "name, date, number, path and identifier exactly as written. Be brief.\n\n"
)


@dataclass
class Compressed:
    """A compressed run of items and what was done to get there."""

    items: list[SessionItem]
    strategy: str
    dropped: int = 0
    merged: int = 0
    shortened: int = 0
    artifacts: list[str] = field(default_factory=list)
    notice: str | None = None


class SummarizerError(Exception):
    """The external summariser failed; the message says how, in one clause."""


_PUNCTUATION = re.compile(r"[^\w\s]")
_DIGIT = re.compile(r"\d")


def normalise(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def is_acknowledgement(item: SessionItem) -> bool:
    if item.role not in ACK_ROLES or len(item.content) > 80 or _DIGIT.search(item.content):
        return False  # a digit makes a word no acknowledgement is made of (see ACK_WORDS)
    text = normalise(item.content)
    for phrase in ACK_PHRASES:
        text = text.replace(phrase, "ok")
    words = text.split()
    return len(words) <= ACK_MAX_WORDS and all(w in ACK_WORDS for w in words)


def salient_tokens(text: str) -> frozenset[str]:
    return frozenset(SALIENT.findall(text))


def near_duplicate(a: str, b: str) -> bool:
    """Same wording (rapidfuzz ratio >= 92), the same words, the same numbers, paths and names.

    Why so strict: "owned by the billing team" and "owned by the mobile team" are 93% alike,
    and merging them would lose a fact. Only case, punctuation, word order and small words may
    differ.
    """
    if a == b:
        return True
    if min(len(a), len(b)) < 0.8 * max(len(a), len(b)):
        return False
    from rapidfuzz import fuzz

    # The cheap C comparison first; the word and regex scans only for pairs that look alike.
    if not fuzz.ratio(a, b, score_cutoff=DUP_RATIO):
        return False
    return content_words(a) == content_words(b) and salient_tokens(a) == salient_tokens(b)


def content_words(text: str) -> frozenset[str]:
    from .text import STOPWORDS, words

    return frozenset(w for w in words(text) if w not in STOPWORDS)


def shorten(text: str, ref: str) -> str:
    lines = text.splitlines()
    if len(lines) > HEAD_LINES + TAIL_LINES:
        omitted = len(lines) - HEAD_LINES - TAIL_LINES
        return "\n".join(
            [
                *lines[:HEAD_LINES],
                f"… [{omitted} lines omitted; full output: {ref}] …",
                *lines[-TAIL_LINES:],
            ]
        )
    omitted = len(text) - 1200
    return f"{text[:800]}\n… [{omitted} characters omitted; full output: {ref}] …\n{text[-400:]}"


def head_and_tail(text: str, ref: str, size: str) -> str:
    """A huge output's first and last lines (at most ``HEAD_CHARS`` and ``TAIL_CHARS``, cut at
    a line end where one is near) around a line naming the artifact that holds all of it."""
    head = text[:HEAD_CHARS]
    cut = head.rfind("\n")
    head = head[:cut] if cut > HEAD_CHARS // 2 else head
    tail = text[-TAIL_CHARS:]
    cut = tail.find("\n")
    tail = tail[cut + 1 :] if 0 <= cut < TAIL_CHARS // 2 else tail
    omitted = text.count("\n", len(head), len(text) - len(tail))
    return f"{head}\n… [{size} output, {omitted:,} lines omitted; full output: {ref}] …\n{tail}"


def _note(
    events: int, dropped: int, merged: int, shortened: int, refs: Sequence[str], upto: int
) -> SessionItem:
    parts = [f"{dropped} acknowledgements dropped"] if dropped else []
    if merged:
        parts.append(f"{merged} repeats merged")
    if shortened:
        parts.append(f"{shortened} long outputs shortened ({', '.join(refs[-10:])})")
    text = f"[compressed {events} earlier events: {'; '.join(parts)}; originals archived]"
    trim = {
        "events": events,
        "dropped": dropped,
        "merged": merged,
        "shortened": shortened,
        "artifacts": list(refs),
        "upto": upto,
    }
    return SessionItem(role="summary", content=text, meta={"trim": trim})


def heuristic(items: Sequence[SessionItem], save_artifact: Callable[[str, str], str]) -> Compressed:
    """Drop acknowledgements, merge repeats, shorten long tool outputs; keep everything else."""
    kept: list[SessionItem] = []
    repeats: dict[int, int] = {}
    totals = {"events": 0, "dropped": 0, "merged": 0, "shortened": 0}
    refs: list[str] = []
    new = {"dropped": 0, "merged": 0, "shortened": 0}
    covered = 0
    for item in items:
        trim = item.meta.get("trim") if item.role == "summary" else None
        if isinstance(trim, dict):  # an earlier note: fold its counts into the new one
            for key in totals:
                totals[key] += int(trim.get(key, 0))
            refs.extend(trim.get("artifacts", []))
            covered = max(covered, int(trim.get("upto", 0)))
    upto = covered
    for item in items:
        if item.role == "summary" and isinstance(item.meta.get("trim"), dict):
            continue
        if item.seq > covered:  # items kept by an earlier trim were counted by its note
            totals["events"] += 1
        upto = max(upto, item.seq)
        if is_acknowledgement(item):
            new["dropped"] += 1
            continue
        text = REPEAT_MARK.sub("", item.content)
        count = int(item.meta.get("repeats", 1))
        if item.role != "decision" and item.role != "summary":
            twin = next(
                (
                    k
                    for k in reversed(kept[-DUP_WINDOW:])
                    if k.role == item.role and near_duplicate(REPEAT_MARK.sub("", k.content), text)
                ),
                None,
            )
            if twin is not None:
                repeats[id(twin)] = repeats.get(id(twin), int(twin.meta.get("repeats", 1))) + count
                new["merged"] += 1
                continue
        copy = SessionItem(
            role=item.role,
            content=text,
            seq=item.seq,
            branch=item.branch,
            created_at=item.created_at,
            meta=dict(item.meta),
        )
        if (
            item.role in LONG_OUTPUT_ROLES
            and "artifact" not in item.meta
            and (text.count("\n") >= LONG_LINES or len(text) > LONG_CHARS)
        ):
            ref = save_artifact(f"session-{item.seq}-{item.role}", text)
            copy.content = shorten(text, ref)
            copy.meta["artifact"] = ref
            refs.append(ref)
            new["shortened"] += 1
        kept.append(copy)
    for item in kept:
        # The marker was stripped for comparison; put it back with the (maybe grown) count.
        count = repeats.get(id(item), int(item.meta.get("repeats", 1)))
        if count > 1:
            item.meta["repeats"] = count
            item.content += f"\n[repeated {count} times]"
    for key, value in new.items():
        totals[key] += value
    if totals["dropped"] or totals["merged"] or totals["shortened"]:
        kept.insert(
            0,
            _note(
                totals["events"],
                totals["dropped"],
                totals["merged"],
                totals["shortened"],
                refs,
                upto,
            ),
        )
    return Compressed(
        kept,
        "heuristic",
        new["dropped"],
        new["merged"],
        new["shortened"],
        refs[len(refs) - new["shortened"] :],
    )


def render(items: Sequence[SessionItem]) -> str:
    return "\n\n".join(f"{i.role}: {i.content}" for i in items)


def run_summarizer(command: str, text: str, timeout: float) -> str:
    """Run ``command`` (split like a shell would, but never through one) on ``text``."""
    import os
    import shlex
    import signal
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise SummarizerError(f"cannot parse the command: {exc}") from None
    if not argv:
        raise SummarizerError("the command is empty")
    try:
        # Own process group: on timeout we kill the whole group, so a wrapper script's children
        # cannot keep the pipes open and hang us.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise SummarizerError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(text.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SummarizerError(f"timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        raise SummarizerError(
            f"exited with status {proc.returncode}" + (f": {first[0]}" if first else "")
        )
    summary = out.decode("utf-8", "replace").strip()
    if not summary:
        raise SummarizerError("it printed nothing")
    return summary


def hybrid(
    items: Sequence[SessionItem],
    save_artifact: Callable[[str, str], str],
    command: str | None,
    timeout: float,
) -> Compressed:
    """The heuristic, then the summariser over its new events; decisions and errors verbatim.

    Never a summary of a summary: earlier summaries (a summariser's, a trim's note, a digest)
    are kept as they are, ahead of the new one, and only the events after them are sent. The
    text sent is redacted like a prompt (it leaves the machine).
    """
    base = heuristic(items, save_artifact)
    if not command:
        base.notice = (
            "no summarizer is configured (smartcontext config set summarizer "
            "'llm -m gpt-4o-mini'); used the heuristic strategy"
        )
        return base
    earlier = [i for i in items if i.role == "summary"]
    fresh = [i for i in base.items if i.role != "summary"]
    if not fresh:
        return base
    from .redaction import redact

    try:
        summary = run_summarizer(command, redact(SUMMARY_PROMPT + render(fresh)), timeout)
    except SummarizerError as exc:
        base.notice = f"summarizer {command!r} failed ({exc}); used the heuristic strategy"
        return base
    lines = [f"[summary of {len(fresh)} earlier events by {command}]", summary]
    verbatim = verbatim_lines(fresh)
    if verbatim:
        lines.append("Kept verbatim:")
        lines.extend(verbatim)
    meta = {"summarizer": command, "events": len(fresh), "artifacts": base.artifacts}
    item = SessionItem(role="summary", content="\n".join(lines), meta=meta)
    return Compressed(
        [*earlier, item], "hybrid", base.dropped, base.merged, base.shortened, base.artifacts
    )


def verbatim_lines(items: Sequence[SessionItem]) -> list[str]:
    """Decisions and errors as written: ``decision``/``error`` events whole, decision sentences
    of the conversation, and failing tool runs' headlines."""
    from .excerpts import DECISION, split
    from .toolruns import TOOL_ROLES, describe_run

    out = []
    for i in items:
        text = REPEAT_MARK.sub("", i.content).strip()
        if i.role in VERBATIM_ROLES:
            out.append(f"- {i.role}: {text}")
        elif i.role in TOOL_ROLES:
            label, failure, _ = describe_run(i.meta.get("command"), text, i.role)
            if failure:
                out.append(f"- error: {label}: {failure}")
        elif DECISION.search(text):
            out.extend(f"- {i.role}: {s}" for s in split(text) if DECISION.search(s))
    return out


def compress(
    items: Sequence[SessionItem],
    strategy: str,
    save_artifact: Callable[[str, str], str],
    command: str | None = None,
    timeout: float = 60.0,
) -> Compressed:
    if strategy == "none":
        return Compressed(list(items), "none")
    if strategy == "heuristic":
        return heuristic(items, save_artifact)
    if strategy == "hybrid":
        return hybrid(items, save_artifact, command, timeout)
    raise ValueError(f"unknown compression strategy {strategy!r}")
