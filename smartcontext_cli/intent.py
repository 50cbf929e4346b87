"""Mode detection: which attention mode a goal or a message asks for.

Why intent first: what a sentence asks for is said by its verb, not by its topic. "Add a crash
reporter to the mobile app" is feature work although it names a failure; "Explain the error
handling" is exploring. So the detector reads, in this order:

1. the lead verb, after fillers ("please", "let's", "we need to", "help me"): an imperative goal
   puts its intent there ("Fix ...", "Add ...", "Plan ...", "Explore ..."). Generic making verbs
   (write, create, make, prepare) take the mode of a planning or exploring artefact they make
   ("Write a roadmap ..." is planning); verbs that only say "find out" (investigate, look into,
   check) decide nothing by themselves;
2. a question: "why" with a failure or a negation is debugging ("Why does the export fail?"),
   otherwise exploring; "how/what/where/which ..." is exploring unless it asks how to do
   something ("How do I fix ...");
3. otherwise, evidence from anywhere in the text: intent verbs weigh more than topic words
   (crash, error, traceback for debugging; endpoint, test for coding; overview for exploring;
   milestone, roadmap for planning). The clear winner is used; a weak signal or a tie gives
   None, so "ok thanks" changes nothing.

Words are folded and Porter-stemmed (text.py): "failing", "failed" and "fails" are all "fail";
matching is on whole stems, never substrings, so "prefix" is not "fix" and "planet" not "plan".
Judged on tests/fixtures/mode_goals.py (README, *Attention modes*), part of it held out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import pairwise

CODING, DEBUGGING, EXPLORING, PLANNING = "coding", "debugging", "exploring", "planning"

# The lexicons are written as words and stemmed once, on first use (``_lexicon``).
# Lead verbs that state the intent.
INTENT_WORDS: dict[str, str] = {
    CODING: "add implement build refactor support rename integrate extend port introduce expose "
    "generate convert optimize optimise upgrade remove delete replace enable allow ship wire "
    "rewrite instrument automate",
    DEBUGGING: "fix debug diagnose repair resolve troubleshoot reproduce patch",
    EXPLORING: "explore understand learn explain read survey research study map describe "
    "summarize summarise review inspect compare walk",
    PLANNING: "plan design decide propose outline prioritize prioritise estimate scope evaluate "
    "choose assess brainstorm roadmap",
}
# Two-word leads: the first word alone means something else ("break" is not planning).
PHRASE_WORDS = {"break down": PLANNING, "set up": CODING, "clean up": CODING, "speed up": CODING}
# Making verbs take the mode of what they make: coding, unless it is an artefact of planning or
# exploring ("Write a roadmap ...").
MAKER_WORDS = "write create make prepare produce put"
ARTEFACT_WORDS = {
    PLANNING: "roadmap plan proposal design spec rfc strategy estimate outline milestone timeline "
    "schedule priorities",
    EXPLORING: "summary overview explanation",
}
# Leads that ask to find something out without saying what for: the rest of the text decides.
SEEKER_WORDS = "investigate look check find figure see"
FILLER_WORDS = (
    "please let lets s we i you need needs want can could would should must help me us now then "
    "first next so ok okay also and just try go ahead todo task goal kindly quickly"
)
QUESTION_WORDS = "how what where which who when why"
AUXILIARY_WORDS = "do does can could should would shall to will"
PRONOUN_WORDS = "i we you one"
NEGATION_WORDS = "not never no cannot t"

# Topic words (and a few two-word phrases), weighted: evidence when no intent is stated.
TOPICS: dict[str, dict[str, float]] = {
    DEBUGGING: {
        "bug": 2,
        "traceback": 2,
        "except": 2,
        "crash": 2,
        "segfault": 2,
        "stack trace": 2,
        "error": 1.5,
        "fail": 1.5,
        "broken": 1.5,
        "regress": 1.5,
        "panic": 1.5,
        "not work": 1.5,
        "hang": 1.5,
        "wrong": 1.5,
        "leak": 1.5,
        "slow": 1.5,
        "flaki": 1,
        "timeout": 1,
        "time out": 1,
    },
    # Why not "test": a failing test is as much a debugging word (and a lead verb such as
    # "add tests" already says coding).
    CODING: {
        "featur": 1.5,
        "code": 1,
        "function": 1,
        "class": 1,
        "endpoint": 1,
        "modul": 1,
        "method": 1,
        "migrat": 1,
    },
    EXPLORING: {
        "overview": 1.5,
        "how doe": 1.5,
        "what is": 1,
        "why": 1,
        "where": 1,
    },
    PLANNING: {
        "architectur": 2,
        "roadmap": 2,
        "mileston": 2,
        "strategi": 1.5,
        "tradeoff": 1.5,
        "trade off": 1.5,
        "approach": 1,
        "spec": 1,
    },
}
# An intent verb past the lead ("... after upgrading pandas") often sits in a subordinate
# clause: it counts as much as a weak topic word, no more.
INTENT_WEIGHT = 1.0
MIN_SCORE = 1.5  # one strong word, or two weak ones
MAX_HITS_PER_SIGNAL = 2  # repeating a word does not drown out the rest of the message
LEAD_SKIP = 5  # fillers skipped before the lead verb


@dataclass(frozen=True)
class _Lexicon:
    intents: dict[str, frozenset[str]]
    phrases: dict[str, str]
    makers: frozenset[str]
    artefacts: dict[str, frozenset[str]]
    seekers: frozenset[str]
    fillers: frozenset[str]
    questions: frozenset[str]
    auxiliaries: frozenset[str]
    pronouns: frozenset[str]
    negations: frozenset[str]
    why: str


@cache
def _lexicon() -> _Lexicon:
    from .text import terms

    def stems(words: str) -> frozenset[str]:
        return frozenset(terms(words))

    return _Lexicon(
        intents={mode: stems(words) for mode, words in INTENT_WORDS.items()},
        phrases={" ".join(terms(p)): mode for p, mode in PHRASE_WORDS.items()},
        makers=stems(MAKER_WORDS),
        artefacts={mode: stems(words) for mode, words in ARTEFACT_WORDS.items()},
        seekers=stems(SEEKER_WORDS),
        fillers=stems(FILLER_WORDS),
        questions=stems(QUESTION_WORDS),
        auxiliaries=stems(AUXILIARY_WORDS),
        pronouns=stems(PRONOUN_WORDS),
        negations=stems(NEGATION_WORDS),
        why=terms("why")[0],
    )


def _stems(message: str) -> list[str]:
    from .text import terms

    return terms(message)


def _intent_of(stem: str, lex: _Lexicon) -> str | None:
    for mode, verbs in lex.intents.items():
        if stem in verbs:
            return mode
    return None


def _made(stems: list[str], start: int, lex: _Lexicon) -> str:
    """The mode of what a making verb at ``start`` makes: an artefact in the next words."""
    for stem in stems[start + 1 : start + 5]:
        for mode, nouns in lex.artefacts.items():
            if stem in nouns:
                return mode
    return CODING


def _failing(stems: list[str], lex: _Lexicon) -> bool:
    """A failure word or a negation: "why ... not invalidated" asks about a fault."""
    topics = TOPICS[DEBUGGING]
    return any(s in lex.negations or s in topics for s in stems) or any(
        f"{a} {b}" in topics for a, b in pairwise(stems)
    )


def _lead(stems: list[str]) -> str | None:
    """The mode the lead of the message states, or None when it states none."""
    lex = _lexicon()
    i = 0
    while i < min(len(stems), LEAD_SKIP) and stems[i] in lex.fillers:
        i += 1
    if i >= len(stems):
        return None
    word = stems[i]
    pair = f"{word} {stems[i + 1]}" if i + 1 < len(stems) else ""
    if pair in lex.phrases:
        return lex.phrases[pair]
    if word in lex.makers:
        return _made(stems, i, lex)
    if word in lex.questions:
        rest = stems[i + 1 :]
        if word == lex.why:
            return DEBUGGING if _failing(rest, lex) else EXPLORING
        # "How do I fix ...", "How should we design ...", "How to add ...": how to do it.
        j = 0
        while j < min(len(rest), 3) and (rest[j] in lex.auxiliaries or rest[j] in lex.pronouns):
            j += 1
        if 0 < j < len(rest):
            if rest[j] in lex.makers:
                return _made(rest, j, lex)
            asked = _intent_of(rest[j], lex)
            if asked is not None:
                return asked
        return EXPLORING
    if word in lex.seekers:
        if lex.why in stems:
            return DEBUGGING if _failing(stems, lex) else EXPLORING
        return None
    return _intent_of(word, lex)


def score_modes(message: str) -> dict[str, float]:
    """Each mode's evidence in ``message`` from anywhere in it (0 when none): intent verbs
    weigh ``INTENT_WEIGHT``, topic words their weight; each counted at most twice. Used when
    the lead states no intent."""
    lex = _lexicon()
    stems = _stems(message)
    grams = stems + [f"{a} {b}" for a, b in pairwise(stems)]
    counts: dict[str, int] = {}
    for gram in grams:
        counts[gram] = counts.get(gram, 0) + 1
    scores = {}
    for mode in (DEBUGGING, CODING, EXPLORING, PLANNING):
        topic = sum(w * min(counts.get(s, 0), MAX_HITS_PER_SIGNAL) for s, w in TOPICS[mode].items())
        verbs = sum(min(counts.get(s, 0), MAX_HITS_PER_SIGNAL) for s in lex.intents[mode])
        scores[mode] = topic + INTENT_WEIGHT * verbs
    return scores


def detect(message: str) -> str | None:
    """The mode ``message`` asks for (module docstring), or None when the signal is weak or
    tied."""
    lead = _lead(_stems(message))
    if lead is not None:
        return lead
    ranked = sorted(score_modes(message).items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_SCORE or top == second:
        return None
    return best
