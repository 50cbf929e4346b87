"""Imported token counts are never trusted: an import drops them and the compiler recounts.

The issue's case: an export whose memory carries a forged ``token_count`` (with the fingerprint
label the compiler writes, which anyone can compute) printed 319 tokens at ``-b 100``.
"""

from __future__ import annotations

import json

from smartcontext_cli import MemoryStore, branching, gather, memory
from smartcontext_cli.storage import transfer
from smartcontext_cli.tokens import Tokenizer

LONG = " ".join(f"The billing worker retries invoice {i} with backoff." for i in range(40))


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def forged_export(sc) -> str:
    assert sc("-n", "src", "remember", LONG).exit_code == 0
    assert (
        sc("-n", "src", "artifact", "add", "notes.md", "-", input="# Notes\nbilling\n").exit_code
        == 0
    )
    with MemoryStore(namespace="src") as store:
        store.add_session_item("user", "billing is slow")
    assert sc("-n", "src", "compile", "-q", "billing", "-b", "4000").exit_code == 0
    out = []
    for r in records(sc("-n", "src", "export").stdout):
        if r["type"] == "memory":
            assert r["token_encoding"].startswith("cl100k_base:")  # the compiler counted it
            r["token_count"] = 5  # forged; the label still matches the text
        if r["type"] == "doc" and r["collection"] == "compiler" and r["key"].startswith("counts-"):
            r["data"]["counts"] = {k: 1 for k in r["data"]["counts"]}
        if r["type"] == "doc" and r["collection"] == "session":
            r["data"]["token_count"] = 1
            r["data"]["meta"]["token_encoding"] = "cl100k_base"
        out.append(json.dumps(r))
    return "\n".join(out) + "\n"


def test_a_forged_count_in_an_import_cannot_break_the_budget(sc) -> None:
    data = forged_export(sc)
    assert sc("-n", "dst", "import", "-", input=data).exit_code == 0
    result = sc("-n", "dst", "compile", "-q", "billing", "-b", "100")
    assert result.exit_code == 0, result.stderr
    assert Tokenizer().count(result.stdout) <= 100


def test_an_import_drops_every_cached_count(sc) -> None:
    assert sc("-n", "dst", "import", "-", input=forged_export(sc)).exit_code == 0
    exported = records(sc("-n", "dst", "export").stdout)
    memories = [r for r in exported if r["type"] == "memory"]
    assert [(m["token_count"], m["token_encoding"]) for m in memories] == [(None, None)]
    docs = {(r["collection"], r["key"]): r["data"] for r in exported if r["type"] == "doc"}
    assert not [k for k in docs if k[0] == "compiler" and k[1].startswith("counts-")]
    events = [d for (c, _), d in docs.items() if c == "session"]
    assert events and all(e["token_count"] is None for e in events)
    assert all("token_encoding" not in e["meta"] for e in events)
    # The session's token figures are counted afresh, not read from the import.
    with MemoryStore(namespace="dst") as store:
        (item,) = store.get_session_items()
        assert store._tokens([item]) == Tokenizer().count("billing is slow")


def test_migrate_keeps_the_counts_of_the_users_own_store(sc) -> None:
    assert sc("-n", "src", "remember", LONG).exit_code == 0
    assert sc("-n", "src", "compile", "-q", "billing", "-b", "4000").exit_code == 0
    before = [r for r in records(sc("-n", "src", "export").stdout) if r["type"] == "memory"]
    assert sc("-n", "src", "migrate", "--to", "json").exit_code == 0
    after = [r for r in records(sc("-n", "src", "export").stdout) if r["type"] == "memory"]
    assert after == before and after[0]["token_count"] is not None


def test_collection_names_follow_the_modules_that_own_them() -> None:
    assert transfer.COUNT_CACHE_COLLECTION == gather.COMPILER
    assert transfer.VIEWS_COLLECTION == branching.VIEWS
    assert transfer.ARTIFACTS_COLLECTION == memory.ARTIFACTS


def test_view_items_and_artifacts_lose_their_counts() -> None:
    view = {
        "kind": "compact",
        "items": [{"content": "x", "token_count": 3, "meta": {"token_encoding": "e", "k": 1}}],
    }
    got = transfer.without_counts("session_views", "00000001", view)
    assert got == {
        "kind": "compact",
        "items": [{"content": "x", "token_count": None, "meta": {"k": 1}}],
    }
    art = {"id": "a1", "content": "c", "token_count": 9, "token_encoding": "cl100k_base"}
    assert transfer.without_counts("artifacts", "a1", art) == {
        **art,
        "token_count": None,
        "token_encoding": None,
    }
    assert transfer.without_counts("compiler", "counts-cl100k_base", {"counts": {}}) is None
    assert transfer.without_counts("compiler", "mode", {"mode": "auto"}) == {"mode": "auto"}
