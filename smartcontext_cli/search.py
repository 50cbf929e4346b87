"""Ranked memory search: BM25 over Snowball terms with neighbour context, boosts and a prior.

Pipeline (every backend alike):

1. The query is read (``read_query``): time expressions become time terms ("last week" ->
   ``_week_2026_47``; ``timeref``), the rest gives content terms (``text.query_terms``: stemmed
   words without stop and question words, whole identifiers first), words that name a kind
   ("decide" -> decision) give kind terms; a term no memory holds is widened to close indexed
   terms (typos, abbreviations; ``expand_typos``).
2. A pool of candidates comes from the backend's BM25 (``Storage.candidates``: exact top-k, or
   on SQLite bounded reads for a query of several words that match very many memories;
   ``storage/sqlite_pool.py``), over the terms that occur in at most half the memories. Why
   not all: FTS5 gives a term in more than half of them the IDF floor, so every memory holding
   it ties and reading them is the cost of the whole search ("note 4711" on 100,000 memories
   that all say "note": 300-450 ms). Memories holding only such terms join the pool newest
   first, and only while it is short (at most ``COMMON_SCAN`` memories are read for them).
   Memories holding a query's identifier are always pooled.
3. Each candidate's neighbours in its conversation (a source naming one, such as
   ``chat:<id>``: ``in_conversation``; same source, adjacent in time, at most
   ``NEIGHBOUR_GAP_SECONDS`` apart) are fetched and the candidates scored by ``ranking.score_docs``
   (BM25 k1/b, neighbour words, score smoothing), neighbours included as candidates.
4. Boosts multiply: the query's phrase word for word, a query word among the tags, the kind the
   query asks about, the time it asks about, the speaker it names ("what did I say": turns
   tagged ``user``; "what did you suggest": ``assistant``); then a prior (importance,
   recency) that only breaks near-ties. Memories holding more of the query's whole
   identifiers always rank first (their score is lifted above every other candidate's, so
   scores stay in order).
5. Near-duplicates (the same terms, nearly) collapse into the best of them.

Any text is a valid query: terms reach FTS5 quoted, so ``?``, ``"``, ``NEAR(``, ``col:x`` and
friends are just words or nothing. Scores are floats, unrounded.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import pairwise
from typing import Any

from .clock import parse
from .errors import StoreCorruptError
from .models import Memory
from .ranking import DEFAULT_PARAMS, Doc, RankParams, Scored, score_docs, term_weights
from .storage.base import Storage
from .text import (
    EVENT_EXTRA_TERMS,
    MEMORY_EXTRA_TERMS,
    identifiers,
    kind_term,
    query_terms,
    terms,
    word_length,
    words,
)
from .timeref import query_times

FUZZY_CUTOFF = 75.0
FUZZY_PER_TERM = 3
FUZZY_WEIGHT = 0.7
PHRASE_BOOST = 0.5
TAG_BOOST = 0.25
KIND_BOOST = 0.15
KIND_WEIGHT = 0.3
TIME_WEIGHT = 1.0
TIME_BOOST = 1.0
IMPORTANCE_WEIGHT = 0.10
RECENCY_WEIGHT = 0.05
RECENCY_HALF_LIFE_DAYS = 30.0
POOL = 40
COMMON_SCAN = 2000
NEIGHBOUR_GAP_SECONDS = 6 * 3600.0
DUPLICATE_JACCARD = 0.9

# Words that ask about a kind of memory ("what did we decide" -> decisions).
KIND_WORDS = {
    "decision": ("decid", "decis", "chose", "choos", "chosen", "agre", "settl"),
    "preference": ("prefer", "like", "favourit", "favorit", "rather"),
    "error": ("error", "bug", "fail", "crash", "except", "broke", "broken"),
    "fact": ("fact",),
    "insight": ("insight", "learn", "lesson", "realis", "realiz"),
    "pattern": ("pattern", "convent", "usual", "alway"),
}


@dataclass
class Query:
    """What a query asks for, read once: terms with weights, identifiers, phrase, kinds."""

    text: str
    content: list[str]
    identifiers: list[str]
    times: list[str]
    kinds: list[str]
    phrase: str | None
    speaker: str | None
    weighted: list[tuple[str, float]] = field(default_factory=list)

    @property
    def searchable(self) -> bool:
        return bool(self.weighted)


@dataclass
class Hit:
    """One ranked memory with the parts of its score (``search --explain``)."""

    memory: Memory
    score: float
    parts: Scored
    boosts: dict[str, float]
    prior: float
    identifiers: int
    neighbours: tuple[str | None, str | None]
    collapsed: list[str] = field(default_factory=list)
    lift: float = 0.0  # added for holding the query's identifiers (module docstring, step 4)
    # How a semantic or hybrid search scored it (semantic_search.rank); None when lexical.
    semantic: dict[str, Any] | None = None

    def explain(self) -> dict[str, Any]:
        why = {
            "score": self.score,
            "bm25": self.parts.own,
            "context": self.parts.context,
            "smoothing": self.parts.smoothing,
            "terms": {
                t: {"weight": w, "tf": own, "neighbour_tf": ctx}
                for t, (w, own, ctx) in self.parts.terms.items()
            },
            "boosts": self.boosts,
            "prior": self.prior,
            "identifiers": self.identifiers,
            "identifier_lift": self.lift,
            "previous": self.neighbours[0],
            "next": self.neighbours[1],
            "collapsed": self.collapsed,
        }
        if self.semantic is not None:
            why["semantic"] = self.semantic
        return why


def read_query(query: str, now: datetime) -> Query:
    """Split a query into its weighted terms (see the module docstring, step 1)."""
    times, rest = query_times(query, now.date())
    content = query_terms(rest) if rest.strip() else []
    if not content and not times:
        content = query_terms(query)
    idents = identifiers(rest)
    kinds = [
        kind
        for kind, stems in KIND_WORDS.items()
        if any(t.startswith(stems) for t in content if not t.startswith("_"))
    ]
    weighted = [(t, 1.0) for t in content]
    weighted += [(t, TIME_WEIGHT) for t in times]
    weighted += [(kind_term(k), KIND_WEIGHT) for k in kinds]
    return Query(
        query, content, idents, times, kinds, query_phrase(rest), speaker_of(query), weighted
    )


# Who a question is about, from its pronouns: "what did I say" asks about the user's turns,
# "what did you suggest" about the assistant's. Turns carry their speaker as a tag.
_FIRST_PERSON = frozenset(["i", "me", "my", "mine", "myself", "i'm", "i've", "i'd"])
_SECOND_PERSON = frozenset(["you", "your", "yours", "yourself", "you've", "you'd"])
SPEAKER_TAGS = {"user": "user", "assistant": "assistant"}


# "Can you ...", "could you ...": a request to the assistant, not a question about its turns.
_REQUEST = re.compile(r"\b(?:can|could|would|will|do|did)\s+you\b", re.IGNORECASE)
# A summary is of the whole exchange: both speakers' turns (BEAM-100K's summarisation
# questions: two thirds of their evidence is the assistant's).
_SUMMARY = re.compile(r"\b(?:summar\w*|overview|recap)\b", re.IGNORECASE)


def speaker_of(query: str) -> str | None:
    # Why requests are dropped first: "Can you list what I said about X" asks about the user's
    # turns; read with its "you" it named both speakers, so neither (BEAM-100K: 136 of 355
    # questions; 23 once requests are dropped).
    if _SUMMARY.search(query):
        return None
    query = _REQUEST.sub(" ", query)
    ws = set(query.lower().replace("?", " ").replace(",", " ").split())
    first, second = bool(ws & _FIRST_PERSON), bool(ws & _SECOND_PERSON)
    if first and not second:
        return "user"
    if second and not first:
        return "assistant"
    return None


def expand_typos(
    storage: Storage,
    qterms: Sequence[str],
    doc_freq: Callable[[str], int] | None = None,
    vocabulary: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """Add close indexed terms for query terms that match nothing (typos, partial words).

    ``doc_freq`` and ``vocabulary`` name another index than the memories' (session events).
    """
    # PostgreSQL's trigram index (pg_trgm) also finds a typo in the first letters; only for the
    # memories' own index, and only where the first two letters found nothing (see below).
    near: Callable[[str], list[str]] | None = None
    if vocabulary is None:
        near = getattr(storage, "near_terms", None)
    doc_freq = doc_freq or storage.doc_freq
    vocabulary = vocabulary or storage.vocabulary
    out = list(qterms)
    for term in qterms:
        if len(term) < 4 or term.startswith("_") or "_" in term or doc_freq(term):
            continue
        # Why only terms sharing the first two letters (or both swapped: "tset" finds "test"):
        # reading the vocabulary is the cost (a 100,000-memory store has 13,000 terms in "s",
        # 1,000 in "st"), every word no memory holds pays it, and typos rarely touch the
        # first letters. Another typo there ("tast" for "test") is not corrected.
        vocab = vocabulary(term[:2])
        if term[0] != term[1]:
            vocab += vocabulary(term[1] + term[0])
        found = _close_terms(term, vocab)
        if near is not None and not found:
            # "ostgres" -> "postgres": the same cutoff, over the index's nearest terms.
            from rapidfuzz import fuzz, process

            found = [
                m
                for m, _score, _ in process.extract(
                    term,
                    [v for v in near(term) if "_" not in v],
                    scorer=fuzz.ratio,
                    score_cutoff=FUZZY_CUTOFF,
                    limit=FUZZY_PER_TERM,
                )
            ]
        out += [t for t in found if t not in out]
    return out


def _close_terms(term: str, vocabulary: list[str]) -> list[str]:
    """Indexed terms close to ``term``: by edit ratio, and its abbreviations or longer forms."""
    from rapidfuzz import fuzz, process

    vocab = [v for v in vocabulary if "_" not in v]
    matches = [
        m
        for m, _score, _ in process.extract(
            term, vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=FUZZY_PER_TERM
        )
    ]
    # Abbreviations and longer forms: "authentication" finds "auth", "postg" finds "postgres";
    # the closest in length first, as the likeliest meant.
    related = [v for v in vocab if len(v) >= 4 and (term.startswith(v) or v.startswith(term))]
    related.sort(key=lambda v: (abs(len(v) - len(term)), v))
    return list(dict.fromkeys(matches + related[:FUZZY_PER_TERM]))


def prior(memory: Memory, now: datetime) -> float:
    """A multiplier in about [0.95, 1.10]: importance and recency break near-ties only."""
    try:
        age_days = max(0.0, (now - parse(memory.created_at)).total_seconds() / 86400)
    except ValueError:
        age_days = 365.0
    recency: float = 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
    return 1.0 + IMPORTANCE_WEIGHT * (memory.importance - 0.5) + RECENCY_WEIGHT * recency


def query_phrase(query: str) -> str | None:
    """The phrase to boost: quoted text if any, else the whole query when it has 2+ words."""
    if query.count('"') >= 2:
        inner = query.split('"')[1]
        return " ".join(words(inner)) or None
    ws = words(query)
    return " ".join(ws) if len(ws) >= 2 else None


def phrase_boost(phrase: str | None, text: str) -> float:
    """The multiplier for a text holding the query's phrase (``query_phrase``) word for word."""
    return 1.0 + PHRASE_BOOST if phrase and phrase in " ".join(words(text)) else 1.0


