"""Semantic and hybrid search: the lexical ranking fused with sentence-embedding similarity.

Modes (config ``retrieval``): ``lexical`` (default; ``search.py`` alone), ``semantic`` (cosine
between the query's and each memory's all-MiniLM-L6-v2 vector, ``embedding.py``), ``hybrid``
(both, fused). Fusion (``fuse``) is a weighted sum of normalised scores over the union of the
lexical top ``LEXICAL_POOL`` and the semantic top ``SEMANTIC_POOL``:

    fused = weight * (cosine - min) / (max - min) + (1 - weight) * lexical / max lexical

with min/max over that union (a memory the lexical ranking did not return counts 0 there),
``weight`` = ``HYBRID_WEIGHT``, chosen by leave-one-conversation-out cross-validation on
BEAM-100K (``tests/benchmarks/bench_retrieval.py``, which also measures reciprocal rank
fusion, ``method="rrf"``, in the same run). Memories holding more of the query's whole
identifiers still rank first, as in lexical search (``Hit.identifiers``), so an exact
identifier query is never outvoted by a paraphrase.

Before each search the vectors are brought in line with the memories
(``VectorIndex.sync``), so a result never comes from a stale vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import Memory
from .ranking import DEFAULT_PARAMS, RankParams, Scored
from .search import Hit, _allowed, prepare, prior
from .storage.base import Storage

if TYPE_CHECKING:
    from .embedding import Embedder
    from .vectors import VectorIndex

MODES = ("lexical", "hybrid", "semantic")
# Leave-one-conversation-out on BEAM-100K: 16 of 20 folds chose 0.4 (0.5 x3, 0.2 x1).
HYBRID_WEIGHT = 0.4
RRF_K = 60.0
# Why 20: the lexical part is the cost of a hybrid search (its candidate pool grows with the
# limit: 200 memories for 50, 80 for 20); what ranks below 20 lexically adds little to fusion.
LEXICAL_POOL = 20
SEMANTIC_POOL = 50


def fuse(
    lexical: Sequence[tuple[str, float]],
    cosines: dict[str, float],
    weight: float = HYBRID_WEIGHT,
    method: str = "weighted",
) -> list[tuple[str, float, dict[str, float]]]:
    """(id, fused score, parts) best first, over the ids of ``lexical`` and ``cosines``.

    ``lexical``: (id, score) best first; ``cosines``: id -> cosine for every id of the union
    (a missing one counts as the lowest). ``method``: ``weighted`` (module docstring) or
    ``rrf`` (1/(60 + rank) summed over both rankings, equal weight).
    """
    ids = list(dict.fromkeys([mid for mid, _ in lexical] + list(cosines)))
    if not ids:
        return []
    lex = dict(lexical)
    out = []
    if method == "rrf":
        lex_rank = {mid: i for i, (mid, _) in enumerate(lexical)}
        by_cos = sorted(cosines, key=lambda m: -cosines[m])
        sem_rank = {mid: i for i, mid in enumerate(by_cos)}
        for mid in ids:
            r = 0.0
            if mid in lex_rank:
                r += 1.0 / (RRF_K + lex_rank[mid] + 1)
            if mid in sem_rank:
                r += 1.0 / (RRF_K + sem_rank[mid] + 1)
            out.append((mid, r, {"lexical_rank": lex_rank.get(mid, -1) + 1.0,
                                 "semantic_rank": sem_rank.get(mid, -1) + 1.0}))  # fmt: skip
    elif method == "weighted":
        top_lex = max((s for s in lex.values()), default=0.0)
        lo = min(cosines.values(), default=0.0)
        hi = max(cosines.values(), default=0.0)
        span = hi - lo
        for mid in ids:
            cos = cosines.get(mid, lo)
            sem = (cos - lo) / span if span > 0 else 0.0
            lx = lex.get(mid, 0.0) / top_lex if top_lex > 0 else 0.0
            score = weight * sem + (1.0 - weight) * lx
            out.append((mid, score, {"cosine": cos, "semantic": sem, "lexical": lx}))
    else:
        raise ValueError(f"unknown fusion method {method!r}")
    out.sort(key=lambda row: -row[1])
    return out


@dataclass
class Gathered:
    """A query's lexical hits and semantic neighbours: everything fusion's weight does not
    change (the benchmark's cross-validation fuses each question under many weights)."""

    mode: str
    lexical: list[Hit]
    cosines: dict[str, float]  # id -> cosine, for every candidate that passes the filters
    memories: dict[str, Memory]  # the semantic-only candidates
    now: datetime
    limit: int


def gather(
    storage: Storage,
    index: VectorIndex,
    model: Embedder,
    query: str,
    limit: int = 5,
    tags: Sequence[str] = (),
    kind: str | None = None,
    now: datetime | None = None,
    mode: str = "hybrid",
    params: RankParams = DEFAULT_PARAMS,
    vector: Any = None,
) -> Gathered:
    """Sync the vectors, embed the query (unless ``vector`` is given), read both rankings."""
    now = now or datetime.now(timezone.utc)
    index.sync(storage)
    if vector is None:
        vector = model.embed([query])[0]
    filtered = bool(tags) or kind is not None
    # Filters cut after the scan: read more so that enough pass them.
    wanted = max(SEMANTIC_POOL, limit * 4) * (4 if filtered else 1)
    near = index.nearest(vector, wanted)
    lexical: list[Hit] = []
    if mode == "hybrid":
        prepared = prepare(storage, query, max(limit, LEXICAL_POOL), tags, kind, now)
        lexical = prepared.rank(params) if prepared.query.searchable else []
    in_lexical = {h.memory.id for h in lexical}
    memories = {m.id: m for m in _memories(storage, [m for m, _ in near if m not in in_lexical])}
    cos = {mid: c for mid, c in near if mid in in_lexical or mid in memories}
    cos = {m: c for m, c in cos.items() if m in in_lexical or _allowed(memories[m], tags, kind)}
    cos.update(index.cosines(vector, [mid for mid in in_lexical if mid not in cos]))
    return Gathered(mode, lexical, cos, memories, now, limit)


def combine(g: Gathered, weight: float = HYBRID_WEIGHT, method: str = "weighted") -> list[Hit]:
    """The fused ranking of what ``gather`` read, as ``Hit`` s whose ``semantic`` part says
    how each score was made (``search --explain``)."""
    by_id = {h.memory.id: h for h in g.lexical}
    if g.mode == "semantic":
        order = sorted(g.cosines.items(), key=lambda kv: -kv[1])
        fused = [(mid, c, {"cosine": c}) for mid, c in order]
    else:
        fused = fuse(
            [(h.memory.id, h.score - h.lift) for h in g.lexical], g.cosines, weight, method
        )
    hits = []
    for mid, score, parts in fused:
        lex = by_id.get(mid)
        if lex is None:
            memory = g.memories[mid]
            p = prior(memory, g.now)
            hit = Hit(memory, 0.0, Scored(0.0, 0.0, 0.0, 0.0), {}, p, 0, (None, None))
        else:
            hit = replace(lex)
        hybrid = g.mode == "hybrid"
        hit.semantic = {
            "mode": g.mode,
            "method": method if hybrid else "cosine",
            "weight": weight if hybrid else 1.0,
            "lexical_score": hit.score - hit.lift,
            **parts,
        }
        hit.score = score
        hits.append(hit)
    # Identifier holders first (module docstring), then the fused score.
    hits.sort(key=lambda h: (-h.identifiers, -h.score))
    return hits[: g.limit]


def rank(
    storage: Storage,
    index: VectorIndex,
    model: Embedder,
    query: str,
    limit: int = 5,
    tags: Sequence[str] = (),
    kind: str | None = None,
    now: datetime | None = None,
    mode: str = "hybrid",
    params: RankParams = DEFAULT_PARAMS,
    weight: float = HYBRID_WEIGHT,
    method: str = "weighted",
) -> list[Hit]:
    """The ``limit`` best memories in ``mode`` (``semantic`` or ``hybrid``)."""
    if limit <= 0:
        return []
    g = gather(storage, index, model, query, limit, tags, kind, now, mode, params)
    return combine(g, weight, method)


def _memories(storage: Storage, ids: Sequence[str]) -> list[Memory]:
    if not ids:
        return []
    return [memory for memory, _ in storage.indexed(list(ids)).values()]


def open_index(directory: Path, model: Embedder) -> VectorIndex:
    from .vectors import VectorIndex

    return VectorIndex(directory, model)


def describe(mode: str, model: Embedder | None, index: VectorIndex | None) -> dict[str, Any]:
    """What ``stats`` shows about retrieval: the mode, and the model and vectors in use."""
    out: dict[str, Any] = {"mode": mode, "model": None, "vectors": None}
    if model is not None:
        out["model"] = model.info.describe()
    if index is not None:
        out["vectors"] = index.count()
    return out
