"""The extractive digest: sentences chosen by what they carry, verbatim, with speaker and time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import excerpts
from smartcontext_cli.digest import build_digest, render
from smartcontext_cli.models import SessionItem


def log(*events: tuple[str, str]) -> list[SessionItem]:
    return [
        SessionItem(
            role=role,
            content=text,
            seq=n + 1,
            created_at=f"2024-03-{1 + n // 50:02d}T10:{n % 50:02d}:00+00:00",
        )
        for n, (role, text) in enumerate(events)
    ]


def kept_text(items: list[SessionItem], **kw) -> str:
    return "\n".join(t for _, t in render(build_digest(items, **kw), 0))


@pytest.mark.parametrize(
    "sentence",
    [
        "Wow, Caroline!",
        "Thanks, Mel!",
        "Yep, Melanie!",
        "Thank you so much for the detailed explanation!",
        "Great question!",
        "Sure.",
        "Absolutely, Craig!",
        "I hope this helps!",
        "Let me know if you have any other questions.",
        "Feel free to ask if anything is unclear.",
        "Happy coding!",
        "Good morning!",
        "ok, sounds good",
    ],
)
def test_greetings_thanks_and_acknowledgements_are_never_kept(sentence):
    assert excerpts.is_social(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm Craig.",
        "Thanks to the cache, p95 dropped to 120 ms.",
        "Yes, the staging cluster is orion-7.",
        "Caroline moved to Lisbon in 2021.",
        "Great, we ship on Friday the 14th.",
    ],
)
def test_sentences_that_carry_something_are_not_social(sentence):
    assert not excerpts.is_social(sentence)


FILLER = [
    ("user", "Can you help me with the next part of the project?"),
    ("assistant", "Sure! Let's go through it step by step and see what we need to do next."),
]


def conversation_with(fact_event: tuple[str, str], repeats: int = 20) -> list[tuple[str, str]]:
    events = []
    for n in range(repeats):
        events += FILLER
        if n == repeats // 2:
            events.append(fact_event)
    return events


def test_the_sentence_that_carries_the_facts_is_kept_wherever_it_is():
    fact = (
        "user",
        "Thanks, that makes sense! Anyway, I need some help with the next step. "
        "Priya Raman moved the launch of the Lisbon office to March 14, 2025.",
    )
    text = kept_text(log(*conversation_with(fact)))
    # The last sentence of its event, not the first; with its event number, time and speaker.
    assert re.search(
        r"^- \[23\] 10:22 user: .*Priya Raman moved the launch of the Lisbon office to "
        r"March 14, 2025\.$",
        text,
        re.M,
    )
    assert "Thanks, that makes sense" not in text
    # Filler said twenty times is kept at most once.
    assert text.count("step by step") <= 1


def test_kept_sentences_are_never_re_cased_or_re_worded():
    # The issue: "Fixed: handle()" became "fix: Handle()".
    items = log(
        ("tool", "Traceback (most recent call last):\n  File 'a.py'\nTimeoutError: upstream"),
        ("assistant", "Fixed: handle() now retries twice with jitter."),
        ("user", "oh, and note: the eu-west-2 bucket is called acme-invoices-prod."),
    )
    text = kept_text(items)
    assert "Fixed: handle() now retries twice with jitter." in text
    assert "oh, and note: the eu-west-2 bucket is called acme-invoices-prod." in text
    assert "Handle()" not in text and "Oh, and" not in text


def test_sentences_the_recent_log_already_has_are_not_repeated():
    older = log(
        ("user", "The billing service is owned by the payments team."),
        ("user", "Our staging cluster is called orion-7 and runs Kubernetes 1.29."),
    )
    recent = ["FYI the billing service is owned by the payments team."]
    text = kept_text(older, context=recent)
    assert "orion-7" in text
    assert "owned by the payments team" not in text


def test_decisions_preferences_and_corrections_are_recognised():
    items = log(
        ("user", "We decided to use Redis Streams for the job queue."),
        ("user", "I prefer small commits; please never squash them."),
        ("user", "Actually, the deadline moved from May 3 to May 17."),
        ("assistant", "I'll look at the call graph first."),
    )
    digest = build_digest(items, share=1.0)  # room for all: this is about what each one is
    assert [d["text"] for d in digest.decisions] == [
        "We decided to use Redis Streams for the job queue."
    ]
    assert [p["text"] for p in digest.preferences] == [
        "I prefer small commits; please never squash them."
    ]
    assert digest.preferences[0]["role"] == "user" and digest.preferences[0]["seq"] == 2
    facts = [f for e in digest.excerpts for f in e["facts"]]
    assert "Actually, the deadline moved from May 3 to May 17." in facts


def test_an_answered_question_outweighs_an_unanswered_one():
    answered = excerpts.units_of(1, "user", "", "Which port does the Kafka broker use?", True)
    unanswered = excerpts.units_of(2, "user", "", "Which port does the Kafka broker use?", False)
    assert answered[0].kind == "answered" and unanswered[0].kind == "question"
    assert excerpts.WEIGHTS["answered"] > excerpts.WEIGHTS["question"]


def test_the_digest_stays_within_its_share_of_the_tokens():
    events = []
    for n in range(200):
        events.append(
            ("user", f"Ticket OPS-{n} is about service svc{n} on host node-{n}.example.net.")
        )
        events.append(("assistant", f"I checked svc{n}: its queue depth was {n * 7} at noon."))
    items = log(*events)
    for item in items:
        item.token_count = len(item.content) // 4
    tokens = sum(i.token_count for i in items)
    digest = build_digest(items, share=0.10)
    kept = sum(len(e["text"]) for e in digest.excerpts) / excerpts.CHARS_PER_TOKEN
    assert 0 < kept <= 0.10 * tokens + 40
    assert digest.kept < digest.sentences


def test_code_blocks_are_left_to_the_archive():
    text = "Here is the fix for ticket OPS-7:\n```python\ndef handle():\n    return retry(3)\n```"
    assert excerpts.split(text) == ["Here is the fix for ticket OPS-7:"]


WORDS = st.sampled_from(
    [
        "the",
        "a",
        "we",
        "Redis",
        "port",
        "5432",
        "Priya",
        "moved",
        "to",
        "Lisbon",
        "on",
        "March",
        "14",
        "ok",
        "thanks",
        "decided",
        "use",
        "always",
        "never",
        "actually",
        "Kafka",
        "handle()",
        "src/app.py",
        "v2.1",
        "is",
        "was",
        "and",
    ]
)
SENTENCE = st.lists(WORDS, min_size=1, max_size=14).map(" ".join)
EVENT = st.lists(
    st.tuples(SENTENCE, st.sampled_from([". ", "! ", "? ", "\n"])), min_size=1, max_size=4
).map(lambda parts: "".join(s[:1].upper() + s[1:] + end for s, end in parts).strip())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["user", "assistant", "observation"]), EVENT), max_size=30)
)
def test_every_kept_sentence_is_verbatim_from_its_event(events):
    items = log(*events)
    digest = build_digest(items)
    by_seq = {i.seq: i for i in items}
    for rec in [*digest.excerpts, *digest.decisions, *digest.preferences]:
        source = by_seq[rec["seq"]]
        assert rec["role"] == source.role and rec["at"] == source.created_at
        # Sentences of the event in its own words and case; adjacent ones joined by a space.
        flat = " ".join(source.content.split())
        for piece in rec["text"].split(" … "):
            assert " ".join(piece.rstrip("…").split()) in flat