def search(
    storage: Storage,
    query: str,
    limit: int = 5,
    tags: Sequence[str] = (),
    kind: str | None = None,
    now: datetime | None = None,
    params: RankParams = DEFAULT_PARAMS,
) -> list[Memory]:
    """The ``limit`` best memories for ``query``, each with ``.score`` set (higher is better)."""
    hits = rank(storage, query, limit, tags, kind, now, params)
    for hit in hits:
        hit.memory.score = hit.score
    return [hit.memory for hit in hits]


def rank(
    storage: Storage,
    query: str,
    limit: int = 5,
    tags: Sequence[str] = (),
    kind: str | None = None,
    now: datetime | None = None,
    params: RankParams = DEFAULT_PARAMS,
) -> list[Hit]:
    """``search`` with each hit's score parts (``Hit.explain``)."""
    if limit <= 0:
        return []
    return prepare(storage, query, limit, tags, kind, now).rank(params)


@dataclass
class Prepared:
    """A query read and its candidates gathered: everything ``RankParams`` do not change.

    Why separate: the benchmark's cross-validation scores each question under many parameter
    choices; reading the store once per question keeps that affordable.
    """

    query: Query
    docs: dict[str, tuple[Memory, Counter[str]]]
    links: dict[str, tuple[str | None, str | None]]
    weights: dict[str, float]
    avgdl: float
    candidates: list[str]
    now: datetime
    limit: int
    recent: list[Memory] = field(default_factory=list)
    graph: dict[str, Doc[str]] = field(default_factory=dict)
    # Per-memory values that no parameter changes (prior, boosts, shingles), filled lazily.
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.graph = {
            mid: Doc(counts, word_length(counts), *self.links.get(mid, (None, None)))
            for mid, (_, counts) in self.docs.items()
        }

    def rank(self, params: RankParams = DEFAULT_PARAMS) -> list[Hit]:
        if not self.query.searchable:
            nothing = Scored(0.0, 0.0, 0.0, 0.0)
            hits = [
                Hit(m, prior(m, self.now) - 1.0, nothing, {}, prior(m, self.now), 0, (None, None))
                for m in self.recent
            ]
            return _best_first(hits)[: self.limit]
        scored = score_docs(self.graph, self.candidates, self.weights, self.avgdl, params)
        return finish(
            self.query, self.docs, scored, self.links, self.now, self.limit, self._memo, params
        )


