"""``search``: the command's body, shared by the Typer command and the Typer-free fast path.

Why apart from ``memories``: a cold ``smartcontext search`` is the command scripts and hooks
run most, and ``_fast`` runs it without loading Typer; this module imports no Typer either.
"""

from __future__ import annotations

from typing import Any

from smartcontext_cli import ids, shapes
from smartcontext_cli.errors import NotFoundError
from smartcontext_cli.memory import require_terms
from smartcontext_cli.models import Memory
from smartcontext_cli.namespaces import missing_hint

from . import _output as o
from ._appctx import AppContext


def named(store: Any) -> bool:
    """True when the namespace was named (flag, environment, config), not derived from git:
    a read of a named namespace that does not exist is a typo worth an error."""
    return store.settings.values.get("namespace") is not None


def memory_rows(memories: list[Memory], with_score: bool) -> list[list[Any]]:
    # Why relative: raw BM25 scores depend on the store's size (in a store of three memories
    # every idf is tiny), so people read "how close to the best hit"; --json keeps the raw score.
    top = max((m.score for m in memories), default=0.0)
    rows = []
    for m in memories:
        row: list[Any] = [o.id_cell(m.id), m.kind, ",".join(m.tags), o.cell(m.content, 80)]
        if with_score:
            row.insert(1, f"{m.score / top:.2f}" if top > 0 else "-")
        rows.append(row)
    return rows


def explain_text(memory_id: str, why: dict[str, Any]) -> str:
    """One hit's explanation as a few plain lines (``search --explain``)."""
    terms = ", ".join(
        f"{t} weight {d['weight']:.3g} (tf {d['tf']:g}"
        + (f", neighbours {d['neighbour_tf']:g})" if d["neighbour_tf"] else ")")
        for t, d in sorted(why["terms"].items(), key=lambda kv: -kv[1]["weight"])
    )
    boosts = ", ".join(f"{k} {v:.3g}" for k, v in why["boosts"].items()) or "none"
    lines = [
        f"{ids.short(memory_id)}  score {why['score']:.6g} = (bm25 in context {why['context']:.4g}"
        f" + neighbours {why['smoothing']:.4g}) x prior {why['prior']:.4f} x boosts"
        + (f" + identifier {why['identifier_lift']:.4g}" if why["identifier_lift"] else ""),
        f"  terms: {terms or '-'}",
        f"  boosts: {boosts}",
    ]
    if why["previous"] or why["next"]:
        near = [ids.short(x) if x else "-" for x in (why["previous"], why["next"])]
        lines.append(f"  neighbours: previous {near[0]}, next {near[1]}")
    if why["collapsed"]:
        lines.append("  near-duplicates folded in: " + ", ".join(map(ids.short, why["collapsed"])))
    sem = why.get("semantic")
    if sem:  # semantic or hybrid mode (semantic_search.combine)
        parts = ", ".join(
            f"{k} {v:.4g}" for k, v in sem.items() if isinstance(v, float) and k != "weight"
        )
        lines.append(f"  {sem['mode']} ({sem['method']}, weight {sem['weight']:g}): {parts}")
    return "\n".join(lines)


def run_search(
    app: AppContext,
    query: str,
    limit: int,
    tag: list[str] | None,
    kind: str | None,
    explain: bool,
    namespace: str | None,
    as_json: bool,
) -> int:
    """Search and print; returns the exit code (1 when nothing matches)."""
    require_terms(query)
    store = app.store(namespace)
    if not store.exists and named(store):
        raise NotFoundError(missing_hint(store.settings, store.namespace))
    hits = store.search_explained(query, limit, tag, kind) if store.exists else []
    results = [h.memory for h in hits]
    if as_json:
        rows = [shapes.memory(m, with_score=True) for m in results]
        if explain:
            for row, hit in zip(rows, hits, strict=True):
                row["explain"] = hit.explain()
        o.emit_json(rows)
    elif results:
        o.table(["id", "match", "kind", "tags", "content"], memory_rows(results, True))
        if explain:
            for hit in hits:
                o.out(explain_text(hit.memory.id, hit.explain()))
    else:
        o.info("no memories match")
    return 0 if results else 1
