"""Secrets end to end: every corpus secret enters the store by every door (remember, session add,
artifact add, import, a compile query) under the default ``redact`` setting; it must then appear
in none of: the compiled prompt, ``list``, ``show``, ``export``, the files on disk. Clean lines
stored the same way must read back unaltered.

Figures per split (``dev`` was tuned on, ``heldout`` and ``heldout2`` were not; see
``build_corpus.py``).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .common import cli
from .redaction_figures import load


def _files(home: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def secrets_case(root: Path, backend: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    from smartcontext_cli import MemoryStore

    home = root / f"secrets-{backend}"
    store = MemoryStore(storage_backend=backend, base_dir=home)
    ids = []
    for i, row in enumerate(rows):
        ids.append(store.remember(row["text"]).id)
        store.add_session_item("tool", row["text"])
        store.store_artifact(f"leak-{i}.txt", row["text"])
    store.close()
    source = root / f"secrets-import-{backend}.jsonl"
    source.write_text(
        "".join(json.dumps({"type": "memory", "content": r["text"]}) + "\n" for r in rows)
    )
    assert cli(home, "import", str(source)).code == 0
    shown = [cli(home, "show", memory_id).out for memory_id in ids]
    prompts = [cli(home, "compile", "-q", row["text"], "--budget", "6000").out for row in rows]
    listed = cli(home, "list", "-k", "100000", "--json").out
    exported = cli(home, "export").out
    session = cli(home, "session", "show", "--raw", "--json").out
    disk = _files(home)
    caught = 0
    for i, row in enumerate(rows):
        secret = row["secret"]
        seen = (
            secret in shown[i]
            or secret in prompts[i]
            or secret in listed
            or secret in exported
            or secret in session
            or secret.encode() in disk
        )
        caught += not seen
    return {"secrets": len(rows), "caught": caught}


def clean_case(root: Path, backend: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    from smartcontext_cli import MemoryStore

    home = root / f"clean-{backend}"
    store = MemoryStore(storage_backend=backend, base_dir=home)
    altered = 0
    for row in rows:
        text = row["text"].strip()
        memory = store.remember(text)
        altered += store.get(memory.id).content != text
    store.close()
    return {"clean": len(rows), "altered": altered}


def figures(root: Path, sample: int | None = None, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    secrets = load("secrets.jsonl") + load("secrets2.jsonl")
    clean = load("clean.jsonl") + load("clean2.jsonl")
    out = []
    for split in ("dev", "heldout", "heldout2"):
        s_rows = [r for r in secrets if r["split"] == split]
        c_rows = [r for r in clean if r["split"] == split]
        if sample is not None:
            s_rows = rng.sample(s_rows, min(sample, len(s_rows)))
            c_rows = rng.sample(c_rows, min(sample * 2, len(c_rows)))
        for backend in ("sqlite", "json"):
            base = root / f"{split}"
            result = {"split": split, "backend": backend, "kinds": len({r["kind"] for r in s_rows})}
            result |= secrets_case(base, backend, s_rows)
            result |= clean_case(base, backend, c_rows)
            out.append(result)
    return out