def prepare(
    storage: Storage,
    query: str,
    limit: int = 5,
    tags: Sequence[str] = (),
    kind: str | None = None,
    now: datetime | None = None,
) -> Prepared:
    """Read the query and gather its candidates with their neighbours (steps 1-3)."""
    now = now or datetime.now(timezone.utc)
    q = read_query(query, now)
    if not q.searchable:
        # Nothing searchable (empty, or only punctuation): the best of the filtered memories.
        recent = storage.list_memories(limit=max(limit * 4, 50), tags=tags, kind=kind)
        return Prepared(q, {}, {}, {}, 0.0, [], now, limit, recent)
    expanded = expand_typos(storage, q.content)
    extra = [(t, FUZZY_WEIGHT) for t in expanded if t not in q.content]
    weighted = q.weighted + extra
    freqs = {t: storage.doc_freq(t) for t, _ in weighted}
    n_docs, avgdl = storage.index_stats()
    damaged = sorted(t for t, n in freqs.items() if n > n_docs)
    if damaged:
        # A term in more memories than the index holds: damaged statistics, which gave
        # negative weights and "no memories match" without a word (issue 13: name it).
        raise StoreCorruptError(
            f"the search index of {getattr(storage, 'path', 'the store')} disagrees with its "
            f"memories (term {damaged[0]!r} counted in {freqs[damaged[0]]} of {n_docs}); "
            "run `smartcontext doctor --repair` to rebuild it"
        )
    # At least POOL, and up to 200 more than asked: a compile asks for hundreds.
    size = max(POOL, limit + min(limit * 3, 200))
    pooled = pool(storage, freqs, n_docs, q.identifiers, tags, kind, size)
    docs, links = gather(storage, pooled)
    weights = term_weights(weighted, freqs, n_docs)
    # Lengths in words (text.word_length), so the mean too: FTS5's counts every term.
    avgdl = max(1.0, avgdl - MEMORY_EXTRA_TERMS)
    candidates = [mid for mid in docs if _allowed(docs[mid][0], tags, kind)]
    return Prepared(q, docs, links, weights, avgdl, candidates, now, limit)


