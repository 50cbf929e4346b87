"""The extractive part of a digest: which sentences of a conversation carry the most.

Why extractive: a compacted log must still answer "who, what, when, which number" about what
was said, in the words that were said. So compaction keeps sentences, never rewrites them, and
chooses them by what they carry, never by position:

* Each sentence's *information* is the sum, over its content words (stemmed, stopwords aside),
  of how rare the word is across the session's events (inverse document frequency: a word in
  one event of three hundred weighs about five times one in every other event). A word counts
  once in the whole digest, and words of the events that stay verbatim count as already said,
  so the digest complements the recent log instead of repeating it.
* That sum is weighted by what the sentence is: a decision (x2), a preference (x1.8), a
  correction ("actually", "I meant", "no longer"; x1.5), a question later answered by someone
  else (x1), an unanswered one (x0.5), an assistant narrating its own next step ("I'll", "let
  me"; x0.6); and by who said it: the user's words weigh twice (x2) the others', since the user
  states the facts, constraints and preferences that the other side mostly explains. Pairs of
  adjacent words count a quarter of a word, so "April 28" is news where "April" and "28" were
  each said before.
* Sentences are taken greedily by information per token (a submodular coverage, lazily
  re-evaluated), while the digest stays within its token budget and a sentence still carries
  at least ``MIN_DENSITY`` per token. Greetings, thanks, acknowledgements and sign-offs are
  never candidates.

A kept sentence is the event's own text: only surrounding whitespace and a leading list or
heading marker (``- ``, ``### ``, ``1. ``) are left out, and a sentence over ``MAX_CHARS`` is cut
at a word with ``…``. It keeps its event's sequence number, speaker and time. Deterministic;
``O(n log n)`` in the number of sentences.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .stemmer import stem
from .text import STOPWORDS, contains_any, words

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(\[*_])|\n+")
CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)  # code is archived, not a sentence
MARKER = re.compile(r"^(?:#{1,6}\s+|[-*+•]\s+|>\s*|\d{1,3}[.)]\s+)+")
MARKER_START = frozenset("#-*+•>0123456789")
MAX_CHARS = 500
MIN_CHARS = 12
# Information per token below which a sentence is not worth its tokens: it repeats what was
# kept. The weights here were tuned on BEAM conversations 1-10 and the scripted fixture only
# (README, "Compaction", has the held-out figures on conversations 11-20).
MIN_DENSITY = 0.05
# The tokens a kept event costs beyond its sentences: "- [123] 10:02 assistant: ".
EVENT_OVERHEAD = 9
CHARS_PER_TOKEN = 4.0
PAIR_WEIGHT = 0.25

DECISION = re.compile(
    r"\b(?:(?:we|i)(?:'ve| have)? decided|decided to|decision:|let's (?:go with|use|stick with)|"
    r"(?:we|i)(?:'ll| will) (?:go with|stick with)|(?:we're|i'm) going with|agreed (?:to|on)|"
    r"settled on|(?:we|i) chose|chose to|(?:we|i)(?:'ve| have) chosen)\b",
    re.I,
)
PREFERENCE = re.compile(
    r"\b(?:i|we) (?:prefer|always|never|don't like|do not like|'d rather|would rather)\b"
    r"|\bplease (?:always|never)\b|\bi(?:'d| would) prefer\b",
    re.I,
)
CORRECTION = re.compile(
    r"\b(?:actually|correction|i meant|to clarify|scratch that|i was wrong|no longer|"
    r"not anymore|instead of|rather than|changed (?:it |that )?to|update:|turns out)\b",
    re.I,
)
NARRATION = re.compile(
    r"^(?:i'll|i will|i'm going to|let me|let's (?:start|begin|dive|break|walk|take|look)|"
    r"now,? |next,? |first,? |then |here's|here is|below is)",
    re.I,
)
SOCIAL_WORDS = frozenset(
    """hi hello hey morning evening afternoon good thanks thank thx ty you so much very really
    again ok okay k sure certainly absolutely course of great awesome perfect nice cool wow yes
    yep yeah yay glad happy welcome no problem np cheers bye see later take care lgtm noted
    understood got it sounds makes sense appreciate appreciated that this help helpful helps
    hope all the a for your me lot lots tons amazing wonderful fantastic excellent brilliant
    indeed alright right oh ah haha lol congrats congratulations well done question love
    totally definitely exactly agreed interesting""".split()  # noqa: SIM905 - a word block
)
SOCIAL_START = re.compile(
    r"^(?:thanks|thank you|thx|many thanks|cheers|great question|good question|"
    r"you're welcome|glad (?:i could|to|you)|happy to help|no problem|"
    r"(?:i )?hope (?:this|that|it) helps|let me know if|feel free to|don't hesitate|"
    r"if you have any (?:other |more |further )?questions|happy coding|good luck|"
    r"have a (?:great|good|nice)|see you|talk (?:to you )?soon)\b",
    re.I,
)
SOCIAL_MAX_WORDS = 14
# Fact markers, split by the character each needs, so most sentences cost a few substring checks.
NUMERIC = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|\b\d{4}-\d\d-\d\d\b"
    r"|\b\d[\d,.]*\s*(?:%|[a-z]{2,}\b)|\bport \d+|\bv?\d+\.\d+(?:\.\d+)?\b",
    re.I,
)
PATHLIKE = re.compile(
    r"(?<![\w/])/[\w.-]+/[\w./-]+|\b[\w-]+\.(?:ya?ml|json|toml|ini|cfg|env|sql|py|md)\b"
)
ADDRESS = re.compile(r"https?://\S+|\b[\w.+-]+@[\w-]+\.\w+")
WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)
IDENTIFIER = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\b[a-z]+[A-Z]\w*\b|`[^`\n]+`")
NAME = re.compile(r"(?:(?<=\w )|(?<=\w[,:;] ))[A-Z][a-z]+(?:[A-Z0-9][A-Za-z0-9]*)?\b")
RELATION = re.compile(
    r"\b(?:owned|maintained|run|managed|operated|hosted|provided|approved|reviewed) by\b"
    r"|\b(?:owns|maintains|is responsible for|in charge of|depends on|runs on|is hosted on|"
    r"is deployed (?:to|on)|belongs to|is our (?:only|main|primary|preferred))\b",
    re.I,
)
DIGIT = re.compile(r"\d")
# Substrings one of DECISION, PREFERENCE or CORRECTION needs: checked first, they skip all
# three for most sentences (the speed target: 10,000 events compacted in a second; a regex
# alternation of these words is ten times slower than ``in``).
HINTS = (
    "decid",
    "decision",
    "let's",
    "go with",
    "stick with",
    "going with",
    "agreed",
    "settled",
    "chose",
    "prefer",
    "always",
    "never",
    "like",
    "rather",
    "actually",
    "correction",
    "meant",
    "clarify",
    "scratch",
    "wrong",
    "longer",
    "anymore",
    "instead",
    "changed",
    "update:",
    "turns out",
)
RELATION_HINTS = (
    " by ",
    "owns",
    "maintains",
    "responsible",
    "charge",
    "depends",
    "runs on",
    "hosted",
    "deployed",
    "belongs",
    "is our",
)

WEIGHTS = {
    "decision": 2.0,
    "preference": 1.8,
    "correction": 1.5,
    "statement": 1.0,
    "answered": 1.0,
    "question": 0.5,
    "narration": 0.6,
}

ROLE_WEIGHTS = {"user": 2.0}


def split(text: str) -> list[str]:
    """The event's sentences, verbatim, code blocks left out."""
    if "```" in text:
        text = CODE_BLOCK.sub("\n", text)
    out = []
    for raw in SENTENCE.split(text):
        sentence = raw.strip() if raw else ""
        if sentence and sentence[0] in MARKER_START:
            sentence = MARKER.sub("", sentence).strip()
        if len(sentence) > MAX_CHARS:
            cut = sentence.rfind(" ", 0, MAX_CHARS - 1)
            sentence = sentence[: cut if cut > MAX_CHARS // 2 else MAX_CHARS - 1] + "…"
        if sentence:
            out.append(sentence)
    return out


def is_social(sentence: str) -> bool:
    """Greetings, thanks, acknowledgements, sign-offs ("Wow, Caroline!", "Hope this helps!")."""
    ws = sentence.split()
    if not ws or len(ws) > SOCIAL_MAX_WORDS or DIGIT.search(sentence):
        return False
    if SOCIAL_START.match(sentence) and not IDENTIFIER.search(sentence):
        return True
    if len(ws) > 8:
        return False
    other = [w for w in ws if (p := w.strip(".,;:!?()\"'…-—").lower()) and p not in SOCIAL_WORDS]
    # Social words only, or with one more that is a name addressed ("Thanks, Mel!").
    return not other or (len(other) == 1 and len(ws) > 1 and other[0][:1].isupper())


def is_fact(sentence: str) -> bool:
    """A sentence with a fact marker: a date, quantity, version, path, address, name, owner."""
    if len(sentence) < MIN_CHARS or sentence.endswith("?"):
        return False
    # Cheap substring and character checks guard each regex: most sentences need none of them.
    return bool(
        (DIGIT.search(sentence) and NUMERIC.search(sentence))
        or (("/" in sentence or "." in sentence) and PATHLIKE.search(sentence))
        or (("://" in sentence or "@" in sentence) and ADDRESS.search(sentence))
        or ("day" in sentence and WEEKDAY.search(sentence))
        or (("_" in sentence or "`" in sentence or not sentence.islower()) and _marked(sentence))
    )


def _marked(sentence: str) -> bool:
    low = sentence.lower()
    return bool(
        IDENTIFIER.search(sentence)
        or (any(w[:1].isupper() for w in sentence.split()[1:]) and NAME.search(sentence))
        or (contains_any(low, RELATION_HINTS) and RELATION.search(sentence))
    )


def kind_of(sentence: str, role: str, answered: bool) -> str:
    """What a sentence is, for its weight and for where the digest puts it."""
    low = sentence.lower()
    hinted = contains_any(low, HINTS)
    if hinted and DECISION.search(sentence):
        return "decision"
    if hinted and PREFERENCE.search(sentence):
        return "preference"
    if sentence.endswith("?"):
        return "answered" if answered else "question"
    if hinted and CORRECTION.search(sentence):
        return "correction"
    if role == "assistant" and NARRATION.match(sentence):
        return "narration"
    return "statement"


class _Stems(dict[str, str]):
    """word -> stem, or "" for a word that is no content word (a stopword, a lone letter); a
    plain dict lookup is twice as fast as ``stem``'s lru_cache."""

    def __missing__(self, word: str) -> str:
        if len(self) > 100_000:
            self.clear()
        content = word not in STOPWORDS and (len(word) > 1 or word.isdigit())
        value = self[word] = stem(word) if content else ""
        return value


_stems = _Stems()


def terms_of(sentence: str) -> frozenset[str]:
    """Content words (stemmed) and pairs of adjacent ones ("april 28", "owned platform"): a
    pair is new information even when both its words were said elsewhere."""
    stems = [s for s in map(_stems.__getitem__, words(sentence)) if s]
    out = set(stems)
    out.update([f"{a} {b}" for a, b in itertools.pairwise(stems)])
    return frozenset(out)


@dataclass
class Unit:
    """One candidate sentence of one event."""

    seq: int
    role: str
    at: str
    pos: int
    text: str
    kind: str
    terms: frozenset[str] = field(default_factory=frozenset)

    @property
    def cost(self) -> float:
        return len(self.text) / CHARS_PER_TOKEN + 1


Analysis = tuple[str, frozenset[str]] | None  # (kind, terms), None for a social sentence


def units_of(
    seq: int,
    role: str,
    at: str,
    text: str,
    answered: bool,
    skip: Iterable[str] = (),
    seen: dict[tuple[str, str], Analysis] | None = None,
) -> list[Unit]:
    """An event's candidate sentences: every sentence but social ones and those in ``skip``.

    ``seen`` caches the analysis of sentences already met (logs repeat themselves: "Done.",
    "Let me run the tests." a thousand times), keyed by role and text.
    """
    skipped = set(skip)
    seen = {} if seen is None else seen
    out = []
    for pos, sentence in enumerate(split(text)):
        if (len(sentence) < MIN_CHARS and not DIGIT.search(sentence)) or sentence in skipped:
            continue
        key = (role, sentence)
        if key not in seen:
            social = is_social(sentence)
            seen[key] = None if social else (kind_of(sentence, role, True), terms_of(sentence))
        analysis = seen[key]
        if analysis is None:
            continue
        kind, terms = analysis
        if kind == "answered" and not answered:
            kind = "question"
        out.append(Unit(seq, role, at, pos, sentence, kind, terms))
    return out


def select(
    units: Sequence[Unit], budget: float, context: Iterable[str] = (), events: int | None = None
) -> list[Unit]:
    """The units worth keeping within ``budget`` tokens, in log order.

    ``context`` are texts that stay verbatim anyway (the recent events): their words count as
    already said, and in how rare a word is. ``events`` is how many events the rarity is
    measured over (default: the events the units come from, plus the context).
    """
    per_event: dict[int, set[str]] = {}
    for u in units:
        terms = per_event.get(u.seq)
        if terms is None:
            per_event[u.seq] = set(u.terms)
        else:
            terms.update(u.terms)
    contexts = [terms_of(text) for text in context]
    # Counting in C (Counter over a chain): the per-term Python loop was a tenth of compacting.
    df = Counter(itertools.chain.from_iterable(itertools.chain(per_event.values(), contexts)))
    covered: set[str] = set().union(*contexts)
    n = (events or len(per_event)) + len(contexts)
    idf = {t: math.log((n + 1) / d) * (PAIR_WEIGHT if " " in t else 1.0) for t, d in df.items()}
    weight = idf.__getitem__

    # A sentence said again adds nothing the first saying did not: only the first is a candidate.
    first: dict[str, int] = {}
    for i, u in enumerate(units):
        first.setdefault(u.text, i)
    candidates = sorted(first.values())
    mults = {i: WEIGHTS[units[i].kind] * ROLE_WEIGHTS.get(units[i].role, 1.0) for i in candidates}
    costs = {i: units[i].cost for i in candidates}

    def gain(i: int) -> float:
        # Covered terms never count again (a set difference, in C).
        return mults[i] * sum(map(weight, units[i].terms.difference(covered)))

    heap = [(-gain(i) / costs[i], i) for i in candidates]
    heapq.heapify(heap)
    chosen: list[int] = []
    used: set[int] = set()
    spent = 0.0
    cheapest = min(costs.values(), default=0.0)
    # Past the point where not even the cheapest sentence fits, nothing more can be taken.
    while heap and budget - spent >= cheapest:
        _, i = heapq.heappop(heap)
        u = units[i]
        g = gain(i)
        cost = costs[i] + (0 if u.seq in used else EVENT_OVERHEAD)
        # Stored densities are upper bounds (gains only shrink); take u only if it still beats
        # the best bound left, else put it back with its true value.
        if g / costs[i] < MIN_DENSITY:
            continue  # gains only shrink: it will never reach the floor again
        if heap and g / costs[i] < -heap[0][0]:
            heapq.heappush(heap, (-g / costs[i], i))
            continue
        if g / cost < MIN_DENSITY:
            continue
        if spent + cost > budget:
            continue
        chosen.append(i)
        used.add(u.seq)
        covered.update(u.terms)
        spent += cost
    return sorted((units[i] for i in chosen), key=lambda u: (u.seq, u.pos))


def join(units: Sequence[Unit]) -> str:
    """One event's kept sentences: adjacent ones by a space, gaps marked by `` … ``."""
    parts: list[str] = []
    last = None
    for u in units:
        if last is not None:
            parts.append(" " if u.pos == last + 1 else " … ")
        parts.append(u.text)
        last = u.pos
    return "".join(parts)