def pool(
    storage: Storage,
    freqs: dict[str, int],
    n_docs: int,
    idents: Sequence[str],
    tags: Sequence[str],
    kind: str | None,
    size: int,
) -> dict[str, tuple[Memory, Counter[str]]]:
    """The candidates worth scoring (module docstring, step 2), by id, with their terms."""
    live = [t for t, n in freqs.items() if n]
    rare = [t for t in live if freqs[t] * 2 <= n_docs]
    common = [t for t in live if t not in rare]
    found: dict[str, tuple[Memory, Counter[str]]] = {}
    held = [t for t in idents if t in live]
    if held:
        found.update(storage.candidates(held, size, tags, kind))
    if rare:
        for mid, entry in storage.candidates(rare, size, tags, kind).items():
            found.setdefault(mid, entry)
    if common and len(found) < size:
        wanted = set(common)
        offset = 0
        while len(found) < size and offset < COMMON_SCAN:
            # Pages about the pool's size: a word in most memories fills it from the first.
            page = storage.list_memories(limit=max(size, 50), offset=offset, tags=tags, kind=kind)
            if not page:
                break
            offset += len(page)
            fresh = [m.id for m in page if m.id not in found]
            for mid, (memory, counts) in storage.indexed(fresh).items():
                if wanted.intersection(counts) and len(found) < size:
                    found[mid] = (memory, counts)
    return found


def gather(
    storage: Storage, pooled: dict[str, tuple[Memory, Counter[str]]]
) -> tuple[dict[str, tuple[Memory, Counter[str]]], dict[str, tuple[str | None, str | None]]]:
    """The pool with its neighbours, two steps out, each with its term counts, and the links
    between them (only neighbours at most ``NEIGHBOUR_GAP_SECONDS`` apart are linked)."""
    docs = dict(pooled)
    links = _links(storage, [m for m, _ in docs.values()])
    wanted = {n for pair in links.values() for n in pair if n is not None and n not in docs}
    if wanted:
        docs.update(storage.indexed(sorted(wanted)))
        more = _links(storage, [docs[n][0] for n in wanted if n in docs])
        links.update(more)
        outer = {n for pair in more.values() for n in pair if n is not None and n not in docs}
        if outer:
            docs.update(storage.indexed(sorted(outer)))
    return docs, _close_links(docs, links)


def in_conversation(source: str) -> bool:
    """Whether a memory's source names a conversation or session ("chat:2024-03-15",
    "slack:C042", "beam:3"), whose memories are turns worth reading with their neighbours.

    Why not every source: notes added one by one ("user", "git", "agent") follow each other in
    time without being about the same thing; their neighbours would only add noise.
    """
    return ":" in source


def _links(
    storage: Storage, memories: Sequence[Memory]
) -> dict[str, tuple[str | None, str | None]]:
    threaded = [m for m in memories if in_conversation(m.source)]
    return storage.adjacent(threaded) if threaded else {}


def _close_links(
    docs: dict[str, tuple[Memory, Counter[str]]], links: dict[str, tuple[str | None, str | None]]
) -> dict[str, tuple[str | None, str | None]]:
    """Links between memories read, and at most ``NEIGHBOUR_GAP_SECONDS`` apart."""

    def near(mid: str, other: str | None) -> str | None:
        if other is None or other not in docs:
            return None
        return other if _gap_ok(docs[mid][0], docs[other][0]) else None

    return {mid: (near(mid, p), near(mid, n)) for mid, (p, n) in links.items() if mid in docs}


def _allowed(memory: Memory, tags: Sequence[str], kind: str | None) -> bool:
    return all(t in memory.tags for t in tags) and (not kind or memory.kind == kind)


def _gap_ok(a: Memory, b: Memory) -> bool:
    try:
        seconds = abs((parse(a.created_at) - parse(b.created_at)).total_seconds())
    except ValueError:
        return False
    return seconds <= NEIGHBOUR_GAP_SECONDS


def finish(
    q: Query,
    docs: dict[str, tuple[Memory, Counter[str]]],
    scored: dict[str, Scored],
    links: dict[str, tuple[str | None, str | None]],
    now: datetime,
    limit: int,
    memo: dict[tuple[str, str], Any] | None = None,
    params: RankParams = DEFAULT_PARAMS,
) -> list[Hit]:
    """Boosts, the identifier rule, the prior, near-duplicate collapse (steps 4 and 5)."""
    memo = {} if memo is None else memo
    hits: list[Hit] = []
    for mid, parts in scored.items():
        memory, counts = docs[mid]
        if parts.score <= 0.0 and not parts.terms:
            continue
        if (mid, "boosts") not in memo:
            memo[mid, "boosts"] = _boosts(q, memory, counts), prior(memory, now)
        fixed, p = memo[mid, "boosts"]
        boosts = dict(fixed)
        if q.speaker and params.speaker and q.speaker in memory.tags:
            boosts["speaker"] = 1.0 + params.speaker
        score = parts.score * p * math.prod(boosts.values())
        held = sum(1 for t in q.identifiers if counts.get(t))
        hits.append(Hit(memory, score, parts, boosts, p, held, links.get(mid, (None, None))))
    if q.identifiers:
        # Holding the query's identifiers outranks any score: lift each holder above the best.
        top = max((h.score for h in hits), default=0.0)
        lift = top * (1.0 + 1e-9) if top > 0 else 1.0
        for h in hits:
            if h.identifiers:
                h.lift = h.identifiers * lift
                h.score += h.lift
    ranked = _best_first(hits)
    return collapse(ranked, docs, limit, memo)


def _boosts(q: Query, memory: Memory, counts: Counter[str]) -> dict[str, float]:
    """The multipliers a memory earns from the query (module docstring, step 4)."""
    qset = set(q.content)
    boosts: dict[str, float] = {}
    # Why the term check first: reading a long text's words costs more than its whole score.
    if q.phrase and qset <= counts.keys() and phrase_boost(q.phrase, memory.content) > 1.0:
        boosts["phrase"] = 1.0 + PHRASE_BOOST
    if memory.tags and qset.intersection(_tag_terms(tuple(memory.tags))):
        boosts["tag"] = 1.0 + TAG_BOOST
    if memory.kind in q.kinds:
        boosts["kind"] = 1.0 + KIND_BOOST
    # A question about a time is mostly about that time: a memory of it counts double.
    if q.times and any(counts.get(t) for t in q.times):
        boosts["time"] = 1.0 + TIME_BOOST
    return boosts


@functools.lru_cache(maxsize=4096)
def _tag_terms(tags: tuple[str, ...]) -> frozenset[str]:
    """The terms of a tag list. Cached: a store has few distinct tag lists, and stemming them
    for each of a search's 40 candidates cost more than scoring them."""
    return frozenset(terms(" ".join(tags)))


def collapse(
    ranked: list[Hit],
    docs: dict[str, tuple[Memory, Counter[str]]],
    limit: int,
    memo: dict[tuple[str, str], Any] | None = None,
) -> list[Hit]:
    """The best ``limit`` hits, each near-duplicate folded into the better hit it repeats.

    Near-duplicates share at least ``DUPLICATE_JACCARD`` of their word pairs (Jaccard).

    Why the prefix index: comparing each hit with every kept one is quadratic, and compile
    asks for thousands (5,000 hits took a minute). Two sets with Jaccard >= t share one of
    the first ``len - ceil(t * len) + 1`` elements of each in any fixed order (prefix
    filtering), so only kept hits sharing a prefix element are compared, exactly as before.
    """

    def shingles_of(hit: Hit) -> set[str]:
        key = (hit.memory.id, "shingles")
        if memo is not None and key in memo:
            found: set[str] = memo[key]
            return found
        mine = _shingles(hit.memory.content)
        if memo is not None:
            memo[key] = mine
        return mine

    # Rare shingles first (the order PPJoin uses): prefixes of common templates then hold the
    # words that tell them apart, and few kept hits share one.
    all_sets = [shingles_of(hit) for hit in ranked]
    freq = Counter(x for mine in all_sets for x in mine)
    kept: list[Hit] = []
    sets: list[set[str]] = []
    by_prefix: dict[str, list[int]] = {}
    for hit, mine in zip(ranked, all_sets, strict=True):
        prefix = _prefix(mine, freq)
        near = sorted({i for x in prefix for i in by_prefix.get(x, ())})
        twin = next(
            (i for i in near if len(mine & sets[i]) >= DUPLICATE_JACCARD * len(mine | sets[i])),
            None,
        )
        if twin is not None:
            kept[twin].collapsed.append(hit.memory.id)
            continue
        if len(kept) == limit:
            break
        for x in prefix:
            by_prefix.setdefault(x, []).append(len(kept))
        kept.append(hit)
        sets.append(mine)
    return kept


def _prefix(shingles: set[str], freq: Counter[str]) -> list[str]:
    """The elements of ``shingles`` a near-duplicate must share one of (``collapse``), in the
    one global order of all (rarest first, then by text)."""
    if not shingles:
        return []
    ordered = sorted(shingles, key=lambda x: (freq[x], x))
    return ordered[: len(ordered) - math.ceil(DUPLICATE_JACCARD * len(ordered)) + 1]


def _shingles(text: str) -> set[str]:
    """Word pairs: two texts with the same words in another order are not duplicates."""
    ws = words(text)
    return {f"{a} {b}" for a, b in pairwise(ws)} or set(ws)


def score_texts(
    texts: Sequence[str],
    qterms: Sequence[str],
    stats: tuple[int, float],
    doc_freq: Callable[[str], int],
    params: RankParams = DEFAULT_PARAMS,
) -> list[float] | None:
    """Each text's BM25 (``ranking``, own words only) against an index's ``stats`` (N, avgdl)
    and document frequencies; None when the index is empty. Session events use it."""
    n_rows, avgdl = stats
    if n_rows <= 0 or avgdl <= 0:
        return None
    avgdl = max(1.0, avgdl - EVENT_EXTRA_TERMS)  # words only, as the texts' own lengths
    weights = term_weights([(t, 1.0) for t in qterms], {t: doc_freq(t) for t in qterms}, n_rows)
    graph: dict[int, Doc[int]] = {}
    for n, text in enumerate(texts):
        counts = Counter(terms(text))
        graph[n] = Doc(counts, sum(counts.values()))
    scored = score_docs(graph, list(graph), weights, avgdl, params.but(smooth=0.0))
    return [scored[n].score for n in range(len(texts))]


def _best_first(hits: list[Hit]) -> list[Hit]:
    """Highest score first; equal scores newest first, then by id: identical on every backend."""
    hits.sort(key=lambda h: h.memory.id)
    hits.sort(key=lambda h: h.memory.created_at, reverse=True)
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits


def relevance(scores: Sequence[float]) -> list[float]:
    """Scale raw scores into [0, 1] (max-normalised), for consumers that mix sections."""
    top = max(scores, default=0.0)
    if top <= 0 or math.isnan(top):
        return [0.0 for _ in scores]
    return [s / top for s in scores]


__all__ = [
    "Hit",
    "RankParams",
    "expand_typos",
    "phrase_boost",
    "prior",
    "rank",
    "relevance",
    "score_texts",
    "search",
]
